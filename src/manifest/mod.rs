//! `models.toml`: the manifest people write (CONTRACT STUB — being implemented).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::repo::{RepoId, RepoType};

pub mod diagnostics;
pub mod edit;

pub use diagnostics::ManifestError;

/// The default manifest file name.
pub const MANIFEST_FILE: &str = "models.toml";

/// A parsed, validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Where it was read from (used for messages and to resolve `dir`).
    pub path: PathBuf,
    /// Entries by name, sorted.
    pub models: BTreeMap<String, ModelSpec>,
    /// The optional `[settings]` table.
    pub settings: ManifestSettings,
}

/// One `[models.NAME]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: String,
    pub repo: RepoId,
    pub repo_type: RepoType,
    /// Branch, tag, `refs/pr/N` or 40-hex commit; `main` when absent.
    pub revision: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Plain directory to materialise, as written (relative to the manifest's directory).
    pub dir: Option<PathBuf>,
}

impl ModelSpec {
    /// `sha256:<hex>` fingerprint of everything that decides what gets locked.
    pub fn requirement(&self) -> String {
        todo!()
    }
}

/// `[settings]`: the same keys as `config.toml`, all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestSettings {
    pub store: Option<String>,
    pub endpoint: Option<String>,
    pub jobs: Option<u32>,
    pub connections: Option<u32>,
    pub limit_rate: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub progress: Option<bool>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
}

/// Parses and validates manifest `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let _ = (path, text);
    todo!()
}

/// Reads and parses the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
    let _ = path;
    todo!()
}
