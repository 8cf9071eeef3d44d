//! Streaming a blob from the Hub into the store: GET → `.incomplete` (resumed with `Range`),
//! hashed while streaming, size and digest checked, then renamed into place.
//!
//! Nothing unverified is ever visible under `blobs/<hash>`: the bytes live in
//! `blobs/<hash>.incomplete` until they hash to the locked digest. A kill at any moment keeps
//! the partial file; the next run re-hashes it and continues with `Range: bytes=N-`, and a `200`
//! answer to a ranged request (a server that ignores `Range`) starts over instead of appending.
//!
//! Three sources feed the same disk writer and hasher: the shared blob store (`blob_store`),
//! the Xet CAS for files whose lock entry has a Xet hash (`xet`, with the Hub's bridge as the
//! fallback under `xet = "auto"`), and the plain resolve GET (one connection, or ranges over
//! several with `ranges`).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};

use crate::hash::{ContentHash, ContentHasher};
use crate::hub::client::{ErrorContext, backoff, redact_url, redirect_target, retry_delay};
use crate::hub::{HubClient, HubError};
use crate::repo::{RepoId, RepoType};
use crate::report::{Event, Reporter, TaskId, TaskKind, count};
use crate::store::disk::{BelowReserve, FreeSpaceGuard};
use crate::store::fsops::FileLock;

mod blob_store;
mod ranges;
mod xet;

pub use xet::XetSession;

use crate::store::partials::{MIN_RANGE, RANGED_PARTIAL_SUFFIX, range_map_path};

/// Size of the write buffer between the socket and the file.
const WRITE_BUFFER: usize = 256 << 10;
/// On a slow link, buffered bytes are flushed at least this often, so a kill loses little.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// Most redirects followed for one file.
const MAX_REDIRECTS: usize = 10;

/// How blobs are fetched.
#[derive(Debug, Clone, Default)]
pub struct DownloadOptions {
    /// Connections per large file (`connections`); 0 or 1 streams each file over one.
    pub connections: usize,
    /// Where range maps of partial multi-connection downloads live (hfdl's state directory);
    /// without it, files always use one connection.
    pub partials_dir: Option<PathBuf>,
    /// Bytes to keep free on the store's disk: writing stops with [`DownloadError::LowDisk`]
    /// (the partial file kept) before free space drops below it. 0 does not watch.
    pub min_free: u64,
    /// The shared blob store, read before the Hub.
    pub blob_store: Option<std::sync::Arc<crate::blobstore::BlobStore>>,
    /// Upload each blob fetched from the Hub to the blob store, once verified.
    pub publish: bool,
    /// Whether files with a Xet hash in the lock download over Xet (the `xet` setting).
    pub xet: crate::manifest::XetMode,
    /// The CAS tokens and state the Xet downloads of the run share.
    pub xet_session: std::sync::Arc<XetSession>,
}

impl DownloadOptions {
    /// Where a multi-connection download of `fetch` keeps its bytes and its range map.
    ///
    /// The partial file is `blobs/<hex>.hfdl.incomplete`, not `<hex>.incomplete`: it has holes
    /// until every range is done, and `huggingface_hub` 0.36 resumes `<hex>.incomplete` by
    /// appending to it unverified. The map is named after the partial file's full path, so two
    /// repos or two stores downloading the same content never share one.
    fn ranged_paths(&self, fetch: &BlobFetch) -> Option<(PathBuf, PathBuf)> {
        let dir = self.partials_dir.as_ref()?;
        let hex = fetch.blob.file_name()?.to_string_lossy().into_owned();
        let partial = fetch
            .blob
            .with_file_name(format!("{hex}{RANGED_PARTIAL_SUFFIX}"));
        Some((range_map_path(dir, &partial), partial))
    }
}

/// The bytes of `fetch` that a partial download holds on disk and the next run resumes from
/// (0 when there is none, or when it would start over): a multi-connection partial's recorded
/// ranges, or the length of `.incomplete`. What a cancelled sync reports as kept.
pub fn kept_bytes(fetch: &BlobFetch, options: &DownloadOptions) -> u64 {
    let length = |path: &std::path::Path| fs_err::metadata(path).map_or(0, |m| m.len());
    // The same choice as `download_verified`: a ranged partial with its map is resumed first.
    if let Some((map, partial)) = options.ranged_paths(fetch)
        && map.exists()
        && partial.exists()
    {
        return crate::store::partials::RangeMap::load(&map, fetch.size, length(&partial))
            .map_or(0, |map| map.done());
    }
    let kept = length(&fetch.incomplete);
    // Longer than the file: the resume deletes it and starts over.
    if kept <= fetch.size { kept } else { 0 }
}

/// Removes a multi-connection partial download and its map (the blob is there, or one
/// connection takes over).
fn discard_ranged(options: &DownloadOptions, fetch: &BlobFetch) {
    if let Some((map, partial)) = options.ranged_paths(fetch) {
        let _ = fs_err::remove_file(map);
        let _ = fs_err::remove_file(partial);
    }
}

/// One blob to fetch.
#[derive(Debug, Clone)]
pub struct BlobFetch {
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// The Hub repository.
    pub repo: RepoId,
    /// The locked commit the file is fetched at.
    pub commit: String,
    /// The file's path in the repo (for the URL and messages).
    pub path: String,
    /// The locked digest the bytes must hash to.
    pub hash: ContentHash,
    /// The locked size, in bytes.
    pub size: u64,
    /// `blobs/<hex>`.
    pub blob: PathBuf,
    /// `blobs/<hex>.incomplete`.
    pub incomplete: PathBuf,
    /// `.locks/<repo>/<hex>.lock`.
    pub lock: PathBuf,
    /// The file's Xet hash, when the lock records one: it may download over Xet.
    pub xet_hash: Option<crate::xet::XetHash>,
}

/// What a fetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Bytes received from the network.
    pub downloaded: u64,
    /// Bytes reused from a partial download.
    pub resumed: u64,
    /// Bytes of Xet chunks copied from blobs already in the store instead of fetched.
    pub xet_reused: u64,
    /// Retries after a retryable error or a hash mismatch.
    pub retries: u32,
    /// The blob appeared meanwhile (another process) and was verified instead.
    pub already_present: bool,
    /// The bytes came from the shared blob store, not the Hub.
    pub from_blob_store: bool,
}

