//! `init`: a commented models.toml; with `from_cache`, one that adopts what the Hugging Face
//! cache already holds, with its models.lock, without a request.

use std::path::PathBuf;

use serde::Serialize;

use super::Project;
use crate::error::{Error, Result};
use crate::fsutil::write_file_atomic;
use crate::lock::{LockedModel, Lockfile};
use crate::manifest::{self, ModelSpec, edit};
use crate::repo::RepoId;
use crate::store::inventory::{CachedSnapshot, inventory};

/// How to start a project.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Adopt the snapshots the store already holds, writing models.lock too (`--from-cache`).
    pub from_cache: bool,
}

/// What `init` created.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The manifest created.
    pub created: PathBuf,
    /// What was adopted from the cache, with `from_cache`.
    #[serde(flatten)]
    pub from_cache: Option<Adoption>,
}

/// What `init --from-cache` adopted and left out.
#[derive(Debug, Clone, Serialize)]
pub struct Adoption {
    /// The lockfile written.
    pub lock: PathBuf,
    /// One entry per adopted snapshot.
    pub adopted: Vec<AdoptedSnapshot>,
    /// Snapshots not adopted.
    pub left_out: Vec<LeftOutSnapshot>,
}

/// A snapshot that became an entry (and a pin).
#[derive(Debug, Clone, Serialize)]
pub struct AdoptedSnapshot {
    /// The entry's name.
    pub name: String,
    /// Its repo.
    pub repo: RepoId,
    /// `model`, `dataset` or `space`.
    pub repo_type: &'static str,
    /// The snapshot's commit.
    pub commit: String,
    /// Files adopted.
    pub files: usize,
    /// Files of the snapshot that could not be adopted, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Bytes of the files adopted.
    #[serde(skip)]
    pub bytes: u64,
}

/// A file of an adopted snapshot that was left out.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    /// Its path in the repo.
    pub path: String,
    /// Why it was left out.
    pub reason: &'static str,
}

/// A snapshot that was not adopted.
#[derive(Debug, Clone, Serialize)]
pub struct LeftOutSnapshot {
    /// Its repo.
    pub repo: RepoId,
    /// `model`, `dataset` or `space`.
    pub repo_type: &'static str,
    /// The snapshot's commit.
    pub commit: String,
    /// No file of it is complete (otherwise: an older snapshot no ref points to).
    #[serde(skip)]
    pub incomplete: bool,
}

