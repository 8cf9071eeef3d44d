//! `hfdl sync`: lock if needed, then plan and apply: download, verify, link, prune.

use super::Context;
use crate::cli::SyncArgs;
use crate::error::Result;
use crate::ops::{Project, SyncOptions};
use crate::render;

pub async fn run(ctx: &Context, project: &Project, args: &SyncArgs) -> Result<()> {
    let options = SyncOptions {
        cancel: Some(ctx.cancel.clone()),
        ..options(args)
    };
    if args.dry_run {
        let plan = project.plan_sync(&options, ctx.reporter.as_ref()).await?;
        return if ctx.json {
            ctx.print_report(&plan)
        } else {
            ctx.print_data(&render::sync::plan(&plan))
        };
    }
    let report = project.sync(&options, ctx.reporter.as_ref()).await?;
    ctx.job_summary(|| {
        // The lock the sync just made the store match: its models and commits.
        let lock = project.load_lock().ok().flatten();
        render::ci::sync_summary(&report, lock.as_ref())
    });
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.status(&render::sync::summary(&report));
    Ok(())
}

/// The sync the flags ask for.
pub(crate) fn options(args: &SyncArgs) -> SyncOptions {
    SyncOptions {
        locked: args.locked,
        frozen: args.frozen,
        no_prune: args.no_prune,
        jobs: args.jobs.map(|jobs| jobs as usize),
        connections: args.connections.map(|connections| connections as usize),
        limit_rate: args.limit_rate,
        metrics_file: args.metrics_file.clone(),
        publish: args.publish.then_some(true),
        cancel: None,
    }
}
