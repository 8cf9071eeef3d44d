//! A deep check of the store against a lockfile (`hfdl verify`): every blob a locked file needs,
//! its snapshot link, the plain-directory copy (`dir = "…"`), and whatever else sits in those
//! directories. Reads only, never the network; the one write is [`discard_damaged`], which
//! removes what `--repair` is about to replace.
//!
//! Fast mode trusts a file recorded in the stat cache ([`VerifiedBlobs`]) while its size, mtime
//! and inode are unchanged; everything else, and everything with `full`, is hashed again:
//! streamed with a large buffer (memory stays flat whatever the file size), on `jobs` threads,
//! with progress through the [`Reporter`]. Good results are recorded in the stat cache and bad
//! ones forgotten, so the next sync or verify does not trust them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::fsops::remove_empty_parents;
use super::layout::{RepoRef, Store, relative_blob_target};
use super::scan::dir_file;
use super::verified::VerifiedBlobs;
use crate::hash::{ContentHash, hash_reader};
use crate::lock::Lockfile;
use crate::report::{Event, Reporter, TaskId, TaskIds, TaskKind};

/// What can be wrong with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The content is absent: no blob (its snapshot link, if any, dangles) or no plain-dir file.
    Missing,
    /// The content has the wrong size or hash.
    Modified,
    /// The snapshot has no entry for a locked file.
    MissingLink,
    /// The snapshot entry points elsewhere, or is a regular file or a directory.
    WrongLink,
    /// A file the lock does not list: anything in a locked snapshot; in a plain directory, a
    /// file hfdl placed there for an earlier pin (people's own files are left alone).
    Extra,
    /// The file could not be read (permissions, an I/O error): its content is unknown.
    Unreadable,
}

impl ProblemKind {
    /// The stable name used in `--json` output and summaries (`missing-link`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Modified => "modified",
            ProblemKind::MissingLink => "missing-link",
            ProblemKind::WrongLink => "wrong-link",
            ProblemKind::Extra => "extra",
            ProblemKind::Unreadable => "unreadable",
        }
    }
}

/// Where a problem is: in the Hugging Face cache, or in an entry's plain directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    /// In the Hugging Face cache: a blob or a snapshot entry.
    Store,
    /// In the entry's plain directory (`dir = "…"`).
    Dir,
}

/// One thing that does not match the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The entry's name.
    pub model: String,
    /// The file's path in the repo (or, for an extra file, relative to its directory).
    pub path: String,
    /// Whether it is in the cache or in a plain directory.
    pub location: Location,
    /// The file on disk: the blob, the snapshot entry, or the plain-directory file.
    pub file: PathBuf,
    /// The locked digest (`sha256:…`, `git-sha1:…`) or link target.
    pub expected: Option<String>,
    /// What is there instead: the digest of the bytes on disk, or the current link target.
    pub actual: Option<String>,
    /// The locked size in bytes; `None` for link problems and extra files.
    pub expected_size: Option<u64>,
    /// The size in bytes on disk, for files that were hashed (modified or unreadable).
    pub actual_size: Option<u64>,
}

/// What a verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Locked files of the selected entries, plus their plain-directory copies.
    pub files_checked: usize,
    /// Files whose bytes were hashed (the others were trusted from the stat cache).
    pub files_hashed: usize,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
    /// Sorted by entry, location, path and kind.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Nothing differs from the lock.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Problems by kind, for summaries.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for problem in &self.problems {
            *counts.entry(problem.kind.as_str()).or_default() += 1;
        }
        counts
    }

    /// Blobs whose bytes are wrong, which a repair must delete and fetch again.
    pub fn damaged_blobs(&self) -> BTreeSet<&Path> {
        self.problems
            .iter()
            .filter(|p| p.kind == ProblemKind::Modified && p.location == Location::Store)
            .map(|p| p.file.as_path())
            .collect()
    }
}

/// Options of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Hash every file, trusting nothing from the stat cache.
    pub full: bool,
    /// Files hashed at once.
    pub jobs: usize,
    /// Plain directories by entry name.
    pub dirs: BTreeMap<String, PathBuf>,
    /// Only these entries (`None`: all of them).
    pub only: Option<BTreeSet<String>>,
    /// Snapshot links other projects sharing the store pin (same commit, other patterns): not
    /// extra, whatever this lock says.
    pub pinned_elsewhere: std::collections::HashSet<PathBuf>,
    /// Stops the hashing when cancelled: no file is started after it, a file being hashed stops
    /// at its next chunk, and the files not hashed read as [`ProblemKind::Unreadable`] (the
    /// caller, which cancelled, discards the report).
    pub cancel: Option<tokio_util::sync::CancellationToken>,
}

