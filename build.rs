//! Build facts for `hfdl version --json` (bug reports): the git commit, the target triple, the
//! compiler and the cargo features, handed to the crate as `HFDL_BUILD_*` environment variables.
//!
//! Outside a git checkout (a crates.io package, a source tarball) the commit is `unknown`; a
//! packager can set `HFDL_BUILD_COMMIT` to name it.

// A build script reads cargo's environment and the git files directly; the library's rules
// (environment only through src/env.rs, fs_err for file errors) are for hfdl itself.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HFDL_BUILD_COMMIT");
    let commit = std::env::var("HFDL_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=HFDL_BUILD_COMMIT={commit}");

    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=HFDL_BUILD_TARGET={target}");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        );
    println!("cargo:rustc-env=HFDL_BUILD_RUSTC={rustc_version}");

    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=HFDL_BUILD_PROFILE={profile}");

    // Cargo sets CARGO_FEATURE_<NAME> for each enabled feature of this package.
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(key, _)| key.strip_prefix("CARGO_FEATURE_").map(str::to_owned))
        .map(|name| name.to_lowercase().replace('_', "-"))
        .collect();
    features.sort();
    println!("cargo:rustc-env=HFDL_BUILD_FEATURES={}", features.join(","));
}

/// `git rev-parse HEAD`, watching the files that change when HEAD moves so a new commit rebuilds
/// with the new id (and nothing else triggers this script).
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let git_dir = git(&["rev-parse", "--git-dir"])?;
    let git_dir = Path::new(&git_dir);
    let head = git_dir.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    if let Ok(text) = std::fs::read_to_string(&head)
        && let Some(reference) = text.trim().strip_prefix("ref: ")
    {
        let reference = git_dir.join(reference);
        if reference.exists() {
            println!("cargo:rerun-if-changed={}", reference.display());
        }
    }
    let packed = git_dir.join("packed-refs");
    if packed.exists() {
        println!("cargo:rerun-if-changed={}", packed.display());
    }
    git(&["rev-parse", "HEAD"])
}
