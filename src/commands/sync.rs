//! `hfdl sync`: lock if needed, then plan and apply: download, verify, link, prune.

use std::collections::BTreeMap;
use std::path::PathBuf;

use indicatif::HumanBytes;

use crate::report::{count, elapsed};
use serde_json::json;

use super::Context;
use super::lock::{describe_changes, resolve_project, short, stale_error, write_lock};
use crate::cli::SyncArgs;
use crate::download::DownloadOptions;
use crate::error::{Error, Result};
use crate::lock::{self, Freshness, Lockfile};
use crate::manifest::Manifest;
use crate::reconcile::plan::{BlobAction, Plan};
use crate::reconcile::{ExecuteOptions, PlanOptions, Summary, execute, plan};
use crate::report::metrics::{Metrics, MetricsError};
use crate::resolve::{Change, Upgrade};
use crate::store::{Store, VerifiedBlobs, disk, scan};

pub async fn run(ctx: &Context, manifest: Option<&Manifest>, args: &SyncArgs) -> Result<()> {
    if let Some(path) = args.metrics_file.as_ref().filter(|path| path.is_dir()) {
        // Found out now, not after a long download.
        return Err(Error::Usage {
            message: format!("--metrics-file {} is a directory", path.display()),
            help: "name a file, e.g. `--metrics-file metrics/sync.json`".into(),
        });
    }
    let started = std::time::Instant::now();
    let result = sync(ctx, manifest, args).await;
    let Some(path) = &args.metrics_file else {
        return result.map(|_| ());
    };
    let written = write_metrics(ctx, path, &result, started.elapsed());
    match (result, written) {
        (Ok(_), written) => written,
        (Err(error), Ok(())) => Err(error),
        // The sync's error is the one to report; the metrics file is secondary.
        (Err(error), Err(written)) => {
            ctx.reporter.report(crate::report::Event::Warning {
                message: format!("could not write the metrics file: {written}"),
            });
            Err(error)
        }
    }
}

/// Writes `--metrics-file` atomically: the summary of a finished sync, or the error and what
/// the Hub client counted before it.
fn write_metrics(
    ctx: &Context,
    path: &std::path::Path,
    result: &Result<Option<Summary>>,
    wall_time: std::time::Duration,
) -> Result<()> {
    let empty = Summary::default();
    let outcome = match result {
        // A dry run transfers nothing; its document has the requests its lock phase sent.
        Ok(summary) => Ok(summary.as_ref().unwrap_or(&empty)),
        Err(error) => Err(MetricsError {
            code: error.error_code().to_owned(),
            exit_code: error.exit_code(),
            message: error.to_string(),
        }),
    };
    let metrics = Metrics::new(outcome, &ctx.settings.hub_metrics, wall_time);
    let mut text = serde_json::to_string_pretty(&metrics).unwrap_or_default();
    text.push('\n');
    crate::fsutil::write_file_atomic(path, text.as_bytes()).map_err(Error::io(path))
}

