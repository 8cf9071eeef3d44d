//! `sync`: lock if needed, then plan and apply: download, verify, link, prune. A dry run
//! ([`Project::plan_sync`]) stops at the plan and writes nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::metrics::{Metrics, MetricsError};
use super::{CancellationToken, PlannedDownloads, Project, offline_missing, until_cancelled};
use crate::download::DownloadOptions;
use crate::error::{Error, Result};
use crate::lock::{Freshness, Lockfile};
use crate::reconcile::plan::{BlobAction, Plan};
use crate::reconcile::{ExecuteOptions, PlanOptions, Summary, execute, plan};
use crate::report::{Event, Reporter};
use crate::resolve::{Change, Upgrade, describe_changes};
use crate::store::{Store, VerifiedBlobs, disk, scan};

/// How to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Fail ([`Error::LockStale`]) instead of re-resolving when the lock no longer matches the
    /// manifest (`--locked`).
    pub locked: bool,
    /// Use the lock as it is, never resolve; the manifest is optional (`--frozen`).
    pub frozen: bool,
    /// Keep snapshot files the lock dropped (`--no-prune`).
    pub no_prune: bool,
    /// Files at once; the `jobs` setting when `None`.
    pub jobs: Option<usize>,
    /// Connections per large file; the `connections` setting when `None`.
    pub connections: Option<usize>,
    /// Bytes per second for all transfers together; the `limit-rate` setting when `None`.
    pub limit_rate: Option<u64>,
    /// Upload what the Hub served to the blob store (`--publish`); the `publish` setting when
    /// `None`.
    pub publish: Option<bool>,
    /// Also write the metrics document ([`Metrics`]) here, whether the sync succeeds or not.
    pub metrics_file: Option<PathBuf>,
    /// Stops the sync when cancelled ([`Error::Cancelled`], with the partial downloads it
    /// kept for the next run); the metrics file is still written.
    pub cancel: Option<CancellationToken>,
}

