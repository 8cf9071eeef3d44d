//! The Xet read path over HTTP (xet-protocol.md §2–§3, §8, §10): the Hub's Xet headers and
//! token grants, the CAS origin (reconstructions, signed xorb ranges, telemetry) and the
//! cas-bridge that serves whole files to clients without Xet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::store::{XetFile, XorbInfo};
use crate::body::{self, RangeOutcome, Source};
use crate::fixtures::{Commit, FileInfo, Repo, RepoType};
use crate::record::{ByteCounter, Fault, RequestKind};
use crate::server::{Shared, insert, parse_query, record, serve_bytes, status_fault};

/// Ranges per v2 fetch entry (the Hub splits when the signed URL would grow past ~8 KiB).
const MAX_RANGES_PER_FETCH: usize = 256;

/// What an access token allows: reading the Xet files of one repo until `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub repo_type: RepoType,
    pub repo_id: String,
    pub exp: u64,
}

/// A token the token endpoint hands out.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub exp: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn digest(text: &str) -> String {
    hex::encode(&sha2::Sha256::digest(text)[..16])
}

/// Issues a read token for `repo` (scoped to the repo; `commit` is part of its text only).
pub fn issue_token(shared: &Shared, repo: &Repo, commit: &str, expired: bool) -> IssuedToken {
    let exp = if expired {
        now().saturating_sub(60)
    } else {
        now() + shared.options.xet_token_ttl_secs
    };
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let access_token = format!(
        "xet_{}",
        digest(&format!(
            "{}:{}:{}:{commit}:{exp}:{nonce}",
            shared.secret,
            repo.repo_type.plural(),
            repo.id
        ))
    );
    shared
        .xet_grants
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            access_token.clone(),
            Grant {
                repo_type: repo.repo_type,
                repo_id: repo.id.clone(),
                exp,
            },
        );
    IssuedToken { access_token, exp }
}

/// The 24-hex id the bridge's paths carry for a repo.
fn repo_object_id(repo: &Repo) -> String {
    let mut id = sha2::Sha256::digest(format!("{}/{}", repo.repo_type.plural(), repo.id));
    id[..12].reverse();
    hex::encode(&id[..12])
}

fn bridge_signature(shared: &Shared, hash: &str, expires: &str) -> String {
    digest(&format!("{}:bridge:{hash}:{expires}", shared.secret))
}

/// Where `GET /resolve` of a Xet file redirects: the cas-bridge on the CDN origin.
pub fn bridge_url(shared: &Shared, repo: &Repo, hash: &str, disposition: &str) -> String {
    let expires = "4102444800";
    format!(
        "{}/xet-bridge-us/{}/{hash}?X-Xet-Cas-Uid=public&response-content-disposition={}&Expires={expires}&Signature={}&Key-Pair-Id=MOCKHUB",
        shared.cdn_origin,
        repo_object_id(repo),
        utf8_percent_encode(disposition, NON_ALPHANUMERIC),
        bridge_signature(shared, hash, expires),
    )
}

/// The Xet headers of a `/resolve` redirect: `X-Xet-Hash` and the `Link` to the token endpoint
/// (`xet-auth`) and to the reconstruction (`xet-reconstruction-info`).
pub fn insert_resolve_headers(
    shared: &Shared,
    headers: &mut HeaderMap,
    repo: &Repo,
    commit: &Commit,
    hash: &str,
) {
    insert(headers, "x-xet-hash", hash);
    let link = format!(
        "<{}/api/{}/{}/xet-read-token/{}>; rel=\"xet-auth\", <{}/v1/reconstructions/{hash}>; rel=\"xet-reconstruction-info\"",
        shared.endpoint,
        repo.repo_type.plural(),
        repo.id,
        commit.id,
        shared.cas_origin,
    );
    insert(headers, header::LINK, &link);
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = Response::new(Body::from(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )));
    *response.status_mut() = status;
    insert(
        response.headers_mut(),
        header::CONTENT_TYPE,
        "application/xml",
    );
    response
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut response = Response::new(Body::from(json!({ "error": message }).to_string()));
    *response.status_mut() = status;
    insert(
        response.headers_mut(),
        header::CONTENT_TYPE,
        "application/json",
    );
    response
}

