//! Xet-backed blobs over the Xet protocol (xet-protocol.md §2.4–§3.6, issue #20): a CAS token
//! from the Hub, the file's reconstruction from the CAS, its xorb ranges from signed URLs (a
//! few at once), decoded and assembled term by term into `.incomplete` through the same disk
//! writer as any download, which hashes the sha256 the lock pins.
//!
//! A whole download is verified twice: the Xet hash is recomputed from the decoded chunks
//! ([`XetHasher`]) and must equal the lock's `xet-hash`, and the sha256 must equal the lock's
//! (checked by the caller, as for every source). Either wrong, the bytes are discarded.
//!
//! A resumed download (`.incomplete` already holds N bytes) asks for the reconstruction of
//! `bytes=N-` only. The Xet hash needs every chunk of the file from its first byte, so a resumed
//! file is verified by its sha256 alone (over all its bytes, the kept ones re-hashed first).
//!
//! A failure of the Xet path is a [`XetFailure`], not an error: with `xet = "auto"` the caller
//! then downloads the file through the bridge (the plain resolve GET); with `xet = "on"` it
//! fails the file (`xet-failed`). Only local trouble (the disk) is a [`DownloadError`] here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};

use super::{
    BlobFetch, DiskWriter, DownloadError, FetchStats, Target, io_error, log_body, open_incomplete,
};
use crate::hash::ContentHash;
use crate::hub::client::{classify_external, describe_reqwest_error, redact_url, retry_delay};
use crate::hub::{HubClient, HubError};
use crate::report::{Event, TaskKind};
use crate::store::chunk_maps::{ChunkIndex, ChunkLocation, ChunkMap, read_chunks_into};
use crate::xet::hash::chunk_hash;
use crate::xet::reconstruction::{
    Assembler, ByteRange, ChunkRange, DecodedRange, ReconstructionV1, ReconstructionV2, XetToken,
};
use crate::xet::xorb::RangeDecoder;
use crate::xet::{XetHash, XetHasher};

/// Xorb ranges fetched at once for one file.
const PARALLEL_RANGES: usize = 4;
/// MiB of decoded ranges held at once by all the files of a run (three whole xorbs): enough
/// to keep the network busy while the disk writer drains, and the run's memory bound.
const RANGE_BUDGET_MIB: u32 = 192;
/// Buffers of finished ranges kept for reuse: as many as the budget holds ranges.
const POOLED_BUFFERS: usize = 3;
/// The most bytes one xorb range may span: a xorb holds at most 64 MiB of serialized chunks
/// (xet-protocol §4.1); more is a bad answer, refused before anything is allocated for it.
const MAX_RANGE_BYTES: u64 = 128 << 20;
/// A token this close to its expiry (seconds) is refreshed before use (xet-core: 30 s).
const REFRESH_BEFORE_SECS: u64 = 60;

/// What the Xet downloads of one run share: the CAS tokens (one per repo and commit, reused
/// until they near their expiry) and whether the CAS failed (with `xet = "auto"`, the files
/// after such a failure go straight to the bridge instead of each waiting for it to fail).
#[derive(Debug)]
pub struct XetSession {
    /// Held while a token is fetched, so that files starting together ask for one token.
    tokens: tokio::sync::Mutex<HashMap<String, XetToken>>,
    unavailable: AtomicBool,
    /// Where chunk maps are kept (hfdl's state directory); `None` reuses and records nothing.
    chunk_maps: Option<PathBuf>,
    /// The chunks of the maps, read on first use, with the maps this run wrote added.
    index: std::sync::Mutex<Option<ChunkIndex>>,
    /// Held while the maps are read, so files starting together read them once.
    loading: tokio::sync::Mutex<()>,
    /// Buffers of decoded ranges no longer used, for the next ranges: a fresh 64 MiB buffer
    /// costs a page fault per 4 KiB written to it.
    buffers: std::sync::Mutex<Buffers>,
    /// MiB of decoded ranges the run's files may hold at once, fetched or being fetched: the
    /// run's memory does not grow with `jobs`.
    budget: std::sync::Arc<tokio::sync::Semaphore>,
    /// A file assembled with copied chunks came out wrong: no more copies this run.
    distrusted: AtomicBool,
}

/// The buffers of ranges no longer used.
#[derive(Debug, Default)]
struct Buffers {
    /// Ready for a new range.
    free: Vec<Vec<u8>>,
    /// Still shared with the disk writer's queue.
    retired: Vec<bytes::Bytes>,
}

