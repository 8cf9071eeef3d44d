//! Every common name for a repo, read into one [`RepoReference`]: what people copy from the
//! browser, the Hub's search or another tool, wherever hfdl takes a repo (`add`, `info`).
//!
//! | form | example |
//! | --- | --- |
//! | id, id with a revision | `org/name`, `org/name@v1.0`, `org/name@refs/pr/3` |
//! | the repo's page | `https://huggingface.co/org/name`, `…/datasets/org/name` |
//! | a folder at a revision | `https://huggingface.co/org/name/tree/REV[/dir]` |
//! | one file | `…/blob/REV/path`, `…/resolve/REV/path` (also `raw`, `blame`) |
//! | an `hf://` URI | `hf://[datasets/\|spaces/]org/name[@REV][/path]` |
//!
//! Web URLs are recognised on `huggingface.co`, `hf.co`, `hub-ci.huggingface.co` and the host of
//! the configured endpoint (a mirror, whose path prefix is dropped), with or without the scheme;
//! the query and fragment are ignored. The grammar of URLs and `hf://` URIs is
//! huggingface_hub's `parse_hf_uri` (`utils/_hf_uris.py`), so a name `hf download` takes means
//! the same here: URL path segments are percent-decoded, a revision with a `/` is written
//! `refs%2Fpr%2F3` (or, for `refs/pr/N` and `refs/convert/NAME`, as is), and a repo id in a URL
//! or URI always has a namespace. A folder becomes the include pattern `dir/**`, a file its own
//! path (hub-protocol §8.1: `hf download`'s rule for a folder argument).
//!
//! Pure: no I/O, so every form is tested here ([`parse`], [`RepoReference::into_target`]).

use std::fmt;

use percent_encoding::percent_decode_str;

use super::{RepoId, RepoType, validate_revision};

/// The hosts of the public Hub whose web URLs name repos (huggingface_hub's `HF_URL_HOSTS`).
const HUB_HOSTS: [&str; 3] = ["huggingface.co", "hf.co", "hub-ci.huggingface.co"];

/// What a name says about a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoReference {
    /// `namespace/name` (or `name`, for a plain id).
    pub repo: RepoId,
    /// The repo type the name states: a URL or `hf://` URI always says (no prefix is a model); a
    /// plain id does not (`None`).
    pub repo_type: Option<RepoType>,
    /// The revision the name pins (`@REV`, `/tree/REV`, …); `None` when it names none.
    pub revision: Option<String>,
    /// The part of the repo it points at, if not the whole repo.
    pub selection: Option<Selection>,
}

/// A part of a repo a name points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A folder (`/tree/REV/dir`, or an `hf://` path ending with `/`).
    Folder(String),
    /// One file (`/blob/REV/path`, `/resolve/REV/path`, or an `hf://` path).
    File(String),
}

impl Selection {
    /// The include pattern (fnmatch, hub-protocol §8.4) that selects exactly this: `dir/**` for a
    /// folder, the path for a file, with `*`, `?` and `[` escaped as `[*]`, `[?]`, `[[]`.
    pub fn include_pattern(&self) -> String {
        match self {
            Selection::Folder(dir) => format!("{}/**", escape_pattern(dir)),
            Selection::File(path) => escape_pattern(path),
        }
    }
}

/// `text` as an fnmatch pattern that matches only itself.
fn escape_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

/// What a manifest entry (or a look at a repo) takes from a name and the flags given with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `namespace/name`.
    pub repo: RepoId,
    /// From the name, else the flag, else a model.
    pub repo_type: RepoType,
    /// From the name, else `main`.
    pub revision: String,
    /// The `--include` patterns, or the one the name's folder or file makes.
    pub include: Vec<String>,
}

