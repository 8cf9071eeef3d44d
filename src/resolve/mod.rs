//! Manifest + Hub → Resolution: the locked commit and file list of every entry.
//!
//! Entries whose `requirement` still matches the previous lock keep their pin without a single
//! request (like cargo and uv); only new, changed or upgraded entries are resolved. The Hub is
//! passed in as a value ([`HubApi`]), and so is "now" (for `exclude-newer`, see [`cooldown`]),
//! so resolution is testable without a network or a clock.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use crate::fsutil::check_repo_path;
use crate::hash::ContentHash;
use crate::hub::types::{Refs, RepoDetails, TreeEntry};
use crate::hub::{HubClient, HubError};
use crate::lock::{LockedFile, LockedModel, Lockfile};
use crate::manifest::{Manifest, ModelSpec};
use crate::repo::{RepoId, RepoType, is_commit_hash, short_commit};
use crate::report::{Event, Reporter};

pub mod cooldown;
pub mod metadata;

use crate::manifest::cooldown::Timestamp;
use crate::pattern::PathFilter;
use cooldown::{DatedCommit, choose_commit};

/// A revision as the Hub describes it: the commit it points to, and what the Hub says about the
/// repo there (card metadata, gating, library, config).
#[derive(Debug, Clone)]
pub struct Revision {
    /// The 40-hex commit.
    pub commit: String,
    /// The repo info at that commit.
    pub details: RepoDetails,
}

