//! The long operations of `hfdl ui` (sync, verify, upgrade, add) as jobs: one at a time, in
//! the background, each with its own [`CancellationToken`] (a child of the server's, so
//! stopping the server cancels it), its progress kept in memory and streamed as server-sent
//! events to any number of clients, late ones included. The protocol is in [`crate::ui`].

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::api::{ApiError, body, error_object, open, to_json};
use super::{UiError, UiState};
use crate::error::{Error, Result};
use crate::ops::{CancellationToken, ManifestNeed, SyncOptions};
use crate::report::{Event, Reporter, TaskId};

/// How often a task's progress is sent, at most (the rest is summed), as `--json` does.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Events kept for late clients before each task's progress events are merged into one.
const KEEP_EVENTS: usize = 4096;
/// Ended jobs whose events stay readable.
const KEEP_JOBS: usize = 16;

/// A job as `POST /api/jobs` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum JobRequest {
    /// `hfdl sync`.
    Sync,
    /// `hfdl verify [--repair] [--full] [NAME…]`.
    Verify {
        /// Re-fetch what is missing or damaged.
        #[serde(default)]
        repair: bool,
        /// Hash every file again.
        #[serde(default)]
        full: bool,
        /// Only these entries (all when empty).
        #[serde(default)]
        names: Vec<String>,
    },
    /// `hfdl lock --upgrade-model NAME[@REV]`, then a locked sync.
    Upgrade {
        /// The entry (`NAME` or `NAME@REV`).
        name: String,
    },
    /// `hfdl add REF [--name] [--include] [--exclude]`: add, lock, sync.
    Add {
        /// The repo as people name it (id, `@REV`, Hub URL, `hf://` URI).
        reference: String,
        /// The entry's name; derived from the repo when `None`.
        #[serde(default)]
        name: Option<String>,
        /// Patterns of the files to take.
        #[serde(default)]
        include: Vec<String>,
        /// Patterns of the files to leave out.
        #[serde(default)]
        exclude: Vec<String>,
    },
}

impl JobRequest {
    /// The job's kind, as the request names it.
    pub fn kind(&self) -> &'static str {
        match self {
            JobRequest::Sync => "sync",
            JobRequest::Verify { .. } => "verify",
            JobRequest::Upgrade { .. } => "upgrade",
            JobRequest::Add { .. } => "add",
        }
    }
}

/// How a job ended: its report (when the operation made one) and its error (when it failed).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    report: Option<Value>,
    error: Option<Error>,
}

impl Outcome {
    fn failed(error: Error) -> Outcome {
        Outcome {
            report: None,
            error: Some(error),
        }
    }
}

impl From<Result<Value>> for Outcome {
    fn from(result: Result<Value>) -> Outcome {
        match result {
            Ok(report) => Outcome {
                report: Some(report),
                error: None,
            },
            Err(error) => Outcome {
                report: None,
                error: Some(error),
            },
        }
    }
}

/// One frame of an event stream: `event: NAME`, `data: JSON`.
#[derive(Debug, Clone)]
struct Frame {
    name: &'static str,
    data: String,
}

impl Frame {
    fn progress(event: &Event) -> Frame {
        Frame {
            name: "progress",
            data: serde_json::to_string(event).unwrap_or_default(),
        }
    }
}

/// What a job said so far, and who listens.
#[derive(Debug, Default)]
struct Log {
    /// The events sent, for late clients (a task's progress merged once there are many).
    events: Vec<Event>,
    /// Compact `events` when it grows past this.
    limit: usize,
    /// Per task: progress bytes not sent yet, and when progress was last sent.
    pending: HashMap<TaskId, (u64, Instant)>,
    /// The `done` frame, once the job ended.
    done: Option<Frame>,
    /// What a cancellation kept (partial files, bytes), once the job ended cancelled.
    kept: Option<(usize, u64)>,
    /// The clients following the job.
    listeners: Vec<UnboundedSender<Frame>>,
}

impl Log {
    fn send(&mut self, event: Event) {
        let frame = Frame::progress(&event);
        self.listeners
            .retain(|listener| listener.send(frame.clone()).is_ok());
        self.events.push(event);
        if self.events.len() > self.limit.max(KEEP_EVENTS) {
            self.compact();
            self.limit = self.events.len() * 2;
        }
    }

    /// Merges each task's progress events into one, where its last one was: late clients
    /// still add up to the right totals.
    fn compact(&mut self) {
        let mut sums: HashMap<TaskId, (u64, usize)> = HashMap::new();
        for (index, event) in self.events.iter().enumerate() {
            if let Event::TaskProgress { id, bytes } = event {
                let sum = sums.entry(*id).or_default();
                sum.0 += bytes;
                sum.1 = index;
            }
        }
        let events = std::mem::take(&mut self.events);
        self.events = events
            .into_iter()
            .enumerate()
            .filter_map(|(index, event)| match event {
                Event::TaskProgress { id, .. } => {
                    let (bytes, last) = sums[&id];
                    (last == index).then_some(Event::TaskProgress { id, bytes })
                }
                other => Some(other),
            })
            .collect();
    }

