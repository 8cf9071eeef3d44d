//! The top-level error: every failure a command can end with, its stable `--json` code and its
//! exit code (design.md, Exit codes). Rendered once, in `main.rs`.

use std::path::PathBuf;

use crate::download::DownloadError;
use crate::hub::HubError;
use crate::lock::LockError;
use crate::manifest::ManifestError;
use crate::resolve::ResolveError;

pub use crate::codes::{
    EXIT_AUTH, EXIT_BUG, EXIT_FAILURE, EXIT_NETWORK, EXIT_OK, EXIT_USAGE, ErrorCode,
};

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The manifest (`models.toml`) could not be read or is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),

    /// The lockfile (`models.lock`) could not be read or is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] LockError),

    /// Resolving manifest entries to commits and file lists failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Resolve(#[from] ResolveError),

    /// A request to the Hub failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Hub(#[from] HubError),

    /// A blob could not be fetched into the store.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Download(#[from] DownloadError),

    /// The lock no longer matches the manifest.
    #[error("{} is out of date with {}: {}", lock.display(), manifest.display(), reasons.join(", "))]
    #[diagnostic(help("run `hfdl lock` and commit {}", lock.display()))]
    LockStale {
        /// The lockfile.
        lock: PathBuf,
        /// The manifest it was checked against.
        manifest: PathBuf,
        /// One line per entry that differs: not locked yet, removed, or changed.
        reasons: Vec<String>,
    },

    /// The command needs a lockfile and there is none.
    #[error("{} does not exist", lock.display())]
    #[diagnostic(help("run `hfdl lock` to create it, and commit it next to the manifest"))]
    LockMissing {
        /// Where the lockfile was expected.
        lock: PathBuf,
    },

    /// Offline, and the store lacks files the lock needs.
    #[error("offline, and the store lacks what the lock needs: {}", missing.join(", "))]
    #[diagnostic(help(
        "run `hfdl sync` once with network access (without --offline / HF_HUB_OFFLINE)"
    ))]
    OfflineMissing {
        /// The first ten missing files as `model: path`, then an "and N more" line if any.
        missing: Vec<String>,
    },

    /// The store's disk lacks room for the sync plus the reserve it keeps free.
    #[error("not enough free disk space in {}: the sync needs {needed} bytes and leaves {reserve} free for other programs, {available} are available", path.display())]
    #[diagnostic(help(
        "free some space (`hfdl gc` removes what no lock uses), or point --store / HF_HUB_CACHE at a larger disk"
    ))]
    DiskFull {
        /// The store directory whose disk was measured.
        path: PathBuf,
        /// Bytes the sync still has to download.
        needed: u64,
        /// Bytes free on the disk.
        available: u64,
        /// What a sync keeps free on the disk (`store::disk::reserve_for`).
        reserve: u64,
    },

    /// A model name given on the command line is not in the manifest.
    #[error("no entry named `{name}` in {}", manifest.display())]
    #[diagnostic(help("{}", if known.is_empty() { "the manifest has no entries; add one with `hfdl add REPO`".to_owned() } else { format!("known entries: {}", known.join(", ")) }))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The manifest searched.
        manifest: PathBuf,
        /// The entry names the manifest does have.
        known: Vec<String>,
    },

    /// A manifest entry is not locked yet, or its snapshot is not in the store.
    #[error("`{name}` is not synced: {} is missing", path.display())]
    #[diagnostic(help("run `hfdl sync`"))]
    NotSynced {
        /// The entry's name.
        name: String,
        /// What is missing: the lockfile (entry not locked) or the snapshot directory.
        path: PathBuf,
    },

    /// `hfdl init --from-cache` found no complete snapshot to adopt.
    #[error("no complete snapshot in {}", store.display())]
    #[diagnostic(help(
        "point hfdl at the cache with --store or HF_HUB_CACHE, or start with `hfdl init` and `hfdl add REPO`"
    ))]
    NothingCached {
        /// The store that was searched.
        store: PathBuf,
    },

    /// `hfdl init` refuses to overwrite an existing manifest.
    #[error("{} already exists", path.display())]
    #[diagnostic(help("edit it, or use `hfdl add REPO` to add entries"))]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },

    /// The command line asked for something invalid.
    #[error("{message}")]
    #[diagnostic(help("{help}"))]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
    },

    /// `hfdl doctor` had failing checks (its report has already been printed).
    #[error("doctor found problems: {}", failures.join(", "))]
    #[diagnostic(help("each failed check above says what to fix"))]
    ChecksFailed {
        /// The names of the failed checks.
        failures: Vec<String>,
    },

    /// `hfdl outdated` found entries whose revision moved upstream since they were locked.
    #[error("{} moved upstream: {}", crate::report::count(names.len(), "model"), names.join(", "))]
    #[diagnostic(help(
        "take the updates with `hfdl lock --upgrade-model NAME`, or `hfdl lock --upgrade`"
    ))]
    Outdated {
        /// The outdated entries' names.
        names: Vec<String>,
    },

    /// The lock breaks a rule of `[policy]` (models.toml or config.toml): a license, pickle-based
    /// weights, remote code or a size. Nothing was written.
    #[error("{}", crate::policy::summary(violations))]
    #[diagnostic(help("{help}"))]
    PolicyViolation {
        /// The violations, by entry then rule.
        violations: Vec<crate::policy::Finding>,
        /// What to do: the exceptions to write, the usual fix for pickles, where a rule of
        /// config.toml is set ([`crate::policy::help`]).
        help: String,
        /// The command printed a report that lists them already (`outdated`).
        reported: bool,
    },

    /// `hfdl audit` found something to act on (its report has already been printed): a policy
    /// violation, a pickle that imports something dangerous, or a file that is not valid as its
    /// format.
    #[error("{}", audit_failure(*violations, *dangerous, *invalid))]
    #[diagnostic(help("{}", audit_help(*violations, *dangerous, *invalid)))]
    AuditFailed {
        /// Policy violations.
        violations: usize,
        /// Files whose pickles import something dangerous.
        dangerous: usize,
        /// Files that are not valid as their format (or could not be fully scanned).
        invalid: usize,
    },

    /// The OS keyring holding the token could not be used.
    #[error(transparent)]
    #[diagnostic(help(
        "unlock the keyring (or set HFDL_KEYRING=none to leave it alone and use the HF token file)"
    ))]
    Keyring(#[from] crate::hub::keyring::KeyringError),

    /// A file system operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory operated on.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// `hfdl verify` found the store out of line with the lock (its report has already been
    /// printed).
    #[error("the store does not match models.lock: {} in {} checked", crate::report::count(*problems, "problem"), crate::report::count(*checked, "file"))]
    #[diagnostic(help("{}", if *repaired {
        "the repair left these problems; check permissions and free space on the store, then run `hfdl verify --repair` again"
    } else {
        "run `hfdl verify --repair` to re-fetch what is missing or damaged and remove what is extra"
    }))]
    VerifyFailed {
        /// Problems found (after the repair, when there was one).
        problems: usize,
        /// Files checked.
        checked: usize,
        /// Whether `--repair` ran, so these are the problems it left.
        repaired: bool,
    },
    /// Another hfdl process held the store's lock for longer than this one would wait.
    #[error("the store {} is in use by another hfdl process; waited {waited_secs}s", store.display())]
    #[diagnostic(help(
        "run the command again once the other hfdl process has finished (a sync waits for gc up to 10 minutes; gc waits for syncs up to `--wait SECONDS`)"
    ))]
    StoreBusy {
        /// The store's root directory.
        store: PathBuf,
        /// How long this process waited, in seconds.
        waited_secs: u64,
    },

    /// The configuration is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] crate::config::ConfigError),

    /// The store's bookkeeping (registry of lockfiles, garbage collection) failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] crate::store::error::StoreError),

    /// An air-gapped bundle could not be written (`hfdl export`) or was refused (`hfdl import`).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bundle(#[from] crate::store::bundle::BundleError),

    /// The shared blob store could not be used where it is required (`hfdl push`).
    #[error(transparent)]
    #[diagnostic(transparent)]
    BlobStore(#[from] crate::blobstore::BlobStoreError),

    /// The operation was cancelled through its cancellation token (the CLI's on SIGINT or
    /// SIGTERM). It stopped between whole steps: partial downloads are kept for a resume,
    /// nothing half-written is published, and a lock is written whole or not at all.
    #[error("cancelled{}", kept_partials(*partial_files, *partial_bytes))]
    #[diagnostic(help(
        "run the command again: it continues where this one stopped (partial downloads resume with HTTP Range)"
    ))]
    Cancelled {
        /// Partial downloads of the operation's plan left in the store for the next run to
        /// resume (`blobs/*.incomplete`); 0 for operations that download nothing.
        partial_files: usize,
        /// The bytes those partial files hold that a resume keeps.
        partial_bytes: u64,
    },
}

