//! Air-gapped bundles (`hfdl export`, `hfdl import`): one tar file with a project's
//! `models.lock` and exactly the blobs it pins, to carry a store to a machine without a network.
//!
//! The format is a plain (ustar) tar that any tool can list:
//!
//! ```text
//! models.lock                  first: an import reads the pins before any blob
//! blobs/git-sha1/<40 hex>      every blob the lock pins, once per content hash, sorted
//! blobs/sha256/<64 hex>
//! ```
//!
//! Every entry is a regular file with mode 0644, owner 0 and mtime 0, so the same lock and
//! store always make the same bytes. Nothing else may be in a bundle.
//!
//! **Export** ([`export`]) checks that the store holds every pinned blob with its locked size
//! before it writes a byte, then hashes each blob as it copies it into the archive: a blob that
//! does not hash to its pin stops the export ([`BundleError::NotInStore`]), and the caller
//! discards what was written.
//!
//! **Import** ([`stage`], then [`StagedBundle::commit`]) never trusts the bundle: it reads the
//! bundle's lock, then streams each blob into a staging directory while hashing it, and checks
//! its size and digest against that lock. An entry the lock does not pin, an unsafe name, a
//! mismatch, a blob missing or an archive cut short refuses the whole bundle before anything is
//! visible in the store ([`BundleError::Invalid`], [`BundleError::Damaged`]). Only once every
//! entry has been verified are the blobs moved into `blobs/` of each repo that pins them (a
//! rename, or a hard link or copy for the second repo of the same content). The staging
//! directory ([`Staging`]) lives in the store's `.locks/` folder, which the Hugging Face cache
//! scan ignores and `gc` leaves alone, on the same file system as the blobs, so moving a
//! verified blob into place is one atomic rename. Linking snapshots and writing refs is left
//! to `sync`, which finds the imported blobs in the stat cache and sends no request.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::disk;
use super::fsops::{FileLock, sync_dir};
use super::layout::{RepoRef, Store};
use super::verified::VerifiedBlobs;
use crate::codes::{EXIT_FAILURE, ErrorCode};
use crate::hash::{ContentHash, ContentHasher, HashKind};
use crate::lock::{LockError, Lockfile};
use crate::report::{Event, Reporter, TaskIds, TaskKind};

/// The name of the lock's entry, the first of every bundle.
pub const LOCK_ENTRY: &str = "models.lock";
/// The largest lock an import reads into memory (a lock of 100 000 files is about 15 MiB).
const MAX_LOCK_BYTES: u64 = 64 << 20;
/// Bytes read, hashed and written at a time.
const CHUNK: usize = 1 << 20;
/// Progress is reported after at least this many bytes (or at a blob's end).
const PROGRESS_EVERY: u64 = 1 << 20;
/// Staging directories are `.locks/hfdl-import-<random>/`.
const STAGING_PREFIX: &str = "hfdl-import-";
/// The lock file inside a staging directory, held by the import that uses it.
const STAGING_LOCK: &str = ".lock";
/// A staging directory older than this whose lock is free was left by a killed import.
const STALE_STAGING: Duration = Duration::from_hours(1);
/// Problems listed in one message; the rest are counted.
const LISTED: usize = 10;
/// The help of a refused bundle.
const REMAKE: &str = "a bundle made by `hfdl export` holds its models.lock and exactly the blobs it pins, as regular files; make it again with `hfdl export -o FILE`";

/// What a bundle could not be written or read for.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BundleError {
    /// `hfdl export`: blobs the lock pins are missing from the store or damaged there, so the
    /// bundle would be incomplete. Nothing is published.
    #[error("cannot export {}: the store does not hold what it pins: {}", lock.display(), problems.join("; "))]
    #[diagnostic(help(
        "run `hfdl sync` (it fetches what is missing and replaces what is damaged), then export again"
    ))]
    NotInStore {
        /// The lockfile being exported.
        lock: PathBuf,
        /// One line per missing or damaged file (`model: path …`), the first ten, then a count.
        problems: Vec<String>,
    },

    /// `hfdl import`: the file is not a bundle, or holds something a bundle may not (an entry
    /// its lock does not pin, an unsafe name, a link). Nothing was imported.
    #[error("{bundle} is not a valid hfdl bundle: {reason}")]
    #[diagnostic(help("{help}"))]
    Invalid {
        /// The bundle, as named on the command line.
        bundle: String,
        /// The offending entry, when there is one.
        entry: Option<String>,
        /// What is wrong.
        reason: String,
        /// What to do.
        help: String,
    },

    /// `hfdl import`: the bundle's bytes are damaged: a blob does not match the size or hash its
    /// lock pins, blobs are missing, or the archive is cut short. Nothing was imported.
    #[error("{bundle} is damaged: {reason}")]
    #[diagnostic(help(
        "nothing was imported; copy the bundle again (compare `sha256sum` of both copies), or make a new one with `hfdl export`"
    ))]
    Damaged {
        /// The bundle, as named on the command line.
        bundle: String,
        /// The damaged entry, when there is one.
        entry: Option<String>,
        /// What is wrong, naming the entry and the locked file.
        reason: String,
    },

    /// The lock to export pins one content with two sizes (a hand-edited lock).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] LockError),

    /// `hfdl import`: the store's disk has no room for the blobs plus the reserve hfdl keeps
    /// free. Nothing was imported.
    #[error(
        "not enough free disk space in {}: the import needs {} and leaves {} free for other programs, {} are available",
        path.display(), indicatif::HumanBytes(*needed), indicatif::HumanBytes(*reserve), indicatif::HumanBytes(*available)
    )]
    #[diagnostic(help(
        "free some space (`hfdl gc` removes what no lock uses), or import into a larger disk with --store / HF_HUB_CACHE"
    ))]
    DiskFull {
        /// The store whose disk was measured.
        path: PathBuf,
        /// Bytes the import adds to the store.
        needed: u64,
        /// Bytes free on the disk.
        available: u64,
        /// Bytes hfdl keeps free ([`disk::reserve_for`]).
        reserve: u64,
    },

    /// Reading a blob from the store, or writing the archive or the staged files, failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// The operation was cancelled through its token, between two chunks.
    #[error("cancelled")]
    Cancelled,
}

