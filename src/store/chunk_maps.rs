//! Chunk maps of Xet blobs (issue #20): which Xet chunks, named `(xorb, chunk index)`, lie at
//! which offset of a blob in the store, so that a later download over Xet can copy the chunks a
//! new revision shares with a blob already here instead of fetching them.
//!
//! A map is written after a Xet download from the file's first byte, whose chunks were all
//! decoded and whose Xet hash was checked. It lives in hfdl's state directory (never in the
//! Hugging Face cache), named after the blob's absolute path like the range maps of partial
//! downloads, and names its blob so that `hfdl gc` can remove the maps of deleted blobs.
//!
//! A chunk's name is safe to reuse: a xorb's hash commits to every chunk in it, so chunk `i` of
//! xorb `X` has the same bytes wherever it appears. A map is only a hint that the bytes are on
//! disk: a blob changed since (damaged, replaced) is caught by the Xet hash and sha256 checks of
//! the file being assembled, and the download then fetches everything.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::xet::XetHash;

/// The directory of chunk maps under hfdl's state directory.
pub const CHUNK_MAPS_DIR: &str = "xet-chunks";

/// The chunk map of the blob at `blob`, in `dir`.
pub fn chunk_map_path(dir: &Path, blob: &Path) -> PathBuf {
    use sha2::Digest as _;
    let absolute = std::path::absolute(blob).unwrap_or_else(|_| blob.to_path_buf());
    let key = sha2::Sha256::digest(absolute.to_string_lossy().as_bytes());
    dir.join(format!("{}.json", &hex::encode(key)[..32]))
}

/// Where the chunks of one blob came from: runs of consecutive chunks of one xorb, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkMap {
    /// The blob (absolute path).
    pub blob: PathBuf,
    /// The blob's size: a blob of another size is not the one mapped.
    pub size: u64,
    /// The file's Xet hash.
    pub xet_hash: XetHash,
    /// The runs, in file order.
    pub runs: Vec<ChunkRun>,
}

/// Chunks `first..first + lengths.len()` of `xorb`, back to back from `offset` in the blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRun {
    /// The xorb.
    pub xorb: XetHash,
    /// The first chunk's index in the xorb.
    pub first: u32,
    /// The first chunk's offset in the blob.
    pub offset: u64,
    /// Each chunk's decoded length.
    pub lengths: Vec<u32>,
}

impl ChunkMap {
    /// A map of `blob` (made absolute), with no runs yet.
    pub fn new(blob: &Path, size: u64, xet_hash: XetHash) -> ChunkMap {
        ChunkMap {
            blob: std::path::absolute(blob).unwrap_or_else(|_| blob.to_path_buf()),
            size,
            xet_hash,
            runs: Vec::new(),
        }
    }

    /// Adds chunk `index` of `xorb`, `len` bytes at `offset`, extending the last run when it
    /// continues it.
    pub fn push(&mut self, xorb: XetHash, index: u32, offset: u64, len: u32) {
        if let Some(run) = self.runs.last_mut()
            && run.xorb == xorb
            && u64::from(run.first) + run.lengths.len() as u64 == u64::from(index)
            && run.offset + run.lengths.iter().map(|&l| u64::from(l)).sum::<u64>() == offset
        {
            run.lengths.push(len);
            return;
        }
        self.runs.push(ChunkRun {
            xorb,
            first: index,
            offset,
            lengths: vec![len],
        });
    }

    /// Bytes the runs cover.
    pub fn mapped_bytes(&self) -> u64 {
        self.runs
            .iter()
            .flat_map(|run| &run.lengths)
            .map(|&l| u64::from(l))
            .sum()
    }

    /// The map saved in `path`; `None` when missing or unreadable (a map is only a hint).
    pub fn load(path: &Path) -> Option<ChunkMap> {
        let bytes = fs_err::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes the map into `dir` atomically.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = chunk_map_path(dir, &self.blob);
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_file_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Whether the mapped blob is on disk with the mapped size.
    pub fn blob_present(&self) -> bool {
        fs_err::metadata(&self.blob).is_ok_and(|m| m.is_file() && m.len() == self.size)
    }
}

/// Where one chunk's bytes are on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLocation {
    /// The blob holding it.
    pub blob: Arc<PathBuf>,
    /// Its offset in the blob.
    pub offset: u64,
    /// Its decoded length.
    pub len: u32,
}

