//! The HTTP routes: the Hub origin (API, resolve, resolve-cache, admin) and the CDN origin,
//! with the headers, redirects, errors and auth rules of hub-protocol.md §1, §2 and §10, and
//! the search listings and card metadata of `PROTOCOL-NOTES.md` (beside this crate's
//! Cargo.toml).
//!
//! Routing is done by hand rather than with axum's router because Hub paths are ambiguous
//! for a pattern router: a repo id has one or two segments and is located by the literal
//! `/resolve/`, `/tree/`, `/revision/`, `/paths-info/` or `/commits/` marker, and a revision may arrive
//! percent-encoded (`refs%2Fpr%2F1`) or raw (`refs/pr/1`, huggingface.js's `/tree/`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::body::{self, RangeOutcome, Source};
use crate::card;
use crate::fixtures::{Commit, FileInfo, Fixtures, Gated, Lookup, Repo, RepoType, UserSpec};
use crate::record::{Fault, Recorder, RequestKind, RequestRecord};

/// Python's `quote(s, safe="")`: everything but `A-Za-z0-9-._~` is escaped.
const QUOTE_ALL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Python's `quote(path)`: like above but `/` stays literal.
const QUOTE_PATH: &AsciiSet = &QUOTE_ALL.remove(b'/');

/// The largest `paths-info` or admin body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Tree entries per page without `expand` (the Hub uses 1000; `expand=true` uses 50).
    pub page_size: usize,
    /// Hub port (0: any free port).
    pub port: u16,
    /// CDN port (0: any free port).
    pub cdn_port: u16,
    /// Answer regular files with the Hub's relative `307` to `/api/resolve-cache/…` (faithful)
    /// instead of a direct `200`.
    pub regular_file_redirect: bool,
    /// Xet CAS port (0: any free port).
    pub cas_port: u16,
    /// Lifetime of the Xet access tokens the token endpoint issues.
    pub xet_token_ttl_secs: u64,
    /// Lifetime of the signed xorb URLs a reconstruction hands out.
    pub xet_url_ttl_secs: u64,
    /// The largest response the cas-bridge sends (a file's whole body or one range): the
    /// Hub's clients do not fetch more than 50 GB over plain HTTP in one request.
    pub bridge_max_response: u64,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            page_size: 1000,
            port: 0,
            cdn_port: 0,
            regular_file_redirect: true,
            cas_port: 0,
            xet_token_ttl_secs: 3600,
            xet_url_ttl_secs: 3600,
            bridge_max_response: 50_000_000_000,
        }
    }
}

/// State shared by every request.
#[derive(Debug)]
pub struct Shared {
    pub fixtures: Fixtures,
    pub recorder: Arc<Recorder>,
    pub options: ServerOptions,
    /// `http://127.0.0.1:PORT` of the Hub origin.
    pub endpoint: String,
    /// `http://127.0.0.1:PORT` of the CDN origin.
    pub cdn_origin: String,
    /// `http://127.0.0.1:PORT` of the Xet CAS origin.
    pub cas_origin: String,
    /// Signs CDN URLs so the CDN can serve without auth yet only what the Hub handed out.
    pub secret: String,
    /// Xet access tokens issued, and what they grant.
    pub xet_grants: std::sync::Mutex<std::collections::HashMap<String, crate::xet::cas::Grant>>,
}

/// An error answer in the Hub's style.
struct HubError {
    status: StatusCode,
    code: Option<&'static str>,
    message: String,
    headers: Vec<(&'static str, String)>,
}

impl HubError {
    fn new(status: StatusCode, code: Option<&'static str>, message: impl Into<String>) -> HubError {
        HubError {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &'static str, value: String) -> HubError {
        self.headers.push((name, value));
        self
    }

    fn repo_not_found(user: Option<&UserSpec>) -> HubError {
        // Anonymous callers get 401 so that "log in" is the suggested next step; signed-in
        // users get 404 (hub-protocol §2.3).
        let status = if user.is_some() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::UNAUTHORIZED
        };
        HubError::new(status, Some("RepoNotFound"), "Repository not found")
    }

    fn revision_not_found(revision: &str) -> HubError {
        HubError::new(
            StatusCode::NOT_FOUND,
            Some("RevisionNotFound"),
            format!("Invalid rev id: {revision}"),
        )
    }

    fn invalid_credentials() -> HubError {
        HubError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Invalid credentials in Authorization header",
        )
    }

