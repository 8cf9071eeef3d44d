//! The registry of known lockfiles: which lockfiles `hfdl sync` has synced into which store, and
//! which repos of that store hfdl has written. `hfdl gc` keeps what these lockfiles reference
//! and only ever deletes inside these repos (unless `--all`).
//!
//! It lives in hfdl's own state directory (`$HFDL_CACHE_DIR/known-locks.json`), never in the
//! Hugging Face cache. Several `hfdl` processes may record at once, so every change is a
//! read-modify-write under an exclusive lock on `known-locks.lock` beside it, and the file is
//! replaced atomically: no process loses another's entries, and a reader never sees half a file.
//! A registry that exists but does not parse is an error, not an empty registry: `gc` must not
//! delete on a guess, and `sync` must not overwrite what it cannot read.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};
use super::fsops::FileLock;
use super::layout::{RepoRef, Store};
use crate::fsutil::write_if_changed;

const FORMAT_VERSION: u32 = 1;
const REGISTRY_FILE: &str = "known-locks.json";
const REGISTRY_LOCK: &str = "known-locks.lock";

/// What hfdl knows about one store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRecord {
    /// Absolute paths of the lockfiles synced into the store.
    pub locks: BTreeSet<PathBuf>,
    /// Folder names (`models--org--name`, which encode type and id) of the repos hfdl wrote.
    pub repos: BTreeSet<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    /// Keyed by the store's absolute path.
    stores: BTreeMap<PathBuf, StoreRecord>,
}

/// The registry in a state directory.
#[derive(Debug, Clone)]
pub struct Registry {
    state_dir: PathBuf,
}

impl Registry {
    /// The snapshot links that the lockfiles synced into `store`, other than `ours`, pin. A
    /// lockfile that cannot be read pins nothing here: what this protects (a link another
    /// project wants) costs a relink from the blob if lost, never a download. gc, which deletes
    /// blobs, is strict instead (see [`super::gc`]).
    pub fn links_pinned_by_others(&self, store: &Store, ours: &Path) -> HashSet<PathBuf> {
        let ours = absolute_path(ours);
        let mut pinned = HashSet::new();
        let Ok(record) = self.store_record(store) else {
            return pinned;
        };
        for path in record.locks.iter().filter(|path| **path != ours) {
            let Ok(Some(other)) = crate::lock::load(path) else {
                continue;
            };
            for model in &other.models {
                let repo = RepoRef {
                    repo_type: model.repo_type,
                    repo: &model.repo,
                };
                for file in &model.files {
                    pinned.insert(store.snapshot_file(repo, &model.commit, &file.path));
                }
            }
        }
        pinned
    }

    /// The registry kept in `state_dir` (hfdl's state directory); nothing is read yet.
    pub fn new(state_dir: impl Into<PathBuf>) -> Registry {
        Registry {
            state_dir: state_dir.into(),
        }
    }

    /// `known-locks.json` in the state directory: the registry's file.
    pub fn file(&self) -> PathBuf {
        self.state_dir.join(REGISTRY_FILE)
    }

    /// What is recorded for `store` (empty when nothing is).
    pub fn store_record(&self, store: &Store) -> Result<StoreRecord> {
        let key = absolute_path(store.root());
        Ok(self.read()?.stores.remove(&key).unwrap_or_default())
    }

