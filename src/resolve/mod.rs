//! Manifest + Hub → Resolution: the locked commit and file list of every entry.
//!
//! Entries whose `requirement` still matches the previous lock keep their pin without a single
//! request (like cargo and uv); only new, changed or upgraded entries are resolved. The Hub is
//! passed in as a value ([`HubApi`]), so resolution is testable without a network.

use std::collections::BTreeSet;

use futures_util::StreamExt;

use crate::hash::ContentHash;
use crate::hub::types::{Refs, TreeEntry};
use crate::hub::{HubClient, HubError};
use crate::lock::{LockedFile, LockedModel, Lockfile};
use crate::manifest::{Manifest, ModelSpec};
use crate::repo::{RepoId, RepoType, is_commit_hash};
use crate::report::{Event, Reporter};
use crate::store::check_repo_path;

pub mod cooldown;
pub mod filter;

use filter::PathFilter;

/// What resolution needs from the Hub.
#[allow(async_fn_in_trait)] // Used with concrete types only; no Send bound needed.
pub trait HubApi {
    /// The commit a revision points to now.
    async fn commit_of(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<String, HubError>;
    /// Every file at `commit`.
    async fn files_at(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
    ) -> Result<Vec<TreeEntry>, HubError>;
    /// Branches and tags (for "did you mean" help).
    async fn refs(&self, repo_type: RepoType, repo: &RepoId) -> Result<Refs, HubError>;
}

impl HubApi for HubClient {
    async fn commit_of(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<String, HubError> {
        let info = self.revision_info(repo_type, repo, revision).await?;
        info.sha
            .filter(|sha| is_commit_hash(sha))
            .ok_or_else(|| HubError::Protocol {
                url: self.endpoint().to_owned(),
                message: format!("the revision info of `{repo}@{revision}` has no commit `sha`"),
            })
    }

    async fn files_at(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
    ) -> Result<Vec<TreeEntry>, HubError> {
        self.list_files(repo_type, repo, commit).await
    }

    async fn refs(&self, repo_type: RepoType, repo: &RepoId) -> Result<Refs, HubError> {
        HubClient::refs(self, repo_type, repo).await
    }
}

/// Which pins may move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Upgrade {
    /// Keep every pin whose manifest entry is unchanged.
    #[default]
    None,
    /// Re-resolve everything.
    All,
    /// Re-resolve these entries.
    Models(BTreeSet<String>),
}

/// How one entry's pin changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    Added {
        name: String,
        commit: String,
    },
    Updated {
        name: String,
        from: String,
        to: String,
    },
    Unchanged {
        name: String,
        commit: String,
    },
    Removed {
        name: String,
    },
}

/// The new lock and what changed relative to the previous one.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub lock: Lockfile,
    pub changes: Vec<Change>,
    /// Entries resolved against the Hub (the others kept their pin).
    pub resolved: usize,
}

/// Why resolution failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ResolveError {
    #[error("cannot resolve `{name}` ({repo})")]
    Hub {
        name: String,
        repo: RepoId,
        #[source]
        #[diagnostic_source]
        source: HubError,
    },
    #[error("`{name}`: the Hub listed an unsafe file path: {reason}")]
    #[diagnostic(help(
        "the repository contains a path hfdl refuses to write; exclude it with `exclude`"
    ))]
    UnsafePath { name: String, reason: String },
    #[error("`{name}`: the Hub listed `{path}` with a malformed hash: {reason}")]
    BadHash {
        name: String,
        path: String,
        reason: String,
    },
}

impl ResolveError {
    pub fn error_code(&self) -> &'static str {
        match self {
            ResolveError::Hub { source, .. } => source.error_code(),
            ResolveError::UnsafePath { .. } | ResolveError::BadHash { .. } => "protocol-error",
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            ResolveError::Hub { source, .. } => source.exit_code(),
            _ => 3,
        }
    }
}

