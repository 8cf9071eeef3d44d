//! `hfdl import FILE`: verifies a bundle from `hfdl export` against its models.lock and puts its
//! files into the store, for `hfdl sync --frozen --offline` to link.

use std::path::Path;

use super::Context;
use crate::cli::ImportArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::bundle::ImportOptions;
use crate::render;

/// Imports the bundle (from stdin with `-`) and says what it added.
pub fn run(ctx: &Context, project: &Project, args: &ImportArgs) -> Result<()> {
    let options = ImportOptions {
        cancel: Some(ctx.cancel.clone()),
    };
    let report = if args.bundle == Path::new("-") {
        project.import_from(
            std::io::stdin().lock(),
            Path::new("<stdin>"),
            &options,
            ctx.reporter.as_ref(),
        )?
    } else {
        project.import(&args.bundle, &options, ctx.reporter.as_ref())?
    };
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.statuses(&render::bundle::import(&report));
    Ok(())
}