impl BundleError {
    /// An I/O error on `path`, for `map_err`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BundleError {
        let path = path.into();
        move |source| BundleError::Io { path, source }
    }
}

impl ErrorCode for BundleError {
    fn error_code(&self) -> &'static str {
        match self {
            BundleError::NotInStore { .. } => "export-incomplete",
            BundleError::Invalid { .. } => "bundle-invalid",
            BundleError::Damaged { .. } => "bundle-damaged",
            BundleError::Lock(e) => e.error_code(),
            BundleError::DiskFull { .. } => "disk-full",
            BundleError::Io { source, .. } if crate::codes::is_disk_full(source) => "disk-full",
            BundleError::Io { .. } => "io-error",
            BundleError::Cancelled => "cancelled",
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            BundleError::Lock(_) => crate::codes::EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }
}

/// The archive entry of a blob: `blobs/sha256/<hex>` or `blobs/git-sha1/<hex>`.
pub fn blob_entry(hash: &ContentHash) -> String {
    format!("blobs/{}/{}", hash.kind().as_str(), hash.hex())
}

/// What an entry name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EntryName {
    Lock,
    Blob(ContentHash),
}

/// Reads an entry name; the error says why it cannot be in a bundle.
fn parse_entry_name(name: &str) -> Result<EntryName, String> {
    if name == LOCK_ENTRY {
        return Ok(EntryName::Lock);
    }
    let escapes = name.starts_with('/')
        || name.contains('\\')
        || (name.len() >= 2 && name.as_bytes()[1] == b':')
        || name.split('/').any(|segment| segment == "..");
    if escapes {
        return Err(format!(
            "the entry `{name}` has an unsafe name: it points outside the bundle"
        ));
    }
    let unexpected = || {
        format!(
            "the entry `{name}` is not part of a bundle, which holds `{LOCK_ENTRY}` and `blobs/sha256/<hex>`, `blobs/git-sha1/<hex>` only"
        )
    };
    let mut parts = name.split('/');
    let (Some("blobs"), Some(kind), Some(hex), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unexpected());
    };
    let kind = match kind {
        "sha256" => HashKind::Sha256,
        "git-sha1" => HashKind::GitSha1,
        _ => return Err(unexpected()),
    };
    ContentHash::new(kind, hex)
        .map(EntryName::Blob)
        .map_err(|_| unexpected())
}

/// One content the lock pins: its size, the files that are it, and where it goes in the store.
#[derive(Debug, Clone)]
struct Pin {
    size: u64,
    /// `model: path` of every locked file with this content.
    owners: Vec<String>,
    /// The repo path of the first of them (the label of its progress).
    path: String,
    /// `blobs/<hex>` in each repo that pins it, without repeats.
    targets: Vec<PathBuf>,
}

impl Pin {
    /// `tiny: config.json`, or `tiny: config.json (and 2 more files)`.
    fn owner(&self) -> String {
        match self.owners.len() {
            0 | 1 => self.owners.concat(),
            n => format!(
                "{} (and {} with the same content)",
                self.owners[0],
                crate::report::count(n - 1, "other file")
            ),
        }
    }
}

/// Every content `lock` pins, by hash. The error names two files that pin one content with
/// different sizes (only a hand-edited lock can).
fn pins(lock: &Lockfile, store: &Store) -> Result<BTreeMap<ContentHash, Pin>, String> {
    let mut pins: BTreeMap<ContentHash, Pin> = BTreeMap::new();
    for model in &lock.models {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        for file in &model.files {
            let owner = format!("{}: {}", model.name, file.path);
            let target = store.blob_path(repo, &file.hash);
            let pin = pins.entry(file.hash.clone()).or_insert_with(|| Pin {
                size: file.size,
                owners: Vec::new(),
                path: file.path.clone(),
                targets: Vec::new(),
            });
            if pin.size != file.size {
                return Err(format!(
                    "`{}` and `{owner}` pin the same content {} with different sizes ({} and {} bytes)",
                    pin.owners[0], file.hash, pin.size, file.size
                ));
            }
            pin.owners.push(owner);
            if !pin.targets.contains(&target) {
                pin.targets.push(target);
            }
        }
    }
    Ok(pins)
}