/// The sync itself; the summary of what it did (none for a dry run).
async fn sync(
    ctx: &Context,
    manifest: Option<&Manifest>,
    args: &SyncArgs,
) -> Result<Option<Summary>> {
    let (lock, lock_written, changes) = ensure_lock(ctx, manifest, args).await?;
    let dirs = plain_dirs(manifest, &lock);
    let store = Store::new(&ctx.settings.store);
    // Held from the scan to the end, so gc cannot delete what the plan relies on. A dry run
    // changes nothing, and a store that does not exist yet has nothing gc could delete: those
    // take it only before the first change (and a dry run never), so they write nothing.
    let mut store_lock = if args.dry_run || !store.root().exists() {
        None
    } else {
        Some(share_store(ctx, &store)?)
    };
    let mut verified = VerifiedBlobs::load(ctx.settings.verified_blobs_file());
    let state = scan(&store, &lock, &dirs, &verified);
    let mut plan = plan(
        &store,
        &lock,
        &state,
        &PlanOptions {
            prune: !args.no_prune,
            dirs,
        },
    );
    if !plan.prunes.is_empty() {
        // Another project may pin the same commit with other patterns: its links stay.
        let wanted = crate::store::registry::Registry::new(&ctx.settings.state_dir)
            .links_pinned_by_others(&store, &ctx.settings.lock_path);
        plan.prunes.retain(|prune| !wanted.contains(&prune.link));
    }

    if args.dry_run {
        return print_plan(ctx, &plan, &changes).map(|()| None);
    }
    if plan.needs_network() && ctx.settings.offline {
        return Err(offline_missing(&plan));
    }
    let min_free = check_free_space(&ctx.settings.store, plan.disk_bytes())?;
    if store_lock.is_none() {
        store_lock = Some(share_store(ctx, &store)?);
    }
    remember_sync(ctx, &store, &lock, &plan);
    let mut settings = ctx.settings.clone();
    if args.limit_rate.is_some() {
        settings.limit_rate = args.limit_rate;
    }
    let hub = settings.hub_client();
    let jobs = args.jobs.map_or(ctx.settings.jobs, |j| j as usize);
    let summary = execute(
        &plan,
        &hub,
        &mut verified,
        ctx.reporter.as_ref(),
        &ExecuteOptions {
            jobs,
            download: DownloadOptions {
                connections: args
                    .connections
                    .map_or(ctx.settings.connections, |c| c as usize),
                partials_dir: Some(ctx.settings.partials_dir()),
                min_free,
            },
        },
    )
    .await?;
    drop(store_lock);
    print_summary(ctx, &lock, &plan, &summary, lock_written, &changes)?;
    Ok(Some(summary))
}

/// Refuses to start a sync that cannot fit, with the reserve it keeps free: better a clear
/// error before the first byte than a full disk half-way. Returns that reserve, which the
/// downloads then watch (a disk filled by someone else meanwhile stops them cleanly, keeping
/// the partial files for a resume).
fn check_free_space(store: &std::path::Path, needed: u64) -> Result<u64> {
    if needed == 0 {
        return Ok(0);
    }
    match disk::usage(store) {
        Ok(usage) if usage.available < needed.saturating_add(usage.reserve()) => {
            Err(Error::DiskFull {
                path: store.to_path_buf(),
                needed,
                available: usage.available,
                reserve: usage.reserve(),
            })
        }
        Ok(usage) => Ok(usage.reserve()),
        Err(error) => {
            tracing::debug!(%error, path = %store.display(), "free space unknown");
            Ok(0)
        }
    }
}

/// Decides the lock to sync from: `--frozen` takes it as it is, `--locked` requires it fresh,
/// otherwise a stale or missing lock is re-resolved (and written unless `--dry-run`).
async fn ensure_lock(
    ctx: &Context,
    manifest: Option<&Manifest>,
    args: &SyncArgs,
) -> Result<(Lockfile, bool, Vec<Change>)> {
    let lock_path = &ctx.settings.lock_path;
    let previous = lock::load(lock_path)?;
    let Some(manifest) = manifest.filter(|_| !args.frozen) else {
        let lock = previous.ok_or_else(|| Error::LockMissing {
            lock: lock_path.clone(),
        })?;
        return Ok((lock, false, Vec::new()));
    };
    let freshness = previous.as_ref().map(|lock| lock.freshness(manifest));
    match (previous, freshness) {
        (Some(lock), Some(Freshness::Fresh)) => Ok((lock, false, Vec::new())),
        (None, _) if args.locked => Err(Error::LockMissing {
            lock: lock_path.clone(),
        }),
        (Some(_), Some(Freshness::Stale(reasons))) if args.locked => {
            Err(stale_error(ctx, manifest, &reasons))
        }
        (previous, _) => {
            let resolution =
                resolve_project(ctx, manifest, previous.as_ref(), &Upgrade::None).await?;
            let written = if args.dry_run {
                false
            } else {
                write_lock(ctx, &resolution.lock)?
            };
            if !args.dry_run {
                for line in describe_changes(&resolution.changes) {
                    ctx.status(&line);
                }
            }
            Ok((resolution.lock, written, resolution.changes))
        }
    }
}

