//! `models.lock` (CONTRACT STUB — being implemented).

use std::path::Path;

use crate::hash::ContentHash;
use crate::manifest::Manifest;
use crate::repo::{RepoId, RepoType};

/// The lockfile format's major version.
pub const LOCK_VERSION: u32 = 1;
/// The default lockfile name, next to the manifest.
pub const LOCK_FILE: &str = "models.lock";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockfile {
    /// Sorted by name.
    pub models: Vec<LockedModel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedModel {
    pub name: String,
    pub repo: RepoId,
    pub repo_type: RepoType,
    pub revision: String,
    pub commit: String,
    pub requirement: String,
    /// Sorted by path.
    pub files: Vec<LockedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedFile {
    pub path: String,
    pub size: u64,
    pub hash: ContentHash,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    #[error("placeholder")]
    Placeholder,
}

/// Whether a lock still describes a manifest, decided without the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    Stale(Vec<StaleReason>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    Added(String),
    Removed(String),
    Changed(String),
}

impl Lockfile {
    pub fn encode(&self) -> String {
        todo!()
    }
    pub fn decode(path: &Path, text: &str) -> Result<Lockfile, LockError> {
        let _ = (path, text);
        todo!()
    }
    pub fn get(&self, name: &str) -> Option<&LockedModel> {
        self.models.iter().find(|m| m.name == name)
    }
    pub fn freshness(&self, manifest: &Manifest) -> Freshness {
        let _ = manifest;
        todo!()
    }
}

pub fn load(path: &Path) -> Result<Option<Lockfile>, LockError> {
    let _ = path;
    todo!()
}

pub fn write_if_changed(path: &Path, lock: &Lockfile) -> std::io::Result<bool> {
    let _ = (path, lock);
    todo!()
}
