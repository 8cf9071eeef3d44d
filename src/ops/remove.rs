//! `remove`: entries out of models.toml (its formatting kept) and their pins out of
//! models.lock. No network: the other entries keep their pins as they are.
//!
//! The files stay in the store, where other projects may share them; `gc` reclaims what no
//! remembered lockfile references any more.

use std::path::PathBuf;

use serde::Serialize;

use super::{Project, unknown_model};
use crate::error::{Error, Result};
use crate::fsutil::write_file_atomic;
use crate::lock;
use crate::manifest::{self, edit};

/// The entries to remove.
#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    /// Their names in models.toml; a name given twice is removed once.
    pub names: Vec<String>,
}

/// What `remove` did.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveReport {
    /// The names removed, in the order given.
    pub removed: Vec<String>,
    /// The manifest written.
    pub manifest: PathBuf,
    /// The lockfile.
    pub lock: PathBuf,
    /// models.lock was rewritten without the entries' pins.
    pub lock_written: bool,
    /// Bytes of the files the removed pins listed (which `gc` may free).
    pub unlocked_bytes: u64,
    /// Each removed entry, as the manifest had it.
    #[serde(skip)]
    pub entries: Vec<RemovedEntry>,
    /// At least one removed entry was locked.
    #[serde(skip)]
    pub unlocked: bool,
}

/// A removed entry.
#[derive(Debug, Clone)]
pub struct RemovedEntry {
    /// Its name.
    pub name: String,
    /// Its repo.
    pub repo: String,
    /// Its plain directory (`dir = "…"`), which is left in place.
    pub dir: Option<PathBuf>,
}

impl Project {
    /// Removes the entries from models.toml and their pins from models.lock. Every name is
    /// checked first: an unknown one ([`Error::UnknownModel`]) changes nothing.
    pub fn remove(&self, options: &RemoveOptions) -> Result<RemoveReport> {
        let manifest = self.require_manifest()?;
        let mut names: Vec<&str> = Vec::new();
        for name in &options.names {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        // Check every name before touching anything, so a typo in the second name changes
        // nothing.
        for &name in &names {
            if !manifest.models.contains_key(name) {
                return Err(unknown_model(manifest, name));
            }
        }
        let text = fs_err::read_to_string(&manifest.path).map_err(Error::io(&manifest.path))?;
        let mut new_text = text.clone();
        for &name in &names {
            new_text = edit::remove_model(&new_text, name).map_err(|e| Error::Usage {
                message: e.to_string(),
                help: format!("edit {} by hand", manifest.path.display()),
            })?;
        }
        // The result must still be a valid manifest (it is, unless the edit has a bug); checking
        // before writing keeps a bad edit off the disk.
        manifest::parse(&manifest.path, &new_text)?;

        // The lock first: if writing the manifest then fails, the lock lists fewer entries than
        // the manifest, which `hfdl lock` repairs; the other order would leave pins without
        // entries.
        let previous = self.load_lock()?;
        let mut unlocked = Vec::new();
        let mut lock_written = false;
        if let Some(mut lock) = previous {
            lock.models.retain(|model| {
                let removed = names.contains(&model.name.as_str());
                if removed {
                    unlocked.push(model.clone());
                }
                !removed
            });
            lock_written = self.write_lock(&lock)?;
        }
        write_file_atomic(&manifest.path, new_text.as_bytes())
            .map_err(Error::io(&manifest.path))?;

        let entries = names
            .iter()
            .map(|&name| {
                let spec = &manifest.models[name];
                RemovedEntry {
                    name: name.to_owned(),
                    repo: spec.repo.to_string(),
                    dir: spec.dir.clone(),
                }
            })
            .collect();
        Ok(RemoveReport {
            removed: names.iter().map(|&name| name.to_owned()).collect(),
            manifest: manifest.path.clone(),
            lock: self.lock_path().to_path_buf(),
            lock_written,
            unlocked_bytes: unlocked.iter().map(lock::LockedModel::total_size).sum(),
            entries,
            unlocked: !unlocked.is_empty(),
        })
    }
}
