//! The operations layer: one way in for every caller (the CLI, `hfdl ui`, a Rust program that
//! embeds hfdl).
//!
//! A [`Project`] loads `models.toml` once, with its settings, and knows where the lock and the
//! store are. Each operation is one method on it (or one function in a submodule, for the
//! operations that need no project): typed options in, progress as [`Event`]s through a
//! [`Reporter`], a typed, serde-serialisable report back (what `--json` prints). No operation
//! prints, reads environment variables (the caller hands over an [`Env`]) or knows about the
//! command line; the CLI in `commands/` maps its arguments to options and renders reports.
//!
//! # Example
//!
//! Sync a project's lock into the Hugging Face cache, following progress through a channel:
//!
//! ```no_run
//! use hfdl::env::Env;
//! use hfdl::ops::{OpenOptions, Project, SyncOptions};
//! use hfdl::report::ChannelReporter;
//!
//! # async fn run() -> Result<(), hfdl::error::Error> {
//! let project = Project::open(OpenOptions {
//!     manifest: Some("models.toml".into()),
//!     env: Env::from_process(),
//!     ..OpenOptions::default()
//! })?;
//! let (reporter, mut events) = ChannelReporter::new();
//! tokio::spawn(async move {
//!     while let Some(event) = events.recv().await {
//!         eprintln!("{event:?}");
//!     }
//! });
//! let report = project.sync(&SyncOptions::locked(), &reporter).await?;
//! println!("{} files downloaded", report.summary.downloaded_files);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/embed.rs` runs the same against the bundled mock Hub, and `tests/it/library.rs`
//! tests what an embedder relies on.
//!
//! Cancellation: the options of the long operations ([`SyncOptions::cancel`],
//! [`verify::VerifyOptions::cancel`], [`gc::GcOptions::cancel`], [`lock::LockOptions::cancel`],
//! [`add::AddOptions::cancel`]) take a [`CancellationToken`]. A cancelled operation stops
//! between whole steps with [`Error::Cancelled`], which counts the partial downloads it kept
//! for the next run: transfers stop, nothing half-written is published, `gc` never leaves a
//! snapshot half-deleted, and a lock is written whole or not at all. The CLI cancels the same
//! way on SIGINT and SIGTERM. (Dropping a sync's future also stops it and keeps its partial
//! files, without the count.) Nothing here is global: two projects in one process have their
//! own settings, Hub clients and request counters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use tokio_util::sync::CancellationToken;

use crate::download::{BlobFetch, DownloadOptions};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::lock::{Lockfile, StaleReason};
use crate::manifest::cooldown::Timestamp;
use crate::manifest::diagnostics::ManifestError;
use crate::manifest::{self, MANIFEST_FILE, Manifest};
use crate::policy::{Finding, Policies};
use crate::reconcile::plan::{BlobAction, Plan};
use crate::report::{Event, Reporter};
use crate::resolve::{self, Resolution, Upgrade};
use crate::settings::{Settings, SettingsOverrides};
use crate::store::Store;
use crate::store::fsops::FileLock;

pub mod account;
pub mod add;
pub mod audit;
pub mod bundle;
pub mod config;
pub mod doctor;
pub mod gc;
pub mod info;
pub mod init;
pub mod lock;
pub mod metrics;
pub mod outdated;
pub mod path;
pub mod push;
pub mod remove;
pub mod search;
pub mod status;
pub mod sync;
pub mod usage;
pub mod verify;

pub use sync::{SyncOptions, SyncPlan, SyncReport};

/// How to open a [`Project`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The manifest; `models.toml` in the current directory when `None`. The lock is
    /// `models.lock` next to it.
    pub manifest: Option<PathBuf>,
    /// Values above every file and variable (the CLI's `--store`, `--offline`, …).
    pub overrides: SettingsOverrides,
    /// The environment variables hfdl reads (`HF_TOKEN`, `HF_HUB_CACHE`, `HFDL_*`, …). Empty by
    /// default, so nothing leaks in by accident: pass [`Env::from_process`] to behave like the
    /// CLI.
    pub env: Env,
}

impl OpenOptions {
    /// The manifest path these options point at.
    pub fn manifest_path(&self) -> PathBuf {
        self.manifest
            .clone()
            .unwrap_or_else(|| PathBuf::from(MANIFEST_FILE))
    }
}

