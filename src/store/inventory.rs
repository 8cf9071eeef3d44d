//! What a Hugging Face cache already holds, read from its layout alone (hub-protocol §6): repo
//! folders, `refs/`, `snapshots/<commit>/` links and the blob names they point to. A blob's
//! name is its content hash (sha256 for LFS files, the git blob id otherwise), so the inventory
//! needs neither a request nor a hash; `hfdl sync` verifies the bytes when it adopts them.

use std::collections::BTreeMap;
use std::path::Path;

use super::layout::{Store, parse_repo_folder_name};
use super::scan::{dir_file, list_entries};
use crate::hash::ContentHash;
use crate::lock::LockedFile;
use crate::repo::{RepoId, RepoType, is_commit_hash};

/// One snapshot in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSnapshot {
    /// The repository's type, from its folder name.
    pub repo_type: RepoType,
    /// The repository, from its folder name.
    pub repo: RepoId,
    /// The snapshot's 40-hex commit.
    pub commit: String,
    /// The refs (`main`, `v1.0`, `refs/pr/1`) that point at this commit, sorted.
    pub refs: Vec<String>,
    /// Files whose link leads to a blob that is present, sorted by path.
    pub files: Vec<LockedFile>,
    /// Files that cannot be adopted, with the reason.
    pub skipped: Vec<(String, &'static str)>,
}

/// Every snapshot in the store, by repo folder then commit.
pub fn inventory(store: &Store) -> Vec<CachedSnapshot> {
    let Ok(entries) = fs_err::read_dir(store.root()) else {
        return Vec::new();
    };
    let mut folders: Vec<_> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            parse_repo_folder_name(&name).map(|(ty, repo)| (name, ty, repo))
        })
        .collect();
    folders.sort_by(|a, b| a.0.cmp(&b.0));
    let mut snapshots = Vec::new();
    for (folder, repo_type, repo) in folders {
        let repo_dir = store.root().join(folder);
        let refs = read_refs(&repo_dir.join("refs"));
        let Ok(commits) = fs_err::read_dir(repo_dir.join("snapshots")) else {
            continue;
        };
        let mut commits: Vec<String> = commits
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| is_commit_hash(name))
            .collect();
        commits.sort();
        for commit in commits {
            let (files, skipped) = snapshot_files(&repo_dir.join("snapshots").join(&commit));
            snapshots.push(CachedSnapshot {
                repo_type,
                repo: repo.clone(),
                refs: refs
                    .iter()
                    .filter(|(_, target)| **target == commit)
                    .map(|(name, _)| name.clone())
                    .collect(),
                commit,
                files,
                skipped,
            });
        }
    }
    snapshots
}

/// `refs/<name>` files (names may contain `/`: revision `refs/pr/1` is the file
/// `refs/refs/pr/1`, hub-protocol §6.2) → the commit they hold.
fn read_refs(dir: &Path) -> BTreeMap<String, String> {
    list_entries(dir, std::fs::FileType::is_file)
        .into_iter()
        .filter_map(|name| {
            let commit = super::fsops::read_ref(&dir_file(dir, &name))?;
            is_commit_hash(&commit).then_some((name, commit))
        })
        .collect()
}

/// The adoptable files of one snapshot directory.
fn snapshot_files(dir: &Path) -> (Vec<LockedFile>, Vec<(String, &'static str)>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in list_entries(dir, |kind| !kind.is_dir()) {
        let link = dir_file(dir, &path);
        if link
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            match adopt_link(&link) {
                Ok((hash, size)) => files.push(LockedFile {
                    path,
                    size,
                    hash,
                    xet_hash: None,
                }),
                Err(reason) => skipped.push((path, reason)),
            }
        } else {
            skipped.push((
                path,
                "a copy, not a link to a blob (HF_HUB_DISABLE_SYMLINKS?): its hash is unknown",
            ));
        }
    }
    (files, skipped)
}

/// The content hash (the blob's name) and size behind a snapshot link.
fn adopt_link(link: &Path) -> Result<(ContentHash, u64), &'static str> {
    let target = fs_err::read_link(link).map_err(|_| "unreadable link")?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hash = match name.len() {
        64 => ContentHash::sha256(&name),
        40 => ContentHash::git_sha1(&name),
        _ => Err(String::new()),
    }
    .map_err(|_| "the link does not point to a blob named by its hash")?;
    let metadata = fs_err::metadata(link).map_err(|_| "its blob is missing")?;
    Ok((hash, metadata.len()))
}