impl Default for XetSession {
    fn default() -> XetSession {
        XetSession {
            tokens: tokio::sync::Mutex::default(),
            unavailable: AtomicBool::default(),
            chunk_maps: None,
            index: std::sync::Mutex::default(),
            loading: tokio::sync::Mutex::default(),
            buffers: std::sync::Mutex::default(),
            budget: std::sync::Arc::new(tokio::sync::Semaphore::new(RANGE_BUDGET_MIB as usize)),
            distrusted: AtomicBool::new(false),
        }
    }
}

impl XetSession {
    /// A session that copies chunks the blobs of `dir`'s maps hold instead of fetching them,
    /// and maps each blob it downloads whole.
    pub fn with_chunk_maps(dir: PathBuf) -> XetSession {
        XetSession {
            chunk_maps: Some(dir),
            ..XetSession::default()
        }
    }

    /// A buffer for a decoded range of about `len` bytes: a used one when there is one (the
    /// largest, so that it need not grow).
    fn take_buffer(&self, len: u64) -> Vec<u8> {
        let mut buffers = self
            .buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Buffers the disk writer was still writing from when they were given back.
        let mut i = 0;
        while i < buffers.retired.len() {
            match buffers.retired.swap_remove(i).try_into_mut() {
                Ok(mut buffer) => {
                    // Emptied first: a `BytesMut` turned into a `Vec` moves its bytes to the
                    // front.
                    buffer.clear();
                    buffers.free.push(buffer.into());
                }
                Err(still_shared) => {
                    buffers.retired.push(still_shared);
                    i += 1;
                }
            }
        }
        buffers.free.sort_by_key(Vec::capacity);
        let mut buffer = buffers.free.pop().unwrap_or_default();
        drop(buffers);
        buffer.clear();
        buffer.reserve(usize::try_from(len).unwrap_or(0));
        buffer
    }

    /// Keeps the buffer of a range no longer used for a later range; while the disk writer
    /// still holds parts of it, as retired until it lets go. Beyond a few, it is freed.
    fn give_back(&self, bytes: bytes::Bytes) {
        let mut buffers = self
            .buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buffers.free.len() + buffers.retired.len() < POOLED_BUFFERS {
            buffers.retired.push(bytes);
        }
    }

    /// Room in the run's memory budget for a range of `bytes`, waited for in turn (first asked,
    /// first served, so a file's next range is never overtaken by its later ones).
    async fn room_for(&self, bytes: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let mib = u32::try_from(bytes.div_ceil(1 << 20))
            .unwrap_or(u32::MAX)
            .clamp(1, RANGE_BUDGET_MIB);
        self.budget.clone().acquire_many_owned(mib).await.ok()
    }

    /// Reads the chunk maps into the index, off the async threads, unless done already.
    async fn load_index(&self) {
        let Some(dir) = self.chunk_maps.clone() else {
            return;
        };
        let _loading = self.loading.lock().await;
        let loaded = || {
            self.index
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_some()
        };
        if loaded() {
            return;
        }
        let index = tokio::task::spawn_blocking(move || ChunkIndex::load(&dir))
            .await
            .unwrap_or_default();
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(index);
    }

    /// Runs `f` on the chunk index, read from the maps on first use; `None` without maps, or
    /// once copied chunks proved wrong.
    fn with_index<T>(&self, f: impl FnOnce(&mut ChunkIndex) -> T) -> Option<T> {
        let dir = self.chunk_maps.as_ref()?;
        if self.distrusted.load(Ordering::Relaxed) {
            return None;
        }
        let mut index = self
            .index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(f(index.get_or_insert_with(|| ChunkIndex::load(dir))))
    }

