//! `gc`: delete what no lockfile known to hfdl references (or, as a dry run, list it), and
//! report what that frees. Holds the store lock (exclusively, unless a dry run) meanwhile.

use std::time::Duration;

use super::Project;
use crate::error::{Error, Result};
use crate::report::{Event, Reporter};
use crate::store::fsops::{FileLock, LockMode};
use crate::store::gc::{self as collect, collect_garbage};
pub use crate::store::gc::{GcReport, RepoFreed};
use crate::store::registry::Registry;

/// How to collect.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// List what would be freed, with sizes, and delete nothing (`--dry-run`).
    pub dry_run: bool,
    /// Also sweep repos that hfdl did not write (other tools' downloads) when no lock uses them
    /// (`--all`).
    pub all: bool,
    /// How long to wait for running syncs on the store to finish before giving up
    /// ([`Error::StoreBusy`]).
    pub wait: Duration,
}

impl Default for GcOptions {
    /// Delete, only in repos hfdl wrote, waiting up to a minute for running syncs (the CLI's
    /// defaults).
    fn default() -> GcOptions {
        GcOptions {
            dry_run: false,
            all: false,
            wait: Duration::from_mins(1),
        }
    }
}

impl Project {
    /// Deletes (or, with `dry_run`, lists) what no lockfile known to hfdl references: the
    /// lockfiles recorded by syncs of this store, and this project's lock. A missing store has
    /// nothing to collect and is not created.
    pub fn gc(&self, options: &GcOptions, reporter: &dyn Reporter) -> Result<GcReport> {
        let store = self.store();
        if !store.root().is_dir() {
            // Nothing to collect, and taking the lock would create the store (a typo in --store
            // would leave a new directory behind).
            reporter.report(Event::Status {
                message: format!("No store at {}: nothing to collect", store.root().display()),
            });
            return Ok(GcReport {
                dry_run: options.dry_run,
                store: store.root().to_path_buf(),
                ..GcReport::default()
            });
        }
        // Exclusive: no sync may scan or fill the store while gc decides and deletes. A dry run
        // changes nothing, so it only keeps gc out meanwhile.
        let mode = if options.dry_run {
            LockMode::Shared
        } else {
            LockMode::Exclusive
        };
        let lock_path = store.store_lock_path();
        let _store_lock = FileLock::acquire_within(&lock_path, mode, options.wait, || {
            reporter.report(Event::Status {
                message: "Waiting for a running hfdl sync on this store to finish…".into(),
            });
        })
        .map_err(Error::io(&lock_path))?
        .ok_or_else(|| Error::StoreBusy {
            store: store.root().to_path_buf(),
            waited_secs: options.wait.as_secs(),
        })?;

        let registry = Registry::new(&self.settings.state_dir);
        let partials_dir = self.settings.partials_dir();
        let project_lock = self.lock_path().exists().then_some(self.lock_path());
        let report = collect_garbage(&collect::GcOptions {
            store: &store,
            registry: &registry,
            partials_dir: &partials_dir,
            project_lock,
            all: options.all,
            dry_run: options.dry_run,
        })?;
        if !options.dry_run {
            let mut verified =
                crate::store::VerifiedBlobs::load(self.settings.verified_blobs_file());
            verified.forget_missing();
            if let Err(error) = verified.save() {
                // A status line rather than a warning: what the CLI has always shown here.
                reporter.report(Event::Status {
                    message: format!("could not update hfdl's stat cache: {error}"),
                });
            }
        }
        Ok(report)
    }
}
