//! Lockfile + StoreState → Plan: a pure function that decides every step of a sync, with a
//! reason and a size for each, so `--dry-run` can print exactly what `execute` would do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::download::BlobFetch;
use crate::lock::Lockfile;
use crate::store::scan::dir_file;
use crate::store::{BlobState, LinkState, RepoRef, Store, StoreState, relative_blob_target};

/// What to do with one blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum BlobAction {
    /// Fetch from the Hub; `resume_from` bytes of a partial download are reused.
    Download {
        /// Bytes of the `.incomplete` file kept (0 for a fresh start).
        resume_from: u64,
    },
    /// The blob is in the cache but hfdl has not verified it: hash it and adopt it.
    Verify,
    /// The blob has the wrong size: delete it and fetch it again.
    Replace {
        /// The size of the blob on disk, in bytes.
        actual_size: u64,
    },
    /// The same content is verified in another repo of the store: link or copy it.
    Copy {
        /// The verified blob of the other repo.
        from: PathBuf,
    },
}

impl BlobAction {
    /// The action's name, as `--dry-run --json` spells it (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            BlobAction::Download { .. } => "download",
            BlobAction::Verify => "verify",
            BlobAction::Replace { .. } => "replace",
            BlobAction::Copy { .. } => "copy",
        }
    }
}

/// One blob step.
#[derive(Debug, Clone, Serialize)]
pub struct BlobStep {
    /// What to do.
    #[serde(flatten)]
    pub action: BlobAction,
    /// The entries whose files need this blob.
    pub models: Vec<String>,
    /// The repo path of the first locked file that needs it.
    pub path: String,
    /// The blob's size in bytes.
    pub size: u64,
    /// The locked digest, as `sha256:…` or `git-sha1:…`.
    pub hash: String,
    /// The blob's path in the store (`…/blobs/<hash>`).
    pub blob: PathBuf,
    /// What the downloader needs to fetch it (not serialised).
    #[serde(skip)]
    pub fetch: BlobFetch,
}

/// A snapshot symlink to create or repair.
#[derive(Debug, Clone, Serialize)]
pub struct LinkStep {
    /// The entry whose file it is.
    pub model: String,
    /// The file's path in the repo.
    pub path: String,
    /// The symlink, `snapshots/<commit>/<path>`.
    pub link: PathBuf,
    /// Its relative target, `../../blobs/<hash>` (one `..` more per directory in `path`).
    pub target: PathBuf,
    /// Why: `"missing"` or `"points elsewhere"`.
    pub reason: &'static str,
    /// The blob it points to (the link is made only once the blob is in place).
    #[serde(skip)]
    pub blob: PathBuf,
}

/// A `refs/<revision>` file to write.
#[derive(Debug, Clone, Serialize)]
pub struct RefStep {
    /// The entry that locks the revision.
    pub model: String,
    /// The branch, tag or `refs/pr/N`.
    pub revision: String,
    /// The 40-hex commit the ref will hold.
    pub commit: String,
    /// The ref file, `refs/<revision>`.
    pub ref_path: PathBuf,
    /// The commit's snapshot directory, created before the ref is written.
    pub snapshot_dir: PathBuf,
}

/// A snapshot link that no locked entry wants any more.
#[derive(Debug, Clone, Serialize)]
pub struct PruneStep {
    /// The link's path in the repo.
    pub path: String,
    /// The symlink to remove.
    pub link: PathBuf,
    /// Its snapshot directory (empty parents are removed up to it).
    pub snapshot_dir: PathBuf,
}

/// A plain-directory file (`dir = "…"`) to materialise from its blob.
#[derive(Debug, Clone, Serialize)]
pub struct DirStep {
    /// The entry whose directory it is.
    pub model: String,
    /// The file's path in the repo.
    pub path: String,
    /// The file to write in the plain directory.
    pub dest: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The blob it is copied from (not serialised).
    #[serde(skip)]
    pub blob: PathBuf,
    /// The locked digest as lowercase hex, recorded in the stat cache (not serialised).
    #[serde(skip)]
    pub hash: String,
}

