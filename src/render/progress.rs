//! Renderers of progress [`Event`]s: indicatif bars on a terminal; elsewhere (CI logs, `docker
//! build`, a pipe) plain lines: one per finished file and, every `HFDL_PROGRESS_INTERVAL`, the
//! bytes done of the total with percent, speed and ETA, so a long sync never looks like a hang;
//! JSON lines with `--json`; nothing with `-q`. All output goes to stderr (stdout carries the
//! command's data).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::manifest::ProgressMode;
use crate::report::{Event, Reporter, Silent, TaskId, TaskKind, count, elapsed};

/// Per-file bars are shown for files at least this large; smaller ones only count in the total.
const PER_FILE_BAR_MIN: u64 = 1 << 20;

/// How a command shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `-q`: nothing.
    Silent,
    /// `--json`: one JSON object per event.
    Json,
    /// Bars on a terminal.
    Bars,
    /// Plain lines: one per finished file and, with `every`, the totals at that interval.
    Lines {
        /// How often the totals are printed (`None`: only the per-file lines).
        every: Option<Duration>,
    },
}

impl Output {
    /// The output the flags and the `progress` setting ask for: `auto` is bars on a terminal
    /// and lines elsewhere; bars fall back to plain lines where no terminal can show them.
    pub fn choose(
        quiet: bool,
        json: bool,
        mode: ProgressMode,
        is_terminal: bool,
        interval: Duration,
    ) -> Output {
        match mode {
            _ if quiet => Output::Silent,
            _ if json => Output::Json,
            ProgressMode::Auto | ProgressMode::Bars if is_terminal => Output::Bars,
            ProgressMode::Auto | ProgressMode::Lines => Output::Lines {
                every: Some(interval),
            },
            ProgressMode::Bars | ProgressMode::Off => Output::Lines { every: None },
        }
    }
}