/// Every chunk the maps of blobs on disk know of, indexed by xorb.
///
/// Held by run, not by chunk: a run costs a few words and 4 bytes per chunk, so the index of a
/// terabyte of Xet blobs (16 million chunks) stays in tens of MiB.
#[derive(Debug, Default)]
pub struct ChunkIndex {
    runs: HashMap<XetHash, Vec<IndexedRun>>,
    /// Blobs indexed, so a map added twice (two files of one run) is counted once.
    blobs: std::collections::HashSet<PathBuf>,
}

/// A run of a map, with the blob it lies in.
#[derive(Debug)]
struct IndexedRun {
    blob: Arc<PathBuf>,
    first: u32,
    offset: u64,
    lengths: Vec<u32>,
}

impl IndexedRun {
    /// Where chunk `index` of the run's xorb lies, if the run holds it.
    fn locate(&self, index: u32) -> Option<ChunkLocation> {
        let i = usize::try_from(index.checked_sub(self.first)?).ok()?;
        let len = *self.lengths.get(i)?;
        let before: u64 = self.lengths[..i].iter().map(|&l| u64::from(l)).sum();
        Some(ChunkLocation {
            blob: self.blob.clone(),
            offset: self.offset + before,
            len,
        })
    }
}

impl ChunkIndex {
    /// The maps in `dir` whose blob is on disk with its mapped size (the others are stale or
    /// their blob is gone; `gc` removes them).
    pub fn load(dir: &Path) -> ChunkIndex {
        let mut index = ChunkIndex::default();
        let Ok(entries) = fs_err::read_dir(dir) else {
            return index;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            if let Some(map) = ChunkMap::load(&path).filter(ChunkMap::blob_present) {
                index.add(&map);
            }
        }
        tracing::debug!(
            maps = index.blobs.len(),
            runs = index.runs.values().map(Vec::len).sum::<usize>(),
            "chunk maps loaded"
        );
        index
    }

    /// Adds the runs of `map`.
    pub fn add(&mut self, map: &ChunkMap) {
        if !self.blobs.insert(map.blob.clone()) {
            return;
        }
        let blob = Arc::new(map.blob.clone());
        for run in &map.runs {
            self.runs.entry(run.xorb).or_default().push(IndexedRun {
                blob: blob.clone(),
                first: run.first,
                offset: run.offset,
                lengths: run.lengths.clone(),
            });
        }
    }

