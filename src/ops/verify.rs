//! `verify`: check the store against models.lock (missing, modified and extra files, broken
//! snapshot links, plain directories) without the network; with `repair`, re-fetch exactly
//! what is broken through the sync planner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use super::{
    CancellationToken, PlannedDownloads, Project, check_cancel, offline_missing, share_store,
    unknown_model, until_cancelled,
};
use crate::download::DownloadOptions;
use crate::error::{Error, Result};
use crate::lock::{Lockfile, StaleReason};
use crate::manifest::Manifest;
use crate::reconcile::{ExecuteOptions, PlanOptions, Summary, execute, plan};
use crate::report::{Event, Reporter};
use crate::store::verify::{self as check, Problem, discard_damaged};
use crate::store::{BlobState, Store, VerifiedBlobs, scan};

/// What to verify, and whether to repair.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only these entries of the manifest, each of which must be locked (all when empty).
    pub names: Vec<String>,
    /// Hash every file again, even those unchanged since hfdl last verified them (`--full`).
    pub full: bool,
    /// Re-fetch what is missing or damaged, fix links, remove extra files (`--repair`).
    pub repair: bool,
    /// Files hashed (and, when repairing, fetched) at once; the `jobs` setting when `None`.
    pub jobs: Option<usize>,
    /// Stops the verification when cancelled ([`Error::Cancelled`]): hashing stops, the stat
    /// cache is left as it was, and a repair keeps its partial downloads for the next run.
    pub cancel: Option<CancellationToken>,
}

/// What a verification found and, when it repaired, did.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// No problem is left (after the repair, when there was one).
    pub ok: bool,
    /// Every file was hashed again, trusting nothing from the stat cache.
    pub full: bool,
    /// Locked files of the selected entries, plus their plain-directory copies.
    pub files_checked: usize,
    /// Files whose bytes were hashed (the others were trusted from the stat cache).
    pub files_hashed: usize,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
    /// The problems found, by kind.
    pub counts: BTreeMap<&'static str, usize>,
    /// The problems found (before any repair), sorted by entry, location, path and kind.
    pub problems: Vec<Problem>,
    /// What the repair did, when there was one.
    pub repair: Option<RepairReport>,
}

/// What a repair did.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    /// Damaged and extra files deleted.
    pub removed_files: usize,
    /// What the sync executor fetched, copied and linked.
    pub summary: Summary,
    /// The problems the verification after the repair still found.
    pub remaining: Vec<Problem>,
    /// Files that verification checked.
    #[serde(skip)]
    pub files_checked: usize,
}

impl VerifyReport {
    /// The verdict: [`Error::VerifyFailed`] when problems are left (after the repair, when
    /// there was one). The CLI prints the report first, then exits with this error.
    pub fn verdict(&self) -> Result<()> {
        let (problems, checked) = match &self.repair {
            Some(repair) => (repair.remaining.len(), repair.files_checked),
            None => (self.problems.len(), self.files_checked),
        };
        if problems == 0 {
            Ok(())
        } else {
            Err(Error::VerifyFailed {
                problems,
                checked,
                repaired: self.repair.is_some(),
            })
        }
    }
}

impl Project {
    /// Checks the store against models.lock without the network and, with `repair`, fixes what
    /// is broken. Problems are in the report, not an error: [`VerifyReport::verdict`] turns
    /// them into one.
    pub async fn verify(
        &self,
        options: &VerifyOptions,
        reporter: &dyn Reporter,
    ) -> Result<VerifyReport> {
        let planned = PlannedDownloads::default();
        let work = self.verify_now(options, reporter, &planned);
        until_cancelled(options.cancel.as_ref(), &planned, work).await
    }

    /// The verification itself; a repair records its downloads in `planned`.
    async fn verify_now(
        &self,
        options: &VerifyOptions,
        reporter: &dyn Reporter,
        planned: &PlannedDownloads,
    ) -> Result<VerifyReport> {
        let manifest = self.require_manifest()?;
        let lock = self.require_lock()?;
        let only = self.selection(manifest, &lock, &options.names)?;
        let store = self.store();
        let mut verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
        let check_options = check::VerifyOptions {
            full: options.full,
            jobs: options.jobs.unwrap_or(self.settings.jobs),
            dirs: self.plain_dirs(&lock),
            only,
            pinned_elsewhere: crate::store::registry::Registry::new(&self.settings.state_dir)
                .links_pinned_by_others(&store, self.lock_path()),
            cancel: options.cancel.clone(),
        };
        let found = check::verify(&store, &lock, &mut verified, reporter, &check_options)
            .map_err(Error::io(store.root()))?;
        // Hashes cut short read as unreadable files: neither reported nor remembered.
        check_cancel(options.cancel.as_ref())?;
        save_stat_cache(reporter, &mut verified);

        let repair = if options.repair && !found.is_clean() {
            let repair = Repair {
                store: &store,
                lock: &lock,
                found: &found,
                options: &check_options,
                planned,
            };
            Some(self.repair(repair, verified, reporter).await?)
        } else {
            None
        };
        Ok(VerifyReport {
            ok: repair
                .as_ref()
                .map_or_else(|| found.is_clean(), |r| r.remaining.is_empty()),
            full: options.full,
            files_checked: found.files_checked,
            files_hashed: found.files_hashed,
            bytes_hashed: found.bytes_hashed,
            counts: found.counts(),
            problems: found.problems,
            repair,
        })
    }