/// Why a blob could not be fetched.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DownloadError {
    /// The request to the Hub failed (after any retries).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Hub(#[from] HubError),

    /// The downloaded bytes did not hash to the locked digest: the same wrong digest twice in a
    /// row, or different wrong digests until the file's retry budget ran out (see `cause`).
    #[error("hash mismatch for `{path}` in `{repo}`: expected {expected}, got {actual}")]
    #[diagnostic(help("{cause}"))]
    HashMismatch {
        /// The Hub repository.
        repo: RepoId,
        /// The file's path in the repo.
        path: String,
        /// The digest in the lock.
        expected: ContentHash,
        /// The digest of the bytes received.
        actual: ContentHash,
        /// Which case ended the download; its `Display` is the help.
        cause: MismatchCause,
    },

    /// The server sent more bytes than the lock says the file (or range) has.
    #[error(
        "size mismatch for `{path}` in `{repo}`: expected {expected} bytes, the server sent {actual}"
    )]
    #[diagnostic(help(
        "the server's answer does not match the lock; run again, or `hfdl lock --upgrade` if the repo changed"
    ))]
    SizeMismatch {
        /// The Hub repository.
        repo: RepoId,
        /// The file's path in the repo.
        path: String,
        /// Bytes expected: the locked size, or the range's size for a multi-connection download.
        expected: u64,
        /// Bytes received when the download stopped.
        actual: u64,
    },

    /// Reading or writing a file in the store failed.
    #[error("I/O error on {path}: {source}")]
    #[diagnostic(help("check free disk space and permissions of the store"))]
    Io {
        /// The file or directory operated on.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The file could not be downloaded over Xet, and `xet = "on"` forbids the bridge.
    #[error("could not download `{path}` of `{repo}` over Xet: {message}")]
    #[diagnostic(help(
        "run again (the partial file is kept where it can be), or let hfdl fall back to a plain download when Xet fails: `hfdl config set xet auto` (or HFDL_XET=auto); `hfdl explain xet-failed`"
    ))]
    Xet {
        /// The Hub repository.
        repo: RepoId,
        /// The file's path in the repo.
        path: String,
        /// What failed.
        message: String,
    },

    /// The Hub refused the plain download of the file as too large (its bridge serves Xet files
    /// over 50 GB only over Xet), and the file could not come over Xet.
    #[error(
        "`{path}` of `{repo}` ({}) can only be downloaded over Xet: the Hub refuses a plain download this large, {why}",
        indicatif::HumanBytes(*size)
    )]
    #[diagnostic(help("{help}; `hfdl explain xet-required`"))]
    XetRequired {
        /// The Hub repository.
        repo: RepoId,
        /// The file's path in the repo.
        path: String,
        /// The file's size.
        size: u64,
        /// Why the file did not come over Xet.
        why: String,
        /// What to do about it.
        help: String,
    },

    /// Writing stopped because free space on the store's disk would drop below the reserve.
    #[error(
        "stopped before the disk fills: {} free on the disk of {}, and hfdl keeps {} free",
        indicatif::HumanBytes(*available), path.display(), indicatif::HumanBytes(*reserve)
    )]
    #[diagnostic(help(
        "free some space (`hfdl gc` removes what no lock uses) or point --store / HF_HUB_CACHE at a larger disk, then run `hfdl sync` again: it resumes the partial download"
    ))]
    LowDisk {
        /// The partial file that was being written (kept for a resume).
        path: PathBuf,
        /// Bytes free on the disk when writing stopped.
        available: u64,
        /// Bytes hfdl keeps free ([`DownloadOptions::min_free`]).
        reserve: u64,
    },
}

impl DownloadError {
    /// The stable machine code of `--json` errors.
    pub fn error_code(&self) -> &'static str {
        match self {
            DownloadError::Hub(e) => e.error_code(),
            DownloadError::HashMismatch { .. } | DownloadError::SizeMismatch { .. } => {
                "hash-mismatch"
            }
            DownloadError::Io { source, .. } if crate::codes::is_disk_full(source) => "disk-full",
            DownloadError::Io { .. } => "io-error",
            DownloadError::LowDisk { .. } => "disk-full",
            DownloadError::Xet { .. } => "xet-failed",
            DownloadError::XetRequired { .. } => "xet-required",
        }
    }

    /// The process exit code: the Hub error's own, otherwise 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            DownloadError::Hub(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// Why a hash mismatch ended a download ([`DownloadError::HashMismatch`]); its `Display` is the
/// error's help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchCause {
    /// The same wrong digest twice in a row: the server consistently serves other bytes.
    Consistent,
    /// The wrong digests differed (bytes damaged in transit), and the file's retry budget ran
    /// out before a copy matched.
    RetriesExhausted {
        /// Retries the file used, every cause together (the `retries` setting).
        retries: u32,
    },
}

impl std::fmt::Display for MismatchCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MismatchCause::Consistent => f.write_str(
                "the bytes were discarded and fetched again, with the same result; the Hub or a proxy serves content that differs from the lock; if the repo was force-pushed, run `hfdl lock --upgrade`",
            ),
            MismatchCause::RetriesExhausted { retries: 0 } => f.write_str(
                "retries are off (`retries = 0`), so the bad bytes were discarded and not fetched again; run `hfdl sync` again, or allow retries with `hfdl config set retries 4`",
            ),
            MismatchCause::RetriesExhausted { retries } => write!(
                f,
                "the bytes were discarded and fetched again until the retry budget ran out ({} of this file, all causes together), and the wrong digests differed: the bytes were damaged on the way (a flaky CDN, proxy or network), not changed on the Hub; run `hfdl sync` again, or raise `retries`",
                count(*retries as usize, "retry")
            ),
        }
    }
}

fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Fetches one blob into the store; on success `fetch.blob` exists and holds the locked bytes,
/// fsynced. The rename that published it is durable once the caller fsyncs the blobs directory
/// ([`crate::store::fsops::sync_dir`]), which it must do before linking to the blob.
pub async fn fetch_blob(
    hub: &HubClient,
    fetch: &BlobFetch,
    options: &DownloadOptions,
    reporter: &dyn Reporter,
    id: TaskId,
) -> Result<FetchStats, DownloadError> {
    // Uncontended (the usual case) the lock is taken in place; only waiting for another
    // process's download of the same blob needs a blocking thread.
    let lock =
        if let Some(lock) = FileLock::try_acquire(&fetch.lock).map_err(io_error(&fetch.lock))? {
            lock
        } else {
            let lock_path = fetch.lock.clone();
            tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path))
                .await
                .map_err(|e| DownloadError::Io {
                    path: fetch.lock.clone(),
                    source: std::io::Error::other(e),
                })?
                .map_err(io_error(&fetch.lock))?
        };

    // Another process may have published the blob while we waited for the lock.
    if fetch.blob.exists() {
        let (actual, _) = hash_file(&fetch.blob, fetch).await?;
        if actual == fetch.hash {
            discard_ranged(options, fetch);
            return Ok(FetchStats {
                already_present: true,
                ..FetchStats::default()
            });
        }
        fs_err::remove_file(&fetch.blob).map_err(io_error(&fetch.blob))?;
    }
    if let Some(parent) = fetch.incomplete.parent() {
        fs_err::create_dir_all(parent).map_err(io_error(parent))?;
    }

    // Shared with the writer thread, which keeps it until its last write even when this
    // future is dropped (a cancelled sync): no other download of the blob starts meanwhile.
    let lock = std::sync::Arc::new(lock);
    let target = Target {
        min_free: options.min_free,
        reporter,
        id,
        lock: &lock,
    };
    let result = match &options.blob_store {
        Some(store) => {
            let mut stats = FetchStats::default();
            if blob_store::fetch(store, hub, fetch, options, target, &mut stats).await? {
                fs_err::rename(&fetch.incomplete, &fetch.blob).map_err(io_error(&fetch.blob))?;
                Ok(stats)
            } else {
                let result = download_verified(hub, fetch, options, target).await;
                if result.is_ok() && options.publish {
                    blob_store::publish(store, fetch, target).await;
                }
                result
            }
        }
        None => download_verified(hub, fetch, options, target).await,
    };
    // Reported only now: a file is "downloaded" once its bytes are verified and published.
    reporter.report(Event::TaskFinished {
        id,
        ok: result.is_ok(),
    });
    result
}

/// Downloads into `.incomplete` until the bytes hash to the lock's digest, then publishes the
/// blob by renaming.
///
/// A wrong digest that differs from the previous one is corruption on the way (a CDN serves the
/// odd bad body): the bytes are discarded and fetched again, like a cut body, within the file's
/// retry budget. `stats.retries` is that budget's counter, one per file, shared by every cause
/// (network errors, 5xx and 429, cut bodies, wrong digests) and by all connections of a ranged
/// download; it numbers the `Retrying` events. The same wrong digest twice in a row means the
/// server consistently serves other bytes: that fails at once.
async fn download_verified(
    hub: &HubClient,
    fetch: &BlobFetch,
    options: &DownloadOptions,
    target: Target<'_>,
) -> Result<FetchStats, DownloadError> {
    let reporter = target.reporter;
    let mut stats = FetchStats::default();
    let mut previous_mismatch: Option<ContentHash> = None;
    loop {
        let ranged = options.ranged_paths(fetch).filter(|(map, partial)| {
            // Resume a multi-connection download, or start one for a large file.
            map.exists() && partial.exists()
                || options.connections > 1
                    && fetch.size >= 2 * MIN_RANGE
                    && !fetch.incomplete.exists()
        });
        let actual = if let Some(xet_hash) = xet_candidate(fetch, options) {
            match xet::download(
                hub,
                &options.xet_session,
                fetch,
                xet_hash,
                target,
                &mut stats,
            )
            .await?
            {
                Ok(actual) => actual,
                Err(failure) => {
                    if options.xet == crate::manifest::XetMode::On {
                        return Err(DownloadError::Xet {
                            repo: fetch.repo.clone(),
                            path: fetch.path.clone(),
                            message: failure.message,
                        });
                    }
                    if failure.data {
                        reporter.report(Event::Warning {
                            message: format!(
                                "xet-failed: `{}`: {}; downloading it without Xet instead",
                                fetch.path, failure.message
                            ),
                        });
                    } else {
                        if options.xet_session.give_up() {
                            tracing::debug!(
                                error = failure.message,
                                "Xet is unavailable; plain downloads for the rest of this run"
                            );
                        }
                        tracing::debug!(
                            path = fetch.path,
                            error = failure.message,
                            "the Xet download failed; downloading without Xet"
                        );
                    }
                    download_to_incomplete(hub, fetch, target, &mut stats)
                        .await
                        .map_err(|e| xet_required(e, fetch, options, Some(&failure.message)))?
                }
            }
        } else if let Some((map, partial)) = ranged {
            let ranged = RangedPaths {
                map: &map,
                partial: &partial,
            };
            download_in_ranges(hub, fetch, options, ranged, target, &mut stats)
                .await
                .map_err(|e| {
                    if matches!(e, DownloadError::XetRequired { .. }) {
                        // Else the next run would resume it here again instead of using Xet.
                        discard_ranged(options, fetch);
                    }
                    xet_required(e, fetch, options, None)
                })?
        } else {
            discard_ranged(options, fetch);
            download_to_incomplete(hub, fetch, target, &mut stats)
                .await
                .map_err(|e| xet_required(e, fetch, options, None))?
        };
        if actual == fetch.hash {
            break;
        }
        // Nothing unverified stays: the bad bytes go before any retry or error.
        fs_err::remove_file(&fetch.incomplete).map_err(io_error(&fetch.incomplete))?;
        let budget = hub.options();
        let cause = if previous_mismatch.as_ref() == Some(&actual) {
            Some(MismatchCause::Consistent)
        } else if stats.retries >= budget.retries {
            Some(MismatchCause::RetriesExhausted {
                retries: stats.retries,
            })
        } else {
            None
        };
        if let Some(cause) = cause {
            return Err(DownloadError::HashMismatch {
                repo: fetch.repo.clone(),
                path: fetch.path.clone(),
                expected: fetch.hash.clone(),
                actual,
                cause,
            });
        }
        let delay = backoff(stats.retries, budget.retry_base);
        stats.retries += 1;
        hub.metrics().count_retry();
        reporter.report(Event::Retrying {
            label: fetch.path.clone(),
            attempt: stats.retries,
            error: format!("hash mismatch (expected {}, got {actual})", fetch.hash),
        });
        tracing::debug!(path = fetch.path, attempt = stats.retries, ?delay, %actual, "fetching again after a hash mismatch");
        tokio::time::sleep(delay).await;
        previous_mismatch = Some(actual);
    }
    // The caller makes the rename durable (one fsync of the blobs directory for all the files
    // it fetched) before a snapshot link points at the blob.
    fs_err::rename(&fetch.incomplete, &fetch.blob).map_err(io_error(&fetch.blob))?;
    Ok(stats)
}

