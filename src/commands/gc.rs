//! `hfdl gc`: delete what no lockfile known to hfdl references, and print what that frees.

use std::time::Duration;

use super::Context;
use crate::cli::GcArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::gc::GcOptions;
use crate::render;

/// Collects garbage and prints what was freed (or, with `--dry-run`, would be).
pub fn run(ctx: &Context, project: &Project, args: &GcArgs) -> Result<()> {
    let options = GcOptions {
        dry_run: args.dry_run,
        all: args.all,
        wait: Duration::from_secs(args.wait),
        cancel: Some(ctx.cancel.clone()),
    };
    let report = project.gc(&options, ctx.reporter.as_ref())?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.print_data(&render::gc::report(&report))
}
