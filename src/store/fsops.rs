//! Store mutations: snapshot symlinks, refs, blob publication and file locks. Each is atomic.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::fsutil::write_if_changed;

/// Makes `link` a symlink to `target` (relative), replacing whatever is there atomically: made
/// in place when the name is free, else under a temp name in the same directory, then renamed
/// over.
pub fn replace_with_symlink(link: &Path, target: &Path) -> std::io::Result<()> {
    let parent = link
        .parent()
        .ok_or_else(|| std::io::Error::other(format!("{} has no parent", link.display())))?;
    fs_err::create_dir_all(parent)?;
    // Where nothing is in the way (a fresh snapshot) the link is made in place: symlink(2) is
    // atomic, and this spares the rename of the temp-name dance below.
    match symlink(target, link) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("creating symlink {}: {e}", link.display()),
            ));
        }
        Ok(()) => return Ok(()),
    }
    let file_name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for attempt in 0..100u32 {
        let temp = parent.join(format!(
            ".{file_name}.{}.{attempt}.hfdl-link",
            std::process::id()
        ));
        match symlink(target, &temp) {
            Ok(()) => {
                return fs_err::rename(&temp, link).inspect_err(|_| {
                    let _ = fs_err::remove_file(&temp);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("creating symlink {}: {e}", temp.display()),
                ));
            }
        }
    }
    Err(std::io::Error::other(format!(
        "could not find a free temp name next to {}",
        link.display()
    )))
}

/// Makes the entries of `dir` (files renamed into it, links made in it) durable. A file system
/// that cannot fsync a directory (or a directory that cannot be opened for it) has nothing to
/// make durable this way; any other failure is an error, since the renames may be lost.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let Ok(handle) = fs_err::File::open(dir) else {
        return Ok(());
    };
    match handle.sync_all() {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        result => result,
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

/// True when `link` is a symlink whose target is exactly `target`.
pub fn symlink_points_to(link: &Path, target: &Path) -> bool {
    std::fs::read_link(link).is_ok_and(|current| current == target)
}

/// Writes `refs/<revision>`: the commit, no trailing newline (hub-protocol §6.3 rule 1), only
/// when it changed.
pub fn write_ref(ref_path: &Path, commit: &str) -> std::io::Result<bool> {
    write_if_changed(ref_path, commit.as_bytes())
}

/// Reads a ref file, without the surrounding whitespace another tool may have written; `None`
/// when it does not exist or cannot be read.
pub fn read_ref(ref_path: &Path) -> Option<String> {
    fs_err::read_to_string(ref_path)
        .ok()
        .map(|text| text.trim().to_owned())
}

/// An exclusive `flock` on a lock file, released on drop. The same lock file and kind of lock as
/// `huggingface_hub`'s `filelock`, so the two tools coordinate on a shared cache.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the lock at `path` is held (creating the file and its directory).
    pub fn acquire(path: &Path) -> std::io::Result<FileLock> {
        let file = open_lock_file(path)?;
        file.lock().map_err(|e| {
            std::io::Error::new(e.kind(), format!("locking {}: {e}", path.display()))
        })?;
        Ok(FileLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Takes the lock at `path` if it is free right now; `None` when another holder has it.
    /// Never blocks on the lock (opening the file is a quick local call), so async code can
    /// try it in place and only hand the waiting to a blocking thread.
    pub fn try_acquire(path: &Path) -> std::io::Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock {
                file,
                path: path.to_path_buf(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(std::io::Error::new(
                e.kind(),
                format!("locking {}: {e}", path.display()),
            )),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock at `path` in `mode`, polling until `timeout` has passed; `Ok(None)` when
    /// another process held it all that time. `on_wait` is called once, when the first attempt
    /// finds the lock taken (to tell the user why nothing happens).
    pub fn acquire_within(
        path: &Path,
        mode: LockMode,
        timeout: std::time::Duration,
        on_wait: impl FnOnce(),
    ) -> std::io::Result<Option<FileLock>> {
        const POLL: std::time::Duration = std::time::Duration::from_millis(50);
        let file = open_lock_file(path)?;
        let deadline = std::time::Instant::now() + timeout;
        let mut on_wait = Some(on_wait);
        loop {
            let attempt = match mode {
                LockMode::Shared => file.try_lock_shared(),
                LockMode::Exclusive => file.try_lock(),
            };
            match attempt {
                Ok(()) => {
                    return Ok(Some(FileLock {
                        file,
                        path: path.to_path_buf(),
                    }));
                }
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("locking {}: {e}", path.display()),
                    ));
                }
            }
            if let Some(on_wait) = on_wait.take() {
                on_wait();
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(POLL.min(deadline - now));
        }
    }
}

/// How a [`FileLock`] is held: many shared holders at once, or one exclusive holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Held together with other shared holders; excludes an exclusive one.
    Shared,
    /// Held alone.
    Exclusive,
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    Ok(fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?
        .into_parts()
        .0)
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Removes empty directories from `dir` up to (not including) `stop`.
pub fn remove_empty_parents(dir: &Path, stop: &Path) {
    let mut current = Some(dir);
    while let Some(path) = current {
        if path == stop || !path.starts_with(stop) || fs_err::remove_dir(path).is_err() {
            break;
        }
        current = path.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("snap/a.json");
        replace_with_symlink(&link, Path::new("../blobs/one")).unwrap();
        assert!(symlink_points_to(&link, Path::new("../blobs/one")));
        replace_with_symlink(&link, Path::new("../blobs/two")).unwrap();
        assert!(symlink_points_to(&link, Path::new("../blobs/two")));
        assert_eq!(
            fs_err::read_dir(dir.path().join("snap")).unwrap().count(),
            1
        );
    }

    #[test]
    fn refs_have_no_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refs/refs/pr/1");
        assert!(write_ref(&path, "abc").unwrap());
        assert!(!write_ref(&path, "abc").unwrap());
        assert_eq!(fs_err::read(&path).unwrap(), b"abc");
    }
}