/// A file to hash, and every locked file it stands for.
struct HashJob {
    file: PathBuf,
    expected: ContentHash,
    expected_size: u64,
    actual_size: u64,
    owners: Vec<(String, String, Location)>,
}

/// Checks the selected entries of `lock` in `store`, recording the outcome of every hash in
/// `verified` (saving it is the caller's choice).
pub fn verify(
    store: &Store,
    lock: &Lockfile,
    verified: &mut VerifiedBlobs,
    reporter: &dyn Reporter,
    options: &VerifyOptions,
) -> std::io::Result<VerifyReport> {
    let selected = |name: &str| options.only.as_ref().is_none_or(|only| only.contains(name));
    let mut report = VerifyReport::default();
    let mut jobs: Vec<HashJob> = Vec::new();
    let mut job_index: BTreeMap<PathBuf, usize> = BTreeMap::new();

    // What each snapshot and plain directory should hold, over the whole lock: entries that share
    // a snapshot (same repo and commit, different patterns) must not see each other's files as
    // extra.
    let mut wanted: BTreeMap<(PathBuf, Location), (String, BTreeSet<&str>)> = BTreeMap::new();
    for model in &lock.models {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        let mut directories = vec![(store.snapshot_dir(repo, &model.commit), Location::Store)];
        directories.extend(
            options
                .dirs
                .get(&model.name)
                .map(|dir| (dir.clone(), Location::Dir)),
        );
        for directory in directories {
            let (owner, paths) = wanted
                .entry(directory)
                .or_insert_with(|| (String::new(), BTreeSet::new()));
            if owner.is_empty() && selected(&model.name) {
                owner.clone_from(&model.name);
            }
            paths.extend(model.files.iter().map(|f| f.path.as_str()));
        }
    }

    for model in lock.models.iter().filter(|m| selected(&m.name)) {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        let dir = options.dirs.get(&model.name);
        for file in &model.files {
            let blob = store.blob_path(repo, &file.hash);
            let problem = |kind, location, on_disk: &Path| Problem {
                kind,
                model: model.name.clone(),
                path: file.path.clone(),
                location,
                file: on_disk.to_path_buf(),
                expected: Some(file.hash.to_string()),
                actual: None,
                expected_size: Some(file.size),
                actual_size: None,
            };
            let mut copies = vec![(blob.clone(), Location::Store)];
            copies.extend(dir.map(|dir| (dir_file(dir, &file.path), Location::Dir)));
            for (on_disk, location) in copies {
                report.files_checked += 1;
                let Ok(metadata) = fs_err::metadata(&on_disk) else {
                    report
                        .problems
                        .push(problem(ProblemKind::Missing, location, &on_disk));
                    continue;
                };
                if !options.full
                    && metadata.len() == file.size
                    && verified.is_verified(&on_disk, file.hash.hex())
                {
                    continue;
                }
                let owner = (model.name.clone(), file.path.clone(), location);
                if let Some(&index) = job_index.get(&on_disk) {
                    jobs[index].owners.push(owner);
                    continue;
                }
                job_index.insert(on_disk.clone(), jobs.len());
                jobs.push(HashJob {
                    file: on_disk,
                    expected: file.hash.clone(),
                    expected_size: file.size,
                    actual_size: metadata.len(),
                    owners: vec![owner],
                });
            }

            let link = store.snapshot_file(repo, &model.commit, &file.path);
            let target = relative_blob_target(&file.path, &file.hash);
            let link_problem = match std::fs::read_link(&link) {
                Ok(current) if current == target => None,
                Ok(current) => Some((ProblemKind::WrongLink, current.display().to_string())),
                Err(_) => match fs_err::symlink_metadata(&link) {
                    Ok(metadata) if metadata.is_dir() => {
                        Some((ProblemKind::WrongLink, "a directory".to_owned()))
                    }
                    Ok(_) => Some((ProblemKind::WrongLink, "a regular file".to_owned())),
                    Err(_) => Some((ProblemKind::MissingLink, String::new())),
                },
            };
            if let Some((kind, actual)) = link_problem {
                report.problems.push(Problem {
                    expected: Some(target.display().to_string()),
                    actual: Some(actual).filter(|a| !a.is_empty()),
                    expected_size: None,
                    ..problem(kind, Location::Store, &link)
                });
            }
        }
    }

    for ((directory, location), (owner, paths)) in &wanted {
        if owner.is_empty() {
            continue;
        }
        for (path, file) in list_files(directory) {
            // A plain directory may also hold people's own files: only what hfdl placed there
            // (recorded in the stat cache, unchanged since) or left half-copied is extra.
            let hfdl_placed = *location == Location::Store
                || path.ends_with(".hfdl-tmp")
                || verified.is_unchanged(&file);
            let pinned_elsewhere =
                *location == Location::Store && options.pinned_elsewhere.contains(&file);
            if hfdl_placed && !pinned_elsewhere && !paths.contains(path.as_str()) {
                report.problems.push(Problem {
                    kind: ProblemKind::Extra,
                    model: owner.clone(),
                    path,
                    location: *location,
                    file,
                    expected: None,
                    actual: None,
                    expected_size: None,
                    actual_size: None,
                });
            }
        }
    }

    let outcomes = hash_all(&jobs, options.jobs, reporter, options.cancel.as_ref());
    for (job, outcome) in jobs.iter().zip(outcomes) {
        report.files_hashed += 1;
        report.bytes_hashed += job.actual_size;
        // One unreadable file is a finding, not the end of the report.
        let actual = match outcome {
            Ok(actual) => actual,
            Err(error) => {
                verified.forget(&job.file);
                for (model, path, location) in &job.owners {
                    report.problems.push(Problem {
                        kind: ProblemKind::Unreadable,
                        model: model.clone(),
                        path: path.clone(),
                        location: *location,
                        file: job.file.clone(),
                        expected: Some(job.expected.to_string()),
                        actual: Some(error.to_string()),
                        expected_size: Some(job.expected_size),
                        actual_size: Some(job.actual_size),
                    });
                }
                continue;
            }
        };
        if actual == job.expected && job.actual_size == job.expected_size {
            verified.record(&job.file, job.expected.hex())?;
            continue;
        }
        verified.forget(&job.file);
        for (model, path, location) in &job.owners {
            report.problems.push(Problem {
                kind: ProblemKind::Modified,
                model: model.clone(),
                path: path.clone(),
                location: *location,
                file: job.file.clone(),
                expected: Some(job.expected.to_string()),
                actual: Some(actual.to_string()),
                expected_size: Some(job.expected_size),
                actual_size: Some(job.actual_size),
            });
        }
    }

    report.problems.sort_by(|a, b| {
        (&a.model, a.location, &a.path, a.kind).cmp(&(&b.model, b.location, &b.path, b.kind))
    });
    Ok(report)
}