    fn into_response(self, head: bool) -> Response {
        let body = if head {
            Body::empty()
        } else {
            Body::from(json!({ "error": self.message }).to_string())
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Some(code) = self.code {
            headers.insert("x-error-code", HeaderValue::from_static(code));
        }
        if let Ok(value) = HeaderValue::from_str(&self.message) {
            headers.insert("x-error-message", value);
        }
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

type Outcome = Result<Response, HubError>;

/// What every handler needs to know about the request.
struct Call<'a> {
    shared: &'a Shared,
    method: Method,
    headers: HeaderMap,
    query: BTreeMap<String, Vec<String>>,
    raw_query: Option<String>,
    user: Option<UserSpec>,
    fault: Option<Fault>,
}

impl Call<'_> {
    fn head(&self) -> bool {
        self.method == Method::HEAD
    }

    fn flag(&self, name: &str) -> bool {
        self.query
            .get(name)
            .and_then(|values| values.last())
            .is_some_and(|v| truthy(v))
    }

    fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A JSON answer, through the fault machinery when one applies.
    fn json(&self, value: &Value) -> Response {
        let bytes = Bytes::from(value.to_string());
        let len = bytes.len() as u64;
        let body = match &self.fault {
            Some(fault) if !self.head() => body::stream(
                Source::Memory(bytes),
                0,
                len,
                Some(fault.clone()),
                self.shared.recorder.clone(),
            ),
            _ if self.head() => Body::empty(),
            _ => Body::from(bytes),
        };
        let mut response = Response::new(body);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

/// Booleans as the clients send them: `true`/`True`/`1` (hub-protocol §10).
fn truthy(value: &str) -> bool {
    matches!(value, "true" | "True" | "1")
}

pub(crate) fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

pub(crate) fn parse_query(raw: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query
            .entry(decode(&key.replace('+', " ")))
            .or_default()
            .push(decode(&value.replace('+', " ")));
    }
    query
}

fn classify(path: &str, method: &Method) -> RequestKind {
    let resolve = if *method == Method::HEAD {
        RequestKind::ResolveHead
    } else {
        RequestKind::ResolveGet
    };
    if path.starts_with("/__admin/") {
        RequestKind::Admin
    } else if path.starts_with("/api/resolve-cache/") {
        resolve
    } else if path.starts_with("/api/") && path.contains("/xet-read-token/") {
        RequestKind::XetToken
    } else if path.starts_with("/api/") {
        RequestKind::Api
    } else if path.contains("/resolve/") {
        resolve
    } else {
        RequestKind::Other
    }
}

pub(crate) fn record(shared: &Shared, request: &Request, kind: RequestKind, status: StatusCode) {
    let header = |name: header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let record = RequestRecord {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        kind,
        status: status.as_u16(),
        authorization: header(header::AUTHORIZATION),
        range: header(header::RANGE),
        user_agent: header(header::USER_AGENT),
    };
    tracing::debug!(method = %record.method, path = %record.path, status = record.status, "request");
    shared.recorder.record(record);
}

/// The Hub origin's single entry point.
pub async fn hub(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let kind = classify(&path, request.method());
    if kind == RequestKind::Admin {
        return admin(&shared, request).await;
    }
    let (parts, body) = request.into_parts();
    let response = hub_route(&shared, &parts, body, kind).await;
    record(
        &shared,
        &Request::from_parts(parts, Body::empty()),
        kind,
        response.status(),
    );
    response
}

async fn hub_route(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    body: Body,
    kind: RequestKind,
) -> Response {
    let path = parts.uri.path();
    let head = parts.method == Method::HEAD;
    let fault = shared.recorder.take_fault(path);
    if let Some(response) = status_fault(fault.as_ref(), kind, head) {
        return response;
    }
    let (fault, skew) = match fault {
        Some(Fault::ClockSkew { secs }) => (None, Some(secs)),
        other => (other, None),
    };
    let user = match parts.headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            match token.and_then(|t| shared.fixtures.user_by_token(t)) {
                Some(user) => Some(user),
                None => return HubError::invalid_credentials().into_response(head),
            }
        }
    };
    let call = Call {
        shared,
        method: parts.method.clone(),
        headers: parts.headers.clone(),
        query: parse_query(parts.uri.query()),
        raw_query: parts.uri.query().map(str::to_owned),
        user,
        fault,
    };
    let outcome = if let Some(rest) = path.strip_prefix("/api/resolve-cache/") {
        resolve_cache(&call, rest)
    } else if path == "/api/whoami-v2" {
        whoami(&call)
    } else if let Some(rest) = path.strip_prefix("/api/") {
        api(&call, rest, body).await
    } else if kind == RequestKind::ResolveGet || kind == RequestKind::ResolveHead {
        resolve(&call, path)
    } else {
        Err(HubError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no route for {path}"),
        ))
    };
    let mut response = outcome.unwrap_or_else(|error| error.into_response(head));
    if let Some(secs) = skew {
        let now = std::time::SystemTime::now();
        let skewed = if secs >= 0 {
            now + std::time::Duration::from_secs(secs.unsigned_abs())
        } else {
            now - std::time::Duration::from_secs(secs.unsigned_abs())
        };
        if let Ok(value) = header::HeaderValue::from_str(&httpdate::fmt_http_date(skewed)) {
            // hyper adds `Date` only to a response that has none.
            response.headers_mut().insert(header::DATE, value);
        }
    }
    response
}

/// `Fault::Status` and `Fault::RateLimit` replace the answer entirely.
pub(crate) fn status_fault(
    fault: Option<&Fault>,
    kind: RequestKind,
    head: bool,
) -> Option<Response> {
    match fault? {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(
                HubError::new(
                    status,
                    None,
                    "Internal Error - We're working hard to fix this as soon as possible!",
                )
                .into_response(head),
            )
        }
        Fault::RateLimit { retry_after_secs } => {
            let bucket = match kind {
                RequestKind::ResolveGet | RequestKind::ResolveHead => "resolvers",
                _ => "api",
            };
            Some(
                HubError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    format!("you have reached your '{bucket}' rate limit"),
                )
                .with_header("retry-after", retry_after_secs.to_string())
                .with_header(
                    "ratelimit",
                    format!("\"{bucket}\";r=0;t={retry_after_secs}"),
                )
                .with_header(
                    "ratelimit-policy",
                    format!("\"fixed window\";\"{bucket}\";q=500;w=300"),
                )
                .into_response(head),
            )
        }
        _ => None,
    }
}

async fn admin(shared: &Shared, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    match (request.method().clone(), path.as_str()) {
        (Method::GET, "/__admin/counters") => {
            axum::Json(shared.recorder.counters()).into_response()
        }
        (Method::GET, "/__admin/requests") => {
            axum::Json(shared.recorder.requests()).into_response()
        }
        (Method::POST, "/__admin/reset") => {
            shared.recorder.reset();
            StatusCode::NO_CONTENT.into_response()
        }
        (Method::POST, "/__admin/faults") => {
            let Ok(bytes) = to_bytes(request.into_body(), MAX_BODY).await else {
                return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
            };
            match serde_json::from_slice(&bytes) {
                Ok(rule) => {
                    shared.recorder.add_fault(rule);
                    StatusCode::NO_CONTENT.into_response()
                }
                Err(error) => {
                    (StatusCode::BAD_REQUEST, format!("bad fault rule: {error}")).into_response()
                }
            }
        }
        (Method::DELETE, "/__admin/faults") => {
            shared.recorder.clear_faults();
            StatusCode::NO_CONTENT.into_response()
        }
        _ => (StatusCode::NOT_FOUND, "unknown admin route").into_response(),
    }
}

/// Finds the repo, redirecting renamed or differently-cased ids and checking read access.
fn find_repo(
    call: &Call<'_>,
    repo_type: RepoType,
    id: &str,
    redirect: impl FnOnce(&str) -> String,
) -> Result<Arc<Repo>, Outcome> {
    match call.shared.fixtures.lookup(repo_type, id) {
        Lookup::Found(repo) => {
            check_read(&repo, call.user.as_ref()).map_err(Err)?;
            Ok(repo)
        }
        Lookup::Moved(canonical) => {
            let mut location = redirect(&canonical);
            if let Some(query) = &call.raw_query {
                location = format!("{location}?{query}");
            }
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Err(Ok(response))
        }
        Lookup::Missing => Err(Err(HubError::repo_not_found(call.user.as_ref()))),
    }
}