/// `lines`, the first ten, then `and N more`.
fn first_lines(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > LISTED {
        let more = lines.len() - LISTED;
        lines.truncate(LISTED);
        lines.push(format!("and {more} more"));
    }
    lines
}

fn cancelled(cancel: Option<&CancellationToken>) -> bool {
    cancel.is_some_and(CancellationToken::is_cancelled)
}

/// A tar header for a regular file of `size` bytes, the same on every machine.
fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries in the lock.
    pub models: usize,
    /// Locked files (several may share one blob).
    pub locked_files: usize,
    /// Blobs written: one per distinct content.
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
    /// Bytes of the whole archive.
    pub archive_bytes: u64,
}

/// Writes the bundle of `lock` (whose file holds `lock_text`, written verbatim) to `writer`,
/// reading the blobs from `store`. `output` names the destination in messages.
///
/// Every blob is checked for presence and size before the first byte is written, then hashed
/// while it is copied: a blob that does not match stops the export with
/// [`BundleError::NotInStore`] (and is forgotten in `verified`, so the next sync re-hashes it),
/// leaving `writer` with a partial archive that the caller discards. The blobs that do match
/// are recorded in `verified`.
#[allow(clippy::too_many_arguments)] // Each is a different resource; they are passed once.
pub fn export(
    writer: impl Write,
    output: &Path,
    lock_path: &Path,
    lock_text: &str,
    lock: &Lockfile,
    store: &Store,
    verified: &mut VerifiedBlobs,
    reporter: &dyn Reporter,
    cancel: Option<&CancellationToken>,
) -> Result<ExportSummary, BundleError> {
    let pins = pins(lock, store).map_err(|message| LockError::Invalid {
        path: lock_path.display().to_string(),
        message,
        source_code: miette::NamedSource::new(
            lock_path.display().to_string(),
            lock_text.to_owned(),
        ),
        span: None,
    })?;
    // Every blob, found before anything is written: one of the repos that pin it holds it with
    // the locked size.
    let mut sources: Vec<(&ContentHash, &Pin, PathBuf)> = Vec::new();
    let mut problems = Vec::new();
    for (hash, pin) in &pins {
        let found = pin.targets.iter().find(|target| {
            fs_err::metadata(target).is_ok_and(|metadata| metadata.len() == pin.size)
        });
        if let Some(found) = found {
            sources.push((hash, pin, found.clone()));
            continue;
        }
        let wrong_size = pin
            .targets
            .iter()
            .find_map(|target| Some((target, fs_err::metadata(target).ok()?.len())));
        problems.push(match wrong_size {
            Some((target, size)) => format!(
                "{} has {size} bytes in {}, the lock pins {}",
                pin.owner(),
                target.display(),
                pin.size
            ),
            None => format!("{} is missing ({})", pin.owner(), pin.targets[0].display()),
        });
    }
    if !problems.is_empty() {
        return Err(BundleError::NotInStore {
            lock: lock_path.to_path_buf(),
            problems: first_lines(problems),
        });
    }

    let total: u64 = sources.iter().map(|(_, pin, _)| pin.size).sum();
    reporter.report(Event::Planned {
        download_files: 0,
        download_bytes: 0,
        verify_files: sources.len(),
        verify_bytes: total,
    });
    let sink = Sink {
        inner: writer,
        written: 0,
        closed: false,
    };
    let mut builder = tar::Builder::new(std::io::BufWriter::with_capacity(CHUNK, sink));
    let entries = Entries {
        output,
        lock_path,
        verified,
        reporter,
        cancel,
    };
    if let Err(error) = entries.write(&mut builder, lock_text, sources) {
        // An unfinished archive stays unfinished: dropped, the builder would end it with the
        // end-of-archive blocks, and a stream (`-o -`) would look complete up to there.
        builder.get_mut().get_mut().closed = true;
        return Err(error);
    }
    let sink = builder
        .into_inner()
        .map_err(BundleError::io(output))?
        .into_inner()
        .map_err(|error| BundleError::Io {
            path: output.to_path_buf(),
            source: error.into_error(),
        })?;
    let archive_bytes = sink.written;
    let mut writer = sink.inner;
    writer.flush().map_err(BundleError::io(output))?;
    Ok(ExportSummary {
        models: lock.models.len(),
        locked_files: lock.models.iter().map(|model| model.files.len()).sum(),
        blobs: pins.len(),
        bytes: total,
        archive_bytes,
    })
}

/// Writes the entries of an export.
struct Entries<'a> {
    output: &'a Path,
    lock_path: &'a Path,
    verified: &'a mut VerifiedBlobs,
    reporter: &'a dyn Reporter,
    cancel: Option<&'a CancellationToken>,
}

