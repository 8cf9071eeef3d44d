//! Partial downloads on disk: the naming of multi-connection partial files and their range
//! maps (which bytes are on disk), shared by the downloader that writes them, and `gc` and
//! `doctor` that judge them.
//!
//! The map lives in hfdl's state directory (never in the Hugging Face cache), named after the
//! partial file's absolute path, so two repos or two stores downloading the same content never
//! share one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The suffix of a multi-connection partial download: `blobs/<hex>.hfdl.incomplete`.
pub const RANGED_PARTIAL_SUFFIX: &str = ".hfdl.incomplete";

/// The range map in `partials_dir` of the multi-connection partial download at `partial`.
pub fn range_map_path(partials_dir: &Path, partial: &Path) -> PathBuf {
    use sha2::Digest as _;
    let absolute = std::path::absolute(partial).unwrap_or_else(|_| partial.to_path_buf());
    let key = sha2::Sha256::digest(absolute.to_string_lossy().as_bytes());
    partials_dir.join(format!("{}.json", &hex::encode(key)[..32]))
}

/// Ranges are never smaller than this: below it a second connection costs more than it gains.
pub const MIN_RANGE: u64 = 8 << 20;

/// The range map of a partial multi-connection download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeMap {
    /// The file's size (a map for another size is stale).
    pub size: u64,
    /// One range per connection, in file order, together covering the whole file.
    pub ranges: Vec<Range>,
    /// The partial file this map describes (absolute), so `hfdl gc` can tell a map whose partial
    /// is gone. Maps written before this field existed lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<PathBuf>,
}

/// `[start, end)`, of which `done` bytes from `start` are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// The first byte's offset in the file.
    pub start: u64,
    /// The offset just past the last byte.
    pub end: u64,
    /// Bytes from `start` already written.
    pub done: u64,
}

impl RangeMap {
    /// Splits `size` into at most `connections` ranges of at least [`MIN_RANGE`] bytes.
    pub fn split(size: u64, connections: usize) -> RangeMap {
        let count = (size / MIN_RANGE).clamp(1, connections.max(1) as u64);
        let step = size.div_ceil(count);
        let ranges = (0..count)
            .map(|i| Range {
                start: i * step,
                end: ((i + 1) * step).min(size),
                done: 0,
            })
            .filter(|r| r.start < r.end)
            .collect();
        RangeMap {
            size,
            ranges,
            partial: None,
        }
    }

    /// Bytes on disk across all ranges.
    pub fn done(&self) -> u64 {
        self.ranges.iter().map(|r| r.done).sum()
    }

    /// Reads a saved map; `None` when absent, unreadable, not for this size, or claiming
    /// bytes beyond the end of the partial file (`partial_len`).
    pub fn load(path: &Path, size: u64, partial_len: u64) -> Option<RangeMap> {
        let text = fs_err::read(path).ok()?;
        let map: RangeMap = serde_json::from_slice(&text).ok()?;
        let valid = map.size == size
            && map.ranges.iter().all(|r| {
                r.start <= r.end
                    && r.end <= size
                    && r.done <= r.end - r.start
                    && (r.done == 0 || r.start + r.done <= partial_len)
            });
        valid.then_some(map)
    }

    /// Replaces the saved map atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        fs_err::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_file_without_gaps_and_respect_the_minimum() {
        let map = RangeMap::split(100 << 20, 4);
        assert_eq!(map.ranges.len(), 4);
        assert_eq!(map.ranges[0].start, 0);
        assert_eq!(map.ranges.last().unwrap().end, 100 << 20);
        for pair in map.ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(
            RangeMap::split(10 << 20, 8).ranges.len(),
            1,
            "too small to split"
        );
        assert_eq!(RangeMap::split(24 << 20, 8).ranges.len(), 3);
        assert_eq!(
            RangeMap::split(1, 4).ranges,
            vec![Range {
                start: 0,
                end: 1,
                done: 0
            }]
        );
    }

    #[test]
    fn a_saved_map_is_reloaded_only_for_the_same_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.json");
        let mut map = RangeMap::split(40 << 20, 2);
        map.ranges[1].done = 1234;
        map.save(&path).unwrap();
        let len = (20 << 20) + 1234;
        assert_eq!(RangeMap::load(&path, 40 << 20, len), Some(map));
        assert_eq!(RangeMap::load(&path, 41 << 20, len), None, "another size");
        assert_eq!(
            RangeMap::load(&path, 40 << 20, 100),
            None,
            "bytes the file lacks"
        );
        fs_err::write(&path, "{not json").unwrap();
        assert_eq!(RangeMap::load(&path, 40 << 20, len), None);
    }
}
