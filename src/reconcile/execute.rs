//! Plan → store: runs the blob steps in parallel, then links, refs, prunes and plain
//! directories, and returns a [`Summary`]. Every change is atomic; a failure part-way leaves
//! only verified blobs and correct links behind, and the next run picks up from there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;

use super::plan::{BlobAction, BlobStep, Plan};
use crate::blobstore::{BlobStore, BlobStoreCounts};
use crate::download::{self, DownloadError, FetchStats};
use crate::hub::HubClient;
use crate::hub::metrics::RequestCounts;
use crate::report::{Event, Reporter, TaskIds, TaskKind};
use crate::store::VerifiedBlobs;
use crate::store::fsops::{self, remove_empty_parents};

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Locked files in all entries.
    pub files_total: usize,
    /// Blobs fetched from the network (not those another process fetched meanwhile).
    pub downloaded_files: usize,
    /// Bytes received from the network.
    pub downloaded_bytes: u64,
    /// Bytes reused from partial downloads instead of fetched again.
    pub resumed_bytes: u64,
    /// Bytes of Xet chunks copied from blobs already in the store (an earlier revision's)
    /// instead of fetched.
    pub xet_reused_bytes: u64,
    /// Blobs already in the cache that were hashed and adopted.
    pub adopted_files: usize,
    /// Blobs copied or hard-linked from another repo of the store.
    pub copied_files: usize,
    /// Snapshot links created or repaired.
    pub links: usize,
    /// Ref files written (those that changed).
    pub refs: usize,
    /// Snapshot links and plain-directory files removed.
    pub pruned: usize,
    /// Plain-directory files written.
    pub dir_files: usize,
    /// Retries of downloads (network errors, 5xx, a bad body) and of the command's API calls.
    pub retries: u32,
    /// Time spent applying the plan (serialised as seconds, to the millisecond).
    #[serde(serialize_with = "serialize_secs")]
    pub elapsed: Duration,
    /// Locked files whose blob and link were already correct: nothing to do.
    pub files_in_place: usize,
    /// Files whose bytes came from the store, not the network: in place, adopted or copied.
    pub reused_files: usize,
    /// Requests the command sent (its lock phase included), by kind.
    pub requests: RequestCounts,
    /// What the shared blob store served and received, when one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_store: Option<BlobStoreSummary>,
}

/// The blob store's part of a sync: `downloaded_*` of [`Summary`] count its bytes too, so the
/// Hub's share is the difference.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BlobStoreSummary {
    /// The `blob-store` URL.
    pub url: String,
    /// Blobs read from the store.
    pub files: usize,
    /// Body bytes read from the store.
    pub bytes: u64,
    /// Requests sent to the store, by kind, and bytes uploaded.
    pub requests: BlobStoreCounts,
    /// Blobs uploaded (`--publish`).
    pub published_files: u64,
    /// Blobs not uploaded because the store had them.
    pub already_published: u64,
    /// Objects that held wrong bytes (`bad-blob-store-object`), discarded and fetched from the
    /// Hub.
    pub bad_objects: Vec<String>,
    /// Why the store was skipped for part of the run (unreachable, denied, no bucket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Why publishing stopped, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_failed: Option<String>,
}

impl BlobStoreSummary {
    /// The summary of `store`'s run so far, with `files` blobs read from it.
    pub fn of(store: &BlobStore, files: usize) -> BlobStoreSummary {
        let requests = store.metrics().snapshot();
        BlobStoreSummary {
            url: store.url().to_string(),
            files,
            bytes: requests.bytes_read,
            published_files: requests.uploaded,
            already_published: requests.already_there,
            requests,
            bad_objects: store.bad_objects(),
            unavailable: store.unavailable().map(|e| e.to_string()),
            publish_failed: store.publishing_failed().map(|e| e.to_string()),
        }
    }

    /// Bytes and files of the summary's downloads that came from the Hub.
    pub fn hub_share(&self, summary: &Summary) -> (usize, u64) {
        (
            summary.downloaded_files.saturating_sub(self.files),
            summary.downloaded_bytes.saturating_sub(self.bytes),
        )
    }
}

impl Summary {
    /// Mean download throughput in bytes per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.downloaded_bytes as f64 / secs
        } else {
            0.0
        }
    }
}

