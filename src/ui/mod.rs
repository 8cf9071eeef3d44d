//! `hfdl ui`: a local web app over the same operations as the command line ([`crate::ops`]).
//!
//! The server listens on `127.0.0.1` and a free port (`--port N`, `--listen ADDR` elsewhere),
//! prints `http://127.0.0.1:PORT/?token=SECRET` as the first line on stdout and opens the
//! browser there. `SECRET` is 32 bytes from the OS's CSPRNG, in hex, new for every run. Every
//! answer is JSON (or the embedded page); each endpoint's body is what the command line prints
//! with `--json` for the same operation, built from the same report types. A SIGINT or SIGTERM
//! cancels the running job through its cancellation token, as `hfdl sync` stops, and the
//! server exits 130 or 143.
//!
//! # Security ([`auth`], a middleware in front of every route)
//!
//! - Every request needs the secret: the cookie `hfdl_ui_token_<PORT>` or the header `X-Hfdl-Token`;
//!   a missing or wrong one is `401` (`ui-unauthorized`). `GET /?token=SECRET` sets the cookie
//!   (`HttpOnly; SameSite=Strict; Path=/`) and answers `303` to `/`, so the secret leaves the
//!   address bar.
//! - The `Host` header must be `127.0.0.1:PORT` or `localhost:PORT` (or the `--listen`
//!   address), else `403` (`ui-forbidden`): a DNS-rebinding page cannot talk to the server.
//! - Every request that is not `GET`/`HEAD` needs the secret in the `X-Hfdl-Token` header (the
//!   cookie alone is not enough) and an `Origin` equal to the server's own origin
//!   (`http://127.0.0.1:PORT` or `http://localhost:PORT`), else `403` (`ui-forbidden`).
//! - No CORS headers, ever (an `OPTIONS` preflight is refused like any other request). Every
//!   answer carries `Content-Security-Policy: default-src 'self'; img-src 'self' data:;
//!   style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'`,
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
//!   `Cache-Control: no-store`.
//! - The page learns the secret (for its header) from `GET /api/session`, which only a request
//!   with the cookie (same origin) can read. The Hub token never reaches the page: no endpoint
//!   returns it (`config list` has no token key).
//!
//! # API
//!
//! Errors: an HTTP status and `{"error": {"code", "message", "help", "exit_code"}}`, the same
//! fields and values as a `--json` error of the command line for the same failure. Statuses:
//! `400` usage and manifest errors (exit code 2), `401`/`403` the rules above, `404` an unknown
//! path, job, entry (`unknown-model`) or repo (`repo-not-found`, `revision-not-found`,
//! `entry-not-found`), `409` a job is running (`job-running`) or a failure
//! the user can act on (exit code 1: a stale lock, a busy store, …), `502` the Hub or the
//! network (exit codes 3 and 4), `500` anything else. Read `error.code`, not the status.
//!
//! | request | answer (`200` unless said) |
//! | --- | --- |
//! | `GET /api/session` | `{"token": SECRET, "version": "0.1.0", "manifest": "/abs/models.toml", "project_dir": "/abs"}` |
//! | `GET /api/status` | `hfdl status --json` |
//! | `GET /api/outdated` | `hfdl outdated --json` (uses the network) |
//! | `GET /api/doctor` | `hfdl doctor --json` (`200` also when a check fails: the report says so) |
//! | `GET /api/config` | `hfdl config list --json` |
//! | `GET /api/store` | `{"store", "total_bytes", "repos": [{"repo", "repo_type", "bytes", "models": [names]}], "models": [{"name", "bytes", "shared_bytes"}]}` ([`crate::ops::usage`]): bytes of distinct blobs in the store, largest first |
//! | `POST /api/gc` `{"dry_run": bool}` | `hfdl gc [--dry-run] --json`; `409` while a job runs |
//! | `POST /api/remove` `{"name": "..."}` | `hfdl remove NAME --json`; `409` while a job runs |
//! | `POST /api/check-manifest` `{"text": "...", "name": "models.toml"?}` | `{"ok": true, "models": [names]}` or `{"ok": false, "error": {code, message, help, exit_code, rendered, line?, column?}}`; parses only, writes nothing |
//! | `POST /api/info` `{"reference": "org/name@rev or URL", "include": [], "exclude": [], "repo_type": "model"?}` | `hfdl info REF --files --json` (the file list for a picker) |
//! | `POST /api/jobs` (a job, below) | `202 {"id": JOBID, "kind": KIND}`; `409` `job-running` while one runs |
//! | `GET /api/jobs/current` | `{"id": JOBID, "kind": KIND}` or `{"id": null}` |
//! | `GET /api/jobs/JOBID/events` | `text/event-stream` (below) |
//! | `POST /api/jobs/JOBID/cancel` | `202 {"id": JOBID}`: cancels through the job's token |
//! | `GET /`, `/index.html`, the files of [`assets`] | the embedded page, with its content type |
//!
//! `check-manifest`'s `rendered` is the diagnostic as the terminal shows it (miette's report
//! without colour, with the line and a caret under the problem), `line` and `column` count from
//! 1. `info`'s `include`/`exclude` default to empty.
//!
//! # Jobs ([`jobs`])
//!
//! The long operations run one at a time, in the background:
//!
//! - `{"kind": "sync"}`: `hfdl sync`; the report is `hfdl sync --json`'s.
//! - `{"kind": "verify", "repair": false, "full": false, "names": []}`: `hfdl verify`; the
//!   report is `hfdl verify --json`'s.
//! - `{"kind": "upgrade", "name": "NAME[@REV]"}`: `hfdl lock --upgrade-model NAME`, then a
//!   locked sync; the report is the sync's (the lock's changes arrive as `status` events).
//! - `{"kind": "add", "reference": "org/name@rev or URL", "name": null, "include": [],
//!   "exclude": []}`: `hfdl add`, which adds, locks and syncs; the report is the sync's, as
//!   `hfdl add --json` prints it.
//!
//! `GET /api/jobs/JOBID/events` streams every progress [`crate::report::Event`] as
//! `event: progress` with `data:` the event's JSON (the lines `--json` writes on stderr; a
//! task's progress coalesced to one event per 250 ms), then exactly one `event: done` with
//! `data: {"ok": true, "report": REPORT}` or `{"ok": false, "error": {code, message, help,
//! exit_code}}` (plus `"report"` when the operation made one before failing, as a failed
//! verification does). A cancelled job ends with the code `cancelled`. A client that connects
//! late first receives the events so far (kept in memory; a task's progress events are merged
//! into one once there are many, so the sums stay right), and after the end, all of them and
//! `done`. The last few jobs stay readable after they end.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::error::{Error, Result};
use crate::ops::{CancellationToken, OpenOptions};

