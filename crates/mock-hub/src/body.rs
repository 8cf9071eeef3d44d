//! Response bodies: file content streamed from disk with bounded memory, `Range` parsing, and
//! the body-level faults (cut, corrupt, stall, slow).
//!
//! A body without a fault is read straight from the file as the connection asks for more, in
//! chunks of at most 256 KiB, the way a static file server sends a file: a small file's bytes
//! leave in the same write as its headers, and a large one costs two copies per byte (page
//! cache to buffer, buffer to socket) and no thread hand-off. The reads block the runtime's
//! thread for the few microseconds a page-cached read takes, which is what the fixtures are;
//! memory stays at a few reused chunk buffers per download however large the file.
//!
//! A body with a fault is produced by a blocking thread (it may sleep, stall or cut) and handed
//! to the connection through a small bounded channel; a client that goes away stops it at the
//! next chunk.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::{Bytes, BytesMut};

use crate::record::{BodyInFlight, ByteCounter, Fault, Recorder};

/// Read size: large enough that loopback throughput is bound by the client, small enough that
/// the buffers of a download stay in the CPU cache between the read and the socket write, and
/// memory per download low.
const CHUNK: usize = 256 * 1024;
/// Chunk buffers a fault-free download keeps for reuse. hyper holds at most two chunks of
/// this size queued for the socket (its write buffer limit is about 400 KiB), so three are
/// enough; a chunk still held when all are busy gets a new buffer.
const BUFFERS: usize = 4;
const CHANNEL_DEPTH: usize = 4;
/// How long a stalled body stays silent before the server gives up on the connection.
const STALL_FOR: Duration = Duration::from_mins(1);

/// Where body bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Memory(Bytes),
}

/// A requested byte range, decided against the content size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No usable `Range`: send everything with `200`.
    Full,
    /// `206` with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// `416` with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Interprets a `Range` header for content of `size` bytes (single ranges only; anything
/// else is ignored, as HTTP allows).
pub fn parse_range(header: Option<&str>, size: u64) -> RangeOutcome {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeOutcome::Full;
    };
    if spec.contains(',') {
        return RangeOutcome::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix range: the last N bytes.
        let Ok(n) = last.parse::<u64>() else {
            return RangeOutcome::Full;
        };
        if n == 0 || size == 0 {
            return RangeOutcome::Unsatisfiable;
        }
        return RangeOutcome::Partial {
            start: size - n.min(size),
            end: size - 1,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeOutcome::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end,
            _ => return RangeOutcome::Full,
        }
    };
    if start >= size {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial {
        start,
        end: end.min(size - 1),
    }
}

/// A body of `len` bytes from `source` starting at `start`, with an optional fault applied.
pub fn stream(
    source: Source,
    start: u64,
    len: u64,
    fault: Option<Fault>,
    recorder: Arc<Recorder>,
) -> Body {
    stream_counted(source, start, len, fault, recorder, ByteCounter::Served)
}

/// Like [`stream`], counting the bytes sent in `counter`.
pub fn stream_counted(
    source: Source,
    start: u64,
    len: u64,
    fault: Option<Fault>,
    recorder: Arc<Recorder>,
    counter: ByteCounter,
) -> Body {
    if fault.is_none()
        && let Source::File(path) = &source
        // A file that cannot be opened takes the general path, which reports it the same way.
        && let Ok(file) = open_at(path, start)
    {
        return Body::from_stream(FileChunks {
            sending: Some(recorder.body_started()),
            file,
            left: len,
            buffers: Vec::new(),
            recorder,
            counter,
        });
    }
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let _sending = recorder.body_started();
        let result = produce(
            &source,
            start,
            len,
            fault.as_ref(),
            (&recorder, counter),
            &sender,
        );
        if let Err(error) = result {
            // The receiver may be gone already; then nobody needs to know.
            let _ = sender.blocking_send(Err(error));
        }
    });
    let chunks = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    Body::from_stream(chunks)
}

fn open_at(path: &std::path::Path, start: u64) -> std::io::Result<fs_err::File> {
    let mut file = fs_err::File::open(path)?;
    if start > 0 {
        file.seek(SeekFrom::Start(start))?;
    }
    Ok(file)
}

/// A fault-free file body: each poll reads the next chunk (so it is always ready at once),
/// into a buffer that the connection has finished writing when there is one.
struct FileChunks {
    file: fs_err::File,
    left: u64,
    /// Buffers of earlier chunks; one is free again once its chunk has been written and dropped.
    buffers: Vec<Arc<Vec<u8>>>,
    recorder: Arc<Recorder>,
    counter: ByteCounter,
    /// Counts the body as being sent until its last chunk is handed over or the client leaves.
    sending: Option<BodyInFlight>,
}