fn query_value(query: &BTreeMap<String, Vec<String>>, key: &str) -> String {
    query
        .get(key)
        .and_then(|v| v.last())
        .cloned()
        .unwrap_or_default()
}

/// `GET`/`HEAD /xet-bridge-us/{repo id}/{xet hash}?…`: the whole file over plain HTTP (with
/// ranges), as the Hub's bridge reconstructs it for clients without Xet.
pub fn bridge(shared: &Shared, request: &Request) -> Response {
    let path = request.uri().path();
    let fault = shared.recorder.take_fault(path);
    let head = request.method() == Method::HEAD;
    if let Some(mut response) = status_fault(fault.as_ref(), RequestKind::XetBridge, head) {
        response.headers_mut().remove("x-error-message");
        return response;
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "method not allowed");
    }
    let Some(hash) = path.rsplit('/').next() else {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "no such object");
    };
    let query = parse_query(request.uri().query());
    let expires = query_value(&query, "Expires");
    if query_value(&query, "Signature") != bridge_signature(shared, hash, &expires) {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Invalid signature");
    }
    let Some(file) = shared.fixtures.xet_store().file(hash) else {
        return xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "no such file");
    };
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let wanted = match body::parse_range(range, file.size) {
        RangeOutcome::Partial { start, end } => end - start + 1,
        _ => file.size,
    };
    if wanted > shared.options.bridge_max_response {
        return xml_error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "the file is too large to be downloaded through basic http requests; use Xet or ranges",
        );
    }
    let info = FileInfo {
        path: String::new(),
        size: file.size,
        git_sha1: String::new(),
        sha256: Some(file.sha256.clone()),
        is_lfs: true,
        content_sha256: file.sha256.clone(),
        xet_hash: Some(file.hash.clone()),
    };
    let mut response = serve_bytes(shared, request.method(), request.headers(), fault, &info);
    let headers = response.headers_mut();
    insert(headers, header::CONTENT_TYPE, "application/octet-stream");
    insert(headers, header::ETAG, &format!("\"{}\"", file.sha256));
    insert(headers, header::CACHE_CONTROL, "public, max-age=31536000");
    let disposition = query_value(&query, "response-content-disposition");
    if !disposition.is_empty() {
        insert(headers, header::CONTENT_DISPOSITION, &disposition);
    }
    insert(headers, "x-cache", "Hit from cloudfront");
    response
}

fn classify(path: &str) -> RequestKind {
    if path.starts_with("/v1/reconstructions/") || path.starts_with("/v2/reconstructions/") {
        RequestKind::XetReconstruction
    } else if path.starts_with("/xorb/") {
        RequestKind::XetXorb
    } else {
        RequestKind::XetOther
    }
}

/// The CAS origin's single entry point.
pub async fn cas(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let kind = classify(request.uri().path());
    let response = cas_route(&shared, &request, kind);
    record(&shared, &request, kind, response.status());
    response
}

fn cas_route(shared: &Shared, request: &Request, kind: RequestKind) -> Response {
    let path = request.uri().path();
    let head = request.method() == Method::HEAD;
    let fault = shared.recorder.take_fault(path);
    if let Some(mut response) = status_fault(fault.as_ref(), kind, head) {
        response.headers_mut().remove("x-error-message");
        return response;
    }
    match (request.method().clone(), kind) {
        (Method::GET, RequestKind::XetReconstruction) => reconstruction(shared, request, fault),
        (Method::GET | Method::HEAD, RequestKind::XetXorb) => xorb(shared, request, fault),
        (Method::POST, _) if path == "/v1/telemetry" => Response::new(Body::empty()),
        (Method::HEAD, _) => exists(shared, request),
        _ => json_error(StatusCode::NOT_FOUND, &format!("no route for {path}")),
    }
}

/// The grant of the request's Bearer token, or the `401`.
fn authorize(shared: &Shared, request: &Request, fault: Option<&Fault>) -> Result<Grant, Response> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let grant = token.and_then(|t| {
        shared
            .xet_grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(t)
            .cloned()
    });
    let Some(grant) = grant else {
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "invalid or missing token",
        ));
    };
    if grant.exp <= now() || matches!(fault, Some(Fault::ExpiredToken)) {
        return Err(json_error(StatusCode::UNAUTHORIZED, "token expired"));
    }
    Ok(grant)
}