impl Entries<'_> {
    /// The lock, then each blob, hashed as it is copied.
    fn write(
        self,
        builder: &mut tar::Builder<impl Write>,
        lock_text: &str,
        sources: Vec<(&ContentHash, &Pin, PathBuf)>,
    ) -> Result<(), BundleError> {
        let Entries {
            output,
            lock_path,
            verified,
            reporter,
            cancel,
        } = self;
        builder
            .append_data(
                &mut header(lock_text.len() as u64),
                LOCK_ENTRY,
                lock_text.as_bytes(),
            )
            .map_err(BundleError::io(output))?;
        let ids = TaskIds::default();
        for (hash, pin, source) in sources {
            if cancelled(cancel) {
                return Err(BundleError::Cancelled);
            }
            let file = fs_err::File::open(&source).map_err(BundleError::io(&source))?;
            let id = ids.next();
            reporter.report(Event::TaskStarted {
                id,
                kind: TaskKind::Verify,
                label: pin.path.clone(),
                size: pin.size,
                done: 0,
            });
            let mut reader = HashingReader {
                inner: file.take(pin.size),
                hasher: ContentHasher::new(hash.kind(), pin.size),
                read: 0,
                unreported: 0,
                failed: false,
                id,
                reporter,
                cancel,
            };
            let appended =
                builder.append_data(&mut header(pin.size), blob_entry(hash), &mut reader);
            let (read, failed) = (reader.read, reader.failed);
            let actual = reader.hasher.finish();
            let ok = appended.is_ok() && read == pin.size && &actual == hash;
            reporter.report(Event::TaskFinished { id, ok });
            if let Err(error) = appended {
                return Err(if cancelled(cancel) {
                    BundleError::Cancelled
                } else if failed {
                    BundleError::Io {
                        path: source,
                        source: error,
                    }
                } else {
                    BundleError::Io {
                        path: output.to_path_buf(),
                        source: error,
                    }
                });
            }
            if read != pin.size {
                return Err(BundleError::NotInStore {
                    lock: lock_path.to_path_buf(),
                    problems: vec![format!(
                        "{} changed while it was read: {} has {read} bytes, the lock pins {}",
                        pin.owner(),
                        source.display(),
                        pin.size
                    )],
                });
            }
            if &actual != hash {
                verified.forget(&source);
                return Err(BundleError::NotInStore {
                    lock: lock_path.to_path_buf(),
                    problems: vec![format!(
                        "{} is damaged in the store: {} hashes to {actual}, the lock pins {hash}",
                        pin.owner(),
                        source.display()
                    )],
                });
            }
            verified
                .record(&source, hash.hex())
                .map_err(BundleError::io(&source))?;
        }
        Ok(())
    }
}

/// The destination of an archive: counts the bytes that reach it, and refuses every write once
/// closed (an export that failed half-way).
struct Sink<W: Write> {
    inner: W,
    written: u64,
    closed: bool,
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Err(std::io::Error::other("the export failed"));
        }
        let n = self.inner.write(bytes)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.inner.flush()
    }
}

/// Hashes a blob as the archive reads it, reporting progress and watching the token.
struct HashingReader<'a, R: Read> {
    inner: R,
    hasher: ContentHasher,
    read: u64,
    unreported: u64,
    /// Reading from the store failed (rather than writing the archive).
    failed: bool,
    id: u64,
    reporter: &'a dyn Reporter,
    cancel: Option<&'a CancellationToken>,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if cancelled(self.cancel) {
            return Err(std::io::Error::other("cancelled"));
        }
        let n = self
            .inner
            .read(buffer)
            .inspect_err(|_| self.failed = true)?;
        self.hasher.update(&buffer[..n]);
        self.read += n as u64;
        self.unreported += n as u64;
        if self.unreported >= PROGRESS_EVERY || (n == 0 && self.unreported > 0) {
            self.reporter.report(Event::TaskProgress {
                id: self.id,
                bytes: std::mem::take(&mut self.unreported),
            });
        }
        Ok(n)
    }
}

/// A staging directory for one import: `.locks/hfdl-import-<random>/` in the store, removed
/// (with whatever is left in it) when dropped. Directories it had to create for itself (the
/// store, `.locks/`) are removed too when they are still empty, so a refused import leaves the
/// store as it found it.
#[derive(Debug)]
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    /// Held while the import runs, so that another import does not take it for a stale one.
    lock: Option<FileLock>,
    /// The store root and `.locks/`, when this staging created them (outermost first).
    created: Vec<PathBuf>,
}

impl Staging {
    /// Creates a staging directory in `store`, first removing those that killed imports left
    /// behind (older than an hour, their lock free).
    pub fn create(store: &Store) -> Result<Staging, BundleError> {
        let parent = store.locks_dir();
        let created: Vec<PathBuf> = [store.root().to_path_buf(), parent.clone()]
            .into_iter()
            .filter(|dir| !dir.exists())
            .collect();
        fs_err::create_dir_all(&parent).map_err(BundleError::io(&parent))?;
        sweep_stale_staging(&parent);
        let mut staging = Staging {
            dir: None,
            lock: None,
            created,
        };
        let dir = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(&parent)
            .map_err(BundleError::io(&parent))?;
        let lock_path = dir.path().join(STAGING_LOCK);
        staging.dir = Some(dir);
        staging.lock = Some(FileLock::acquire(&lock_path).map_err(BundleError::io(&lock_path))?);
        Ok(staging)
    }