/// What resolution needs from the Hub.
#[allow(async_fn_in_trait)] // Used with concrete types only; no Send bound needed.
pub trait HubApi {
    /// The commit a revision (a branch, tag, `refs/pr/N` or commit) points to now, with the
    /// repo info there.
    async fn revision(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<Revision, HubError>;
    /// Every file at `commit`.
    async fn files_at(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
    ) -> Result<Vec<TreeEntry>, HubError>;
    /// Branches and tags (for "did you mean" help).
    async fn refs(&self, repo_type: RepoType, repo: &RepoId) -> Result<Refs, HubError>;
    /// The history of `revision`, newest first (its tip comes first). The listing may stop
    /// once it holds a commit dated at or before `cutoff`: older ones cannot be the newest
    /// commit old enough.
    async fn history(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
        cutoff: Timestamp,
    ) -> Result<Vec<DatedCommit>, HubError>;
    /// The content of a small file at `commit` (a config.json the repo info says nothing
    /// about): at most `max_bytes`.
    async fn small_file(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, HubError>;
}

impl HubApi for HubClient {
    async fn revision(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<Revision, HubError> {
        let details = self.revision_details(repo_type, repo, revision).await?;
        let commit = details
            .sha
            .clone()
            .filter(|sha| is_commit_hash(sha))
            .ok_or_else(|| HubError::Protocol {
                url: self.endpoint().to_owned(),
                message: format!("the revision info of `{repo}@{revision}` has no commit `sha`"),
            })?;
        Ok(Revision { commit, details })
    }

    async fn small_file(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, HubError> {
        self.read_small_file(repo_type, repo, commit, path, max_bytes)
            .await
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

    async fn history(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
        cutoff: Timestamp,
    ) -> Result<Vec<DatedCommit>, HubError> {
        let listed = self
            .list_commits(repo_type, repo, revision, |commits| {
                commits
                    .iter()
                    .any(|c| Timestamp::parse(&c.date).is_some_and(|date| date <= cutoff))
            })
            .await?;
        listed
            .into_iter()
            .map(|commit| match Timestamp::parse(&commit.date) {
                Some(date) if is_commit_hash(&commit.id) => Ok(DatedCommit {
                    id: commit.id,
                    date,
                }),
                _ => Err(HubError::Protocol {
                    url: self.endpoint().to_owned(),
                    message: format!(
                        "the history of `{repo}@{revision}` lists a commit `{}` dated `{}`",
                        commit.id, commit.date
                    ),
                }),
            })
            .collect()
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
    /// Re-resolve these entries; one with a revision is pinned to the commit that revision
    /// names (`--upgrade-model NAME@REV`, like `cargo update --precise`) without a cooldown.
    Models(BTreeMap<String, Option<String>>),
}

/// How one entry's pin changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// An entry the previous lock did not have.
    Added {
        /// The entry's name.
        name: String,
        /// The commit it is pinned to.
        commit: String,
        /// Why that commit.
        #[serde(flatten)]
        why: Why,
    },
    /// An entry whose pin moved to another commit.
    Updated {
        /// The entry's name.
        name: String,
        /// The commit it was pinned to.
        from: String,
        /// The commit it is pinned to now.
        to: String,
        /// Why that commit.
        #[serde(flatten)]
        why: Why,
    },
    /// An entry that kept its commit.
    Unchanged {
        /// The entry's name.
        name: String,
        /// The commit it is pinned to.
        commit: String,
        /// Why that commit.
        #[serde(flatten)]
        why: Why,
    },
    /// An entry the previous lock had and the manifest no longer has.
    Removed {
        /// The entry's name.
        name: String,
    },
}

impl Change {
    /// Why the entry resolved as it did (`None` for a removed entry).
    pub fn why(&self) -> Option<&Why> {
        match self {
            Change::Added { why, .. }
            | Change::Updated { why, .. }
            | Change::Unchanged { why, .. } => Some(why),
            Change::Removed { .. } => None,
        }
    }

    /// The entry's name.
    pub fn name(&self) -> &str {
        match self {
            Change::Added { name, .. }
            | Change::Updated { name, .. }
            | Change::Unchanged { name, .. }
            | Change::Removed { name } => name,
        }
    }
}

/// Why an entry resolved to the commit it did, when it is not simply its revision's tip.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Why {
    /// The cooldown kept an older commit than the revision's tip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<HeldBack>,
    /// Pinned with `--upgrade-model NAME@REV`: the REV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precise: Option<String>,
}

/// A newer commit that `exclude-newer` refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldBack {
    /// The branch or tag the entry tracks.
    pub revision: String,
    /// The commit it points to now.
    pub latest: String,
    /// The date of the commit locked instead.
    pub locked_date: Timestamp,
    /// The cooldown as written (`7 days`).
    pub exclude_newer: String,
    /// "newer than 7 days", for people.
    #[serde(skip)]
    pub reason: String,
}

/// The new lock and what changed relative to the previous one.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The new lock, models sorted by name.
    pub lock: Lockfile,
    /// One change per entry of the new lock, by name, then the removed entries.
    pub changes: Vec<Change>,
    /// Entries resolved against the Hub (the others kept their pin).
    pub resolved: usize,
}

/// Why resolution failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ResolveError {
    /// A Hub request for the entry failed.
    #[error("cannot resolve `{name}` ({repo})")]
    Hub {
        /// The entry's name.
        name: String,
        /// Its repository.
        repo: RepoId,
        /// What the Hub said.
        #[source]
        #[diagnostic_source]
        source: HubError,
    },
    /// The Hub listed a path hfdl refuses to write (absolute, `..`, and the like).
    #[error("`{name}`: the Hub listed an unsafe file path: {reason}")]
    #[diagnostic(help(
        "the repository contains a path hfdl refuses to write; exclude it with `exclude`"
    ))]
    UnsafePath {
        /// The entry's name.
        name: String,
        /// What is wrong with the path.
        reason: String,
    },
    /// The Hub listed a file whose `oid` (or LFS sha256) is not a valid digest.
    #[error("`{name}`: the Hub listed `{path}` with a malformed hash: {reason}")]
    BadHash {
        /// The entry's name.
        name: String,
        /// The file's path in the repo.
        path: String,
        /// What is wrong with the hash.
        reason: String,
    },
    /// `exclude-newer` leaves no commit of the revision to lock: every candidate is too recent.
    #[error(
        "`{name}`: no commit of {repo}@{revision} is old enough for exclude-newer = \"{exclude_newer}\""
    )]
    #[diagnostic(help(
        "its oldest commit is dated {oldest}; wait, shorten `exclude-newer`, or pin a commit you trust with `hfdl lock --upgrade-model {name}@REV`"
    ))]
    NothingOldEnough {
        /// The entry's name.
        name: String,
        /// Its repository.
        repo: RepoId,
        /// The branch or tag it tracks.
        revision: String,
        /// The cooldown as written (`7 days`).
        exclude_newer: String,
        /// The date of the oldest commit listed.
        oldest: Timestamp,
    },
}

