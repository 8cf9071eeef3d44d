//! `hfdl verify`: check the store against models.lock (missing, modified and extra files,
//! broken snapshot links, plain directories) without the network; `--repair` re-fetches exactly
//! what is broken through the sync planner.

use super::Context;
use crate::cli::VerifyArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::verify::VerifyOptions;
use crate::render;

/// Verifies (and with `--repair` repairs), prints the report, then exits 1 if problems are left.
pub async fn run(ctx: &Context, project: &Project, args: &VerifyArgs) -> Result<()> {
    let options = VerifyOptions {
        names: args.names.clone(),
        full: args.full,
        repair: args.repair,
        jobs: args.jobs.map(|jobs| jobs as usize),
        cancel: Some(ctx.cancel.clone()),
    };
    let report = project.verify(&options, ctx.reporter.as_ref()).await?;
    if ctx.json {
        ctx.print_report(&report)?;
    } else {
        ctx.print_data(&render::verify::report(&report))?;
    }
    // Printed first: a failed verification still shows what it found.
    report.verdict()
}
