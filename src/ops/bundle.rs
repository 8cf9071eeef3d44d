//! `export` and `import`: air-gapped bundles. An export packs the project's `models.lock` and
//! exactly the blobs it pins into one tar file; an import on another machine verifies every
//! byte of it against that lock and puts the blobs into its store, after which
//! `hfdl sync --frozen --offline` links the snapshots without a request. The format and the
//! guarantees are in [`crate::store::bundle`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{CancellationToken, Project, check_cancel};
use crate::error::{Error, Result};
use crate::lock::Lockfile;
use crate::report::{Event, Reporter, count};
use crate::store::bundle::{self, BundleError, ExportSummary, Staging};
use crate::store::fsops::{FileLock, LockMode};
use crate::store::{RepoRef, Store, VerifiedBlobs};

/// How to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Stops the export when cancelled ([`Error::Cancelled`]); the partial output is removed.
    pub cancel: Option<CancellationToken>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The bundle; `None` when it was written to a stream ([`Project::export_to`]).
    pub path: Option<PathBuf>,
    /// The lockfile it carries.
    pub lock: PathBuf,
    /// Entries in the lock.
    pub models: usize,
    /// Files the lock pins.
    pub files: usize,
    /// Blobs in the bundle: one per distinct content (files with the same content share one).
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
    /// Bytes of the bundle (the tar file).
    pub archive_bytes: u64,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Stops the import when cancelled ([`Error::Cancelled`]), between two chunks of a blob;
    /// nothing is moved into the store unless the whole bundle was verified.
    pub cancel: Option<CancellationToken>,
}

/// What an import did with the project's `models.lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockAction {
    /// The project had no lock: the bundle's was written.
    Written,
    /// The project's lock is the bundle's.
    Unchanged,
    /// The project's lock differs from the bundle's and was kept as it is.
    Kept,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The bundle read, as named (`<stdin>` for standard input).
    pub bundle: PathBuf,
    /// The store the blobs went into.
    pub store: PathBuf,
    /// Entries in the bundle's lock.
    pub models: usize,
    /// Files the bundle's lock pins.
    pub files: usize,
    /// Blobs in the bundle, every one verified.
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
    /// Blob files put into the store (a content two repos pin counts twice).
    pub added: usize,
    /// Blob files that were already in the store, verified.
    pub already_present: usize,
    /// What happened to the project's `models.lock`.
    pub lock: LockAction,
    /// The project's `models.lock`.
    pub lock_path: PathBuf,
    /// When the project's lock was kept: its files (`model: path`) that neither the bundle nor
    /// the store holds, which an offline sync would miss.
    pub uncovered: Vec<String>,
}

