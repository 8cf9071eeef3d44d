//! Atomic file system changes: a temp file in the same directory, fsync, rename.
//!
//! A reader (another hfdl, `huggingface_hub`, an editor) sees either the old file or the new
//! one, never a torn write, and a kill at any moment leaves at most a stray temp file.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically, creating the parent directory if needed.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("creating a temp file in {}: {e}", parent.display()),
            )
        })?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("renaming into {}: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

/// Writes `bytes` to `path` atomically only when the current content differs.
/// Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    match fs_err::read(path) {
        Ok(existing) if existing == bytes => Ok(false),
        Ok(_) => write_file_atomic(path, bytes).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_file_atomic(path, bytes).map(|()| true)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_if_changed_leaves_identical_files_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.txt");
        assert!(write_if_changed(&path, b"one").unwrap());
        let before = fs_err::metadata(&path).unwrap().modified().unwrap();
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert_eq!(fs_err::metadata(&path).unwrap().modified().unwrap(), before);
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(fs_err::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = fs_err::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files remain");
    }
}
