//! `status`: the state of each entry in the store (present, partial, missing, modified, or not
//! locked), from a scan of the store against the lock. Never uses the network, writes nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use super::Project;
use crate::error::Result;
use crate::store::scan::dir_file;
use crate::store::{BlobState, LinkState, RepoRef, VerifiedBlobs, scan};

/// The state of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelState {
    /// Every locked file is in the store, linked into its snapshot.
    Present,
    /// Some files are there (or partly downloaded), others not yet.
    Partial,
    /// Nothing is there.
    Missing,
    /// A blob has the wrong size or a snapshot link points elsewhere.
    Modified,
    /// In the manifest but not in the lock.
    NotLocked,
}

impl ModelState {
    /// The state in words, as the status table shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelState::Present => "present",
            ModelState::Partial => "partial",
            ModelState::Missing => "missing",
            ModelState::Modified => "modified",
            ModelState::NotLocked => "not locked",
        }
    }
}

/// One entry's status.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    /// The entry's name in models.toml.
    pub name: String,
    /// `namespace/name`.
    pub repo: String,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
    /// Its state in the store.
    pub state: ModelState,
    /// Locked files.
    pub files: usize,
    /// Locked files in place.
    pub files_present: usize,
    /// Bytes of the locked files.
    pub bytes: u64,
    /// Bytes of its blobs in the store (a blob shared with an entry listed before counts there).
    pub bytes_on_disk: u64,
    /// The locked commit (`None`: not locked).
    pub commit: Option<String>,
    /// The plain directory (`dir = "…"`), if the entry has one.
    pub dir: Option<PathBuf>,
    /// Its files that are missing, or not as hfdl placed them.
    pub dir_state: Option<DirState>,
}

/// The files of a plain directory that are not as hfdl placed them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DirState {
    /// Files that are absent.
    pub missing: usize,
    /// Files that are there but not known to match the lock.
    pub unverified: usize,
}

/// The status of every entry.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The store scanned.
    pub store: PathBuf,
    /// Locked entries, then those of the manifest not locked yet, sorted by name.
    pub models: Vec<ModelStatus>,
}

impl Project {
    /// Scans the store against the lock (a missing lock is an empty one) and tells each entry's
    /// state. Never uses the network.
    pub fn status(&self) -> Result<StatusReport> {
        let manifest = self.require_manifest()?;
        let lock = self.load_lock()?.unwrap_or_default();
        let store = self.store();
        let verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
        let dirs = self.plain_dirs(&lock);
        let state = scan(&store, &lock, &dirs, &verified);

        let mut rows = Vec::new();
        let mut counted = BTreeSet::new();
        for model in &lock.models {
            let repo = RepoRef {
                repo_type: model.repo_type,
                repo: &model.repo,
            };
            let (mut present, mut partial, mut modified, mut on_disk) = (0, 0, 0, 0);
            for file in &model.files {
                let blob = store.blob_path(repo, &file.hash);
                let link = store.snapshot_file(repo, &model.commit, &file.path);
                let link_state = state
                    .links
                    .get(&link)
                    .copied()
                    .unwrap_or(LinkState::Missing);
                match state
                    .blobs
                    .get(&blob)
                    .copied()
                    .unwrap_or(BlobState::Missing { partial: 0 })
                {
                    BlobState::Verified | BlobState::Unverified => {
                        if counted.insert(blob.clone()) {
                            on_disk += file.size;
                        }
                        match link_state {
                            LinkState::Correct => present += 1,
                            LinkState::Wrong => modified += 1,
                            LinkState::Missing => partial += 1,
                        }
                    }
                    BlobState::WrongSize { .. } => modified += 1,
                    BlobState::Missing { partial: bytes } if bytes > 0 => partial += 1,
                    BlobState::Missing { .. } => {}
                }
            }
            let dir_state = dirs.get(&model.name).map(|dir| {
                let (mut missing, mut changed) = (0, 0);
                for file in &model.files {
                    let dest = dir_file(dir, &file.path);
                    if state.dir_files.get(&dest) != Some(&true) {
                        if dest.symlink_metadata().is_ok() {
                            changed += 1;
                        } else {
                            missing += 1;
                        }
                    }
                }
                DirState {
                    missing,
                    unverified: changed,
                }
            });
            let total = model.files.len();
            let state = if modified > 0 {
                ModelState::Modified
            } else if present == total {
                ModelState::Present
            } else if present == 0 && partial == 0 {
                ModelState::Missing
            } else {
                ModelState::Partial
            };
            rows.push(ModelStatus {
                name: model.name.clone(),
                repo: model.repo.to_string(),
                repo_type: model.repo_type.to_string(),
                state,
                files: total,
                files_present: present,
                bytes: model.files.iter().map(|f| f.size).sum(),
                bytes_on_disk: on_disk,
                commit: Some(model.commit.clone()),
                dir: dirs.get(&model.name).cloned(),
                dir_state,
            });
        }
        for spec in manifest.models.values() {
            if lock.get(&spec.name).is_none() {
                rows.push(ModelStatus {
                    name: spec.name.clone(),
                    repo: spec.repo.to_string(),
                    repo_type: spec.repo_type.to_string(),
                    state: ModelState::NotLocked,
                    files: 0,
                    files_present: 0,
                    bytes: 0,
                    bytes_on_disk: 0,
                    commit: None,
                    dir: spec.dir.clone(),
                    dir_state: None,
                });
            }
        }
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(StatusReport {
            store: self.settings.store.clone(),
            models: rows,
        })
    }
}
