//! `hfdl lock`: resolve models.toml into models.lock (keeping unchanged pins).

use std::collections::BTreeSet;

use serde_json::json;

use super::Context;
use crate::cli::LockArgs;
use crate::error::{Error, Result};
use crate::lock::{self, Freshness, Lockfile, StaleReason};
use crate::manifest::Manifest;
use crate::resolve::{self, Change, Resolution, Upgrade};

pub async fn run(ctx: &Context, manifest: &Manifest, args: &LockArgs) -> Result<()> {
    let previous = lock::load(&ctx.settings.lock_path)?;
    if args.check {
        return check(ctx, manifest, previous.as_ref());
    }
    let upgrade = if args.upgrade {
        Upgrade::All
    } else if args.upgrade_model.is_empty() {
        Upgrade::None
    } else {
        for name in &args.upgrade_model {
            if !manifest.models.contains_key(name) {
                return Err(unknown_model(manifest, name));
            }
        }
        Upgrade::Models(args.upgrade_model.iter().cloned().collect::<BTreeSet<_>>())
    };
    let resolution = resolve_project(ctx, manifest, previous.as_ref(), &upgrade).await?;
    let written = if args.dry_run {
        false
    } else {
        write_lock(ctx, &resolution.lock)?
    };
    if ctx.settings.json {
        return ctx.print_json(&json!({
            "lock": ctx.settings.lock_path,
            "written": written,
            "dry_run": args.dry_run,
            "resolved": resolution.resolved,
            "changes": resolution.changes,
        }));
    }
    let lines = describe_changes(&resolution.changes);
    if args.dry_run {
        ctx.print_data(&lines.join("\n"))?;
    } else {
        for line in &lines {
            ctx.status(line);
        }
        let name = ctx.settings.lock_path.display();
        ctx.status(&if written {
            format!("Wrote {name}")
        } else {
            format!("{name} is up to date")
        });
    }
    Ok(())
}

/// `--check`: compare fingerprints only, never the network.
fn check(ctx: &Context, manifest: &Manifest, previous: Option<&Lockfile>) -> Result<()> {
    let lock = previous.ok_or_else(|| Error::LockMissing {
        lock: ctx.settings.lock_path.clone(),
    })?;
    match lock.freshness(manifest) {
        Freshness::Fresh => {
            if ctx.settings.json {
                ctx.print_json(&json!({ "lock": ctx.settings.lock_path, "fresh": true }))?;
            } else {
                ctx.status(&format!(
                    "{} is up to date with {}",
                    ctx.settings.lock_path.display(),
                    manifest.path.display()
                ));
            }
            Ok(())
        }
        Freshness::Stale(reasons) => Err(stale_error(ctx, manifest, &reasons)),
    }
}

pub(crate) fn stale_error(ctx: &Context, manifest: &Manifest, reasons: &[StaleReason]) -> Error {
    Error::LockStale {
        lock: ctx.settings.lock_path.clone(),
        manifest: manifest.path.clone(),
        reasons: reasons
            .iter()
            .map(|reason| match reason {
                StaleReason::Added(name) => format!("`{name}` is not locked yet"),
                StaleReason::Removed(name) => format!("`{name}` was removed from the manifest"),
                StaleReason::Changed(name) => format!("`{name}` changed in the manifest"),
            })
            .collect(),
    }
}

pub(crate) fn unknown_model(manifest: &Manifest, name: &str) -> Error {
    Error::UnknownModel {
        name: name.to_owned(),
        manifest: manifest.path.clone(),
        known: manifest.models.keys().cloned().collect(),
    }
}

/// Resolves the manifest, keeping the pins of `previous` that still apply.
pub(crate) async fn resolve_project(
    ctx: &Context,
    manifest: &Manifest,
    previous: Option<&Lockfile>,
    upgrade: &Upgrade,
) -> Result<Resolution> {
    let hub = ctx.settings.hub_client();
    Ok(resolve::resolve(manifest, previous, &hub, upgrade, ctx.reporter.as_ref()).await?)
}

/// Writes the lock when its bytes changed.
pub(crate) fn write_lock(ctx: &Context, lock: &Lockfile) -> Result<bool> {
    lock::write_if_changed(&ctx.settings.lock_path, lock)
        .map_err(Error::io(&ctx.settings.lock_path))
}

/// One line per change, for people.
pub(crate) fn describe_changes(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|change| match change {
            Change::Added { name, commit } => Some(format!("Locked {name} at {}", short(commit))),
            Change::Updated { name, from, to } => {
                Some(format!("Updated {name}: {} -> {}", short(from), short(to)))
            }
            Change::Removed { name } => Some(format!("Removed {name}")),
            Change::Unchanged { .. } => None,
        })
        .collect()
}

/// The first 12 characters of a commit.
pub(crate) fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
