//! Garbage collection (`hfdl gc`): deletes what no known lockfile references, and only that.
//!
//! The known lockfiles are those in the [`Registry`] for the store (every `hfdl sync` records its
//! lockfile) plus the current project's lockfile. Every one that still exists is read; one that
//! exists but cannot be read stops gc, since deleting on a guess could throw away gigabytes a
//! project still needs. Lockfiles that are gone are forgotten.
//!
//! What the lockfiles reference is kept: the snapshot directory of each locked commit with the
//! locked files in it (others are pruned, as `sync` does), the locked blobs and those the kept
//! links point to, refs that point at a kept commit, and partial downloads of kept blobs that are not complete yet (a later sync resumes
//! them). Everything else inside the swept repos goes: blobs, snapshot directories, refs,
//! `.no_exist/<commit>`, `trees/<commit>.json`, stale `.incomplete` files and hfdl's own
//! `<hex>.hfdl.incomplete` partials with their range maps, then repo folders left empty.
//! Stale range maps in hfdl's state directory (whose partial file is gone) go too, and so do the
//! Xet chunk maps of blobs of this store that are gone or being deleted.
//!
//! Only repos hfdl wrote are swept (all repo folders with `--all`). Nothing outside the store's
//! repo folders is touched (`.locks/`, `CACHEDIR.TAG`, the shared Xet `blobs/` store), a symlink
//! is removed as a link and never followed, and a blob whose `huggingface_hub`/hfdl lock file is
//! held by someone else is left alone. The caller holds the store lock exclusively
//! ([`Store::store_lock_path`]), so no sync runs between reading the lockfiles and deleting.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::error::{Result, StoreError};
use super::fsops::{FileLock, LockMode};
use super::layout::{Store, parse_repo_folder_name};
use super::partials::{RANGED_PARTIAL_SUFFIX, RangeMap, range_map_path};
use super::registry::{Registry, absolute_path};
use crate::lock::Lockfile;

/// What `gc` is asked to do.
#[derive(Debug, Clone)]
pub struct GcOptions<'a> {
    /// The store to collect garbage in.
    pub store: &'a Store,
    /// The registry of known lockfiles, whose references are kept.
    pub registry: &'a Registry,
    /// hfdl's directory of range maps (`$HFDL_CACHE_DIR/partials`).
    pub partials_dir: &'a Path,
    /// hfdl's directory of Xet chunk maps (`$HFDL_CACHE_DIR/xet-chunks`).
    pub chunk_maps_dir: &'a Path,
    /// The current project's lockfile: it keeps what it references even if it was never synced.
    pub project_lock: Option<&'a Path>,
    /// Sweep every repo folder of the store, not only those hfdl wrote.
    pub all: bool,
    /// List and total, change nothing.
    pub dry_run: bool,
    /// Stops the collection when cancelled ([`StoreError::Cancelled`]). It is checked before
    /// each whole unit of deletion (a snapshot directory, a blob, a ref), never inside one, so
    /// a cancelled gc leaves every snapshot intact or gone; the bookkeeping of lockfiles and
    /// repos is then left for the next gc.
    pub cancel: Option<&'a tokio_util::sync::CancellationToken>,
}

/// What `gc` freed (or, with `dry_run`, would free).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Nothing was deleted: the report lists what would be.
    pub dry_run: bool,
    /// The store's root directory.
    pub store: PathBuf,
    /// The lockfiles whose references were kept.
    pub locks: Vec<PathBuf>,
    /// Remembered lockfiles that no longer exist (forgotten unless `dry_run`).
    pub forgotten_locks: Vec<PathBuf>,
    /// Repos where something was freed, by folder name.
    pub repos: Vec<RepoFreed>,
    /// Range maps in hfdl's state directory whose partial download is gone.
    pub range_maps: Vec<PathBuf>,
    /// Xet chunk maps in hfdl's state directory whose blob is gone.
    pub chunk_maps: Vec<PathBuf>,
    /// Files (blobs, links, refs, partials) freed in all repos.
    pub files: usize,
    /// Bytes freed in all repos (regular files; a link frees no content).
    pub bytes: u64,
}