    /// The directory blobs are staged in.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new(""), tempfile::TempDir::path)
    }

    /// The staged copy of `hash`.
    fn file(&self, hash: &ContentHash) -> PathBuf {
        self.path()
            .join(format!("{}-{}", hash.kind().as_str(), hash.hex()))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(error) = dir.close() {
                tracing::warn!(%error, path = %path.display(), "could not remove the import's staging directory");
            }
        }
        drop(self.lock.take());
        for dir in self.created.iter().rev() {
            // Only when empty: another process may have started using the store meanwhile.
            let _ = fs_err::remove_dir(dir);
        }
    }
}

/// Removes staging directories in `parent` that killed imports left: older than
/// [`STALE_STAGING`] and with their lock free. Best effort: what cannot be removed stays.
fn sweep_stale_staging(parent: &Path) {
    let Ok(entries) = fs_err::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let old = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_dir)
            .and_then(|metadata| metadata.modified().ok())
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_STAGING);
        if !name.starts_with(STAGING_PREFIX) || !old {
            continue;
        }
        if let Ok(Some(_held)) = FileLock::try_acquire(&path.join(STAGING_LOCK)) {
            tracing::debug!(path = %path.display(), "removing a stale import staging directory");
            let _ = fs_err::remove_dir_all(&path);
        }
    }
}

/// A blob of the bundle, verified.
#[derive(Debug)]
struct StagedBlob {
    hash: ContentHash,
    /// The verified copy in the staging directory; `None` when every repo that pins it already
    /// had it, verified.
    staged: Option<PathBuf>,
    /// `blobs/<hex>` of the repos that lack it (or hold a copy hfdl has not verified).
    targets: Vec<PathBuf>,
    /// Repos that already hold it, verified.
    present: usize,
}

/// A bundle whose every entry has been verified against its lock, staged and ready to be moved
/// into the store by [`StagedBundle::commit`].
#[derive(Debug)]
pub struct StagedBundle {
    /// The bundle's `models.lock`, as it is in the bundle.
    pub lock_text: String,
    /// That lock, parsed.
    pub lock: Lockfile,
    /// Blobs in the bundle (one per content).
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
    staged: Vec<StagedBlob>,
}

/// What moving a staged bundle into the store did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Blob files put into repos' `blobs/` (one content pinned by two repos counts twice).
    pub added: usize,
    /// Blob files that were already in place and verified.
    pub present: usize,
    /// The blob files put in place (`…/blobs/<hex>`).
    pub placed: Vec<PathBuf>,
}

impl StagedBundle {
    /// Every content the bundle holds, with the hash it is known by.
    pub fn hashes(&self) -> impl Iterator<Item = &ContentHash> {
        self.staged.iter().map(|blob| &blob.hash)
    }

    /// Moves the verified blobs into `blobs/` of every repo that pins them (hard links or
    /// copies for the second and later repos), each atomically, and records them in `verified`
    /// so that the next sync does not hash them again. A blob already there that hfdl had not
    /// verified is replaced by the verified copy. The caller holds the store lock.
    pub fn commit(&self, verified: &mut VerifiedBlobs) -> Result<CommitSummary, BundleError> {
        let mut summary = CommitSummary::default();
        let mut dirs = BTreeSet::new();
        for blob in &self.staged {
            summary.present += blob.present;
            let Some(staged) = &blob.staged else {
                continue;
            };
            for (index, target) in blob.targets.iter().enumerate() {
                let parent = target.parent().unwrap_or(Path::new(""));
                fs_err::create_dir_all(parent).map_err(BundleError::io(parent))?;
                if index + 1 == blob.targets.len() {
                    fs_err::rename(staged, target).map_err(BundleError::io(target))?;
                } else {
                    link_or_copy(staged, target, &blob.hash).map_err(BundleError::io(target))?;
                }
                verified
                    .record(target, blob.hash.hex())
                    .map_err(BundleError::io(target))?;
                dirs.insert(parent.to_path_buf());
                summary.added += 1;
                summary.placed.push(target.clone());
            }
        }
        // One directory fsync per blobs directory makes the renames durable.
        for dir in dirs {
            sync_dir(&dir).map_err(BundleError::io(&dir))?;
        }
        Ok(summary)
    }
}

/// Puts a copy of `source` at `dest` atomically: a hard link when the file system allows it,
/// else a copy, through a temp name beside `dest`.
fn link_or_copy(source: &Path, dest: &Path, hash: &ContentHash) -> std::io::Result<()> {
    let temp = dest.with_file_name(format!(".{}.{}.hfdl-tmp", hash.hex(), std::process::id()));
    let _ = fs_err::remove_file(&temp);
    if fs_err::hard_link(source, &temp).is_err() {
        fs_err::copy(source, &temp)?;
        fs_err::File::open(&temp)?.sync_all()?;
    }
    fs_err::rename(&temp, dest).inspect_err(|_| {
        let _ = fs_err::remove_file(&temp);
    })
}