fn check_read(repo: &Repo, user: Option<&UserSpec>) -> Result<(), HubError> {
    if repo.options.private {
        let owner = repo.namespace().unwrap_or(&repo.id);
        if !user.is_some_and(|u| u.owns(owner)) {
            return Err(HubError::repo_not_found(user));
        }
    }
    Ok(())
}

/// Gated repos: metadata is public, content needs an approved user.
fn check_content(repo: &Repo, user: Option<&UserSpec>) -> Result<(), HubError> {
    if repo.options.gated == Gated::No {
        return Ok(());
    }
    let kind = repo.repo_type.as_str();
    match user {
        None => Err(HubError::new(
            StatusCode::UNAUTHORIZED,
            Some("GatedRepo"),
            format!(
                "Access to {kind} {} is restricted. You must have access to it and be authenticated to access it. Please log in.",
                repo.id
            ),
        )),
        Some(user)
            if user.gated_access.contains(&repo.id)
                || repo.namespace().is_some_and(|ns| user.owns(ns)) =>
        {
            Ok(())
        }
        Some(_) => Err(HubError::new(
            StatusCode::FORBIDDEN,
            Some("GatedRepo"),
            format!(
                "Access to {kind} {} is restricted and you are not in the authorized list. Visit https://huggingface.co/{} to ask for access.",
                repo.id, repo.id
            ),
        )),
    }
}

fn resolve_revision<'r>(repo: &'r Repo, revision: &str) -> Result<&'r Commit, HubError> {
    repo.resolve(revision)
        .ok_or_else(|| HubError::revision_not_found(revision))
}

/// Splits `a/b/marker/rest…` into the repo id and what follows the marker, for the markers
/// in `markers`; ids have one or two segments.
fn split_repo<'p>(
    segments: &'p [&'p str],
    markers: &[&str],
) -> Option<(String, &'p str, &'p [&'p str])> {
    for id_len in [2, 1] {
        if segments.len() > id_len && markers.contains(&segments[id_len]) {
            return Some((
                segments[..id_len].join("/"),
                segments[id_len],
                &segments[id_len + 1..],
            ));
        }
    }
    if (1..=2).contains(&segments.len()) {
        return Some((segments.join("/"), "", &[]));
    }
    None
}

/// A revision from the segments after a marker: encoded as one segment, or a raw `refs/pr/N`.
fn take_revision<'p>(segments: &'p [&'p str]) -> Option<(String, &'p [&'p str])> {
    let first = decode(segments.first()?);
    if first == "refs"
        && segments.len() >= 3
        && matches!(segments[1], "pr" | "heads" | "tags" | "convert")
    {
        return Some((
            format!("refs/{}/{}", segments[1], decode(segments[2])),
            &segments[3..],
        ));
    }
    Some((first, &segments[1..]))
}

async fn api(call: &Call<'_>, rest: &str, body: Body) -> Outcome {
    let segments: Vec<&str> = rest.split('/').collect();
    let repo_type = segments
        .first()
        .and_then(|p| RepoType::from_plural(p))
        .ok_or_else(|| {
            HubError::new(
                StatusCode::NOT_FOUND,
                None,
                format!("no route for /api/{rest}"),
            )
        })?;
    if segments[1..].iter().all(|s| s.is_empty()) && call.method == Method::GET {
        return search(call, repo_type);
    }
    let markers = [
        "revision",
        "tree",
        "paths-info",
        "refs",
        "auth-check",
        "commits",
        "xet-read-token",
    ];
    let (id, marker, after) = split_repo(&segments[1..], &markers).ok_or_else(|| {
        HubError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no route for /api/{rest}"),
        )
    })?;
    let plural = repo_type.plural();
    let repo = match find_repo(call, repo_type, &id, |canonical| {
        let tail = if marker.is_empty() {
            String::new()
        } else {
            format!("/{marker}/{}", after.join("/"))
        };
        format!("/api/{plural}/{canonical}{}", tail.trim_end_matches('/'))
    }) {
        Ok(repo) => repo,
        Err(outcome) => return outcome,
    };
    match (marker, &call.method) {
        ("", &Method::GET) => info(call, &repo, None),
        ("revision", &Method::GET) => {
            let (revision, _) =
                take_revision(after).ok_or_else(|| HubError::revision_not_found(""))?;
            info(call, &repo, Some(&revision))
        }
        ("tree", &Method::GET) => tree(call, &repo, after),
        ("paths-info", &Method::POST) => {
            let (revision, _) =
                take_revision(after).ok_or_else(|| HubError::revision_not_found(""))?;
            let content_type = call
                .header(header::CONTENT_TYPE)
                .unwrap_or_default()
                .to_owned();
            let bytes = to_bytes(body, MAX_BODY).await.map_err(|e| {
                HubError::new(
                    StatusCode::BAD_REQUEST,
                    None,
                    format!("unreadable body: {e}"),
                )
            })?;
            paths_info(call, &repo, &revision, &content_type, &bytes)
        }
        ("refs", &Method::GET) => Ok(refs(call, &repo)),
        ("commits", &Method::GET) => commits(call, &repo, after),
        ("xet-read-token", &Method::GET) => {
            check_content(&repo, call.user.as_ref())?;
            let (revision, _) =
                take_revision(after).ok_or_else(|| HubError::revision_not_found(""))?;
            let commit = resolve_revision(&repo, &revision)?;
            let expired = matches!(call.fault, Some(Fault::ExpiredToken));
            let token = crate::xet::cas::issue_token(call.shared, &repo, &commit.id, expired);
            let mut response = call.json(&json!({
                "accessToken": token.access_token,
                "exp": token.exp,
                "casUrl": call.shared.cas_origin,
            }));
            // huggingface_hub reads the headers, hf_xet the body: the Hub sends both.
            let headers = response.headers_mut();
            insert(headers, "x-xet-cas-url", &call.shared.cas_origin);
            insert(headers, "x-xet-access-token", &token.access_token);
            insert(headers, "x-xet-token-expiration", &token.exp.to_string());
            Ok(response)
        }
        ("auth-check", &Method::GET) => {
            check_content(&repo, call.user.as_ref())?;
            Ok(call.json(&json!({})))
        }
        _ => Err(HubError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            format!("{} is not allowed on /api/{rest}", call.method),
        )),
    }
}

