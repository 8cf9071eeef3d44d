//! A targeted scan of the store: the state of every blob, snapshot link, ref and plain-directory
//! file that a lockfile names, plus the extra links in the snapshots it pins.
//!
//! Only `stat`/`readlink` calls: hashing is left to the executor, except that blobs recorded in
//! the stat cache ([`VerifiedBlobs`]) count as verified while unchanged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::layout::{RepoRef, Store, relative_blob_target};
use super::verified::VerifiedBlobs;
use crate::lock::Lockfile;

/// The state of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobState {
    /// Present and verified earlier, unchanged since.
    Verified,
    /// Present with the expected size but not (yet) verified by hfdl: adopt after hashing.
    Unverified,
    /// Present with the wrong size: damaged.
    WrongSize {
        /// The size on disk, in bytes.
        actual: u64,
    },
    /// Absent; `partial` bytes of a previous download are in `.incomplete`.
    Missing {
        /// Bytes already in `.incomplete` (0 when there is none).
        partial: u64,
    },
}

/// The state of one snapshot entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// A symlink to the locked blob.
    Correct,
    /// Nothing at that path.
    Missing,
    /// A symlink to another target, or a regular file.
    Wrong,
}

/// What the scan found, keyed by absolute path. Lookups only, hence hash maps (ordered maps of
/// paths compare component by component, which showed up in the no-op sync of large repos);
/// the one map that is iterated stays ordered, so plans come out in a stable order.
#[derive(Debug, Default, Clone)]
pub struct StoreState {
    /// Every blob the lock needs, by path under `blobs/`.
    pub blobs: HashMap<PathBuf, BlobState>,
    /// Every locked file's snapshot link, by path under `snapshots/<commit>/`.
    pub links: HashMap<PathBuf, LinkState>,
    /// Current content of each ref file (`None`: absent).
    pub refs: HashMap<PathBuf, Option<String>>,
    /// Symlinks present in each locked snapshot directory, as repo paths.
    pub snapshot_links: BTreeMap<PathBuf, BTreeSet<String>>,
    /// Plain-directory files: whether each is present and verified.
    pub dir_files: HashMap<PathBuf, bool>,
    /// Files hfdl placed in a plain directory earlier that the lock no longer lists, unchanged
    /// since (files people put there are never among them).
    pub dir_leftovers: Vec<DirLeftover>,
}

/// A file of an earlier pin left in a plain directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirLeftover {
    /// The manifest entry whose directory holds it.
    pub model: String,
    /// `/`-separated, relative to the directory.
    pub path: String,
    /// The file's full path.
    pub file: PathBuf,
    /// The entry's plain directory.
    pub dir: PathBuf,
}

/// Scans what `lock` needs. `dirs` maps entry names to their plain directories.
pub fn scan(
    store: &Store,
    lock: &Lockfile,
    dirs: &BTreeMap<String, PathBuf>,
    verified: &VerifiedBlobs,
) -> StoreState {
    let mut state = StoreState::default();
    for model in &lock.models {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        let snapshot_dir = store.snapshot_dir(repo, &model.commit);
        if !state.snapshot_links.contains_key(&snapshot_dir) {
            let links = list_symlinks(&snapshot_dir);
            state.snapshot_links.insert(snapshot_dir.clone(), links);
        }
        if model.revision != model.commit {
            let ref_path = store.ref_path(repo, &model.revision);
            let current = super::fsops::read_ref(&ref_path);
            state.refs.insert(ref_path, current);
        }
        for file in &model.files {
            let blob = store.blob_path(repo, &file.hash);
            if !state.blobs.contains_key(&blob) {
                let blob_state = blob_state(store, repo, &blob, file, verified);
                state.blobs.insert(blob.clone(), blob_state);
            }
            let link = store.snapshot_file(repo, &model.commit, &file.path);
            let target = relative_blob_target(&file.path, &file.hash);
            let link_state = match std::fs::read_link(&link) {
                Ok(current) if current == target => LinkState::Correct,
                Ok(_) => LinkState::Wrong,
                Err(_) if link.symlink_metadata().is_ok() => LinkState::Wrong,
                Err(_) => LinkState::Missing,
            };
            state.links.insert(link, link_state);
            if let Some(dir) = dirs.get(&model.name) {
                let dest = dir_file(dir, &file.path);
                let ok = verified.is_verified(&dest, file.hash.hex());
                state.dir_files.insert(dest, ok);
            }
        }
        if let Some(dir) = dirs.get(&model.name) {
            let locked: BTreeSet<&str> = model.files.iter().map(|f| f.path.as_str()).collect();
            for path in list_files(dir) {
                let file = dir_file(dir, &path);
                // A temp file of an interrupted copy is hfdl's too (see `materialise`).
                let interrupted_copy = path.ends_with(".hfdl-tmp");
                if !locked.contains(path.as_str())
                    && (interrupted_copy || verified.is_unchanged(&file))
                {
                    state.dir_leftovers.push(DirLeftover {
                        model: model.name.clone(),
                        path,
                        file,
                        dir: dir.clone(),
                    });
                }
            }
        }
    }
    state
}

/// `dir/<path>` with `/` as native separators.
pub fn dir_file(dir: &Path, path: &str) -> PathBuf {
    let mut file = dir.to_path_buf();
    file.extend(path.split('/'));
    file
}

fn blob_state(
    store: &Store,
    repo: RepoRef<'_>,
    blob: &Path,
    file: &crate::lock::LockedFile,
    verified: &VerifiedBlobs,
) -> BlobState {
    match fs_err::metadata(blob) {
        Ok(metadata) if metadata.len() != file.size => BlobState::WrongSize {
            actual: metadata.len(),
        },
        Ok(_) if verified.is_verified(blob, file.hash.hex()) => BlobState::Verified,
        Ok(_) => BlobState::Unverified,
        Err(_) => {
            let partial =
                fs_err::metadata(store.incomplete_path(repo, &file.hash)).map_or(0, |m| m.len());
            BlobState::Missing { partial }
        }
    }
}

/// Every symlink under `dir`, as `/`-separated paths relative to it.
fn list_symlinks(dir: &Path) -> BTreeSet<String> {
    list_entries(dir, std::fs::FileType::is_symlink)
}

/// Every regular file under `dir`, as `/`-separated paths relative to it.
pub fn list_files(dir: &Path) -> BTreeSet<String> {
    list_entries(dir, std::fs::FileType::is_file)
}

/// The entries under `dir` (not following symlinks) whose type `wanted` accepts, as
/// `/`-separated paths relative to it.
pub fn list_entries(dir: &Path, wanted: impl Fn(&std::fs::FileType) -> bool) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((current, prefix)) = pending.pop() {
        let Ok(entries) = fs_err::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            match entry.file_type() {
                Ok(kind) if wanted(&kind) => {
                    found.insert(relative);
                }
                Ok(kind) if kind.is_dir() => pending.push((entry.path(), relative)),
                _ => {}
            }
        }
    }
    found
}