impl RepoReference {
    /// Combines the name with the `--repo-type` and `--include` flags given with it.
    ///
    /// A flag that agrees with the name is fine; one that contradicts it is an error (a URL of a
    /// dataset with `--repo-type model`). A name that points at a folder or file already selects
    /// files, and `--include` could only widen that selection, never narrow it: the two together
    /// are an error that says what to write instead (`--exclude` narrows, and is fine).
    pub fn into_target(
        self,
        repo_type_flag: Option<RepoType>,
        include_flags: &[String],
    ) -> Result<Target, ReferenceError> {
        let conflict = |reason: String, help: String| ReferenceError {
            input: String::new(),
            reason,
            help: Some(help),
        };
        let repo_type = match (self.repo_type, repo_type_flag) {
            (Some(named), Some(flag)) if named != flag => {
                return Err(conflict(
                    format!("it names a {named} repo, but --repo-type says {flag}"),
                    format!(
                        "drop --repo-type, or name the {flag}: {}",
                        canonical_uri(flag, &self.repo)
                    ),
                ));
            }
            (Some(named), _) => named,
            (None, flag) => flag.unwrap_or_default(),
        };
        let include = match (&self.selection, include_flags) {
            (Some(selection), [first, ..]) => {
                let selected = selection.include_pattern();
                return Err(conflict(
                    format!(
                        "it already selects `{selected}`, and --include `{first}` would add files to that selection, not narrow it"
                    ),
                    format!(
                        "name the whole repo ({}) and write every pattern you want with --include (e.g. `--include '{}'`), or keep the URL and narrow it with --exclude",
                        canonical_uri(repo_type, &self.repo),
                        narrowed_example(selection, first)
                    ),
                ));
            }
            (Some(selection), []) => vec![selection.include_pattern()],
            (None, flags) => flags.to_vec(),
        };
        Ok(Target {
            repo: self.repo,
            repo_type,
            revision: self.revision.unwrap_or_else(|| "main".to_owned()),
            include,
        })
    }
}

/// A pattern that selects what the user probably meant by a folder plus an `--include`:
/// `onnx/**` and `*.onnx` → `onnx/*.onnx`.
fn narrowed_example(selection: &Selection, include: &str) -> String {
    match selection {
        Selection::Folder(dir) => {
            let tail = include.trim_start_matches("**/").trim_start_matches('/');
            format!("{}/{tail}", escape_pattern(dir))
        }
        Selection::File(path) => escape_pattern(path),
    }
}

/// `hf://[datasets/|spaces/]org/name`: how a message names a repo of a type.
fn canonical_uri(repo_type: RepoType, repo: &RepoId) -> String {
    let prefix = match repo_type {
        RepoType::Model => "",
        RepoType::Dataset => "datasets/",
        RepoType::Space => "spaces/",
    };
    format!("hf://{prefix}{repo}")
}

/// Why a name could not be read as a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    /// The name as given (empty for a conflict with a flag, which names no input).
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
    /// A specific next step, when there is one better than the list of forms.
    pub help: Option<String>,
}

impl ReferenceError {
    fn new(input: &str, reason: impl Into<String>) -> ReferenceError {
        ReferenceError {
            input: input.to_owned(),
            reason: reason.into(),
            help: None,
        }
    }

    /// What to do about it: the specific help, or the forms that work (with the mirror's host
    /// when an endpoint other than the public Hub is configured).
    pub fn help(&self, endpoint: Option<&str>) -> String {
        self.help.clone().unwrap_or_else(|| forms(endpoint))
    }
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.input.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "`{}` does not name a repo: {}", self.input, self.reason)
        }
    }
}

impl std::error::Error for ReferenceError {}

/// The forms a repo can be named in, for error messages.
pub fn forms(endpoint: Option<&str>) -> String {
    let mut text = String::from(
        "name a repo as one of:\n  \
         org/name  or  org/name@REV (a branch, tag, commit or refs/pr/N)\n  \
         https://huggingface.co/org/name  (also …/datasets/org/name, …/spaces/org/name)\n  \
         https://huggingface.co/org/name/tree/REV/DIR  (a folder: include DIR/**)\n  \
         https://huggingface.co/org/name/blob/REV/FILE  or  …/resolve/REV/FILE  (one file)\n  \
         hf://[datasets/|spaces/]org/name[@REV][/PATH]",
    );
    if let Some(endpoint) = endpoint.filter(|e| endpoint_host(e).is_some_and(|h| !is_hub_host(&h)))
    {
        text.push_str("\nURLs on the configured endpoint ");
        text.push_str(endpoint.trim_end_matches('/'));
        text.push_str(" work the same way");
    }
    text
}

/// Reads `input` as a repo name (any form in the module docs). `endpoint` is the configured Hub
/// endpoint (a mirror's URLs name repos too).
pub fn parse(input: &str, endpoint: Option<&str>) -> Result<RepoReference, ReferenceError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(ReferenceError::new(input, "it is empty"));
    }
    if let Some(body) = strip_prefix_ignore_case(text, "hf://") {
        return parse_uri_body(input, body);
    }
    if let Some(url) = as_web_url(text, endpoint) {
        return parse_url(input, &url, endpoint);
    }
    if text.contains("://") {
        return Err(ReferenceError::new(
            input,
            "only Hugging Face web URLs (http/https) and hf:// URIs name repos",
        ));
    }
    parse_plain(input, text)
}

