//! `hfdl outdated [NAME…]`: for each entry, the locked commit against the commit its manifest
//! revision points to now (what `hfdl lock --upgrade-model NAME` would take), with that
//! commit's date and the file diff. Reads the Hub, writes nothing.

use super::Context;
use crate::cli::OutdatedArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::outdated::OutdatedOptions;
use crate::render;

/// Compares with upstream and prints the drift; with `--exit-code`, exits 1 if any entry moved.
pub async fn run(ctx: &Context, project: &Project, args: &OutdatedArgs) -> Result<()> {
    let options = OutdatedOptions {
        names: args.names.clone(),
    };
    let report = project.outdated(&options, ctx.reporter.as_ref()).await?;
    let drifted = report.drifted();
    ctx.job_summary(|| render::ci::outdated_summary(&report));
    if ctx.json {
        ctx.print_report(&report)?;
    } else if drifted.is_empty() {
        ctx.statuses(&render::outdated::up_to_date(&report));
    } else {
        ctx.print_data(&render::outdated::table(&drifted))?;
        if !args.exit_code {
            // With --exit-code, the error's help says this.
            ctx.status(render::outdated::UPGRADE_HINT);
        }
    }
    // Printed first: CI logs show what moved. A policy violation of the latest commits fails
    // the command whatever `--exit-code` says, as `hfdl lock` would.
    report.policy_verdict()?;
    if args.exit_code {
        report.verdict()?;
    }
    Ok(())
}
