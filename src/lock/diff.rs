//! What changes between two pins of one entry: files added, removed and changed, and the bytes
//! a sync of the new pin would fetch. Pure: `hfdl outdated` feeds it the locked model and a
//! fresh resolution.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{LockedFile, LockedModel};

/// One file in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path in the repository, `/`-separated.
    pub path: String,
    /// The size in the new pin (in the old one for removed files).
    pub size: u64,
}

/// The file-level difference between two pins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    /// Files only the new pin has, by path.
    pub added: Vec<FileChange>,
    /// Files only the old pin has, by path.
    pub removed: Vec<FileChange>,
    /// Files both pins have, with different content, by path.
    pub changed: Vec<FileChange>,
    /// Bytes of new content: added and changed files whose content the old pin does not
    /// already have (a renamed file costs nothing, its blob is in the store).
    pub download_bytes: u64,
}

impl FileDiff {
    /// No file was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares the files of `old` and `new`, by path.
pub fn diff(old: &LockedModel, new: &LockedModel) -> FileDiff {
    let before: BTreeMap<&str, &LockedFile> =
        old.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let after: BTreeMap<&str, &LockedFile> =
        new.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let known_content: BTreeSet<&str> = old.files.iter().map(|f| f.hash.hex()).collect();
    let mut diff = FileDiff::default();
    let mut fetched = BTreeSet::new();
    for (path, file) in &after {
        let change = FileChange {
            path: (*path).to_owned(),
            size: file.size,
        };
        match before.get(path) {
            Some(old_file) if old_file.hash == file.hash => continue,
            Some(_) => diff.changed.push(change),
            None => diff.added.push(change),
        }
        if !known_content.contains(file.hash.hex()) && fetched.insert(file.hash.hex()) {
            diff.download_bytes += file.size;
        }
    }
    for (path, file) in &before {
        if !after.contains_key(path) {
            diff.removed.push(FileChange {
                path: (*path).to_owned(),
                size: file.size,
            });
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ContentHash;
    use crate::repo::{RepoId, RepoType};

    fn file(path: &str, size: u64, digit: char) -> LockedFile {
        LockedFile {
            path: path.to_owned(),
            size,
            hash: ContentHash::git_sha1(&digit.to_string().repeat(40)).unwrap(),
            xet_hash: None,
        }
    }

    fn model(files: Vec<LockedFile>) -> LockedModel {
        LockedModel {
            name: "m".into(),
            repo: RepoId::parse("a/b").unwrap(),
            repo_type: RepoType::Model,
            revision: "main".into(),
            commit: "0".repeat(40),
            requirement: String::new(),
            files,
            metadata: None,
        }
    }

    #[test]
    fn added_removed_and_changed_files_and_the_bytes_to_fetch() {
        let old = model(vec![
            file("a", 1, '1'),
            file("b", 2, '2'),
            file("c", 3, '3'),
        ]);
        let new = model(vec![
            file("a", 1, '1'),
            file("b", 20, '4'),
            file("d", 5, '5'),
            // Same content as `c` under a new name: nothing to fetch.
            file("e", 3, '3'),
        ]);
        let diff = diff(&old, &new);
        let paths =
            |changes: &[FileChange]| changes.iter().map(|c| c.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&diff.added), ["d", "e"]);
        assert_eq!(paths(&diff.changed), ["b"]);
        assert_eq!(paths(&diff.removed), ["c"]);
        assert_eq!(diff.download_bytes, 25);
        assert!(!diff.is_empty());
    }

    #[test]
    fn identical_pins_have_an_empty_diff() {
        let old = model(vec![file("a", 1, '1')]);
        assert!(diff(&old, &old.clone()).is_empty());
    }
}
