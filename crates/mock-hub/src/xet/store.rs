//! The CAS's content on disk, under `<fixtures>/xet/`:
//! - `xorbs/<xorb hash>`: the serialized chunks (what signed URLs serve byte ranges of);
//! - `xorbs/<xorb hash>.json`: each chunk's hash, uncompressed size and serialized end offset
//!   (the fields of the xorb footer a CAS indexes);
//! - `files/<xet file hash>.json`: size, sha256 and the terms (xorb, chunk range) of a file.
//!
//! Ingest works like the Hub's uploader: content-defined chunks, chunks already stored anywhere
//! in the CAS are referenced where they are, only new chunks go into new xorbs. It streams: a
//! file of any size is read in windows and each xorb written once full.

use std::collections::HashMap;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::chunking::{MAX_CHUNK, chunk_ends};
use super::hash::{XetHash, chunk_hash, file_hash, xorb_hash};
use super::xorb::{Compression, MAX_XORB_BYTES, MAX_XORB_CHUNKS, write_chunk};

/// One chunk of a stored xorb.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XorbChunk {
    pub hash: String,
    /// Uncompressed length.
    pub len: u32,
    /// Serialized end offset (header included) in the xorb: `chunk_boundary_offsets[i]`.
    pub end: u64,
}

/// A stored xorb's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XorbInfo {
    pub hash: String,
    pub chunks: Vec<XorbChunk>,
}

impl XorbInfo {
    /// The serialized byte range `[start, end)` of chunks `[a, b)`.
    pub fn byte_range(&self, a: u32, b: u32) -> (u64, u64) {
        let start = if a == 0 {
            0
        } else {
            self.chunks[a as usize - 1].end
        };
        (start, self.chunks[b as usize - 1].end)
    }

    /// Serialized size.
    pub fn size(&self) -> u64 {
        self.chunks.last().map_or(0, |c| c.end)
    }
}

/// A file's reconstruction: chunks `[start, end)` of `xorb`, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub xorb: String,
    pub start: u32,
    pub end: u32,
    /// Uncompressed bytes of those chunks.
    pub unpacked: u64,
}

/// A file stored in the CAS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XetFile {
    pub hash: String,
    pub size: u64,
    pub sha256: String,
    pub terms: Vec<Term>,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub file: XetFile,
    /// Xorbs written for this file (new chunks only).
    pub new_xorbs: Vec<String>,
    /// Chunks found already stored.
    pub reused_chunks: usize,
    pub new_chunks: usize,
}

/// The CAS directory.
#[derive(Debug, Clone)]
pub struct XetStore {
    root: PathBuf,
}

/// A xorb being built: serialized bytes, chunk index, `(hash, size)` leaves.
type PendingXorb = (Vec<u8>, Vec<XorbChunk>, Vec<(XetHash, u64)>);

/// A chunk's place: a stored xorb (by hash) or a xorb being built (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Stored(usize),
    Pending(usize),
}

impl XetStore {
    pub fn new(root: &Path) -> XetStore {
        XetStore {
            root: root.to_owned(),
        }
    }

    fn xorb_dir(&self) -> PathBuf {
        self.root.join("xorbs")
    }

    /// The serialized chunks of a xorb.
    pub fn xorb_path(&self, hash: &str) -> PathBuf {
        self.xorb_dir().join(hash)
    }

