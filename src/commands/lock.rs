//! `hfdl lock`: resolve models.toml into models.lock (keeping unchanged pins).

use super::Context;
use crate::cli::LockArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::lock::{LockOptions, LockUpgrade, parse_upgrade_model};
use crate::resolve::describe_changes;

pub async fn run(ctx: &Context, project: &Project, args: &LockArgs) -> Result<()> {
    if args.check {
        let check = project.check_lock()?;
        if ctx.json {
            return ctx.print_report(&check);
        }
        ctx.status(&format!(
            "{} is up to date with {}",
            check.lock.display(),
            check.manifest.display()
        ));
        return Ok(());
    }
    let upgrade = if args.upgrade {
        LockUpgrade::All
    } else if args.upgrade_model.is_empty() {
        LockUpgrade::None
    } else {
        let models = args
            .upgrade_model
            .iter()
            .map(|arg| parse_upgrade_model(arg));
        LockUpgrade::Models(models.collect::<Result<_>>()?)
    };
    let options = LockOptions {
        upgrade,
        dry_run: args.dry_run,
        cancel: Some(ctx.cancel.clone()),
    };
    let report = project.lock(&options, ctx.reporter.as_ref()).await?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    let lines = describe_changes(&report.changes);
    if args.dry_run {
        return ctx.print_data(&lines.join("\n"));
    }
    ctx.statuses(&lines);
    let name = report.lock.display();
    ctx.status(&if report.written {
        format!("Wrote {name}")
    } else {
        format!("{name} is up to date")
    });
    Ok(())
}