/// `hfdl audit`'s verdict in one line: what it found, most serious first.
fn audit_failure(violations: usize, dangerous: usize, invalid: usize) -> String {
    let mut parts = Vec::new();
    if dangerous > 0 {
        parts.push(format!(
            "{} with dangerous imports",
            crate::report::count(dangerous, "pickle-based file")
        ));
    }
    if violations > 0 {
        parts.push(crate::report::count(violations, "policy violation"));
    }
    if invalid > 0 {
        parts.push(format!(
            "{} not valid as {}",
            crate::report::count(invalid, "file"),
            if invalid == 1 {
                "its format"
            } else {
                "their format"
            }
        ));
    }
    format!("the audit found {}", parts.join(", "))
}

/// What to do after a failed audit.
fn audit_help(violations: usize, dangerous: usize, invalid: usize) -> &'static str {
    if dangerous > 0 {
        "do not load the files listed as dangerous: exclude them in models.toml (e.g. exclude = [\"*.bin\"], when the repo has safetensors) or pick another model; `hfdl explain dangerous-pickle`"
    } else if violations > 0 {
        "each violation above says what to change; `hfdl explain policy-violation`"
    } else if invalid == 0 {
        "see the report above"
    } else {
        "the files listed above are damaged or not what their name says: `hfdl verify --repair` fetches them again; `hfdl explain invalid-model-file`"
    }
}

