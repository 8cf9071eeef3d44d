//! The generated documentation in `man/` and `docs/src/reference/` is what the command line and
//! the schemas generate now (src/manual.rs), so the man pages and the guide never drift.

use std::path::Path;

/// Set to `1` to rewrite the generated files instead of comparing.
const UPDATE_VAR: &str = "HFDL_UPDATE_GENERATED";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_man_pages_and_reference_pages_are_fresh() {
    #[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
    let update = std::env::var_os(UPDATE_VAR).is_some_and(|v| v == "1");
    let files = hfdl::manual::generated_files();
    let mut stale = Vec::new();
    for (path, text) in &files {
        let full = repo_root().join(path);
        if update {
            fs_err::create_dir_all(full.parent().unwrap()).unwrap();
            hfdl::fsutil::write_if_changed(&full, text.as_bytes()).unwrap();
        } else if fs_err::read_to_string(&full).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    // A man page of a command that no longer exists is stale too.
    let man_dir = repo_root().join(hfdl::manual::MAN_DIR);
    for entry in fs_err::read_dir(&man_dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(repo_root()).unwrap().to_path_buf();
        if !files.iter().any(|(generated, _)| *generated == relative) {
            if update {
                fs_err::remove_file(&path).unwrap();
            } else {
                stale.push(format!("{} (no such command)", relative.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {}. Regenerate with `{UPDATE_VAR}=1 cargo nextest run -E 'test(/manual/)'` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn the_man_pages_render_without_warnings() {
    let Ok(status) = std::process::Command::new("man").arg("--version").output() else {
        #[allow(clippy::disallowed_methods)] // Test harness configuration.
        let in_ci = std::env::var_os("CI").is_some();
        assert!(!in_ci, "`man` is missing: .ci/run installs man-db");
        eprintln!("skipped: `man` is not installed (apt-get install man-db)");
        return;
    };
    assert!(status.status.success());
    let man_dir = repo_root().join(hfdl::manual::MAN_DIR);
    for (name, _) in hfdl::manual::man_pages() {
        let output = std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(man_dir.join(&name))
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name}: {stderr}");
        assert!(stderr.trim().is_empty(), "{name} warns: {stderr}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("hfdl"));
    }
}
