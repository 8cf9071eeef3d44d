//! `usage`: the disk the project's locked files take in the store, per repo and per entry, for
//! a chart (`hfdl ui`'s `GET /api/store`). Counts the bytes of distinct blobs that are in the
//! store: a blob two entries share (same repo, same content) counts once in the totals, and
//! each entry says how much of its bytes another entry uses too. Never uses the network,
//! writes nothing; a missing lock is an empty one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use super::Project;
use crate::error::Result;
use crate::store::RepoRef;

/// The disk use of a project's locked files.
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// The store measured.
    pub store: PathBuf,
    /// Bytes of the distinct blobs of the lock that are in the store.
    pub total_bytes: u64,
    /// Each repo the lock uses, largest first (then by name).
    pub repos: Vec<RepoUsage>,
    /// Each locked entry, largest first (then by name).
    pub models: Vec<ModelUsage>,
}

/// One repo's share of the store.
#[derive(Debug, Clone, Serialize)]
pub struct RepoUsage {
    /// `namespace/name`.
    pub repo: String,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
    /// Bytes of its distinct blobs the lock uses that are in the store.
    pub bytes: u64,
    /// The entries of this project that use it, sorted.
    pub models: Vec<String>,
}

/// One entry's share of the store.
#[derive(Debug, Clone, Serialize)]
pub struct ModelUsage {
    /// The entry's name.
    pub name: String,
    /// Bytes of its distinct blobs that are in the store.
    pub bytes: u64,
    /// Of those, the bytes of blobs another entry uses too.
    pub shared_bytes: u64,
}

/// The blobs of one repo the lock names, and the entries that use the repo.
type RepoBlobs<'a> = (BTreeSet<PathBuf>, BTreeSet<&'a str>);

impl Project {
    /// Measures what the locked files take in the store (see the module's documentation).
    pub fn usage(&self) -> Result<UsageReport> {
        let lock = self.load_lock()?.unwrap_or_default();
        let store = self.store();
        // Each blob the lock names: its size on disk (`None`: not in the store) and its users.
        let mut blobs: BTreeMap<PathBuf, (Option<u64>, BTreeSet<&str>)> = BTreeMap::new();
        // (repo type, repo) → the blobs of that repo, and the entries that use it.
        let mut repos: BTreeMap<(String, String), RepoBlobs<'_>> = BTreeMap::new();
        for model in &lock.models {
            let repo = RepoRef {
                repo_type: model.repo_type,
                repo: &model.repo,
            };
            let key = (model.repo_type.to_string(), model.repo.to_string());
            let (repo_blobs, users) = repos.entry(key).or_default();
            users.insert(&model.name);
            for file in &model.files {
                let path = store.blob_path(repo, &file.hash);
                let entry = blobs.entry(path.clone()).or_insert_with(|| {
                    let size = fs_err::metadata(&path)
                        .ok()
                        .filter(std::fs::Metadata::is_file)
                        .map(|metadata| metadata.len());
                    (size, BTreeSet::new())
                });
                entry.1.insert(&model.name);
                repo_blobs.insert(path);
            }
        }
        let size_of = |path: &PathBuf| blobs.get(path).and_then(|(size, _)| *size).unwrap_or(0);
        let total_bytes = blobs.values().filter_map(|(size, _)| *size).sum();
        let mut repo_rows: Vec<RepoUsage> = repos
            .iter()
            .map(|((repo_type, repo), (paths, users))| RepoUsage {
                repo: repo.clone(),
                repo_type: repo_type.clone(),
                bytes: paths.iter().map(size_of).sum(),
                models: users.iter().map(|&name| name.to_owned()).collect(),
            })
            .collect();
        repo_rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.repo.cmp(&b.repo)));
        let mut model_rows: Vec<ModelUsage> = lock
            .models
            .iter()
            .map(|model| {
                let (mut bytes, mut shared_bytes) = (0, 0);
                for (size, users) in blobs.values() {
                    let Some(size) = size else { continue };
                    if users.contains(model.name.as_str()) {
                        bytes += size;
                        if users.len() > 1 {
                            shared_bytes += size;
                        }
                    }
                }
                ModelUsage {
                    name: model.name.clone(),
                    bytes,
                    shared_bytes,
                }
            })
            .collect();
        model_rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        Ok(UsageReport {
            store: self.settings.store.clone(),
            total_bytes,
            repos: repo_rows,
            models: model_rows,
        })
    }
}
