//! The store's file system as a resource: free bytes and inodes (`statvfs`), the reserve a sync
//! leaves free, whether it can be written and hold symlinks, and the partial downloads it holds.
//!
//! These are probes, not mutations: what they create (a temp file, a temp symlink) is removed
//! before they return, and nothing is ever left in the cache root (the HF scanner warns about
//! entries it does not know).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Never reserve more than this, however large the disk: 100 MiB is plenty for the programs
/// that keep running next to a sync (logs, editors, databases flushing).
pub const MAX_RESERVE: u64 = 100 << 20;

/// Free space and inodes of one file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    /// Bytes an unprivileged process may still write.
    pub available: u64,
    /// Size of the file system in bytes.
    pub total: u64,
    /// Inodes an unprivileged process may still create, and the total; `None` where the file
    /// system does not count them (btrfs, some network file systems report 0) or the platform
    /// has no `statvfs`.
    pub inodes: Option<Inodes>,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Inode counts of a file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inodes {
    /// Inodes an unprivileged process may still create.
    pub available: u64,
    /// Inodes of the file system in all.
    pub total: u64,
}

impl DiskUsage {
    /// What a sync keeps free on this disk: see [`reserve_for`].
    pub fn reserve(&self) -> u64 {
        reserve_for(self.total)
    }
}

/// The free space a sync leaves on a disk of `total` bytes: 1% of it, at most [`MAX_RESERVE`].
/// A sync that would go below stops cleanly (partial files kept) instead of filling the disk
/// under every other program on it.
pub fn reserve_for(total: u64) -> u64 {
    (total / 100).min(MAX_RESERVE)
}

/// The deepest existing directory at or above `path` (the store may not exist yet; its disk is
/// the one of the directory it will be created in).
pub fn existing_ancestor(path: &Path) -> Option<&Path> {
    path.ancestors().find(|p| p.exists())
}

/// Free space and inodes of the file system holding `path` (or its nearest existing ancestor).
#[cfg(unix)]
pub fn usage(path: &Path) -> std::io::Result<DiskUsage> {
    let existing = existing_ancestor(path).ok_or_else(|| not_found(path))?;
    let stat = rustix::fs::statvfs(existing).map_err(std::io::Error::from)?;
    let block = stat.f_frsize.max(1);
    Ok(DiskUsage {
        available: stat.f_bavail.saturating_mul(block),
        total: stat.f_blocks.saturating_mul(block),
        inodes: (stat.f_files > 0).then_some(Inodes {
            available: stat.f_favail,
            total: stat.f_files,
        }),
        read_only: stat.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}

/// Free space of the file system holding `path`; inodes are not counted on this platform.
#[cfg(not(unix))]
pub fn usage(path: &Path) -> std::io::Result<DiskUsage> {
    let existing = existing_ancestor(path).ok_or_else(|| not_found(path))?;
    Ok(DiskUsage {
        available: fs4::available_space(existing)?,
        total: fs4::total_space(existing)?,
        inodes: None,
        read_only: false,
    })
}

fn not_found(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("no directory of {} exists", path.display()),
    )
}

/// Bytes available on the file system holding `path`.
pub fn available(path: &Path) -> std::io::Result<u64> {
    usage(path).map(|u| u.available)
}

/// Why a write stopped short of the reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BelowReserve {
    /// Bytes free on the disk at the check.
    pub available: u64,
    /// Bytes the write had to leave free.
    pub reserve: u64,
}

/// Guards alive in this process: the writers whose bytes a check must leave room for.
static LIVE_GUARDS: AtomicU64 = AtomicU64::new(0);

/// What one writer may hold in memory before it reaches the disk (its write buffer).
const WRITER_BUFFER: u64 = 256 << 10;