/// Plain directories (`dir = "…"`) of locked entries, relative to the manifest's directory.
pub(crate) fn plain_dirs(
    manifest: Option<&Manifest>,
    lock: &Lockfile,
) -> BTreeMap<String, PathBuf> {
    let Some(manifest) = manifest else {
        return BTreeMap::new();
    };
    let base = manifest
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    manifest
        .models
        .values()
        .filter(|spec| lock.get(&spec.name).is_some())
        .filter_map(|spec| Some((spec.name.clone(), base.join(spec.dir.as_ref()?))))
        .collect()
}

fn print_plan(ctx: &Context, plan: &Plan, changes: &[Change]) -> Result<()> {
    if ctx.settings.json {
        return ctx.print_json(&json!({
            "dry_run": true,
            "lock_changes": changes,
            "download_files": plan.download_count(),
            "download_bytes": plan.download_bytes(),
            "plan": plan,
        }));
    }
    let mut out = describe_changes(changes);
    if plan.is_empty() {
        out.push(format!(
            "Nothing to do: {} already in place",
            count(plan.files_total, "file")
        ));
        return ctx.print_data(&out.join("\n"));
    }
    out.push(format!(
        "Would download {} ({}), verify {}, link {}, write {}, prune {}",
        count(plan.download_count(), "file"),
        HumanBytes(plan.download_bytes()),
        plan.blobs
            .iter()
            .filter(|s| s.action == BlobAction::Verify)
            .count(),
        plan.links.len(),
        count(plan.refs.len(), "ref"),
        plan.prunes.len() + plan.dir_prunes.len(),
    ));
    for step in &plan.blobs {
        let (verb, note) = match &step.action {
            BlobAction::Download { resume_from: 0 } => ("download", String::new()),
            BlobAction::Download { resume_from } => {
                ("resume", format!(" (from {})", HumanBytes(*resume_from)))
            }
            BlobAction::Verify => ("verify", " (already in the cache)".to_owned()),
            BlobAction::Replace { actual_size } => (
                "replace",
                format!(" (damaged: {actual_size} bytes on disk)"),
            ),
            BlobAction::Copy { .. } => ("copy", " (from another repo in the store)".to_owned()),
        };
        out.push(format!(
            "  {verb:<8} {:<12} {} {}{note}",
            step.models.join("+"),
            step.path,
            HumanBytes(step.size)
        ));
    }
    for link in &plan.links {
        out.push(format!(
            "  {:<8} {:<12} {} ({})",
            "link", link.model, link.path, link.reason
        ));
    }
    for step in &plan.refs {
        out.push(format!(
            "  {:<8} {:<12} {} -> {}",
            "ref",
            step.model,
            step.revision,
            short(&step.commit)
        ));
    }
    for prune in &plan.prunes {
        out.push(format!("  {:<8} {:<12} {}", "prune", "", prune.path));
    }
    for step in &plan.dir_files {
        out.push(format!(
            "  {:<8} {:<12} {}",
            "dir",
            step.model,
            step.dest.display()
        ));
    }
    for step in &plan.dir_prunes {
        out.push(format!(
            "  {:<8} {:<12} {}",
            "prune",
            step.model,
            step.file.display()
        ));
    }
    ctx.print_data(&out.join("\n"))
}