/// `org/name[@REV]` (the id may lack a namespace, as the Hub's canonical repos do).
fn parse_plain(input: &str, text: &str) -> Result<RepoReference, ReferenceError> {
    let (id, revision) = match text.split_once('@') {
        Some((id, revision)) => (id, Some(revision)),
        None => (text, None),
    };
    let repo = RepoId::parse(id).map_err(|reason| {
        let mut error = ReferenceError::new(input, strip_quoted_input(&reason, id));
        if let Some(prefix @ ("datasets" | "spaces" | "models")) = id.split('/').next() {
            error.help = Some(format!(
                "write hf://{id} (or `{}` with --repo-type {})",
                &id[prefix.len() + 1..],
                &prefix[..prefix.len() - 1]
            ));
        }
        error
    })?;
    let revision = revision.map(|r| check_revision(input, r)).transpose()?;
    Ok(RepoReference {
        repo,
        repo_type: None,
        revision,
        selection: None,
    })
}

/// `RepoId::parse`'s reason without its leading "`id` " (the error names the whole input).
fn strip_quoted_input(reason: &str, id: &str) -> String {
    reason.strip_prefix(&format!("`{id}`")).map_or_else(
        || reason.to_owned(),
        |rest| format!("the repo id `{id}`{rest}"),
    )
}

fn check_revision(input: &str, revision: &str) -> Result<String, ReferenceError> {
    validate_revision(revision)
        .map(|()| revision.to_owned())
        .map_err(|reason| ReferenceError::new(input, format!("invalid revision: {reason}")))
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// A web URL, split into the parts that matter.
struct WebUrl<'t> {
    host: String,
    /// The path, still percent-encoded, without the query and fragment.
    path: &'t str,
}

/// `text` as a web URL: `http(s)://…`, or a known host followed by `/` without a scheme
/// (`huggingface.co/org/name`).
fn as_web_url<'t>(text: &'t str, endpoint: Option<&str>) -> Option<WebUrl<'t>> {
    let rest = strip_prefix_ignore_case(text, "https://")
        .or_else(|| strip_prefix_ignore_case(text, "http://"));
    let scheme_less = rest.is_none();
    let rest = rest.unwrap_or(text);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = host_of(&rest[..end]);
    if scheme_less {
        let known = is_hub_host(&host) || endpoint.and_then(endpoint_host).as_ref() == Some(&host);
        if !known || !rest[end..].starts_with('/') {
            return None;
        }
    }
    let after = &rest[end..];
    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    Some(WebUrl {
        host,
        path: &after[..path_end],
    })
}