/// Whether opening a project requires its `models.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestNeed {
    /// A missing manifest is an error (`manifest-not-found`).
    Required,
    /// A missing manifest is fine: the project has none.
    Optional,
}

/// A project: its manifest (read once), its settings, and where its lock and store are.
///
/// Cheap to keep and share (`&Project` across tasks): operations take `&self` and re-read the
/// lock and the store each time, so they see what other processes changed.
#[derive(Debug, Clone)]
pub struct Project {
    options: OpenOptions,
    manifest: Option<Manifest>,
    settings: Settings,
}

impl Project {
    /// Opens the project: reads `models.toml` (it must exist), the user's config.toml and the
    /// environment, and resolves the settings. Nothing is written.
    pub fn open(options: OpenOptions) -> Result<Project> {
        let loaded = manifest::load(&options.manifest_path());
        Project::from_loaded(options, loaded, ManifestNeed::Required)
    }

    /// Like [`Project::open`], but a missing `models.toml` is fine: account, store and health
    /// operations also work outside a project (then without a manifest's `[settings]`).
    pub fn open_optional(options: OpenOptions) -> Result<Project> {
        let loaded = manifest::load(&options.manifest_path());
        Project::from_loaded(options, loaded, ManifestNeed::Optional)
    }

    /// Opens the project from what [`manifest::load`] returned for
    /// [`OpenOptions::manifest_path`], for a caller that needed the manifest earlier (the CLI
    /// sets up logging from its `[settings]`), so that it is parsed once.
    pub fn from_loaded(
        options: OpenOptions,
        loaded: std::result::Result<Manifest, ManifestError>,
        need: ManifestNeed,
    ) -> Result<Project> {
        match loaded {
            Ok(manifest) => Project::with_manifest(options, Some(manifest)),
            Err(error)
                if need == ManifestNeed::Optional && error.error_code() == "manifest-not-found" =>
            {
                Project::with_manifest(options, None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A project whose manifest is not read (`init` creates it).
    pub fn without_manifest(options: OpenOptions) -> Result<Project> {
        Project::with_manifest(options, None)
    }

    /// A project that reads neither the manifest nor config.toml's values: for the operations
    /// that must work to repair an invalid config.toml (`config set/unset/path`, and `doctor`
    /// reporting it).
    pub fn without_config_file(options: OpenOptions) -> Result<Project> {
        let config = crate::config::ConfigFile {
            path: options.env.hfdl_config_file(),
            ..Default::default()
        };
        let settings = Settings::resolve(
            &options.manifest_path(),
            &options.overrides,
            &options.env,
            None,
            &config,
        )?;
        Ok(Project {
            options,
            manifest: None,
            settings,
        })
    }

    /// Settings for `manifest` (with its `[settings]`), and the cooldown they decide on given to
    /// its entries.
    fn with_manifest(options: OpenOptions, mut manifest: Option<Manifest>) -> Result<Project> {
        let settings = Settings::new(
            &options.manifest_path(),
            &options.overrides,
            &options.env,
            manifest.as_ref().map(|manifest| &manifest.settings),
        )?;
        if let Some(manifest) = &mut manifest {
            manifest.set_default_cooldown(settings.exclude_newer.as_ref());
        }
        Ok(Project {
            options,
            manifest,
            settings,
        })
    }

    /// The resolved settings (store, endpoint, jobs, …).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The manifest, when the project has one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// Where `models.toml` is (or would be).
    pub fn manifest_path(&self) -> &Path {
        &self.settings.manifest_path
    }

    /// Where `models.lock` is (or would be).
    pub fn lock_path(&self) -> &Path {
        &self.settings.lock_path
    }

    /// The options the project was opened with.
    pub fn options(&self) -> &OpenOptions {
        &self.options
    }

    /// The manifest, or the error that says it is missing.
    pub(crate) fn require_manifest(&self) -> Result<&Manifest> {
        match &self.manifest {
            Some(manifest) => Ok(manifest),
            // Read again for its error (with the path and the hint), which open() would have
            // raised.
            None => Err(manifest::load(self.manifest_path()).err().map_or_else(
                || Error::Usage {
                    message: format!("{} was not read", self.manifest_path().display()),
                    help: "open the project with Project::open".into(),
                },
                Error::from,
            )),
        }
    }

    /// The lock as it is on disk (`None` when there is none).
    pub fn load_lock(&self) -> Result<Option<Lockfile>> {
        Ok(crate::lock::load(self.lock_path())?)
    }

    /// The lock, which must exist.
    pub(crate) fn require_lock(&self) -> Result<Lockfile> {
        self.load_lock()?.ok_or_else(|| Error::LockMissing {
            lock: self.lock_path().to_path_buf(),
        })
    }

    /// The store the settings point at.
    pub fn store(&self) -> Store {
        Store::new(&self.settings.store)
    }

    /// Resolves the manifest against the Hub, keeping the pins of `previous` that still apply.
    pub(crate) async fn resolve(
        &self,
        manifest: &Manifest,
        previous: Option<&Lockfile>,
        upgrade: &Upgrade,
        reporter: &dyn Reporter,
    ) -> Result<Resolution> {
        let hub = self.settings.hub_client();
        Ok(resolve::resolve(
            manifest,
            previous,
            &hub,
            upgrade,
            Timestamp::now(),
            reporter,
        )
        .await?)
    }

    /// The policies that apply to this project: `[policy]` of its manifest (with the entries'
    /// exceptions) and of config.toml (see [`crate::policy`]).
    pub fn policies(&self) -> Policies<'_> {
        Policies::new(self.manifest.as_ref(), self.settings.policy.as_ref())
    }

    /// Checks `lock` against the policies: the warnings go to `reporter` and are returned, a
    /// violation is [`Error::PolicyViolation`]. `adding` names the entry `hfdl add` is adding,
    /// whose exceptions are flags rather than lines of models.toml.
    pub(crate) fn enforce_policy(
        &self,
        lock: &Lockfile,
        adding: Option<&crate::policy::Adding>,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Finding>> {
        let findings = self.policies().check_lock(lock);
        let violations = crate::policy::violations(&findings);
        if !violations.is_empty() {
            return Err(Error::PolicyViolation {
                help: crate::policy::help(&violations, &self.settings.config_path, adding),
                violations,
                reported: false,
            });
        }
        for message in crate::policy::warning_lines(&findings) {
            reporter.report(Event::Warning { message });
        }
        Ok(findings)
    }

    /// Writes the lock when its bytes changed; whether it did.
    pub(crate) fn write_lock(&self, lock: &Lockfile) -> Result<bool> {
        crate::lock::write_if_changed(self.lock_path(), lock).map_err(Error::io(self.lock_path()))
    }

    /// The error for a lock that no longer matches the manifest.
    pub(crate) fn stale_error(&self, manifest: &Manifest, reasons: &[StaleReason]) -> Error {
        Error::LockStale {
            lock: self.lock_path().to_path_buf(),
            manifest: manifest.path.clone(),
            reasons: reasons
                .iter()
                .map(|reason| match reason {
                    StaleReason::Added(name) => format!("`{name}` is not locked yet"),
                    StaleReason::Removed(name) => {
                        format!("`{name}` was removed from the manifest")
                    }
                    StaleReason::Changed(name) => format!("`{name}` changed in the manifest"),
                })
                .collect(),
        }
    }

    /// Plain directories (`dir = "…"`) of locked entries, relative to the manifest's directory.
    pub(crate) fn plain_dirs(&self, lock: &Lockfile) -> BTreeMap<String, PathBuf> {
        let Some(manifest) = &self.manifest else {
            return BTreeMap::new();
        };
        let base = manifest
            .path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        manifest
            .models
            .values()
            .filter(|spec| lock.get(&spec.name).is_some())
            .filter_map(|spec| Some((spec.name.clone(), base.join(spec.dir.as_ref()?))))
            .collect()
    }

    /// Records the lockfile, and the repos `plan` writes into, in hfdl's registry before the
    /// first change, so `gc` keeps them (and resumable partial files) even if this run fails
    /// half-way. Only repos hfdl writes to become "hfdl's" for gc: a repo another tool filled,
    /// which this run merely adopts, stays out of a plain `gc`. Failing to record does not fail
    /// the run; the warning says what it risks.
    pub(crate) fn remember_sync(
        &self,
        store: &Store,
        lock: &Lockfile,
        plan: &Plan,
        reporter: &dyn Reporter,
    ) {
        let mut writers: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for step in &plan.blobs {
            if step.action != BlobAction::Verify {
                writers.extend(step.models.iter().map(String::as_str));
            }
        }
        writers.extend(plan.links.iter().map(|step| step.model.as_str()));
        writers.extend(plan.refs.iter().map(|step| step.model.as_str()));
        let repos = lock
            .models
            .iter()
            .filter(|model| writers.contains(model.name.as_str()))
            .map(|model| crate::store::RepoRef {
                repo_type: model.repo_type,
                repo: &model.repo,
            });
        let registry = crate::store::registry::Registry::new(&self.settings.state_dir);
        if let Err(error) = registry.record_sync(store, self.lock_path(), repos) {
            reporter.report(Event::Warning {
                message: format!(
                    "could not record {} in hfdl's registry ({error}); `hfdl gc` run elsewhere may delete its files",
                    self.lock_path().display()
                ),
            });
        }
    }
}

/// The downloads an operation planned, recorded once it has a plan, so that a cancellation can
/// say what they kept.
#[derive(Debug, Default)]
pub(crate) struct PlannedDownloads(OnceLock<(Vec<BlobFetch>, DownloadOptions)>);

impl PlannedDownloads {
    /// Records the blobs `plan` fetches from the network, and how.
    pub(crate) fn record(&self, plan: &Plan, options: &DownloadOptions) {
        let fetches = plan
            .blobs
            .iter()
            .filter(|step| {
                matches!(
                    step.action,
                    BlobAction::Download { .. } | BlobAction::Replace { .. }
                )
            })
            .map(|step| step.fetch.clone())
            .collect();
        let _ = self.0.set((fetches, options.clone()));
    }

    /// [`Error::Cancelled`] with the partial files the planned downloads left, counted once
    /// their writers let go. A cancelled download's disk writer (a thread) drains the chunks
    /// already queued, flushes and only then releases the blob's lock: waiting for those locks
    /// (briefly: another process may hold one for its own download) makes the count what a
    /// resume finds, and lets the process exit with nothing in flight.
    pub(crate) async fn cancelled(&self) -> Error {
        const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
        let Some((fetches, options)) = self.0.get() else {
            return Error::Cancelled {
                partial_files: 0,
                partial_bytes: 0,
            };
        };
        let deadline = std::time::Instant::now() + PATIENCE;
        // Only blobs whose download started have a lock file; taking one creates it otherwise.
        let mut busy: Vec<&BlobFetch> = fetches.iter().filter(|f| f.lock.exists()).collect();
        while !busy.is_empty() && std::time::Instant::now() < deadline {
            busy.retain(|fetch| matches!(FileLock::try_acquire(&fetch.lock), Ok(None)));
            if !busy.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        let (mut partial_files, mut partial_bytes) = (0, 0);
        for fetch in fetches {
            let kept = crate::download::kept_bytes(fetch, options);
            if kept > 0 {
                partial_files += 1;
                partial_bytes += kept;
            }
        }
        Error::Cancelled {
            partial_files,
            partial_bytes,
        }
    }
}

/// Runs `work` until it ends or `cancel` fires. Cancelled, `work` is dropped at its next await
/// (its transfers stop, the files it was writing stay partial and resumable, nothing half-written
/// is published) and the error counts what `planned` kept. Synchronous steps inside `work`
/// check the token themselves between whole units.
pub(crate) async fn until_cancelled<T>(
    cancel: Option<&CancellationToken>,
    planned: &PlannedDownloads,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(cancel) = cancel else {
        return work.await;
    };
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        result = work => Some(result),
    };
    match result {
        // Work that noticed the token itself ([`check_cancel`]) did not count what it kept.
        None | Some(Err(Error::Cancelled { .. })) => Err(planned.cancelled().await),
        Some(result) => result,
    }
}

/// [`Error::Cancelled`] when `cancel` fired: for synchronous work to call between whole units.
pub(crate) fn check_cancel(cancel: Option<&CancellationToken>) -> Result<()> {
    match cancel {
        Some(cancel) if cancel.is_cancelled() => Err(Error::Cancelled {
            partial_files: 0,
            partial_bytes: 0,
        }),
        _ => Ok(()),
    }
}

/// Holds the store lock shared until the returned guard drops: any number of syncs run side
/// by side, but `gc` (exclusive) never deletes what this one scanned and relies on. Waiting for
/// a running `gc` happens on a blocking thread, so the runtime (and a cancellation) is not held
/// up meanwhile.
pub(crate) async fn share_store(store: &Store, reporter: &dyn Reporter) -> Result<FileLock> {
    use crate::store::fsops::LockMode;
    const PATIENCE: std::time::Duration = std::time::Duration::from_mins(10);
    let path = store.store_lock_path();
    // Free, the usual case: taken at once.
    let now = FileLock::acquire_within(&path, LockMode::Shared, std::time::Duration::ZERO, || {})
        .map_err(Error::io(&path))?;
    if let Some(lock) = now {
        return Ok(lock);
    }
    reporter.report(Event::Status {
        message: "Waiting for `hfdl gc` on this store to finish…".into(),
    });
    let waiting = path.clone();
    tokio::task::spawn_blocking(move || {
        FileLock::acquire_within(&waiting, LockMode::Shared, PATIENCE, || {})
    })
    .await
    .map_err(|error| Error::Io {
        path: path.clone(),
        source: std::io::Error::other(error),
    })?
    .map_err(Error::io(&path))?
    .ok_or_else(|| Error::StoreBusy {
        store: store.root().to_path_buf(),
        waited_secs: PATIENCE.as_secs(),
    })
}

impl Project {
    /// Reads a repo as people name it (`org/name@REV`, a Hub URL, an `hf://` URI; see
    /// [`crate::repo::reference`]), on this project's endpoint, combined with the type and
    /// include patterns given beside it. What cannot be read, or contradicts the flags, is a
    /// usage error that shows the forms that work.
    pub(crate) fn target(
        &self,
        repo: &str,
        repo_type: Option<crate::repo::RepoType>,
        include: &[String],
    ) -> Result<crate::repo::reference::Target> {
        let endpoint = Some(self.settings.endpoint.as_str());
        let usage = |error: crate::repo::reference::ReferenceError| Error::Usage {
            message: if error.input.is_empty() {
                format!("`{repo}`: {error}")
            } else {
                error.to_string()
            },
            help: error.help(endpoint),
        };
        crate::repo::reference::parse(repo, endpoint)
            .map_err(usage)?
            .into_target(repo_type, include)
            .map_err(usage)
    }
}

/// The error for an entry name the manifest does not have.
pub(crate) fn unknown_model(manifest: &Manifest, name: &str) -> Error {
    Error::UnknownModel {
        name: name.to_owned(),
        manifest: manifest.path.clone(),
        known: manifest.models.keys().cloned().collect(),
    }
}

/// The error for a plan that needs the network while offline: it names the files (the first
/// ten) it would have fetched.
pub(crate) fn offline_missing(plan: &Plan) -> Error {
    let mut missing: Vec<String> = plan
        .blobs
        .iter()
        .filter(|s| {
            matches!(
                s.action,
                BlobAction::Download { .. } | BlobAction::Replace { .. }
            )
        })
        .map(|s| format!("{}: {}", s.models.join("+"), s.path))
        .collect();
    if missing.len() > 10 {
        let more = missing.len() - 10;
        missing.truncate(10);
        missing.push(format!("and {more} more"));
    }
    Error::OfflineMissing { missing }
}

impl Project {
    /// For a signed-in user refused by a gated repo: asks the Hub whose token it is and puts the
    /// account's name in the error's help (which account must accept the conditions). One quick
    /// attempt: this only improves a message, it must not hold the error back.
    pub async fn name_the_account(&self, error: &mut Error) {
        let Some(crate::hub::HubError::GatedRepo {
            authenticated: true,
            repo,
            repo_type,
            help,
            ..
        }) = error.hub_error_mut()
        else {
            return;
        };
        let mut options = self.settings.hub_options();
        options.token = self
            .settings
            .token(crate::hub::auth::TokenUse::Implicit)
            .map(|(token, _)| token);
        options.timeout = std::time::Duration::from_secs(5);
        options.retries = 0;
        if let Ok(me) = crate::hub::HubClient::new(options).whoami().await {
            *help = format!(
                "accept the conditions at {}/{}{repo} while logged in as {}, then run again",
                self.settings.endpoint,
                repo_type.url_prefix(),
                me.name
            );
        }
    }
}