/// A file of an earlier pin to delete from a plain directory.
#[derive(Debug, Clone, Serialize)]
pub struct DirPruneStep {
    /// The entry whose directory it is.
    pub model: String,
    /// `/`-separated, relative to the directory.
    pub path: String,
    /// The file to delete.
    pub file: PathBuf,
    /// The plain directory (empty parents are removed up to it).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Everything a sync will do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Blobs to download, verify, replace or copy, one step per blob.
    pub blobs: Vec<BlobStep>,
    /// Snapshot links to create or repair.
    pub links: Vec<LinkStep>,
    /// Ref files to write.
    pub refs: Vec<RefStep>,
    /// Snapshot links to remove (empty unless pruning).
    pub prunes: Vec<PruneStep>,
    /// Plain-directory files to write.
    pub dir_files: Vec<DirStep>,
    /// Plain-directory files of earlier pins to delete (empty unless pruning).
    pub dir_prunes: Vec<DirPruneStep>,
    /// Locked files in all entries.
    pub files_total: usize,
    /// Locked files whose blob and link are already correct.
    pub files_ready: usize,
}

impl Plan {
    /// Nothing to do: the store already matches the lock.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
            && self.links.is_empty()
            && self.refs.is_empty()
            && self.prunes.is_empty()
            && self.dir_files.is_empty()
            && self.dir_prunes.is_empty()
    }

    /// Bytes still to fetch from the network (partials and copies excluded).
    pub fn download_bytes(&self) -> u64 {
        self.blobs
            .iter()
            .map(|step| match step.action {
                BlobAction::Download { resume_from } => step.size - resume_from.min(step.size),
                BlobAction::Replace { .. } => step.size,
                BlobAction::Verify | BlobAction::Copy { .. } => 0,
            })
            .sum()
    }

    /// Bytes the plan will add to the store's disk: downloads (minus what partial files already
    /// hold) and copies between repos.
    pub fn disk_bytes(&self) -> u64 {
        self.download_bytes()
            + self
                .blobs
                .iter()
                .filter(|step| matches!(step.action, BlobAction::Copy { .. }))
                .map(|step| step.size)
                .sum::<u64>()
    }

    /// Blobs that will be fetched from the network.
    pub fn download_count(&self) -> usize {
        self.blobs
            .iter()
            .filter(|s| {
                matches!(
                    s.action,
                    BlobAction::Download { .. } | BlobAction::Replace { .. }
                )
            })
            .count()
    }

    /// Whether any step needs the network.
    pub fn needs_network(&self) -> bool {
        self.download_count() > 0
    }
}

/// Options of [`plan`].
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Remove snapshot links that no entry wants (`--no-prune` turns it off).
    pub prune: bool,
    /// Plain directories by entry name.
    pub dirs: BTreeMap<String, PathBuf>,
}