/// The lower-cased host of an authority (`user@host:port` → `host`).
fn host_of(authority: &str) -> String {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if authority.starts_with('[') {
        authority
            .find(']')
            .map_or(authority, |end| &authority[..=end])
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    host.to_ascii_lowercase()
}

fn is_hub_host(host: &str) -> bool {
    HUB_HOSTS.contains(&host)
}

/// The host of the configured endpoint (`http://127.0.0.1:8080/hf` → `127.0.0.1`).
fn endpoint_host(endpoint: &str) -> Option<String> {
    let rest = strip_prefix_ignore_case(endpoint, "https://")
        .or_else(|| strip_prefix_ignore_case(endpoint, "http://"))
        .unwrap_or(endpoint);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = host_of(&rest[..end]);
    (!host.is_empty()).then_some(host)
}

/// The path prefix of the configured endpoint (`http://host/hf` → `hf`), without slashes.
fn endpoint_path(endpoint: &str) -> &str {
    let rest = strip_prefix_ignore_case(endpoint, "https://")
        .or_else(|| strip_prefix_ignore_case(endpoint, "http://"))
        .unwrap_or(endpoint);
    rest.find('/')
        .map_or("", |start| &rest[start..])
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_matches('/')
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The web routes that point at a folder (`tree`) or a file (the others); huggingface_hub's
/// `_URL_REPO_LOCATION_ACTIONS`.
fn route(action: &str) -> Option<bool> {
    match action {
        "tree" => Some(true),
        "blob" | "resolve" | "raw" | "blame" => Some(false),
        _ => None,
    }
}

fn parse_url(
    input: &str,
    url: &WebUrl<'_>,
    endpoint: Option<&str>,
) -> Result<RepoReference, ReferenceError> {
    let mirror = endpoint.and_then(endpoint_host);
    if !is_hub_host(&url.host) && mirror.as_ref() != Some(&url.host) {
        let mut error = ReferenceError::new(
            input,
            format!(
                "`{}` is not a Hugging Face Hub host (huggingface.co, hf.co{})",
                url.host,
                mirror.map_or_else(String::new, |m| format!(
                    ", or the configured endpoint's {m}"
                ))
            ),
        );
        error.help = Some(
            "copy the URL from the Hub, or set the `endpoint` setting (HF_ENDPOINT) to your mirror"
                .to_owned(),
        );
        return Err(error);
    }
    let mut path = url.path;
    if let Some(endpoint) = endpoint
        && endpoint_host(endpoint).as_ref() == Some(&url.host)
    {
        let prefix = endpoint_path(endpoint);
        if !prefix.is_empty() {
            let trimmed = path.trim_start_matches('/');
            if let Some(rest) = trimmed.strip_prefix(prefix)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                path = rest;
            }
        }
    }
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let repo_type = match segments.first().copied() {
        Some(prefix) => match type_prefix(input, prefix)? {
            Some(repo_type) => {
                segments.remove(0);
                repo_type
            }
            None => RepoType::Model,
        },
        None => RepoType::Model,
    };
    if segments.len() < 2 {
        let mut error = ReferenceError::new(
            input,
            "the URL has no `/<namespace>/<name>`: a user, organisation or listing page (or a repo without a namespace) is not one repo",
        );
        if let [name] = segments.as_slice() {
            error.help = Some(format!(
                "open the repo's own page and copy its URL, or write the id (e.g. `{}`)",
                decode(name)
            ));
        }
        return Err(error);
    }
    let id = format!("{}/{}", decode(segments[0]), decode(segments[1]));
    let repo = RepoId::parse(&id)
        .map_err(|reason| ReferenceError::new(input, strip_quoted_input(&reason, &id)))?;
    let rest = &segments[2..];
    let Some((action, tail)) = rest.split_first() else {
        return Ok(RepoReference {
            repo,
            repo_type: Some(repo_type),
            revision: None,
            selection: None,
        });
    };
    let Some(folder) = route(action) else {
        let mut error = ReferenceError::new(
            input,
            format!("`/{action}/` pages do not point at files of the repo"),
        );
        error.help = Some(format!(
            "use the repo's page ({}) or a /tree/, /blob/ or /resolve/ URL",
            canonical_uri(repo_type, &repo)
        ));
        return Err(error);
    };
    if tail.is_empty() {
        return Ok(RepoReference {
            repo,
            repo_type: Some(repo_type),
            revision: None,
            selection: None,
        });
    }
    let (revision, path) = split_revision_segments(tail);
    let revision = check_revision(input, &revision)?;
    let path = path.iter().map(|s| decode(s)).collect::<Vec<_>>().join("/");
    // `…/blob/REV` without a path is the repo at REV, as huggingface_hub reads it.
    let selection = selection(input, &path, folder)?;
    Ok(RepoReference {
        repo,
        repo_type: Some(repo_type),
        revision: Some(revision),
        selection,
    })
}

/// The revision and the path after it, from URL path segments (still encoded): `refs/pr/N` and
/// `refs/convert/NAME` take three segments, any other revision one (decoded, so `feature%2Fx`
/// is `feature/x`).
fn split_revision_segments<'s>(tail: &'s [&'s str]) -> (String, &'s [&'s str]) {
    if let [first, kind, name, rest @ ..] = tail
        && *first == "refs"
        && is_special_ref(kind, name)
    {
        return (format!("refs/{kind}/{name}"), rest);
    }
    (decode(tail[0]), &tail[1..])
}

/// `pr/N` and `convert/NAME` (NAME of `[A-Za-z0-9_.-]`): huggingface_hub's special refs.
fn is_special_ref(kind: &str, name: &str) -> bool {
    match kind {
        "pr" => !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()),
        "convert" => {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        }
        _ => false,
    }
}

/// A `datasets/`-like first segment: its type, `None` for a namespace, an error for the types
/// hfdl does not sync (kernels, buckets) and for singular forms.
fn type_prefix(input: &str, segment: &str) -> Result<Option<RepoType>, ReferenceError> {
    match segment {
        "models" => Ok(Some(RepoType::Model)),
        "datasets" => Ok(Some(RepoType::Dataset)),
        "spaces" => Ok(Some(RepoType::Space)),
        "kernels" | "buckets" => Err(ReferenceError::new(
            input,
            format!("{segment} are not repos hfdl can sync (models, datasets and spaces are)"),
        )),
        _ => Ok(None),
    }
}

/// The selection a path makes: a folder or one file; `None` for the repo's root.
fn selection(input: &str, path: &str, folder: bool) -> Result<Option<Selection>, ReferenceError> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(ReferenceError::new(
            input,
            format!("the path `{path}` has an empty, `.` or `..` segment"),
        ));
    }
    Ok(Some(if folder {
        Selection::Folder(path.to_owned())
    } else {
        Selection::File(path.to_owned())
    }))
}