/// Hashes every job on up to `jobs` threads; the digests come back in the order of `jobs`. Once
/// `cancel` fires, the jobs left end with an error.
fn hash_all(
    jobs: &[HashJob],
    threads: usize,
    reporter: &dyn Reporter,
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> Vec<std::io::Result<ContentHash>> {
    if jobs.is_empty() {
        return Vec::new();
    }
    reporter.report(Event::Planned {
        download_files: 0,
        download_bytes: 0,
        verify_files: jobs.len(),
        verify_bytes: jobs.iter().map(|job| job.actual_size).sum(),
    });
    let next = AtomicUsize::new(0);
    let ids = TaskIds::default();
    let finished: Vec<Vec<(usize, std::io::Result<ContentHash>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, jobs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        if cancel.is_some_and(tokio_util::sync::CancellationToken::is_cancelled) {
                            return done;
                        }
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else {
                            return done;
                        };
                        done.push((index, hash_one(job, reporter, ids.next(), cancel)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut digests: Vec<Option<std::io::Result<ContentHash>>> =
        std::iter::repeat_with(|| None).take(jobs.len()).collect();
    for (index, result) in finished.into_iter().flatten() {
        digests[index] = Some(result);
    }
    // Every index below `jobs.len()` was taken by exactly one worker, which pushed its result,
    // unless a cancellation stopped the workers first.
    digests
        .into_iter()
        .map(|digest| digest.unwrap_or_else(|| Err(cancelled())))
        .collect()
}

/// The error of a hash that a cancellation stopped.
fn cancelled() -> std::io::Error {
    std::io::Error::other("cancelled")
}

fn hash_one(
    job: &HashJob,
    reporter: &dyn Reporter,
    id: TaskId,
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> std::io::Result<ContentHash> {
    reporter.report(Event::TaskStarted {
        id,
        kind: TaskKind::Verify,
        label: job.owners.first().map_or_else(
            || job.file.display().to_string(),
            |(_, path, location)| match location {
                Location::Store => path.clone(),
                Location::Dir => format!("{path} (plain dir)"),
            },
        ),
        size: job.actual_size,
        done: 0,
    });
    let file = fs_err::File::open(&job.file)?;
    // The git blob header holds the length of the bytes actually there, so a file of the wrong
    // size still gets its true git blob id (what `git hash-object` would say).
    let result = hash_reader(
        Progress {
            inner: file,
            reporter,
            id,
            cancel,
        },
        job.expected.kind(),
        job.actual_size,
    );
    reporter.report(Event::TaskFinished {
        id,
        ok: result
            .as_ref()
            .is_ok_and(|(digest, _)| *digest == job.expected),
    });
    Ok(result?.0)
}

/// A reader that reports each chunk it yields as progress of one task, and fails once `cancel`
/// fires (so a large file's hash stops at once).
struct Progress<'a, R> {
    inner: R,
    reporter: &'a dyn Reporter,
    id: TaskId,
    cancel: Option<&'a tokio_util::sync::CancellationToken>,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self
            .cancel
            .is_some_and(tokio_util::sync::CancellationToken::is_cancelled)
        {
            return Err(cancelled());
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.reporter.report(Event::TaskProgress {
                id: self.id,
                bytes: n as u64,
            });
        }
        Ok(n)
    }
}

/// Every non-directory entry under `dir` (symlinks included, not followed), as `/`-separated
/// paths relative to it, with their full paths.
fn list_files(dir: &Path) -> Vec<(String, PathBuf)> {
    super::scan::list_entries(dir, |kind| !kind.is_dir())
        .into_iter()
        .map(|path| {
            let file = super::scan::dir_file(dir, &path);
            (path, file)
        })
        .collect()
}

/// Removes what a repair replaces or drops, so no damaged byte stays visible: damaged blobs and
/// plain-directory files (forgotten in the stat cache), and extra files (with the directories
/// they leave empty). Returns how many files were removed.
pub fn discard_damaged(
    report: &VerifyReport,
    verified: &mut VerifiedBlobs,
    dirs: &BTreeMap<String, PathBuf>,
) -> std::io::Result<usize> {
    let mut removed = 0;
    for problem in &report.problems {
        match problem.kind {
            ProblemKind::Modified | ProblemKind::Extra => {}
            // An unreadable file is a permissions problem for a person to look at: a repair
            // that deleted it could not read what it fetches either.
            ProblemKind::Missing
            | ProblemKind::MissingLink
            | ProblemKind::WrongLink
            | ProblemKind::Unreadable => continue,
        }
        match fs_err::remove_file(&problem.file) {
            Ok(()) => removed += 1,
            // A blob shared by two entries is listed once per entry.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        verified.forget(&problem.file);
        if problem.kind == ProblemKind::Extra
            && let Some(parent) = problem.file.parent()
        {
            let root = match problem.location {
                Location::Dir => dirs.get(&problem.model).cloned(),
                Location::Store => problem
                    .path
                    .split('/')
                    .skip(1)
                    .try_fold(parent.to_path_buf(), |dir, _| {
                        dir.parent().map(Path::to_path_buf)
                    }),
            };
            if let Some(root) = root {
                remove_empty_parents(parent, &root);
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_file_is_one_result_not_the_end_of_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        fs_err::write(&good, b"hello").unwrap();
        let job = |file: PathBuf| HashJob {
            file,
            expected: ContentHash::git_sha1(&"0".repeat(40)).unwrap(),
            expected_size: 5,
            actual_size: 5,
            owners: Vec::new(),
        };
        // A directory where a file should be: opening it for reading fails.
        let jobs = [job(dir.path().to_path_buf()), job(good)];
        let outcomes = hash_all(&jobs, 2, &crate::report::Silent, None);
        assert_eq!(outcomes.len(), 2);
        assert!(outcomes[0].is_err());
        assert!(outcomes[1].is_ok());
    }
}