pub mod api;
pub mod assets;
pub mod auth;
pub mod jobs;

/// How to serve.
#[derive(Debug, Clone, Default)]
pub struct UiOptions {
    /// How every request opens the project (the manifest is read again each time, so edits
    /// made elsewhere show up).
    pub project: OpenOptions,
    /// The address to listen on; `127.0.0.1` when `None`.
    pub listen: Option<IpAddr>,
    /// The port; a free one when `None` or 0.
    pub port: Option<u16>,
}

/// A bound server, not serving yet.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<UiState>,
    url: String,
}

/// What every handler shares.
pub(crate) struct UiState {
    /// The secret, and the hosts and origins requests may name.
    pub(crate) guard: auth::Guard,
    /// How to open the project (with an absolute manifest path).
    pub(crate) open: OpenOptions,
    /// The running job and the last few.
    pub(crate) jobs: jobs::Jobs,
    /// Cancelled when the server stops: the running job's token is a child of it.
    pub(crate) stop: CancellationToken,
}

impl UiState {
    /// The manifest's absolute path.
    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.open.manifest_path()
    }
}

/// A failure of the web layer itself (not of an operation): each has a stable code, like the
/// errors of [`Error`], and an `hfdl explain` page.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum UiError {
    /// A job runs already; only one runs at a time.
    #[error("a job is running already: {kind} ({id})")]
    #[diagnostic(help(
        "wait for it to end (GET /api/jobs/{id}/events says when), or cancel it (POST /api/jobs/{id}/cancel)"
    ))]
    JobRunning {
        /// The running job's id.
        id: String,
        /// What it does (`sync`, `verify`, `upgrade`, `add`).
        kind: &'static str,
    },
    /// The request lacks the session's secret, or has a wrong one.
    #[error("{reason}")]
    #[diagnostic(help(
        "open the URL `hfdl ui` printed (http://127.0.0.1:PORT/?token=…): it signs the browser in"
    ))]
    Unauthorized {
        /// What is missing or wrong.
        reason: &'static str,
    },
    /// The request is refused: a foreign `Host` or `Origin`, or a change without the
    /// `X-Hfdl-Token` header.
    #[error("{reason}")]
    #[diagnostic(help(
        "use the page `hfdl ui` serves, at the address it printed; other sites and hosts may not send requests to it"
    ))]
    Forbidden {
        /// Which rule the request broke.
        reason: String,
    },
    /// No such path or job.
    #[error("{what}")]
    #[diagnostic(help("the API's paths are listed in `hfdl ui`'s documentation"))]
    NotFound {
        /// What was not found.
        what: String,
    },
}