impl Project {
    /// Writes the bundle of the project's lock to `output`, atomically: into a temp file beside
    /// it, renamed over `output` only once complete. Nothing is written when the store lacks a
    /// blob or holds a damaged one ([`BundleError::NotInStore`]).
    pub fn export(
        &self,
        output: &Path,
        options: &ExportOptions,
        reporter: &dyn Reporter,
    ) -> Result<ExportReport> {
        if output.is_dir() {
            return Err(Error::Usage {
                message: format!("{} is a directory", output.display()),
                help: "name the bundle's file, e.g. `hfdl export -o models.tar`".into(),
            });
        }
        let (text, lock) = self.lock_with_text()?;
        let parent = output
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs_err::create_dir_all(parent).map_err(Error::io(parent))?;
        let file_name = output
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".tmp")
            .tempfile_in(parent)
            .map_err(Error::io(parent))?;
        let summary =
            self.export_into(temp.as_file_mut(), output, &text, &lock, options, reporter)?;
        // Dropped on any error above: the temp file goes with it.
        temp.as_file().sync_all().map_err(Error::io(temp.path()))?;
        set_shared_permissions(&temp, output).map_err(Error::io(temp.path()))?;
        temp.persist(output)
            .map_err(|error| Error::io(output)(error.error))?;
        Ok(self.export_report(Some(output.to_path_buf()), summary))
    }

    /// Writes the bundle of the project's lock to `writer` (`hfdl export -o -`); `label` names
    /// it in messages. The store is checked before the first byte, but a blob found damaged
    /// while it is read stops the export with a partial archive in `writer`, which an import
    /// refuses.
    pub fn export_to(
        &self,
        writer: impl Write,
        label: &Path,
        options: &ExportOptions,
        reporter: &dyn Reporter,
    ) -> Result<ExportReport> {
        let (text, lock) = self.lock_with_text()?;
        let summary = self.export_into(writer, label, &text, &lock, options, reporter)?;
        Ok(self.export_report(None, summary))
    }

    /// The lock and its text as they are on disk (exported verbatim).
    fn lock_with_text(&self) -> Result<(String, Lockfile)> {
        let path = self.lock_path();
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::LockMissing {
                    lock: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(crate::lock::LockError::Io {
                    path: path.display().to_string(),
                    source,
                }
                .into());
            }
        };
        let lock = Lockfile::decode(path, &text)?;
        Ok((text, lock))
    }

    fn export_into(
        &self,
        writer: impl Write,
        output: &Path,
        text: &str,
        lock: &Lockfile,
        options: &ExportOptions,
        reporter: &dyn Reporter,
    ) -> Result<ExportSummary> {
        if let Some(manifest) = self.manifest()
            && let crate::lock::Freshness::Stale(reasons) = lock.freshness(manifest)
        {
            // The bundle carries the lock as it is; what it lacks is for the user to decide.
            reporter.report(Event::Warning {
                message: format!(
                    "{}; the bundle carries the lock as it is (run `hfdl lock` first to include the changes)",
                    self.stale_error(manifest, &reasons)
                ),
            });
        }
        let store = self.store();
        let cancel = options.cancel.as_ref();
        // Shared, so that `gc` does not delete a blob while it is read; a store that does not
        // exist has nothing to export (and is not created).
        let _store_lock = if store.root().is_dir() {
            Some(share_store(&store, reporter, cancel)?)
        } else {
            None
        };
        let mut verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
        let result = bundle::export(
            writer,
            output,
            self.lock_path(),
            text,
            lock,
            &store,
            &mut verified,
            reporter,
            cancel,
        );
        // Also after a failure: a blob found damaged is forgotten, so the next sync hashes it.
        save_verified(&mut verified, reporter);
        result.map_err(bundle_error)
    }

    fn export_report(&self, path: Option<PathBuf>, summary: ExportSummary) -> ExportReport {
        ExportReport {
            path,
            lock: self.lock_path().to_path_buf(),
            models: summary.models,
            files: summary.locked_files,
            blobs: summary.blobs,
            bytes: summary.bytes,
            archive_bytes: summary.archive_bytes,
        }
    }

    /// Imports the bundle at `bundle`: see [`Project::import_from`].
    pub fn import(
        &self,
        bundle: &Path,
        options: &ImportOptions,
        reporter: &dyn Reporter,
    ) -> Result<ImportReport> {
        let file = fs_err::File::open(bundle).map_err(Error::io(bundle))?;
        self.import_from(file, bundle, options, reporter)
    }

    /// Reads a bundle from `reader` (`label` names it in messages), verifies every blob against
    /// the bundle's own lock while staging it inside the store, and only once the whole bundle
    /// is verified moves the blobs into `blobs/` of every repo that pins them. A bundle that is
    /// damaged, cut short or holds anything its lock does not pin is refused with nothing added
    /// to the store ([`BundleError::Damaged`], [`BundleError::Invalid`]).
    ///
    /// The project's `models.lock` is written from the bundle when the project has none. When
    /// it has a different one, it is kept (it is the project's, under version control), and a
    /// warning names the files it pins that neither the bundle nor the store holds.
    pub fn import_from(
        &self,
        reader: impl Read,
        label: &Path,
        options: &ImportOptions,
        reporter: &dyn Reporter,
    ) -> Result<ImportReport> {
        let cancel = options.cancel.as_ref();
        // Read first: an unreadable lock stops the import before it reads a byte.
        let project_lock = self.load_lock()?;
        let store = self.store();
        let mut verified = VerifiedBlobs::load(self.settings.verified_blobs_file());
        let staging = Staging::create(&store).map_err(bundle_error)?;
        let staged = bundle::stage(
            reader,
            &label.display().to_string(),
            &store,
            &staging,
            &verified,
            reporter,
            cancel,
        )
        .map_err(bundle_error)?;
        check_cancel(cancel)?;
        let action = match &project_lock {
            None => LockAction::Written,
            Some(lock) if *lock == staged.lock => LockAction::Unchanged,
            Some(_) => LockAction::Kept,
        };

        // Held while the blobs move in and are recorded, so gc cannot delete them meanwhile.
        let store_lock = share_store(&store, reporter, cancel)?;
        let committed = staged.commit(&mut verified);
        save_verified(&mut verified, reporter);
        let committed = committed.map_err(bundle_error)?;
        // The lock exists before the registry names it, and both before gc may run again:
        // a registered lock that is missing would be forgotten, and the blobs with it.
        if action == LockAction::Written {
            crate::fsutil::write_if_changed(self.lock_path(), staged.lock_text.as_bytes())
                .map_err(Error::io(self.lock_path()))?;
        }
        if action != LockAction::Kept {
            self.remember_import(&store, &staged.lock, &committed.placed, reporter);
        }
        drop(store_lock);
        drop(staging);

        let uncovered = match (&project_lock, action) {
            (Some(lock), LockAction::Kept) => {
                let uncovered = uncovered(lock, &store, &staged);
                reporter.report(Event::Warning {
                    message: kept_lock_warning(self.lock_path(), &uncovered),
                });
                uncovered
            }
            _ => Vec::new(),
        };
        Ok(ImportReport {
            bundle: label.to_path_buf(),
            store: store.root().to_path_buf(),
            models: staged.lock.models.len(),
            files: staged.lock.models.iter().map(|m| m.files.len()).sum(),
            blobs: staged.blobs,
            bytes: staged.bytes,
            added: committed.added,
            already_present: committed.present,
            lock: action,
            lock_path: self.lock_path().to_path_buf(),
            uncovered,
        })
    }

    /// Records the project's lock, and the repos the import wrote into, in hfdl's registry, as
    /// a sync does: `gc` then keeps the imported blobs. Failing to record does not fail the
    /// import; the warning says what it risks.
    fn remember_import(
        &self,
        store: &Store,
        lock: &Lockfile,
        placed: &[PathBuf],
        reporter: &dyn Reporter,
    ) {
        fn repo_of(model: &crate::lock::LockedModel) -> RepoRef<'_> {
            RepoRef {
                repo_type: model.repo_type,
                repo: &model.repo,
            }
        }
        let placed: std::collections::HashSet<&Path> =
            placed.iter().map(PathBuf::as_path).collect();
        let repos: Vec<RepoRef<'_>> = lock
            .models
            .iter()
            .filter(|model| {
                model.files.iter().any(|file| {
                    placed.contains(store.blob_path(repo_of(model), &file.hash).as_path())
                })
            })
            .map(repo_of)
            .collect();
        let registry = crate::store::registry::Registry::new(&self.settings.state_dir);
        if let Err(error) = registry.record_sync(store, self.lock_path(), repos) {
            reporter.report(Event::Warning {
                message: format!(
                    "could not record {} in hfdl's registry ({error}); `hfdl gc` run elsewhere may delete the imported files",
                    self.lock_path().display()
                ),
            });
        }
    }
}