fn lfs_json(file: &FileInfo, key: &str) -> Value {
    let mut lfs = serde_json::Map::new();
    lfs.insert(key.to_owned(), json!(file.content_sha256));
    lfs.insert("size".to_owned(), json!(file.size));
    lfs.insert("pointerSize".to_owned(), json!(file.lfs_pointer().len()));
    Value::Object(lfs)
}

fn info(call: &Call<'_>, repo: &Repo, revision: Option<&str>) -> Outcome {
    let commit = match revision {
        Some(revision) => Some(resolve_revision(repo, revision)?),
        None => repo.resolve("main"),
    };
    // The info of one repo has every field (what `full=true` gives a listing).
    Ok(call.json(&Value::Object(repo_fields(
        call,
        repo,
        commit,
        call.flag("blobs"),
    ))))
}

/// Every field the mock knows about `repo` at `commit`, named as the Hub names them
/// (huggingface_hub `ModelInfo`, `DatasetInfo`, `SpaceInfo`); a listing picks some of them.
fn repo_fields(
    call: &Call<'_>,
    repo: &Repo,
    commit: Option<&Commit>,
    blobs: bool,
) -> serde_json::Map<String, Value> {
    let siblings: Vec<Value> = commit
        .map(|c| {
            c.files
                .values()
                .map(|file| {
                    let mut sibling = json!({ "rfilename": file.path });
                    if blobs {
                        sibling["size"] = json!(file.size);
                        sibling["blobId"] = json!(file.git_sha1);
                        if file.is_lfs {
                            sibling["lfs"] = lfs_json(file, "sha256");
                        }
                    }
                    sibling
                })
                .collect()
        })
        .unwrap_or_default();
    let gated = match repo.options.gated {
        Gated::No => json!(false),
        Gated::Auto => json!("auto"),
        Gated::Manual => json!("manual"),
    };
    let mut object_id = sha2::Sha256::digest(format!("{}/{}", repo.repo_type.plural(), repo.id));
    object_id[..12].reverse();
    let derived = card::derive(&call.shared.fixtures, repo, commit);
    let mut fields = json!({
        "_id": hex::encode(&object_id[..12]),
        "id": repo.id,
        "author": repo.namespace(),
        "sha": commit.map(|c| c.id.clone()),
        "private": repo.options.private,
        "gated": gated,
        "disabled": false,
        "lastModified": commit.map_or_else(|| repo.created.clone(), |c| c.date.clone()),
        "createdAt": repo.created,
        "tags": derived.tags,
        "likes": repo.meta.likes,
        "trendingScore": 0,
        "siblings": siblings,
        "usedStorage": commit.map_or(0, |c| c.files.values().map(|f| f.size).sum::<u64>()),
    });
    if let Some(card) = derived.card {
        fields["cardData"] = Value::Object(card);
    }
    match repo.repo_type {
        RepoType::Model => {
            fields["modelId"] = json!(repo.id);
            if let Some(config) = commit.and_then(|c| card::config(&call.shared.fixtures, c)) {
                fields["config"] = Value::Object(config);
            }
            fields["downloads"] = json!(repo.meta.downloads);
            fields["downloadsAllTime"] = json!(repo.meta.downloads);
            if let Some(library) = derived.library_name {
                fields["library_name"] = json!(library);
            }
            if let Some(pipeline) = derived.pipeline_tag {
                fields["pipeline_tag"] = json!(pipeline);
            }
        }
        RepoType::Dataset => {
            fields["downloads"] = json!(repo.meta.downloads);
            fields["downloadsAllTime"] = json!(repo.meta.downloads);
        }
        RepoType::Space => {
            if let Some(sdk) = &repo.meta.sdk {
                fields["sdk"] = json!(sdk);
            }
        }
    }
    match fields {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// The `expand` values a listing of each type accepts (huggingface_hub `ExpandModelProperty_T`,
/// `ExpandDatasetProperty_T`, `ExpandSpaceProperty_T`); any other is a 400.
fn expandable(repo_type: RepoType) -> &'static [&'static str] {
    match repo_type {
        RepoType::Model => &[
            "author",
            "baseModels",
            "cardData",
            "childrenModelCount",
            "config",
            "createdAt",
            "disabled",
            "downloads",
            "downloadsAllTime",
            "evalResults",
            "gated",
            "gguf",
            "inference",
            "inferenceProviderMapping",
            "lastModified",
            "library_name",
            "likes",
            "mask_token",
            "model-index",
            "pipeline_tag",
            "private",
            "resourceGroup",
            "safetensors",
            "sha",
            "siblings",
            "spaces",
            "tags",
            "transformersInfo",
            "trendingScore",
            "usedStorage",
            "widgetData",
        ],
        RepoType::Dataset => &[
            "author",
            "cardData",
            "citation",
            "createdAt",
            "description",
            "disabled",
            "downloads",
            "downloadsAllTime",
            "gated",
            "lastModified",
            "likes",
            "mainSize",
            "paperswithcode_id",
            "private",
            "resourceGroup",
            "sha",
            "siblings",
            "tags",
            "trendingScore",
            "usedStorage",
        ],
        RepoType::Space => &[
            "author",
            "cardData",
            "createdAt",
            "datasets",
            "disabled",
            "lastModified",
            "likes",
            "models",
            "private",
            "region",
            "resourceGroup",
            "runtime",
            "sdk",
            "sha",
            "siblings",
            "subdomain",
            "tags",
            "trendingScore",
            "usedStorage",
        ],
    }
}

/// The fields of a listing entry without `expand` or `full` [inferred from the public API's
/// answers; hfdl always sends `expand`].
fn default_listing_fields(repo_type: RepoType) -> &'static [&'static str] {
    match repo_type {
        RepoType::Model => &[
            "likes",
            "trendingScore",
            "private",
            "downloads",
            "tags",
            "pipeline_tag",
            "library_name",
            "createdAt",
            "modelId",
        ],
        RepoType::Dataset => &[
            "author",
            "disabled",
            "gated",
            "lastModified",
            "likes",
            "trendingScore",
            "private",
            "sha",
            "downloads",
            "tags",
            "createdAt",
        ],
        RepoType::Space => &[
            "likes",
            "trendingScore",
            "private",
            "sdk",
            "tags",
            "createdAt",
        ],
    }
}