/// What fetching a blob would move over the network, as its download would go now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchEstimate {
    /// Bytes the network would carry: for a file over Xet, the xorb ranges the store's blobs do
    /// not hold (serialized, as sent); for others, what the partial file does not hold.
    pub fetch_bytes: u64,
    /// Bytes of Xet chunks the store's blobs (an earlier revision's) hold, copied instead.
    pub xet_reused_bytes: u64,
}

/// What downloading `fetch` from byte `resume_from` would move from the Hub: over Xet, the
/// reconstruction is asked for (no xorb bytes) and its ranges matched against the chunk maps of
/// the store's blobs; otherwise, and when the CAS cannot tell, the bytes still missing.
pub async fn estimate_fetch(
    hub: &HubClient,
    fetch: &BlobFetch,
    options: &DownloadOptions,
    resume_from: u64,
) -> FetchEstimate {
    let whole = FetchEstimate {
        fetch_bytes: fetch.size - resume_from.min(fetch.size),
        xet_reused_bytes: 0,
    };
    let Some(xet_hash) = xet_candidate(fetch, options).filter(|_| resume_from < fetch.size) else {
        return whole;
    };
    match xet::estimate(hub, &options.xet_session, fetch, xet_hash, resume_from).await {
        Ok(estimate) => FetchEstimate {
            fetch_bytes: estimate.fetch_bytes,
            xet_reused_bytes: estimate.reused_bytes,
        },
        Err(failure) => {
            tracing::debug!(
                path = fetch.path,
                message = failure.message,
                "no Xet estimate; counting the whole file"
            );
            if !failure.data {
                // The CAS is down: the other files are not asked (with `auto`).
                options.xet_session.give_up();
            }
            whole
        }
    }
}

/// The Xet hash to download `fetch` with, when it goes over Xet: the lock records one, the
/// `xet` setting allows it, the CAS has not failed this run (with `auto`), the file is not
/// empty, and no multi-connection download of it is under way (that one is finished first).
fn xet_candidate(fetch: &BlobFetch, options: &DownloadOptions) -> Option<crate::xet::XetHash> {
    use crate::manifest::XetMode;
    let hash = fetch.xet_hash?;
    let allowed = match options.xet {
        XetMode::Off => false,
        XetMode::Auto => !options.xet_session.unavailable(),
        XetMode::On => true,
    };
    if !allowed || fetch.size == 0 {
        return None;
    }
    if let Some((map, partial)) = options.ranged_paths(fetch)
        && map.exists()
        && partial.exists()
    {
        return None;
    }
    Some(hash)
}

/// A [`DownloadError::XetRequired`] from [`open_body`] with the reason the file did not come
/// over Xet and what to do: `xet_failure` is the message of this file's failed Xet download.
fn xet_required(
    error: DownloadError,
    fetch: &BlobFetch,
    options: &DownloadOptions,
    xet_failure: Option<&str>,
) -> DownloadError {
    use crate::manifest::XetMode;
    let DownloadError::XetRequired {
        repo, path, size, ..
    } = error
    else {
        return error;
    };
    let retry = "run `hfdl sync` again once the Xet CAS answers (it resumes the partial file); `hfdl sync --log-level debug` shows the failing CAS request";
    let (why, help) = match (xet_failure, fetch.xet_hash, options.xet) {
        (Some(failure), _, _) => (format!("and its Xet download failed: {failure}"), retry.to_owned()),
        (None, None, _) => (
            "and the lock records no Xet hash for it (it was locked by an hfdl without Xet)"
                .to_owned(),
            format!(
                "re-lock its entry at the same commit so that the lock records its Xet hash: `hfdl lock --upgrade-model NAME@{}`",
                fetch.commit
            ),
        ),
        (None, Some(_), XetMode::Off) => (
            "and `xet = \"off\"` forbids Xet".to_owned(),
            "allow Xet: `hfdl config set xet auto`, and unset HFDL_XET=off or HF_HUB_DISABLE_XET where one is set".to_owned(),
        ),
        (None, Some(_), _) => (
            "and Xet failed earlier in this run (hfdl stops asking the CAS after a failure)"
                .to_owned(),
            retry.to_owned(),
        ),
    };
    DownloadError::XetRequired {
        repo,
        path,
        size,
        why,
        help,
    }
}

/// Whether an error answer to a plain download says the file is too large to be served that
/// way: the S3-style `EntityTooLarge` the Hub's bridge (as the mock models it) sends for Xet
/// files above its limit (huggingface_hub itself refuses plain downloads over 50 GB).
fn too_large_for_plain_download(status: StatusCode, body: Option<&str>) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE
    ) && body.is_some_and(|b| b.contains("EntityTooLarge"))
}

/// The files of one multi-connection download.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RangedPaths<'a> {
    pub map: &'a std::path::Path,
    pub partial: &'a std::path::Path,
}

