//! `outdated`: for each entry, the locked commit against the commit its manifest revision points
//! to now (what `lock` with [`LockUpgrade::Models`](super::lock::LockUpgrade::Models) would
//! take), with that commit's date and the file diff. Reads the Hub, writes nothing.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Project, unknown_model};
use crate::download::{BlobFetch, DownloadOptions, FetchEstimate, XetSession, estimate_fetch};
use crate::error::{Error, Result};
use crate::lock::LockedModel;
use crate::lock::diff::{FileDiff, diff};
use crate::policy::Finding;
use crate::report::Reporter;
use crate::resolve::{HeldBack, Upgrade};

/// Which entries to compare with upstream.
#[derive(Debug, Clone, Default)]
pub struct OutdatedOptions {
    /// Only these entries of the manifest (all when empty).
    pub names: Vec<String>,
}

/// How one entry compares with upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Drift {
    /// The lock has the commit the revision points to, with the same files.
    UpToDate,
    /// The revision points elsewhere upstream: `hfdl lock --upgrade-model NAME` takes it.
    Outdated,
    /// The manifest entry changed since it was locked: `hfdl lock` re-resolves it (not
    /// upstream drift).
    ManifestChanged,
    /// In the manifest but not in the lock.
    NotLocked,
}

impl Drift {
    /// The state in words, as the table shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Drift::UpToDate => "up to date",
            Drift::Outdated => "outdated",
            Drift::ManifestChanged => "manifest changed",
            Drift::NotLocked => "not locked",
        }
    }
}

/// One entry against upstream.
#[derive(Debug, Clone, Serialize)]
pub struct ModelDrift {
    /// The entry's name in models.toml.
    pub name: String,
    /// `namespace/name`.
    pub repo: String,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
    /// The revision the manifest asks for.
    pub revision: String,
    /// How the lock compares with upstream.
    pub state: Drift,
    /// The locked commit (`None`: not locked).
    pub locked: Option<String>,
    /// The commit the revision points to now.
    pub latest: String,
    /// When the latest commit was made (the Hub's `lastModified` at that revision).
    pub latest_date: Option<String>,
    /// A newer commit the cooldown (`exclude-newer`) keeps out, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<HeldBack>,
    /// Files added, removed and changed from the locked commit to the latest.
    #[serde(flatten)]
    pub files: FileDiff,
    /// Bytes an upgrade would really fetch: `download_bytes`, less the Xet chunks that blobs in
    /// the store already hold (asked of the CAS, which also counts serialized chunk headers).
    pub fetch_bytes: u64,
    /// Bytes of Xet chunks an upgrade would copy from blobs in the store instead of fetching.
    pub xet_reused_bytes: u64,
    /// What the policy says about the latest commit (what an upgrade would lock).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<Finding>,
}

/// Every selected entry against upstream.
#[derive(Debug, Clone, Serialize)]
pub struct OutdatedReport {
    /// Entries that moved upstream (only these count for `--exit-code`).
    pub outdated: usize,
    /// Policy violations of the latest commits: an upgrade would fail on them (each row lists
    /// its own).
    pub policy_violations: usize,
    /// The violations, for [`OutdatedReport::policy_verdict`].
    #[serde(skip)]
    violations: Vec<Finding>,
    /// What to do about them.
    #[serde(skip)]
    policy_help: String,
    /// The selected entries, sorted by name.
    pub models: Vec<ModelDrift>,
}

impl OutdatedReport {
    /// The entries that are not up to date (moved upstream, changed in the manifest, or not
    /// locked).
    pub fn drifted(&self) -> Vec<&ModelDrift> {
        self.models
            .iter()
            .filter(|r| r.state != Drift::UpToDate)
            .collect()
    }

    /// [`Error::PolicyViolation`] when the latest commits break the policy (what an upgrade
    /// would lock); the report lists the violations, so the error is a reported verdict.
    pub fn policy_verdict(&self) -> Result<()> {
        if self.violations.is_empty() {
            return Ok(());
        }
        Err(Error::PolicyViolation {
            violations: self.violations.clone(),
            help: self.policy_help.clone(),
            reported: true,
        })
    }

    /// The verdict for CI (`--exit-code`): [`Error::Outdated`] naming the entries that moved
    /// upstream. Only upstream moves count; a stale lock has `hfdl lock --check`.
    pub fn verdict(&self) -> Result<()> {
        if self.outdated == 0 {
            return Ok(());
        }
        Err(Error::Outdated {
            names: self
                .models
                .iter()
                .filter(|r| r.state == Drift::Outdated)
                .map(|r| r.name.clone())
                .collect(),
        })
    }
}