impl Drop for FreeSpaceGuard {
    fn drop(&mut self) {
        LIVE_GUARDS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Watches free space while a download writes, so that it stops before the disk drops below
/// `reserve` rather than when a write fails with a full disk (by then every other program on
/// the disk is failing too).
///
/// `statvfs` is cheap but not free, so it is asked every `interval` bytes, and the check keeps
/// room for what may be written before the next one: free space never falls much below the
/// reserve, whatever the chunk sizes. A sync writes many files at once (`jobs` × `connections`
/// writers, each with its own guard), so the room kept is that of every live guard in the
/// process: the others may each write an interval (plus a buffer) between two of this one's
/// checks.
pub struct FreeSpaceGuard {
    dir: PathBuf,
    reserve: u64,
    interval: u64,
    since_check: u64,
    probe: fn(&Path) -> std::io::Result<u64>,
}

impl FreeSpaceGuard {
    /// A guard for writes into `dir` that keeps `reserve` bytes free on its disk.
    pub fn new(dir: impl Into<PathBuf>, reserve: u64) -> FreeSpaceGuard {
        FreeSpaceGuard::with_probe(dir, reserve, available)
    }

    /// Like [`FreeSpaceGuard::new`], with another way of reading free space (for tests).
    pub fn with_probe(
        dir: impl Into<PathBuf>,
        reserve: u64,
        probe: fn(&Path) -> std::io::Result<u64>,
    ) -> FreeSpaceGuard {
        // A quarter of the reserve between checks, within [64 KiB, 4 MiB]: at most one
        // `statvfs` per 4 MiB on a large disk, and a tiny disk is watched closely.
        let interval = (reserve / 4).clamp(64 << 10, 4 << 20);
        LIVE_GUARDS.fetch_add(1, Ordering::Relaxed);
        FreeSpaceGuard {
            dir: dir.into(),
            reserve,
            interval,
            // The first write is checked: a disk that is already low stops at once.
            since_check: interval,
            probe,
        }
    }

    /// Called before `incoming` more bytes are written while `unflushed` bytes are buffered
    /// but not yet on disk. Errs when writing them (and what may follow before the next check)
    /// would leave less than the reserve. A disk whose free space cannot be read is not
    /// watched: the write itself will tell.
    pub fn check(&mut self, incoming: u64, unflushed: u64) -> Result<(), BelowReserve> {
        if self.reserve == 0 {
            return Ok(());
        }
        self.since_check += incoming;
        if self.since_check < self.interval {
            return Ok(());
        }
        self.since_check = 0;
        let Ok(available) = (self.probe)(&self.dir) else {
            return Ok(());
        };
        let writers = LIVE_GUARDS.load(Ordering::Relaxed).max(1);
        let needed = self.reserve
            + unflushed
            + incoming
            + writers.saturating_mul(self.interval + WRITER_BUFFER);
        if available < needed {
            return Err(BelowReserve {
                available,
                reserve: self.reserve,
            });
        }
        Ok(())
    }
}

/// Whether a file can be created in `path` (or, when it does not exist yet, in the directory
/// it will be created in). The probe file is anonymous and gone when this returns.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    let existing = existing_ancestor(path).ok_or_else(|| not_found(path))?;
    tempfile::tempfile_in(existing).map(drop).map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot create a file in {}: {error}", existing.display()),
        )
    })
}

/// Whether the file system of `path` holds symlinks (the HF cache layout is made of them):
/// creates a symlink in a temp directory there and removes both.
pub fn check_symlinks(path: &Path) -> std::io::Result<()> {
    let existing = existing_ancestor(path).ok_or_else(|| not_found(path))?;
    let dir = tempfile::Builder::new()
        .prefix(".hfdl-doctor-")
        .tempdir_in(existing)?;
    let target = dir.path().join("target");
    fs_err::write(&target, b"")?;
    let link = dir.path().join("link");
    symlink(Path::new("target"), &link)?;
    let resolved = fs_err::read_link(&link)?;
    let result = if resolved == Path::new("target") && fs_err::metadata(&link)?.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "a symlink in {} does not resolve to its target",
            existing.display()
        )))
    };
    dir.close()?;
    result
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    fs_err::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    fs_err::os::windows::fs::symlink_file(target, link)
}

/// A partial download in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialFile {
    /// The `.incomplete` file.
    pub path: PathBuf,
    /// Its length in bytes, as `stat` reports it (0 if it cannot be read).
    pub size: u64,
}