/// Decides the steps that make `store` match `lock`, given what the scan found.
pub fn plan(store: &Store, lock: &Lockfile, state: &StoreState, options: &PlanOptions) -> Plan {
    let mut plan = Plan::default();
    let mut blob_steps: BTreeMap<PathBuf, usize> = BTreeMap::new();
    // Verified blobs by content hash, to copy instead of download across repos.
    let verified_by_hash: BTreeMap<&str, &PathBuf> = lock
        .models
        .iter()
        .flat_map(|model| {
            model.files.iter().filter_map(move |file| {
                let blob = store.blob_path(
                    RepoRef {
                        repo_type: model.repo_type,
                        repo: &model.repo,
                    },
                    &file.hash,
                );
                (state.blobs.get(&blob) == Some(&BlobState::Verified)).then(|| {
                    (
                        file.hash.hex(),
                        state.blobs.get_key_value(&blob).map(|(k, _)| k),
                    )
                })
            })
        })
        .filter_map(|(hash, path)| Some((hash, path?)))
        .collect();
    // Files each snapshot directory should contain, over all entries sharing it.
    let mut wanted: BTreeMap<PathBuf, BTreeSet<&str>> = BTreeMap::new();
    let mut refs_seen = BTreeSet::new();
    let mut links_seen = BTreeSet::new();

    for model in &lock.models {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        let snapshot_dir = store.snapshot_dir(repo, &model.commit);
        let wanted_here = wanted.entry(snapshot_dir.clone()).or_default();
        for file in &model.files {
            plan.files_total += 1;
            wanted_here.insert(file.path.as_str());
            let blob = store.blob_path(repo, &file.hash);
            let blob_state = state
                .blobs
                .get(&blob)
                .copied()
                .unwrap_or(BlobState::Missing { partial: 0 });
            let action = match blob_state {
                BlobState::Verified => None,
                BlobState::Unverified => Some(BlobAction::Verify),
                BlobState::WrongSize { actual } => Some(BlobAction::Replace {
                    actual_size: actual,
                }),
                BlobState::Missing { partial } => match verified_by_hash.get(file.hash.hex()) {
                    Some(from) => Some(BlobAction::Copy {
                        from: (*from).clone(),
                    }),
                    None => Some(BlobAction::Download {
                        resume_from: partial.min(file.size),
                    }),
                },
            };
            if let Some(action) = action {
                if let Some(&index) = blob_steps.get(&blob) {
                    let step: &mut BlobStep = &mut plan.blobs[index];
                    if !step.models.contains(&model.name) {
                        step.models.push(model.name.clone());
                    }
                } else {
                    blob_steps.insert(blob.clone(), plan.blobs.len());
                    plan.blobs.push(BlobStep {
                        action,
                        models: vec![model.name.clone()],
                        path: file.path.clone(),
                        size: file.size,
                        hash: file.hash.to_string(),
                        blob: blob.clone(),
                        fetch: BlobFetch {
                            repo_type: model.repo_type,
                            repo: model.repo.clone(),
                            commit: model.commit.clone(),
                            path: file.path.clone(),
                            hash: file.hash.clone(),
                            size: file.size,
                            blob: blob.clone(),
                            incomplete: store.incomplete_path(repo, &file.hash),
                            lock: store.lock_path(repo, &file.hash),
                            xet_hash: file.xet_hash,
                        },
                    });
                }
            }
            let link = store.snapshot_file(repo, &model.commit, &file.path);
            let link_state = state
                .links
                .get(&link)
                .copied()
                .unwrap_or(LinkState::Missing);
            if link_state != LinkState::Correct && links_seen.insert(link.clone()) {
                plan.links.push(LinkStep {
                    model: model.name.clone(),
                    path: file.path.clone(),
                    target: relative_blob_target(&file.path, &file.hash),
                    link,
                    reason: if link_state == LinkState::Missing {
                        "missing"
                    } else {
                        "points elsewhere"
                    },
                    blob: blob.clone(),
                });
            } else if link_state == LinkState::Correct && blob_state == BlobState::Verified {
                plan.files_ready += 1;
            }
            if let Some(dir) = options.dirs.get(&model.name) {
                let dest = dir_file(dir, &file.path);
                if state.dir_files.get(&dest) != Some(&true) {
                    plan.dir_files.push(DirStep {
                        model: model.name.clone(),
                        path: file.path.clone(),
                        dest,
                        size: file.size,
                        blob: blob.clone(),
                        hash: file.hash.hex().to_owned(),
                    });
                }
            }
        }
        if model.revision != model.commit {
            let ref_path = store.ref_path(repo, &model.revision);
            let current = state.refs.get(&ref_path).cloned().flatten();
            if current.as_deref() != Some(model.commit.as_str())
                && refs_seen.insert(ref_path.clone())
            {
                plan.refs.push(RefStep {
                    model: model.name.clone(),
                    revision: model.revision.clone(),
                    commit: model.commit.clone(),
                    ref_path,
                    snapshot_dir: snapshot_dir.clone(),
                });
            }
        }
    }

    if options.prune {
        plan.dir_prunes = state
            .dir_leftovers
            .iter()
            .map(|leftover| DirPruneStep {
                model: leftover.model.clone(),
                path: leftover.path.clone(),
                file: leftover.file.clone(),
                dir: leftover.dir.clone(),
            })
            .collect();
        for (snapshot_dir, present) in &state.snapshot_links {
            let keep = wanted.get(snapshot_dir);
            for path in present {
                if keep.is_none_or(|keep| !keep.contains(path.as_str())) {
                    plan.prunes.push(PruneStep {
                        path: path.clone(),
                        link: dir_file(snapshot_dir, path),
                        snapshot_dir: snapshot_dir.clone(),
                    });
                }
            }
        }
    }
    plan
}
