//! `gc`: delete what no lockfile known to hfdl references (or, as a dry run, list it), and
//! report what that frees. Holds the store lock (exclusively, unless a dry run) meanwhile.

use std::time::Duration;

use super::{CancellationToken, Project, check_cancel};
use crate::error::{Error, Result};
use crate::report::{Event, Reporter};
use crate::store::error::StoreError;
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
    /// Stops the collection when cancelled ([`Error::Cancelled`]), also while it waits for
    /// running syncs: between two whole deletions, so a snapshot is kept whole or deleted whole.
    pub cancel: Option<CancellationToken>,
}

impl Default for GcOptions {
    /// Delete, only in repos hfdl wrote, waiting up to a minute for running syncs (the CLI's
    /// defaults).
    fn default() -> GcOptions {
        GcOptions {
            dry_run: false,
            all: false,
            wait: Duration::from_mins(1),
            cancel: None,
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
        let _store_lock = take_store_lock(&lock_path, mode, options, || {
            reporter.report(Event::Status {
                message: "Waiting for a running hfdl sync on this store to finish…".into(),
            });
        })?
        .ok_or_else(|| Error::StoreBusy {
            store: store.root().to_path_buf(),
            waited_secs: options.wait.as_secs(),
        })?;

        let registry = Registry::new(&self.settings.state_dir);
        let partials_dir = self.settings.partials_dir();
        let chunk_maps_dir = self.settings.chunk_maps_dir();
        let project_lock = self.lock_path().exists().then_some(self.lock_path());
        let report = collect_garbage(&collect::GcOptions {
            store: &store,
            registry: &registry,
            partials_dir: &partials_dir,
            chunk_maps_dir: &chunk_maps_dir,
            project_lock,
            all: options.all,
            dry_run: options.dry_run,
            cancel: options.cancel.as_ref(),
        });
        if !options.dry_run {
            // Also after a stop half-way: what was deleted must not be vouched for.
            forget_deleted(self, reporter);
        }
        match report {
            Err(StoreError::Cancelled) => Err(Error::Cancelled {
                partial_files: 0,
                partial_bytes: 0,
            }),
            other => Ok(other?),
        }
    }
}

/// Takes the store lock within `options.wait`, in short slices so that a cancellation is
/// noticed while waiting; `on_wait` is called once, when the lock is not free at once.
fn take_store_lock(
    path: &std::path::Path,
    mode: LockMode,
    options: &GcOptions,
    on_wait: impl FnOnce(),
) -> Result<Option<FileLock>> {
    const SLICE: Duration = Duration::from_millis(100);
    let deadline = std::time::Instant::now() + options.wait;
    let mut on_wait = Some(on_wait);
    loop {
        check_cancel(options.cancel.as_ref())?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let waited = FileLock::acquire_within(path, mode, left.min(SLICE), || {
            if let Some(on_wait) = on_wait.take() {
                on_wait();
            }
        })
        .map_err(Error::io(path))?;
        if waited.is_some() || left <= SLICE {
            return Ok(waited);
        }
    }
}

/// Drops blobs gc deleted from hfdl's stat cache.
fn forget_deleted(project: &Project, reporter: &dyn Reporter) {
    let mut verified = crate::store::VerifiedBlobs::load(project.settings.verified_blobs_file());
    verified.forget_missing();
    if let Err(error) = verified.save() {
        // A status line rather than a warning: what the CLI has always shown here.
        reporter.report(Event::Status {
            message: format!("could not update hfdl's stat cache: {error}"),
        });
    }
}