fn print_summary(
    ctx: &Context,
    lock: &Lockfile,
    plan: &Plan,
    summary: &Summary,
    lock_written: bool,
    changes: &[Change],
) -> Result<()> {
    if ctx.settings.json {
        return ctx.print_json(&json!({
            "lock_written": lock_written,
            "lock_changes": changes,
            "models": lock.models.len(),
            "store": ctx.settings.store,
            "summary": summary,
            "throughput_bytes_per_sec": summary.throughput().round(),
        }));
    }
    if plan.is_empty() {
        ctx.status(&format!(
            "Already in sync: {}, {}",
            count(lock.models.len(), "model"),
            count(summary.files_total, "file")
        ));
        return Ok(());
    }
    let mut parts = vec![format!(
        "{} downloaded ({}) in {}",
        count(summary.downloaded_files, "file"),
        HumanBytes(summary.downloaded_bytes),
        elapsed(summary.elapsed)
    )];
    if summary.downloaded_bytes > 0 {
        parts.push(format!("{}/s", HumanBytes(summary.throughput() as u64)));
    }
    for (count, what) in [
        (summary.files_in_place, "already in place"),
        (summary.adopted_files, "adopted from the cache"),
        (summary.copied_files, "copied within the store"),
        (summary.pruned, "pruned"),
        (summary.dir_files, "placed in plain directories"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    if summary.resumed_bytes > 0 {
        parts.push(format!("{} resumed", HumanBytes(summary.resumed_bytes)));
    }
    if summary.retries > 0 {
        let noun = if summary.retries == 1 {
            "retry"
        } else {
            "retries"
        };
        parts.push(format!("{} {noun}", summary.retries));
    }
    ctx.status(&format!(
        "Synced {}, {}: {}; {}",
        count(lock.models.len(), "model"),
        count(summary.files_total, "file"),
        parts.join(", "),
        describe_requests(&summary.requests)
    ));
    Ok(())
}

/// `7 requests (3 api, 2 resolve, 2 cdn)`: what the command sent, by kind.
fn describe_requests(requests: &crate::hub::metrics::RequestCounts) -> String {
    let kinds: Vec<String> = [
        (requests.api, "api"),
        (requests.resolve_get + requests.resolve_head, "resolve"),
        (requests.cdn, "cdn"),
        (requests.other, "other"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, kind)| format!("{n} {kind}"))
    .collect();
    let total = count(requests.total as usize, "request");
    if kinds.is_empty() {
        total
    } else {
        format!("{total} ({})", kinds.join(", "))
    }
}

/// Holds the store lock shared until the sync ends: any number of syncs run side by side, but
/// `hfdl gc` (exclusive) never deletes what this sync scanned and relies on.
pub(crate) fn share_store(ctx: &Context, store: &Store) -> Result<crate::store::fsops::FileLock> {
    use crate::store::fsops::{FileLock, LockMode};
    const PATIENCE: std::time::Duration = std::time::Duration::from_mins(10);
    let path = store.store_lock_path();
    FileLock::acquire_within(&path, LockMode::Shared, PATIENCE, || {
        ctx.status("Waiting for `hfdl gc` on this store to finish…");
    })
    .map_err(Error::io(&path))?
    .ok_or_else(|| Error::StoreBusy {
        store: store.root().to_path_buf(),
        waited_secs: PATIENCE.as_secs(),
    })
}

/// Records the lockfile, and the repos `plan` writes into, in hfdl's registry before the first
/// change, so `hfdl gc` keeps them (and resumable partial files) even if this sync fails
/// half-way. Only repos hfdl writes to become "hfdl's" for gc: a repo another tool filled, which
/// this sync merely adopts, stays out of a plain `hfdl gc`. Failing to record does not fail the
/// sync; the warning says what it risks.
pub(crate) fn remember_sync(ctx: &Context, store: &Store, lock: &Lockfile, plan: &Plan) {
    let mut writers: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for step in &plan.blobs {
        if step.action != BlobAction::Verify {
            writers.extend(step.models.iter().map(String::as_str));
        }
    }
    writers.extend(plan.links.iter().map(|step| step.model.as_str()));
    writers.extend(plan.refs.iter().map(|step| step.model.as_str()));
    let repos = lock
        .models
        .iter()
        .filter(|model| writers.contains(model.name.as_str()))
        .map(|model| crate::store::RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        });
    let registry = crate::store::registry::Registry::new(&ctx.settings.state_dir);
    if let Err(error) = registry.record_sync(store, &ctx.settings.lock_path, repos) {
        ctx.reporter.report(crate::report::Event::Warning {
            message: format!(
                "could not record {} in hfdl's registry ({error}); `hfdl gc` run elsewhere may delete its files",
                ctx.settings.lock_path.display()
            ),
        });
    }
}

/// The error for a plan that needs the network while offline: it names the files (the first
/// ten) it would have fetched.
pub(crate) fn offline_missing(plan: &Plan) -> Error {
    let mut missing: Vec<String> = plan
        .blobs
        .iter()
        .filter(|s| {
            matches!(
                s.action,
                BlobAction::Download { .. } | BlobAction::Replace { .. }
            )
        })
        .map(|s| format!("{}: {}", s.models.join("+"), s.path))
        .collect();
    if missing.len() > 10 {
        let more = missing.len() - 10;
        missing.truncate(10);
        missing.push(format!("and {more} more"));
    }
    Error::OfflineMissing { missing }
}
