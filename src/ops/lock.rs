//! `lock`: resolve models.toml into models.lock, keeping the pins of unchanged entries unless
//! told to upgrade; `--check` compares fingerprints only, without the network.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{
    CancellationToken, PlannedDownloads, Project, check_cancel, unknown_model, until_cancelled,
};
use crate::error::{Error, Result};
use crate::lock::Freshness;
use crate::report::Reporter;
use crate::resolve::{Change, Upgrade};

/// Which pins a lock may move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LockUpgrade {
    /// Keep the pin of every unchanged entry.
    #[default]
    None,
    /// Move every pin to what its revision points to now (`--upgrade`).
    All,
    /// Move these entries' pins; with a revision, to the commit it names (`--upgrade-model
    /// NAME[@REV]`).
    Models(Vec<(String, Option<String>)>),
}

/// How to lock.
#[derive(Debug, Clone, Default)]
pub struct LockOptions {
    /// Which pins may move.
    pub upgrade: LockUpgrade,
    /// Resolve and report, but write nothing.
    pub dry_run: bool,
    /// Stops the lock when cancelled ([`Error::Cancelled`]): resolving stops, and models.lock
    /// is left as it was (it is only ever replaced whole, after resolving).
    pub cancel: Option<CancellationToken>,
}

/// What a lock did.
#[derive(Debug, Clone, Serialize)]
pub struct LockReport {
    /// The lockfile.
    pub lock: PathBuf,
    /// Its bytes changed and were written.
    pub written: bool,
    /// Nothing was written, on purpose.
    pub dry_run: bool,
    /// Entries resolved against the Hub (the others kept their pin).
    pub resolved: usize,
    /// How the lock changed, entry by entry.
    pub changes: Vec<Change>,
    /// What the policy warns about (`pickle = "warn"`); a violation fails the lock instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<crate::policy::Finding>,
}

/// The lock matches the manifest (`lock --check`).
#[derive(Debug, Clone, Serialize)]
pub struct LockCheck {
    /// The lockfile.
    pub lock: PathBuf,
    /// Always true: a stale lock is the error [`Error::LockStale`].
    pub fresh: bool,
    /// The manifest it was checked against.
    #[serde(skip)]
    pub manifest: PathBuf,
}

impl Project {
    /// Resolves the manifest against the Hub and writes models.lock when it changed.
    pub async fn lock(&self, options: &LockOptions, reporter: &dyn Reporter) -> Result<LockReport> {
        let manifest = self.require_manifest()?;
        let previous = self.load_lock()?;
        let upgrade = match &options.upgrade {
            LockUpgrade::None => Upgrade::None,
            LockUpgrade::All => Upgrade::All,
            LockUpgrade::Models(models) => {
                let mut upgrade = BTreeMap::new();
                for (name, precise) in models {
                    if !manifest.models.contains_key(name) {
                        return Err(unknown_model(manifest, name));
                    }
                    upgrade.insert(name.clone(), precise.clone());
                }
                Upgrade::Models(upgrade)
            }
        };
        let resolve = self.resolve(manifest, previous.as_ref(), &upgrade, reporter);
        let resolution = until_cancelled(
            options.cancel.as_ref(),
            &PlannedDownloads::default(),
            resolve,
        )
        .await?;
        check_cancel(options.cancel.as_ref())?;
        // A lock that breaks the policy is not written (as cargo-deny fails a check): the lock
        // on disk stays one that passed, and `sync --frozen` would refuse this one anyway.
        let policy = self.enforce_policy(&resolution.lock, None, reporter)?;
        let written = if options.dry_run {
            false
        } else {
            self.write_lock(&resolution.lock)?
        };
        Ok(LockReport {
            lock: self.lock_path().to_path_buf(),
            written,
            dry_run: options.dry_run,
            resolved: resolution.resolved,
            changes: resolution.changes,
            policy,
        })
    }

    /// Whether models.lock matches models.toml, from fingerprints alone (no network): a missing
    /// lock is [`Error::LockMissing`], a stale one [`Error::LockStale`] naming each entry.
    pub fn check_lock(&self) -> Result<LockCheck> {
        let manifest = self.require_manifest()?;
        let lock = self.require_lock()?;
        match lock.freshness(manifest) {
            Freshness::Fresh => Ok(LockCheck {
                lock: self.lock_path().to_path_buf(),
                fresh: true,
                manifest: manifest.path.clone(),
            }),
            Freshness::Stale(reasons) => Err(self.stale_error(manifest, &reasons)),
        }
    }
}

/// Parses `NAME` or `NAME@REV` (a commit, tag or branch of the entry's repo), as
/// `--upgrade-model` takes it.
pub fn parse_upgrade_model(arg: &str) -> Result<(String, Option<String>)> {
    let Some((name, revision)) = arg.split_once('@') else {
        return Ok((arg.to_owned(), None));
    };
    crate::repo::validate_revision(revision).map_err(|reason| Error::Usage {
        message: format!("--upgrade-model {arg}: {reason}"),
        help: "use NAME@REV with REV a branch, a tag, `refs/pr/N` or a 40-hex commit".into(),
    })?;
    Ok((name.to_owned(), Some(revision.to_owned())))
}
