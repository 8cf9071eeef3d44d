//! `push`: seeds the shared blob store with what the lock pins, from the local store — a
//! workstation or one CI job fills the bucket once, then the fleet syncs from it.
//!
//! Every blob is verified locally before it leaves (the stat cache of verified blobs spares a
//! re-hash of what a sync just checked); objects already in the store are reported, not
//! uploaded again. A blob missing locally stops the push before anything is uploaded: `hfdl
//! sync` first.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use serde::Serialize;

use super::{CancellationToken, Project, check_cancel};
use crate::blobstore::{BlobStore, BlobStoreCounts, BlobStoreError, Upload};
use crate::error::{Error, Result};
use crate::hash::ContentHash;
use crate::report::{Event, Reporter, TaskIds, TaskKind};
use crate::store::VerifiedBlobs;
use crate::store::layout::RepoRef;

/// How to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Only these entries (all when empty).
    pub names: Vec<String>,
    /// Uploads at once; the `jobs` setting when `None`.
    pub jobs: Option<usize>,
    /// Stops between uploads when cancelled.
    pub cancel: Option<CancellationToken>,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// The `blob-store` URL.
    pub blob_store: String,
    /// Distinct blobs the pushed entries pin.
    pub blobs: usize,
    /// Blobs uploaded.
    pub uploaded_files: usize,
    /// Bytes uploaded.
    pub uploaded_bytes: u64,
    /// Blobs the store already had.
    pub already_there: usize,
    /// Requests sent to the store.
    pub requests: BlobStoreCounts,
}

/// One distinct blob to push.
struct PushItem {
    hash: ContentHash,
    size: u64,
    /// Where the local store has it.
    path: PathBuf,
    /// `model/file`, for messages and progress.
    label: String,
}

impl Project {
    /// Uploads the blobs the lock pins (for `options.names`, or every entry) to the blob store.
    pub async fn push(&self, options: &PushOptions, reporter: &dyn Reporter) -> Result<PushReport> {
        if self.settings.offline {
            return Err(Error::Usage {
                message: "hfdl push uploads to the blob store, and --offline forbids the network"
                    .into(),
                help: "run it without --offline (or HF_HUB_OFFLINE)".into(),
            });
        }
        let url = self
            .settings
            .blob_store
            .clone()
            .ok_or_else(|| super::sync::no_blob_store("hfdl push"))?;
        let lock = self.require_lock()?;
        for name in &options.names {
            if !lock.models.iter().any(|m| &m.name == name) {
                return Err(Error::Usage {
                    message: format!("no locked entry named `{name}`"),
                    help: format!(
                        "the lock has: {}",
                        lock.models
                            .iter()
                            .map(|m| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        let local = self.store();
        let mut items: BTreeMap<ContentHash, PushItem> = BTreeMap::new();
        let mut missing = Vec::new();
        for model in lock
            .models
            .iter()
            .filter(|m| options.names.is_empty() || options.names.contains(&m.name))
        {
            for file in &model.files {
                if items.contains_key(&file.hash) {
                    continue;
                }
                let repo = RepoRef {
                    repo_type: model.repo_type,
                    repo: &model.repo,
                };
                let path = local.blob_path(repo, &file.hash);
                if !path.is_file() {
                    missing.push((model.name.clone(), path));
                    continue;
                }
                items.insert(
                    file.hash.clone(),
                    PushItem {
                        hash: file.hash.clone(),
                        size: file.size,
                        path,
                        label: format!("{}/{}", model.name, file.path),
                    },
                );
            }
        }
        // Nothing is uploaded from a store that is not synced: the bucket would get half a lock.
        if let Some((name, path)) = missing.into_iter().next() {
            return Err(Error::NotSynced { name, path });
        }
        let store = match self.settings.blob_store_client()? {
            Some(store) => Arc::new(store),
            None => unreachable!("offline was refused and blob-store is set"),
        };
        reporter.report(Event::Status {
            message: format!(
                "Pushing {} to {url}",
                crate::report::count(items.len(), "blob")
            ),
        });
        let verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
        let ids = TaskIds::default();
        let jobs = options.jobs.unwrap_or(self.settings.jobs).max(1);
        let results: Vec<Result<(Upload, u64)>> = futures_util::stream::iter(items.values())
            .map(|item| {
                let (store, verified, ids) = (&store, &verified, &ids);
                async move {
                    check_cancel(options.cancel.as_ref())?;
                    push_one(store, item, verified, reporter, ids).await
                }
            })
            .buffer_unordered(jobs)
            .collect()
            .await;
        let mut report = PushReport {
            blob_store: url.to_string(),
            blobs: items.len(),
            uploaded_files: 0,
            uploaded_bytes: 0,
            already_there: 0,
            requests: BlobStoreCounts::default(),
        };
        let mut first_error = None;
        for result in results {
            match result {
                Ok((Upload::Stored, size)) => {
                    report.uploaded_files += 1;
                    report.uploaded_bytes += size;
                }
                Ok((Upload::AlreadyThere, _)) => report.already_there += 1,
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        report.requests = store.metrics().snapshot();
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }
}

/// Verifies one local blob (unless the stat cache vouches for it) and uploads it.
async fn push_one(
    store: &BlobStore,
    item: &PushItem,
    verified: &VerifiedBlobs,
    reporter: &dyn Reporter,
    ids: &TaskIds,
) -> Result<(Upload, u64)> {
    if !verified.is_verified(&item.path, item.hash.hex()) {
        let id = ids.next();
        reporter.report(Event::TaskStarted {
            id,
            kind: TaskKind::Verify,
            label: item.label.clone(),
            size: item.size,
            done: 0,
        });
        let (path, kind, size) = (item.path.clone(), item.hash.kind(), item.size);
        let hashed = tokio::task::spawn_blocking(move || {
            crate::hash::hash_reader(fs_err::File::open(&path)?, kind, size)
        })
        .await
        .map_err(|e| Error::io(&item.path)(std::io::Error::other(e)))?
        .map_err(Error::io(&item.path))?;
        reporter.report(Event::TaskProgress {
            id,
            bytes: item.size,
        });
        let ok = hashed == (item.hash.clone(), item.size);
        reporter.report(Event::TaskFinished { id, ok });
        if !ok {
            // A damaged local copy is never pushed: the fleet would discard it anyway.
            return Err(Error::VerifyFailed {
                problems: 1,
                checked: 1,
                repaired: false,
            });
        }
    }
    // The bar appears with the first bytes sent: an object already there sends none.
    let id = ids.next();
    let started = std::sync::atomic::AtomicBool::new(false);
    let progress = |bytes| {
        if !started.swap(true, std::sync::atomic::Ordering::Relaxed) {
            reporter.report(Event::TaskStarted {
                id,
                kind: TaskKind::Upload,
                label: item.label.clone(),
                size: item.size,
                done: 0,
            });
        }
        reporter.report(Event::TaskProgress { id, bytes });
    };
    let outcome = store
        .upload(&item.hash, &item.path, item.size, &progress)
        .await;
    if started.load(std::sync::atomic::Ordering::Relaxed) {
        reporter.report(Event::TaskFinished {
            id,
            ok: outcome.is_ok(),
        });
    }
    let outcome = outcome.map_err(|error: BlobStoreError| Error::BlobStore(error))?;
    if outcome == Upload::AlreadyThere {
        reporter.report(Event::Info {
            message: format!("{} is already in the blob store", item.label),
        });
    }
    Ok((outcome, item.size))
}
