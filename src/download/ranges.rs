//! Large files over several connections (`connections` > 1): the file is split into byte
//! ranges, each streamed by its own `Range` request into its place in the `.incomplete` file.
//!
//! Which bytes are on disk is recorded in a small range map in hfdl's state directory (never in
//! the Hugging Face cache), updated as data is flushed; a killed download resumes each range where
//! it stopped. A server that answers a range with `200` (ignoring `Range`) ends the attempt: the
//! caller starts over with one connection. Once every range is complete, the file is hashed in
//! order from the page cache (bytes of later ranges arrive before earlier ones are done, so
//! hashing cannot follow the wire without holding them in memory).

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use futures_util::StreamExt;
use reqwest::StatusCode;

use super::{
    BlobFetch, DownloadError, DownloadOptions, FLUSH_EVERY, FetchStats, RangedPaths, WRITE_BUFFER,
    io_error, log_body, open_body,
};
use crate::hub::client::retry_delay;
use crate::hub::{HubClient, HubError};
use crate::report::{Event, Reporter, TaskId, TaskKind};
use crate::store::disk::FreeSpaceGuard;
use crate::store::partials::{Range, RangeMap};

/// Why a ranged attempt stopped.
pub enum RangedError {
    /// The server sent the whole file for a range: ranges cannot be used.
    RangeIgnored,
    /// Any other failure, as a single-connection download reports it (Hub, I/O, low disk,
    /// size or digest mismatch).
    Failed(DownloadError),
}

impl From<DownloadError> for RangedError {
    fn from(error: DownloadError) -> RangedError {
        RangedError::Failed(error)
    }
}

/// State shared by the range tasks of one file.
struct Shared<'a> {
    hub: &'a HubClient,
    fetch: &'a BlobFetch,
    partial: &'a Path,
    reporter: &'a dyn Reporter,
    id: TaskId,
    map: Mutex<RangeMap>,
    map_path: PathBuf,
    downloaded: AtomicU64,
    /// The file's retries so far, every cause and every range together (starts at
    /// `stats.retries`, written back at the end): one budget per file.
    retries: AtomicU32,
    /// Bytes to keep free on the disk ([`DownloadOptions::min_free`]).
    min_free: u64,
}

impl Shared<'_> {
    /// Records that range `index` has `done` bytes on disk (already flushed).
    fn record(&self, index: usize, done: u64) -> Result<(), DownloadError> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.ranges[index].done = done;
        map.save(&self.map_path).map_err(io_error(&self.map_path))
    }
}

/// Downloads `fetch` over several connections into `paths.partial`, resuming from the map in
/// `paths.map` if there is a valid one. On success the partial file holds every byte.
pub async fn download(
    hub: &HubClient,
    fetch: &BlobFetch,
    reporter: &dyn Reporter,
    id: TaskId,
    stats: &mut FetchStats,
    options: &DownloadOptions,
    paths: RangedPaths<'_>,
) -> Result<(), RangedError> {
    let connections = options.connections;
    let (map_path, partial) = (paths.map, paths.partial);
    let partial_len = fs_err::metadata(partial).map_or(0, |m| m.len());
    let map = match RangeMap::load(map_path, fetch.size, partial_len) {
        Some(map) if partial.exists() => map,
        _ => {
            // A fresh start: whatever partial file there was is not described by a map.
            fs_err::File::create(partial).map_err(io_error(partial))?;
            let mut map = RangeMap::split(fetch.size, connections);
            map.partial = Some(std::path::absolute(partial).unwrap_or_else(|_| partial.into()));
            map.save(map_path).map_err(io_error(map_path))?;
            map
        }
    };
    stats.resumed += map.done();
    reporter.report(Event::TaskStarted {
        id,
        kind: TaskKind::Download,
        label: fetch.path.clone(),
        size: fetch.size,
        done: map.done(),
    });
    let pending: Vec<(usize, Range)> = map
        .ranges
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, r)| r.done < r.end - r.start)
        .collect();
    let shared = Shared {
        hub,
        fetch,
        partial,
        reporter,
        id,
        map: Mutex::new(map),
        map_path: map_path.to_path_buf(),
        downloaded: AtomicU64::new(0),
        retries: AtomicU32::new(stats.retries),
        min_free: options.min_free,
    };
    let outcome = futures_util::future::try_join_all(
        pending
            .into_iter()
            .map(|(index, range)| fetch_range(&shared, index, range)),
    )
    .await;
    stats.downloaded += shared.downloaded.load(Ordering::Relaxed);
    stats.retries = shared.retries.load(Ordering::Relaxed);
    outcome?;
    let file = fs_err::OpenOptions::new()
        .write(true)
        .open(partial)
        .map_err(io_error(partial))?;
    file.sync_all().map_err(io_error(partial))?;
    Ok(())
}