/// `GET /api/{models,datasets,spaces}`: the Hub's search (huggingface_hub `list_models`,
/// `list_datasets`, `list_spaces`). `search` is a case-insensitive substring of the id (every
/// value given), `author` the namespace, `filter` tags that must all be present (repeated or
/// comma-separated), `gated` and `pipeline_tag` filter too; `sort` is `downloads`, `likes`,
/// `lastModified`, `createdAt` or `trendingScore`, descending (`direction=-1`, the default)
/// or ascending (any other `direction`); `limit` is the page size (at most the server's page
/// size), and further pages are chained with an absolute `Link: <…&cursor=N>; rel="next"`.
/// `expand` (or `expand[]`) picks the fields; `full=true` gives all.
fn search(call: &Call<'_>, repo_type: RepoType) -> Outcome {
    let bad = |message: String| HubError::new(StatusCode::BAD_REQUEST, None, message);
    let values = |key: &str| call.query.get(key).cloned().unwrap_or_default();
    let last = |key: &str| call.query.get(key).and_then(|v| v.last()).cloned();
    let searches: Vec<String> = values("search")
        .iter()
        .map(|s| s.to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let author = last("author").filter(|a| !a.is_empty());
    let filters: Vec<String> = values("filter")
        .iter()
        .flat_map(|f| f.split(','))
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let gated_filter = last("gated").map(|g| truthy(&g));
    let pipeline_filter = last("pipeline_tag");
    let sort_key = last("sort");
    if let Some(key) = &sort_key
        && !matches!(
            key.as_str(),
            "downloads" | "likes" | "lastModified" | "createdAt" | "trendingScore"
        )
    {
        return Err(bad(format!("Invalid sort parameter: {key}")));
    }
    let ascending = last("direction").is_some_and(|d| d != "-1");
    let limit = match last("limit") {
        None => None,
        Some(text) => Some(
            text.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("Invalid limit: {text}")))?,
        ),
    };
    let mut expand = values("expand");
    expand.extend(values("expand[]"));
    if let Some(unknown) = expand
        .iter()
        .find(|e| !expandable(repo_type).contains(&e.as_str()))
    {
        return Err(bad(format!(
            "Invalid expand value \"{unknown}\" for {}",
            repo_type.plural()
        )));
    }
    let full = call.flag("full");

    let mut hits: Vec<serde_json::Map<String, Value>> = Vec::new();
    for repo in call.shared.fixtures.repos() {
        if repo.repo_type != repo_type || check_read(&repo, call.user.as_ref()).is_err() {
            continue;
        }
        if author.as_ref().is_some_and(|a| {
            !repo
                .namespace()
                .is_some_and(|ns| ns.eq_ignore_ascii_case(a))
        }) {
            continue;
        }
        let id = repo.id.to_lowercase();
        if !searches.iter().all(|s| id.contains(s.as_str())) {
            continue;
        }
        if gated_filter.is_some_and(|g| g != (repo.options.gated != Gated::No)) {
            continue;
        }
        let fields = repo_fields(call, &repo, repo.resolve("main"), false);
        let tags: Vec<&str> = fields["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !filters.iter().all(|f| tags.contains(&f.as_str())) {
            continue;
        }
        if pipeline_filter
            .as_ref()
            .is_some_and(|p| fields.get("pipeline_tag").and_then(Value::as_str) != Some(p))
        {
            continue;
        }
        hits.push(fields);
    }
    if let Some(key) = &sort_key {
        // Stable: ties keep the id order the fixtures are listed in.
        hits.sort_by(|a, b| {
            let order = match (&a[key.as_str()], &b[key.as_str()]) {
                (Value::String(x), Value::String(y)) => x.cmp(y),
                (x, y) => x
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&y.as_f64().unwrap_or(0.0)),
            };
            if ascending { order } else { order.reverse() }
        });
    }
    let page_size = limit
        .unwrap_or(1000)
        .min(call.shared.options.page_size)
        .clamp(1, 1000);
    let offset: usize = last("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|fields| {
            let picked: Vec<&str> = if full {
                fields.keys().map(String::as_str).collect()
            } else if expand.is_empty() {
                default_listing_fields(repo_type).to_vec()
            } else {
                expand.iter().map(String::as_str).collect()
            };
            let mut item = serde_json::Map::new();
            for key in ["_id", "id"].into_iter().chain(picked) {
                if let Some(value) = fields.get(key) {
                    item.insert(key.to_owned(), value.clone());
                }
            }
            Value::Object(item)
        })
        .collect();
    let mut response = call.json(&Value::Array(page));
    if offset + page_size < hits.len() {
        let path = format!("/api/{}", repo_type.plural());
        link_next_page(call, &mut response, &path, offset + page_size);
    }
    Ok(response)
}

/// Sets `Link: <endpoint/path?…&cursor=NEXT>; rel="next"`: the request's own query with the
/// cursor of the next page, as the Hub chains cursor-paged listings.
fn link_next_page(call: &Call, response: &mut Response, path: &str, next: usize) {
    let mut query: Vec<String> = call
        .raw_query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
        .map(str::to_owned)
        .collect();
    query.push(format!("cursor={next}"));
    let link = format!(
        "<{}{path}?{}>; rel=\"next\"",
        call.shared.endpoint,
        query.join("&")
    );
    if let Ok(value) = HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LINK, value);
    }
}

/// The directories of a commit's file table (every proper prefix of every path).
fn directories(commit: &Commit) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for path in commit.files.keys() {
        let mut end = 0;
        while let Some(offset) = path[end..].find('/') {
            end += offset;
            dirs.insert(path[..end].to_owned());
            end += 1;
        }
    }
    dirs
}

/// The most recent commit (walking first parents) at which `path` got its current content.
fn last_commit<'r>(repo: &'r Repo, commit: &'r Commit, path: &str) -> &'r Commit {
    let Some(current) = commit.files.get(path) else {
        return commit;
    };
    let mut last = commit;
    while let Some(parent) = last.parent.as_ref().and_then(|p| repo.commits.get(p)) {
        if parent.files.get(path).map(|f| &f.git_sha1) != Some(&current.git_sha1) {
            break;
        }
        last = parent;
    }
    last
}