    /// Sends what is pending of `id`'s progress.
    fn flush(&mut self, id: TaskId) {
        if let Some((bytes @ 1.., _)) = self.pending.remove(&id) {
            self.send(Event::TaskProgress { id, bytes });
        }
    }
}

/// A job: what it is, its token, and its log.
#[derive(Debug)]
pub(crate) struct Job {
    /// Its id (random hex).
    pub(crate) id: String,
    /// What it does.
    pub(crate) kind: &'static str,
    /// Cancels it.
    pub(crate) cancel: CancellationToken,
    log: Mutex<Log>,
    ended: tokio::sync::watch::Sender<bool>,
}

impl Job {
    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether it ended.
    pub(crate) fn ended(&self) -> bool {
        *self.ended.borrow()
    }

    /// Waits until it ends; what a cancellation kept, if it ended cancelled.
    pub(crate) async fn wait(&self) -> Option<(usize, u64)> {
        let mut ended = self.ended.subscribe();
        let _ = ended.wait_for(|ended| *ended).await;
        self.log().kept
    }

    /// A receiver of every frame so far, then of the next ones until `done`.
    fn follow(&self) -> UnboundedReceiver<Frame> {
        let (sender, receiver) = unbounded_channel();
        let mut log = self.log();
        for event in &log.events {
            let _ = sender.send(Frame::progress(event));
        }
        match &log.done {
            // The sender drops here: the stream ends after `done`.
            Some(done) => {
                let _ = sender.send(done.clone());
            }
            None => log.listeners.push(sender),
        }
        receiver
    }

    /// Records the end and tells every client.
    fn finish(&self, outcome: Outcome) {
        let mut data = serde_json::Map::new();
        data.insert("ok".into(), Value::Bool(outcome.error.is_none()));
        if let Some(error) = &outcome.error {
            data.insert("error".into(), error_object(error));
        }
        if let Some(report) = outcome.report {
            data.insert("report".into(), report);
        }
        let done = Frame {
            name: "done",
            data: Value::Object(data).to_string(),
        };
        let listeners = {
            let mut log = self.log();
            let pending: Vec<TaskId> = log.pending.keys().copied().collect();
            for id in pending {
                log.flush(id);
            }
            if let Some(Error::Cancelled {
                partial_files,
                partial_bytes,
            }) = &outcome.error
            {
                log.kept = Some((*partial_files, *partial_bytes));
            }
            log.done = Some(done.clone());
            std::mem::take(&mut log.listeners)
        };
        // Ended before any client hears `done`: a client that then asks for the current job
        // hears that none runs.
        self.ended.send_replace(true);
        for listener in listeners {
            let _ = listener.send(done.clone());
        }
    }
}

/// The reporter of a job: its events go into its log, a task's progress coalesced.
struct JobReporter(Arc<Job>);

impl Reporter for JobReporter {
    fn report(&self, event: Event) {
        let mut log = self.0.log();
        if log.done.is_some() {
            return;
        }
        match event {
            Event::TaskProgress { id, bytes } => {
                let entry = log.pending.entry(id).or_insert((0, Instant::now()));
                entry.0 += bytes;
                if entry.1.elapsed() >= PROGRESS_EVERY {
                    let bytes = std::mem::take(&mut entry.0);
                    entry.1 = Instant::now();
                    log.send(Event::TaskProgress { id, bytes });
                }
            }
            Event::TaskStarted { id, .. } => {
                log.pending.insert(id, (0, Instant::now()));
                log.send(event);
            }
            Event::TaskFinished { id, .. } => {
                log.flush(id);
                log.send(event);
            }
            other => log.send(other),
        }
    }
}

/// The running job and the last few.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    recent: Mutex<VecDeque<Arc<Job>>>,
}

impl Jobs {
    fn recent(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Job>>> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The job that runs now, if any.
    pub(crate) fn current(&self) -> Option<Arc<Job>> {
        self.recent().iter().find(|job| !job.ended()).cloned()
    }

    /// The job with this id, running or recent.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.recent().iter().find(|job| job.id == id).cloned()
    }

    /// A new job, unless one runs ([`UiError::JobRunning`]).
    fn create(&self, kind: &'static str, parent: &CancellationToken) -> Result<Arc<Job>, UiError> {
        let mut recent = self.recent();
        if let Some(running) = recent.iter().find(|job| !job.ended()) {
            return Err(UiError::JobRunning {
                id: running.id.clone(),
                kind: running.kind,
            });
        }
        let mut bytes = [0u8; 8];
        let id = match getrandom::fill(&mut bytes) {
            Ok(()) => hex::encode(bytes),
            // Ids need not be secret, only distinct.
            Err(_) => format!("{:016x}", recent.len()),
        };
        let job = Arc::new(Job {
            id,
            kind,
            cancel: parent.child_token(),
            log: Mutex::new(Log::default()),
            ended: tokio::sync::watch::channel(false).0,
        });
        recent.push_back(job.clone());
        while recent.len() > KEEP_JOBS {
            recent.pop_front();
        }
        Ok(job)
    }
}

