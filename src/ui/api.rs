//! The JSON endpoints of `hfdl ui` that answer at once (the long operations are
//! [`super::jobs`]). Each opens the project, calls one operation of [`crate::ops`] and answers
//! with its report, as `--json` prints it; errors are the objects of a `--json` error. The
//! operations run off the server's threads (they read the disk and the network), one request
//! at a time each.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{UiError, UiState};
use crate::error::{Error, Result};
use crate::ops::{ManifestNeed, OpenOptions, Project};
use crate::report::Silent;

/// An error answer: an HTTP status and `{"error": {...}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        ApiError {
            status: status_of(&error),
            body: json!({ "error": error_object(&error) }),
        }
    }
}

impl From<UiError> for ApiError {
    fn from(error: UiError) -> ApiError {
        ui_error(&error)
    }
}

/// The answer for a failure of the web layer.
pub(crate) fn ui_error(error: &UiError) -> ApiError {
    ApiError {
        status: error.status(),
        body: json!({
            "error": {
                "code": error.error_code(),
                "message": crate::codes::error_chain(error),
                "help": miette::Diagnostic::help(error).map(|help| help.to_string()),
                "exit_code": error.exit_code(),
            }
        }),
    }
}

/// The `error` object of a `--json` error: `code`, `message`, `help`, `exit_code`.
pub fn error_object(error: &Error) -> Value {
    json!({
        "code": error.error_code(),
        "message": error.message_chain(),
        "help": error.help_text(),
        "exit_code": error.exit_code(),
    })
}

/// The HTTP status of an operation's error (its `code` says more).
pub fn status_of(error: &Error) -> StatusCode {
    match (error.error_code(), error.exit_code()) {
        ("unknown-model" | "repo-not-found" | "revision-not-found" | "entry-not-found", _) => {
            StatusCode::NOT_FOUND
        }
        ("io-error", _) => StatusCode::INTERNAL_SERVER_ERROR,
        (_, crate::codes::EXIT_USAGE) => StatusCode::BAD_REQUEST,
        (_, crate::codes::EXIT_FAILURE) => StatusCode::CONFLICT,
        (_, crate::codes::EXIT_NETWORK | crate::codes::EXIT_AUTH) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a handler answers.
pub type Answer = std::result::Result<Json<Value>, ApiError>;

/// A report as JSON.
pub(crate) fn to_json(report: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(report).map_err(|error| Error::Io {
        path: "<json>".into(),
        source: std::io::Error::other(error),
    })
}

/// Runs `work` (an operation, which may block and may not be `Send`) on a blocking thread,
/// driving its futures with the server's runtime.
pub(crate) async fn off_thread<T, F, Fut>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work()))
        .await
        .map_err(|error| Error::Io {
            path: "<hfdl ui operation>".into(),
            source: std::io::Error::other(error.to_string()),
        })?
}

/// Opens the project as every request does: reading models.toml again.
pub(crate) fn open(options: &OpenOptions, need: ManifestNeed) -> Result<Project> {
    let loaded = crate::manifest::load(&options.manifest_path());
    Project::from_loaded(options.clone(), loaded, need)
}

/// A request body as `T`; anything else is a usage error.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> std::result::Result<T, ApiError> {
    let text = if bytes.is_empty() { &b"{}"[..] } else { bytes };
    serde_json::from_slice(text).map_err(|error| {
        ApiError::from(Error::Usage {
            message: format!("the request's JSON body is not valid: {error}"),
            help: "send the fields this endpoint takes (see `hfdl ui`'s documentation)".into(),
        })
    })
}

/// `GET /api/session`: what the page needs to know (the secret for its header, the project).
pub(crate) async fn session(State(state): State<Arc<UiState>>) -> Answer {
    let manifest = state.manifest_path();
    Ok(Json(json!({
        "token": state.guard.secret(),
        "version": env!("CARGO_PKG_VERSION"),
        "manifest": manifest,
        "project_dir": super::project_dir(&manifest),
    })))
}

/// `GET /api/status`: `hfdl status --json`.
pub(crate) async fn status(State(state): State<Arc<UiState>>) -> Answer {
    let options = state.open.clone();
    let report =
        off_thread(
            move || async move { to_json(&open(&options, ManifestNeed::Required)?.status()?) },
        )
        .await?;
    Ok(Json(report))
}

/// `GET /api/outdated`: `hfdl outdated --json`.
pub(crate) async fn outdated(State(state): State<Arc<UiState>>) -> Answer {
    let options = state.open.clone();
    let report = off_thread(move || async move {
        let project = open(&options, ManifestNeed::Required)?;
        let options = crate::ops::outdated::OutdatedOptions::default();
        to_json(&project.outdated(&options, &Silent).await?)
    })
    .await?;
    Ok(Json(report))
}

/// `GET /api/doctor`: `hfdl doctor --json` (the report also when a check fails).
pub(crate) async fn doctor(State(state): State<Arc<UiState>>) -> Answer {
    use crate::ops::doctor::{ConfigProblem, DoctorOptions};
    let options = state.open.clone();
    let report = off_thread(move || async move {
        // As the command does: a broken config.toml is a failed check, not the answer.
        let (project, config_error) = match open(&options, ManifestNeed::Optional) {
            Ok(project) => (project, None),
            Err(error) if error.error_code() == "config-invalid" => {
                (Project::without_config_file(options.clone())?, Some(error))
            }
            Err(error) => return Err(error),
        };
        let doctor = DoctorOptions {
            config_error: config_error.as_ref().map(ConfigProblem::of),
        };
        to_json(&project.doctor(&doctor).await)
    })
    .await?;
    Ok(Json(report))
}

