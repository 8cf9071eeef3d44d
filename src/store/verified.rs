//! The stat cache of verified blobs, kept in hfdl's own state directory (never in the HF cache
//! root, whose scanner warns about unknown entries).
//!
//! A blob hashed once is trusted again while its size, mtime and inode are unchanged; any
//! change means re-hash (habit 7). Losing the file only costs a re-hash, so concurrent writers
//! simply race on an atomic rename.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_if_changed;

const FORMAT_VERSION: u32 = 1;

/// What a blob looked like when it was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Nanoseconds since the epoch (i64: serde's `flatten` cannot carry i128).
    pub mtime_ns: i64,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
}

impl Fingerprint {
    /// The fingerprint of the file at `path` (following symlinks, hub-protocol §6.9).
    pub fn of(path: &Path) -> std::io::Result<Fingerprint> {
        let metadata = fs_err::metadata(path)?;
        let mtime_ns = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Fingerprint {
            size: metadata.len(),
            mtime_ns,
            inode,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    hash: String,
    #[serde(flatten)]
    fingerprint: Fingerprint,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    blobs: BTreeMap<PathBuf, Entry>,
}

/// Blobs known to be verified, keyed by absolute blob path.
#[derive(Debug)]
pub struct VerifiedBlobs {
    file: PathBuf,
    blobs: BTreeMap<PathBuf, Entry>,
    dirty: bool,
}

impl VerifiedBlobs {
    /// Loads the cache at `file`; a missing or unreadable cache is an empty one.
    pub fn load(file: impl Into<PathBuf>) -> VerifiedBlobs {
        let file = file.into();
        let blobs = fs_err::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OnDisk>(&bytes).ok())
            .filter(|disk| disk.version == FORMAT_VERSION)
            .map(|disk| disk.blobs)
            .unwrap_or_default();
        VerifiedBlobs {
            file,
            blobs,
            dirty: false,
        }
    }

    /// True when `blob` was verified as `hash_hex` and has not changed since.
    pub fn is_verified(&self, blob: &Path, hash_hex: &str) -> bool {
        let Some(entry) = self.blobs.get(blob) else {
            return false;
        };
        entry.hash == hash_hex && Fingerprint::of(blob).is_ok_and(|now| now == entry.fingerprint)
    }

    /// True when hfdl recorded `path` (with any content) and it has not changed since: a file
    /// hfdl placed, whose bytes it can put back, so it may delete it without losing anything.
    pub fn is_unchanged(&self, path: &Path) -> bool {
        self.blobs
            .get(path)
            .is_some_and(|entry| Fingerprint::of(path).is_ok_and(|now| now == entry.fingerprint))
    }

    /// Records that `blob` holds `hash_hex` as of now.
    pub fn record(&mut self, blob: &Path, hash_hex: &str) -> std::io::Result<()> {
        let entry = Entry {
            hash: hash_hex.to_owned(),
            fingerprint: Fingerprint::of(blob)?,
        };
        if self.blobs.get(blob) != Some(&entry) {
            self.blobs.insert(blob.to_path_buf(), entry);
            self.dirty = true;
        }
        Ok(())
    }

    /// Forgets `blob` (it was deleted or found damaged).
    pub fn forget(&mut self, blob: &Path) {
        self.dirty |= self.blobs.remove(blob).is_some();
    }

    /// Forgets every entry whose file is gone (after `hfdl gc`), so the cache does not grow
    /// with the blobs it deleted.
    pub fn forget_missing(&mut self) {
        let before = self.blobs.len();
        self.blobs.retain(|path, _| path.exists());
        self.dirty |= self.blobs.len() != before;
    }

    /// Writes the cache if anything changed, dropping entries whose blob no longer exists.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.blobs.retain(|path, _| path.exists());
        let disk = OnDisk {
            version: FORMAT_VERSION,
            blobs: std::mem::take(&mut self.blobs),
        };
        let bytes = serde_json::to_vec(&disk).map_err(std::io::Error::other);
        self.blobs = disk.blobs;
        write_if_changed(&self.file, &bytes?)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_blob_is_no_longer_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let blob = dir.path().join("blob");
        fs_err::write(&blob, b"content").unwrap();
        let mut cache = VerifiedBlobs::load(dir.path().join("state/verified.json"));
        cache.record(&blob, "abc").unwrap();
        cache.save().unwrap();
        let cache = VerifiedBlobs::load(dir.path().join("state/verified.json"));
        assert!(cache.is_verified(&blob, "abc"));
        assert!(!cache.is_verified(&blob, "abd"));
        fs_err::write(&blob, b"changed!").unwrap();
        assert!(!cache.is_verified(&blob, "abc"));
    }
}