fn entry_json(repo: &Repo, commit: &Commit, path: &str, expand: bool) -> Option<Value> {
    let mut entry = if let Some(file) = commit.files.get(path) {
        let mut entry =
            json!({ "type": "file", "oid": file.git_sha1, "size": file.size, "path": path });
        if file.is_lfs {
            entry["lfs"] = lfs_json(file, "oid");
        }
        if let Some(hash) = &file.xet_hash {
            entry["xetHash"] = json!(hash);
        }
        entry
    } else if directories(commit).contains(path) {
        let mut hasher = sha1::Sha1::new();
        let prefix = format!("{path}/");
        for (name, file) in commit
            .files
            .range(prefix.clone()..)
            .take_while(|(n, _)| n.starts_with(&prefix))
        {
            hasher.update(format!("{name}\0{}\n", file.git_sha1));
        }
        json!({ "type": "directory", "oid": hex::encode(hasher.finalize()), "size": 0, "path": path })
    } else {
        return None;
    };
    if expand {
        let last = last_commit(repo, commit, path);
        entry["lastCommit"] = json!({ "id": last.id, "title": last.message, "date": last.date });
        if entry["type"] == "file" {
            entry["securityFileStatus"] = json!({
                "status": "safe",
                "avScan": { "status": "safe" },
                "pickleImportScan": { "status": "unscanned" },
            });
        }
    }
    Some(entry)
}

fn tree(call: &Call<'_>, repo: &Repo, after: &[&str]) -> Outcome {
    let (revision, rest) = take_revision(after).ok_or_else(|| HubError::revision_not_found(""))?;
    let commit = resolve_revision(repo, &revision)?;
    let base = decode(&rest.join("/")).trim_matches('/').to_owned();
    let dirs = directories(commit);
    if !base.is_empty() && !dirs.contains(&base) {
        return Err(HubError::new(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            format!("{base} does not exist on \"{revision}\""),
        )
        .with_header("x-repo-commit", commit.id.clone()));
    }
    let recursive = call.flag("recursive");
    let expand = call.flag("expand");
    let prefix = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };
    let mut paths: Vec<&str> = commit
        .files
        .keys()
        .chain(dirs.iter())
        .map(String::as_str)
        .filter(|p| p.starts_with(&prefix) && *p != base)
        .filter(|p| recursive || !p[prefix.len()..].contains('/'))
        .collect();
    paths.sort_unstable();
    let page_size = if expand {
        call.shared.options.page_size.min(50)
    } else {
        call.shared.options.page_size
    }
    .max(1);
    let offset: usize = call
        .query
        .get("cursor")
        .and_then(|c| c.last())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = paths
        .iter()
        .skip(offset)
        .take(page_size)
        .filter_map(|p| entry_json(repo, commit, p, expand))
        .collect();
    let mut response = call.json(&Value::Array(page));
    if offset + page_size < paths.len() {
        let path = format!(
            "/api/{}/{}/tree/{}{}",
            repo.repo_type.plural(),
            repo.id,
            utf8_percent_encode(&revision, QUOTE_ALL),
            if base.is_empty() {
                String::new()
            } else {
                format!("/{}", utf8_percent_encode(&base, QUOTE_PATH))
            }
        );
        link_next_page(call, &mut response, &path, offset + page_size);
    }
    Ok(response)
}

/// `GET /api/{type}s/{id}/commits/{rev}`: the history of a revision, newest first, as
/// `HfApi.list_repo_commits` reads it (`id`, `title`, `message`, `authors[].user`, `date`, and
/// `formatted` with `expand[]=formatted`). Pages are numbered (`?p=N`, from 0) and chained with
/// an absolute `Link: <…?p=N+1>; rel="next"`, which `utils.paginate` follows verbatim.
fn commits(call: &Call<'_>, repo: &Repo, after: &[&str]) -> Outcome {
    let (revision, _) = take_revision(after).ok_or_else(|| HubError::revision_not_found(""))?;
    let tip = resolve_revision(repo, &revision)?;
    // First parents only: fixture histories are linear, and this is `git log --first-parent`.
    let history: Vec<&Commit> = std::iter::successors(Some(tip), |c| {
        c.parent.as_ref().and_then(|p| repo.commits.get(p))
    })
    .collect();
    // The Hub's page size for commits; smaller when a test asks for small pages.
    let page_size = call.shared.options.page_size.clamp(1, 50);
    let page_number: usize = call
        .query
        .get("p")
        .and_then(|p| p.last())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let formatted = call
        .query
        .get("expand[]")
        .or_else(|| call.query.get("expand"))
        .is_some_and(|values| values.iter().any(|v| v == "formatted"));
    let author = repo.namespace().unwrap_or(&repo.id);
    let page: Vec<Value> = history
        .iter()
        .skip(page_number.saturating_mul(page_size))
        .take(page_size)
        .map(|commit| {
            let (title, body) = commit
                .message
                .split_once('\n')
                .unwrap_or((&commit.message, ""));
            let mut item = json!({
                "id": commit.id,
                "title": title,
                "message": body.trim_start_matches('\n'),
                "authors": [{ "user": author, "avatar": format!("https://huggingface.co/avatars/{author}.svg") }],
                "date": commit.date,
            });
            if formatted {
                item["formatted"] = json!({ "title": title, "message": body.trim_start_matches('\n') });
            }
            item
        })
        .collect();
    let mut response = call.json(&Value::Array(page));
    if (page_number + 1).saturating_mul(page_size) < history.len() {
        let mut query: Vec<String> = call
            .raw_query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("p="))
            .map(str::to_owned)
            .collect();
        query.push(format!("p={}", page_number + 1));
        let link = format!(
            "<{}/api/{}/{}/commits/{}?{}>; rel=\"next\"",
            call.shared.endpoint,
            repo.repo_type.plural(),
            repo.id,
            utf8_percent_encode(&revision, QUOTE_ALL),
            query.join("&")
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

fn paths_info(
    call: &Call<'_>,
    repo: &Repo,
    revision: &str,
    content_type: &str,
    body: &[u8],
) -> Outcome {
    let commit = resolve_revision(repo, revision)?;
    let (paths, expand) = if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            HubError::new(
                StatusCode::BAD_REQUEST,
                None,
                format!("invalid JSON body: {e}"),
            )
        })?;
        let paths = value["paths"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        (paths, value["expand"].as_bool().unwrap_or(false))
    } else {
        let form = parse_query(Some(&String::from_utf8_lossy(body)));
        let paths = form.get("paths").cloned().unwrap_or_default();
        let expand = form
            .get("expand")
            .and_then(|v| v.last())
            .is_some_and(|v| truthy(v));
        (paths, expand)
    };
    let mut seen = BTreeSet::new();
    let entries: Vec<Value> = paths
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| seen.insert(p.to_owned()))
        .filter_map(|p| entry_json(repo, commit, p, expand))
        .collect();
    Ok(call.json(&Value::Array(entries)))
}