    /// Remembers that `lock` is synced into `store` and that it writes `repos` there.
    pub fn record_sync<'a>(
        &self,
        store: &Store,
        lock: &Path,
        repos: impl IntoIterator<Item = RepoRef<'a>>,
    ) -> Result<()> {
        let key = absolute_path(store.root());
        let lock = absolute_path(lock);
        let repos: Vec<String> = repos.into_iter().map(Store::repo_folder_name).collect();
        self.update(|stores| {
            let record = stores.entry(key).or_default();
            record.locks.insert(lock);
            record.repos.extend(repos);
        })
    }

    /// Forgets lockfiles of `store` that no longer exist.
    pub fn forget_locks(&self, store: &Store, gone: &[PathBuf]) -> Result<()> {
        if gone.is_empty() {
            return Ok(());
        }
        let key = absolute_path(store.root());
        self.update(|stores| {
            if let Some(record) = stores.get_mut(&key) {
                for lock in gone {
                    record.locks.remove(lock);
                }
            }
        })
    }

    /// Forgets repos of `store` that no longer exist in it (after `gc` removed them).
    pub fn forget_repos(&self, store: &Store, gone: &[String]) -> Result<()> {
        if gone.is_empty() {
            return Ok(());
        }
        let key = absolute_path(store.root());
        self.update(|stores| {
            if let Some(record) = stores.get_mut(&key) {
                for folder in gone {
                    record.repos.remove(folder);
                }
            }
        })
    }

    /// Read-modify-write under the registry's lock, so concurrent writers never lose entries.
    fn update(&self, change: impl FnOnce(&mut BTreeMap<PathBuf, StoreRecord>)) -> Result<()> {
        let lock_path = self.state_dir.join(REGISTRY_LOCK);
        let _lock = FileLock::acquire(&lock_path).map_err(StoreError::io(&lock_path))?;
        let mut disk = self.read()?;
        change(&mut disk.stores);
        disk.version = FORMAT_VERSION;
        let file = self.file();
        let bytes = serde_json::to_vec_pretty(&disk).map_err(|e| StoreError::Io {
            path: file.clone(),
            source: std::io::Error::other(e),
        })?;
        write_if_changed(&file, &bytes).map_err(StoreError::io(&file))?;
        Ok(())
    }

    fn read(&self) -> Result<OnDisk> {
        let file = self.file();
        let bytes = match fs_err::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnDisk::default()),
            Err(source) => return Err(StoreError::Io { path: file, source }),
        };
        let unreadable = |reason: String| StoreError::RegistryUnreadable {
            path: file.clone(),
            reason,
        };
        let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
        if disk.version != FORMAT_VERSION {
            return Err(unreadable(format!(
                "format version {} (this hfdl reads version {FORMAT_VERSION})",
                disk.version
            )));
        }
        Ok(disk)
    }
}

/// The absolute form of `path` used as a registry key: symlinks resolved in the part that exists
/// (a temp dir or a store reached through a link gets one key whichever way it is named), the
/// rest appended as given (a store that a first sync has yet to create).
pub fn absolute_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(canonical) = fs_err::canonicalize(existing) {
            return missing
                .iter()
                .rev()
                .fold(canonical, |path, part| path.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::{RepoId, RepoType};

    #[test]
    fn records_accumulate_and_gone_locks_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path().join("state"));
        let store = Store::new(dir.path().join("cache"));
        let id = RepoId::parse("org/name").unwrap();
        let repo = RepoRef {
            repo_type: RepoType::Dataset,
            repo: &id,
        };
        let (a, b) = (
            dir.path().join("a/models.lock"),
            dir.path().join("b/models.lock"),
        );
        registry.record_sync(&store, &a, [repo]).unwrap();
        registry.record_sync(&store, &b, []).unwrap();
        let record = registry.store_record(&store).unwrap();
        assert_eq!(record.locks.len(), 2);
        assert!(record.repos.contains("datasets--org--name"));
        registry.forget_locks(&store, &[absolute_path(&a)]).unwrap();
        let record = registry.store_record(&store).unwrap();
        assert_eq!(
            record.locks.into_iter().collect::<Vec<_>>(),
            vec![absolute_path(&b)]
        );
    }

    #[test]
    fn an_unreadable_registry_is_an_error_not_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path());
        fs_err::write(registry.file(), b"{not json").unwrap();
        let store = Store::new(dir.path().join("cache"));
        assert!(matches!(
            registry.store_record(&store),
            Err(StoreError::RegistryUnreadable { .. })
        ));
        assert!(registry.record_sync(&store, Path::new("x"), []).is_err());
        assert_eq!(fs_err::read(registry.file()).unwrap(), b"{not json");
    }
}