/// Streams one range into its place, retrying retryable failures from the last flushed byte.
async fn fetch_range(shared: &Shared<'_>, index: usize, range: Range) -> Result<(), RangedError> {
    let options = shared.hub.options();
    let mut done = range.done;
    loop {
        if range.start + done >= range.end {
            return Ok(());
        }
        let retries = shared.retries.load(Ordering::Relaxed);
        match stream_range(shared, index, range, &mut done, retries).await {
            Ok(()) => {}
            Err(RangedError::Failed(DownloadError::Hub(error))) if error.is_retryable() => {
                // Takes the file's next retry, unless another range (or cause) spent the budget.
                let Ok(used) =
                    shared
                        .retries
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                            (n < options.retries).then_some(n + 1)
                        })
                else {
                    return Err(DownloadError::Hub(error).into());
                };
                let delay = retry_delay(&error, used, options.retry_base);
                let attempt = used + 1;
                shared.hub.metrics().count_retry();
                shared.reporter.report(Event::Retrying {
                    label: shared.fetch.path.clone(),
                    attempt,
                    error: error.to_string(),
                });
                tokio::time::sleep(delay).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// One ranged GET from `range.start + done` to the range's end.
async fn stream_range(
    shared: &Shared<'_>,
    index: usize,
    range: Range,
    done: &mut u64,
    attempt: u32,
) -> Result<(), RangedError> {
    let fetch = shared.fetch;
    let from = range.start + *done;
    let header = format!("bytes={from}-{}", range.end - 1);
    let started = std::time::Instant::now();
    let received_before = *done;
    let (response, url) = open_body(shared.hub, fetch, Some(header), attempt).await?;
    // A server that ignores the range, or answers another one, is not fit for ranges.
    if response.status() != StatusCode::PARTIAL_CONTENT
        || super::content_range_start(&response) != Some(from)
    {
        tracing::debug!(
            url = %crate::hub::client::redact_url(&url),
            status = response.status().as_u16(),
            "range not honoured"
        );
        return Err(RangedError::RangeIgnored);
    }
    let partial = shared.partial;
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .open(partial)
        .map_err(io_error(partial))?;
    file.seek(SeekFrom::Start(from))
        .map_err(io_error(partial))?;
    let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut guard = partial
        .parent()
        .map(|dir| FreeSpaceGuard::new(dir, shared.min_free));
    let mut flushed = *done;
    let mut last_flush = std::time::Instant::now();
    let mut body = response.bytes_stream();
    let outcome: Result<(), RangedError> = loop {
        match body.next().await {
            None => break Ok(()),
            Some(Err(error)) => {
                break Err(DownloadError::from(HubError::Network {
                    url: crate::hub::client::redact_url(&url),
                    message: crate::hub::client::describe_reqwest_error(&error),
                })
                .into());
            }
            Some(Ok(chunk)) => {
                let received = chunk.len() as u64;
                shared.hub.metrics().count_body_bytes(received);
                shared.hub.throttle(received).await;
                if range.start + *done + received > range.end {
                    break Err(DownloadError::SizeMismatch {
                        repo: fetch.repo.clone(),
                        path: fetch.path.clone(),
                        expected: range.end - range.start,
                        actual: *done + received,
                    }
                    .into());
                }
                if let Some(guard) = guard.as_mut()
                    && let Err(stop) = guard.check(received, writer.buffer().len() as u64)
                {
                    break Err(DownloadError::LowDisk {
                        path: partial.to_path_buf(),
                        available: stop.available,
                        reserve: stop.reserve,
                    }
                    .into());
                }
                writer.write_all(&chunk).map_err(io_error(partial))?;
                *done += received;
                shared.downloaded.fetch_add(received, Ordering::Relaxed);
                shared.reporter.report(Event::TaskProgress {
                    id: shared.id,
                    bytes: received,
                });
                if last_flush.elapsed() >= FLUSH_EVERY {
                    writer.flush().map_err(io_error(partial))?;
                    flushed = *done;
                    shared.record(index, flushed)?;
                    last_flush = std::time::Instant::now();
                }
            }
        }
    };
    log_body(&url, *done - received_before, started, outcome.is_ok());
    // What reached the disk is kept and recorded, whatever ended the body; a failure to record
    // it matters less than the error that ended the body.
    if writer.flush().is_ok() {
        flushed = *done;
    }
    *done = flushed;
    let recorded = shared.record(index, flushed);
    outcome?;
    recorded?;
    if range.start + *done < range.end {
        return Err(DownloadError::from(HubError::Network {
            url: crate::hub::client::redact_url(&url),
            message: format!(
                "the body ended after {} of {} bytes of its range",
                *done,
                range.end - range.start
            ),
        })
        .into());
    }
    Ok(())
}