/// Whether the granted repo has (in any commit) a file with Xet hash `hash`.
fn in_scope(shared: &Shared, grant: &Grant, hash: &str) -> bool {
    shared
        .fixtures
        .repo(grant.repo_type, &grant.repo_id)
        .is_some_and(|repo| {
            repo.commits.values().any(|c| {
                c.files
                    .values()
                    .any(|f| f.xet_hash.as_deref() == Some(hash))
            })
        })
}

/// `HEAD /v1/files/{id}` and `HEAD /v1/xorbs/default/{hash}`: existence and size.
fn exists(shared: &Shared, request: &Request) -> Response {
    if let Err(response) = authorize(shared, request, None) {
        return response;
    }
    let path = request.uri().path();
    let store = shared.fixtures.xet_store();
    let size = if let Some(hash) = path.strip_prefix("/v1/files/") {
        store.file(hash).map(|f| f.size)
    } else if let Some(hash) = path.strip_prefix("/v1/xorbs/default/") {
        store.xorb(hash).map(|x| x.size())
    } else {
        None
    };
    let mut response = Response::new(Body::empty());
    match size {
        Some(size) => insert(
            response.headers_mut(),
            header::CONTENT_LENGTH,
            &size.to_string(),
        ),
        None => *response.status_mut() = StatusCode::NOT_FOUND,
    }
    response
}

/// A trimmed term of a reconstruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTerm {
    pub xorb: String,
    pub start: u32,
    pub end: u32,
    pub unpacked: u64,
}

/// A reconstruction before URLs: terms, the skip into the first, and per xorb the merged chunk
/// ranges with their serialized byte ranges (`[start, end)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub offset_into_first_range: u64,
    pub terms: Vec<PlannedTerm>,
    pub xorbs: BTreeMap<String, Vec<MergedRange>>,
}

/// Chunks `[a, b)` of a xorb and their serialized bytes `[start, end)`.
pub type MergedRange = ((u32, u32), (u64, u64));

/// What xet-core's own test server answers (xet-protocol.md §3.4) for bytes `[s, e]` of `file`
/// (`e` clamped to the end); `None` when `s` is past the end (`416`).
pub fn plan(
    file: &XetFile,
    xorbs: &BTreeMap<String, XorbInfo>,
    range: Option<(u64, u64)>,
) -> Option<Plan> {
    let (first, last) = match range {
        None if file.size == 0 => (0, 0),
        None => (0, file.size - 1),
        Some((s, _)) if s >= file.size => {
            return (file.size == 0 && s == 0).then(|| Plan {
                offset_into_first_range: 0,
                terms: Vec::new(),
                xorbs: BTreeMap::new(),
            });
        }
        Some((s, e)) => (s, e.min(file.size - 1)),
    };
    let mut terms = Vec::new();
    let mut offset_into_first_range = 0;
    let mut position = 0u64;
    for term in &file.terms {
        let term_end = position + term.unpacked;
        if term_end <= first {
            position = term_end;
            continue;
        }
        if position > last || file.size == 0 {
            break;
        }
        let xorb = xorbs.get(&term.xorb)?;
        let mut kept: Option<(u32, u32, u64)> = None;
        let mut chunk_start = position;
        for i in term.start..term.end {
            let len = u64::from(xorb.chunks[i as usize].len);
            let chunk_end = chunk_start + len;
            if chunk_end > first && chunk_start <= last {
                match &mut kept {
                    None => {
                        if terms.is_empty() {
                            offset_into_first_range = first - chunk_start;
                        }
                        kept = Some((i, i + 1, len));
                    }
                    Some((_, end, unpacked)) => {
                        *end = i + 1;
                        *unpacked += len;
                    }
                }
            }
            chunk_start = chunk_end;
        }
        if let Some((start, end, unpacked)) = kept {
            terms.push(PlannedTerm {
                xorb: term.xorb.clone(),
                start,
                end,
                unpacked,
            });
        }
        position = term_end;
    }
    let mut ranges: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    for term in &terms {
        ranges
            .entry(term.xorb.clone())
            .or_default()
            .push((term.start, term.end));
    }
    let mut merged = BTreeMap::new();
    for (hash, mut list) in ranges {
        list.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (a, b) in list {
            match out.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        let xorb = xorbs.get(&hash)?;
        merged.insert(
            hash,
            out.into_iter()
                .map(|(a, b)| ((a, b), xorb.byte_range(a, b)))
                .collect(),
        );
    }
    Some(Plan {
        offset_into_first_range,
        terms,
        xorbs: merged,
    })
}

fn url_signature(shared: &Shared, xorb: &str, ranges: &str, expires: u64) -> String {
    digest(&format!("{}:xorb:{xorb}:{ranges}:{expires}", shared.secret))
}

/// A signed URL for byte ranges (`[start, end)`) of a xorb.
fn xorb_url(shared: &Shared, xorb: &str, ranges: &[(u64, u64)], expires: u64) -> String {
    let signed = format!(
        "bytes={}",
        ranges
            .iter()
            .map(|(a, b)| format!("{a}-{}", b - 1))
            .collect::<Vec<_>>()
            .join(",")
    );
    format!(
        "{}/xorb/default/{xorb}?X-Xet-Signed-Range={}&Expires={expires}&Signature={}&Key-Pair-Id=MOCKCAS",
        shared.cas_origin,
        utf8_percent_encode(&signed, NON_ALPHANUMERIC),
        url_signature(shared, xorb, &signed, expires),
    )
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `size` bytes.
fn reconstruction_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header else {
        return Ok(None);
    };
    let spec = spec.trim().strip_prefix("bytes=").ok_or(())?;
    let (a, b) = spec.split_once('-').ok_or(())?;
    match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            Ok(Some((size.saturating_sub(n), u64::MAX)))
        }
        (a, "") => Ok(Some((a.parse().map_err(|_| ())?, u64::MAX))),
        (a, b) => {
            let (a, b): (u64, u64) = (a.parse().map_err(|_| ())?, b.parse().map_err(|_| ())?);
            if b < a {
                return Err(());
            }
            Ok(Some((a, b)))
        }
    }
}

