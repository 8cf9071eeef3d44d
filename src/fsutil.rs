//! Small file helpers shared by every layer that writes files (`lock`, `config`, `store`) or
//! checks paths from the Hub (`resolve`, `store`): atomic writes and the repo-path check.
//!
//! Atomic file system changes: a temp file in the same directory, fsync, rename.
//!
//! A reader (another hfdl, `huggingface_hub`, an editor) sees either the old file or the new
//! one, never a torn write, and a kill at any moment leaves at most a stray temp file.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically, creating the parent directory if needed. A `path` that
/// is a symlink (a dotfile manager's config.toml) is written through: its target is replaced and
/// the link stays. The file keeps its permissions; a new one gets the usual 0644, not the temp
/// file's 0600 (models.toml and models.lock are shared files).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let resolved;
    let path = if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        resolved = fs_err::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        resolved.as_path()
    } else {
        path
    };
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
    match fs_err::metadata(path) {
        Ok(existing) => temp.as_file().set_permissions(existing.permissions())?,
        #[cfg(unix)]
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        #[cfg(not(unix))]
        Err(_) => {}
    }
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

/// Refuses repo paths that could escape the snapshot directory, as `huggingface_hub` does
/// before any disk write (hub-protocol §1.6).
pub fn check_repo_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("an empty file path".into());
    }
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(format!(
            "`{path}` is not a relative path with `/` separators"
        ));
    }
    if path.len() >= 2 && path.as_bytes()[1] == b':' {
        return Err(format!("`{path}` looks like a drive path"));
    }
    if path
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!("`{path}` has an empty, `.` or `..` segment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlinked_file_is_written_through_and_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dotfiles/config.toml");
        fs_err::create_dir_all(target.parent().unwrap()).unwrap();
        fs_err::write(&target, "a = 1\n").unwrap();
        fs_err::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("config.toml");
        fs_err::os::unix::fs::symlink(&target, &link).unwrap();
        write_file_atomic(&link, b"a = 2\n").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(fs_err::read_to_string(&target).unwrap(), "a = 2\n");
        let mode = fs_err::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let fresh = dir.path().join("new.toml");
        write_file_atomic(&fresh, b"x").unwrap();
        let mode = fs_err::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

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

    #[test]
    fn paths_that_escape_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "C:/x",
            "a\\b",
            "./a",
        ] {
            assert!(check_repo_path(bad).is_err(), "{bad}");
        }
        assert!(check_repo_path("sub dir/tok #1.json").is_ok());
    }
}
