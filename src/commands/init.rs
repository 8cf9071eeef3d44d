//! `hfdl init`: creates a commented models.toml; with `--from-cache`, one that adopts what the
//! Hugging Face cache already holds, with its models.lock, without a request.

use serde_json::json;

use super::Context;
use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::fsutil::write_file_atomic;
use crate::lock::{LockedModel, Lockfile};
use crate::manifest::{self, ModelSpec, edit};
use crate::store::Store;
use crate::store::inventory::{CachedSnapshot, inventory};

pub fn run(ctx: &Context, project: &crate::ops::Project, args: &InitArgs) -> Result<()> {
    let path = &project.settings().manifest_path;
    if path.exists() {
        return Err(Error::AlreadyExists { path: path.clone() });
    }
    if args.from_cache {
        return from_cache(ctx, project);
    }
    write_file_atomic(path, edit::init_template().as_bytes()).map_err(Error::io(path))?;
    if ctx.json {
        return ctx.print_json(&json!({ "created": path }));
    }
    ctx.status(&format!(
        "Created {}; add a model with `hfdl add REPO`",
        path.display()
    ));
    Ok(())
}

/// One entry per snapshot a ref points to (`main` preferred as the revision); in a repo with
/// no refs at all, one entry per snapshot, pinned to its commit. Snapshots no ref points to in
/// a repo that has refs are older downloads: they are reported, not adopted.
fn from_cache(ctx: &Context, project: &crate::ops::Project) -> Result<()> {
    let manifest_path = &project.settings().manifest_path;
    let store = Store::new(&project.settings().store);
    let snapshots = inventory(&store);
    let mut text = edit::init_template();
    let mut names: Vec<String> = Vec::new();
    let mut adopted: Vec<(String, &CachedSnapshot)> = Vec::new();
    let mut left_out = Vec::new();
    let repos_with_refs: std::collections::BTreeSet<_> = snapshots
        .iter()
        .filter(|s| !s.refs.is_empty())
        .map(|s| (s.repo_type, &s.repo))
        .collect();
    for snapshot in &snapshots {
        let repo_has_refs = repos_with_refs.contains(&(snapshot.repo_type, &snapshot.repo));
        if snapshot.files.is_empty() || (repo_has_refs && snapshot.refs.is_empty()) {
            left_out.push(snapshot);
            continue;
        }
        let revision = if snapshot.refs.iter().any(|r| r == "main") {
            "main".to_owned()
        } else {
            snapshot
                .refs
                .first()
                .cloned()
                .unwrap_or_else(|| snapshot.commit.clone())
        };
        let existing: Vec<&str> = names.iter().map(String::as_str).collect();
        let spec = ModelSpec {
            name: edit::derive_name(&snapshot.repo, &existing),
            repo: snapshot.repo.clone(),
            repo_type: snapshot.repo_type,
            revision,
            // The files the cache holds, and only those: resolving this entry against the Hub
            // later selects the same set.
            include: snapshot
                .files
                .iter()
                .map(|f| escape_pattern(&f.path))
                .collect(),
            exclude: Vec::new(),
            dir: None,
            exclude_newer: None,
            cooldown: None,
        };
        text = edit::add_model(&text, &spec).map_err(|e| Error::Usage {
            message: e.to_string(),
            help: "report this as a bug in hfdl".to_owned(),
        })?;
        names.push(spec.name.clone());
        adopted.push((spec.name, snapshot));
    }
    if adopted.is_empty() {
        return Err(Error::NothingCached {
            store: project.settings().store.clone(),
        });
    }
    // Fingerprints come from the manifest as it will be read back.
    let manifest = manifest::parse(manifest_path, &text)?;
    let mut lock = Lockfile::default();
    for (name, snapshot) in &adopted {
        let spec = &manifest.models[name];
        lock.models.push(LockedModel {
            name: name.clone(),
            repo: snapshot.repo.clone(),
            repo_type: snapshot.repo_type,
            revision: spec.revision.clone(),
            commit: snapshot.commit.clone(),
            requirement: spec.requirement(),
            files: snapshot.files.clone(),
        });
    }
    lock.sort();
    write_file_atomic(manifest_path, text.as_bytes()).map_err(Error::io(manifest_path))?;
    project.write_lock(&lock)?;

    if ctx.json {
        return ctx.print_json(&json!({
            "created": manifest_path,
            "lock": project.settings().lock_path,
            "adopted": adopted.iter().map(|(name, s)| json!({
                "name": name,
                "repo": s.repo,
                "repo_type": s.repo_type.as_str(),
                "commit": s.commit,
                "files": s.files.len(),
                "skipped": s.skipped.iter().map(|(path, why)| json!({"path": path, "reason": why})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "left_out": left_out.iter().map(|s| json!({
                "repo": s.repo, "repo_type": s.repo_type.as_str(), "commit": s.commit,
            })).collect::<Vec<_>>(),
        }));
    }
    for (name, snapshot) in &adopted {
        let bytes: u64 = snapshot.files.iter().map(|f| f.size).sum();
        ctx.status(&format!(
            "Adopted {name}: {} at {} ({}, {})",
            snapshot.repo,
            crate::render::short(&snapshot.commit),
            crate::report::count(snapshot.files.len(), "file"),
            indicatif::HumanBytes(bytes)
        ));
        for (path, why) in &snapshot.skipped {
            ctx.status(&format!("  left out {path}: {why}"));
        }
    }
    for snapshot in &left_out {
        ctx.status(&format!(
            "Left out {} at {}: {}",
            snapshot.repo,
            crate::render::short(&snapshot.commit),
            if snapshot.files.is_empty() {
                "no file of it is complete"
            } else {
                "an older snapshot no ref points to"
            }
        ));
    }
    ctx.status(&format!(
        "Wrote {} and {}; `hfdl sync` verifies the files without downloading them",
        manifest_path.display(),
        project.settings().lock_path.display()
    ));
    Ok(())
}

/// A pattern that matches exactly `path` under fnmatch (hub-protocol §8.4): the special
/// characters become one-character classes.
fn escape_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_pattern;
    use crate::pattern::PathFilter;

    #[test]
    fn escaped_paths_match_only_themselves() {
        for path in ["config.json", "a[1]/b*.bin", "what?.txt"] {
            let filter = PathFilter::new(&[escape_pattern(path)], &[]).unwrap();
            assert!(filter.matches(path), "{path}");
        }
        let filter = PathFilter::new(&[escape_pattern("b*.bin")], &[]).unwrap();
        assert!(!filter.matches("bx.bin"));
    }
}