/// [`ranges::download`], then the complete file takes the ordinary `.incomplete` name (it has no
/// holes any more) and is hashed; a server that ignores `Range` sends everything down one
/// connection instead.
async fn download_in_ranges(
    hub: &HubClient,
    fetch: &BlobFetch,
    options: &DownloadOptions,
    paths: RangedPaths<'_>,
    target: Target<'_>,
    stats: &mut FetchStats,
) -> Result<ContentHash, DownloadError> {
    let (reporter, id) = (target.reporter, target.id);
    match ranges::download(hub, fetch, reporter, id, stats, options, paths).await {
        Ok(()) => {
            fs_err::rename(paths.partial, &fetch.incomplete)
                .map_err(io_error(&fetch.incomplete))?;
            let _ = fs_err::remove_file(paths.map);
            Ok(hash_file(&fetch.incomplete, fetch).await?.0)
        }
        Err(ranges::RangedError::RangeIgnored) => {
            tracing::debug!(
                path = fetch.path,
                "the server ignores Range; one connection instead"
            );
            let _ = fs_err::remove_file(paths.map);
            let _ = fs_err::remove_file(paths.partial);
            stats.resumed = 0;
            download_to_incomplete(hub, fetch, target, stats).await
        }
        Err(ranges::RangedError::Failed(error)) => Err(error),
    }
}

/// Downloads (or resumes) into `.incomplete` until it holds `size` bytes; returns their digest.
/// Stops before free space on the disk drops below `min_free`.
async fn download_to_incomplete(
    hub: &HubClient,
    fetch: &BlobFetch,
    target: Target<'_>,
    stats: &mut FetchStats,
) -> Result<ContentHash, DownloadError> {
    let (reporter, id) = (target.reporter, target.id);
    if fetch.size == 0 {
        // An empty file (`__init__.py`, `.gitkeep`) is its own content: no request, but the
        // `.incomplete` the caller verifies and publishes must exist, and be durable.
        let file = fs_err::File::create(&fetch.incomplete).map_err(io_error(&fetch.incomplete))?;
        file.sync_all().map_err(io_error(&fetch.incomplete))?;
    }
    let (mut hasher, mut offset) = resume_state(fetch).await?;
    if offset > 0 {
        stats.resumed += offset;
    }
    reporter.report(Event::TaskStarted {
        id,
        kind: TaskKind::Download,
        label: fetch.path.clone(),
        size: fetch.size,
        done: offset,
    });
    let options = hub.options();
    loop {
        if offset == fetch.size {
            break Ok(hasher.clone().finish());
        }
        match stream_once(hub, fetch, target, &mut hasher, &mut offset, stats).await {
            Ok(()) => {}
            // `stats.retries` is the file's one retry counter, whatever the cause.
            Err(DownloadError::Hub(error))
                if error.is_retryable() && stats.retries < options.retries =>
            {
                let delay = retry_delay(&error, stats.retries, options.retry_base);
                stats.retries += 1;
                let attempt = stats.retries;
                hub.metrics().count_retry();
                reporter.report(Event::Retrying {
                    label: fetch.path.clone(),
                    attempt,
                    error: error.to_string(),
                });
                tracing::debug!(path = fetch.path, attempt, ?delay, %error, "retrying download");
                tokio::time::sleep(delay).await;
            }
            Err(error) => break Err(error),
        }
    }
}

/// Re-hashes an existing partial file so the download can continue after it.
async fn resume_state(fetch: &BlobFetch) -> Result<(ContentHasher, u64), DownloadError> {
    let path = fetch.incomplete.clone();
    let (kind, size) = (fetch.hash.kind(), fetch.size);
    if !path.exists() {
        // Nothing to resume (the usual case): no blocking thread for an empty hasher.
        return Ok((ContentHasher::new(kind, size), 0));
    }
    tokio::task::spawn_blocking(move || -> std::io::Result<(ContentHasher, u64)> {
        let mut hasher = ContentHasher::new(kind, size);
        let Ok(mut file) = fs_err::File::open(&path) else {
            return Ok((hasher, 0));
        };
        let length = file.metadata()?.len();
        if length > size {
            drop(file);
            fs_err::remove_file(&path)?;
            return Ok((hasher, 0));
        }
        let mut buffer = vec![0u8; 1 << 20];
        let mut done = 0u64;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            done += n as u64;
        }
        Ok((hasher, done))
    })
    .await
    .map_err(|e| DownloadError::Io {
        path: fetch.incomplete.clone(),
        source: std::io::Error::other(e),
    })?
    .map_err(io_error(&fetch.incomplete))
}

/// A successful GET of the file (optionally a `Range`), following redirects with the token only
/// on the Hub's origin; returns the response and the URL that answered. `attempt` counts the
/// caller's retries, for the request log.
async fn open_body(
    hub: &HubClient,
    fetch: &BlobFetch,
    range: Option<String>,
    attempt: u32,
) -> Result<(reqwest::Response, String), DownloadError> {
    let mut url = hub.resolve_url(fetch.repo_type, &fetch.repo, &fetch.commit, &fetch.path);
    let ctx = ErrorContext {
        repo_type: fetch.repo_type,
        repo: &fetch.repo,
        revision: Some(&fetch.commit),
    };
    for _ in 0..MAX_REDIRECTS {
        let response = hub
            .send_attempt(Method::GET, &url, range.clone(), attempt)
            .await?;
        let status = response.status();
        if status.is_redirection() {
            url = redirect_target(&url, response.headers())?;
            continue;
        }
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = response.text().await.ok();
            if too_large_for_plain_download(status, body.as_deref()) {
                // The reason and the advice depend on the `xet` setting: see `xet_required`.
                return Err(DownloadError::XetRequired {
                    repo: fetch.repo.clone(),
                    path: fetch.path.clone(),
                    size: fetch.size,
                    why: "and it was not downloaded over Xet".into(),
                    help: "allow Xet (`xet = \"auto\"`)".into(),
                });
            }
            return Err(hub
                .classify(status, &headers, body.as_deref(), &url, &ctx)
                .into());
        }
        return Ok((response, url));
    }
    Err(HubError::Protocol {
        url,
        message: "too many redirects".into(),
    }
    .into())
}

/// The first byte of a `206` answer, from `Content-Range: bytes START-END/SIZE`.
fn content_range_start(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// `fetch`'s `.incomplete`, opened for writing: created if missing, its bytes kept.
fn open_incomplete(fetch: &BlobFetch) -> Result<fs_err::File, DownloadError> {
    fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&fetch.incomplete)
        .map_err(io_error(&fetch.incomplete))
}