/// Reads a bundle from `reader` and verifies it against its own lock, staging the blobs the
/// store still needs in `staging`. `bundle` names it in messages.
///
/// Refused, with nothing moved into the store: anything that is not a bundle (not a tar, no
/// `models.lock` first, a compressed file), an entry that is not a regular file or whose name
/// is unsafe or unknown, a blob the lock does not pin or that appears twice, a size or hash
/// that differs from the lock, a lock with an unsafe path, blobs missing, an archive cut short.
pub fn stage(
    reader: impl Read,
    bundle: &str,
    store: &Store,
    staging: &Staging,
    verified: &VerifiedBlobs,
    reporter: &dyn Reporter,
    cancel: Option<&CancellationToken>,
) -> Result<StagedBundle, BundleError> {
    let invalid = |entry: Option<&str>, reason: String, help: &str| BundleError::Invalid {
        bundle: bundle.to_owned(),
        entry: entry.map(str::to_owned),
        reason,
        help: help.to_owned(),
    };
    let damaged = |entry: Option<&str>, reason: String| BundleError::Damaged {
        bundle: bundle.to_owned(),
        entry: entry.map(str::to_owned),
        reason,
    };
    let mut reader = std::io::BufReader::with_capacity(CHUNK, reader);
    let head = reader
        .fill_buf()
        .map_err(|error| damaged(None, format!("it cannot be read: {error}")))?;
    if let Some((format, command)) = compression(head) {
        return Err(invalid(
            None,
            format!("it is {format}-compressed"),
            &format!("decompress it first, e.g. `{command} -dc FILE | hfdl import -`"),
        ));
    }
    if head.is_empty() {
        return Err(invalid(None, "it is empty".into(), REMAKE));
    }
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive
        .entries()
        .map_err(|error| invalid(None, format!("it is not a tar archive ({error})"), REMAKE))?;

    // The lock, first.
    let mut first = match entries.next() {
        None => return Err(invalid(None, "it is an empty tar archive".into(), REMAKE)),
        Some(Err(error)) => {
            return Err(invalid(
                None,
                format!("it is not a tar archive ({error})"),
                REMAKE,
            ));
        }
        Some(Ok(entry)) => entry,
    };
    let name = entry_name(&first);
    if name != LOCK_ENTRY {
        return Err(invalid(
            Some(&name),
            format!("its first entry is `{name}`, not `{LOCK_ENTRY}`"),
            REMAKE,
        ));
    }
    if first.header().entry_type() != tar::EntryType::Regular {
        return Err(invalid(
            Some(&name),
            format!("`{LOCK_ENTRY}` is not a regular file"),
            REMAKE,
        ));
    }
    let size = first.size();
    if size > MAX_LOCK_BYTES {
        return Err(invalid(
            Some(&name),
            format!(
                "its `{LOCK_ENTRY}` has {}, more than a lock can",
                indicatif::HumanBytes(size)
            ),
            REMAKE,
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    first
        .read_to_end(&mut bytes)
        .map_err(|error| damaged(Some(LOCK_ENTRY), format!("reading `{LOCK_ENTRY}`: {error}")))?;
    if bytes.len() as u64 != size {
        return Err(damaged(
            Some(LOCK_ENTRY),
            format!(
                "`{LOCK_ENTRY}` ends after {} of {size} bytes: the bundle is cut short",
                bytes.len()
            ),
        ));
    }
    let lock_text = String::from_utf8(bytes).map_err(|_| {
        invalid(
            Some(LOCK_ENTRY),
            format!("its `{LOCK_ENTRY}` is not UTF-8 text"),
            REMAKE,
        )
    })?;
    let lock_name = PathBuf::from(format!("{bundle}:{LOCK_ENTRY}"));
    let lock = Lockfile::decode(&lock_name, &lock_text).map_err(|error| {
        let help = miette::Diagnostic::help(&error)
            .map_or_else(|| REMAKE.to_owned(), |help| help.to_string());
        invalid(Some(LOCK_ENTRY), error.to_string(), &help)
    })?;
    // `Lockfile::decode` has refused paths and revisions that could leave the store.
    let pins = pins(&lock, store).map_err(|reason| invalid(Some(LOCK_ENTRY), reason, REMAKE))?;

    // What the store still needs, and room for it.
    let needs: BTreeMap<&ContentHash, Vec<PathBuf>> = pins
        .iter()
        .map(|(hash, pin)| {
            let targets = pin
                .targets
                .iter()
                .filter(|target| !verified.is_verified(target, hash.hex()))
                .cloned()
                .collect();
            (hash, targets)
        })
        .collect();
    let needed: u64 = pins
        .iter()
        .filter(|(hash, _)| needs.get(hash).is_some_and(|targets| !targets.is_empty()))
        .map(|(_, pin)| pin.size)
        .sum();
    check_free_space(store.root(), needed)?;
    let total: u64 = pins.values().map(|pin| pin.size).sum();
    reporter.report(Event::Planned {
        download_files: 0,
        download_bytes: 0,
        verify_files: pins.len(),
        verify_bytes: total,
    });

    // The blobs, each verified as it is staged.
    let ids = TaskIds::default();
    let mut staged: Vec<StagedBlob> = Vec::new();
    let mut seen: BTreeSet<ContentHash> = BTreeSet::new();
    let mut previous = LOCK_ENTRY.to_owned();
    let mut buffer = vec![0u8; CHUNK];
    for entry in entries {
        if cancelled(cancel) {
            return Err(BundleError::Cancelled);
        }
        let mut entry = entry.map_err(|error| {
            damaged(
                None,
                format!("it cannot be read after `{previous}`: {error} (the bundle is cut short or corrupt)"),
            )
        })?;
        let name = entry_name(&entry);
        let hash = match parse_entry_name(&name) {
            Ok(EntryName::Blob(hash)) => hash,
            Ok(EntryName::Lock) => {
                return Err(invalid(
                    Some(&name),
                    format!("`{LOCK_ENTRY}` appears twice"),
                    REMAKE,
                ));
            }
            Err(reason) => return Err(invalid(Some(&name), reason, REMAKE)),
        };
        let kind = entry.header().entry_type();
        if kind != tar::EntryType::Regular {
            return Err(invalid(
                Some(&name),
                format!("the entry `{name}` is not a regular file ({kind:?})"),
                REMAKE,
            ));
        }
        let Some(pin) = pins.get(&hash) else {
            return Err(invalid(
                Some(&name),
                format!("the entry `{name}` is not pinned by the bundle's {LOCK_ENTRY}"),
                REMAKE,
            ));
        };
        if !seen.insert(hash.clone()) {
            return Err(invalid(
                Some(&name),
                format!("the entry `{name}` appears twice"),
                REMAKE,
            ));
        }
        if entry.size() != pin.size {
            return Err(damaged(
                Some(&name),
                format!(
                    "`{name}` ({}) has {} bytes, the lock pins {}",
                    pin.owner(),
                    entry.size(),
                    pin.size
                ),
            ));
        }
        let targets = needs.get(&hash).cloned().unwrap_or_default();
        let file = if targets.is_empty() {
            None
        } else {
            let path = staging.file(&hash);
            let file = fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(BundleError::io(&path))?;
            Some((path, file))
        };
        let id = ids.next();
        reporter.report(Event::TaskStarted {
            id,
            kind: TaskKind::Verify,
            label: pin.path.clone(),
            size: pin.size,
            done: 0,
        });
        let mut hasher = ContentHasher::new(hash.kind(), pin.size);
        let mut read = 0u64;
        let mut unreported = 0u64;
        let copied: Result<(), BundleError> = loop {
            if cancelled(cancel) {
                break Err(BundleError::Cancelled);
            }
            let n = match entry.read(&mut buffer) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    break Err(damaged(Some(&name), format!("reading `{name}`: {error}")));
                }
            };
            hasher.update(&buffer[..n]);
            if let Some((path, file)) = &file
                && let Err(error) = file.file().write_all(&buffer[..n])
            {
                break Err(BundleError::Io {
                    path: path.clone(),
                    source: error,
                });
            }
            read += n as u64;
            unreported += n as u64;
            if unreported >= PROGRESS_EVERY {
                reporter.report(Event::TaskProgress {
                    id,
                    bytes: std::mem::take(&mut unreported),
                });
            }
        };
        if unreported > 0 {
            reporter.report(Event::TaskProgress {
                id,
                bytes: unreported,
            });
        }
        let actual = hasher.finish();
        let ok = copied.is_ok() && read == pin.size && actual == hash;
        reporter.report(Event::TaskFinished { id, ok });
        copied?;
        if read != pin.size {
            return Err(damaged(
                Some(&name),
                format!(
                    "`{name}` ({}) ends after {read} of {} bytes: the bundle is cut short",
                    pin.owner(),
                    pin.size
                ),
            ));
        }
        if actual != hash {
            return Err(damaged(
                Some(&name),
                format!(
                    "`{name}` ({}) hashes to {actual}, the lock pins {hash}",
                    pin.owner()
                ),
            ));
        }
        let staged_path = match file {
            Some((path, file)) => {
                file.sync_all().map_err(BundleError::io(&path))?;
                Some(path)
            }
            None => None,
        };
        staged.push(StagedBlob {
            present: pin.targets.len() - targets.len(),
            hash,
            staged: staged_path,
            targets,
        });
        previous = name;
    }

    let missing: Vec<String> = pins
        .iter()
        .filter(|(hash, _)| !seen.contains(*hash))
        .map(|(_, pin)| pin.owner())
        .collect();
    if !missing.is_empty() {
        return Err(damaged(
            None,
            format!(
                "it lacks {} that its {LOCK_ENTRY} pins (the bundle is cut short, or was not made by `hfdl export`): {}",
                crate::report::count(missing.len(), "file"),
                first_lines(missing).join(", ")
            ),
        ));
    }
    Ok(StagedBundle {
        lock_text,
        lock,
        blobs: pins.len(),
        bytes: total,
        staged,
    })
}

/// The entry's name as the archive gives it (GNU long names and PAX paths included), with any
/// byte that is not UTF-8 replaced.
fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    String::from_utf8_lossy(&entry.path_bytes()).into_owned()
}