/// What was freed in one repo.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepoFreed {
    /// `models--org--name`.
    pub folder: String,
    /// `model`, `dataset` or `space`.
    pub repo_type: String,
    /// The repo id (`org/name`).
    pub repo: String,
    /// Files (blobs, links, refs, partials) freed in this repo.
    pub files: usize,
    /// Bytes freed in this repo (regular files; a link frees no content).
    pub bytes: u64,
    /// Nothing in the repo was referenced: its whole folder is gone.
    pub removed: bool,
    /// The entries removed, relative to the store (a directory stands for all it held).
    pub paths: Vec<PathBuf>,
}

/// What the known lockfiles reference in one repo.
#[derive(Debug, Default)]
struct RepoKeep {
    /// Locked commits and, for each, the locked file paths in its snapshot.
    commits: BTreeMap<String, BTreeSet<String>>,
    blobs: BTreeSet<String>,
    /// Locked revisions (branches, tags, PR refs) and a commit locked for each.
    revisions: BTreeMap<String, String>,
}

/// Collects garbage in `options.store`; the caller holds the store lock (exclusively unless
/// `dry_run`).
pub fn collect_garbage(options: &GcOptions<'_>) -> Result<GcReport> {
    let store = options.store;
    let record = options.registry.store_record(store)?;
    let mut report = GcReport {
        dry_run: options.dry_run,
        store: store.root().to_path_buf(),
        ..GcReport::default()
    };

    let mut candidates: BTreeSet<PathBuf> = record.locks.clone();
    candidates.extend(options.project_lock.map(absolute_path));
    let mut locks = Vec::new();
    for path in candidates {
        match crate::lock::load(&path) {
            Ok(Some(lock)) => {
                locks.push(lock);
                report.locks.push(path);
            }
            Ok(None) => report.forgotten_locks.push(path),
            Err(error) => {
                return Err(StoreError::GcLockUnreadable {
                    lock: path,
                    reason: error.to_string(),
                });
            }
        }
    }
    let keep = referenced(&locks);

    let mut deleted_partials = BTreeSet::new();
    let mut emptied = Vec::new();
    for (folder, repo_dir) in repo_folders(store.root())? {
        if !options.all && !record.repos.contains(&folder) {
            continue;
        }
        let empty = RepoKeep::default();
        let (repo_type, repo) = parse_repo_folder_name(&folder)
            .map(|(repo_type, id)| (repo_type.as_str().to_owned(), id.as_str().to_owned()))
            .unwrap_or_default();
        let mut sweeper = Sweeper {
            store,
            dry_run: options.dry_run,
            partials_dir: options.partials_dir,
            freed: RepoFreed {
                folder: folder.clone(),
                repo_type,
                repo,
                ..RepoFreed::default()
            },
            kept_something: false,
            deleted_partials: &mut deleted_partials,
            range_maps: &mut report.range_maps,
            cancel: options.cancel,
        };
        sweeper.sweep_repo(&repo_dir, keep.get(&folder).unwrap_or(&empty))?;
        let mut freed = sweeper.freed;
        freed.removed = if options.dry_run {
            !sweeper.kept_something
        } else {
            !repo_dir.exists()
        };
        if freed.removed {
            emptied.push(folder.clone());
        }
        if freed.files > 0 || freed.removed {
            report.files += freed.files;
            report.bytes += freed.bytes;
            report.repos.push(freed);
        }
    }

    sweep_range_maps(options, &deleted_partials, &mut report)?;
    sweep_chunk_maps(options, &mut report)?;
    if !options.dry_run {
        options
            .registry
            .forget_locks(store, &report.forgotten_locks)?;
        options.registry.forget_repos(store, &emptied)?;
    }
    Ok(report)
}

/// Per repo folder: the commits and blobs the lockfiles reference.
fn referenced(locks: &[Lockfile]) -> BTreeMap<String, RepoKeep> {
    let mut keep: BTreeMap<String, RepoKeep> = BTreeMap::new();
    for model in locks.iter().flat_map(|lock| &lock.models) {
        let folder = Store::repo_folder_name(super::RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        });
        let repo = keep.entry(folder).or_default();
        repo.commits
            .entry(model.commit.clone())
            .or_default()
            .extend(model.files.iter().map(|f| f.path.clone()));
        repo.blobs
            .extend(model.files.iter().map(|f| f.hash.hex().to_owned()));
        if model.revision != model.commit {
            repo.revisions
                .entry(model.revision.clone())
                .or_insert_with(|| model.commit.clone());
        }
    }
    keep
}