/// One GET (following redirects, token only to the Hub's origin) streamed into the file from
/// `offset`. Network trouble mid-body keeps what was written, so a retry resumes from there.
async fn stream_once(
    hub: &HubClient,
    fetch: &BlobFetch,
    target: Target<'_>,
    hasher: &mut ContentHasher,
    offset: &mut u64,
    stats: &mut FetchStats,
) -> Result<(), DownloadError> {
    let (reporter, id) = (target.reporter, target.id);
    let range = (*offset > 0).then(|| format!("bytes={offset}-"));
    let started = std::time::Instant::now();
    let (response, url) = open_body(hub, fetch, range, stats.retries).await?;
    let status = response.status();

    let file = open_incomplete(fetch)?;
    if *offset > 0 && status == StatusCode::PARTIAL_CONTENT {
        let start = content_range_start(&response);
        if start != Some(*offset) {
            return Err(HubError::Protocol {
                url,
                message: format!("asked for bytes from {offset}, the server answered Content-Range starting at {start:?}"),
            }
            .into());
        }
    }
    if *offset > 0 && status != StatusCode::PARTIAL_CONTENT {
        // The server ignored Range: start over rather than append a second copy.
        tracing::debug!(
            path = fetch.path,
            "server ignored Range; restarting from zero"
        );
        stats.resumed = stats.resumed.saturating_sub(*offset);
        *offset = 0;
        *hasher = ContentHasher::new(fetch.hash.kind(), fetch.size);
        file.set_len(0).map_err(io_error(&fetch.incomplete))?;
        reporter.report(Event::TaskStarted {
            id,
            kind: TaskKind::Download,
            label: fetch.path.clone(),
            size: fetch.size,
            done: 0,
        });
    }
    let mut writer = DiskWriter::at(
        file,
        fetch,
        *offset,
        target,
        std::mem::replace(hasher, ContentHasher::new(fetch.hash.kind(), 0)),
    )?;
    let mut body = response.bytes_stream();
    let mut received_total = *offset;
    let outcome = loop {
        match body.next().await {
            None => break Ok(()),
            Some(Err(error)) => {
                break Err(DownloadError::Hub(HubError::Network {
                    url: crate::hub::client::redact_url(&url),
                    message: crate::hub::client::describe_reqwest_error(&error),
                }));
            }
            Some(Ok(chunk)) => {
                let received = chunk.len() as u64;
                hub.metrics().count_body_bytes(received);
                hub.throttle(received).await;
                if received_total + received > fetch.size {
                    break Err(DownloadError::SizeMismatch {
                        repo: fetch.repo.clone(),
                        path: fetch.path.clone(),
                        expected: fetch.size,
                        actual: received_total + received,
                    });
                }
                if !writer.send(chunk).await {
                    break Ok(()); // the writer failed; its error is reported below
                }
                received_total += received;
                stats.downloaded += received;
                reporter.report(Event::TaskProgress {
                    id,
                    bytes: received,
                });
            }
        }
    };
    let (returned, written, written_result) = writer.finish().await;
    log_body(&url, received_total - *offset, started, outcome.is_ok());
    *hasher = returned;
    *offset = written;
    written_result.map_err(|stop| stop.into_error(&fetch.incomplete))?;
    outcome?;
    if *offset < fetch.size {
        return Err(HubError::Network {
            url: crate::hub::client::redact_url(&url),
            message: format!("the body ended after {offset} of {} bytes", fetch.size),
        }
        .into());
    }
    Ok(())
}

/// The request log's line for a file body, once it ended: its URL without the query, the bytes
/// that arrived and the time from the request to the last byte.
fn log_body(url: &str, bytes: u64, started: std::time::Instant, complete: bool) {
    tracing::debug!(
        url = %redact_url(url),
        bytes,
        duration_ms = crate::hub::metrics::millis(started.elapsed()),
        complete,
        "body received"
    );
}

/// Writing and hashing off the async threads, fed through short queues: the async workers keep
/// receiving while the disk absorbs a write (page-cache throttling can stall one for a while)
/// or the CPU hashes, and a slow disk pushes back on the network instead of filling memory.
///
/// A large body is hashed on a thread of its own, fed the same chunks (`Bytes` clones share
/// their memory), so hashing overlaps the copy into the page cache instead of following it:
/// sha256 alone runs at about the speed of the disk, and in series the two added up. A small
/// body is kept in memory as it arrives and written, hashed and fsynced in one go at the end:
/// for a file of a few KiB, handing each chunk to another thread cost more than the write. One
/// that takes longer than [`FLUSH_EVERY`] (a slow link) becomes a streaming one, so that a kill
/// still loses only what was in flight.
enum DiskWriter {
    /// A writer thread fed through a queue (and maybe a hashing thread).
    Streaming {
        sender: tokio::sync::mpsc::Sender<bytes::Bytes>,
        task: tokio::task::JoinHandle<(Option<ContentHasher>, u64, Result<(), WriteStop>)>,
        hashing: Option<HashThread>,
    },
    /// A small body, written by [`DiskWriter::finish`].
    Buffered(Box<Buffered>),
    /// Only while a buffered writer turns into a streaming one.
    Switching,
}

/// A small body kept in memory until its single write.
struct Buffered {
    /// When it started: past [`FLUSH_EVERY`] it streams instead.
    started: std::time::Instant,
    sink: Sink,
    hasher: ContentHasher,
    chunks: Vec<bytes::Bytes>,
}

/// Where a body's bytes go: the `.incomplete` file positioned at `offset`, fsynced once
/// `complete_at` bytes are in; with a `guard`, writing stops before free space on the disk
/// drops below its reserve. `lock` is the blob's lock: whoever writes holds it until the last
/// write, even after the download that started it was dropped.
struct Sink {
    file: fs_err::File,
    offset: u64,
    complete_at: u64,
    guard: Option<FreeSpaceGuard>,
    lock: std::sync::Arc<FileLock>,
}