/// `: 2 partial files kept (951.00 MiB); `hfdl sync` resumes`, or nothing when none was kept:
/// the tail of a cancelled operation's message.
fn kept_partials(files: usize, bytes: u64) -> String {
    if files == 0 {
        return String::new();
    }
    format!(
        ": {} kept ({}); `hfdl sync` resumes",
        crate::report::count(files, "partial file"),
        indicatif::HumanBytes(bytes)
    )
}

impl Error {
    /// The error and its causes on one line (the `message` of a `--json` error, annotations).
    pub fn message_chain(&self) -> String {
        crate::codes::error_chain(self)
    }

    /// The help of the error or, when it has none, of the first error it wraps that has one
    /// (the miette report shows those too).
    pub fn help_text(&self) -> Option<String> {
        fn first_help(diagnostic: &dyn miette::Diagnostic) -> Option<String> {
            diagnostic
                .help()
                .map(|help| help.to_string())
                .or_else(|| diagnostic.diagnostic_source().and_then(first_help))
        }
        first_help(self)
    }

    /// The stable machine code of `--json` errors.
    pub fn error_code(&self) -> &'static str {
        match self {
            Error::Manifest(e) => e.error_code(),
            Error::Lock(e) => e.error_code(),
            Error::Resolve(e) => e.error_code(),
            Error::Hub(e) => e.error_code(),
            Error::Download(e) => e.error_code(),
            Error::LockStale { .. } => "lock-stale",
            Error::LockMissing { .. } => "lock-missing",
            Error::OfflineMissing { .. } => "offline-missing",
            Error::UnknownModel { .. } => "unknown-model",
            Error::NotSynced { .. } => "not-synced",
            Error::DiskFull { .. } => "disk-full",
            Error::AlreadyExists { .. } => "already-exists",
            Error::NothingCached { .. } => "nothing-cached",
            Error::Usage { .. } => "usage",
            Error::Keyring(_) => "keyring-error",
            Error::ChecksFailed { .. } => "doctor-failed",
            Error::Outdated { .. } => "outdated",
            Error::Io { source, .. } if crate::codes::is_disk_full(source) => "disk-full",
            Error::Io { .. } => "io-error",
            Error::VerifyFailed { .. } => "verify-failed",
            Error::StoreBusy { .. } => "store-busy",
            Error::Config(e) => e.error_code(),
            Error::Store(e) => e.error_code(),
            Error::Bundle(e) => e.error_code(),
            Error::BlobStore(e) => e.error_code(),
            Error::Cancelled { .. } => "cancelled",
            Error::PolicyViolation { .. } => "policy-violation",
            Error::AuditFailed {
                violations,
                dangerous,
                ..
            } => {
                if *dangerous > 0 {
                    "dangerous-pickle"
                } else if *violations > 0 {
                    "policy-violation"
                } else {
                    "invalid-model-file"
                }
            }
        }
    }

    /// Failures that are the verdict of a report the command already wrote (doctor's checks,
    /// outdated's drift): with `--json`, that document is the whole answer, so a second JSON
    /// document (the error) would only break parsers of stdout.
    pub fn is_a_reported_verdict(&self) -> bool {
        matches!(
            self,
            Error::ChecksFailed { .. }
                | Error::Outdated { .. }
                | Error::VerifyFailed { .. }
                | Error::AuditFailed { .. }
                | Error::PolicyViolation { reported: true, .. }
        )
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Manifest(_)
            | Error::Lock(_)
            | Error::UnknownModel { .. }
            | Error::Usage { .. }
            | Error::AlreadyExists { .. }
            | Error::Config(_) => EXIT_USAGE,
            Error::Resolve(e) => e.exit_code(),
            Error::Hub(e) => e.exit_code(),
            Error::Download(e) => e.exit_code(),
            Error::Store(e) => e.exit_code(),
            Error::Bundle(e) => e.exit_code(),
            Error::BlobStore(e) => e.exit_code(),
            Error::LockStale { .. }
            | Error::LockMissing { .. }
            | Error::OfflineMissing { .. }
            | Error::NotSynced { .. }
            | Error::DiskFull { .. }
            | Error::Keyring(_)
            | Error::ChecksFailed { .. }
            | Error::Outdated { .. }
            | Error::NothingCached { .. }
            | Error::Io { .. }
            | Error::VerifyFailed { .. }
            | Error::StoreBusy { .. }
            | Error::PolicyViolation { .. }
            | Error::AuditFailed { .. }
            | Error::Cancelled { .. } => EXIT_FAILURE,
        }
    }

    /// The Hub error inside, wherever it was raised (resolving, downloading, or directly).
    pub fn hub_error_mut(&mut self) -> Option<&mut HubError> {
        match self {
            Error::Hub(e)
            | Error::Resolve(ResolveError::Hub { source: e, .. })
            | Error::Download(DownloadError::Hub(e)) => Some(e),
            _ => None,
        }
    }

    /// For [`Error::Cancelled`], what the operation kept, as its message ends (`: 2 partial
    /// files kept (951.00 MiB); `hfdl sync` resumes`, or empty); `None` for other errors. The CLI
    /// prints it after `interrupted` when a signal stopped it.
    pub fn kept_on_cancel(&self) -> Option<String> {
        match self {
            Error::Cancelled {
                partial_files,
                partial_bytes,
            } => Some(kept_partials(*partial_files, *partial_bytes)),
            _ => None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn counted_messages_read_right_for_one_and_for_two() {
        let outdated = |names: &[&str]| {
            Error::Outdated {
                names: names.iter().map(|n| (*n).to_owned()).collect(),
            }
            .to_string()
        };
        assert_eq!(outdated(&["tiny"]), "1 model moved upstream: tiny");
        assert_eq!(outdated(&["a", "b"]), "2 models moved upstream: a, b");
        let verify = |problems, checked| {
            Error::VerifyFailed {
                problems,
                checked,
                repaired: false,
            }
            .to_string()
        };
        assert_eq!(
            verify(1, 1),
            "the store does not match models.lock: 1 problem in 1 file checked"
        );
        assert_eq!(
            verify(2, 2),
            "the store does not match models.lock: 2 problems in 2 files checked"
        );
        let cancelled = |partial_files| {
            Error::Cancelled {
                partial_files,
                partial_bytes: 2048,
            }
            .to_string()
        };
        assert_eq!(
            cancelled(1),
            "cancelled: 1 partial file kept (2.00 KiB); `hfdl sync` resumes"
        );
        assert_eq!(
            cancelled(2),
            "cancelled: 2 partial files kept (2.00 KiB); `hfdl sync` resumes"
        );
    }
}