    /// Copies from `blobs` made a file come out wrong (one of them changed since it was mapped):
    /// their maps are deleted, and this run copies no more chunks.
    fn distrust(&self, blobs: &std::collections::BTreeSet<PathBuf>) {
        self.distrusted.store(true, Ordering::Relaxed);
        let Some(dir) = self.chunk_maps.as_ref() else {
            return;
        };
        for blob in blobs {
            let map = crate::store::chunk_maps::chunk_map_path(dir, blob);
            if let Err(error) = fs_err::remove_file(&map)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%error, "could not delete a Xet chunk map");
            }
        }
    }

    /// Saves the map of a blob just downloaded and adds it to the index (a failure to save
    /// only costs later reuse).
    fn record(&self, map: &ChunkMap) {
        let Some(dir) = self.chunk_maps.as_ref() else {
            return;
        };
        match map.save(dir) {
            Ok(path) => {
                tracing::debug!(map = %path.display(), runs = map.runs.len(), "chunk map saved");
            }
            Err(error) => {
                tracing::warn!(%error, dir = %dir.display(), "could not save a Xet chunk map");
            }
        }
        self.with_index(|index| index.add(map));
    }

    /// Whether a failure of the CAS (not of one file's data) made the run stop using Xet.
    pub fn unavailable(&self) -> bool {
        self.unavailable.load(Ordering::Relaxed)
    }

    /// Stops using Xet for the rest of the run; true the first time.
    pub(super) fn give_up(&self) -> bool {
        !self.unavailable.swap(true, Ordering::Relaxed)
    }

    /// The token for `fetch`'s repo and commit: the cached one unless it nears its expiry or is
    /// `refused` (the CAS answered 401 to it), else a new one from the Hub.
    async fn token(
        &self,
        hub: &HubClient,
        fetch: &BlobFetch,
        refused: Option<&str>,
    ) -> Result<XetToken, HubError> {
        let key = format!(
            "{}/{}@{}",
            fetch.repo_type.as_str(),
            fetch.repo,
            fetch.commit
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut tokens = self.tokens.lock().await;
        if let Some(token) = tokens.get(&key)
            && token.exp > now + REFRESH_BEFORE_SECS
            && refused != Some(token.access_token.as_str())
        {
            return Ok(token.clone());
        }
        let token = hub
            .xet_read_token(fetch.repo_type, &fetch.repo, &fetch.commit)
            .await?;
        tokens.insert(key, token.clone());
        Ok(token)
    }
}

/// Why the Xet path could not deliver a file (the caller falls back or fails).
#[derive(Debug, Clone)]
pub(super) struct XetFailure {
    /// What went wrong, for the log, the warning or the error.
    pub message: String,
    /// The CAS sent bytes or answers that are wrong (a decode error, a term of the wrong
    /// length, a hash that does not match), rather than being unreachable or refusing.
    pub data: bool,
}

/// How an attempt stopped early.
enum Stop {
    /// The disk: fails the file whatever the source.
    Local(DownloadError),
    /// The Xet path.
    Failed(XetFailure),
}

impl From<HubError> for Stop {
    fn from(error: HubError) -> Stop {
        Stop::Failed(XetFailure {
            message: error.to_string(),
            data: false,
        })
    }
}

/// A data problem.
fn bad_data(message: impl Into<String>) -> Stop {
    Stop::Failed(XetFailure {
        message: message.into(),
        data: true,
    })
}

/// One byte range of one xorb to fetch, and where the signed URL for it came from.
#[derive(Debug, Clone)]
struct RangeJob {
    xorb: XetHash,
    chunks: ChunkRange,
    bytes: ByteRange,
    url: String,
    /// Bytes its chunks decode to, at most (the terms' lengths; a chunk two terms share counts
    /// twice): what holding it decoded takes, compressed or not.
    decoded: u64,
}

/// A fetched, decoded range, with the hash and length of each of its chunks (when the file's
/// Xet hash is computed).
struct Fetched {
    range: DecodedRange,
    hashes: Vec<(XetHash, u64)>,
    /// Copied from blobs in the store rather than fetched.
    local: bool,
    /// Its room in the run's memory budget, given back when the range is dropped or kept for
    /// a later term (see `assemble`).
    room: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// What every request of one file's Xet download needs.
struct Call<'a> {
    hub: &'a HubClient,
    session: &'a XetSession,
    fetch: &'a BlobFetch,
    xet_hash: XetHash,
    /// Told of each retry.
    reporter: &'a dyn crate::report::Reporter,
    /// What the file's download counted so far.
    tally: &'a Tally,
}

/// What one file's Xet download counts, across its requests and attempts.
#[derive(Debug, Default)]
struct Tally {
    /// Retries spent (shared by the ranges fetched at once).
    retries: AtomicU32,
    /// Network bytes received.
    received: AtomicU64,
    /// Bytes of the file copied from chunks of blobs in the store.
    reused: AtomicU64,
    /// The blobs chunks were copied from.
    sources: std::sync::Mutex<std::collections::BTreeSet<PathBuf>>,
}