impl UiError {
    /// The stable code, as in a `--json` error.
    pub fn error_code(&self) -> &'static str {
        match self {
            UiError::JobRunning { .. } => "job-running",
            UiError::Unauthorized { .. } => "ui-unauthorized",
            UiError::Forbidden { .. } => "ui-forbidden",
            UiError::NotFound { .. } => "ui-not-found",
        }
    }

    /// The exit code the same failure would have on the command line.
    pub fn exit_code(&self) -> i32 {
        match self {
            UiError::JobRunning { .. } => crate::codes::EXIT_FAILURE,
            UiError::Unauthorized { .. } | UiError::Forbidden { .. } => crate::codes::EXIT_AUTH,
            UiError::NotFound { .. } => crate::codes::EXIT_USAGE,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::JobRunning { .. } => StatusCode::CONFLICT,
            UiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            UiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            UiError::NotFound { .. } => StatusCode::NOT_FOUND,
        }
    }
}

impl Server {
    /// Binds the listening socket and makes the secret. Nothing is served until
    /// [`Server::serve`].
    pub async fn bind(options: UiOptions) -> Result<Server> {
        let ip = options.listen.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let wanted = SocketAddr::new(ip, options.port.unwrap_or(0));
        let listener = tokio::net::TcpListener::bind(wanted)
            .await
            .map_err(|source| Error::Io {
                path: PathBuf::from(wanted.to_string()),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| Error::Io {
            path: PathBuf::from(wanted.to_string()),
            source,
        })?;
        let secret = auth::Secret::generate().map_err(|error| Error::Io {
            path: "<OS random number generator>".into(),
            source: std::io::Error::other(error.to_string()),
        })?;
        let mut open = options.project;
        let manifest =
            std::path::absolute(open.manifest_path()).map_err(Error::io(open.manifest_path()))?;
        open.manifest = Some(manifest);
        let guard = auth::Guard::new(secret, address);
        let url = format!("{}/?token={}", guard.origin(), guard.secret());
        Ok(Server {
            listener,
            state: Arc::new(UiState {
                guard,
                open,
                jobs: jobs::Jobs::default(),
                stop: CancellationToken::new(),
            }),
            url,
        })
    }

    /// The URL to open: `http://127.0.0.1:PORT/?token=SECRET`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `stop` is cancelled; then cancels the running job, waits for it to end,
    /// lets the open connections finish (briefly) and returns [`Error::Cancelled`] with what
    /// the job kept.
    pub async fn serve(self, stop: CancellationToken) -> Result<()> {
        let Server {
            listener, state, ..
        } = self;
        let app = router(state.clone());
        let graceful = state.stop.clone();
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move { graceful.cancelled().await });
        let mut server = tokio::spawn(server.into_future());
        tokio::select! {
            result = &mut server => {
                // The server ended on its own: an accept loop failure.
                return match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(source)) => Err(Error::Io { path: "<hfdl ui listener>".into(), source }),
                    Err(join) => Err(Error::Io {
                        path: "<hfdl ui listener>".into(),
                        source: std::io::Error::other(join.to_string()),
                    }),
                };
            }
            () = stop.cancelled() => {}
        }
        // The running job, taken before it can end: it ends with what its cancellation kept.
        let running = state.jobs.current();
        // Cancels the running job (its token is a child) and starts the graceful shutdown.
        state.stop.cancel();
        let kept = match running {
            Some(job) => job.wait().await,
            None => None,
        };
        // The event streams end with their job; other connections get a moment to finish.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), server).await;
        let (partial_files, partial_bytes) = kept.unwrap_or((0, 0));
        Err(Error::Cancelled {
            partial_files,
            partial_bytes,
        })
    }
}

/// Every route, behind the security middleware.
fn router(state: Arc<UiState>) -> Router {
    Router::new()
        .route("/api/session", get(api::session))
        .route("/api/status", get(api::status))
        .route("/api/outdated", get(api::outdated))
        .route("/api/doctor", get(api::doctor))
        .route("/api/config", get(api::config))
        .route("/api/store", get(api::store))
        .route("/api/gc", post(api::gc))
        .route("/api/remove", post(api::remove))
        .route("/api/check-manifest", post(api::check_manifest))
        .route("/api/info", post(api::info))
        .route("/api/jobs", post(jobs::start))
        .route("/api/jobs/current", get(jobs::current))
        .route("/api/jobs/{id}/events", get(jobs::events))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .with_state(state)
}

/// The directory of the manifest, for `GET /api/session`.
pub(crate) fn project_dir(manifest: &Path) -> PathBuf {
    manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