/// The compression whose magic number `head` starts with, and the command that undoes it.
fn compression(head: &[u8]) -> Option<(&'static str, &'static str)> {
    const MAGIC: &[(&[u8], &str, &str)] = &[
        (&[0x1f, 0x8b], "gzip", "gzip"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstd"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz", "xz"),
        (b"BZh", "bzip2", "bzip2"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
        .map(|(_, format, command)| (*format, *command))
}

/// Refuses an import that cannot fit on the store's disk with the reserve hfdl keeps free. An
/// unknown free space (a file system without `statvfs`) is not a reason to refuse.
fn check_free_space(store: &Path, needed: u64) -> Result<(), BundleError> {
    if needed == 0 {
        return Ok(());
    }
    match disk::usage(store) {
        Ok(usage) if usage.available < needed.saturating_add(usage.reserve()) => {
            Err(BundleError::DiskFull {
                path: store.to_path_buf(),
                needed,
                available: usage.available,
                reserve: usage.reserve(),
            })
        }
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::debug!(%error, path = %store.display(), "free space unknown");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_the_lock_and_blobs_by_hash_only() {
        let sha = "a".repeat(64);
        let git = "b".repeat(40);
        assert_eq!(parse_entry_name("models.lock"), Ok(EntryName::Lock));
        assert_eq!(
            parse_entry_name(&format!("blobs/sha256/{sha}")),
            Ok(EntryName::Blob(ContentHash::sha256(&sha).unwrap()))
        );
        assert_eq!(
            parse_entry_name(&format!("blobs/git-sha1/{git}")),
            Ok(EntryName::Blob(ContentHash::git_sha1(&git).unwrap()))
        );
        let hash = ContentHash::git_sha1(&git).unwrap();
        assert_eq!(
            parse_entry_name(&blob_entry(&hash)),
            Ok(EntryName::Blob(hash))
        );
        for unsafe_name in [
            "../models.lock",
            "/etc/passwd",
            "blobs/../../x",
            "blobs\\sha256",
            "C:/x",
        ] {
            let reason = parse_entry_name(unsafe_name).unwrap_err();
            assert!(reason.contains("unsafe"), "{unsafe_name}: {reason}");
        }
        for unknown in [
            "README.md",
            "./models.lock",
            "blobs/md5/abc",
            &format!("blobs/sha256/{git}"),
            &format!("blobs/sha256/{sha}/x"),
            &format!("blobs/sha256/{}", "A".repeat(64)),
            "blobs/",
        ] {
            let reason = parse_entry_name(unknown).unwrap_err();
            assert!(
                reason.contains("not part of a bundle"),
                "{unknown}: {reason}"
            );
        }
    }

    #[test]
    fn compressed_bundles_are_recognised() {
        assert_eq!(compression(&[0x1f, 0x8b, 8, 0]), Some(("gzip", "gzip")));
        assert_eq!(compression(b"BZh91AY"), Some(("bzip2", "bzip2")));
        assert_eq!(compression(b"models.lock\0\0"), None);
    }

    #[test]
    fn a_staging_directory_leaves_nothing_behind_and_old_ones_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("hub"));
        let staging = Staging::create(&store).unwrap();
        assert!(staging.path().starts_with(store.locks_dir()));
        fs_err::write(staging.path().join("x"), b"staged").unwrap();
        drop(staging);
        assert!(
            !store.root().exists(),
            "the store it created is removed again"
        );

        // Left by killed imports: an old free one goes, a fresh one and a held one stay.
        let locks = store.locks_dir();
        let old = locks.join(format!("{STAGING_PREFIX}old"));
        let fresh = locks.join(format!("{STAGING_PREFIX}fresh"));
        let held = locks.join(format!("{STAGING_PREFIX}held"));
        for dir in [&old, &fresh, &held] {
            fs_err::create_dir_all(dir).unwrap();
        }
        let _lock = FileLock::acquire(&held.join(STAGING_LOCK)).unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_hours(2);
        for dir in [&old, &held] {
            fs_err::File::open(dir)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        let staging = Staging::create(&store).unwrap();
        assert!(!old.exists());
        assert!(fresh.exists() && held.exists());
        drop(staging);
        assert!(
            store.root().exists(),
            "the store was there before this staging"
        );
    }

    #[test]
    fn headers_are_the_same_on_every_machine() {
        let a = header(42);
        let b = header(42);
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_eq!(a.mtime().unwrap(), 0);
        assert_eq!(a.mode().unwrap(), 0o644);
    }
}