/// Every `.incomplete` file under `<store>/<repo>/blobs/` (single- and multi-connection
/// partial downloads, and those `huggingface_hub` left).
pub fn partial_files(store: &Path) -> Vec<PartialFile> {
    let mut found = Vec::new();
    let Ok(repos) = fs_err::read_dir(store) else {
        return found;
    };
    for repo in repos.flatten() {
        let Ok(blobs) = fs_err::read_dir(repo.path().join("blobs")) else {
            continue;
        };
        for blob in blobs.flatten() {
            if blob.file_name().to_string_lossy().ends_with(".incomplete") {
                found.push(PartialFile {
                    path: blob.path(),
                    size: blob.metadata().map_or(0, |m| m.len()),
                });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

#[cfg(test)]
#[allow(clippy::unnecessary_wraps)] // fake probes have the signature of the real one
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_one_percent_capped_at_100_mib() {
        assert_eq!(reserve_for(4 << 20), (4 << 20) / 100);
        assert_eq!(reserve_for(1 << 30), (1 << 30) / 100);
        assert_eq!(reserve_for(1 << 40), MAX_RESERVE);
        assert_eq!(reserve_for(0), 0);
    }

    #[test]
    fn the_guard_stops_before_free_space_drops_below_the_reserve() {
        // Free space as a test-controlled value: 10 MiB, and a 1 MiB reserve.
        static FREE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(10 << 20);
        fn probe(_: &Path) -> std::io::Result<u64> {
            Ok(FREE.load(std::sync::atomic::Ordering::SeqCst))
        }
        let mut guard = FreeSpaceGuard::with_probe("/store", 1 << 20, probe);
        assert_eq!(guard.check(64 << 10, 0), Ok(()));
        // Writes go on while there is room for them, the next interval and the reserve.
        FREE.store(2 << 20, std::sync::atomic::Ordering::SeqCst);
        for _ in 0..4 {
            assert_eq!(guard.check(64 << 10, 0), Ok(()));
        }
        FREE.store((1 << 20) + (300 << 10), std::sync::atomic::Ordering::SeqCst);
        let mut stopped = None;
        for _ in 0..8 {
            if let Err(stop) = guard.check(64 << 10, 0) {
                stopped = Some(stop);
                break;
            }
        }
        assert_eq!(
            stopped,
            Some(BelowReserve {
                available: (1 << 20) + (300 << 10),
                reserve: 1 << 20
            })
        );
    }

    #[test]
    fn the_room_kept_grows_with_the_writers_alive_at_once() {
        fn probe(_: &Path) -> std::io::Result<u64> {
            Ok((1 << 20) + (700 << 10))
        }
        let mut alone = FreeSpaceGuard::with_probe("/store", 1 << 20, probe);
        assert_eq!(alone.check(64 << 10, 0), Ok(()), "one writer fits");
        let _other = FreeSpaceGuard::with_probe("/store", 1 << 20, probe);
        let mut shared = FreeSpaceGuard::with_probe("/store", 1 << 20, probe);
        assert!(
            shared.check(64 << 10, 0).is_err(),
            "three writers may together write past the reserve before their next checks"
        );
    }

    #[test]
    fn the_first_write_on_a_disk_already_below_the_reserve_stops() {
        fn probe(_: &Path) -> std::io::Result<u64> {
            Ok(1000)
        }
        let mut guard = FreeSpaceGuard::with_probe("/store", 1 << 20, probe);
        assert!(guard.check(1, 0).is_err());
    }

    #[test]
    fn a_zero_reserve_or_an_unreadable_disk_never_stops_a_write() {
        fn full(_: &Path) -> std::io::Result<u64> {
            Ok(0)
        }
        fn unreadable(_: &Path) -> std::io::Result<u64> {
            Err(std::io::Error::other("no statvfs"))
        }
        assert!(
            FreeSpaceGuard::with_probe("/s", 0, full)
                .check(1, 0)
                .is_ok()
        );
        assert!(
            FreeSpaceGuard::with_probe("/s", 1 << 20, unreadable)
                .check(1, 0)
                .is_ok()
        );
    }

    #[test]
    fn probes_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        check_writable(dir.path()).unwrap();
        check_symlinks(dir.path()).unwrap();
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 0);
        // A store that does not exist yet is probed in the directory it will be created in.
        check_writable(&dir.path().join("not/yet")).unwrap();
        assert!(!dir.path().join("not").exists());
        let usage = usage(&dir.path().join("not/yet")).unwrap();
        assert!(usage.total >= usage.available && usage.total > 0);
    }

    #[test]
    fn partial_files_are_found_in_blob_folders_with_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("models--a--b").join("blobs");
        fs_err::create_dir_all(&blobs).unwrap();
        fs_err::write(blobs.join("abc.incomplete"), [0u8; 10]).unwrap();
        fs_err::write(blobs.join("def"), [0u8; 99]).unwrap();
        fs_err::write(blobs.join("123.hfdl.incomplete"), [0u8; 5]).unwrap();
        let found = partial_files(dir.path());
        let sizes: Vec<u64> = found.iter().map(|p| p.size).collect();
        assert_eq!(sizes, vec![5, 10]);
    }
}
