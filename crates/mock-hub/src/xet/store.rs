//! The CAS's content on disk, under `<fixtures>/xet/`:
//! - `xorbs/<xorb hash>`: the serialized chunks (what signed URLs serve byte ranges of);
//! - `xorbs/<xorb hash>.json`: each chunk's hash, uncompressed size and serialized end offset
//!   (the fields of the xorb footer a CAS indexes);
//! - `files/<xet file hash>.json`: size, sha256 and the terms (xorb, chunk range) of a file.
//!
//! Ingest works like the Hub's uploader: content-defined chunks, chunks already stored anywhere
//! in the CAS are referenced where they are, only new chunks go into new xorbs.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::chunking::chunk_ends;
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
        let stored = self.xorbs();
        let mut index: HashMap<String, (Place, u32)> = HashMap::new();
        for (x, xorb) in stored.iter().enumerate() {
            for (i, chunk) in xorb.chunks.iter().enumerate() {
                index
                    .entry(chunk.hash.clone())
                    .or_insert((Place::Stored(x), i as u32));
            }
        }
        // Xorbs being built: (serialized bytes, chunks).
        let mut pending: Vec<PendingXorb> = Vec::new();
        let mut leaves = Vec::new();
        let mut places: Vec<(Place, u32, u64)> = Vec::new();
        let (mut reused, mut new) = (0, 0);
        let mut start = 0;
        for end in chunk_ends(data) {
            let bytes = &data[start..end];
            start = end;
            let hash = chunk_hash(bytes);
            let len = bytes.len() as u64;
            leaves.push((hash, len));
            let key = hash.to_string();
            if let Some(&(place, i)) = index.get(&key) {
                reused += 1;
                places.push((place, i, len));
                continue;
            }
            new += 1;
            let full = pending.last().is_none_or(|(b, c, _)| {
                c.len() >= MAX_XORB_CHUNKS || b.len() + bytes.len() + 8 > MAX_XORB_BYTES
            });
            if full {
                pending.push((Vec::new(), Vec::new(), Vec::new()));
            }
            let p = pending.len() - 1;
            let (serialized, chunks, hashes) = &mut pending[p];
            write_chunk(serialized, bytes, compression);
            chunks.push(XorbChunk {
                hash: key.clone(),
                len: len as u32,
                end: serialized.len() as u64,
            });
            hashes.push((hash, len));
            let i = (chunks.len() - 1) as u32;
            index.insert(key, (Place::Pending(p), i));
            places.push((Place::Pending(p), i, len));
        }
        let dir = self.xorb_dir();
        fs_err::create_dir_all(&dir)?;
        let mut new_xorbs = Vec::new();
        for (serialized, chunks, hashes) in &pending {
            let hash = xorb_hash(hashes).to_string();
            write_atomic(&dir.join(&hash), serialized)?;
            let info = XorbInfo {
                hash: hash.clone(),
                chunks: chunks.clone(),
            };
            write_atomic(
                &dir.join(format!("{hash}.json")),
                &serde_json::to_vec(&info).map_err(std::io::Error::other)?,
            )?;
            new_xorbs.push(hash);
        }
        let name = |place: Place| match place {
            Place::Stored(x) => stored[x].hash.clone(),
            Place::Pending(p) => new_xorbs[p].clone(),
        };
        let mut terms: Vec<Term> = Vec::new();
        for (place, i, len) in places {
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
            hash: file_hash(&leaves).to_string(),
            size: data.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(data)),
            terms,
        };
        let files = self.root.join("files");
        fs_err::create_dir_all(&files)?;
        write_atomic(
            &files.join(format!("{}.json", file.hash)),
            &serde_json::to_vec(&file).map_err(std::io::Error::other)?,
        )?;
        Ok(Ingested {
            file,
            new_xorbs,
            reused_chunks: reused,
            new_chunks: new,
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
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
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
}