    /// The entries named (`None`: all). A name must be in the manifest and locked.
    fn selection(
        &self,
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
                self.stale_error(manifest, &[StaleReason::Added(name.clone())])
            } else {
                unknown_model(manifest, name)
            });
        }
        Ok(Some(names.iter().cloned().collect()))
    }

    /// Deletes what is damaged or extra, then lets the sync planner and executor put back what
    /// is missing (only those blobs cross the network) and verifies again.
    async fn repair(
        &self,
        repair: Repair<'_>,
        mut verified: VerifiedBlobs,
        reporter: &dyn Reporter,
    ) -> Result<RepairReport> {
        let Repair {
            store,
            lock,
            found,
            options,
            planned,
        } = repair;
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
        // No pruning: verify already named the extra files (pruning the selected entries'
        // snapshots alone would also drop files that unselected entries sharing a snapshot
        // want).
        let plan = plan(
            store,
            &selected,
            &state,
            &PlanOptions {
                prune: false,
                dirs: dirs.clone(),
            },
        );
        if plan.needs_network() && self.settings.offline {
            // Before deleting anything: offline, the damaged files are better reported than gone.
            return Err(offline_missing(&plan));
        }
        // From here the store changes: like a sync, hold the store lock against `hfdl gc` and
        // register the lockfile so gc keeps what the repair fetches.
        let _store_lock = share_store(store, reporter).await?;
        self.remember_sync(store, lock, &plan, reporter);
        let execute_options = ExecuteOptions {
            jobs: options.jobs,
            download: DownloadOptions {
                connections: self.settings.connections,
                partials_dir: Some(self.settings.partials_dir()),
                // A repair, like a sync, stops before the disk fills.
                min_free: crate::store::disk::usage(store.root())
                    .map_or(0, |usage| usage.reserve()),
                // The fleet's copy is read first, like a sync's; a repair publishes nothing.
                blob_store: self.open_blob_store(false, reporter)?,
                publish: false,
                xet: self.settings.xet,
                xet_session: std::sync::Arc::new(crate::download::XetSession::with_chunk_maps(
                    self.settings.chunk_maps_dir(),
                )),
            },
        };
        planned.record(&plan, &execute_options.download);
        // The last point where a cancelled repair leaves the store as it found it.
        check_cancel(options.cancel.as_ref())?;
        let removed_files =
            discard_damaged(found, &mut verified, &dirs).map_err(Error::io(store.root()))?;
        let hub = self.settings.hub_client();
        let summary = execute(&plan, &hub, &mut verified, reporter, &execute_options).await?;
        // What was just fetched is in the stat cache; this pass hashes only what the repair
        // could not vouch for.
        let after = check::verify(
            store,
            lock,
            &mut verified,
            reporter,
            &check::VerifyOptions {
                full: false,
                ..options.clone()
            },
        )
        .map_err(Error::io(store.root()))?;
        check_cancel(options.cancel.as_ref())?;
        save_stat_cache(reporter, &mut verified);
        Ok(RepairReport {
            removed_files,
            summary,
            remaining: after.problems,
            files_checked: after.files_checked,
        })
    }
}

/// What a repair works on: the store, the lock, what the verification found, and where the
/// repair records its downloads for a cancellation to count.
struct Repair<'a> {
    store: &'a Store,
    lock: &'a Lockfile,
    found: &'a check::VerifyReport,
    options: &'a check::VerifyOptions,
    planned: &'a PlannedDownloads,
}

/// Losing the stat cache only costs a re-hash next time: a warning, not a failure.
fn save_stat_cache(reporter: &dyn Reporter, verified: &mut VerifiedBlobs) {
    if let Err(error) = verified.save() {
        reporter.report(Event::Warning {
            message: format!("could not save hfdl's stat cache: {error}"),
        });
    }
}
