//! `hfdl init`: creates a commented models.toml; with `--from-cache`, one that adopts what the
//! Hugging Face cache already holds, with its models.lock, without a request.

use super::Context;
use crate::cli::InitArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::init::InitOptions;
use crate::render;

/// Runs `hfdl init`.
pub fn run(ctx: &Context, project: &Project, args: &InitArgs) -> Result<()> {
    let options = InitOptions {
        from_cache: args.from_cache,
    };
    let report = project.init(&options)?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.statuses(&render::init::summary(&report));
    Ok(())
}