fn refs(call: &Call<'_>, repo: &Repo) -> Response {
    let list = |kind: &str, refs: &BTreeMap<String, String>| -> Vec<Value> {
        refs.iter()
            .map(|(name, commit)| json!({ "name": name, "ref": format!("refs/{kind}/{name}"), "targetCommit": commit }))
            .collect()
    };
    let mut value = json!({
        "branches": list("heads", &repo.branches),
        "converts": [],
        "tags": list("tags", &repo.tags),
    });
    if call.flag("include_prs") {
        value["pullRequests"] = repo
            .pull_requests
            .iter()
            .map(|(n, commit)| json!({ "name": format!("refs/pr/{n}"), "ref": format!("refs/pr/{n}"), "targetCommit": commit }))
            .collect();
    }
    call.json(&value)
}

fn whoami(call: &Call<'_>) -> Outcome {
    let Some(user) = &call.user else {
        return Err(HubError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Invalid username or password.",
        ));
    };
    let id = hex::encode(&sha2::Sha256::digest(&user.name)[..12]);
    Ok(call.json(&json!({
        "type": "user",
        "id": id,
        "name": user.name,
        "fullname": user.name,
        "email": format!("{}@example.com", user.name),
        "emailVerified": true,
        "canPay": false,
        "isPro": false,
        "periodEnd": null,
        "avatarUrl": "/avatars/default.svg",
        "billingMode": "postpaid",
        "orgs": user.orgs.iter().map(|o| json!({ "type": "org", "name": o, "fullname": o })).collect::<Vec<_>>(),
        "auth": {
            "type": "access_token",
            "accessToken": { "displayName": user.token_name, "role": user.role, "createdAt": "2024-01-01T00:00:00.000Z" },
        },
    })))
}

/// `HEAD`/`GET /{prefix}{repo}/resolve/{rev}/{path}`.
fn resolve(call: &Call<'_>, path: &str) -> Outcome {
    let not_found = || HubError::new(StatusCode::NOT_FOUND, None, format!("no route for {path}"));
    let (before, after) = path.split_once("/resolve/").ok_or_else(not_found)?;
    let before = before.trim_start_matches('/');
    let (repo_type, id) = RepoType::ALL
        .into_iter()
        .filter(|t| *t != RepoType::Model)
        .find_map(|t| before.strip_prefix(t.url_prefix()).map(|id| (t, id)))
        .unwrap_or((RepoType::Model, before));
    let segments: Vec<&str> = after.split('/').collect();
    let (revision, rest) = take_revision(&segments).ok_or_else(not_found)?;
    let file_path = decode(&rest.join("/"));
    let repo = match find_repo(call, repo_type, id, |canonical| {
        format!("/{}{canonical}/resolve/{after}", repo_type.url_prefix())
    }) {
        Ok(repo) => repo,
        Err(outcome) => return outcome,
    };
    check_content(&repo, call.user.as_ref())?;
    let commit = resolve_revision(&repo, &revision)?;
    let file = commit.files.get(&file_path).ok_or_else(|| {
        HubError::new(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            format!("{file_path} does not exist on \"{revision}\""),
        )
        .with_header("x-repo-commit", commit.id.clone())
    })?;
    if file.is_lfs {
        return Ok(cdn_redirect(call, &repo, commit, file));
    }
    if call.shared.options.regular_file_redirect {
        let location = format!(
            "/api/resolve-cache/{}/{}/{}/{}?etag=%22{}%22",
            repo_type.plural(),
            repo.id,
            commit.id,
            utf8_percent_encode(&file_path, QUOTE_PATH),
            file.git_sha1
        );
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
        let headers = response.headers_mut();
        insert(headers, header::LOCATION, &location);
        insert(headers, "x-repo-commit", &commit.id);
        return Ok(response);
    }
    Ok(serve_regular(call, commit, file))
}

