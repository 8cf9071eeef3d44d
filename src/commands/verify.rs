//! `hfdl verify`: check the store against models.lock (missing, modified and extra files,
//! broken snapshot links, plain directories) without the network; `--repair` re-fetches exactly
//! what is broken through the sync planner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use indicatif::HumanBytes;
use serde_json::json;

use super::Context;
use crate::cli::VerifyArgs;
use crate::download::DownloadOptions;
use crate::error::{Error, Result};
use crate::lock::{self, Lockfile, StaleReason};
use crate::manifest::Manifest;
use crate::ops::{Project, unknown_model};
use crate::reconcile::{ExecuteOptions, PlanOptions, Summary, execute, plan};
use crate::report::{Event, count};
use crate::store::verify::{
    Location, Problem, ProblemKind, VerifyOptions, VerifyReport, discard_damaged, verify,
};
use crate::store::{BlobState, Store, VerifiedBlobs, scan};

/// What `--repair` did.
struct Repair {
    /// Damaged and extra files deleted.
    removed_files: usize,
    summary: Summary,
    /// The verification after the repair.
    after: VerifyReport,
}

pub async fn run(ctx: &Context, project: &crate::ops::Project, args: &VerifyArgs) -> Result<()> {
    let manifest = project.require_manifest()?;
    let lock = lock::load(&project.settings().lock_path)?.ok_or_else(|| Error::LockMissing {
        lock: project.settings().lock_path.clone(),
    })?;
    let only = selection(project, manifest, &lock, &args.names)?;
    let store = Store::new(&project.settings().store);
    let mut verified = VerifiedBlobs::load(project.settings().verified_blobs_file());
    let options = VerifyOptions {
        full: args.full,
        jobs: args.jobs.map_or(project.settings().jobs, |j| j as usize),
        dirs: project.plain_dirs(&lock),
        only,
        pinned_elsewhere: crate::store::registry::Registry::new(&project.settings().state_dir)
            .links_pinned_by_others(&store, &project.settings().lock_path),
    };
    let found = verify(
        &store,
        &lock,
        &mut verified,
        ctx.reporter.as_ref(),
        &options,
    )
    .map_err(Error::io(store.root()))?;
    save_stat_cache(ctx, &mut verified);

    let repair = if args.repair && !found.is_clean() {
        Some(repair(ctx, project, &store, &lock, &found, verified, &options).await?)
    } else {
        None
    };
    print_report(ctx, args, &found, repair.as_ref())?;
    let last = repair.as_ref().map_or(&found, |r| &r.after);
    if last.is_clean() {
        Ok(())
    } else {
        Err(Error::VerifyFailed {
            problems: last.problems.len(),
            checked: last.files_checked,
            repaired: repair.is_some(),
        })
    }
}

/// The entries named on the command line (`None`: all). A name must be in the manifest and
/// locked.
fn selection(
    project: &Project,
    manifest: &Manifest,
    lock: &Lockfile,
    names: &[String],
) -> Result<Option<BTreeSet<String>>> {
    if names.is_empty() {
        return Ok(None);
    }
    for name in names {
        if lock.get(name).is_some() {
            continue;
        }
        return Err(if manifest.models.contains_key(name) {
            project.stale_error(manifest, &[StaleReason::Added(name.clone())])
        } else {
            unknown_model(manifest, name)
        });
    }
    Ok(Some(names.iter().cloned().collect()))
}

/// Losing the stat cache only costs a re-hash next time: a warning, not a failure.
fn save_stat_cache(ctx: &Context, verified: &mut VerifiedBlobs) {
    if let Err(error) = verified.save() {
        ctx.reporter.report(Event::Warning {
            message: format!("could not save hfdl's stat cache: {error}"),
        });
    }
}

