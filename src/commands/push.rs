//! `hfdl push [NAME…]`: seed the shared blob store with what the lock pins.

use super::Context;
use crate::cli::PushArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::push::PushOptions;
use crate::render;

pub async fn run(ctx: &Context, project: &Project, args: &PushArgs) -> Result<()> {
    let options = PushOptions {
        names: args.names.clone(),
        jobs: args.jobs.map(|jobs| jobs as usize),
        cancel: Some(ctx.cancel.clone()),
    };
    let report = project.push(&options, ctx.reporter.as_ref()).await?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.status(&render::sync::push_summary(&report));
    Ok(())
}