impl Project {
    /// Resolves the selected entries' revisions against the Hub as they are now and compares
    /// the commits (and files) with the lock. Writes nothing.
    pub async fn outdated(
        &self,
        options: &OutdatedOptions,
        reporter: &dyn Reporter,
    ) -> Result<OutdatedReport> {
        let manifest = self.require_manifest()?;
        for name in &options.names {
            if !manifest.models.contains_key(name) {
                return Err(unknown_model(manifest, name));
            }
        }
        let selected: BTreeSet<String> = if options.names.is_empty() {
            manifest.models.keys().cloned().collect()
        } else {
            options.names.iter().cloned().collect()
        };
        let locked = self.load_lock()?.unwrap_or_default();
        let fresh = self
            .resolve(
                manifest,
                Some(&locked),
                &Upgrade::Models(selected.iter().map(|name| (name.clone(), None)).collect()),
                reporter,
            )
            .await?;

        let hub = self.settings.hub_client();
        let policies = self.policies();
        let mut findings = Vec::new();
        let mut rows = Vec::new();
        for name in &selected {
            let Some(latest) = fresh.lock.get(name) else {
                continue;
            };
            let before = locked.get(name);
            let files = before.map_or_else(
                || diff(&empty_like(latest), latest),
                |before| diff(before, latest),
            );
            let state = match before {
                None => Drift::NotLocked,
                Some(before) if before.requirement != latest.requirement => Drift::ManifestChanged,
                Some(before) if before.commit == latest.commit && files.is_empty() => {
                    Drift::UpToDate
                }
                Some(_) => Drift::Outdated,
            };
            let held_back = fresh
                .changes
                .iter()
                .find(|change| change.name() == name.as_str())
                .and_then(|change| change.why()?.held_back.clone());
            let latest_date = if state == Drift::UpToDate {
                None
            } else {
                hub.revision_info(latest.repo_type, &latest.repo, &latest.commit)
                    .await
                    .ok()
                    .and_then(|info| info.last_modified)
            };
            let estimate = if state == Drift::UpToDate {
                FetchEstimate::default()
            } else {
                self.estimate_upgrade(&hub, before, latest).await
            };
            let policy = policies.check(latest);
            findings.extend(policy.iter().cloned());
            rows.push(ModelDrift {
                name: name.clone(),
                repo: latest.repo.to_string(),
                repo_type: latest.repo_type.to_string(),
                revision: latest.revision.clone(),
                state,
                locked: before.map(|b| b.commit.clone()),
                latest: latest.commit.clone(),
                latest_date,
                held_back,
                fetch_bytes: estimate.fetch_bytes,
                xet_reused_bytes: estimate.xet_reused_bytes,
                files,
                policy,
            });
        }
        // Only upstream moves count for --exit-code; a stale lock has `hfdl lock --check`.
        let outdated = rows.iter().filter(|r| r.state == Drift::Outdated).count();
        // Warnings are reported now; violations wait for the caller to show the report.
        for message in crate::policy::warning_lines(&findings) {
            reporter.report(crate::report::Event::Warning { message });
        }
        let violations = crate::policy::violations(&findings);
        Ok(OutdatedReport {
            outdated,
            policy_violations: violations.len(),
            policy_help: crate::policy::help(&violations, &self.settings.config_path, None),
            violations,
            models: rows,
        })
    }
}

impl Project {
    /// What syncing `latest` after `before` would fetch: each new content once (as
    /// [`diff`]'s `download_bytes` counts it), a Xet-backed file by its reconstruction and the
    /// chunk maps of the store's blobs (a few files at once), the others whole.
    async fn estimate_upgrade(
        &self,
        hub: &crate::hub::HubClient,
        before: Option<&LockedModel>,
        latest: &LockedModel,
    ) -> FetchEstimate {
        use futures_util::StreamExt as _;
        let known: BTreeSet<&str> = before
            .into_iter()
            .flat_map(|model| &model.files)
            .map(|file| file.hash.hex())
            .collect();
        let mut seen = BTreeSet::new();
        let new_files: Vec<_> = latest
            .files
            .iter()
            .filter(|file| !known.contains(file.hash.hex()) && seen.insert(file.hash.hex()))
            .collect();
        let store = self.store();
        let repo = crate::store::RepoRef {
            repo_type: latest.repo_type,
            repo: &latest.repo,
        };
        let options = DownloadOptions {
            xet: self.settings.xet,
            xet_session: std::sync::Arc::new(XetSession::with_chunk_maps(
                self.settings.chunk_maps_dir(),
            )),
            ..DownloadOptions::default()
        };
        let estimates: Vec<FetchEstimate> = futures_util::stream::iter(new_files)
            .map(|file| {
                let fetch = BlobFetch {
                    repo_type: latest.repo_type,
                    repo: latest.repo.clone(),
                    commit: latest.commit.clone(),
                    path: file.path.clone(),
                    hash: file.hash.clone(),
                    size: file.size,
                    blob: store.blob_path(repo, &file.hash),
                    incomplete: store.incomplete_path(repo, &file.hash),
                    lock: store.lock_path(repo, &file.hash),
                    xet_hash: file.xet_hash,
                };
                let options = &options;
                async move { estimate_fetch(hub, &fetch, options, 0).await }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        estimates
            .into_iter()
            .fold(FetchEstimate::default(), |total, e| FetchEstimate {
                fetch_bytes: total.fetch_bytes + e.fetch_bytes,
                xet_reused_bytes: total.xet_reused_bytes + e.xet_reused_bytes,
            })
    }
}

/// A model with no files, so a not-yet-locked entry diffs as "everything added".
fn empty_like(model: &LockedModel) -> LockedModel {
    LockedModel {
        files: Vec::new(),
        ..model.clone()
    }
}