/// `GET /v2/reconstructions/{file}` and `GET /v1/reconstructions/{file}`.
fn reconstruction(shared: &Shared, request: &Request, fault: Option<Fault>) -> Response {
    let grant = match authorize(shared, request, fault.as_ref()) {
        Ok(grant) => grant,
        Err(response) => return response,
    };
    let path = request.uri().path();
    let v2 = path.starts_with("/v2/");
    let hash = &path["/v1/reconstructions/".len()..];
    if super::hash::XetHash::parse(hash).is_none() {
        return json_error(StatusCode::BAD_REQUEST, "invalid file id");
    }
    let store = shared.fixtures.xet_store();
    let Some(file) = store.file(hash) else {
        return json_error(StatusCode::NOT_FOUND, "file not found");
    };
    if !in_scope(shared, &grant, hash) {
        return json_error(StatusCode::FORBIDDEN, "the token does not grant this file");
    }
    let range_header = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let Ok(range) = reconstruction_range(range_header, file.size) else {
        return json_error(StatusCode::BAD_REQUEST, "invalid range");
    };
    let mut xorbs = BTreeMap::new();
    for term in &file.terms {
        if !xorbs.contains_key(&term.xorb) {
            let Some(info) = store.xorb(&term.xorb) else {
                return json_error(StatusCode::INTERNAL_SERVER_ERROR, "missing xorb");
            };
            xorbs.insert(term.xorb.clone(), info);
        }
    }
    let Some(plan) = plan(&file, &xorbs, range) else {
        let mut response = json_error(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
        insert(
            response.headers_mut(),
            header::CONTENT_RANGE,
            &format!("bytes */{}", file.size),
        );
        return response;
    };
    let expires = if matches!(fault, Some(Fault::ExpiredUrl)) {
        now().saturating_sub(60)
    } else {
        now() + shared.options.xet_url_ttl_secs
    };
    let mut terms: Vec<Value> = plan
        .terms
        .iter()
        .map(|t| {
            json!({
                "hash": t.xorb,
                "unpacked_length": t.unpacked,
                "range": { "start": t.start, "end": t.end },
            })
        })
        .collect();
    if matches!(fault, Some(Fault::WrongUnpackedLength))
        && let Some(first) = terms.first_mut()
    {
        first["unpacked_length"] = json!(plan.terms[0].unpacked + 1);
    }
    let mut fetch = serde_json::Map::new();
    for (xorb, ranges) in &plan.xorbs {
        let entries: Vec<Value> = if v2 {
            ranges
                .chunks(MAX_RANGES_PER_FETCH)
                .map(|group| {
                    let bytes: Vec<(u64, u64)> = group.iter().map(|(_, b)| *b).collect();
                    json!({
                        "url": xorb_url(shared, xorb, &bytes, expires),
                        "ranges": group.iter().map(|((a, b), (s, e))| json!({
                            "chunks": { "start": a, "end": b },
                            "bytes": { "start": s, "end": e - 1 },
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect()
        } else {
            ranges
                .iter()
                .map(|((a, b), (s, e))| {
                    json!({
                        "range": { "start": a, "end": b },
                        "url": xorb_url(shared, xorb, &[(*s, *e)], expires),
                        "url_range": { "start": s, "end": e - 1 },
                    })
                })
                .collect()
        };
        fetch.insert(xorb.clone(), Value::Array(entries));
    }
    let mut value = json!({
        "offset_into_first_range": plan.offset_into_first_range,
        "terms": terms,
    });
    value[if v2 { "xorbs" } else { "fetch_info" }] = Value::Object(fetch);
    let bytes = Bytes::from(value.to_string());
    let len = bytes.len() as u64;
    let body = match fault {
        Some(fault @ (Fault::Stall | Fault::CutAfter(_) | Fault::Slow { .. })) => body::stream(
            Source::Memory(bytes),
            0,
            len,
            Some(fault),
            shared.recorder.clone(),
        ),
        _ => Body::from(bytes),
    };
    let mut response = Response::new(body);
    insert(
        response.headers_mut(),
        header::CONTENT_TYPE,
        "application/json",
    );
    response
}

/// Parses a `Range` header with one or several `a-b` ranges (inclusive).
fn byte_ranges(header: &str) -> Option<Vec<(u64, u64)>> {
    header
        .trim()
        .strip_prefix("bytes=")?
        .split(',')
        .map(|part| {
            let (a, b) = part.trim().split_once('-')?;
            let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b).then_some((a, b))
        })
        .collect()
}

/// `GET /xorb/default/{hash}?X-Xet-Signed-Range=…&Expires=…&Signature=…`: byte ranges of a xorb,
/// only inside the signed ranges, no `Authorization` needed.
fn xorb(shared: &Shared, request: &Request, fault: Option<Fault>) -> Response {
    let path = request.uri().path();
    let Some(hash) = path.strip_prefix("/xorb/default/") else {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "no such object");
    };
    let query = parse_query(request.uri().query());
    let signed = query_value(&query, "X-Xet-Signed-Range");
    let expires: u64 = query_value(&query, "Expires").parse().unwrap_or(0);
    if query_value(&query, "Signature") != url_signature(shared, hash, &signed, expires) {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Invalid signature");
    }
    if expires <= now() || matches!(fault, Some(Fault::ExpiredUrl)) {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let Some(allowed) = byte_ranges(&signed) else {
        return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "bad signed range");
    };
    let xorb_path = shared.fixtures.xet_store().xorb_path(hash);
    let Ok(total) = fs_err::metadata(&xorb_path).map(|m| m.len()) else {
        return xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "no such xorb");
    };
    let requested = match request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(header) => match byte_ranges(header) {
            Some(ranges) => ranges,
            None => return xml_error(StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange", header),
        },
        None if allowed.len() == 1 => allowed.clone(),
        None => {
            return xml_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "a Range inside the signed ranges is required",
            );
        }
    };
    let inside = |(a, b): (u64, u64)| allowed.iter().any(|&(s, e)| s <= a && b <= e);
    if !requested.iter().all(|&r| inside(r)) {
        return xml_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "range outside the signed ranges",
        );
    }
    if requested.iter().any(|&(_, b)| b >= total) {
        return xml_error(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "past the end",
        );
    }
    let head = request.method() == Method::HEAD;
    let mut response;
    if let [(a, b)] = requested[..] {
        let len = b - a + 1;
        let fault = match fault {
            Some(Fault::FlipChunkByte) => Some(Fault::Corrupt { offset: a + 8 }),
            other => other,
        };
        response = Response::new(if head {
            Body::empty()
        } else {
            body::stream_counted(
                Source::File(xorb_path),
                a,
                len,
                fault,
                shared.recorder.clone(),
                ByteCounter::Xet,
            )
        });
        let headers = response.headers_mut();
        insert(headers, header::CONTENT_TYPE, "application/octet-stream");
        insert(headers, header::CONTENT_LENGTH, &len.to_string());
        insert(
            headers,
            header::CONTENT_RANGE,
            &format!("bytes {a}-{b}/{total}"),
        );
    } else {
        let Ok(data) = fs_err::read(&xorb_path) else {
            return xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "no such xorb");
        };
        let boundary = format!("mockcas{}", &digest(&format!("{hash}{signed}"))[..16]);
        let mut out = Vec::new();
        let mut first_payload = None;
        for &(a, b) in &requested {
            out.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {a}-{b}/{total}\r\n\r\n"
                )
                .as_bytes(),
            );
            first_payload.get_or_insert(out.len() as u64 + 8);
            out.extend_from_slice(&data[a as usize..=b as usize]);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let len = out.len() as u64;
        let fault = match fault {
            Some(Fault::FlipChunkByte) => first_payload.map(|offset| Fault::Corrupt { offset }),
            other => other,
        };
        response = Response::new(if head {
            Body::empty()
        } else {
            body::stream_counted(
                Source::Memory(Bytes::from(out)),
                0,
                len,
                fault,
                shared.recorder.clone(),
                ByteCounter::Xet,
            )
        });
        let headers = response.headers_mut();
        insert(
            headers,
            header::CONTENT_TYPE,
            &format!("multipart/byteranges; boundary={boundary}"),
        );
        insert(headers, header::CONTENT_LENGTH, &len.to_string());
    }
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    insert(response.headers_mut(), header::ACCEPT_RANGES, "bytes");
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xet::store::{Term, XorbChunk};

    /// xet-protocol.md §9.2 vectors B and C: three chunks of 65 536, 65 536 and 68 928 bytes
    /// stored uncompressed.
    fn vector_xorb(hash: &str, lens: &[u32]) -> XorbInfo {
        let mut end = 0;
        XorbInfo {
            hash: hash.into(),
            chunks: lens
                .iter()
                .map(|&len| {
                    end += u64::from(len) + 8;
                    XorbChunk {
                        hash: String::new(),
                        len,
                        end,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn plans_match_the_worked_examples() {
        let xb = vector_xorb("XB", &[65_536, 65_536, 68_928]);
        let xc = vector_xorb("XC", &[65_536]);
        let xorbs: BTreeMap<String, XorbInfo> =
            [("XB".into(), xb), ("XC".into(), xc)].into_iter().collect();
        let b = XetFile {
            hash: String::new(),
            size: 200_000,
            sha256: String::new(),
            terms: vec![Term {
                xorb: "XB".into(),
                start: 0,
                end: 3,
                unpacked: 200_000,
            }],
        };
        let whole = plan(&b, &xorbs, None).unwrap();
        assert_eq!(whole.offset_into_first_range, 0);
        assert_eq!(whole.xorbs["XB"], [((0, 3), (0, 200_024))]);
        let part = plan(&b, &xorbs, Some((100_000, 150_000))).unwrap();
        assert_eq!(part.offset_into_first_range, 34_464);
        assert_eq!(
            part.terms,
            [PlannedTerm {
                xorb: "XB".into(),
                start: 1,
                end: 3,
                unpacked: 134_464
            }]
        );
        assert_eq!(part.xorbs["XB"], [((1, 3), (65_544, 200_024))]);
        assert_eq!(plan(&b, &xorbs, Some((200_000, 300_000))), None);
        let c = XetFile {
            terms: vec![
                Term {
                    xorb: "XB".into(),
                    start: 0,
                    end: 1,
                    unpacked: 65_536,
                },
                Term {
                    xorb: "XC".into(),
                    start: 0,
                    end: 1,
                    unpacked: 65_536,
                },
                Term {
                    xorb: "XB".into(),
                    start: 2,
                    end: 3,
                    unpacked: 68_928,
                },
            ],
            ..b
        };
        let dedup = plan(&c, &xorbs, Some((0, u64::MAX))).unwrap();
        assert_eq!(dedup.terms.len(), 3);
        assert_eq!(
            dedup.xorbs["XB"],
            [((0, 1), (0, 65_544)), ((2, 3), (131_088, 200_024))]
        );
        assert_eq!(dedup.xorbs["XC"], [((0, 1), (0, 65_544))]);
    }
}