/// `[datasets/|spaces/|models/]org/name[@REV][/PATH]`, the part after `hf://`.
fn parse_uri_body(input: &str, body: &str) -> Result<RepoReference, ReferenceError> {
    if body.is_empty() {
        return Err(ReferenceError::new(input, "nothing follows `hf://`"));
    }
    let (first, rest) = body.split_once('/').unwrap_or((body, ""));
    let singular = match first {
        "model" | "dataset" | "space" => Some(first),
        _ => None,
    };
    if let Some(singular) = singular {
        let mut error = ReferenceError::new(
            input,
            format!("the type prefix `{singular}/` must be plural"),
        );
        error.help = Some(format!("write hf://{singular}s/{rest}"));
        return Err(error);
    }
    let (repo_type, location) = match type_prefix(input, first)? {
        Some(repo_type) => (repo_type, rest),
        None => (RepoType::Model, body),
    };
    // `hf download`'s rule: a path ending with `/` is a folder, anything else one file.
    let folder = location.ends_with('/');
    let location = location.trim_matches('/');
    if location.is_empty() {
        return Err(ReferenceError::new(
            input,
            format!("`{first}/` is not followed by a repo id"),
        ));
    }
    let at = location
        .find('@')
        .filter(|&at| location[..at].matches('/').count() <= 1);
    let (id, revision, path) = match at {
        None => {
            let mut parts = location.splitn(3, '/');
            let namespace = parts.next().unwrap_or_default();
            let Some(name) = parts.next() else {
                return Err(namespace_error(input, location));
            };
            (
                format!("{namespace}/{name}"),
                None,
                parts.next().unwrap_or_default(),
            )
        }
        Some(at) => {
            let id = &location[..at];
            if id.matches('/').count() != 1 {
                return Err(namespace_error(input, id));
            }
            let after = &location[at + 1..];
            let (revision, path) = split_uri_revision(after);
            let revision = decode(revision);
            if revision.is_empty() {
                return Err(ReferenceError::new(
                    input,
                    "the revision after `@` is empty",
                ));
            }
            (id.to_owned(), Some(check_revision(input, &revision)?), path)
        }
    };
    let repo = RepoId::parse(&id)
        .map_err(|reason| ReferenceError::new(input, strip_quoted_input(&reason, &id)))?;
    let selection = selection(input, path, folder)?;
    Ok(RepoReference {
        repo,
        repo_type: Some(repo_type),
        revision,
        selection,
    })
}

/// `REV[/PATH]` after an `@`: `refs/pr/N` and `refs/convert/NAME` first, else up to the first
/// `/` (so a revision with another `/` is written encoded, `feature%2Fx`).
fn split_uri_revision(after: &str) -> (&str, &str) {
    let mut parts = after.splitn(4, '/');
    if let (Some("refs"), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next())
        && is_special_ref(kind, name)
    {
        let len = "refs/".len() + kind.len() + 1 + name.len();
        return (&after[..len], after[len..].trim_start_matches('/'));
    }
    after.split_once('/').unwrap_or((after, ""))
}

