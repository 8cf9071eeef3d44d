//! Paths of the Hugging Face cache layout (hub-protocol §6): one function per kind of entry.

use std::path::{Path, PathBuf};

use crate::hash::ContentHash;
use crate::repo::{RepoId, RepoType};

/// A store rooted at a Hugging Face hub cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

/// A repository inside the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoRef<'a> {
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// The repo id (`org/name`).
    pub repo: &'a RepoId,
}

impl Store {
    /// The store rooted at `root` (nothing is created or checked).
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// The cache directory the store is rooted at.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `models--org--name`: the folder name of a repo (the id as requested).
    pub fn repo_folder_name(repo: RepoRef<'_>) -> String {
        format!(
            "{}--{}",
            repo.repo_type.api_plural(),
            repo.repo.as_str().replace('/', "--")
        )
    }

    /// `<root>/models--org--name`: the repo's folder.
    pub fn repo_dir(&self, repo: RepoRef<'_>) -> PathBuf {
        self.root.join(Self::repo_folder_name(repo))
    }

    /// `blobs/`: the repo's content-addressed files.
    pub fn blobs_dir(&self, repo: RepoRef<'_>) -> PathBuf {
        self.repo_dir(repo).join("blobs")
    }

    /// `blobs/<hex>`: the verified content.
    pub fn blob_path(&self, repo: RepoRef<'_>, hash: &ContentHash) -> PathBuf {
        self.blobs_dir(repo).join(hash.hex())
    }

    /// `blobs/<hex>.incomplete`: a resumable partial download, keyed by content hash (the name
    /// `huggingface_hub` 0.36 also resumes from).
    pub fn incomplete_path(&self, repo: RepoRef<'_>, hash: &ContentHash) -> PathBuf {
        self.blobs_dir(repo)
            .join(format!("{}.incomplete", hash.hex()))
    }

    /// `snapshots/<commit>`: the commit's files, as links into `blobs/`.
    pub fn snapshot_dir(&self, repo: RepoRef<'_>, commit: &str) -> PathBuf {
        self.repo_dir(repo).join("snapshots").join(commit)
    }

    /// `snapshots/<commit>/<path>`; `path` must have passed [`crate::fsutil::check_repo_path`].
    pub fn snapshot_file(&self, repo: RepoRef<'_>, commit: &str, path: &str) -> PathBuf {
        let mut file = self.snapshot_dir(repo, commit);
        file.extend(path.split('/'));
        file
    }

    /// `refs/<revision>`, nested for revisions with `/` (`refs/refs/pr/1`).
    pub fn ref_path(&self, repo: RepoRef<'_>, revision: &str) -> PathBuf {
        let mut file = self.repo_dir(repo).join("refs");
        file.extend(revision.split('/'));
        file
    }

    /// `.locks/<repo folder>/<hex>.lock`: the lock `huggingface_hub` takes for the same blob.
    pub fn lock_path(&self, repo: RepoRef<'_>, hash: &ContentHash) -> PathBuf {
        self.root
            .join(".locks")
            .join(Self::repo_folder_name(repo))
            .join(format!("{}.lock", hash.hex()))
    }
}

/// The file every `hfdl` process locks for the whole store: `sync` shared (any number at once),
/// `gc` exclusive, so garbage collection never runs while a sync relies on what it scanned.
/// It lives in `.locks/`, which `huggingface_hub` uses for its own lock files and its cache scan
/// skips (hub-protocol §6.3 rule 4, §6.7), and sits beside, not inside, the per-repo folders.
pub const STORE_LOCK_FILE: &str = "hfdl-store.lock";

impl Store {
    /// `.locks/`: the lock files of `huggingface_hub` and hfdl, which the cache scan skips; also
    /// where `hfdl import` stages a bundle's blobs, on the blobs' file system.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join(".locks")
    }

    /// `.locks/hfdl-store.lock`: see [`STORE_LOCK_FILE`].
    pub fn store_lock_path(&self) -> PathBuf {
        self.locks_dir().join(STORE_LOCK_FILE)
    }
}

/// `models--org--name` → the repo's type and id; `None` for anything that is not a repo folder
/// (`.locks`, `CACHEDIR.TAG`, the shared Xet `blobs/` store, stray files).
pub fn parse_repo_folder_name(name: &str) -> Option<(RepoType, RepoId)> {
    let (plural, rest) = name.split_once("--")?;
    let repo_type = RepoType::ALL
        .into_iter()
        .find(|t| t.api_plural() == plural)?;
    let id = RepoId::parse(&rest.replace("--", "/")).ok()?;
    Some((repo_type, id))
}

/// The relative symlink target from `snapshots/<commit>/<path>` to `blobs/<hex>`:
/// `../../blobs/x` at the top level, one more `../` per sub-directory.
pub fn relative_blob_target(path: &str, hash: &ContentHash) -> PathBuf {
    let depth = path.split('/').count() - 1;
    let mut target = PathBuf::new();
    for _ in 0..depth + 2 {
        target.push("..");
    }
    target.push("blobs");
    target.push(hash.hex());
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_huggingface_cache() {
        let store = Store::new("/c");
        let id = RepoId::parse("org/name").unwrap();
        let repo = RepoRef {
            repo_type: RepoType::Dataset,
            repo: &id,
        };
        let hash = ContentHash::git_sha1(&"a".repeat(40)).unwrap();
        assert_eq!(
            store.repo_dir(repo),
            PathBuf::from("/c/datasets--org--name")
        );
        assert_eq!(
            store.ref_path(repo, "refs/pr/1"),
            PathBuf::from("/c/datasets--org--name/refs/refs/pr/1")
        );
        assert_eq!(
            store.snapshot_file(repo, "abc", "a/b.json"),
            PathBuf::from("/c/datasets--org--name/snapshots/abc/a/b.json")
        );
        assert_eq!(
            store.lock_path(repo, &hash),
            PathBuf::from(format!(
                "/c/.locks/datasets--org--name/{}.lock",
                "a".repeat(40)
            ))
        );
        assert_eq!(
            relative_blob_target("x.json", &hash),
            PathBuf::from(format!("../../blobs/{}", "a".repeat(40)))
        );
        assert_eq!(
            relative_blob_target("a/b/x.json", &hash),
            PathBuf::from(format!("../../../../blobs/{}", "a".repeat(40)))
        );
    }

    #[test]
    fn repo_folders_parse_back_to_type_and_id() {
        assert_eq!(
            parse_repo_folder_name("models--acme--tiny"),
            Some((RepoType::Model, RepoId::parse("acme/tiny").unwrap()))
        );
        assert_eq!(
            parse_repo_folder_name("datasets--squad"),
            Some((RepoType::Dataset, RepoId::parse("squad").unwrap()))
        );
        assert_eq!(parse_repo_folder_name(".locks"), None);
        assert_eq!(parse_repo_folder_name("version.txt"), None);
        assert_eq!(parse_repo_folder_name("models--a--b--c"), None);
    }
}