/// The files `lock` pins (`model: path`) whose content neither the bundle nor the store holds.
fn uncovered(lock: &Lockfile, store: &Store, staged: &bundle::StagedBundle) -> Vec<String> {
    let in_bundle: std::collections::BTreeSet<_> = staged.hashes().collect();
    let mut missing = Vec::new();
    for model in &lock.models {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        for file in &model.files {
            let in_store = fs_err::metadata(store.blob_path(repo, &file.hash))
                .is_ok_and(|metadata| metadata.len() == file.size);
            if !in_bundle.contains(&file.hash) && !in_store {
                missing.push(format!("{}: {}", model.name, file.path));
            }
        }
    }
    missing
}

/// The warning of an import that kept the project's different lock.
fn kept_lock_warning(lock_path: &Path, uncovered: &[String]) -> String {
    let kept = format!(
        "{} differs from the bundle's lock and was kept",
        lock_path.display()
    );
    if uncovered.is_empty() {
        return format!("{kept}; the store holds everything it pins");
    }
    let mut listed: Vec<&str> = uncovered.iter().map(String::as_str).take(10).collect();
    let more = uncovered.len().saturating_sub(listed.len());
    let more = format!("and {more} more");
    if uncovered.len() > listed.len() {
        listed.push(&more);
    }
    format!(
        "{kept}; the bundle does not cover {} it pins, which `hfdl sync --offline` will miss: {}",
        count(uncovered.len(), "file"),
        listed.join(", ")
    )
}