fn serialize_secs<S: serde::Serializer>(
    value: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((value.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Options of [`execute`].
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Blobs processed at once.
    pub jobs: usize,
    /// How each blob is downloaded: connections per file, where range maps go, the disk reserve.
    pub download: download::DownloadOptions,
}

/// The outcome of one blob step.
enum BlobOutcome {
    Downloaded(FetchStats),
    Adopted,
    Copied,
}

/// Applies `plan` to the store. On error, what succeeded stays in place.
pub async fn execute(
    plan: &Plan,
    hub: &HubClient,
    verified: &mut VerifiedBlobs,
    reporter: &dyn Reporter,
    options: &ExecuteOptions,
) -> Result<Summary, DownloadError> {
    let started = Instant::now();
    let mut summary = Summary {
        files_total: plan.files_total,
        ..Summary::default()
    };
    reporter.report(Event::Planned {
        download_files: plan.download_count(),
        download_bytes: plan.download_bytes(),
        verify_files: plan
            .blobs
            .iter()
            .filter(|s| s.action == BlobAction::Verify)
            .count(),
        verify_bytes: plan
            .blobs
            .iter()
            .filter(|s| s.action == BlobAction::Verify)
            .map(|s| s.size)
            .sum(),
    });

    let ids = TaskIds::default();
    let results: Vec<(&BlobStep, Result<BlobOutcome, DownloadError>)> =
        futures_util::stream::iter(plan.blobs.iter())
            .map(|step| {
                let ids = &ids;
                // Log lines of a blob's download or verification name the entries and the
                // file; a blob shared by several entries names them all.
                let model = tracing::info_span!(
                    "model",
                    name = %step.models.join("+"),
                    repo = %step.fetch.repo,
                );
                let file = tracing::info_span!(
                    parent: &model,
                    "file",
                    path = %step.path,
                    size = step.size,
                    action = step.action.name(),
                );
                let run = async move {
                    let started = Instant::now();
                    let result = run_blob_step(step, hub, &options.download, reporter, ids).await;
                    log_outcome(&result, started);
                    (step, result)
                };
                tracing::Instrument::instrument(run, file)
            })
            .buffer_unordered(options.jobs.max(1))
            .collect()
            .await;

    let mut failed_blobs = BTreeSet::new();
    let mut first_error = None;
    let mut from_blob_store = 0;
    for (step, result) in results {
        match result {
            Ok(outcome) => {
                match outcome {
                    BlobOutcome::Downloaded(stats) => {
                        summary.downloaded_files += usize::from(!stats.already_present);
                        from_blob_store += usize::from(stats.from_blob_store);
                        summary.downloaded_bytes += stats.downloaded;
                        summary.resumed_bytes += stats.resumed;
                        summary.xet_reused_bytes += stats.xet_reused;
                    }
                    BlobOutcome::Adopted => summary.adopted_files += 1,
                    BlobOutcome::Copied => summary.copied_files += 1,
                }
                let hex = step.fetch.hash.hex();
                verified
                    .record(&step.blob, hex)
                    .map_err(|source| DownloadError::Io {
                        path: step.blob.clone(),
                        source,
                    })?;
            }
            Err(error) => {
                verified.forget(&step.blob);
                failed_blobs.insert(step.blob.clone());
                first_error.get_or_insert(error);
            }
        }
    }

    // Blobs were renamed into place without a directory fsync each; one per blobs directory
    // makes all those renames durable before a snapshot link points at one of them. (A
    // directory fsync per file cost more than writing a small file.)
    let blob_dirs: BTreeSet<&Path> = plan
        .blobs
        .iter()
        .filter(|step| !failed_blobs.contains(&step.blob))
        .filter_map(|step| step.blob.parent())
        .collect();
    for dir in blob_dirs {
        fsops::sync_dir(dir).map_err(|source| DownloadError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }

    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DownloadError::Io { path, source }
    };
    let mut incomplete_snapshots = BTreeSet::new();
    for link in &plan.links {
        if failed_blobs.contains(&link.blob) {
            incomplete_snapshots.insert(link.model.clone());
            continue;
        }
        fsops::replace_with_symlink(&link.link, &link.target).map_err(io(&link.link))?;
        summary.links += 1;
    }
    for step in &plan.refs {
        // A ref is published only when its snapshot is complete, and after the directory exists.
        if incomplete_snapshots.contains(&step.model) {
            continue;
        }
        fs_err::create_dir_all(&step.snapshot_dir).map_err(io(&step.snapshot_dir))?;
        if fsops::write_ref(&step.ref_path, &step.commit).map_err(io(&step.ref_path))? {
            summary.refs += 1;
        }
    }
    for prune in &plan.prunes {
        match fs_err::remove_file(&prune.link) {
            Ok(()) => summary.pruned += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&prune.link)(e)),
        }
        if let Some(parent) = prune.link.parent() {
            remove_empty_parents(parent, &prune.snapshot_dir);
        }
        reporter.report(Event::Info {
            message: format!("pruned {}", prune.path),
        });
    }
    for step in &plan.dir_prunes {
        match fs_err::remove_file(&step.file) {
            Ok(()) => summary.pruned += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&step.file)(e)),
        }
        verified.forget(&step.file);
        if let Some(parent) = step.file.parent() {
            remove_empty_parents(parent, &step.dir);
        }
        reporter.report(Event::Info {
            message: format!("pruned {}", step.file.display()),
        });
    }
    for step in &plan.dir_files {
        if failed_blobs.contains(&step.blob) {
            continue;
        }
        materialise(&step.blob, &step.dest).map_err(io(&step.dest))?;
        verified
            .record(&step.dest, &step.hash)
            .map_err(io(&step.dest))?;
        summary.dir_files += 1;
    }
    if let Err(error) = verified.save() {
        reporter.report(Event::Warning {
            message: format!("could not save hfdl's stat cache: {error}"),
        });
    }
    summary.elapsed = started.elapsed();
    summary.files_in_place = plan.files_ready;
    summary.reused_files = plan.files_ready + summary.adopted_files + summary.copied_files;
    summary.requests = hub.metrics().snapshot();
    summary.blob_store = options
        .download
        .blob_store
        .as_deref()
        .map(|store| BlobStoreSummary::of(store, from_blob_store));
    // The client counted every retry of the command: its API calls' and its downloads'.
    summary.retries = u32::try_from(hub.metrics().retries()).unwrap_or(u32::MAX);
    match first_error {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// One debug line per blob when its step ends (inside its `file` span).
fn log_outcome(result: &Result<BlobOutcome, DownloadError>, started: Instant) {
    let duration_ms = crate::hub::metrics::millis(started.elapsed());
    match result {
        Ok(BlobOutcome::Downloaded(stats)) => tracing::debug!(
            downloaded = stats.downloaded,
            resumed = stats.resumed,
            xet_reused = stats.xet_reused,
            retries = stats.retries,
            already_present = stats.already_present,
            duration_ms,
            "blob downloaded and verified"
        ),
        Ok(BlobOutcome::Adopted) => tracing::debug!(duration_ms, "blob verified and adopted"),
        Ok(BlobOutcome::Copied) => tracing::debug!(duration_ms, "blob copied within the store"),
        Err(error) => tracing::debug!(
            code = error.error_code(),
            %error,
            duration_ms,
            "blob step failed"
        ),
    }
}

async fn run_blob_step(
    step: &BlobStep,
    hub: &HubClient,
    download: &download::DownloadOptions,
    reporter: &dyn Reporter,
    ids: &TaskIds,
) -> Result<BlobOutcome, DownloadError> {
    let id = ids.next();
    match &step.action {
        BlobAction::Verify => {
            reporter.report(Event::TaskStarted {
                id,
                kind: TaskKind::Verify,
                label: step.path.clone(),
                size: step.size,
                done: 0,
            });
            let (actual, _) = download::hash_file(&step.blob, &step.fetch).await?;
            reporter.report(Event::TaskProgress {
                id,
                bytes: step.size,
            });
            reporter.report(Event::TaskFinished {
                id,
                ok: actual == step.fetch.hash,
            });
            if actual == step.fetch.hash {
                return Ok(BlobOutcome::Adopted);
            }
            reporter.report(Event::Warning {
                message: format!(
                    "{} in the cache is damaged (expected {}, got {actual}); fetching it again",
                    step.path, step.fetch.hash
                ),
            });
            fs_err::remove_file(&step.blob).map_err(|source| DownloadError::Io {
                path: step.blob.clone(),
                source,
            })?;
            download::fetch_blob(hub, &step.fetch, download, reporter, ids.next())
                .await
                .map(BlobOutcome::Downloaded)
        }
        BlobAction::Replace { .. } => {
            fs_err::remove_file(&step.blob).map_err(|source| DownloadError::Io {
                path: step.blob.clone(),
                source,
            })?;
            download::fetch_blob(hub, &step.fetch, download, reporter, id)
                .await
                .map(BlobOutcome::Downloaded)
        }
        BlobAction::Download { .. } => {
            download::fetch_blob(hub, &step.fetch, download, reporter, id)
                .await
                .map(BlobOutcome::Downloaded)
        }
        BlobAction::Copy { from } => {
            let (from, to) = (from.clone(), step.blob.clone());
            tokio::task::spawn_blocking(move || materialise(&from, &to))
                .await
                .map_err(|e| DownloadError::Io {
                    path: step.blob.clone(),
                    source: std::io::Error::other(e),
                })?
                .map_err(|source| DownloadError::Io {
                    path: step.blob.clone(),
                    source,
                })?;
            Ok(BlobOutcome::Copied)
        }
    }
}

/// Puts a real file at `dest` with the content of `source`: a hard link when both are on one
/// file system, else a copy; atomically, through a temp name in the destination directory.
pub fn materialise(source: &Path, dest: &Path) -> std::io::Result<()> {
    let parent = dest
        .parent()
        .ok_or_else(|| std::io::Error::other(format!("{} has no parent", dest.display())))?;
    fs_err::create_dir_all(parent)?;
    let temp: PathBuf = parent.join(format!(
        ".{}.{}.hfdl-tmp",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = fs_err::remove_file(&temp);
    // Blobs may be symlinks into a shared store (hub-protocol §6.9): link the real file.
    let real = fs_err::canonicalize(source)?;
    if fs_err::hard_link(&real, &temp).is_ok() {
        // The link shares its bytes with the cache: a write into the plain directory would
        // change the blob that every snapshot (and other projects) read. Read-only turns that
        // silent corruption into a "permission denied"; replacing the file (what editors and
        // `save_pretrained` do) still works.
        let mut permissions = fs_err::metadata(&temp)?.permissions();
        permissions.set_readonly(true);
        fs_err::set_permissions(&temp, permissions)?;
    } else {
        fs_err::copy(&real, &temp)?;
        // A copy's bytes are durable before the name appears, like a downloaded blob's.
        fs_err::File::open(&temp)?.sync_all()?;
    }
    fs_err::rename(&temp, dest)
}