impl SyncOptions {
    /// `--locked`: sync the lock, failing if the manifest changed since it was made.
    pub fn locked() -> SyncOptions {
        SyncOptions {
            locked: true,
            ..SyncOptions::default()
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// models.lock was (re)written.
    pub lock_written: bool,
    /// How the lock changed, when the sync resolved it first.
    pub lock_changes: Vec<Change>,
    /// Entries in the lock.
    pub models: usize,
    /// The store synced into.
    pub store: PathBuf,
    /// Files, bytes, time, retries and requests.
    pub summary: Summary,
    /// Mean download throughput.
    pub throughput_bytes_per_sec: f64,
    /// The store already matched the lock: nothing was planned.
    #[serde(skip)]
    pub already_in_sync: bool,
}

/// What a sync would do (a dry run): written nowhere.
#[derive(Debug, Clone, Serialize)]
pub struct SyncPlan {
    /// Always true: tells a dry run's document from a sync's.
    pub dry_run: bool,
    /// How the lock would change, when the manifest needs resolving.
    pub lock_changes: Vec<Change>,
    /// Files that would be downloaded.
    pub download_files: usize,
    /// Bytes that would be downloaded.
    pub download_bytes: u64,
    /// Bytes the network would carry: `download_bytes`, less the Xet chunks the store's blobs
    /// already hold (asked of the CAS, which also counts the files' serialized chunk headers);
    /// with `--offline`, `download_bytes`.
    pub fetch_bytes: u64,
    /// Bytes of Xet chunks that blobs in the store (an earlier revision's) hold and the sync
    /// would copy instead of fetching.
    pub xet_reused_bytes: u64,
    /// Every step, with its reason and size.
    pub plan: Plan,
}

/// The lock to sync from, and how it came to be.
struct ChosenLock {
    lock: Lockfile,
    written: bool,
    changes: Vec<Change>,
    /// Already checked against the policy.
    checked: bool,
}

impl Project {
    /// Makes the store match the lock (resolving the manifest first when the lock is missing or
    /// stale, unless `locked` or `frozen` say otherwise), verifying every byte.
    pub async fn sync(&self, options: &SyncOptions, reporter: &dyn Reporter) -> Result<SyncReport> {
        let planned = PlannedDownloads::default();
        self.measured(
            options,
            reporter,
            &planned,
            self.sync_now(options, reporter, &planned),
            |report| Some(&report.summary),
        )
        .await
    }

    /// What [`Project::sync`] would do, without writing anything but the metrics file (the lock
    /// included).
    pub async fn plan_sync(
        &self,
        options: &SyncOptions,
        reporter: &dyn Reporter,
    ) -> Result<SyncPlan> {
        let plan_now = async {
            let chosen = self.choose_lock(options, false, reporter).await?;
            let verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
            let plan = self.plan_for(&self.store(), &chosen.lock, options, &verified);
            let estimate = self.estimate_fetches(&plan).await;
            Ok(SyncPlan {
                dry_run: true,
                lock_changes: chosen.changes,
                download_files: plan.download_count(),
                download_bytes: plan.download_bytes(),
                fetch_bytes: estimate.fetch_bytes,
                xet_reused_bytes: estimate.xet_reused_bytes,
                plan,
            })
        };
        // A dry run transfers nothing; its metrics have the requests its lock phase sent.
        let nothing = PlannedDownloads::default();
        self.measured(options, reporter, &nothing, plan_now, |_| None)
            .await
    }

    /// What the downloads of `plan` would move over the network (Xet files asked of the CAS, a
    /// few at once); offline, the plan's download bytes.
    async fn estimate_fetches(&self, plan: &Plan) -> crate::download::FetchEstimate {
        use futures_util::StreamExt as _;
        let mut total = crate::download::FetchEstimate {
            fetch_bytes: plan.download_bytes(),
            xet_reused_bytes: 0,
        };
        let xet_files = plan
            .blobs
            .iter()
            .filter(|step| step.fetch.xet_hash.is_some())
            .filter_map(|step| match step.action {
                BlobAction::Download { resume_from } => Some((step, resume_from)),
                BlobAction::Replace { .. } => Some((step, 0)),
                BlobAction::Verify | BlobAction::Copy { .. } => None,
            })
            .collect::<Vec<_>>();
        if self.settings.offline
            || self.settings.xet == crate::manifest::XetMode::Off
            || xet_files.is_empty()
        {
            return total;
        }
        let hub = self.settings.hub_client();
        let options = DownloadOptions {
            xet: self.settings.xet,
            xet_session: std::sync::Arc::new(crate::download::XetSession::with_chunk_maps(
                self.settings.chunk_maps_dir(),
            )),
            ..DownloadOptions::default()
        };
        let estimates: Vec<_> = futures_util::stream::iter(xet_files)
            .map(|(step, resume_from)| {
                let (hub, options) = (&hub, &options);
                async move {
                    let estimate =
                        crate::download::estimate_fetch(hub, &step.fetch, options, resume_from)
                            .await;
                    (step.size - resume_from.min(step.size), estimate)
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        for (whole, estimate) in estimates {
            total.fetch_bytes = total.fetch_bytes - whole + estimate.fetch_bytes;
            total.xet_reused_bytes += estimate.xet_reused_bytes;
        }
        total
    }

    /// Runs `work` under the options' cancellation token, then writes the metrics file when one
    /// is asked for, also when `work` failed or was cancelled (then with what `planned` kept).
    async fn measured<T>(
        &self,
        options: &SyncOptions,
        reporter: &dyn Reporter,
        planned: &PlannedDownloads,
        work: impl Future<Output = Result<T>>,
        summary_of: impl Fn(&T) -> Option<&Summary>,
    ) -> Result<T> {
        if let Some(path) = options.metrics_file.as_ref().filter(|path| path.is_dir()) {
            // Found out now, not after a long download.
            return Err(Error::Usage {
                message: format!("--metrics-file {} is a directory", path.display()),
                help: "name a file, e.g. `--metrics-file metrics/sync.json`".into(),
            });
        }
        let started = Instant::now();
        let result = until_cancelled(options.cancel.as_ref(), planned, work).await;
        let Some(path) = &options.metrics_file else {
            return result;
        };
        let empty = Summary::default();
        let outcome = match &result {
            Ok(value) => Ok(summary_of(value).unwrap_or(&empty)),
            Err(error) => Err(MetricsError {
                code: error.error_code().to_owned(),
                exit_code: error.exit_code(),
                message: error.to_string(),
            }),
        };
        let written = self.write_metrics(path, outcome, started.elapsed());
        match (result, written) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(error)) | (Err(error), Ok(())) => Err(error),
            // The sync's error is the one to report; the metrics file is secondary.
            (Err(error), Err(written)) => {
                reporter.report(Event::Warning {
                    message: format!("could not write the metrics file: {written}"),
                });
                Err(error)
            }
        }
    }

    /// Writes the metrics document atomically: the summary of a finished sync, or the error and
    /// what the Hub client counted before it.
    fn write_metrics(
        &self,
        path: &Path,
        outcome: std::result::Result<&Summary, MetricsError>,
        wall_time: Duration,
    ) -> Result<()> {
        let metrics = Metrics::new(outcome, &self.settings.hub_metrics, wall_time);
        let mut text = serde_json::to_string_pretty(&metrics).unwrap_or_default();
        text.push('\n');
        crate::fsutil::write_file_atomic(path, text.as_bytes()).map_err(Error::io(path))
    }

    /// The sync itself; its downloads are recorded in `planned` before the first one starts.
    async fn sync_now(
        &self,
        options: &SyncOptions,
        reporter: &dyn Reporter,
        planned: &PlannedDownloads,
    ) -> Result<SyncReport> {
        let publish = options.publish.unwrap_or(self.settings.publish);
        if publish && self.settings.blob_store.is_none() {
            return Err(no_blob_store("--publish"));
        }
        let chosen = self.choose_lock(options, true, reporter).await?;
        let lock = &chosen.lock;
        let store = self.store();
        // Held from the scan to the end, so gc cannot delete what the plan relies on. A store
        // that does not exist yet has nothing gc could delete: it is taken before the first
        // change instead, so a sync with nothing to do never creates the store.
        let mut store_lock = if store.root().exists() {
            Some(super::share_store(&store, reporter).await?)
        } else {
            None
        };
        let mut verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
        let plan = self.plan_for(&store, lock, options, &verified);
        if plan.needs_network() && self.settings.offline {
            return Err(offline_missing(&plan));
        }
        let min_free = check_free_space(&self.settings.store, plan.disk_bytes())?;
        if store_lock.is_none() {
            store_lock = Some(super::share_store(&store, reporter).await?);
        }
        self.remember_sync(&store, lock, &plan, reporter);
        let mut settings = self.settings.clone();
        if options.limit_rate.is_some() {
            settings.limit_rate = options.limit_rate;
        }
        let hub = settings.hub_client();
        let blob_store = if plan.needs_network() {
            self.open_blob_store(publish, reporter)?
        } else {
            None
        };
        let execute_options = ExecuteOptions {
            jobs: options.jobs.unwrap_or(self.settings.jobs),
            download: DownloadOptions {
                connections: options.connections.unwrap_or(self.settings.connections),
                partials_dir: Some(self.settings.partials_dir()),
                min_free,
                blob_store,
                publish,
                xet: self.settings.xet,
                xet_session: std::sync::Arc::new(crate::download::XetSession::with_chunk_maps(
                    self.settings.chunk_maps_dir(),
                )),
            },
        };
        planned.record(&plan, &execute_options.download);
        let summary = execute(&plan, &hub, &mut verified, reporter, &execute_options).await?;
        drop(store_lock);
        Ok(SyncReport {
            lock_written: chosen.written,
            lock_changes: chosen.changes,
            models: lock.models.len(),
            store: self.settings.store.clone(),
            throughput_bytes_per_sec: summary.throughput().round(),
            summary,
            already_in_sync: plan.is_empty(),
        })
    }

    /// The blob store to read (and, with `publish`, write), when one is set. A store that cannot
    /// be opened (its AWS settings are wrong) is a warning: the Hub serves the sync.
    pub(crate) fn open_blob_store(
        &self,
        publish: bool,
        reporter: &dyn Reporter,
    ) -> Result<Option<std::sync::Arc<crate::blobstore::BlobStore>>> {
        if publish && self.settings.blob_store.is_none() {
            return Err(no_blob_store("--publish"));
        }
        match self.settings.blob_store_client() {
            Ok(store) => Ok(store.map(std::sync::Arc::new)),
            Err(error) => {
                reporter.report(Event::Warning {
                    message: format!(
                        "{}: {error}; fetching from the Hub instead",
                        error.error_code()
                    ),
                });
                Ok(None)
            }
        }
    }

    /// Scans the store and plans, keeping the links other projects pin.
    fn plan_for(
        &self,
        store: &Store,
        lock: &Lockfile,
        options: &SyncOptions,
        verified: &VerifiedBlobs,
    ) -> Plan {
        let dirs = self.plain_dirs(lock);
        let state = scan(store, lock, &dirs, verified);
        let mut plan = plan(
            store,
            lock,
            &state,
            &PlanOptions {
                prune: !options.no_prune,
                dirs,
            },
        );
        if !plan.prunes.is_empty() {
            // Another project may pin the same commit with other patterns: its links stay.
            let wanted = crate::store::registry::Registry::new(&self.settings.state_dir)
                .links_pinned_by_others(store, self.lock_path());
            plan.prunes.retain(|prune| !wanted.contains(&prune.link));
        }
        plan
    }

    /// Decides the lock to sync from: `frozen` takes it as it is, `locked` requires it fresh,
    /// otherwise a stale or missing lock is re-resolved (and written when `write`). Whichever
    /// it is must pass the policy (checked from the lock alone, so offline too), before anything
    /// is written or downloaded.
    async fn choose_lock(
        &self,
        options: &SyncOptions,
        write: bool,
        reporter: &dyn Reporter,
    ) -> Result<ChosenLock> {
        let chosen = self.lock_to_sync(options, write, reporter).await?;
        if !chosen.checked {
            self.enforce_policy(&chosen.lock, None, reporter)?;
        }
        Ok(chosen)
    }

    /// The lock [`Project::choose_lock`] syncs from.
    async fn lock_to_sync(
        &self,
        options: &SyncOptions,
        write: bool,
        reporter: &dyn Reporter,
    ) -> Result<ChosenLock> {
        let previous = self.load_lock()?;
        let manifest = if options.frozen {
            None
        } else {
            Some(self.require_manifest()?)
        };
        let Some(manifest) = manifest else {
            let lock = previous.ok_or_else(|| Error::LockMissing {
                lock: self.lock_path().to_path_buf(),
            })?;
            return Ok(ChosenLock {
                lock,
                written: false,
                changes: Vec::new(),
                checked: false,
            });
        };
        let freshness = previous.as_ref().map(|lock| lock.freshness(manifest));
        match (previous, freshness) {
            (Some(lock), Some(Freshness::Fresh)) => Ok(ChosenLock {
                lock,
                written: false,
                changes: Vec::new(),
                checked: false,
            }),
            (None, _) if options.locked => Err(Error::LockMissing {
                lock: self.lock_path().to_path_buf(),
            }),
            (Some(_), Some(Freshness::Stale(reasons))) if options.locked => {
                Err(self.stale_error(manifest, &reasons))
            }
            (previous, _) => {
                let resolution = self
                    .resolve(manifest, previous.as_ref(), &Upgrade::None, reporter)
                    .await?;
                // Checked before it is written, as `hfdl lock` does.
                self.enforce_policy(&resolution.lock, None, reporter)?;
                let written = if write {
                    let written = self.write_lock(&resolution.lock)?;
                    for line in describe_changes(&resolution.changes) {
                        reporter.report(Event::Status { message: line });
                    }
                    written
                } else {
                    false
                };
                Ok(ChosenLock {
                    lock: resolution.lock,
                    written,
                    changes: resolution.changes,
                    checked: true,
                })
            }
        }
    }
}

/// `what` (`--publish`, `hfdl push`) needs a blob store and none is set.
pub(crate) fn no_blob_store(what: &str) -> Error {
    Error::Usage {
        message: format!("{what} needs a blob store, and none is set"),
        help: "set one: `hfdl config set blob-store s3://BUCKET/PREFIX`, HFDL_BLOB_STORE, or `blob-store` in [settings]".into(),
    }
}

/// Refuses to start a sync that cannot fit, with the reserve it keeps free: better a clear
/// error before the first byte than a full disk half-way. Returns that reserve, which the
/// downloads then watch (a disk filled by someone else meanwhile stops them cleanly, keeping
/// the partial files for a resume).
fn check_free_space(store: &Path, needed: u64) -> Result<u64> {
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