impl ResolveError {
    /// The stable machine code used in `--json` output.
    pub fn error_code(&self) -> &'static str {
        match self {
            ResolveError::Hub { source, .. } => source.error_code(),
            ResolveError::UnsafePath { .. } | ResolveError::BadHash { .. } => "protocol-error",
            ResolveError::NothingOldEnough { .. } => "nothing-old-enough",
        }
    }

    /// The process exit code: the Hub error's own, 1 when nothing is old enough, 3 for a
    /// malformed listing.
    pub fn exit_code(&self) -> i32 {
        match self {
            ResolveError::Hub { source, .. } => source.exit_code(),
            ResolveError::NothingOldEnough { .. } => 1,
            _ => 3,
        }
    }
}

/// Resolves `manifest` into a lock, keeping the pins of `previous` that still apply.
///
/// `now` is the instant `exclude-newer` cooldowns count back from.
pub async fn resolve(
    manifest: &Manifest,
    previous: Option<&Lockfile>,
    hub: &impl HubApi,
    upgrade: &Upgrade,
    now: Timestamp,
    reporter: &dyn Reporter,
) -> Result<Resolution, ResolveError> {
    let mut kept = Vec::new();
    let mut to_resolve = Vec::new();
    for spec in manifest.models.values() {
        let (upgrading, precise) = match upgrade {
            Upgrade::None => (false, None),
            Upgrade::All => (true, None),
            Upgrade::Models(names) => match names.get(&spec.name) {
                Some(precise) => (true, precise.as_deref()),
                None => (false, None),
            },
        };
        let pinned = previous
            .and_then(|lock| lock.get(&spec.name))
            .filter(|locked| locked.requirement == spec.requirement() && !upgrading);
        match pinned {
            Some(locked) => kept.push(locked.clone()),
            None => to_resolve.push((spec, precise)),
        }
    }
    let resolved_count = to_resolve.len();
    let results: Vec<Result<(LockedModel, Why), ResolveError>> =
        futures_util::stream::iter(to_resolve)
            .map(|(spec, precise)| {
                // Every log line of this entry's resolution (its requests, retries) names it.
                let span = tracing::info_span!("model", name = %spec.name, repo = %spec.repo);
                tracing::Instrument::instrument(
                    resolve_one(spec, precise, hub, now, reporter),
                    span,
                )
            })
            .buffered(8)
            .collect()
            .await;
    // Pins kept from a lock of an older hfdl get their metadata now (the pin does not move).
    let mut models: Vec<LockedModel> = futures_util::stream::iter(kept)
        .map(|locked| backfill(locked, hub, reporter))
        .buffered(8)
        .collect()
        .await;
    let mut whys = BTreeMap::new();
    for result in results {
        let (model, why) = result?;
        whys.insert(model.name.clone(), why);
        models.push(model);
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    let lock = Lockfile { models };

    let mut changes = Vec::new();
    for model in &lock.models {
        let before = previous.and_then(|p| p.get(&model.name));
        let why = whys.remove(&model.name).unwrap_or_default();
        changes.push(match before {
            None => Change::Added {
                name: model.name.clone(),
                commit: model.commit.clone(),
                why,
            },
            Some(old) if old.commit != model.commit => Change::Updated {
                name: model.name.clone(),
                from: old.commit.clone(),
                to: model.commit.clone(),
                why,
            },
            Some(_) => Change::Unchanged {
                name: model.name.clone(),
                commit: model.commit.clone(),
                why,
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
    precise: Option<&str>,
    hub: &impl HubApi,
    now: Timestamp,
    reporter: &dyn Reporter,
) -> Result<(LockedModel, Why), ResolveError> {
    let hub_error = |source| ResolveError::Hub {
        name: spec.name.clone(),
        repo: spec.repo.clone(),
        source,
    };
    reporter.report(Event::Resolving {
        name: spec.name.clone(),
        repo: spec.repo.to_string(),
        revision: precise.unwrap_or(&spec.revision).to_owned(),
    });
    let mut why = Why {
        precise: precise.map(str::to_owned),
        ..Why::default()
    };
    let revision = precise.unwrap_or(&spec.revision);
    // The repo info at the locked commit, when resolving fetched it (a branch or tag's tip).
    let mut details = None;
    let commit = if is_commit_hash(revision) {
        revision.to_owned()
    } else if let (Some(exclude_newer), None) = (&spec.cooldown, precise) {
        let cutoff = exclude_newer.cutoff(now);
        let history = match hub
            .history(spec.repo_type, &spec.repo, revision, cutoff)
            .await
        {
            Ok(history) => history,
            Err(error) => {
                return Err(hub_error(
                    with_revision_help(hub, spec, precise, error).await,
                ));
            }
        };
        // A tag (or a PR ref) names one commit someone chose: the cooldown accepts it or not,
        // it never walks back to an ancestor the tag does not name. Only a branch moves along
        // its history.
        let on_branch = hub
            .refs(spec.repo_type, &spec.repo)
            .await
            .map_err(hub_error)?
            .branches
            .iter()
            .any(|branch| branch.name == revision);
        let eligible = if on_branch {
            choose_commit(&history, cutoff)
        } else {
            history.first().filter(|tip| tip.date <= cutoff)
        };
        let Some(chosen) = eligible else {
            return Err(ResolveError::NothingOldEnough {
                name: spec.name.clone(),
                repo: spec.repo.clone(),
                revision: revision.to_owned(),
                exclude_newer: exclude_newer.to_string(),
                oldest: history
                    .iter()
                    .map(|c| c.date)
                    .min()
                    .unwrap_or(Timestamp::from_unix_seconds(0)),
            });
        };
        if let Some(latest) = history.first().filter(|tip| tip.id != chosen.id) {
            why.held_back = Some(HeldBack {
                revision: revision.to_owned(),
                latest: latest.id.clone(),
                locked_date: chosen.date,
                exclude_newer: exclude_newer.to_string(),
                reason: exclude_newer.describe(),
            });
        }
        chosen.id.clone()
    } else {
        match hub.revision(spec.repo_type, &spec.repo, revision).await {
            Ok(found) => {
                details = Some(found.details);
                found.commit
            }
            Err(error) => {
                return Err(hub_error(
                    with_revision_help(hub, spec, precise, error).await,
                ));
            }
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
        // Only LFS content has a Xet hash; a value that does not parse is left out (the file
        // then downloads over the bridge, as from a Hub without Xet).
        let xet_hash = match (&entry.lfs, &entry.xet_hash) {
            (Some(_), Some(text)) => match text.parse::<crate::xet::XetHash>() {
                Ok(hash) => Some(hash),
                Err(error) => {
                    tracing::debug!(path = entry.path, %error, "ignoring an invalid xetHash");
                    None
                }
            },
            _ => None,
        };
        files.push(LockedFile {
            path: entry.path,
            size,
            hash,
            xet_hash,
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
    let details = match details {
        Some(details) => details,
        None => {
            hub.revision(spec.repo_type, &spec.repo, &commit)
                .await
                .map_err(hub_error)?
                .details
        }
    };
    let at = metadata::At {
        name: &spec.name,
        repo_type: spec.repo_type,
        repo: &spec.repo,
        commit: &commit,
    };
    let metadata = metadata::record(hub, &at, &files, &details, reporter).await;
    let bytes = files.iter().map(|f| f.size).sum();
    reporter.report(Event::Resolved {
        name: spec.name.clone(),
        commit: commit.clone(),
        files: files.len(),
        bytes,
    });
    // The lock keeps the manifest's revision even for a precise pin: the entry still tracks
    // it, and the requirement (hence `--locked`) still matches the manifest.
    let model = LockedModel {
        name: spec.name.clone(),
        repo: spec.repo.clone(),
        repo_type: spec.repo_type,
        revision: spec.revision.clone(),
        commit,
        requirement: spec.requirement(),
        files,
        metadata: Some(metadata),
    };
    Ok((model, why))
}

/// A kept pin with its metadata: recorded now when the lock it comes from has none (an older
/// hfdl wrote it). Best effort: offline, or when the Hub cannot say, the pin stays as it was.
async fn backfill(
    mut locked: LockedModel,
    hub: &impl HubApi,
    reporter: &dyn Reporter,
) -> LockedModel {
    if locked.metadata.is_some() {
        return locked;
    }
    let details = match hub
        .revision(locked.repo_type, &locked.repo, &locked.commit)
        .await
    {
        Ok(found) => found.details,
        Err(HubError::Offline { .. }) => return locked,
        Err(error) => {
            reporter.report(Event::Warning {
                message: format!(
                    "`{}`: could not record its license, formats and remote code ({error}); `hfdl lock` tries again",
                    locked.name
                ),
            });
            return locked;
        }
    };
    let at = metadata::At {
        name: &locked.name,
        repo_type: locked.repo_type,
        repo: &locked.repo,
        commit: &locked.commit,
    };
    let metadata = metadata::record(hub, &at, &locked.files, &details, reporter).await;
    locked.metadata = Some(metadata);
    locked
}

/// A revision that does not exist gets the repo's branches and tags in its help.
async fn with_revision_help(
    hub: &impl HubApi,
    spec: &ModelSpec,
    precise: Option<&str>,
    error: HubError,
) -> HubError {
    match error {
        HubError::RevisionNotFound { repo, revision, .. } => {
            let help = revision_help(hub, spec, precise.is_some()).await;
            HubError::RevisionNotFound {
                repo,
                revision,
                help,
            }
        }
        other => other,
    }
}

/// "Available branches: …" for a revision that does not exist (in models.toml, or given as
/// `--upgrade-model NAME@REV` when `precise`).
async fn revision_help(hub: &impl HubApi, spec: &ModelSpec, precise: bool) -> String {
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
            if precise {
                help.push_str(
                    "; pass one of them, `refs/pr/N` or a full commit hash as `--upgrade-model ",
                );
                help.push_str(&spec.name);
                help.push_str("@REV`");
            } else {
                help.push_str(
                    "; set `revision` in models.toml to one of them, `refs/pr/N` or a full commit hash",
                );
            }
            help
        }
        Err(_) => {
            "check the revision: it must be a branch, a tag, `refs/pr/N` or a full commit hash"
                .into()
        }
    }
}

/// One line per change, for people, and one per pin a cooldown held back.
pub(crate) fn describe_changes(changes: &[Change]) -> Vec<String> {
    let mut lines = Vec::new();
    for change in changes {
        let (name, why) = match change {
            Change::Added { name, commit, why } => {
                lines.push(format!(
                    "Locked {name} at {}{}",
                    short_commit(commit),
                    precise(why)
                ));
                (name, why)
            }
            Change::Updated {
                name,
                from,
                to,
                why,
            } => {
                lines.push(format!(
                    "Updated {name}: {} -> {}{}",
                    short_commit(from),
                    short_commit(to),
                    precise(why)
                ));
                (name, why)
            }
            Change::Unchanged { name, why, .. } => (name, why),
            Change::Removed { name } => {
                lines.push(format!("Removed {name}"));
                continue;
            }
        };
        if let Some(held) = &why.held_back {
            let kept = match change {
                Change::Added { commit, .. } | Change::Unchanged { commit, .. } => commit,
                Change::Updated { to, .. } => to,
                Change::Removed { .. } => continue,
            };
            lines.push(format!(
                "{name}: kept at {} ({}); {} is at {}, {}",
                short_commit(kept),
                held.locked_date.date(),
                held.revision,
                short_commit(&held.latest),
                held.reason
            ));
        }
    }
    lines
}

/// " (v1.0)" after a pin taken with `--upgrade-model NAME@REV`.
fn precise(why: &Why) -> String {
    why.precise
        .as_ref()
        .map_or_else(String::new, |revision| format!(" ({revision})"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::hub::types::{GitRef, LfsInfo};
    use crate::manifest::ManifestSettings;
    use crate::report::Silent;

    /// "Now" in these tests: 2026-01-31T00:00:00Z.
    const NOW: Timestamp = Timestamp::from_unix_seconds(1_769_817_600);

    /// A Hub in memory that answers the tree listing in a given order; `main`'s history is
    /// `history` (newest first; the tip is `c…c`, as `commit_of` says).
    struct FakeHub {
        entries: Vec<TreeEntry>,
        calls: std::sync::Mutex<usize>,
        history: Vec<DatedCommit>,
    }

    impl FakeHub {
        fn new(entries: Vec<TreeEntry>) -> FakeHub {
            FakeHub {
                entries,
                calls: std::sync::Mutex::default(),
                history: Vec::new(),
            }
        }
    }

    impl HubApi for FakeHub {
        async fn revision(
            &self,
            _: RepoType,
            _: &RepoId,
            revision: &str,
        ) -> Result<Revision, HubError> {
            *self.calls.lock().unwrap() += 1;
            if revision == "main" || is_commit_hash(revision) {
                let commit = if revision == "main" {
                    "c".repeat(40)
                } else {
                    revision.to_owned()
                };
                let details = serde_json::from_value(serde_json::json!({
                    "id": "org/m",
                    "sha": commit,
                    "cardData": {"license": "mit", "base_model": "org/base"},
                    "library_name": "transformers",
                }))
                .unwrap();
                Ok(Revision { commit, details })
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
                tags: vec![GitRef {
                    name: "v1".into(),
                    target_commit: "a".repeat(40),
                }],
            })
        }
        async fn history(
            &self,
            _: RepoType,
            _: &RepoId,
            revision: &str,
            _: Timestamp,
        ) -> Result<Vec<DatedCommit>, HubError> {
            *self.calls.lock().unwrap() += 1;
            if revision == "main" {
                Ok(self.history.clone())
            } else {
                self.revision(RepoType::Model, &RepoId::parse("a/b").unwrap(), revision)
                    .await
                    .map(|_| vec![])
            }
        }
        async fn small_file(
            &self,
            _: RepoType,
            _: &RepoId,
            _: &str,
            path: &str,
            _: u64,
        ) -> Result<Vec<u8>, HubError> {
            *self.calls.lock().unwrap() += 1;
            Err(HubError::EntryNotFound {
                repo: RepoId::parse("org/m").unwrap(),
                path: path.to_owned(),
                commit: "c".repeat(40),
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
            xet_hash: None,
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
            cooldown: None,
            exceptions: crate::manifest::policy::Exceptions::default(),
        };
        Manifest {
            path: PathBuf::from("models.toml"),
            models: BTreeMap::from([("m".into(), spec)]),
            settings: ManifestSettings::default(),
            policy: None,
            own_cooldown: std::collections::BTreeSet::new(),
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
            let hub = FakeHub::new(
                order
                    .iter()
                    .map(|p| entry(p, p.ends_with(".safetensors")))
                    .collect(),
            );
            let resolution = block_on(resolve(
                &manifest("main", &[]),
                None,
                &hub,
                &Upgrade::None,
                NOW,
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
        let hub = FakeHub::new(vec![entry("a.json", false)]);
        let manifest = manifest("main", &["*.json"]);
        let first = block_on(resolve(&manifest, None, &hub, &Upgrade::None, NOW, &Silent)).unwrap();
        assert_eq!(*hub.calls.lock().unwrap(), 2);
        let second = block_on(resolve(
            &manifest,
            Some(&first.lock),
            &hub,
            &Upgrade::None,
            NOW,
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
            NOW,
            &Silent,
        ))
        .unwrap();
        assert_eq!(third.resolved, 1);
    }

    #[test]
    fn the_lock_records_the_cards_license_and_backfills_a_pin_of_an_older_lock() {
        let hub = FakeHub::new(vec![entry("config.json", false), entry("w.bin", true)]);
        let manifest = manifest("main", &[]);
        let first = block_on(resolve(&manifest, None, &hub, &Upgrade::None, NOW, &Silent)).unwrap();
        let metadata = first.lock.models[0].metadata.clone().unwrap();
        assert_eq!(metadata.license, ["mit"]);
        assert_eq!(metadata.base_model, ["org/base"]);
        assert_eq!(metadata.library_name.as_deref(), Some("transformers"));
        assert_eq!(
            metadata.formats,
            [crate::lock::metadata::WeightFormat::Pickle]
        );
        // The info has no `config`, and the fake has no config.json to read: unknown.
        assert_eq!(
            metadata.remote_code,
            crate::lock::metadata::RemoteCode::Unknown
        );
        assert_eq!(*hub.calls.lock().unwrap(), 3, "revision, tree, config.json");

        // A pin of an older lock keeps its commit and gets its metadata: one request.
        let mut old = first.lock.clone();
        old.models[0].metadata = None;
        let second = block_on(resolve(
            &manifest,
            Some(&old),
            &hub,
            &Upgrade::None,
            NOW,
            &Silent,
        ))
        .unwrap();
        assert_eq!(second.lock, first.lock);
        assert_eq!(second.resolved, 0);
        assert_eq!(
            *hub.calls.lock().unwrap(),
            5,
            "revision at the commit, config.json"
        );
    }

    #[test]
    fn an_unknown_revision_lists_the_branches_in_its_help() {
        let hub = FakeHub::new(vec![]);
        let error = block_on(resolve(
            &manifest("nope", &[]),
            None,
            &hub,
            &Upgrade::None,
            NOW,
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

    fn dated(id: char, date: &str) -> DatedCommit {
        DatedCommit {
            id: id.to_string().repeat(40),
            date: Timestamp::parse(date).unwrap(),
        }
    }

    fn with_cooldown(cooldown: &str) -> Manifest {
        let mut manifest = manifest("main", &[]);
        for spec in manifest.models.values_mut() {
            spec.exclude_newer =
                Some(crate::manifest::cooldown::ExcludeNewer::parse(cooldown).unwrap());
            spec.cooldown.clone_from(&spec.exclude_newer);
        }
        manifest
    }

    #[test]
    fn a_cooldown_locks_the_newest_commit_old_enough_and_says_what_it_held_back() {
        let mut hub = FakeHub::new(vec![entry("a.json", false)]);
        hub.history = vec![
            dated('c', "2026-01-30T00:00:00Z"),
            dated('b', "2026-01-01T00:00:00Z"),
        ];
        let resolution = block_on(resolve(
            &with_cooldown("7 days"),
            None,
            &hub,
            &Upgrade::None,
            NOW,
            &Silent,
        ))
        .unwrap();
        assert_eq!(resolution.lock.models[0].commit, "b".repeat(40));
        let Change::Added { why, .. } = &resolution.changes[0] else {
            panic!("{:?}", resolution.changes)
        };
        let held = why.held_back.as_ref().expect("held back");
        assert_eq!(held.latest, "c".repeat(40));
        assert_eq!(held.revision, "main");
        assert_eq!(held.locked_date.to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(held.reason, "newer than 7 days");

        // A short cooldown takes the tip and holds nothing back.
        let resolution = block_on(resolve(
            &with_cooldown("1 day"),
            None,
            &hub,
            &Upgrade::None,
            NOW,
            &Silent,
        ))
        .unwrap();
        assert_eq!(resolution.lock.models[0].commit, "c".repeat(40));
        assert_eq!(
            resolution.changes[0],
            Change::Added {
                name: "m".into(),
                commit: "c".repeat(40),
                why: Why::default()
            }
        );
    }

    #[test]
    fn a_cooldown_no_commit_satisfies_names_the_oldest_date() {
        let mut hub = FakeHub::new(vec![]);
        hub.history = vec![
            dated('c', "2026-01-30T00:00:00Z"),
            dated('b', "2026-01-29T00:00:00Z"),
        ];
        let error = block_on(resolve(
            &with_cooldown("2 weeks"),
            None,
            &hub,
            &Upgrade::None,
            NOW,
            &Silent,
        ))
        .unwrap_err();
        let ResolveError::NothingOldEnough {
            name,
            exclude_newer,
            oldest,
            ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!((name.as_str(), exclude_newer.as_str()), ("m", "2 weeks"));
        assert_eq!(oldest.to_string(), "2026-01-29T00:00:00Z");
        assert_eq!(error.exit_code(), 1);
    }

    #[test]
    fn a_precise_upgrade_pins_the_named_revision_and_skips_the_cooldown() {
        let mut hub = FakeHub::new(vec![entry("a.json", false)]);
        hub.history = vec![dated('c', "2026-01-30T00:00:00Z")];
        let manifest = with_cooldown("7 days");
        let commit = "d".repeat(40);
        let upgrade = Upgrade::Models(BTreeMap::from([("m".into(), Some(commit.clone()))]));
        let resolution = block_on(resolve(&manifest, None, &hub, &upgrade, NOW, &Silent)).unwrap();
        let locked = &resolution.lock.models[0];
        assert_eq!(locked.commit, commit);
        assert_eq!(
            locked.revision, "main",
            "the lock keeps what the entry tracks"
        );
        assert_eq!(locked.requirement, manifest.models["m"].requirement());

        let upgrade = Upgrade::Models(BTreeMap::from([("m".into(), Some("nope".into()))]));
        let error = block_on(resolve(&manifest, None, &hub, &upgrade, NOW, &Silent)).unwrap_err();
        let ResolveError::Hub {
            name,
            source: HubError::RevisionNotFound { help, .. },
            ..
        } = error
        else {
            panic!("{error:?}")
        };
        assert_eq!(name, "m");
        assert!(
            help.contains("tags: v1") && help.contains("--upgrade-model m@REV"),
            "{help}"
        );
    }
}