fn namespace_error(input: &str, id: &str) -> ReferenceError {
    let mut error = ReferenceError::new(
        input,
        format!("`{id}` is not `namespace/name`: an hf:// URI names a repo with its namespace"),
    );
    error.help = Some(format!(
        "write the full id (the repo page shows it), or `{id}` alone without hf://"
    ));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIRROR: &str = "http://127.0.0.1:8080";

    /// The parsed name as one line: `type repo @rev +include`.
    fn read(input: &str) -> String {
        read_with(input, Some(MIRROR))
    }

    fn read_with(input: &str, endpoint: Option<&str>) -> String {
        match parse(input, endpoint) {
            Ok(reference) => {
                let revision = reference
                    .revision
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" @{r}"));
                let selection = match &reference.selection {
                    Some(Selection::Folder(dir)) => format!(" dir:{dir}"),
                    Some(Selection::File(path)) => format!(" file:{path}"),
                    None => String::new(),
                };
                format!(
                    "{} {}{revision}{selection}",
                    reference.repo_type.map_or("-", RepoType::as_str),
                    reference.repo
                )
            }
            Err(error) => format!("error: {}", error.reason),
        }
    }

    #[test]
    fn plain_ids_and_revisions() {
        assert_eq!(read("acme/tiny"), "- acme/tiny");
        assert_eq!(read("  acme/tiny  "), "- acme/tiny");
        assert_eq!(read("gpt2"), "- gpt2");
        assert_eq!(read("acme/tiny@v1.0"), "- acme/tiny @v1.0");
        assert_eq!(read("acme/tiny@refs/pr/3"), "- acme/tiny @refs/pr/3");
        assert_eq!(read("acme/tiny@feature/x"), "- acme/tiny @feature/x");
        assert_eq!(
            read("acme/tiny@a b"),
            "error: invalid revision: `a b` contains ` `, which git forbids in ref names"
        );
        assert_eq!(
            read("acme/tiny@"),
            "error: invalid revision: the revision is empty"
        );
    }

    #[test]
    fn web_urls_of_repos_folders_and_files() {
        let hub = "https://huggingface.co";
        for (url, expected) in [
            ("/acme/tiny", "model acme/tiny"),
            ("/acme/tiny/", "model acme/tiny"),
            (
                "/acme/tiny?library=transformers#model-card",
                "model acme/tiny",
            ),
            ("/models/acme/tiny", "model acme/tiny"),
            ("/datasets/acme/squad", "dataset acme/squad"),
            ("/spaces/acme/demo", "space acme/demo"),
            ("/acme/tiny/tree/main", "model acme/tiny @main"),
            ("/acme/tiny/tree", "model acme/tiny"),
            ("/acme/tiny/blob/main", "model acme/tiny @main"),
            (
                "/acme/tiny/tree/v1.0/onnx",
                "model acme/tiny @v1.0 dir:onnx",
            ),
            ("/acme/tiny/tree/main/a/b/", "model acme/tiny @main dir:a/b"),
            (
                "/acme/tiny/blob/main/config.json",
                "model acme/tiny @main file:config.json",
            ),
            (
                "/acme/tiny/resolve/main/onnx/model.onnx?download=true",
                "model acme/tiny @main file:onnx/model.onnx",
            ),
            (
                "/acme/tiny/raw/main/README.md",
                "model acme/tiny @main file:README.md",
            ),
            (
                "/datasets/acme/squad/blob/refs%2Fconvert%2Fparquet/plain_text/train.parquet",
                "dataset acme/squad @refs/convert/parquet file:plain_text/train.parquet",
            ),
            // A PR ref, encoded (as the web UI writes it) or not.
            (
                "/acme/tiny/tree/refs%2Fpr%2F3",
                "model acme/tiny @refs/pr/3",
            ),
            (
                "/acme/tiny/tree/refs/pr/3/onnx",
                "model acme/tiny @refs/pr/3 dir:onnx",
            ),
            (
                "/acme/tiny/tree/feature%2Fx/sub",
                "model acme/tiny @feature/x dir:sub",
            ),
            // Percent-encoded file names.
            (
                "/acme/tiny/blob/main/with%20space%23.json",
                "model acme/tiny @main file:with space#.json",
            ),
        ] {
            assert_eq!(read(&format!("{hub}{url}")), expected, "{url}");
        }
        // Other hosts of the Hub, schemes and no scheme.
        assert_eq!(read("https://hf.co/acme/tiny"), "model acme/tiny");
        assert_eq!(read("http://HuggingFace.co/acme/tiny"), "model acme/tiny");
        assert_eq!(
            read("huggingface.co/datasets/acme/squad"),
            "dataset acme/squad"
        );
        assert_eq!(read("HTTPS://huggingface.co/acme/tiny"), "model acme/tiny");
    }

    #[test]
    fn urls_on_the_configured_endpoint_name_repos_too() {
        assert_eq!(read("http://127.0.0.1:8080/acme/tiny"), "model acme/tiny");
        assert_eq!(
            read("http://127.0.0.1:8080/datasets/acme/squad/tree/main/plain_text"),
            "dataset acme/squad @main dir:plain_text"
        );
        // A mirror under a path prefix.
        let prefixed = Some("https://mirror.example/hf/");
        assert_eq!(
            read_with(
                "https://mirror.example/hf/acme/tiny/blob/v1/a.json",
                prefixed
            ),
            "model acme/tiny @v1 file:a.json"
        );
        assert_eq!(
            read_with("mirror.example/hf/spaces/acme/demo", prefixed),
            "space acme/demo"
        );
        // Without that endpoint, the host is unknown.
        assert_eq!(
            read_with("https://mirror.example/hf/acme/tiny", None),
            "error: `mirror.example` is not a Hugging Face Hub host (huggingface.co, hf.co)"
        );
    }

    #[test]
    fn hf_uris() {
        for (uri, expected) in [
            ("hf://acme/tiny", "model acme/tiny"),
            ("hf://models/acme/tiny", "model acme/tiny"),
            ("hf://datasets/acme/squad", "dataset acme/squad"),
            ("hf://spaces/acme/demo@main", "space acme/demo @main"),
            (
                "hf://acme/tiny@v1.0/config.json",
                "model acme/tiny @v1.0 file:config.json",
            ),
            ("hf://acme/tiny/onnx/", "model acme/tiny dir:onnx"),
            (
                "hf://acme/tiny/onnx/model.onnx",
                "model acme/tiny file:onnx/model.onnx",
            ),
            (
                "hf://datasets/acme/squad@refs/pr/10/data.csv",
                "dataset acme/squad @refs/pr/10 file:data.csv",
            ),
            (
                "hf://datasets/acme/squad@refs/convert/parquet/plain_text/",
                "dataset acme/squad @refs/convert/parquet dir:plain_text",
            ),
            ("hf://acme/tiny@refs%2Fpr%2F3", "model acme/tiny @refs/pr/3"),
            (
                "hf://acme/tiny@feature%2Fx/a.json",
                "model acme/tiny @feature/x file:a.json",
            ),
            // An `@` past the repo id belongs to a file name.
            (
                "hf://acme/tiny/dir/file@1.txt",
                "model acme/tiny file:dir/file@1.txt",
            ),
            ("hf://a/b/c@v1", "model a/b file:c@v1"),
        ] {
            assert_eq!(read(uri), expected, "{uri}");
        }
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        for (input, expected) in [
            ("", "error: it is empty"),
            ("hf://", "error: nothing follows `hf://`"),
            (
                "hf://gpt2",
                "error: `gpt2` is not `namespace/name`: an hf:// URI names a repo with its namespace",
            ),
            (
                "hf://dataset/acme/squad",
                "error: the type prefix `dataset/` must be plural",
            ),
            ("hf://acme/tiny@", "error: the revision after `@` is empty"),
            (
                "hf://buckets/acme/b",
                "error: buckets are not repos hfdl can sync (models, datasets and spaces are)",
            ),
            (
                "https://huggingface.co/kernels/acme/k",
                "error: kernels are not repos hfdl can sync (models, datasets and spaces are)",
            ),
            (
                "https://huggingface.co/acme",
                "error: the URL has no `/<namespace>/<name>`: a user, organisation or listing page (or a repo without a namespace) is not one repo",
            ),
            (
                "https://huggingface.co/datasets",
                "error: the URL has no `/<namespace>/<name>`: a user, organisation or listing page (or a repo without a namespace) is not one repo",
            ),
            (
                "https://huggingface.co/acme/tiny/commit/abc",
                "error: `/commit/` pages do not point at files of the repo",
            ),
            (
                "https://huggingface.co/acme/tiny/discussions/3",
                "error: `/discussions/` pages do not point at files of the repo",
            ),
            (
                "https://huggingface.co/acme/tiny/tree/main/../x",
                "error: the path `../x` has an empty, `.` or `..` segment",
            ),
            (
                "https://example.com/acme/tiny",
                "error: `example.com` is not a Hugging Face Hub host (huggingface.co, hf.co, or the configured endpoint's 127.0.0.1)",
            ),
            (
                "ftp://huggingface.co/acme/tiny",
                "error: only Hugging Face web URLs (http/https) and hf:// URIs name repos",
            ),
            (
                "acme/tiny/extra",
                "error: the repo id `acme/tiny/extra` has more than one `/`: a repo id is `name` or `namespace/name`",
            ),
            (
                "acme/ti ny",
                "error: the repo id `acme/ti ny` contains ` `: only letters, digits, `_`, `.` and `-` are allowed",
            ),
            (
                "https://huggingface.co/acme/x--y",
                "error: the repo id `acme/x--y` cannot contain `--` or `..`",
            ),
        ] {
            assert_eq!(read(input), expected, "{input}");
        }
        // The help shows the forms that work, and the mirror's when one is configured.
        let error = parse("acme/tiny/extra", Some(MIRROR)).unwrap_err();
        let help = error.help(Some(MIRROR));
        assert!(
            help.contains("hf://[datasets/|spaces/]org/name[@REV][/PATH]"),
            "{help}"
        );
        assert!(help.contains("/blob/REV/FILE"), "{help}");
        assert!(
            help.contains("configured endpoint http://127.0.0.1:8080"),
            "{help}"
        );
        assert!(
            !error
                .help(Some("https://huggingface.co"))
                .contains("configured endpoint")
        );
        // A type written like a namespace gets a specific hint.
        let error = parse("datasets/acme/squad", None).unwrap_err();
        assert_eq!(
            error.help(None),
            "write hf://datasets/acme/squad (or `acme/squad` with --repo-type dataset)"
        );
    }

    #[test]
    fn selections_become_include_patterns() {
        assert_eq!(
            Selection::Folder("onnx".into()).include_pattern(),
            "onnx/**"
        );
        assert_eq!(
            Selection::File("config.json".into()).include_pattern(),
            "config.json"
        );
        assert_eq!(
            Selection::File("a[1]*?.json".into()).include_pattern(),
            "a[[]1][*][?].json"
        );
        // The escaped pattern selects that file and nothing else.
        let filter =
            crate::pattern::PathFilter::new(&["a[[]1][*][?].json".to_owned()], &[]).unwrap();
        assert!(filter.matches("a[1]*?.json"));
        assert!(!filter.matches("a1xy.json"));
        let folder = crate::pattern::PathFilter::new(&["onnx/**".to_owned()], &[]).unwrap();
        assert!(folder.matches("onnx/model.onnx") && folder.matches("onnx/a/b.bin"));
        assert!(!folder.matches("onnx.json") && !folder.matches("model.onnx"));
    }

    fn target(input: &str, flag: Option<RepoType>, include: &[&str]) -> Result<Target, String> {
        let include: Vec<String> = include.iter().map(|s| (*s).to_owned()).collect();
        parse(input, None)
            .map_err(|e| e.to_string())?
            .into_target(flag, &include)
            .map_err(|e| format!("{e} | {}", e.help(None)))
    }

    #[test]
    fn flags_combine_with_what_the_name_says() {
        let plain = target("acme/squad", Some(RepoType::Dataset), &["*.json"]).unwrap();
        assert_eq!(plain.repo_type, RepoType::Dataset);
        assert_eq!(plain.revision, "main");
        assert_eq!(plain.include, ["*.json"]);
        assert_eq!(
            target("acme/tiny", None, &[]).unwrap().repo_type,
            RepoType::Model
        );
        // The flag may repeat what the URL says.
        let url = "https://huggingface.co/datasets/acme/squad/tree/v2/plain_text";
        let agreed = target(url, Some(RepoType::Dataset), &[]).unwrap();
        assert_eq!(
            (
                agreed.repo_type,
                agreed.revision.as_str(),
                agreed.include.as_slice()
            ),
            (
                RepoType::Dataset,
                "v2",
                ["plain_text/**".to_owned()].as_slice()
            )
        );
        // A contradiction is refused with what to write.
        assert_eq!(
            target(url, Some(RepoType::Model), &[]).unwrap_err(),
            "it names a dataset repo, but --repo-type says model | drop --repo-type, or name the model: hf://acme/squad"
        );
        assert_eq!(
            target(
                "https://huggingface.co/acme/tiny/tree/main/onnx",
                None,
                &["*.onnx"]
            )
            .unwrap_err(),
            "it already selects `onnx/**`, and --include `*.onnx` would add files to that selection, not narrow it | name the whole repo (hf://acme/tiny) and write every pattern you want with --include (e.g. `--include 'onnx/*.onnx'`), or keep the URL and narrow it with --exclude"
        );
    }
}