    /// Where chunks `start..end` of `xorb` are on disk, all of them, or `None` if any is not.
    /// One run holding them all is preferred (one blob, read in one pass).
    pub fn locate(&self, xorb: XetHash, start: u32, end: u32) -> Option<Vec<ChunkLocation>> {
        let runs = self.runs.get(&xorb)?;
        let whole = runs.iter().find(|run| {
            run.first <= start && u64::from(end) <= u64::from(run.first) + run.lengths.len() as u64
        });
        if let Some(run) = whole {
            let mut location = run.locate(start)?;
            let mut locations = Vec::with_capacity((end - start) as usize);
            for index in start..end {
                location.len = run.lengths[(index - run.first) as usize];
                locations.push(location.clone());
                location.offset += u64::from(location.len);
            }
            return Some(locations);
        }
        (start..end)
            .map(|index| runs.iter().find_map(|run| run.locate(index)))
            .collect()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// Reads the chunks at `locations` from disk into `out` (cleared first), back to back; where
/// each ends in `out`. Chunks that follow each other in one blob are read in one call.
pub fn read_chunks_into(
    locations: &[ChunkLocation],
    out: &mut Vec<u8>,
) -> std::io::Result<Vec<u64>> {
    use std::os::unix::fs::FileExt as _;
    out.clear();
    let mut ends = Vec::with_capacity(locations.len());
    let mut open: Option<(Arc<PathBuf>, fs_err::File)> = None;
    let mut i = 0;
    while i < locations.len() {
        let first = &locations[i];
        // The run of locations contiguous in the same blob.
        let mut end = first.offset + u64::from(first.len);
        let mut j = i + 1;
        while j < locations.len() && locations[j].blob == first.blob && locations[j].offset == end {
            end += u64::from(locations[j].len);
            j += 1;
        }
        if open.as_ref().is_none_or(|(blob, _)| blob != &first.blob) {
            open = Some((
                first.blob.clone(),
                fs_err::File::open(first.blob.as_path())?,
            ));
        }
        let Some((_, file)) = open.as_ref() else {
            unreachable!("opened above")
        };
        let at = out.len();
        out.resize(
            at + usize::try_from(end - first.offset).map_err(std::io::Error::other)?,
            0,
        );
        file.file().read_exact_at(&mut out[at..], first.offset)?;
        for location in &locations[i..j] {
            let previous = ends.last().copied().unwrap_or(0);
            ends.push(previous + u64::from(location.len));
        }
        i = j;
    }
    Ok(ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(byte: u8) -> XetHash {
        XetHash::from_bytes([byte; 32])
    }

    /// The chunks at `locations`, each on its own.
    fn read(locations: &[ChunkLocation]) -> Vec<Vec<u8>> {
        let mut out = b"stale".to_vec();
        let ends = read_chunks_into(locations, &mut out).unwrap();
        let mut start = 0;
        ends.iter()
            .map(|&end| {
                let chunk = out[start as usize..end as usize].to_vec();
                start = end;
                chunk
            })
            .collect()
    }

    #[test]
    fn consecutive_chunks_of_one_xorb_make_one_run() {
        let mut map = ChunkMap::new(Path::new("/store/blobs/abc"), 10, hash(9));
        map.push(hash(1), 4, 0, 3);
        map.push(hash(1), 5, 3, 2);
        map.push(hash(2), 0, 5, 4);
        map.push(hash(1), 7, 9, 1);
        assert_eq!(map.runs.len(), 3);
        assert_eq!(map.runs[0].lengths, vec![3, 2]);
        assert_eq!(map.mapped_bytes(), 10);
    }

    #[test]
    fn the_index_finds_chunks_of_present_blobs_only_and_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let blob = dir.path().join("blob");
        fs_err::write(&blob, b"aaabbcccc").unwrap();
        let maps = dir.path().join(CHUNK_MAPS_DIR);
        let mut map = ChunkMap::new(&blob, 9, hash(9));
        map.push(hash(1), 0, 0, 3);
        map.push(hash(1), 1, 3, 2);
        map.push(hash(2), 3, 5, 4);
        map.save(&maps).unwrap();
        let mut gone = ChunkMap::new(&dir.path().join("gone"), 9, hash(8));
        gone.push(hash(3), 0, 0, 9);
        gone.save(&maps).unwrap();

        let index = ChunkIndex::load(&maps);
        assert!(index.locate(hash(3), 0, 1).is_none(), "its blob is gone");
        assert!(
            index.locate(hash(1), 0, 3).is_none(),
            "chunk 2 is not mapped"
        );
        let found = index.locate(hash(1), 0, 2).unwrap();
        assert_eq!(read(&found), vec![b"aaa".to_vec(), b"bb".to_vec()]);
        let found = index.locate(hash(2), 3, 4).unwrap();
        assert_eq!(read(&found), vec![b"cccc".to_vec()]);

        // Chunks of one xorb spread over two blobs' runs are found chunk by chunk.
        let other = dir.path().join("other");
        fs_err::write(&other, b"zzdd").unwrap();
        let mut second = ChunkMap::new(&other, 4, hash(7));
        second.push(hash(1), 2, 2, 2);
        second.save(&maps).unwrap();
        let index = ChunkIndex::load(&maps);
        let found = index.locate(hash(1), 0, 3).unwrap();
        assert_eq!(
            read(&found),
            vec![b"aaa".to_vec(), b"bb".to_vec(), b"dd".to_vec()]
        );

        // A blob of another size is not the mapped one.
        fs_err::write(&blob, b"aaab").unwrap();
        assert!(ChunkIndex::load(&maps).locate(hash(1), 0, 1).is_none());
    }
}