/// Resolves `manifest` into a lock, keeping the pins of `previous` that still apply.
pub async fn resolve(
    manifest: &Manifest,
    previous: Option<&Lockfile>,
    hub: &impl HubApi,
    upgrade: &Upgrade,
    reporter: &dyn Reporter,
) -> Result<Resolution, ResolveError> {
    let mut kept = Vec::new();
    let mut to_resolve = Vec::new();
    for spec in manifest.models.values() {
        let upgrading = match upgrade {
            Upgrade::None => false,
            Upgrade::All => true,
            Upgrade::Models(names) => names.contains(&spec.name),
        };
        let pinned = previous
            .and_then(|lock| lock.get(&spec.name))
            .filter(|locked| locked.requirement == spec.requirement() && !upgrading);
        match pinned {
            Some(locked) => kept.push(locked.clone()),
            None => to_resolve.push(spec),
        }
    }
    let resolved_count = to_resolve.len();
    let results: Vec<Result<LockedModel, ResolveError>> = futures_util::stream::iter(to_resolve)
        .map(|spec| resolve_one(spec, hub, reporter))
        .buffered(8)
        .collect()
        .await;
    let mut models = kept;
    for result in results {
        models.push(result?);
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    let lock = Lockfile { models };

    let mut changes = Vec::new();
    for model in &lock.models {
        let before = previous.and_then(|p| p.get(&model.name));
        changes.push(match before {
            None => Change::Added {
                name: model.name.clone(),
                commit: model.commit.clone(),
            },
            Some(old) if old.commit != model.commit => Change::Updated {
                name: model.name.clone(),
                from: old.commit.clone(),
                to: model.commit.clone(),
            },
            Some(_) => Change::Unchanged {
                name: model.name.clone(),
                commit: model.commit.clone(),
            },
        });
    }
    if let Some(previous) = previous {
        for old in &previous.models {
            if lock.get(&old.name).is_none() {
                changes.push(Change::Removed {
                    name: old.name.clone(),
                });
            }
        }
    }
    Ok(Resolution {
        lock,
        changes,
        resolved: resolved_count,
    })
}

async fn resolve_one(
    spec: &ModelSpec,
    hub: &impl HubApi,
    reporter: &dyn Reporter,
) -> Result<LockedModel, ResolveError> {
    let hub_error = |source| ResolveError::Hub {
        name: spec.name.clone(),
        repo: spec.repo.clone(),
        source,
    };
    reporter.report(Event::Resolving {
        name: spec.name.clone(),
        repo: spec.repo.to_string(),
        revision: spec.revision.clone(),
    });
    let commit = if is_commit_hash(&spec.revision) {
        spec.revision.clone()
    } else {
        match hub
            .commit_of(spec.repo_type, &spec.repo, &spec.revision)
            .await
        {
            Ok(commit) => commit,
            Err(HubError::RevisionNotFound { repo, revision, .. }) => {
                let help = revision_help(hub, spec).await;
                return Err(hub_error(HubError::RevisionNotFound {
                    repo,
                    revision,
                    help,
                }));
            }
            Err(error) => return Err(hub_error(error)),
        }
    };
    let entries = hub
        .files_at(spec.repo_type, &spec.repo, &commit)
        .await
        .map_err(hub_error)?;
    let filter =
        PathFilter::new(&spec.include, &spec.exclude).map_err(|e| ResolveError::UnsafePath {
            name: spec.name.clone(),
            reason: e.to_string(),
        })?;
    let mut files = Vec::new();
    for entry in entries {
        if !filter.matches(&entry.path) {
            continue;
        }
        check_repo_path(&entry.path).map_err(|reason| ResolveError::UnsafePath {
            name: spec.name.clone(),
            reason,
        })?;
        let bad_hash = |reason| ResolveError::BadHash {
            name: spec.name.clone(),
            path: entry.path.clone(),
            reason,
        };
        let (hash, size) = match &entry.lfs {
            Some(lfs) => (ContentHash::sha256(&lfs.oid).map_err(bad_hash)?, lfs.size),
            None => (
                ContentHash::git_sha1(&entry.oid).map_err(bad_hash)?,
                entry.size,
            ),
        };
        files.push(LockedFile {
            path: entry.path,
            size,
            hash,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    if files.is_empty() {
        reporter.report(Event::Warning {
            message: format!(
                "`{}`: no file of {}@{} matches the include/exclude patterns",
                spec.name,
                spec.repo,
                &commit[..12]
            ),
        });
    }
    let bytes = files.iter().map(|f| f.size).sum();
    reporter.report(Event::Resolved {
        name: spec.name.clone(),
        commit: commit.clone(),
        files: files.len(),
        bytes,
    });
    Ok(LockedModel {
        name: spec.name.clone(),
        repo: spec.repo.clone(),
        repo_type: spec.repo_type,
        revision: spec.revision.clone(),
        commit,
        requirement: spec.requirement(),
        files,
    })
}

/// "Available branches: …" for a revision that does not exist.
async fn revision_help(hub: &impl HubApi, spec: &ModelSpec) -> String {
    match hub.refs(spec.repo_type, &spec.repo).await {
        Ok(refs) => {
            let branches: Vec<&str> = refs.branches.iter().map(|r| r.name.as_str()).collect();
            let tags: Vec<&str> = refs.tags.iter().map(|r| r.name.as_str()).collect();
            let mut help = format!(
                "branches of {}: {}",
                spec.repo,
                if branches.is_empty() {
                    "(none)".into()
                } else {
                    branches.join(", ")
                }
            );
            if !tags.is_empty() {
                help.push_str("; tags: ");
                help.push_str(&tags.join(", "));
            }
            help.push_str(
                "; set `revision` in models.toml to one of them, `refs/pr/N` or a full commit hash",
            );
            help
        }
        Err(_) => {
            "check the revision: it must be a branch, a tag, `refs/pr/N` or a full commit hash"
                .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::hub::types::{GitRef, LfsInfo};
    use crate::manifest::ManifestSettings;
    use crate::report::Silent;

    /// A Hub in memory that answers the tree listing in a given order.
    struct FakeHub {
        entries: Vec<TreeEntry>,
        calls: std::sync::Mutex<usize>,
    }

    impl HubApi for FakeHub {
        async fn commit_of(
            &self,
            _: RepoType,
            _: &RepoId,
            revision: &str,
        ) -> Result<String, HubError> {
            *self.calls.lock().unwrap() += 1;
            if revision == "main" {
                Ok("c".repeat(40))
            } else {
                Err(HubError::RevisionNotFound {
                    repo: RepoId::parse("a/b").unwrap(),
                    revision: revision.into(),
                    help: String::new(),
                })
            }
        }
        async fn files_at(
            &self,
            _: RepoType,
            _: &RepoId,
            _: &str,
        ) -> Result<Vec<TreeEntry>, HubError> {
            *self.calls.lock().unwrap() += 1;
            Ok(self.entries.clone())
        }
        async fn refs(&self, _: RepoType, _: &RepoId) -> Result<Refs, HubError> {
            Ok(Refs {
                branches: vec![GitRef {
                    name: "main".into(),
                    target_commit: "c".repeat(40),
                }],
                tags: vec![],
            })
        }
    }

    fn entry(path: &str, lfs: bool) -> TreeEntry {
        TreeEntry {
            kind: "file".into(),
            oid: format!("{:0>40}", path.len()),
            size: 10,
            path: path.into(),
            lfs: lfs.then(|| LfsInfo {
                oid: format!("{:0>64}", path.len()),
                size: 1000,
            }),
        }
    }

    fn manifest(revision: &str, include: &[&str]) -> Manifest {
        let spec = ModelSpec {
            name: "m".into(),
            repo: RepoId::parse("org/m").unwrap(),
            repo_type: RepoType::Model,
            revision: revision.into(),
            include: include.iter().map(|s| (*s).to_owned()).collect(),
            exclude: vec!["onnx/*".into()],
            dir: None,
            exclude_newer: None,
        };
        Manifest {
            path: PathBuf::from("models.toml"),
            models: BTreeMap::from([("m".into(), spec)]),
            settings: ManifestSettings::default(),
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn shuffled_tree_listings_produce_identical_lock_bytes() {
        let files = [
            "b.json",
            "a.json",
            "model.safetensors",
            "onnx/x.onnx",
            "sub/c.json",
        ];
        let mut encoded = Vec::new();
        for rotation in 0..files.len() {
            let mut order = files.to_vec();
            order.rotate_left(rotation);
            if rotation % 2 == 1 {
                order.reverse();
            }
            let hub = FakeHub {
                entries: order
                    .iter()
                    .map(|p| entry(p, p.ends_with(".safetensors")))
                    .collect(),
                calls: std::sync::Mutex::default(),
            };
            let resolution = block_on(resolve(
                &manifest("main", &[]),
                None,
                &hub,
                &Upgrade::None,
                &Silent,
            ))
            .unwrap();
            encoded.push(resolution.lock.encode());
        }
        assert!(encoded.windows(2).all(|w| w[0] == w[1]), "{encoded:#?}");
        assert!(encoded[0].contains("sha256 = \""), "LFS files carry sha256");
        assert!(!encoded[0].contains("onnx/"), "exclude applies");
    }

    #[test]
    fn unchanged_entries_keep_their_pin_without_a_request() {
        let hub = FakeHub {
            entries: vec![entry("a.json", false)],
            calls: std::sync::Mutex::default(),
        };
        let manifest = manifest("main", &["*.json"]);
        let first = block_on(resolve(&manifest, None, &hub, &Upgrade::None, &Silent)).unwrap();
        assert_eq!(*hub.calls.lock().unwrap(), 2);
        let second = block_on(resolve(
            &manifest,
            Some(&first.lock),
            &hub,
            &Upgrade::None,
            &Silent,
        ))
        .unwrap();
        assert_eq!(*hub.calls.lock().unwrap(), 2, "no request for a kept pin");
        assert_eq!(second.lock, first.lock);
        assert_eq!(second.resolved, 0);
        let third = block_on(resolve(
            &manifest,
            Some(&first.lock),
            &hub,
            &Upgrade::All,
            &Silent,
        ))
        .unwrap();
        assert_eq!(third.resolved, 1);
    }

    #[test]
    fn an_unknown_revision_lists_the_branches_in_its_help() {
        let hub = FakeHub {
            entries: vec![],
            calls: std::sync::Mutex::default(),
        };
        let error = block_on(resolve(
            &manifest("nope", &[]),
            None,
            &hub,
            &Upgrade::None,
            &Silent,
        ))
        .unwrap_err();
        let ResolveError::Hub {
            source: HubError::RevisionNotFound { help, .. },
            ..
        } = error
        else {
            panic!("{error:?}")
        };
        assert!(help.contains("branches of org/m: main"), "{help}");
    }
}