/// The reporter for an [`Output`].
pub fn reporter_for(output: Output) -> Arc<dyn Reporter> {
    match output {
        Output::Silent => Arc::new(Silent),
        Output::Json => Arc::new(JsonLines::default()),
        Output::Bars => Arc::new(Bars::new()),
        Output::Lines { every } => Arc::new(Lines::new(every)),
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
                    bar.set_prefix(kind.doing());
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
        // Tasks a failure or a cancellation cut short never finished: a bar dropped unfinished
        // draws itself once more and stays on the terminal.
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for (bar, _) in tasks.into_values() {
            bar.finish_and_clear();
        }
        if let Some(total) = self.total() {
            total.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// Plain lines for logs that are not terminals: one per finished file, and with an interval
/// the totals (bytes done of the plan, percent, speed, ETA) at that interval and at each file's
/// end. Lines are printed as events arrive (no timer thread): while bytes flow a line is at most
/// an interval late, and a stall shows as the retry line its timeout brings.
pub struct Lines {
    every: Option<Duration>,
    state: Mutex<LinesState>,
}

#[derive(Default)]
struct LinesState {
    /// Running tasks: label, kind, size, start, and bytes counted for it so far.
    tasks: HashMap<TaskId, RunningTask>,
    totals: Totals,
}

struct RunningTask {
    label: String,
    kind: TaskKind,
    size: u64,
    started: Instant,
    counted: u64,
}

/// The plan's bytes and how far along they are.
#[derive(Default)]
struct Totals {
    /// Bytes to download or verify (0: no plan seen, nothing to show).
    total: u64,
    /// Bytes done, including what partial files already held.
    done: u64,
    /// Bytes moved in this run (the speed).
    moved: u64,
    /// When the plan was announced.
    since: Option<Instant>,
    /// When the totals were last printed.
    last_line: Option<Instant>,
}

impl Totals {
    /// `1.21 GiB/2.00 GiB (60%), 105.30 MiB/s, eta 8.0s`
    fn describe(&self, now: Instant) -> String {
        let done = self.done.min(self.total);
        let percent = (done * 100).checked_div(self.total).unwrap_or(100);
        let seconds = self
            .since
            .map_or(0.0, |since| now.duration_since(since).as_secs_f64());
        let mut text = format!(
            "{}/{} ({percent}%)",
            HumanBytes(done),
            HumanBytes(self.total)
        );
        if seconds > 0.0 && self.moved > 0 {
            let speed = self.moved as f64 / seconds;
            let remaining = (self.total - done) as f64 / speed;
            let _ = write!(
                text,
                ", {}/s, eta {}",
                HumanBytes(speed as u64),
                elapsed(Duration::from_secs_f64(remaining.min(1e9)))
            );
        }
        text
    }
}

impl Lines {
    fn new(every: Option<Duration>) -> Lines {
        Lines {
            every,
            state: Mutex::new(LinesState::default()),
        }
    }

    /// The line for an event, if it makes one.
    fn line(&self, event: Event) -> Option<String> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match event {
            Event::Resolving {
                name,
                repo,
                revision,
            } => Some(format!("Resolving {name} ({repo}@{revision})")),
            Event::Planned {
                download_files,
                download_bytes,
                verify_files,
                verify_bytes,
                ..
            } => {
                state.totals = Totals {
                    total: download_bytes + verify_bytes,
                    since: Some(now),
                    last_line: Some(now),
                    ..Totals::default()
                };
                (download_files + verify_files > 0)
                    .then(|| plan_line(download_files, download_bytes, verify_files))
            }
            Event::TaskStarted {
                id,
                kind,
                label,
                size,
                done,
            } => {
                // A restarted task (Range ignored, bad bytes fetched again) takes back what its
                // previous attempt counted.
                if let Some(previous) = state.tasks.remove(&id) {
                    state.totals.done = state.totals.done.saturating_sub(previous.counted);
                }
                state.totals.done += done;
                state.tasks.insert(
                    id,
                    RunningTask {
                        label,
                        kind,
                        size,
                        started: now,
                        counted: done,
                    },
                );
                None
            }
            Event::TaskProgress { id, bytes } => {
                if let Some(task) = state.tasks.get_mut(&id) {
                    task.counted += bytes;
                }
                state.totals.done += bytes;
                state.totals.moved += bytes;
                let due = self.every.is_some_and(|every| {
                    state.totals.total > 0
                        && state
                            .totals
                            .last_line
                            .is_none_or(|last| now.duration_since(last) >= every)
                });
                due.then(|| {
                    state.totals.last_line = Some(now);
                    format!("progress: {}", state.totals.describe(now))
                })
            }
            Event::TaskFinished { id, ok } => {
                let task = state.tasks.remove(&id)?;
                if !ok {
                    // A failed file's bytes do not count as done (they are discarded, or resumed
                    // by the next run, which counts them then).
                    state.totals.done = state.totals.done.saturating_sub(task.counted);
                    return None;
                }
                let verb = task.kind.done();
                let mut line = format!(
                    "{verb} {} ({}, {})",
                    task.label,
                    HumanBytes(task.size),
                    elapsed(now.duration_since(task.started))
                );
                if self.every.is_some() && state.totals.total > 0 {
                    state.totals.last_line = Some(now);
                    let _ = write!(line, "; {}", state.totals.describe(now));
                }
                Some(line)
            }
            Event::Retrying {
                label,
                attempt,
                error,
            } => Some(format!("retrying {label} (attempt {attempt}): {error}")),
            Event::Warning { message } => Some(format!("warning: {message}")),
            Event::Info { message } | Event::Status { message } => Some(message),
            Event::Resolved { .. } => None,
        }
    }
}

impl Reporter for Lines {
    fn report(&self, event: Event) {
        if let Some(line) = self.line(event) {
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

/// What a plan transfers and checks: `Downloading 2 files (1.00 MiB), verifying 3 files`, the
/// line of `--progress=lines` and the title of a CI group.
pub fn plan_line(download_files: usize, download_bytes: u64, verify_files: usize) -> String {
    let mut parts = Vec::new();
    if download_files > 0 {
        parts.push(format!(
            "Downloading {} ({})",
            count(download_files, "file"),
            HumanBytes(download_bytes)
        ));
    }
    if verify_files > 0 {
        parts.push(format!("verifying {}", count(verify_files, "file")));
    }
    let mut header = parts.join(", ");
    if let Some(first) = header.get(..1) {
        header.replace_range(..1, &first.to_uppercase());
    }
    header
}