/// Deletes what is damaged or extra, then lets the sync planner and executor put back what is
/// missing (only those blobs cross the network) and verifies again.
async fn repair(
    ctx: &Context,
    project: &Project,
    store: &Store,
    lock: &Lockfile,
    found: &VerifyReport,
    mut verified: VerifiedBlobs,
    options: &VerifyOptions,
) -> Result<Repair> {
    let selected = Lockfile {
        models: lock
            .models
            .iter()
            .filter(|m| {
                options
                    .only
                    .as_ref()
                    .is_none_or(|only| only.contains(&m.name))
            })
            .cloned()
            .collect(),
    };
    let dirs: BTreeMap<String, PathBuf> = options
        .dirs
        .iter()
        .filter(|(name, _)| selected.get(name).is_some())
        .map(|(name, dir)| (name.clone(), dir.clone()))
        .collect();
    let mut state = scan(store, &selected, &dirs, &verified);
    // Plan damaged blobs as absent: they are deleted below, before anything is fetched.
    for blob in found.damaged_blobs() {
        state
            .blobs
            .insert(blob.to_path_buf(), BlobState::Missing { partial: 0 });
    }
    // No pruning: verify already named the extra files (pruning the selected entries' snapshots
    // alone would also drop files that unselected entries sharing a snapshot want).
    let plan = plan(
        store,
        &selected,
        &state,
        &PlanOptions {
            prune: false,
            dirs: dirs.clone(),
        },
    );
    if plan.needs_network() && project.settings().offline {
        // Before deleting anything: offline, the damaged files are better reported than gone.
        return Err(crate::ops::offline_missing(&plan));
    }
    // From here the store changes: like a sync, hold the store lock against `hfdl gc` and
    // register the lockfile so gc keeps what the repair fetches.
    let _store_lock = crate::ops::share_store(store, ctx.reporter.as_ref())?;
    project.remember_sync(store, lock, &plan, ctx.reporter.as_ref());
    let removed_files =
        discard_damaged(found, &mut verified, &dirs).map_err(Error::io(store.root()))?;
    let summary = execute(
        &plan,
        &project.settings().hub_client(),
        &mut verified,
        ctx.reporter.as_ref(),
        &ExecuteOptions {
            jobs: options.jobs,
            download: DownloadOptions {
                connections: project.settings().connections,
                partials_dir: Some(project.settings().partials_dir()),
                // A repair, like a sync, stops before the disk fills.
                min_free: crate::store::disk::usage(store.root())
                    .map_or(0, |usage| usage.reserve()),
            },
        },
    )
    .await?;
    // What was just fetched is in the stat cache; this pass hashes only what the repair could
    // not vouch for.
    let after = verify(
        store,
        lock,
        &mut verified,
        ctx.reporter.as_ref(),
        &VerifyOptions {
            full: false,
            ..options.clone()
        },
    )
    .map_err(Error::io(store.root()))?;
    save_stat_cache(ctx, &mut verified);
    Ok(Repair {
        removed_files,
        summary,
        after,
    })
}

fn print_report(
    ctx: &Context,
    args: &VerifyArgs,
    found: &VerifyReport,
    repair: Option<&Repair>,
) -> Result<()> {
    if ctx.json {
        let last = repair.map_or(found, |r| &r.after);
        return ctx.print_json(&json!({
            "ok": last.is_clean(),
            "full": args.full,
            "files_checked": found.files_checked,
            "files_hashed": found.files_hashed,
            "bytes_hashed": found.bytes_hashed,
            "counts": found.counts(),
            "problems": found.problems,
            "repair": repair.map(|r| json!({
                "removed_files": r.removed_files,
                "summary": r.summary,
                "remaining": r.after.problems,
            })),
        }));
    }
    let mut lines: Vec<String> = found.problems.iter().map(describe).collect();
    lines.push(format!(
        "{} checked ({} hashed, {}), {}",
        count(found.files_checked, "file"),
        found.files_hashed,
        HumanBytes(found.bytes_hashed),
        count(found.problems.len(), "problem")
    ));
    if let Some(repair) = repair {
        let mut done = vec![format!(
            "{} downloaded ({})",
            count(repair.summary.downloaded_files, "file"),
            HumanBytes(repair.summary.downloaded_bytes)
        )];
        for (n, what) in [
            (repair.summary.copied_files, "copied within the store"),
            (repair.removed_files, "removed"),
            (repair.summary.links, "linked"),
            (repair.summary.dir_files, "placed in plain directories"),
        ] {
            if n > 0 {
                done.push(format!("{n} {what}"));
            }
        }
        lines.push(format!(
            "Repaired: {}; {} left",
            done.join(", "),
            count(repair.after.problems.len(), "problem")
        ));
        lines.extend(
            repair
                .after
                .problems
                .iter()
                .map(|p| format!("still {}", describe(p))),
        );
    }
    ctx.print_data(&lines.join("\n"))
}

/// One line per problem: kind, entry, path, where, and what differs.
fn describe(problem: &Problem) -> String {
    let place = match problem.location {
        Location::Store => String::new(),
        Location::Dir => format!(" (plain dir: {})", problem.file.display()),
    };
    let detail = match (problem.kind, &problem.expected, &problem.actual) {
        (ProblemKind::Modified, Some(expected), Some(actual)) => {
            let sizes = match (problem.expected_size, problem.actual_size) {
                (Some(e), Some(a)) if e != a => format!(" ({e} bytes expected, {a} on disk)"),
                _ => String::new(),
            };
            format!(": expected {expected}, found {actual}{sizes}")
        }
        (ProblemKind::Missing, Some(expected), _) => format!(": {expected} is absent"),
        (ProblemKind::Unreadable, _, Some(error)) => format!(": cannot read it ({error})"),
        (ProblemKind::WrongLink, Some(expected), Some(actual)) => {
            format!(": {actual} instead of a link to {expected}")
        }
        _ => String::new(),
    };
    format!(
        "{:<12}  {}  {}{place}{detail}",
        problem.kind.as_str(),
        problem.model,
        problem.path
    )
}