    pub fn xorb(&self, hash: &str) -> Option<XorbInfo> {
        XetHash::parse(hash)?;
        let text = fs_err::read(self.xorb_dir().join(format!("{hash}.json"))).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn file(&self, hash: &str) -> Option<XetFile> {
        XetHash::parse(hash)?;
        let text = fs_err::read(self.root.join("files").join(format!("{hash}.json"))).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn xorbs(&self) -> Vec<XorbInfo> {
        let Ok(entries) = fs_err::read_dir(self.xorb_dir()) else {
            return Vec::new();
        };
        let mut xorbs: Vec<XorbInfo> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| serde_json::from_slice(&fs_err::read(&p).ok()?).ok())
            .collect();
        xorbs.sort_by(|a, b| a.hash.cmp(&b.hash));
        xorbs
    }

    /// Chunks `data` and stores what the CAS does not have yet; returns the file's record.
    pub fn ingest(&self, data: &[u8], compression: Compression) -> std::io::Result<Ingested> {
        self.ingest_reader(data, compression)
    }

    /// [`XetStore::ingest`] of a stream: read [`READ_WINDOW`] bytes at a time, each new xorb
    /// written as soon as it is full, so that memory holds one window and one xorb (plus the
    /// chunk list) whatever the file's size.
    pub fn ingest_reader(
        &self,
        reader: impl Read,
        compression: Compression,
    ) -> std::io::Result<Ingested> {
        self.ingest_windows(reader, compression, READ_WINDOW)
    }

    /// [`XetStore::ingest_reader`] with windows of `size` bytes (more than [`MAX_CHUNK`]).
    fn ingest_windows(
        &self,
        mut reader: impl Read,
        compression: Compression,
        size: usize,
    ) -> std::io::Result<Ingested> {
        let size = size.max(2 * MAX_CHUNK);
        let mut builder = Builder::new(self, compression)?;
        let mut window: Vec<u8> = Vec::with_capacity(size);
        let mut eof = false;
        loop {
            while !eof && window.len() < size {
                let filled = window.len();
                window.resize(size, 0);
                let read = reader.read(&mut window[filled..]);
                window.truncate(filled + *read.as_ref().unwrap_or(&0));
                match read {
                    Ok(read) => eof = read == 0,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            // A chunk is decided by at most MAX_CHUNK bytes from its start: one that starts
            // closer than that to the window's end waits for the next window (unless the
            // stream ended), so the chunks are those of the whole file at once.
            let mut start = 0;
            for end in chunk_ends(&window) {
                if !eof && window.len() - start < MAX_CHUNK {
                    break;
                }
                builder.add(&window[start..end])?;
                start = end;
            }
            window.drain(..start);
            if eof && window.is_empty() {
                break;
            }
        }
        builder.finish()
    }
}

/// Bytes [`XetStore::ingest_reader`] chunks at a time.
const READ_WINDOW: usize = 16 << 20;

/// An ingest under way: the chunk index of the CAS, the xorb being filled, and the file's
/// chunks so far.
struct Builder<'a> {
    store: &'a XetStore,
    compression: Compression,
    /// The xorbs stored before this ingest.
    stored: Vec<XorbInfo>,
    /// Every chunk's place, by hash (the first one found).
    index: HashMap<String, (Place, u32)>,
    /// The xorb being filled: `Place::Pending(new_xorbs.len())`.
    current: PendingXorb,
    /// Xorbs written by this ingest, in order.
    new_xorbs: Vec<String>,
    /// `(hash, size)` of each of the file's chunks.
    leaves: Vec<(XetHash, u64)>,
    /// Where each of the file's chunks is.
    places: Vec<(Place, u32, u64)>,
    reused: usize,
    new: usize,
    size: u64,
    sha256: sha2::Sha256,
}

impl<'a> Builder<'a> {
    fn new(store: &'a XetStore, compression: Compression) -> std::io::Result<Builder<'a>> {
        let stored = store.xorbs();
        let mut index: HashMap<String, (Place, u32)> = HashMap::new();
        for (x, xorb) in stored.iter().enumerate() {
            for (i, chunk) in xorb.chunks.iter().enumerate() {
                index
                    .entry(chunk.hash.clone())
                    .or_insert((Place::Stored(x), i as u32));
            }
        }
        fs_err::create_dir_all(store.xorb_dir())?;
        Ok(Builder {
            store,
            compression,
            stored,
            index,
            current: (Vec::new(), Vec::new(), Vec::new()),
            new_xorbs: Vec::new(),
            leaves: Vec::new(),
            places: Vec::new(),
            reused: 0,
            new: 0,
            size: 0,
            sha256: sha2::Sha256::new(),
        })
    }

    /// The file's next chunk: referenced where the CAS has it, else added to the current xorb.
    fn add(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sha256.update(bytes);
        self.size += bytes.len() as u64;
        let hash = chunk_hash(bytes);
        let len = bytes.len() as u64;
        self.leaves.push((hash, len));
        let key = hash.to_string();
        if let Some(&(place, i)) = self.index.get(&key) {
            self.reused += 1;
            self.places.push((place, i, len));
            return Ok(());
        }
        self.new += 1;
        let (serialized, chunks, _) = &self.current;
        if !chunks.is_empty()
            && (chunks.len() >= MAX_XORB_CHUNKS
                || serialized.len() + bytes.len() + 8 > MAX_XORB_BYTES)
        {
            self.flush()?;
        }
        let place = Place::Pending(self.new_xorbs.len());
        let (serialized, chunks, hashes) = &mut self.current;
        write_chunk(serialized, bytes, self.compression);
        chunks.push(XorbChunk {
            hash: key.clone(),
            len: len as u32,
            end: serialized.len() as u64,
        });
        hashes.push((hash, len));
        let i = (chunks.len() - 1) as u32;
        self.index.insert(key, (place, i));
        self.places.push((place, i, len));
        Ok(())
    }

    /// Writes the current xorb (when it holds chunks) and starts an empty one.
    fn flush(&mut self) -> std::io::Result<()> {
        let (serialized, chunks, hashes) = std::mem::take(&mut self.current);
        if chunks.is_empty() {
            return Ok(());
        }
        let dir = self.store.xorb_dir();
        let hash = xorb_hash(&hashes).to_string();
        write_atomic(&dir.join(&hash), &serialized)?;
        let info = XorbInfo {
            hash: hash.clone(),
            chunks,
        };
        write_atomic(
            &dir.join(format!("{hash}.json")),
            &serde_json::to_vec(&info).map_err(std::io::Error::other)?,
        )?;
        self.new_xorbs.push(hash);
        Ok(())
    }

    /// Writes the last xorb and the file's record.
    fn finish(mut self) -> std::io::Result<Ingested> {
        self.flush()?;
        let name = |place: Place| match place {
            Place::Stored(x) => self.stored[x].hash.clone(),
            Place::Pending(p) => self.new_xorbs[p].clone(),
        };
        let mut terms: Vec<Term> = Vec::new();
        for &(place, i, len) in &self.places {
            let xorb = name(place);
            match terms.last_mut() {
                Some(term) if term.xorb == xorb && term.end == i => {
                    term.end += 1;
                    term.unpacked += len;
                }
                _ => terms.push(Term {
                    xorb,
                    start: i,
                    end: i + 1,
                    unpacked: len,
                }),
            }
        }
        let file = XetFile {
            hash: file_hash(&self.leaves).to_string(),
            size: self.size,
            sha256: hex::encode(self.sha256.finalize()),
            terms,
        };
        let files = self.store.root.join("files");
        fs_err::create_dir_all(&files)?;
        write_atomic(
            &files.join(format!("{}.json", file.hash)),
            &serde_json::to_vec(&file).map_err(std::io::Error::other)?,
        )?;
        Ok(Ingested {
            file,
            new_xorbs: self.new_xorbs,
            reused_chunks: self.reused,
            new_chunks: self.new,
        })
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xet::xorb::decode_chunks;

    fn random(seed: u64, len: usize) -> Vec<u8> {
        crate::fixtures::PseudoRandom::bytes(seed, len)
    }

    fn reassemble(store: &XetStore, file: &XetFile) -> Vec<u8> {
        let mut out = Vec::new();
        for term in &file.terms {
            let xorb = store.xorb(&term.xorb).unwrap();
            let bytes = fs_err::read(store.xorb_path(&term.xorb)).unwrap();
            let (a, b) = xorb.byte_range(term.start, term.end);
            let chunks = decode_chunks(&bytes[a as usize..b as usize]).unwrap();
            let data: Vec<u8> = chunks.concat();
            assert_eq!(data.len() as u64, term.unpacked);
            out.extend(data);
        }
        out
    }

    #[test]
    fn a_second_revision_reuses_the_unchanged_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = XetStore::new(dir.path());
        let v1 = random(3, 2_000_000);
        let first = store.ingest(&v1, Compression::Auto).unwrap();
        assert_eq!(first.reused_chunks, 0);
        assert_eq!(first.new_xorbs.len(), 1);
        assert_eq!(reassemble(&store, &first.file), v1);
        let mut v2 = v1.clone();
        for b in &mut v2[1_000_000..1_200_000] {
            *b = b.wrapping_add(1);
        }
        let second = store.ingest(&v2, Compression::Auto).unwrap();
        assert_eq!(reassemble(&store, &second.file), v2);
        assert!(second.new_chunks > 0);
        assert!(second.reused_chunks > second.new_chunks * 3, "{second:?}");
        assert_ne!(first.file.hash, second.file.hash);
        assert!(
            second
                .file
                .terms
                .iter()
                .any(|t| t.xorb == first.new_xorbs[0])
        );
        // The same content again: nothing new.
        let again = store.ingest(&v1, Compression::Auto).unwrap();
        assert_eq!(again.new_chunks, 0);
        assert_eq!(again.file, first.file);
    }

    /// Hands out at most `step` bytes per read, as a pipe or a socket may.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_stream_read_in_windows_is_chunked_as_the_whole_file() {
        let data = random(4, 3_000_000);
        let whole_dir = tempfile::tempdir().unwrap();
        let whole = XetStore::new(whole_dir.path())
            .ingest(&data, Compression::Auto)
            .unwrap();
        // Windows of 256 KiB, filled by reads of 7777 bytes: a chunk boundary near the end of
        // a window must not cut a chunk the whole file has in one piece.
        let dir = tempfile::tempdir().unwrap();
        let store = XetStore::new(dir.path());
        let streamed = store
            .ingest_windows(Trickle(&data, 7777), Compression::Auto, 256 << 10)
            .unwrap();
        assert_eq!(streamed, whole);
        assert!(streamed.new_chunks > 20, "{streamed:?}");
        assert_eq!(reassemble(&store, &streamed.file), data);
        assert_eq!(streamed.file.size, data.len() as u64);
    }
}