/// Writes `chunks` into the `sink`, feeding `hasher` when given, flushing now and then (a kill
/// loses little) and asking `flusher` to start the disk's writeback. Returns the bytes now in
/// the file and how it ended.
fn write_chunks(
    sink: Sink,
    mut hasher: Option<&mut ContentHasher>,
    flusher: Option<Flusher>,
    chunks: impl Iterator<Item = bytes::Bytes>,
) -> (u64, Result<(), WriteStop>) {
    let Sink {
        file,
        offset,
        complete_at,
        mut guard,
        lock: _held_until_written,
    } = sink;
    let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut written = offset;
    let mut flushed_at = offset;
    let mut last_flush = std::time::Instant::now();
    let mut result = Ok(());
    for chunk in chunks {
        if let Some(guard) = guard.as_mut()
            && let Err(stop) = guard.check(chunk.len() as u64, writer.buffer().len() as u64)
        {
            result = Err(WriteStop::BelowReserve(stop));
            break;
        }
        if let Err(error) = writer.write_all(&chunk) {
            result = Err(WriteStop::Io(error));
            break;
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&chunk);
        }
        written += chunk.len() as u64;
        if let Some(flusher) = &flusher
            && written - flushed_at >= DiskWriter::FLUSH_AHEAD
            && flusher.request()
        {
            flushed_at = written;
        }
        // On a slow link, flush now and then so that a kill loses little.
        if last_flush.elapsed() >= FLUSH_EVERY {
            if let Err(error) = writer.flush() {
                result = Err(WriteStop::Io(error));
                break;
            }
            last_flush = std::time::Instant::now();
        }
    }
    // A flush that failed failed for these bytes too, even if the final fsync says nothing.
    let flushed_ahead = flusher.map_or(Ok(()), Flusher::stop);
    if result.is_ok()
        && let Err(error) = flushed_ahead
    {
        result = Err(WriteStop::Io(error));
    }
    // Flushed in every case: bytes written before a stop stay resumable.
    let flushed = writer
        .into_inner()
        .map_err(|e| WriteStop::Io(e.into_error()));
    let result = match (result, flushed) {
        (Err(stop), _) | (Ok(()), Err(stop)) => Err(stop),
        (Ok(()), Ok(file)) if written == complete_at => file.sync_all().map_err(WriteStop::Io),
        (Ok(()), Ok(_)) => Ok(()),
    };
    (written, result)
}

/// The hashing thread of a large body: its queue, and the hasher with the bytes it hashed.
struct HashThread {
    sender: tokio::sync::mpsc::Sender<bytes::Bytes>,
    task: tokio::task::JoinHandle<(ContentHasher, u64)>,
}

/// Where one GET's bytes go and who hears about them.
#[derive(Clone, Copy)]
struct Target<'a> {
    /// Bytes to keep free on the disk ([`DownloadOptions::min_free`]).
    min_free: u64,
    reporter: &'a dyn Reporter,
    id: TaskId,
    /// The blob's lock, held by the writer until its last write.
    lock: &'a std::sync::Arc<FileLock>,
}

/// Why the disk writer stopped early.
enum WriteStop {
    Io(std::io::Error),
    /// Free space would have dropped below the reserve (nothing failed; the bytes written so
    /// far are on disk, flushed, and resumable).
    BelowReserve(BelowReserve),
}

impl WriteStop {
    fn into_error(self, path: &std::path::Path) -> DownloadError {
        match self {
            WriteStop::Io(source) => DownloadError::Io {
                path: path.to_path_buf(),
                source,
            },
            WriteStop::BelowReserve(stop) => DownloadError::LowDisk {
                path: path.to_path_buf(),
                available: stop.available,
                reserve: stop.reserve,
            },
        }
    }
}

impl DiskWriter {
    /// Chunks queued between the network and the disk: with `jobs` files at once this bounds
    /// memory (a chunk is what one socket read gave, up to a few hundred KiB).
    const QUEUE: usize = 8;
    /// Bodies at least this large get a hashing thread of their own.
    const HASH_THREAD_MIN: u64 = 4 << 20;
    /// Bodies at most this large are kept in memory and written at the end (at most `jobs`
    /// of them at once).
    const BUFFERED_MAX: u64 = 1 << 20;
    /// A large body is flushed to the disk every this many bytes while it arrives (see
    /// [`Flusher`]).
    const FLUSH_AHEAD: u64 = 64 << 20;

    /// A writer into `file`, `fetch`'s `.incomplete` (see [`open_incomplete`]), from byte
    /// `offset`, stopping before the disk's free space drops below the target's reserve;
    /// `hasher` has seen the bytes before `offset`.
    fn at(
        mut file: fs_err::File,
        fetch: &BlobFetch,
        offset: u64,
        target: Target<'_>,
        hasher: ContentHasher,
    ) -> Result<DiskWriter, DownloadError> {
        file.seek(SeekFrom::Start(offset))
            .map_err(io_error(&fetch.incomplete))?;
        let guard = fetch
            .incomplete
            .parent()
            .map(|dir| FreeSpaceGuard::new(dir, target.min_free));
        let sink = Sink {
            file,
            offset,
            complete_at: fetch.size,
            guard,
            lock: target.lock.clone(),
        };
        Ok(DiskWriter::start(sink, hasher))
    }

    /// Appends to the `sink` and to `hasher` (which has seen the bytes before the sink's
    /// offset), off the async threads.
    fn start(sink: Sink, hasher: ContentHasher) -> DiskWriter {
        if sink.complete_at.saturating_sub(sink.offset) <= Self::BUFFERED_MAX {
            return DiskWriter::Buffered(Box::new(Buffered {
                started: std::time::Instant::now(),
                sink,
                hasher,
                chunks: Vec::new(),
            }));
        }
        Self::streaming(sink, hasher)
    }

    /// A writer thread (and, for a large body, a hashing thread and a flusher).
    fn streaming(sink: Sink, hasher: ContentHasher) -> DiskWriter {
        let (offset, complete_at) = (sink.offset, sink.complete_at);
        let remaining = complete_at.saturating_sub(offset);
        let (hashing, mut inline_hasher) = if remaining >= Self::HASH_THREAD_MIN {
            (Some(HashThread::start(hasher, offset)), None)
        } else {
            (None, Some(hasher))
        };
        let flusher = if remaining >= 2 * Self::FLUSH_AHEAD {
            sink.file.try_clone().ok().and_then(Flusher::start)
        } else {
            None
        };
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<bytes::Bytes>(Self::QUEUE);
        let task = tokio::task::spawn_blocking(move || {
            let chunks = std::iter::from_fn(|| receiver.blocking_recv());
            let (written, result) = write_chunks(sink, inline_hasher.as_mut(), flusher, chunks);
            (inline_hasher, written, result)
        });
        DiskWriter::Streaming {
            sender,
            task,
            hashing,
        }
    }