/// `POST /api/jobs`: starts a job; `202 {"id", "kind"}`.
pub(crate) async fn start(
    State(state): State<Arc<UiState>>,
    bytes: Bytes,
) -> std::result::Result<Response, ApiError> {
    let request: JobRequest = body(&bytes)?;
    let job = state.jobs.create(request.kind(), &state.stop)?;
    let options = state.open.clone();
    let runner = job.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let reporter = JobReporter(runner.clone());
        let cancel = runner.cancel.clone();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(run(&options, request, &reporter, cancel))
        }))
        .unwrap_or_else(|_| Outcome {
            report: None,
            error: Some(Error::Io {
                path: "<hfdl ui job>".into(),
                source: std::io::Error::other("the job panicked (a bug; please report it)"),
            }),
        });
        runner.finish(outcome);
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": job.id, "kind": job.kind })),
    )
        .into_response())
}

/// Runs a job's operations, as the command line runs them.
async fn run(
    options: &crate::ops::OpenOptions,
    request: JobRequest,
    reporter: &JobReporter,
    cancel: CancellationToken,
) -> Outcome {
    let sync = |cancel: CancellationToken, locked: bool| SyncOptions {
        locked,
        cancel: Some(cancel),
        ..SyncOptions::default()
    };
    match request {
        JobRequest::Sync => {
            let result = async {
                let project = open(options, ManifestNeed::Required)?;
                to_json(&project.sync(&sync(cancel, false), reporter).await?)
            };
            result.await.into()
        }
        JobRequest::Verify {
            repair,
            full,
            names,
        } => {
            let project = match open(options, ManifestNeed::Required) {
                Ok(project) => project,
                Err(error) => return Outcome::failed(error),
            };
            let verify = crate::ops::verify::VerifyOptions {
                names,
                full,
                repair,
                jobs: None,
                cancel: Some(cancel),
            };
            match project.verify(&verify, reporter).await {
                // Problems left: the report, and the error the command would exit with.
                Ok(report) => Outcome {
                    error: report.verdict().err(),
                    report: to_json(&report).ok(),
                },
                Err(error) => Outcome::failed(error),
            }
        }
        JobRequest::Upgrade { name } => {
            let result = async {
                let project = open(options, ManifestNeed::Required)?;
                let model = crate::ops::lock::parse_upgrade_model(&name)?;
                let lock = crate::ops::lock::LockOptions {
                    upgrade: crate::ops::lock::LockUpgrade::Models(vec![model]),
                    dry_run: false,
                    cancel: Some(cancel.clone()),
                };
                let report = project.lock(&lock, reporter).await?;
                for message in crate::resolve::describe_changes(&report.changes) {
                    reporter.report(Event::Status { message });
                }
                to_json(&project.sync(&sync(cancel, true), reporter).await?)
            };
            result.await.into()
        }
        JobRequest::Add {
            reference,
            name,
            include,
            exclude,
        } => {
            let result = async {
                let project = open(options, ManifestNeed::Optional)?;
                let add = crate::ops::add::AddOptions {
                    repo: reference,
                    name,
                    include,
                    exclude,
                    cancel: Some(cancel.clone()),
                    ..crate::ops::add::AddOptions::default()
                };
                let (report, project) = project.add(&add, reporter).await?;
                reporter.report(Event::Status {
                    message: format!(
                        "Added `{}` ({}) to {}",
                        report.added,
                        report.repo,
                        report.manifest.display()
                    ),
                });
                for message in crate::resolve::describe_changes(&report.changes) {
                    reporter.report(Event::Status { message });
                }
                to_json(&project.sync(&sync(cancel, true), reporter).await?)
            };
            result.await.into()
        }
    }
}

/// `GET /api/jobs/current`: `{"id", "kind"}` of the running job, or `{"id": null}`.
pub(crate) async fn current(State(state): State<Arc<UiState>>) -> Json<Value> {
    Json(match state.jobs.current() {
        Some(job) => json!({ "id": job.id, "kind": job.kind }),
        None => json!({ "id": null }),
    })
}

/// The job named in the path, or `404`.
fn find(state: &UiState, id: &str) -> std::result::Result<Arc<Job>, ApiError> {
    state.jobs.get(id).ok_or_else(|| {
        UiError::NotFound {
            what: format!("no job `{id}` (the server keeps the last {KEEP_JOBS})"),
        }
        .into()
    })
}

/// `GET /api/jobs/JOBID/events`: the job's events so far and to come, then `done`.
pub(crate) async fn events(
    State(state): State<Arc<UiState>>,
    Path(id): Path<String>,
) -> std::result::Result<Response, ApiError> {
    let job = find(&state, &id)?;
    let receiver = job.follow();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let frame = receiver.recv().await?;
        let event = SseEvent::default().event(frame.name).data(frame.data);
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// `POST /api/jobs/JOBID/cancel`: cancels the job through its token; `202`.
pub(crate) async fn cancel(
    State(state): State<Arc<UiState>>,
    Path(id): Path<String>,
) -> std::result::Result<Response, ApiError> {
    let job = find(&state, &id)?;
    job.cancel.cancel();
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": job.id }))).into_response())
}