/// `HEAD`/`GET /api/resolve-cache/{type}s/{repo}/{commit}/{path}`: where the Hub's `307` for a
/// regular file points.
fn resolve_cache(call: &Call<'_>, rest: &str) -> Outcome {
    let segments: Vec<&str> = rest.split('/').collect();
    let not_found = || {
        HubError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no route for /api/resolve-cache/{rest}"),
        )
    };
    let repo_type = segments
        .first()
        .and_then(|p| RepoType::from_plural(p))
        .ok_or_else(not_found)?;
    let commit_index = (2..=3)
        .find(|&i| {
            segments
                .get(i)
                .is_some_and(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .ok_or_else(not_found)?;
    let id = segments[1..commit_index].join("/");
    let commit_id = segments[commit_index];
    let file_path = decode(&segments[commit_index + 1..].join("/"));
    let repo = match find_repo(call, repo_type, &id, |canonical| {
        format!(
            "/api/resolve-cache/{}/{canonical}/{}",
            repo_type.plural(),
            segments[commit_index..].join("/")
        )
    }) {
        Ok(repo) => repo,
        Err(outcome) => return outcome,
    };
    check_content(&repo, call.user.as_ref())?;
    let commit = resolve_revision(&repo, commit_id)?;
    let file = commit.files.get(&file_path).ok_or_else(|| {
        HubError::new(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            format!("{file_path} does not exist on \"{commit_id}\""),
        )
        .with_header("x-repo-commit", commit.id.clone())
    })?;
    if file.is_lfs {
        return Ok(cdn_redirect(call, &repo, commit, file));
    }
    Ok(serve_regular(call, commit, file))
}

pub(crate) fn insert(headers: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Signature of a CDN URL: proves the Hub issued it (the CDN itself never sees a token).
pub fn sign(secret: &str, sha256: &str, expires: &str) -> String {
    hex::encode(&sha2::Sha256::digest(format!("{secret}:{sha256}:{expires}"))[..16])
}

/// The LFS answer: `302` to the CDN origin with the Hub's metadata headers on the redirect.
fn cdn_redirect(call: &Call<'_>, repo: &Repo, commit: &Commit, file: &FileInfo) -> Response {
    let expires = "4102444800"; // 2100-01-01: far enough for any test
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let disposition = format!("inline; filename*=UTF-8''{name}; filename=\"{name}\";");
    let location = if let Some(hash) = &file.xet_hash {
        crate::xet::cas::bridge_url(call.shared, repo, hash, &disposition)
    } else {
        format!(
            "{}/cdn/{}?response-content-disposition={}&Expires={expires}&Signature={}&Key-Pair-Id=MOCKHUB",
            call.shared.cdn_origin,
            file.content_sha256,
            utf8_percent_encode(&disposition, QUOTE_ALL),
            sign(&call.shared.secret, &file.content_sha256, expires),
        )
    };
    let text = format!("Found. Redirecting to {location}");
    let body_len = text.len();
    let mut response = Response::new(if call.head() {
        Body::empty()
    } else {
        Body::from(text)
    });
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    insert(headers, header::LOCATION, &location);
    insert(headers, header::CONTENT_TYPE, "text/plain; charset=utf-8");
    insert(headers, header::CONTENT_LENGTH, &body_len.to_string());
    insert(headers, "x-repo-commit", &commit.id);
    insert(
        headers,
        "x-linked-etag",
        &format!("\"{}\"", file.content_sha256),
    );
    insert(headers, "x-linked-size", &file.size.to_string());
    if let Some(hash) = &file.xet_hash {
        crate::xet::cas::insert_resolve_headers(call.shared, headers, repo, commit, hash);
    }
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("json") => "application/json",
        Some("md" | "txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A regular file's bytes with its Hub headers (`ETag` = git sha1).
fn serve_regular(call: &Call<'_>, commit: &Commit, file: &FileInfo) -> Response {
    let etag = format!("\"{}\"", file.git_sha1);
    if call.header(header::IF_NONE_MATCH).is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag)
    }) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        insert(response.headers_mut(), header::ETAG, &etag);
        insert(response.headers_mut(), "x-repo-commit", &commit.id);
        return response;
    }
    let mut response = serve_bytes(
        call.shared,
        &call.method,
        &call.headers,
        call.fault.clone(),
        file,
    );
    let headers = response.headers_mut();
    insert(headers, header::ETAG, &etag);
    insert(headers, "x-repo-commit", &commit.id);
    insert(headers, header::CONTENT_TYPE, content_type(&file.path));
    response
}

/// The content of `file` with `Range` support: `200`, `206` or `416`.
pub(crate) fn serve_bytes(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    fault: Option<Fault>,
    file: &FileInfo,
) -> Response {
    let size = file.size;
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let outcome = if matches!(fault, Some(Fault::IgnoreRange)) {
        RangeOutcome::Full
    } else {
        body::parse_range(range_header, size)
    };
    let (status, start, len) = match outcome {
        RangeOutcome::Full => (StatusCode::OK, 0, size),
        RangeOutcome::Partial { start, end } => {
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeOutcome::Unsatisfiable => {
            let mut response = HubError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                None,
                format!(
                    "Requested range not satisfiable: {}",
                    range_header.unwrap_or_default()
                ),
            )
            .into_response(*method == Method::HEAD);
            insert(
                response.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes */{size}"),
            );
            return response;
        }
    };
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        body::stream(
            Source::File(shared.fixtures.object_path(&file.content_sha256)),
            start,
            len,
            fault,
            shared.recorder.clone(),
        )
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    insert(headers, header::CONTENT_LENGTH, &len.to_string());
    insert(headers, header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        insert(
            headers,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    response
}

/// The CDN origin: `GET`/`HEAD /cdn/{sha256}?…&Expires=…&Signature=…`. No auth, no Hub headers.
pub async fn cdn(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if request.uri().path().starts_with("/xet-bridge-us/") {
        let response = crate::xet::cas::bridge(&shared, &request);
        record(&shared, &request, RequestKind::XetBridge, response.status());
        return response;
    }
    let response = cdn_route(&shared, &request);
    record(&shared, &request, RequestKind::Cdn, response.status());
    response
}

fn cdn_route(shared: &Shared, request: &Request) -> Response {
    let denied = |message: &str| {
        let mut response = Response::new(Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        )));
        *response.status_mut() = StatusCode::FORBIDDEN;
        insert(
            response.headers_mut(),
            header::CONTENT_TYPE,
            "application/xml",
        );
        response
    };
    let path = request.uri().path();
    let fault = shared.recorder.take_fault(path);
    if let Some(mut response) = status_fault(
        fault.as_ref(),
        RequestKind::Cdn,
        request.method() == Method::HEAD,
    ) {
        // The CDN is not the Hub: its errors carry no Hub headers.
        response.headers_mut().remove("x-error-message");
        return response;
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return denied("method not allowed");
    }
    let Some(sha256) = path
        .strip_prefix("/cdn/")
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return denied("no such object");
    };
    let query = parse_query(request.uri().query());
    let get = |key: &str| {
        query
            .get(key)
            .and_then(|v| v.last())
            .cloned()
            .unwrap_or_default()
    };
    if get("Signature") != sign(&shared.secret, sha256, &get("Expires")) {
        return denied("Invalid signature");
    }
    let object = shared.fixtures.object_path(sha256);
    let Ok(metadata) = fs_err::metadata(&object) else {
        let mut response = Response::new(Body::from("NoSuchKey"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let file = FileInfo {
        path: String::new(),
        size: metadata.len(),
        git_sha1: String::new(),
        sha256: Some(sha256.to_owned()),
        is_lfs: true,
        content_sha256: sha256.to_owned(),
        xet_hash: None,
    };
    let mut response = serve_bytes(shared, request.method(), request.headers(), fault, &file);
    let headers = response.headers_mut();
    insert(headers, header::CONTENT_TYPE, "application/octet-stream");
    let disposition = get("response-content-disposition");
    if !disposition.is_empty() {
        insert(headers, header::CONTENT_DISPOSITION, &disposition);
    }
    insert(headers, "x-cache", "Hit from cloudfront");
    response
}