    /// Queues a chunk; `false` when the writer has stopped (after an error).
    async fn send(&mut self, chunk: bytes::Bytes) -> bool {
        if let DiskWriter::Buffered(buffered) = self {
            if buffered.started.elapsed() < FLUSH_EVERY {
                buffered.chunks.push(chunk);
                return true;
            }
            // A slow link: stream from here on, starting with what was kept.
            let DiskWriter::Buffered(buffered) = std::mem::replace(self, DiskWriter::Switching)
            else {
                unreachable!("matched above");
            };
            let Buffered {
                sink,
                hasher,
                chunks,
                ..
            } = *buffered;
            *self = Self::streaming(sink, hasher);
            for kept in chunks {
                if !self.send_streaming(kept).await {
                    return false;
                }
            }
        }
        self.send_streaming(chunk).await
    }

    /// Queues a chunk for the writer (and hashing) threads.
    async fn send_streaming(&self, chunk: bytes::Bytes) -> bool {
        let DiskWriter::Streaming {
            sender, hashing, ..
        } = self
        else {
            return false;
        };
        if let Some(hashing) = hashing
            && hashing.sender.send(chunk.clone()).await.is_err()
        {
            return false;
        }
        sender.send(chunk).await.is_ok()
    }

    /// Waits for the writing to end: the hasher, the bytes written (and hashed), and any
    /// error. After an error the hasher may have seen bytes the file did not get; the caller
    /// then stops using it (a later run re-hashes the partial file).
    async fn finish(self) -> (ContentHasher, u64, Result<(), WriteStop>) {
        let lost = |error: tokio::task::JoinError| {
            (
                ContentHasher::new(crate::hash::HashKind::Sha256, 0),
                0,
                Err(WriteStop::Io(std::io::Error::other(error))),
            )
        };
        let (sender, task, hashing) = match self {
            DiskWriter::Switching => {
                let error = std::io::Error::other("the disk writer was lost while switching");
                return (
                    ContentHasher::new(crate::hash::HashKind::Sha256, 0),
                    0,
                    Err(WriteStop::Io(error)),
                );
            }
            DiskWriter::Streaming {
                sender,
                task,
                hashing,
            } => (sender, task, hashing),
            DiskWriter::Buffered(buffered) => {
                let Buffered {
                    sink,
                    mut hasher,
                    chunks,
                    ..
                } = *buffered;
                let task = tokio::task::spawn_blocking(move || {
                    let (written, result) =
                        write_chunks(sink, Some(&mut hasher), None, chunks.into_iter());
                    (hasher, written, result)
                });
                return task.await.unwrap_or_else(lost);
            }
        };
        drop(sender);
        let (inline_hasher, written, result) = match task.await {
            Ok(done) => done,
            Err(error) => return lost(error),
        };
        let Some(hashing) = hashing else {
            let hasher = inline_hasher
                .unwrap_or_else(|| ContentHasher::new(crate::hash::HashKind::Sha256, 0));
            return (hasher, written, result);
        };
        drop(hashing.sender);
        let (hasher, hashed) = match hashing.task.await {
            Ok(done) => done,
            Err(error) => return lost(error),
        };
        // Both threads saw the same chunks unless the writer stopped early (an error).
        let result = match result {
            Ok(()) if hashed != written => Err(WriteStop::Io(std::io::Error::other(format!(
                "{hashed} bytes hashed but {written} written"
            )))),
            result => result,
        };
        (hasher, written, result)
    }
}

/// Starts the disk's writeback of a large body while it still arrives: a thread that
/// `fdatasync`s the file whenever the writer asks (every [`DiskWriter::FLUSH_AHEAD`] bytes).
/// Otherwise a machine with plenty of memory keeps the whole body as dirty pages and writes it
/// only at the final fsync, after the last byte arrived, so the download and the disk took
/// turns instead of working together.
///
/// Its first error is kept and reported by [`Flusher::stop`]: the clone shares the file's
/// write-error state, so a write-back error this thread saw would not show again at the final
/// fsync, and a blob whose bytes never reached the disk would be published.
struct Flusher {
    sender: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl Flusher {
    /// The flusher thread of `file` (a clone of the writer's); `None` when no thread can be
    /// started (the writer then does without).
    fn start(file: fs_err::File) -> Option<Flusher> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("hfdl-flush".into())
            .spawn(move || {
                while receiver.recv().is_ok() {
                    file.sync_data()?;
                }
                Ok(())
            })
            .ok()?;
        Some(Flusher { sender, thread })
    }

    /// Asks for a flush; `false` when one is already queued (then the writer asks again later,
    /// rather than queueing flushes behind a slow disk). After an error the thread is gone and
    /// every request is refused.
    fn request(&self) -> bool {
        self.sender.try_send(()).is_ok()
    }

    /// Waits for a running flush to end, so the final fsync does not race it; the first error
    /// of a flush, if any.
    fn stop(self) -> std::io::Result<()> {
        drop(self.sender);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the flusher thread panicked")))
    }
}

impl HashThread {
    /// Starts hashing chunks into `hasher`, which has seen the `offset` bytes before them.
    fn start(mut hasher: ContentHasher, offset: u64) -> HashThread {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<bytes::Bytes>(DiskWriter::QUEUE);
        let task = tokio::task::spawn_blocking(move || {
            let mut hashed = offset;
            while let Some(chunk) = receiver.blocking_recv() {
                hasher.update(&chunk);
                hashed += chunk.len() as u64;
            }
            (hasher, hashed)
        });
        HashThread { sender, task }
    }
}

/// Hashes a file in the store off the async threads.
pub async fn hash_file(
    path: &std::path::Path,
    fetch: &BlobFetch,
) -> Result<(ContentHash, u64), DownloadError> {
    let owned = path.to_path_buf();
    let (kind, size) = (fetch.hash.kind(), fetch.size);
    tokio::task::spawn_blocking(move || {
        let file = fs_err::File::open(&owned)?;
        crate::hash::hash_reader(std::io::BufReader::with_capacity(1 << 20, file), kind, size)
    })
    .await
    .map_err(|e| DownloadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?
    .map_err(io_error(path))
}
