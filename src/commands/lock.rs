//! `hfdl lock`: resolve models.toml into models.lock (keeping unchanged pins).

use std::collections::BTreeMap;

use serde_json::json;

use super::Context;
use crate::cli::LockArgs;
use crate::error::{Error, Result};
use crate::lock::{self, Freshness, Lockfile, StaleReason};
use crate::manifest::Manifest;
use crate::repo::validate_revision;
use crate::manifest::cooldown::Timestamp;
use crate::resolve::{self, Change, Resolution, Upgrade, Why};

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
        let mut models = BTreeMap::new();
        for arg in &args.upgrade_model {
            let (name, precise) = parse_upgrade_model(arg)?;
            if !manifest.models.contains_key(name) {
                return Err(unknown_model(manifest, name));
            }
            models.insert(name.to_owned(), precise.map(str::to_owned));
        }
        Upgrade::Models(models)
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

/// `NAME` or `NAME@REV` (a commit, tag or branch of the entry's repo).
fn parse_upgrade_model(arg: &str) -> Result<(&str, Option<&str>)> {
    let Some((name, revision)) = arg.split_once('@') else {
        return Ok((arg, None));
    };
    validate_revision(revision).map_err(|reason| Error::Usage {
        message: format!("--upgrade-model {arg}: {reason}"),
        help: "use NAME@REV with REV a branch, a tag, `refs/pr/N` or a 40-hex commit".into(),
    })?;
    Ok((name, Some(revision)))
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
    let now = Timestamp::now();
    Ok(resolve::resolve(
        manifest,
        previous,
        &hub,
        upgrade,
        now,
        ctx.reporter.as_ref(),
    )
    .await?)
}

/// Writes the lock when its bytes changed.
pub(crate) fn write_lock(ctx: &Context, lock: &Lockfile) -> Result<bool> {
    lock::write_if_changed(&ctx.settings.lock_path, lock)
        .map_err(Error::io(&ctx.settings.lock_path))
}

/// One line per change, for people, and one per pin a cooldown held back.
pub(crate) fn describe_changes(changes: &[Change]) -> Vec<String> {
    let mut lines = Vec::new();
    for change in changes {
        let (name, why) = match change {
            Change::Added { name, commit, why } => {
                lines.push(format!(
                    "Locked {name} at {}{}",
                    short(commit),
                    precise(why)
                ));
                (name, why)
            }
            Change::Updated {
                name,
                from,
                to,
                why,
            } => {
                lines.push(format!(
                    "Updated {name}: {} -> {}{}",
                    short(from),
                    short(to),
                    precise(why)
                ));
                (name, why)
            }
            Change::Unchanged { name, why, .. } => (name, why),
            Change::Removed { name } => {
                lines.push(format!("Removed {name}"));
                continue;
            }
        };
        if let Some(held) = &why.held_back {
            let kept = match change {
                Change::Added { commit, .. } | Change::Unchanged { commit, .. } => commit,
                Change::Updated { to, .. } => to,
                Change::Removed { .. } => continue,
            };
            lines.push(format!(
                "{name}: kept at {} ({}); {} is at {}, {}",
                short(kept),
                held.locked_date.date(),
                held.revision,
                short(&held.latest),
                held.reason
            ));
        }
    }
    lines
}

/// " (v1.0)" after a pin taken with `--upgrade-model NAME@REV`.
fn precise(why: &Why) -> String {
    why.precise
        .as_ref()
        .map_or_else(String::new, |revision| format!(" ({revision})"))
}

/// The first 12 characters of a commit.
pub(crate) fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