impl Project {
    /// Creates models.toml ([`Error::AlreadyExists`] if there is one); with `from_cache`, one
    /// that adopts the store's snapshots, and its models.lock ([`Error::NothingCached`] when
    /// there is nothing to adopt).
    pub fn init(&self, options: &InitOptions) -> Result<InitReport> {
        let path = self.manifest_path();
        if path.exists() {
            return Err(Error::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        if options.from_cache {
            return self.init_from_cache();
        }
        write_file_atomic(path, edit::init_template().as_bytes()).map_err(Error::io(path))?;
        Ok(InitReport {
            created: path.to_path_buf(),
            from_cache: None,
        })
    }

    /// One entry per snapshot a ref points to (`main` preferred as the revision); in a repo
    /// with no refs at all, one entry per snapshot, pinned to its commit. Snapshots no ref
    /// points to in a repo that has refs are older downloads: they are reported, not adopted.
    fn init_from_cache(&self) -> Result<InitReport> {
        let manifest_path = self.manifest_path();
        let snapshots = inventory(&self.store());
        let mut text = edit::init_template();
        let mut names: Vec<String> = Vec::new();
        let mut adopted: Vec<(String, &CachedSnapshot)> = Vec::new();
        let mut left_out = Vec::new();
        let repos_with_refs: std::collections::BTreeSet<_> = snapshots
            .iter()
            .filter(|s| !s.refs.is_empty())
            .map(|s| (s.repo_type, &s.repo))
            .collect();
        for snapshot in &snapshots {
            let repo_has_refs = repos_with_refs.contains(&(snapshot.repo_type, &snapshot.repo));
            if snapshot.files.is_empty() || (repo_has_refs && snapshot.refs.is_empty()) {
                left_out.push(snapshot);
                continue;
            }
            let revision = if snapshot.refs.iter().any(|r| r == "main") {
                "main".to_owned()
            } else {
                snapshot
                    .refs
                    .first()
                    .cloned()
                    .unwrap_or_else(|| snapshot.commit.clone())
            };
            let existing: Vec<&str> = names.iter().map(String::as_str).collect();
            let spec = ModelSpec {
                name: edit::derive_name(&snapshot.repo, &existing),
                repo: snapshot.repo.clone(),
                repo_type: snapshot.repo_type,
                revision,
                // The files the cache holds, and only those: resolving this entry against the
                // Hub later selects the same set.
                include: snapshot
                    .files
                    .iter()
                    .map(|f| escape_pattern(&f.path))
                    .collect(),
                exclude: Vec::new(),
                dir: None,
                exclude_newer: None,
                cooldown: None,
                exceptions: crate::manifest::policy::Exceptions::default(),
            };
            text = edit::add_model(&text, &spec).map_err(|e| Error::Usage {
                message: e.to_string(),
                help: "report this as a bug in hfdl".to_owned(),
            })?;
            names.push(spec.name.clone());
            adopted.push((spec.name, snapshot));
        }
        if adopted.is_empty() {
            return Err(Error::NothingCached {
                store: self.settings().store.clone(),
            });
        }
        // Fingerprints come from the manifest as it will be read back.
        let manifest = manifest::parse(manifest_path, &text)?;
        let mut lock = Lockfile::default();
        for (name, snapshot) in &adopted {
            let spec = &manifest.models[name];
            lock.models.push(LockedModel {
                name: name.clone(),
                repo: snapshot.repo.clone(),
                repo_type: snapshot.repo_type,
                revision: spec.revision.clone(),
                commit: snapshot.commit.clone(),
                requirement: spec.requirement(),
                files: snapshot.files.clone(),
                // Adopted without a request: the next `hfdl lock` records it.
                metadata: None,
            });
        }
        lock.sort();
        write_file_atomic(manifest_path, text.as_bytes()).map_err(Error::io(manifest_path))?;
        self.write_lock(&lock)?;

        let adopted = adopted
            .into_iter()
            .map(|(name, s)| AdoptedSnapshot {
                name,
                repo: s.repo.clone(),
                repo_type: s.repo_type.as_str(),
                commit: s.commit.clone(),
                files: s.files.len(),
                skipped: s
                    .skipped
                    .iter()
                    .map(|(path, reason)| SkippedFile {
                        path: path.clone(),
                        reason,
                    })
                    .collect(),
                bytes: s.files.iter().map(|f| f.size).sum(),
            })
            .collect();
        let left_out = left_out
            .into_iter()
            .map(|s| LeftOutSnapshot {
                repo: s.repo.clone(),
                repo_type: s.repo_type.as_str(),
                commit: s.commit.clone(),
                incomplete: s.files.is_empty(),
            })
            .collect();
        Ok(InitReport {
            created: manifest_path.to_path_buf(),
            from_cache: Some(Adoption {
                lock: self.lock_path().to_path_buf(),
                adopted,
                left_out,
            }),
        })
    }
}

/// A pattern that matches exactly `path` under fnmatch (hub-protocol §8.4): the special
/// characters become one-character classes.
fn escape_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_pattern;
    use crate::pattern::PathFilter;

    #[test]
    fn escaped_paths_match_only_themselves() {
        for path in ["config.json", "a[1]/b*.bin", "what?.txt"] {
            let filter = PathFilter::new(&[escape_pattern(path)], &[]).unwrap();
            assert!(filter.matches(path), "{path}");
        }
        let filter = PathFilter::new(&[escape_pattern("b*.bin")], &[]).unwrap();
        assert!(!filter.matches("bx.bin"));
    }
}
