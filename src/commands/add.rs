//! `hfdl add REPO[@REV]`: adds an entry to models.toml (keeping its formatting), locks it and
//! syncs it. Nothing is written unless the new entry resolves. REPO may be any name of a repo
//! ([`crate::repo::reference`]): an id, a Hub URL or an `hf://` URI.

use super::Context;
use crate::cli::AddArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::add::AddOptions;
use crate::resolve::describe_changes;

pub async fn run(ctx: &Context, project: &Project, args: &AddArgs) -> Result<()> {
    let options = AddOptions {
        repo: args.repo.clone(),
        name: args.name.clone(),
        repo_type: args.repo_type.map(Into::into),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        dir: args.dir.clone(),
        allow: args.allow.iter().map(|&rule| rule.into()).collect(),
        allow_licenses: args.allow_license.clone(),
        cancel: Some(ctx.cancel.clone()),
    };
    let (report, project) = project.add(&options, ctx.reporter.as_ref()).await?;
    if report.created {
        ctx.status(&format!("Created {}", report.manifest.display()));
    }
    ctx.status(&format!(
        "Added `{}` ({}) to {}",
        report.added,
        report.repo,
        report.manifest.display()
    ));
    ctx.statuses(&describe_changes(&report.changes));
    if args.no_sync {
        return if ctx.json {
            ctx.print_report(&report)
        } else {
            Ok(())
        };
    }
    let sync = crate::cli::SyncArgs {
        locked: true,
        frozen: false,
        dry_run: false,
        no_prune: false,
        jobs: None,
        limit_rate: None,
        connections: None,
        metrics_file: args.metrics_file.clone(),
        // The `publish` setting still applies.
        publish: false,
    };
    super::sync::run(ctx, &project, &sync).await
}
