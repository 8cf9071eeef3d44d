//! Renderers of progress [`Event`]s: indicatif bars on a terminal, one plain line per file
//! elsewhere (CI logs), JSON lines with `--json`, nothing with `-q`. All output goes to stderr
//! (stdout carries the command's data).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{Event, Reporter, Silent, TaskId, TaskKind, count, elapsed};

/// Per-file bars are shown for files at least this large; smaller ones only count in the total.
const PER_FILE_BAR_MIN: u64 = 1 << 20;

/// The reporter that fits the output: nothing with `quiet`, JSON lines with `json`, bars when
/// `bars` (the `progress` setting, on a terminal), else plain lines.
pub fn reporter_for(quiet: bool, json: bool, bars: bool) -> Arc<dyn Reporter> {
    if quiet {
        Arc::new(Silent)
    } else if json {
        Arc::new(JsonLines::default())
    } else if bars {
        Arc::new(Bars::new())
    } else {
        Arc::new(Lines::default())
    }
}

/// A status line on stderr.
pub fn status_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Progress bars: one for the total bytes, one per large file.
pub struct Bars {
    multi: MultiProgress,
    total: Mutex<Option<ProgressBar>>,
    tasks: Mutex<HashMap<TaskId, (ProgressBar, bool)>>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)),
            total: Mutex::new(None),
            tasks: Mutex::new(HashMap::new()),
        }
    }

    fn total(&self) -> Option<ProgressBar> {
        self.total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Reporter for Bars {
    fn report(&self, event: Event) {
        match event {
            Event::Planned {
                download_bytes,
                verify_bytes,
                ..
            } => {
                let bytes = download_bytes + verify_bytes;
                if bytes == 0 {
                    return;
                }
                let bar = self.multi.add(ProgressBar::new(bytes));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>9.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix("total");
                *self.total.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar);
            }
            Event::TaskStarted {
                id,
                kind,
                label,
                size,
                done,
            } => {
                if let Some(total) = self.total() {
                    total.inc(done);
                }
                let bar = if size >= PER_FILE_BAR_MIN {
                    let bar = self.multi.add(ProgressBar::new(size));
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:>9} {wide_msg} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_prefix(if kind == TaskKind::Verify {
                        "verify"
                    } else {
                        "download"
                    });
                    bar.set_message(label);
                    bar.set_position(done);
                    (bar, true)
                } else {
                    (ProgressBar::hidden(), false)
                };
                let replaced = self
                    .tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, bar);
                // A restarted task (server ignored Range, bad bytes refetched) takes back what
                // its previous attempt added, so the total never runs past 100%.
                if let Some((old, shown)) = replaced {
                    if let Some(total) = self.total() {
                        total.set_position(total.position().saturating_sub(old.position()));
                    }
                    old.finish_and_clear();
                    if shown {
                        self.multi.remove(&old);
                    }
                }
            }
            Event::TaskProgress { id, bytes } => {
                if let Some(total) = self.total() {
                    total.inc(bytes);
                }
                if let Some((bar, _)) = self
                    .tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&id)
                {
                    bar.inc(bytes);
                }
            }
            Event::TaskFinished { id, .. } => {
                if let Some((bar, shown)) = self
                    .tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id)
                {
                    bar.finish_and_clear();
                    if shown {
                        self.multi.remove(&bar);
                    }
                }
            }
            Event::Retrying {
                label,
                attempt,
                error,
            } => {
                let _ = self
                    .multi
                    .println(format!("retrying {label} (attempt {attempt}): {error}"));
            }
            Event::Warning { message } => {
                let _ = self.multi.println(format!("warning: {message}"));
            }
            Event::Resolving {
                name,
                repo,
                revision,
            } => {
                let _ = self
                    .multi
                    .println(format!("Resolving {name} ({repo}@{revision})"));
            }
            Event::Status { message } => self.multi.suspend(|| status_line(&message)),
            Event::Resolved { .. } | Event::Info { .. } => {}
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(total) = self.total() {
            total.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// One line per finished file, for logs that are not terminals.
#[derive(Default)]
pub struct Lines {
    tasks: Mutex<HashMap<TaskId, (String, TaskKind, u64, Instant)>>,
}

impl Reporter for Lines {
    fn report(&self, event: Event) {
        let line = match event {
            Event::Resolving {
                name,
                repo,
                revision,
            } => Some(format!("Resolving {name} ({repo}@{revision})")),
            Event::Planned {
                download_files,
                download_bytes,
                verify_files,
                ..
            } if download_files + verify_files > 0 => Some(format!(
                "Fetching {} ({}), verifying {verify_files}",
                count(download_files, "file"),
                HumanBytes(download_bytes)
            )),
            Event::TaskStarted {
                id,
                kind,
                label,
                size,
                ..
            } => {
                self.tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, (label, kind, size, Instant::now()));
                None
            }
            Event::TaskFinished { id, ok } => self
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id)
                .filter(|_| ok)
                .map(|(label, kind, size, started)| {
                    let verb = if kind == TaskKind::Verify {
                        "verified"
                    } else {
                        "downloaded"
                    };
                    format!(
                        "{verb} {label} ({}, {})",
                        HumanBytes(size),
                        elapsed(started.elapsed())
                    )
                }),
            Event::Retrying {
                label,
                attempt,
                error,
            } => Some(format!("retrying {label} (attempt {attempt}): {error}")),
            Event::Warning { message } => Some(format!("warning: {message}")),
            Event::Info { message } | Event::Status { message } => Some(message),
            Event::Planned { .. } | Event::TaskProgress { .. } | Event::Resolved { .. } => None,
        };
        if let Some(line) = line {
            status_line(&line);
        }
    }
}

/// `--json`: one JSON object per event on stderr, for tools that follow a sync. Progress is
/// coalesced per task to at most one line per 250 ms (plus the
/// remainder before the task's end), so a fast transfer does not flood the pipe.
#[derive(Default)]
pub struct JsonLines {
    /// Per task: bytes not yet reported, and when progress was last written.
    pending: Mutex<HashMap<TaskId, (u64, Instant)>>,
}

impl JsonLines {
    const PROGRESS_EVERY: Duration = Duration::from_millis(250);

    fn write(event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            status_line(&line);
        }
    }
}

impl Reporter for JsonLines {
    fn report(&self, event: Event) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            Event::TaskProgress { id, bytes } => {
                let entry = pending.entry(id).or_insert((0, Instant::now()));
                entry.0 += bytes;
                if entry.1.elapsed() >= Self::PROGRESS_EVERY {
                    let bytes = std::mem::take(&mut entry.0);
                    entry.1 = Instant::now();
                    Self::write(&Event::TaskProgress { id, bytes });
                }
            }
            Event::TaskStarted { id, .. } => {
                pending.insert(id, (0, Instant::now()));
                Self::write(&event);
            }
            Event::TaskFinished { id, .. } => {
                if let Some((bytes @ 1.., _)) = pending.remove(&id) {
                    Self::write(&Event::TaskProgress { id, bytes });
                }
                Self::write(&event);
            }
            // Status lines are for people; a --json run's document says what they say.
            Event::Status { .. } => {}
            other => Self::write(&other),
        }
    }
}