/// [`BundleError`] as the operation's error; a cancellation is [`Error::Cancelled`] (nothing
/// partial is kept: the staging directory or the temp output is removed).
fn bundle_error(error: BundleError) -> Error {
    match error {
        BundleError::Cancelled => Error::Cancelled {
            partial_files: 0,
            partial_bytes: 0,
        },
        error => Error::Bundle(error),
    }
}

/// Saves the stat cache, with a warning when that fails (it only costs a re-hash later).
fn save_verified(verified: &mut VerifiedBlobs, reporter: &dyn Reporter) {
    if let Err(error) = verified.save() {
        reporter.report(Event::Warning {
            message: format!("could not save hfdl's stat cache: {error}"),
        });
    }
}

/// Holds the store lock shared (as a sync does) until the guard drops, waiting up to ten
/// minutes for a running `gc`, in short slices so that a cancellation is noticed.
fn share_store(
    store: &Store,
    reporter: &dyn Reporter,
    cancel: Option<&CancellationToken>,
) -> Result<FileLock> {
    const PATIENCE: Duration = Duration::from_mins(10);
    const SLICE: Duration = Duration::from_millis(100);
    let path = store.store_lock_path();
    let deadline = Instant::now() + PATIENCE;
    let mut told = false;
    loop {
        check_cancel(cancel)?;
        let left = deadline.saturating_duration_since(Instant::now());
        let taken = FileLock::acquire_within(&path, LockMode::Shared, left.min(SLICE), || {
            if !told {
                reporter.report(Event::Status {
                    message: "Waiting for `hfdl gc` on this store to finish…".into(),
                });
            }
        })
        .map_err(Error::io(&path))?;
        told = true;
        if let Some(lock) = taken {
            return Ok(lock);
        }
        if left.is_zero() {
            return Err(Error::StoreBusy {
                store: store.root().to_path_buf(),
                waited_secs: PATIENCE.as_secs(),
            });
        }
    }
}

/// Gives the finished bundle the permissions of the file it replaces, or the usual 0644 of a
/// new file (the temp file's 0600 would keep it from the other users of a shared drive).
fn set_shared_permissions(temp: &tempfile::NamedTempFile, output: &Path) -> std::io::Result<()> {
    match fs_err::metadata(output) {
        Ok(existing) => temp.as_file().set_permissions(existing.permissions()),
        #[cfg(unix)]
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
        }
        #[cfg(not(unix))]
        Err(_) => Ok(()),
    }
}