impl FileChunks {
    fn next_chunk(&mut self) -> std::io::Result<Bytes> {
        let want = usize::try_from(self.left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let free = self
            .buffers
            .iter_mut()
            .position(|b| Arc::get_mut(b).is_some_and(|b| b.len() >= want));
        let index = match free {
            Some(index) => index,
            None if self.buffers.len() < BUFFERS => {
                self.buffers.push(Arc::new(vec![0; want]));
                self.buffers.len() - 1
            }
            None => {
                // All still in flight: drop our hold on one (its chunk keeps it alive).
                self.buffers[0] = Arc::new(vec![0; want]);
                0
            }
        };
        let slot = &mut self.buffers[index];
        let buffer = Arc::get_mut(slot).ok_or_else(|| std::io::Error::other("buffer in use"))?;
        self.file.read_exact(&mut buffer[..want])?;
        self.left -= want as u64;
        self.recorder.add_counted(self.counter, want as u64);
        Ok(Bytes::from_owner(Chunk {
            buffer: Arc::clone(slot),
            len: want,
        }))
    }
}

impl futures_util::Stream for FileChunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            self.sending = None;
            return Poll::Ready(None);
        }
        let chunk = self.next_chunk();
        if chunk.is_err() {
            // An error ends the body abruptly (the connection is dropped).
            self.left = 0;
        }
        Poll::Ready(Some(chunk))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let chunks = usize::try_from(self.left.div_ceil(CHUNK as u64)).unwrap_or(usize::MAX);
        (chunks, Some(chunks))
    }
}

/// The first `len` bytes of a chunk buffer, as the owner of a [`Bytes`].
struct Chunk {
    buffer: Arc<Vec<u8>>,
    len: usize,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

/// Reads and sends the chunks; an `Err` ends the body abruptly (the connection is dropped).
fn produce(
    source: &Source,
    start: u64,
    len: u64,
    fault: Option<&Fault>,
    (recorder, counter): (&Recorder, ByteCounter),
    sender: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
) -> std::io::Result<()> {
    if matches!(fault, Some(Fault::Stall)) {
        let until = Instant::now() + STALL_FOR;
        while Instant::now() < until && !sender.is_closed() {
            std::thread::sleep(Duration::from_millis(20));
        }
        return Err(std::io::Error::other("stalled body abandoned"));
    }
    let cut_after = match fault {
        Some(Fault::CutAfter(n)) => Some(*n),
        _ => None,
    };
    let rate = match fault {
        Some(Fault::Slow { bytes_per_sec }) => Some((*bytes_per_sec).max(1)),
        _ => None,
    };
    // Small chunks under throttling, so the rate is smooth and a kill lands mid-file.
    let chunk_size = rate.map_or(CHUNK, |r| {
        usize::try_from(r / 20).unwrap_or(CHUNK).clamp(1, CHUNK)
    });
    let mut file = match source {
        Source::File(path) => {
            let mut file = fs_err::File::open(path)?;
            file.seek(SeekFrom::Start(start))?;
            Some(file)
        }
        Source::Memory(_) => None,
    };
    let began = Instant::now();
    let mut sent: u64 = 0;
    while sent < len {
        let mut want = usize::try_from((len - sent).min(chunk_size as u64)).unwrap_or(chunk_size);
        if let Some(limit) = cut_after {
            if sent >= limit {
                return Err(cut(sender));
            }
            want = want.min(usize::try_from(limit - sent).unwrap_or(want));
        }
        let position = start + sent;
        let mut chunk = match (&mut file, source) {
            (Some(file), _) => {
                let mut buffer = BytesMut::zeroed(want);
                file.read_exact(&mut buffer)?;
                buffer
            }
            (None, Source::Memory(bytes)) => {
                let from = usize::try_from(position).unwrap_or(usize::MAX);
                BytesMut::from(&bytes[from..from + want])
            }
            (None, Source::File(_)) => unreachable!("file sources always open a file"),
        };
        if let Some(Fault::Corrupt { offset }) = fault
            && (position..position + want as u64).contains(offset)
        {
            let index = usize::try_from(offset - position).unwrap_or(0);
            chunk[index] ^= 0xFF;
        }
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64((sent + want as u64) as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(began.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        if sender.blocking_send(Ok(chunk.freeze())).is_err() {
            return Ok(()); // the client went away
        }
        recorder.add_counted(counter, want as u64);
        sent += want as u64;
    }
    if let Some(limit) = cut_after
        && sent >= limit
        && limit < len
    {
        return Err(cut(sender));
    }
    Ok(())
}

/// The error that drops the connection, raised only once the bytes before it are on the wire:
/// hyper discards unflushed output when a body fails, and a real cut delivers what preceded it.
fn cut(sender: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> std::io::Error {
    let until = Instant::now() + Duration::from_secs(5);
    while sender.capacity() < sender.max_capacity() && !sender.is_closed() && Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(50));
    std::io::Error::other("connection cut by fault injection")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeOutcome::{Full, Partial, Unsatisfiable};
        assert_eq!(parse_range(None, 10), Full);
        assert_eq!(
            parse_range(Some("bytes=0-0"), 10),
            Partial { start: 0, end: 0 }
        );
        assert_eq!(
            parse_range(Some("bytes=2-"), 10),
            Partial { start: 2, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=2-100"), 10),
            Partial { start: 2, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 10),
            Partial { start: 7, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-30"), 10),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
    }
}