/// The repo folders in the store root (real directories, not links), by name.
fn repo_folders(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match fs_err::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::io(root)(source)),
    };
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StoreError::io(root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && parse_repo_folder_name(&name).is_some() {
            folders.push((name, entry.path()));
        }
    }
    folders.sort();
    Ok(folders)
}

/// Removes (or, dry, counts) the unreferenced entries of one repo.
struct Sweeper<'a> {
    store: &'a Store,
    dry_run: bool,
    partials_dir: &'a Path,
    freed: RepoFreed,
    /// Something in the repo stays, so its folder does too.
    kept_something: bool,
    deleted_partials: &'a mut BTreeSet<PathBuf>,
    range_maps: &'a mut Vec<PathBuf>,
    cancel: Option<&'a tokio_util::sync::CancellationToken>,
}

impl Sweeper<'_> {
    fn sweep_repo(&mut self, repo_dir: &Path, keep: &RepoKeep) -> Result<()> {
        // Refs first, then snapshots, then blobs: a ref never points at a missing snapshot and
        // a link never at a missing blob, even if gc is killed half-way (hub-protocol §6.3).
        self.sweep_refs(&repo_dir.join("refs"), "", keep)?;
        // Blobs that kept links point to stay too, so no kept link is left dangling.
        let mut kept_blobs = keep.blobs.clone();
        for (name, path, kind) in entries(&repo_dir.join("snapshots"))? {
            match keep.commits.get(&name) {
                Some(paths) if kind.is_dir() => {
                    self.kept_something = true;
                    self.sweep_snapshot(&path, "", paths, &mut kept_blobs)?;
                }
                _ => self.remove(&path)?,
            }
        }
        for (name, path, _) in entries(&repo_dir.join(".no_exist"))? {
            if keep.commits.contains_key(&name) {
                self.kept_something = true;
            } else {
                self.remove(&path)?;
            }
        }
        for (name, path, _) in entries(&repo_dir.join("trees"))? {
            let commit = name.strip_suffix(".json").unwrap_or(&name);
            if keep.commits.contains_key(commit) {
                self.kept_something = true;
            } else {
                self.remove(&path)?;
            }
        }
        self.sweep_blobs(repo_dir, &kept_blobs)?;

        for (name, _, _) in entries(repo_dir)? {
            if !matches!(
                name.as_str(),
                "blobs" | "snapshots" | "refs" | ".no_exist" | "trees"
            ) {
                // Something gc does not know: leave it, and the folder with it.
                self.kept_something = true;
            }
        }
        if !self.dry_run && !self.kept_something {
            for dir in ["blobs", "snapshots", "refs", ".no_exist", "trees"] {
                let _ = fs_err::remove_dir(repo_dir.join(dir));
            }
            let _ = fs_err::remove_dir(repo_dir);
        }
        Ok(())
    }

    /// In a kept snapshot, removes what no lockfile lists for that commit (as `sync` prunes it)
    /// and notes the blobs the kept links point to.
    fn sweep_snapshot(
        &mut self,
        dir: &Path,
        prefix: &str,
        paths: &BTreeSet<String>,
        kept_blobs: &mut BTreeSet<String>,
    ) -> Result<()> {
        for (name, path, kind) in entries(dir)? {
            let relative = format!("{prefix}{name}");
            if kind.is_dir() {
                self.sweep_snapshot(&path, &format!("{relative}/"), paths, kept_blobs)?;
                if !self.dry_run {
                    let _ = fs_err::remove_dir(&path); // only when it is empty now
                }
            } else if paths.contains(&relative) {
                if let Some(blob) = link_target_blob(&path) {
                    kept_blobs.insert(blob);
                }
            } else {
                self.remove(&path)?;
            }
        }
        Ok(())
    }

    /// Keeps refs to kept commits. A ref that a lockfile names as its revision but that points
    /// at a commit being deleted (someone fetched a newer tip) is pointed back at the locked
    /// commit: deleting it would break `from_pretrained(..., local_files_only=True)` by revision
    /// (hub-protocol §6.3), which the kept snapshot can still serve. Other refs go.
    fn sweep_refs(&mut self, dir: &Path, prefix: &str, keep: &RepoKeep) -> Result<()> {
        for (name, path, kind) in entries(dir)? {
            let revision = format!("{prefix}{name}");
            if kind.is_dir() {
                self.sweep_refs(&path, &format!("{revision}/"), keep)?;
                if !self.dry_run {
                    // Nested refs (`refs/pr/1`) leave empty directories behind.
                    let _ = fs_err::remove_dir(&path);
                }
                continue;
            }
            // A ref is a regular file holding a commit; anything else (a link) is not a ref.
            let commit = kind
                .is_file()
                .then(|| super::fsops::read_ref(&path))
                .flatten();
            if commit.is_some_and(|commit| keep.commits.contains_key(&commit)) {
                self.kept_something = true;
            } else if let Some(locked) = keep.revisions.get(&revision).filter(|_| kind.is_file()) {
                self.kept_something = true;
                if !self.dry_run {
                    super::fsops::write_ref(&path, locked).map_err(StoreError::io(&path))?;
                }
            } else {
                self.remove(&path)?;
            }
        }
        Ok(())
    }

    fn sweep_blobs(&mut self, repo_dir: &Path, kept_blobs: &BTreeSet<String>) -> Result<()> {
        let folder = repo_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (name, path, _) in entries(&repo_dir.join("blobs"))? {
            let hex = name.split('.').next().unwrap_or_default();
            let keep = if name.ends_with(".incomplete") {
                // A partial of a referenced blob is progress the next sync resumes from; once
                // the blob is complete it is just stale.
                kept_blobs.contains(hex)
                    && fs_err::symlink_metadata(path.with_file_name(hex)).is_err()
            } else if name.contains('.') {
                // Not a blob (a temp file of some running download): not gc's to judge.
                true
            } else {
                kept_blobs.contains(hex)
            };
            if keep {
                self.kept_something = true;
                continue;
            }
            // A download of this blob holds its lock (hfdl and huggingface_hub both take
            // `.locks/<repo>/<hex>.lock`): leave what it is working on.
            let lock_file = self
                .store
                .root()
                .join(".locks")
                .join(&folder)
                .join(format!("{hex}.lock"));
            let _held = if lock_file.exists() {
                let held = FileLock::acquire_within(
                    &lock_file,
                    LockMode::Exclusive,
                    Duration::ZERO,
                    || {},
                )
                .map_err(StoreError::io(&lock_file))?;
                if held.is_none() {
                    self.kept_something = true;
                    continue;
                }
                held
            } else {
                None
            };
            self.remove(&path)?;
            if name.ends_with(".incomplete") {
                let absolute = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
                if name.ends_with(RANGED_PARTIAL_SUFFIX) {
                    let map = range_map_path(self.partials_dir, &path);
                    if map.exists() && !self.range_maps.contains(&map) {
                        if !self.dry_run {
                            fs_err::remove_file(&map).map_err(StoreError::io(&map))?;
                        }
                        self.range_maps.push(map);
                    }
                }
                self.deleted_partials.insert(absolute);
            }
        }
        Ok(())
    }

    /// Removes `path` (a file, a link, or a directory with everything in it, never following a
    /// link) and counts what it frees. Each call is one whole unit: a cancellation is noticed
    /// before it starts, never half-way through a directory.
    fn remove(&mut self, path: &Path) -> Result<()> {
        if self
            .cancel
            .is_some_and(tokio_util::sync::CancellationToken::is_cancelled)
        {
            return Err(StoreError::Cancelled);
        }
        let Ok(metadata) = fs_err::symlink_metadata(path) else {
            return Ok(()); // gone meanwhile
        };
        let (files, bytes) = if metadata.is_dir() {
            let mut totals = (0, 0);
            tally(path, &mut totals)?;
            totals
        } else {
            (
                1,
                if metadata.is_file() {
                    metadata.len()
                } else {
                    0
                },
            )
        };
        if !self.dry_run {
            let removed = if metadata.is_dir() {
                fs_err::remove_dir_all(path)
            } else {
                fs_err::remove_file(path)
            };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::io(path)(source)),
            }
        }
        self.freed.files += files;
        self.freed.bytes += bytes;
        self.freed.paths.push(
            path.strip_prefix(self.store.root())
                .unwrap_or(path)
                .to_path_buf(),
        );
        Ok(())
    }
}

