//! Progress and status reporting: operations emit [`Event`]s through a [`Reporter`]; the caller
//! decides how to show them (the CLI's renderers in [`crate::render`]: indicatif bars on a
//! terminal, plain lines in CI, JSON lines with `--json`, nothing with `-q`; a web UI or an
//! embedding program forwards them, e.g. through a [`ChannelReporter`]).
//!
//! Events are plain data: this module knows nothing of the layers that send them. The library
//! never prints (habit 3).

use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one transfer or verification for progress events.
pub type TaskId = u64;

/// Something worth telling the user about. Serialised (tagged by `event`) for `--json`'s
/// JSON-lines progress stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An entry is being resolved against the Hub.
    Resolving {
        /// The manifest entry's name.
        name: String,
        /// The Hub repository.
        repo: String,
        /// The revision being resolved: the manifest's, or the precise one asked for.
        revision: String,
    },
    /// An entry was resolved to a commit.
    Resolved {
        /// The manifest entry's name.
        name: String,
        /// The full commit hash.
        commit: String,
        /// Files selected by the entry's include/exclude patterns.
        files: usize,
        /// Total size of those files, in bytes.
        bytes: u64,
    },
    /// The plan is known: what will be transferred and verified.
    Planned {
        /// Files to download.
        download_files: usize,
        /// Bytes to download.
        download_bytes: u64,
        /// Files already present whose hashes will be checked.
        verify_files: usize,
        /// Bytes to hash for those checks.
        verify_bytes: u64,
    },
    /// A download or verification began. `done` bytes are already there (resume).
    TaskStarted {
        /// The task's id, repeated by its later events.
        id: TaskId,
        /// Download or verification.
        kind: TaskKind,
        /// What to show for it: usually the file's path in its repository.
        label: String,
        /// The file's full size, in bytes.
        size: u64,
        /// Bytes already present when the task began.
        done: u64,
    },
    /// `bytes` more bytes were processed.
    TaskProgress {
        /// The task.
        id: TaskId,
        /// Bytes processed since the previous event (an increment, not a total).
        bytes: u64,
    },
    /// The task ended (successfully or not).
    TaskFinished {
        /// The task.
        id: TaskId,
        /// Whether it succeeded.
        ok: bool,
    },
    /// A transfer will be retried after an error.
    Retrying {
        /// The file's path in its repository.
        label: String,
        /// Which retry this is, counting from 1.
        attempt: u32,
        /// The error that caused the retry.
        error: String,
    },
    /// A notable step that is not a transfer (a link repaired, a file pruned).
    Info {
        /// The line to show.
        message: String,
    },
    /// A line for the person running the operation, at the moment it happens: a lock change
    /// before the downloads start, or why the operation waits (another process holds the store).
    Status {
        /// The line to show.
        message: String,
    },
    /// Something the user should know that does not stop the run.
    Warning {
        /// The warning's text.
        message: String,
    },
}

/// What kind of work a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Fetching a file from the Hub.
    Download,
    /// Hashing a file already on disk to check it.
    Verify,
    /// Sending a file to the shared blob store (`hfdl push`).
    Upload,
}

impl TaskKind {
    /// What a bar's prefix says while the task runs.
    pub fn doing(self) -> &'static str {
        match self {
            TaskKind::Download => "download",
            TaskKind::Verify => "verify",
            TaskKind::Upload => "upload",
        }
    }

    /// What the line says when the task is done.
    pub fn done(self) -> &'static str {
        match self {
            TaskKind::Download => "downloaded",
            TaskKind::Verify => "verified",
            TaskKind::Upload => "uploaded",
        }
    }
}

/// Receives events; implementations must be cheap and never block for long.
pub trait Reporter: Send + Sync {
    /// Handles one event.
    fn report(&self, event: Event);
}

/// A reporter that drops everything (`-q`, `--json`, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event) {}
}

/// A reporter that forwards every event into a channel, for a program that shows progress its
/// own way (a web UI, a server's logs). Sending never blocks; events sent after the receiver is
/// gone are dropped.
#[derive(Debug, Clone)]
pub struct ChannelReporter(tokio::sync::mpsc::UnboundedSender<Event>);

impl ChannelReporter {
    /// A reporter and the receiving end of its channel.
    pub fn new() -> (ChannelReporter, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        (ChannelReporter(sender), receiver)
    }
}

impl Reporter for ChannelReporter {
    fn report(&self, event: Event) {
        let _ = self.0.send(event);
    }
}

/// Hands out task ids.
#[derive(Debug, Default)]
pub struct TaskIds(AtomicU64);

impl TaskIds {
    /// A fresh id, unique among those this counter has handed out.
    pub fn next(&self) -> TaskId {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// `1 model`, `3 models`, `2 retries`: a count with its noun in the right number (a noun that
/// ends in a consonant and `y` takes `ies`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// A short human duration: `850ms`, `2.4s`, `3m05s`.
pub fn elapsed(duration: std::time::Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        let secs = duration.as_secs();
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn counts_and_durations_read_naturally() {
        assert_eq!(super::count(1, "file"), "1 file");
        assert_eq!(super::count(0, "file"), "0 files");
        assert_eq!(super::count(1, "retry"), "1 retry");
        assert_eq!(super::count(2, "retry"), "2 retries");
        assert_eq!(super::count(2, "entry"), "2 entries");
        assert_eq!(super::count(2, "day"), "2 days");
        assert_eq!(super::elapsed(Duration::from_millis(850)), "850ms");
        assert_eq!(super::elapsed(Duration::from_millis(2440)), "2.4s");
        assert_eq!(super::elapsed(Duration::from_secs(185)), "3m05s");
    }

    /// A number followed by a plural noun in a format string (`"{n} files"`) reads "1 files"
    /// when the number is 1: counted nouns go through `count()`. A plural that is right for
    /// every value the number can take is listed, with why, in `ALWAYS_PLURAL`.
    #[test]
    fn counted_nouns_go_through_count() {
        const NOUNS: &str = "files|models|entries|problems|requests|repos|repositories|\
            lockfiles|blobs|retries|refs|results|inodes|snapshots|revisions|commits|checks|\
            links|errors|warnings|downloads|datasets|Spaces|days|seconds|minutes|hours|\
            connections|patterns";
        const ALWAYS_PLURAL: &[&str] = &[
            // The limit is out of range: 0 or more than 1000.
            "a limit of {} results is out of range",
            // The file system's total number of inodes.
            "{} of {} inodes free",
        ];
        let pattern = regex::Regex::new(&format!(r"\{{[^{{}}\s]*\}} ({NOUNS})\b")).unwrap();
        let mut slips = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in fs_err::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|ext| ext != "rs") {
                    continue;
                }
                let text = fs_err::read_to_string(&path).unwrap();
                for (number, line) in text.lines().enumerate() {
                    if line.trim_start().starts_with("//")
                        || ALWAYS_PLURAL.iter().any(|ok| line.contains(ok))
                    {
                        continue;
                    }
                    if let Some(found) = pattern.find(line) {
                        slips.push(format!(
                            "{}:{}: `{}`",
                            path.display(),
                            number + 1,
                            found.as_str()
                        ));
                    }
                }
            }
        }
        assert!(
            slips.is_empty(),
            "counted nouns without `count()` (they read \"1 files\"):\n{}",
            slips.join("\n")
        );
    }
}
