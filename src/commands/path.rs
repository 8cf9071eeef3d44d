//! `hfdl path NAME`: prints the snapshot directory of a synced entry, for scripts.

use super::Context;
use crate::cli::PathArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::path::PathOptions;
use crate::render;

/// Prints the entry's snapshot directory (or the `--json` document).
pub fn run(ctx: &Context, project: &Project, args: &PathArgs) -> Result<()> {
    let options = PathOptions {
        name: args.name.clone(),
    };
    let report = project.path(&options)?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.print_data(&render::path::path(&report))
}