/// `GET /api/config`: `hfdl config list --json` (which has no token).
pub(crate) async fn config(State(state): State<Arc<UiState>>) -> Answer {
    let options = state.open.clone();
    let report = off_thread(move || async move {
        to_json(&open(&options, ManifestNeed::Optional)?.config_list())
    })
    .await?;
    Ok(Json(report))
}

/// `GET /api/store`: the disk the lock's files take ([`crate::ops::usage`]).
pub(crate) async fn store(State(state): State<Arc<UiState>>) -> Answer {
    let options = state.open.clone();
    let report =
        off_thread(
            move || async move { to_json(&open(&options, ManifestNeed::Optional)?.usage()?) },
        )
        .await?;
    Ok(Json(report))
}

/// The body of `POST /api/gc`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GcBody {
    #[serde(default)]
    dry_run: bool,
}

/// Refuses a change to the store or the project while a job runs.
fn no_job_running(state: &UiState) -> std::result::Result<(), ApiError> {
    match state.jobs.current() {
        Some(job) => Err(UiError::JobRunning {
            id: job.id.clone(),
            kind: job.kind,
        }
        .into()),
        None => Ok(()),
    }
}

/// `POST /api/gc`: `hfdl gc [--dry-run] --json`.
pub(crate) async fn gc(State(state): State<Arc<UiState>>, bytes: Bytes) -> Answer {
    let request: GcBody = body(&bytes)?;
    no_job_running(&state)?;
    let options = state.open.clone();
    let cancel = state.stop.child_token();
    let report = off_thread(move || async move {
        let project = open(&options, ManifestNeed::Optional)?;
        let gc = crate::ops::gc::GcOptions {
            dry_run: request.dry_run,
            cancel: Some(cancel),
            ..crate::ops::gc::GcOptions::default()
        };
        to_json(&project.gc(&gc, &Silent)?)
    })
    .await?;
    Ok(Json(report))
}

/// The body of `POST /api/remove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    name: String,
}

/// `POST /api/remove`: `hfdl remove NAME --json`.
pub(crate) async fn remove(State(state): State<Arc<UiState>>, bytes: Bytes) -> Answer {
    let request: RemoveBody = body(&bytes)?;
    no_job_running(&state)?;
    let options = state.open.clone();
    let report = off_thread(move || async move {
        let project = open(&options, ManifestNeed::Required)?;
        let remove = crate::ops::remove::RemoveOptions {
            names: vec![request.name],
        };
        to_json(&project.remove(&remove)?)
    })
    .await?;
    Ok(Json(report))
}

/// The body of `POST /api/check-manifest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    text: String,
    /// The file's name, for the diagnostic (a dropped file's); `models.toml` by default.
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/check-manifest`: whether the text is a valid models.toml; its diagnostic,
/// rendered as the terminal shows it, when not. Writes nothing.
pub(crate) async fn check_manifest(bytes: Bytes) -> Answer {
    let request: CheckBody = body(&bytes)?;
    let name = request
        .name
        .as_deref()
        .map(|name| {
            Path::new(name)
                .file_name()
                .map_or(name, |n| n.to_str().unwrap_or(name))
        })
        .filter(|name| !name.is_empty())
        .unwrap_or(crate::manifest::MANIFEST_FILE)
        .to_owned();
    match crate::manifest::parse(Path::new(&name), &request.text) {
        Ok(manifest) => Ok(Json(json!({
            "ok": true,
            "models": manifest.models.keys().collect::<Vec<_>>(),
        }))),
        Err(error) => {
            let error = Error::from(error);
            let mut object = error_object(&error);
            object["rendered"] = Value::String(render(&error));
            let offset = miette::Diagnostic::labels(&error)
                .and_then(|mut labels| labels.next())
                .map(|label| label.offset());
            if let Some((line, column)) = offset.and_then(|o| line_column(&request.text, o)) {
                object["line"] = json!(line);
                object["column"] = json!(column);
            }
            Ok(Json(json!({ "ok": false, "error": object })))
        }
    }
}

/// The diagnostic as a terminal shows it, without colour.
fn render(error: &Error) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, error).is_err() {
        out = format!("error: {error}");
    }
    out
}

/// The 1-based line and column (in characters) of a byte offset into `text`.
fn line_column(text: &str, offset: usize) -> Option<(usize, usize)> {
    let before = text.get(..offset.min(text.len()))?;
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    Some((line, column))
}

/// The body of `POST /api/info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoBody {
    reference: String,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    repo_type: Option<crate::repo::RepoType>,
}

/// `POST /api/info`: `hfdl info REF --files --json`.
pub(crate) async fn info(State(state): State<Arc<UiState>>, bytes: Bytes) -> Answer {
    let request: InfoBody = body(&bytes)?;
    let options = state.open.clone();
    let report = off_thread(move || async move {
        let project = open(&options, ManifestNeed::Optional)?;
        let info = crate::ops::info::InfoOptions {
            repo: request.reference,
            repo_type: request.repo_type,
            include: request.include,
            exclude: request.exclude,
            files: true,
        };
        to_json(&project.info(&info).await?)
    })
    .await?;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_become_lines_and_columns_from_one() {
        assert_eq!(super::line_column("ab\ncd", 0), Some((1, 1)));
        assert_eq!(super::line_column("ab\ncd", 4), Some((2, 2)));
        assert_eq!(super::line_column("é\nx", 3), Some((2, 1)));
    }
}