/// The entries of `dir` (none when it does not exist), sorted, without following links.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf, std::fs::FileType)>> {
    // `blobs/` or `snapshots/` may be a link to a folder elsewhere (a cache moved to another
    // disk, shared with another cache): never sweep through it.
    if fs_err::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Ok(Vec::new());
    }
    let read = match fs_err::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StoreError::io(dir)(source)),
    };
    let mut list = Vec::new();
    for entry in read {
        let entry = entry.map_err(StoreError::io(dir))?;
        let kind = entry.file_type().map_err(StoreError::io(entry.path()))?;
        list.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
            kind,
        ));
    }
    list.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(list)
}

/// The blob name a snapshot link points to (`…/blobs/<name>`), without following it.
fn link_target_blob(link: &Path) -> Option<String> {
    let target = fs_err::read_link(link).ok()?;
    let in_blobs = target
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|parent| parent == "blobs");
    in_blobs.then(|| target.file_name().map(|n| n.to_string_lossy().into_owned()))?
}

/// Counts the files and bytes under `dir`, without following links.
fn tally(dir: &Path, totals: &mut (usize, u64)) -> Result<()> {
    for (_, path, kind) in entries(dir)? {
        if kind.is_dir() {
            tally(&path, totals)?;
        } else {
            totals.0 += 1;
            if kind.is_file() {
                totals.1 += fs_err::symlink_metadata(&path).map_or(0, |m| m.len());
            }
        }
    }
    Ok(())
}

