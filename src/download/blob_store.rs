//! The shared blob store as a source and a destination of blobs: read before the Hub (ranged
//! from a partial file, hashed while streaming, exactly like a Hub download) and, with
//! `publish`, written after a Hub download was verified.
//!
//! The store is never trusted and never fatal: an absent object, an unreachable engine, wrong
//! credentials or a wrong object each end in the Hub fetching the blob; the last three are
//! reported. Only local trouble (the disk) fails the file.

use futures_util::StreamExt;

use super::{
    BlobFetch, DiskWriter, DownloadError, DownloadOptions, FetchStats, Target, io_error,
    open_incomplete, resume_state,
};
use crate::blobstore::{BlobStore, BlobStoreError, Upload};
use crate::hub::HubClient;
use crate::report::{Event, TaskKind};

/// Fetches the blob from the store into `.incomplete`; true when the bytes hashed to the lock's
/// digest (the caller publishes the blob), false when the Hub must fetch it.
pub(super) async fn fetch(
    store: &BlobStore,
    hub: &HubClient,
    fetch: &BlobFetch,
    options: &DownloadOptions,
    target: Target<'_>,
    stats: &mut FetchStats,
) -> Result<bool, DownloadError> {
    if store.unavailable().is_some() {
        return Ok(false);
    }
    // A multi-connection Hub download under way keeps going where it stopped.
    if let Some((map, partial)) = options.ranged_paths(fetch)
        && map.exists()
        && partial.exists()
    {
        return Ok(false);
    }
    // The partial file's length sets the range; its bytes are hashed only once the store has
    // the object (on a miss the Hub path hashes them).
    let start = fs_err::metadata(&fetch.incomplete).map_or(0, |m| m.len());
    if start >= fetch.size {
        // An empty file, or a whole (or too long) partial one: the Hub path finishes it.
        return Ok(false);
    }
    let object = store.url().object_url(&fetch.hash);
    let (mut body, object_size) = match store.read(&fetch.hash, start).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::debug!(path = fetch.path, %object, "not in the blob store");
            return Ok(false);
        }
        Err(error) => {
            give_up(store, &error, target);
            return Ok(false);
        }
    };
    if object_size != fetch.size {
        // Keys are content hashes: an object of another size holds other bytes.
        let problem = format!(
            "has {object_size} bytes, the lock says {} for {}",
            fetch.size, fetch.path
        );
        bad_object(store, fetch, object, problem, target);
        return Ok(false);
    }
    let (hasher, hashed) = resume_state(fetch).await?;
    if hashed != start {
        // The partial file changed meanwhile: leave it to the Hub path.
        return Ok(false);
    }
    let (reporter, id) = (target.reporter, target.id);
    reporter.report(Event::TaskStarted {
        id,
        kind: TaskKind::Download,
        label: fetch.path.clone(),
        size: fetch.size,
        done: start,
    });
    let mut writer = DiskWriter::at(open_incomplete(fetch)?, fetch, start, target, hasher)?;
    let stall = store.stall_timeout();
    let mut received_total = start;
    let outcome: Result<(), BlobStoreError> = loop {
        match tokio::time::timeout(stall, body.next()).await {
            Err(_) => {
                break Err(BlobStoreError::Unreachable {
                    store: store.url().to_string(),
                    message: format!("no byte of {object} for {stall:?}"),
                });
            }
            Ok(None) => break Ok(()),
            Ok(Some(Err(error))) => break Err(error),
            Ok(Some(Ok(chunk))) => {
                let received = chunk.len() as u64;
                store.metrics().count_read(received);
                hub.throttle(received).await;
                if received_total + received > fetch.size || !writer.send(chunk).await {
                    break Ok(()); // too long (checked below), or the writer failed
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
    let (hasher, written, written_result) = writer.finish().await;
    written_result.map_err(|stop| stop.into_error(&fetch.incomplete))?;
    if let Err(error) = outcome {
        // What this read added may be anything: only bytes from before it stay for the Hub
        // to resume after.
        truncate(fetch, start)?;
        stats.downloaded -= received_total - start;
        give_up(store, &error, target);
        return Ok(false);
    }
    if written != fetch.size {
        truncate(fetch, start)?;
        stats.downloaded -= received_total - start;
        let problem = format!(
            "ended after {written} of the {} bytes of {}",
            fetch.size, fetch.path
        );
        bad_object(store, fetch, object, problem, target);
        return Ok(false);
    }
    let actual = hasher.finish();
    if actual != fetch.hash {
        // Nothing unverified stays, and the Hub starts from zero: which bytes were wrong is
        // unknown.
        fs_err::remove_file(&fetch.incomplete).map_err(io_error(&fetch.incomplete))?;
        stats.resumed = 0;
        let problem = format!(
            "does not hash to the locked {} (got {actual}) for {}; discarded",
            fetch.hash, fetch.path
        );
        bad_object(store, fetch, object, problem, target);
        return Ok(false);
    }
    stats.resumed += start;
    stats.from_blob_store = true;
    tracing::debug!(path = fetch.path, %object, bytes = written - start, "blob read from the blob store");
    Ok(true)
}

/// Records and reports an object that held wrong bytes.
fn bad_object(
    store: &BlobStore,
    fetch: &BlobFetch,
    object: String,
    problem: String,
    target: Target<'_>,
) {
    store.record_bad_object(&fetch.hash);
    let error = BlobStoreError::BadObject { object, problem };
    target.reporter.report(Event::Warning {
        message: format!("{}: {error}; fetching it from the Hub", error.error_code()),
    });
}

/// Cuts `.incomplete` back to `length` bytes.
fn truncate(fetch: &BlobFetch, length: u64) -> Result<(), DownloadError> {
    let file = fs_err::OpenOptions::new()
        .write(true)
        .open(&fetch.incomplete)
        .map_err(io_error(&fetch.incomplete))?;
    file.set_len(length).map_err(io_error(&fetch.incomplete))
}

/// Stops reading the store for the rest of the run, warning once.
fn give_up(store: &BlobStore, error: &BlobStoreError, target: Target<'_>) {
    if store.give_up(error) {
        target.reporter.report(Event::Warning {
            message: format!(
                "{}: {error}; fetching from the Hub instead for the rest of this run",
                error.error_code()
            ),
        });
    } else {
        tracing::debug!(%error, "blob store already skipped");
    }
}

/// Uploads the verified blob `fetch` to the store, unless publishing already failed this run.
/// A failure is a warning: the sync itself succeeded.
pub(super) async fn publish(store: &BlobStore, fetch: &BlobFetch, target: Target<'_>) {
    // A store that failed reading was reported already, and would fail this too.
    if store.publishing_failed().is_some() || store.unavailable().is_some() {
        return;
    }
    match store
        .upload(&fetch.hash, &fetch.blob, fetch.size, &|_| {})
        .await
    {
        Ok(Upload::Stored) => {
            tracing::debug!(path = fetch.path, object = %store.url().object_url(&fetch.hash), "published");
        }
        Ok(Upload::AlreadyThere) => {
            tracing::debug!(path = fetch.path, "already in the blob store");
        }
        Err(error) => {
            if store.give_up_publishing(&error) {
                target.reporter.report(Event::Warning {
                    message: format!(
                        "{}: could not publish {} to the blob store: {error}; the sync goes on without publishing",
                        error.error_code(),
                        fetch.path
                    ),
                });
            }
        }
    }
}
