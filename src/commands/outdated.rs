//! `hfdl outdated [NAME…]`: for each entry, the locked commit against the commit its manifest
//! revision points to now (what `hfdl lock --upgrade-model NAME` would take), with that
//! commit's date and the file diff. Reads the Hub, writes nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use indicatif::HumanBytes;
use serde::Serialize;

use super::Context;
use super::status::format_table;
use crate::cli::OutdatedArgs;
use crate::error::{Error, Result};
use crate::lock::diff::{FileDiff, diff};
use crate::lock::{self, LockedModel};
use crate::ops::unknown_model;
use crate::render::short;
use crate::resolve::Upgrade;

/// How one entry compares with upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Drift {
    UpToDate,
    /// The revision points elsewhere upstream: `hfdl lock --upgrade-model NAME` takes it.
    Outdated,
    /// The manifest entry changed since it was locked: `hfdl lock` re-resolves it (not
    /// upstream drift).
    ManifestChanged,
    /// In the manifest but not in the lock.
    NotLocked,
}

impl Drift {
    fn as_str(self) -> &'static str {
        match self {
            Drift::UpToDate => "up to date",
            Drift::Outdated => "outdated",
            Drift::ManifestChanged => "manifest changed",
            Drift::NotLocked => "not locked",
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    repo: String,
    repo_type: String,
    revision: String,
    state: Drift,
    locked: Option<String>,
    latest: String,
    /// When the latest commit was made (the Hub's `lastModified` at that revision).
    latest_date: Option<String>,
    /// A newer commit the cooldown (`exclude-newer`) keeps out, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    held_back: Option<crate::resolve::HeldBack>,
    #[serde(flatten)]
    files: FileDiff,
}

pub async fn run(ctx: &Context, project: &crate::ops::Project, args: &OutdatedArgs) -> Result<()> {
    let manifest = project.require_manifest()?;
    for name in &args.names {
        if !manifest.models.contains_key(name) {
            return Err(unknown_model(manifest, name));
        }
    }
    let selected: BTreeSet<String> = if args.names.is_empty() {
        manifest.models.keys().cloned().collect()
    } else {
        args.names.iter().cloned().collect()
    };
    let locked = lock::load(&project.settings().lock_path)?.unwrap_or_default();
    let fresh = project
        .resolve(
            manifest,
            Some(&locked),
            &Upgrade::Models(selected.iter().map(|name| (name.clone(), None)).collect()),
            ctx.reporter.as_ref(),
        )
        .await?;

    let hub = project.settings().hub_client();
    let mut rows = Vec::new();
    for name in &selected {
        let Some(latest) = fresh.lock.get(name) else {
            continue;
        };
        let before = locked.get(name);
        let files = before.map_or_else(
            || diff(&empty_like(latest), latest),
            |before| diff(before, latest),
        );
        let state = match before {
            None => Drift::NotLocked,
            Some(before) if before.requirement != latest.requirement => Drift::ManifestChanged,
            Some(before) if before.commit == latest.commit && files.is_empty() => Drift::UpToDate,
            Some(_) => Drift::Outdated,
        };
        let held_back = fresh
            .changes
            .iter()
            .find(|change| change.name() == name.as_str())
            .and_then(|change| change.why()?.held_back.clone());
        let latest_date = if state == Drift::UpToDate {
            None
        } else {
            hub.revision_info(latest.repo_type, &latest.repo, &latest.commit)
                .await
                .ok()
                .and_then(|info| info.last_modified)
        };
        rows.push(Row {
            name: name.clone(),
            repo: latest.repo.to_string(),
            repo_type: latest.repo_type.to_string(),
            revision: latest.revision.clone(),
            state,
            locked: before.map(|b| b.commit.clone()),
            latest: latest.commit.clone(),
            latest_date,
            held_back,
            files,
        });
    }
    let drifted: Vec<&Row> = rows.iter().filter(|r| r.state != Drift::UpToDate).collect();
    // Only upstream moves count for --exit-code; a stale lock has `hfdl lock --check`.
    let drift_count = rows.iter().filter(|r| r.state == Drift::Outdated).count();

    if ctx.json {
        ctx.print_json(&serde_json::json!({ "outdated": drift_count, "models": rows }))?;
    } else if drifted.is_empty() {
        for row in rows.iter().filter(|row| row.held_back.is_some()) {
            if let Some(held) = &row.held_back {
                ctx.status(&format!(
                    "{}: {} is at {}, held back by exclude-newer = \"{}\"",
                    row.name,
                    held.revision,
                    short(&held.latest),
                    held.exclude_newer
                ));
            }
        }
        ctx.status(&format!(
            "All {} checked {} up to date with upstream",
            rows.len(),
            if rows.len() == 1 {
                "model is"
            } else {
                "models are"
            }
        ));
    } else {
        ctx.print_data(&render(&drifted))?;
        if !args.exit_code {
            // With --exit-code, the error's help says this.
            ctx.status(
                "Take an update with `hfdl lock --upgrade-model NAME` (or `--upgrade` for all)",
            );
        }
    }
    if args.exit_code && drift_count > 0 {
        return Err(Error::Outdated {
            names: rows
                .iter()
                .filter(|r| r.state == Drift::Outdated)
                .map(|r| r.name.clone())
                .collect(),
        });
    }
    Ok(())
}

/// A model with no files, so a not-yet-locked entry diffs as "everything added".
fn empty_like(model: &LockedModel) -> LockedModel {
    LockedModel {
        files: Vec::new(),
        ..model.clone()
    }
}

/// The table, then one block per entry with its changed files.
fn render(rows: &[&Row]) -> String {
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|row| {
            [
                row.name.clone(),
                row.state.as_str().to_owned(),
                row.locked
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |c| short(c).to_owned()),
                short(&row.latest).to_owned(),
                row.latest_date
                    .as_deref()
                    .map_or("-", |date| date.get(..10).unwrap_or(date))
                    .to_owned(),
                format!(
                    "+{} -{} ~{}",
                    row.files.added.len(),
                    row.files.removed.len(),
                    row.files.changed.len()
                ),
                HumanBytes(row.files.download_bytes).to_string(),
                format!("{}@{}", row.repo, row.revision),
            ]
        })
        .collect();
    let mut out = format_table(
        &[
            "NAME", "STATE", "LOCKED", "LATEST", "DATE", "FILES", "DOWNLOAD", "REVISION",
        ],
        &table,
    );
    for row in rows {
        let _ = writeln!(out, "\n{}:", row.name);
        let lines = [
            ('+', &row.files.added),
            ('~', &row.files.changed),
            ('-', &row.files.removed),
        ];
        for (mark, changes) in lines {
            for change in changes {
                let _ = writeln!(
                    out,
                    "  {mark} {} ({})",
                    change.path,
                    HumanBytes(change.size)
                );
            }
        }
        if row.files.is_empty() {
            out.push_str("  (same files, new commit)\n");
        }
        if let Some(held) = &row.held_back {
            let _ = writeln!(
                out,
                "  ({} is at {}, held back by exclude-newer = \"{}\")",
                held.revision,
                short(&held.latest),
                held.exclude_newer
            );
        }
    }
    out
}