/// Removes the Xet chunk maps of this store's blobs that are gone or were just removed (with
/// `dry_run`, would be).
fn sweep_chunk_maps(options: &GcOptions<'_>, report: &mut GcReport) -> Result<()> {
    let roots = [
        std::path::absolute(options.store.root()).unwrap_or_else(|_| options.store.root().into()),
        absolute_path(options.store.root()),
    ];
    // What this gc deletes, as absolute paths (a directory stands for all it held).
    let deleted: Vec<PathBuf> = report
        .repos
        .iter()
        .flat_map(|repo| &repo.paths)
        .flat_map(|path| roots.iter().map(move |root| root.join(path)))
        .collect();
    for (_, path, kind) in entries(options.chunk_maps_dir)? {
        if !kind.is_file() || path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Some(map) = super::chunk_maps::ChunkMap::load(&path) else {
            continue; // unreadable: not known to be this store's
        };
        let in_store = roots.iter().any(|root| map.blob.starts_with(root));
        let gone = deleted.iter().any(|d| map.blob.starts_with(d))
            || matches!(fs_err::symlink_metadata(&map.blob), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        if in_store && gone {
            if !options.dry_run {
                fs_err::remove_file(&path).map_err(StoreError::io(&path))?;
            }
            report.chunk_maps.push(path);
        }
    }
    Ok(())
}

/// Removes range maps of this store whose partial file is gone (or was just removed).
fn sweep_range_maps(
    options: &GcOptions<'_>,
    deleted_partials: &BTreeSet<PathBuf>,
    report: &mut GcReport,
) -> Result<()> {
    let roots = [
        std::path::absolute(options.store.root()).unwrap_or_else(|_| options.store.root().into()),
        absolute_path(options.store.root()),
    ];
    for (_, path, kind) in entries(options.partials_dir)? {
        if !kind.is_file()
            || path.extension().is_none_or(|e| e != "json")
            || report.range_maps.contains(&path)
        {
            continue;
        }
        let Some(partial) = fs_err::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<RangeMap>(&bytes).ok())
            .and_then(|map| map.partial)
        else {
            continue; // an older map that does not name its partial: cannot tell, keep it
        };
        let in_store = roots.iter().any(|root| partial.starts_with(root));
        let gone = deleted_partials.contains(&partial)
            || matches!(fs_err::symlink_metadata(&partial), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        if in_store && gone {
            if !options.dry_run {
                fs_err::remove_file(&path).map_err(StoreError::io(&path))?;
            }
            report.range_maps.push(path);
        }
    }
    Ok(())
}