impl Call<'_> {
    /// Spends one retry of the file's budget on `error` when it is retryable, waiting first
    /// (the caller then tries again); the error, as the end of the attempt, when it is final.
    async fn retry(&self, error: HubError) -> Result<(), Stop> {
        let options = self.hub.options();
        let attempt = self.tally.retries.load(Ordering::Relaxed);
        if !error.is_retryable() || attempt >= options.retries {
            return Err(error.into());
        }
        let delay = retry_delay(&error, attempt, options.retry_base);
        let attempt = self.tally.retries.fetch_add(1, Ordering::Relaxed) + 1;
        self.hub.metrics().count_retry();
        self.reporter.report(Event::Retrying {
            label: self.fetch.path.clone(),
            attempt,
            error: error.to_string(),
        });
        tracing::debug!(path = self.fetch.path, attempt, ?delay, %error, "retrying a Xet request");
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// A GET to the CAS (with its token as `bearer`) or to a xorb URL (none); `None` when it
    /// failed and a retry was waited out, so the caller asks again.
    async fn get(
        &self,
        url: &str,
        range: Option<String>,
        bearer: Option<&str>,
    ) -> Result<Option<reqwest::Response>, Stop> {
        let attempt = self.tally.retries.load(Ordering::Relaxed);
        match self
            .hub
            .send_external(Method::GET, url, range, bearer, attempt)
            .await
        {
            Ok(response) => Ok(Some(response)),
            Err(error) => self.retry(error).await.map(|()| None),
        }
    }

    /// The reconstruction of the file from byte `start` (v2, or v1 where the CAS has no v2),
    /// with a new token when the CAS refuses the cached one.
    async fn reconstruction(&self, start: u64) -> Result<ReconstructionV2, Stop> {
        let mut refused: Option<String> = None;
        let mut v1 = false;
        loop {
            let token = self
                .session
                .token(self.hub, self.fetch, refused.as_deref())
                .await?;
            let version = if v1 { "v1" } else { "v2" };
            let url = format!(
                "{}/{version}/reconstructions/{}",
                token.cas_url.trim_end_matches('/'),
                self.xet_hash
            );
            let range = (start > 0).then(|| format!("bytes={start}-"));
            let Some(response) = self.get(&url, range, Some(&token.access_token)).await? else {
                continue;
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && refused.is_none() {
                // Expired or revoked: one new token, then the answer stands.
                tracing::debug!(
                    path = self.fetch.path,
                    "the CAS refused the token; a new one"
                );
                refused = Some(token.access_token.clone());
                continue;
            }
            if !v1 && matches!(status, StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED) {
                tracing::debug!(path = self.fetch.path, %status, "no v2 reconstruction; asking v1");
                v1 = true;
                continue;
            }
            if !status.is_success() {
                let headers = response.headers().clone();
                let body = response.text().await.ok();
                let error = classify_external(status, &headers, body.as_deref(), &url);
                self.retry(error).await?;
                continue;
            }
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(error) => {
                    let error = HubError::Network {
                        url: redact_url(&url),
                        message: describe_reqwest_error(&error),
                    };
                    self.retry(error).await?;
                    continue;
                }
            };
            let parsed = if v1 {
                serde_json::from_slice::<ReconstructionV1>(&body).map(ReconstructionV2::from)
            } else {
                serde_json::from_slice::<ReconstructionV2>(&body)
            };
            return parsed.map_err(|e| {
                bad_data(format!(
                    "the {version} reconstruction of {} is not valid JSON: {e}",
                    self.xet_hash
                ))
            });
        }
    }

    /// Fetches and decodes one range; an expired signed URL (403) is replaced by a fresh one
    /// from a new reconstruction of the same bytes of the file.
    async fn range(&self, mut job: RangeJob, start: u64) -> Result<Fetched, Stop> {
        let mut renewed = false;
        loop {
            let started = std::time::Instant::now();
            let Some(response) = self
                .get(&job.url, Some(job.bytes.header_value()), None)
                .await?
            else {
                continue;
            };
            let status = response.status();
            if status == StatusCode::FORBIDDEN && !renewed {
                tracing::debug!(path = self.fetch.path, xorb = %job.xorb, "a xorb URL expired; asking for new ones");
                renewed = true;
                let fresh = self.reconstruction(start).await?;
                let url = fresh.xorbs.get(&job.xorb).and_then(|fetches| {
                    fetches.iter().find_map(|fetch| {
                        fetch
                            .ranges
                            .iter()
                            .any(|r| r.chunks == job.chunks && r.bytes == job.bytes)
                            .then(|| fetch.url.clone())
                    })
                });
                match url {
                    Some(url) => job.url = url,
                    None => {
                        return Err(bad_data(format!(
                            "a new reconstruction no longer has chunks {} of xorb {}",
                            job.chunks, job.xorb
                        )));
                    }
                }
                continue;
            }
            if status != StatusCode::PARTIAL_CONTENT && status != StatusCode::OK {
                let headers = response.headers().clone();
                let body = response.text().await.ok();
                let error = classify_external(status, &headers, body.as_deref(), &job.url);
                self.retry(error).await?;
                continue;
            }
            let expected = job.bytes.len();
            if status == StatusCode::OK && response.content_length() != Some(expected) {
                // The whole xorb (a server that ignores `Range`): asking again would not help.
                return Err(HubError::Protocol {
                    url: redact_url(&job.url),
                    message: format!("asked for {expected} bytes of a xorb, got a 200 answer"),
                }
                .into());
            }
            // Decoded as the bytes arrive: the range is never held serialized.
            let mut body = response.bytes_stream();
            let mut decoder = RangeDecoder::new(
                u64::from(job.chunks.len()),
                self.session.take_buffer(job.decoded),
            );
            let mut length = 0u64;
            let mut failure = None;
            while let Some(piece) = body.next().await {
                match piece {
                    Ok(piece) => {
                        let n = piece.len() as u64;
                        self.hub.metrics().count_body_bytes(n);
                        self.hub.throttle(n).await;
                        self.tally.received.fetch_add(n, Ordering::Relaxed);
                        length += n;
                        if length > expected {
                            failure = Some(format!(
                                "more than the {expected} bytes of the range were sent"
                            ));
                            break;
                        }
                        decoder.feed(&piece).map_err(|e| {
                            bad_data(format!(
                                "decoding chunks {} of xorb {}: {e}",
                                job.chunks, job.xorb
                            ))
                        })?;
                    }
                    Err(error) => {
                        failure = Some(describe_reqwest_error(&error));
                        break;
                    }
                }
            }
            let complete = failure.is_none() && length == expected;
            log_body(&job.url, length, started, complete);
            if !complete {
                let error = HubError::Network {
                    url: redact_url(&job.url),
                    message: failure.unwrap_or_else(|| {
                        format!("the body ended after {length} of {expected} bytes")
                    }),
                };
                self.retry(error).await?;
                continue;
            }
            let (xorb, chunks) = (job.xorb, job.chunks);
            let (data, ends) = decoder
                .finish()
                .map_err(|e| bad_data(format!("decoding chunks {chunks} of xorb {xorb}: {e}")))?;
            let range = DecodedRange::from_decoded(xorb, chunks, data, ends);
            if start != 0 {
                return Ok(Fetched {
                    range,
                    hashes: Vec::new(),
                    local: false,
                    room: None,
                });
            }
            // Each chunk hashed for the file's Xet hash (only a download from the first byte
            // has one), off the async threads and in parallel across ranges.
            return tokio::task::spawn_blocking(move || Fetched {
                hashes: hash_chunks(&range),
                range,
                local: false,
                room: None,
            })
            .await
            .map_err(|e| bad_data(format!("hashing chunks {chunks} of xorb {xorb}: {e}")));
        }
    }

    /// The chunks of `job` from the blobs at `locations` (all of its chunks, in order), or,
    /// when they cannot be read, from the network after all.
    async fn local_range(
        &self,
        job: RangeJob,
        locations: Vec<ChunkLocation>,
        start: u64,
    ) -> Result<Fetched, Stop> {
        let (xorb, chunks) = (job.xorb, job.chunks);
        let hash = start == 0;
        let mut buffer = self.session.take_buffer(job.decoded);
        let blobs: std::collections::BTreeSet<PathBuf> =
            locations.iter().map(|l| l.blob.as_ref().clone()).collect();
        let read = tokio::task::spawn_blocking(move || {
            let ends = read_chunks_into(&locations, &mut buffer)?;
            let range = DecodedRange::from_decoded(xorb, chunks, buffer, ends);
            Ok::<_, std::io::Error>(Fetched {
                hashes: if hash {
                    hash_chunks(&range)
                } else {
                    Vec::new()
                },
                range,
                local: true,
                room: None,
            })
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match read {
            Ok(fetched) => {
                self.tally
                    .sources
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(blobs);
                Ok(fetched)
            }
            Err(error) => {
                // A blob removed or unreadable since its map was written: the chunks are
                // still on the CAS.
                tracing::debug!(path = self.fetch.path, %xorb, %chunks, %error, "mapped chunks unreadable; fetching them");
                self.range(job, start).await
            }
        }
    }
}

/// Each chunk's Xet hash and length, for the file's Xet hash.
fn hash_chunks(range: &DecodedRange) -> Vec<(XetHash, u64)> {
    let chunks = range.chunks();
    (chunks.start..chunks.end)
        .filter_map(|index| range.chunk(index))
        .map(|chunk| (chunk_hash(chunk), chunk.len() as u64))
        .collect()
}

/// Downloads `fetch` over Xet into `.incomplete` (resuming what it holds); the sha256 of the
/// whole file on success, for the caller to compare with the lock. `Ok(Err(_))` when the Xet
/// path failed (the caller falls back or fails); `Err` for local trouble only.
pub(super) async fn download(
    hub: &HubClient,
    session: &XetSession,
    fetch: &BlobFetch,
    xet_hash: XetHash,
    target: Target<'_>,
    stats: &mut FetchStats,
) -> Result<Result<ContentHash, XetFailure>, DownloadError> {
    let (hasher, start) = super::resume_state(fetch).await?;
    if start == fetch.size {
        // A whole partial file: its digest decides, as on the other paths.
        return Ok(Ok(hasher.finish()));
    }
    // Reported again when the file is assembled once more (the progress starts over).
    let started = || {
        target.reporter.report(Event::TaskStarted {
            id: target.id,
            kind: TaskKind::Download,
            label: fetch.path.clone(),
            size: fetch.size,
            done: start,
        });
    };
    started();
    let tally = Tally {
        retries: AtomicU32::new(stats.retries),
        ..Tally::default()
    };
    let call = Call {
        hub,
        session,
        fetch,
        xet_hash,
        reporter: target.reporter,
        tally: &tally,
    };
    let (retries, received, reused) = (&tally.retries, &tally.received, &tally.reused);
    let mut hasher = Some(hasher);
    let mut reuse = true;
    let result = loop {
        let Some(kept) = hasher.take() else {
            unreachable!("set before each attempt")
        };
        let result = assemble(&call, target, kept, start, reuse).await;
        // Chunks copied from blobs in the store are checked with the whole file only: a file
        // that comes out wrong with some is assembled once more from the CAS alone.
        let wrong = match &result {
            Ok((actual, _)) => *actual != fetch.hash,
            Err(Stop::Failed(failure)) => failure.data,
            Err(Stop::Local(_)) => false,
        };
        if !(reuse && wrong && reused.load(Ordering::Relaxed) > 0) {
            break result;
        }
        tracing::warn!(
            path = fetch.path,
            "a file assembled with Xet chunks copied from the store came out wrong; fetching all of its chunks"
        );
        reuse = false;
        reused.store(0, Ordering::Relaxed);
        session.distrust(
            &tally
                .sources
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        truncate(fetch, start)?;
        let (again, kept_len) = super::resume_state(fetch).await?;
        debug_assert_eq!(kept_len, start);
        hasher = Some(again);
        started();
    };
    stats.retries = retries.load(Ordering::Relaxed);
    stats.downloaded += received.load(Ordering::Relaxed);
    stats.xet_reused += reused.load(Ordering::Relaxed);
    match result {
        Ok((actual, map)) => {
            stats.resumed += start;
            if let Some(map) = map.filter(|_| actual == fetch.hash) {
                session.record(&map);
            }
            tracing::debug!(
                path = fetch.path,
                %xet_hash,
                resumed = start,
                received = received.load(Ordering::Relaxed),
                reused = reused.load(Ordering::Relaxed),
                "downloaded over Xet"
            );
            Ok(Ok(actual))
        }
        Err(Stop::Local(error)) => Err(error),
        Err(Stop::Failed(failure)) => {
            if failure.data {
                // Which bytes were wrong is unknown: only those from before this attempt stay
                // (or none, if the file was assembled whole and failed its Xet hash).
                truncate(fetch, start)?;
            }
            Ok(Err(failure))
        }
    }
}

/// The ranges of a reconstruction to fetch, each once, in the order the terms first need it.
struct RangePlan {
    jobs: Vec<RangeJob>,
    /// The job of each term.
    job_of: Vec<usize>,
    /// The last term of each job (its range is dropped after it).
    last_use: Vec<usize>,
    /// For each job whose every chunk a blob in the store holds (when reusing), where they are.
    local: Vec<Option<Vec<ChunkLocation>>>,
}

/// Checks `recon` (of the file from byte `start`) and plans its ranges.
fn plan_ranges(
    call: &Call<'_>,
    recon: &ReconstructionV2,
    start: u64,
    reuse: bool,
) -> Result<RangePlan, Stop> {
    recon
        .check_sources()
        .map_err(|e| bad_data(format!("reconstruction of {}: {e}", call.xet_hash)))?;
    let expected = call.fetch.size - start;
    if recon.unpacked_len() != expected {
        return Err(bad_data(format!(
            "the reconstruction of {} holds {} bytes from byte {start}, the lock says {expected}",
            call.xet_hash,
            recon.unpacked_len()
        )));
    }
    if start == 0 && recon.offset_into_first_range != 0 {
        return Err(bad_data(format!(
            "the whole-file reconstruction of {} starts {} bytes into its first term",
            call.xet_hash, recon.offset_into_first_range
        )));
    }
    let mut jobs: Vec<RangeJob> = Vec::new();
    let mut index: HashMap<(XetHash, ChunkRange), usize> = HashMap::new();
    let mut job_of = Vec::with_capacity(recon.terms.len());
    let mut last_use: Vec<usize> = Vec::new();
    let mut counted: std::collections::HashSet<(usize, ChunkRange)> =
        std::collections::HashSet::new();
    for (t, term) in recon.terms.iter().enumerate() {
        let (xorb_fetch, range) = recon
            .source_of(term)
            .ok_or_else(|| bad_data("a term has no range"))?;
        if range.bytes.is_empty() || range.bytes.len() > MAX_RANGE_BYTES {
            return Err(bad_data(format!(
                "the reconstruction of {} asks for {} bytes of xorb {} in one range",
                call.xet_hash,
                range.bytes.len(),
                term.hash
            )));
        }
        let j = *index.entry((term.hash, range.chunks)).or_insert_with(|| {
            jobs.push(RangeJob {
                xorb: term.hash,
                chunks: range.chunks,
                bytes: range.bytes,
                url: xorb_fetch.url.clone(),
                decoded: 0,
            });
            last_use.push(t);
            jobs.len() - 1
        });
        if counted.insert((j, term.range)) {
            jobs[j].decoded += u64::from(term.unpacked_length);
        }
        last_use[j] = t;
        job_of.push(j);
    }
    // Ranges whose every chunk a blob in the store holds are read from there.
    let local = if reuse {
        call.session
            .with_index(|index| {
                jobs.iter()
                    .map(|job| index.locate(job.xorb, job.chunks.start, job.chunks.end))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(RangePlan {
        jobs,
        job_of,
        last_use,
        local,
    })
}

/// What downloading a Xet-backed file would move, by the chunk maps of the store's blobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XetEstimate {
    /// Bytes of xorb ranges to fetch (serialized, as the network carries them).
    pub fetch_bytes: u64,
    /// Decoded bytes of ranges the store's blobs hold, copied instead.
    pub reused_bytes: u64,
}

/// Asks the CAS for the reconstruction of `fetch` (from byte `start`) and splits its ranges
/// into those the store's blobs hold and those to fetch, as a download would; sends no xorb
/// request. An error when the CAS cannot tell (the download would then use the bridge, or fail).
pub(super) async fn estimate(
    hub: &HubClient,
    session: &XetSession,
    fetch: &BlobFetch,
    xet_hash: XetHash,
    start: u64,
) -> Result<XetEstimate, XetFailure> {
    let tally = Tally::default();
    let call = Call {
        hub,
        session,
        fetch,
        xet_hash,
        reporter: &crate::report::Silent,
        tally: &tally,
    };
    let failed = |stop: Stop| match stop {
        Stop::Local(error) => XetFailure {
            message: error.to_string(),
            data: false,
        },
        Stop::Failed(failure) => failure,
    };
    let recon = call.reconstruction(start).await.map_err(failed)?;
    session.load_index().await;
    let plan = plan_ranges(&call, &recon, start, true).map_err(failed)?;
    let mut estimate = XetEstimate::default();
    for (i, job) in plan.jobs.iter().enumerate() {
        match plan.local.get(i).and_then(Option::as_ref) {
            Some(locations) => {
                estimate.reused_bytes += locations.iter().map(|l| u64::from(l.len)).sum::<u64>();
            }
            None => estimate.fetch_bytes += job.bytes.len(),
        }
    }
    Ok(estimate)
}

/// The reconstruction, the ranges (those whose chunks the store's blobs all hold copied from
/// them when `reuse`) and the assembly into the disk writer; the sha256 of the file once whole,
/// and, when it was downloaded from its first byte, its chunk map (its Xet hash checked).
async fn assemble(
    call: &Call<'_>,
    target: Target<'_>,
    hasher: crate::hash::ContentHasher,
    start: u64,
    reuse: bool,
) -> Result<(ContentHash, Option<ChunkMap>), Stop> {
    let fetch = call.fetch;
    let recon = call.reconstruction(start).await?;
    if reuse {
        call.session.load_index().await;
    }
    let RangePlan {
        jobs,
        job_of,
        last_use,
        local,
    } = plan_ranges(call, &recon, start, reuse)?;
    let expected = fetch.size - start;
    if local.iter().any(Option::is_some) {
        tracing::debug!(
            path = fetch.path,
            ranges = jobs.len(),
            local = local.iter().filter(|l| l.is_some()).count(),
            "Xet ranges found in the store's blobs"
        );
    }

    let mut writer = open_incomplete(fetch)
        .and_then(|file| DiskWriter::at(file, fetch, start, target, hasher))
        .map_err(Stop::Local)?;
    // The Xet hash needs every chunk from the first: only a download from byte 0 has it.
    let mut xet_hasher = (start == 0).then(XetHasher::new);
    let mut map = (start == 0).then(|| ChunkMap::new(&fetch.blob, fetch.size, call.xet_hash));
    let outcome = async {
        let mut local = local.into_iter();
        let mut ranges = futures_util::stream::iter(jobs.iter().cloned().map(|job| {
            let locations = local.next().flatten();
            async move {
                let room = call
                    .session
                    .room_for(job.decoded.max(job.bytes.len()))
                    .await;
                let mut fetched = match locations {
                    Some(locations) => call.local_range(job, locations, start).await,
                    None => call.range(job, start).await,
                }?;
                fetched.room = room;
                Ok::<_, Stop>(fetched)
            }
        }))
        .buffered(PARALLEL_RANGES);
        let mut ready: HashMap<usize, Fetched> = HashMap::new();
        let mut next = 0usize;
        let mut assembler = Assembler::new(recon.offset_into_first_range);
        let mut assembled = 0u64;
        for (t, term) in recon.terms.iter().enumerate() {
            let j = job_of[t];
            while !ready.contains_key(&j) {
                match ranges.next().await {
                    Some(decoded) => {
                        ready.insert(next, decoded?);
                        next += 1;
                    }
                    None => return Err(bad_data("a range was never fetched")),
                }
            }
            let source = &ready[&j];
            let pieces = assembler
                .term(term, &source.range)
                .map_err(|e| bad_data(e.to_string()))?;
            if let Some(xet_hasher) = xet_hasher.as_mut() {
                // From byte 0 the pieces are exactly the term's chunks (checked above).
                let first = source.range.chunks().start;
                let mut offset = assembled;
                for index in term.range.start..term.range.end {
                    let &(hash, len) = source
                        .hashes
                        .get((index - first) as usize)
                        .ok_or_else(|| bad_data("a chunk of a term was not hashed"))?;
                    xet_hasher.add_chunk_hash(hash, len);
                    if let Some(map) = map.as_mut() {
                        let len32 =
                            u32::try_from(len).map_err(|_| bad_data("a chunk over 4 GiB"))?;
                        map.push(term.hash, index, offset, len32);
                    }
                    offset += len;
                }
            }
            for piece in pieces {
                assembled += piece.len() as u64;
                if source.local {
                    call.tally
                        .reused
                        .fetch_add(piece.len() as u64, Ordering::Relaxed);
                }
                if assembled > expected {
                    return Err(bad_data(format!(
                        "the reconstruction of {} runs past the {expected} bytes expected",
                        call.xet_hash
                    )));
                }
                if !writer.send(source.range.bytes().slice_ref(piece)).await {
                    // The writer stopped; its error is reported below.
                    return Ok(());
                }
                target.reporter.report(Event::TaskProgress {
                    id: target.id,
                    bytes: piece.len() as u64,
                });
            }
            if last_use[j] == t {
                if let Some(done) = ready.remove(&j) {
                    call.session.give_back(done.range.into_bytes());
                }
            } else if let Some(kept) = ready.get_mut(&j) {
                // Kept for a later term (a chunk used twice): out of the budget, or files
                // holding such ranges could wait on each other for room forever.
                kept.room = None;
            }
        }
        assembler
            .finish()
            .map_err(|e| bad_data(e.to_string()))
            .map(drop)
    }
    .await;
    let (hasher, written, written_result) = writer.finish().await;
    written_result.map_err(|stop| Stop::Local(stop.into_error(&fetch.incomplete)))?;
    outcome?;
    if written != fetch.size {
        return Err(bad_data(format!(
            "assembled {written} of the {} bytes of the file",
            fetch.size
        )));
    }
    if let Some(xet_hasher) = xet_hasher {
        let actual = xet_hasher.finish();
        if actual != call.xet_hash {
            return Err(bad_data(format!(
                "the decoded chunks hash to Xet hash {actual}, the lock says {}; the bytes were discarded",
                call.xet_hash
            )));
        }
    }
    Ok((hasher.finish(), map))
}

/// Cuts `.incomplete` back to `length` bytes (removes it for 0).
fn truncate(fetch: &BlobFetch, length: u64) -> Result<(), DownloadError> {
    if length == 0 {
        return match fs_err::remove_file(&fetch.incomplete) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_error(&fetch.incomplete)(e))
            }
            _ => Ok(()),
        };
    }
    let file = fs_err::OpenOptions::new()
        .write(true)
        .open(&fetch.incomplete)
        .map_err(io_error(&fetch.incomplete))?;
    file.set_len(length).map_err(io_error(&fetch.incomplete))
}
