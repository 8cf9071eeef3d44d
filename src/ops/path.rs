//! `path`: where a synced entry's snapshot directory is (absolute), for scripts. Reads the lock
//! and the store, writes nothing.

use std::path::PathBuf;

use serde::Serialize;

use super::{Project, unknown_model};
use crate::error::{Error, Result};
use crate::store::RepoRef;

/// Which entry to locate.
#[derive(Debug, Clone, Default)]
pub struct PathOptions {
    /// The entry's name in models.toml.
    pub name: String,
}

/// Where an entry's files are.
#[derive(Debug, Clone, Serialize)]
pub struct PathReport {
    /// The entry's name.
    pub name: String,
    /// Its snapshot directory in the store, absolute.
    pub path: PathBuf,
    /// The locked commit that directory holds.
    pub commit: String,
}

impl Project {
    /// The snapshot directory of a locked entry, which must exist in the store
    /// ([`Error::NotSynced`] otherwise).
    pub fn path(&self, options: &PathOptions) -> Result<PathReport> {
        let manifest = self.require_manifest()?;
        let lock = self.load_lock()?.unwrap_or_default();
        let Some(model) = lock.get(&options.name) else {
            if manifest.models.contains_key(&options.name) {
                return Err(Error::NotSynced {
                    name: options.name.clone(),
                    path: self.lock_path().to_path_buf(),
                });
            }
            return Err(unknown_model(manifest, &options.name));
        };
        let dir = self.store().snapshot_dir(
            RepoRef {
                repo_type: model.repo_type,
                repo: &model.repo,
            },
            &model.commit,
        );
        if !dir.is_dir() {
            return Err(Error::NotSynced {
                name: options.name.clone(),
                path: dir,
            });
        }
        Ok(PathReport {
            name: model.name.clone(),
            path: std::path::absolute(&dir).unwrap_or(dir),
            commit: model.commit.clone(),
        })
    }
}
