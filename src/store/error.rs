//! What the store's bookkeeping (the registry of known lockfiles, garbage collection) can fail
//! with. The top-level [`crate::error::Error`] wraps it; this module knows nothing above it.

use std::path::PathBuf;

use crate::codes::{EXIT_FAILURE, ErrorCode};

/// A failure of the registry or of `gc`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    /// A file or directory of the store (or of hfdl's state) could not be read or written.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// hfdl's registry of known lockfiles exists but does not parse.
    #[error("hfdl's registry of known lockfiles {} cannot be read: {reason}", path.display())]
    #[diagnostic(help(
        "delete {} and run `hfdl sync` in each project that uses this store (gc keeps only what known lockfiles reference)",
        path.display()
    ))]
    RegistryUnreadable {
        /// The registry file.
        path: PathBuf,
        /// Why it does not parse.
        reason: String,
    },

    /// A lockfile the registry remembers exists but cannot be read, so gc cannot tell what it
    /// needs.
    #[error("the lockfile {} that hfdl synced cannot be read, so gc cannot tell what it needs: {reason}", lock.display())]
    #[diagnostic(help(
        "fix it (`hfdl lock` in its project) or delete it, then run `hfdl gc` again; gc deletes nothing on a guess"
    ))]
    GcLockUnreadable {
        /// The lockfile.
        lock: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },

    /// `gc` was cancelled through its token, between two whole deletions.
    #[error("cancelled")]
    Cancelled,
}

impl StoreError {
    /// An I/O error on `path`, for `map_err`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}

impl ErrorCode for StoreError {
    fn error_code(&self) -> &'static str {
        match self {
            StoreError::Io { source, .. } if crate::codes::is_disk_full(source) => "disk-full",
            StoreError::Io { .. } => "io-error",
            StoreError::RegistryUnreadable { .. } => "registry-unreadable",
            StoreError::GcLockUnreadable { .. } => "gc-lock-unreadable",
            StoreError::Cancelled => "cancelled",
        }
    }

    fn exit_code(&self) -> i32 {
        EXIT_FAILURE
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
