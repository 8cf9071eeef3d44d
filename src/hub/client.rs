//! The Hub HTTP client: revision info, the paginated tree listing, refs, file URLs, the search
//! listings and the repo details `hfdl info` shows.
//!
//! It is the only code that talks to the network for metadata. Offline is a value it holds: an
//! offline client refuses every call before a socket is opened, so "zero requests" holds by
//! construction. The `reqwest` client is built lazily, so commands that need no network (a
//! no-op sync) never pay for TLS set-up.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::auth::Token;
use super::error::HubError;
use super::metrics::{HubMetrics, RequestKind};
use super::types::{CommitInfo, Refs, RepoDetails, RepoInfo, RepoSummary, TreeEntry, WhoAmI};
use crate::repo::{RepoId, RepoType};

/// Python's `quote(s, safe="")`: everything but `A-Za-z0-9-._~` is escaped (hub-protocol §1.2).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Python's `quote(path)`: like [`SEGMENT`] but `/` stays literal (hub-protocol §1.6).
const PATH: &AsciiSet = &SEGMENT.remove(b'/');

/// Builds a reqwest proxy for one scheme (or all) from a URL.
type MakeProxy = fn(&str) -> reqwest::Result<reqwest::Proxy>;

/// reqwest proxies for `config`: the scheme's own proxy first, then `ALL_PROXY`.
fn proxies(config: &ProxyConfig) -> Result<Vec<reqwest::Proxy>, HubError> {
    let no_proxy = config
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let mut proxies = Vec::new();
    let kinds: [(&Option<(String, String)>, MakeProxy); 3] = [
        (&config.https, |url| reqwest::Proxy::https(url)),
        (&config.http, |url| reqwest::Proxy::http(url)),
        (&config.all, |url| reqwest::Proxy::all(url)),
    ];
    for (setting, make) in kinds {
        let Some((var, url)) = setting else { continue };
        let proxy = make(url).map_err(|e| HubError::ClientSetup {
            // A proxy URL may carry user:password: never echo it.
            message: format!("{var}={} is not a proxy URL: {e}", redact_url(url)),
            help: format!("set {var} to a URL like http://proxy.example:3128, or unset it"),
        })?;
        proxies.push(proxy.no_proxy(no_proxy.clone()));
    }
    Ok(proxies)
}

/// The certificates of the PEM bundle at `path` (named by the variable `var`).
fn ca_bundle(var: &str, path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, HubError> {
    let help = format!(
        "point {var} at a readable PEM file of CA certificates (as for curl or Python), or unset it"
    );
    let bytes = fs_err::read(path).map_err(|e| HubError::ClientSetup {
        message: format!("{var}={}: cannot read the CA bundle: {e}", path.display()),
        help: help.clone(),
    })?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| HubError::ClientSetup {
            message: format!("{var}={}: not a PEM bundle: {e}", path.display()),
            help: help.clone(),
        })?;
    if certificates.is_empty() {
        return Err(HubError::ClientSetup {
            message: format!(
                "{var}={}: the file holds no PEM certificate",
                path.display()
            ),
            help,
        });
    }
    Ok(certificates)
}

/// The most tree pages followed for one listing: a guard against a server looping on `next`.
const MAX_TREE_PAGES: usize = 10_000;

/// The most pages of history followed for one listing (50 commits each on the Hub).
const MAX_COMMIT_PAGES: usize = 1_000;

/// The most pages of search results followed for one search: the Hub's pages hold up to
/// `limit` (at most 1000) repos, so this is only a guard against a server looping on `next`.
const MAX_SEARCH_PAGES: usize = 1_000;

/// A search of the Hub's repos (`GET /api/{type}s`; `crates/mock-hub/PROTOCOL-NOTES.md` §13.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Models, datasets or spaces.
    pub repo_type: RepoType,
    /// A part of the repo id (case-insensitive), if any.
    pub search: Option<String>,
    /// Only repos of this user or organisation.
    pub author: Option<String>,
    /// Tags every result must have (`license:mit`, `text-classification`, `transformers`, …).
    pub filters: Vec<String>,
    /// The API's sort key (`downloads`, `likes`, `lastModified`); always descending.
    pub sort: Option<String>,
    /// How many repos to return at most (the Hub's page size, at most 1000).
    pub limit: usize,
}

impl SearchQuery {
    /// The fields a search asks for (`expand`): only what the Hub has for the type (a Space has
    /// no downloads, no gating and no pipeline; asking for them is a 400).
    pub fn fields(repo_type: RepoType) -> &'static [&'static str] {
        match repo_type {
            RepoType::Model => &[
                "downloads",
                "likes",
                "lastModified",
                "gated",
                "private",
                "tags",
                "pipeline_tag",
                "library_name",
            ],
            RepoType::Dataset => &[
                "downloads",
                "likes",
                "lastModified",
                "gated",
                "private",
                "tags",
            ],
            RepoType::Space => &["likes", "lastModified", "private", "tags", "sdk"],
        }
    }

    /// The query string, as huggingface_hub's `list_models` sends it: repeated keys for lists
    /// (`filter=a&filter=b`, `expand=x&expand=y`) and `direction=-1` as older clients did (the
    /// Hub sorts descending either way).
    pub fn to_query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            query.append_pair("search", search);
        }
        if let Some(author) = self.author.as_deref().filter(|s| !s.is_empty()) {
            query.append_pair("author", author);
        }
        for filter in &self.filters {
            query.append_pair("filter", filter);
        }
        if let Some(sort) = &self.sort {
            query.append_pair("sort", sort);
            query.append_pair("direction", "-1");
        }
        query.append_pair("limit", &self.limit.clamp(1, 1000).to_string());
        for field in SearchQuery::fields(self.repo_type) {
            query.append_pair("expand", field);
        }
        query.finish()
    }
}

/// How a [`HubClient`] is set up.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Without a trailing `/`.
    pub endpoint: String,
    /// The access token, when already known; `None` leaves it to `token_loader` (or anonymous).
    pub token: Option<Token>,
    /// Finds the token on first use when `token` is `None`: reading the keyring costs a round
    /// trip, which a sync that needs no request must not pay.
    pub token_loader: Option<TokenLoader>,
    /// Refuse every request (`--offline`, `HF_HUB_OFFLINE`).
    pub offline: bool,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Connect and per-read timeout.
    pub timeout: Duration,
    /// Attempts after the first for retryable failures.
    pub retries: u32,
    /// First backoff delay; doubled per attempt.
    pub retry_base: Duration,
    /// Bytes per second for all transfers of this client together (`--limit-rate`).
    pub limit_rate: Option<u64>,
    /// Where requests are counted; clients that share it count together.
    pub metrics: Arc<HubMetrics>,
    /// Proxies, as the environment set them (`HTTPS_PROXY`, …).
    pub proxies: ProxyConfig,
    /// A PEM bundle of extra trusted CA certificates and the variable that named it.
    pub ca_bundle: Option<(String, std::path::PathBuf)>,
}

/// Proxies for the client. They come from [`crate::env`] rather than being read by reqwest
/// itself, so that the library never reads the process environment and tests can set them.
/// Each is `(variable, URL)`, so that a bad URL is reported under the name the user set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The proxy for `http://` URLs (`HTTP_PROXY`).
    pub http: Option<(String, String)>,
    /// The proxy for `https://` URLs (`HTTPS_PROXY`).
    pub https: Option<(String, String)>,
    /// The proxy for both schemes when the scheme's own is unset (`ALL_PROXY`).
    pub all: Option<(String, String)>,
    /// `NO_PROXY`'s list: hosts, `.domains`, IPs, CIDR ranges, or `*`.
    pub no_proxy: Option<String>,
}

impl HubOptions {
    /// The defaults for `endpoint` (a trailing `/` is dropped): anonymous, online, 30 s
    /// timeout, 4 retries from a 500 ms backoff, no rate limit, no proxy.
    pub fn new(endpoint: &str) -> HubOptions {
        HubOptions {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token: None,
            token_loader: None,
            offline: false,
            user_agent: format!("hfdl/{}", env!("CARGO_PKG_VERSION")),
            timeout: Duration::from_secs(30),
            retries: 4,
            retry_base: Duration::from_millis(500),
            limit_rate: None,
            metrics: Arc::default(),
            proxies: ProxyConfig::default(),
            ca_bundle: None,
        }
    }
}

/// A deferred token lookup (see [`HubOptions::token_loader`]).
#[derive(Clone)]
pub struct TokenLoader(Arc<dyn Fn() -> Option<Token> + Send + Sync>);

impl TokenLoader {
    /// Wraps `load`, which a client calls at most once, the first time it needs its token.
    pub fn new(load: impl Fn() -> Option<Token> + Send + Sync + 'static) -> TokenLoader {
        TokenLoader(Arc::new(load))
    }
}

impl fmt::Debug for TokenLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenLoader")
    }
}

/// A client for one Hub endpoint.
#[derive(Debug)]
pub struct HubClient {
    options: HubOptions,
    http: OnceLock<reqwest::Client>,
    token: OnceLock<Option<Token>>,
    /// One token bucket shared by every transfer, so `--limit-rate` caps the total.
    limiter: Option<Bandwidth>,
}

/// A token bucket of bytes (GCRA, from `governor`), on the OS monotonic clock: the default
/// TSC-based clock can run a few percent off in virtual machines, and the cap must be exact.
struct Bandwidth {
    limiter: governor::RateLimiter<
        governor::state::NotKeyed,
        governor::state::InMemoryState,
        governor::clock::MonotonicClock,
        governor::middleware::NoOpMiddleware<std::time::Instant>,
    >,
    /// The most bytes one wait may ask for.
    burst: u32,
}

impl fmt::Debug for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bandwidth")
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl Bandwidth {
    fn new(bytes_per_sec: u64) -> Option<Bandwidth> {
        let rate = u32::try_from(bytes_per_sec).unwrap_or(u32::MAX);
        // A twentieth of a second of burst: smooth at any rate, and a 10 s average stays
        // within half a percent of the limit.
        let burst = (rate / 20).clamp(1, 4 << 20);
        let quota = governor::Quota::per_second(std::num::NonZeroU32::new(rate)?)
            .allow_burst(std::num::NonZeroU32::new(burst)?);
        Some(Bandwidth {
            limiter: governor::RateLimiter::direct_with_clock(
                quota,
                governor::clock::MonotonicClock,
            ),
            burst,
        })
    }

    async fn take(&self, bytes: u64) {
        let mut left = bytes;
        while left > 0 {
            let piece = u32::try_from(left).unwrap_or(u32::MAX).min(self.burst);
            if let Some(n) = std::num::NonZeroU32::new(piece) {
                // Cannot fail: `piece` never exceeds the burst size.
                let _ = self.limiter.until_n_ready(n).await;
            }
            left -= u64::from(piece);
        }
    }
}

impl HubClient {
    /// A client with `options`; nothing is connected or read until the first request.
    pub fn new(options: HubOptions) -> HubClient {
        let limiter = options.limit_rate.and_then(Bandwidth::new);
        HubClient {
            options,
            http: OnceLock::new(),
            token: OnceLock::new(),
            limiter,
        }
    }

    /// Waits until `bytes` more may be received under `--limit-rate` (at once without a limit).
    pub async fn throttle(&self, bytes: u64) {
        if let Some(limiter) = &self.limiter {
            limiter.take(bytes).await;
        }
    }

    /// The token, looked up on first use.
    fn token(&self) -> Option<&Token> {
        self.token
            .get_or_init(|| {
                self.options.token.clone().or_else(|| {
                    self.options
                        .token_loader
                        .as_ref()
                        .and_then(|load| (load.0)())
                })
            })
            .as_ref()
    }

    /// The options the client was built with.
    pub fn options(&self) -> &HubOptions {
        &self.options
    }

    /// The endpoint URL, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.options.endpoint
    }

    /// Whether the client refuses every request.
    pub fn is_offline(&self) -> bool {
        self.options.offline
    }

    /// The shared HTTP client (redirects are not followed: callers decide, so that a token never
    /// follows a redirect to another origin).
    pub fn http(&self) -> Result<&reqwest::Client, HubError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(&self.options.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.options.timeout)
            .read_timeout(self.options.timeout)
            .pool_max_idle_per_host(32)
            // Only the proxies of `options` (from hfdl's Env), never a second look at the
            // process environment.
            .no_proxy();
        for proxy in proxies(&self.options.proxies)? {
            builder = builder.proxy(proxy);
        }
        if let Some((var, path)) = &self.options.ca_bundle {
            for certificate in ca_bundle(var, path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(|e| HubError::Network {
            url: self.options.endpoint.clone(),
            message: e.to_string(),
        })?;
        Ok(self.http.get_or_init(|| client))
    }

    /// Refuses to go on when offline, naming what needed the network.
    pub fn ensure_online(&self, needed: impl FnOnce() -> String) -> Result<(), HubError> {
        if self.options.offline {
            Err(HubError::Offline { needed: needed() })
        } else {
            Ok(())
        }
    }

    /// The token to send to `url`: only to the endpoint's own origin (hub-protocol §4.5).
    pub fn token_for(&self, url: &str) -> Option<&Token> {
        if !same_origin(url, &self.options.endpoint) {
            return None;
        }
        self.token()
    }

    /// Whether a token is configured at all (for error messages).
    pub fn has_token(&self) -> bool {
        self.token().is_some()
    }

    /// `GET /api/whoami-v2`: who owns the token. Needs a token; retried like other API calls.
    pub async fn whoami(&self) -> Result<WhoAmI, HubError> {
        self.ensure_online(|| "checking the access token".into())?;
        if !self.has_token() {
            return Err(HubError::NotLoggedIn {
                endpoint: self.options.endpoint.clone(),
            });
        }
        let url = format!("{}/api/whoami-v2", self.options.endpoint);
        let mut attempt = 0;
        loop {
            let result = match self.send_attempt(Method::GET, &url, None, attempt).await {
                Ok(response) if response.status().is_success() => response
                    .json::<WhoAmI>()
                    .await
                    .map_err(|e| HubError::Protocol {
                        url: url.clone(),
                        message: format!("invalid whoami answer: {e}"),
                    }),
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response.text().await.ok();
                    Err(classify_account_error(
                        status,
                        &headers,
                        body.as_deref(),
                        &url,
                    ))
                }
                Err(error) => Err(error),
            };
            match result {
                Err(error) if error.is_retryable() && attempt < self.options.retries => {
                    let delay = retry_delay(&error, attempt, self.options.retry_base);
                    self.options.metrics.count_retry();
                    tracing::debug!(url = %redact_url(&url), attempt, ?delay, %error, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `{endpoint}/{prefix}{repo}/resolve/{revision}/{path}` with the Hub's encoding rules.
    pub fn resolve_url(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
        path: &str,
    ) -> String {
        format!(
            "{}/{}{}/resolve/{}/{}",
            self.options.endpoint,
            repo_type.url_prefix(),
            repo,
            utf8_percent_encode(revision, SEGMENT),
            utf8_percent_encode(path, PATH)
        )
    }

    fn api_url(&self, repo_type: RepoType, repo: &RepoId, tail: &str) -> String {
        format!(
            "{}/api/{}/{}{}",
            self.options.endpoint,
            repo_type.api_plural(),
            repo,
            tail
        )
    }

    /// `GET /api/{type}s/{repo}/revision/{rev}`: resolves a revision to its commit.
    pub async fn revision_info(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<RepoInfo, HubError> {
        self.ensure_online(|| format!("resolving `{repo}@{revision}`"))?;
        self.get_revision(repo_type, repo, revision).await
    }

    /// `GET /api/{type}s/{repo}/revision/{rev}` for resolving a revision: the commit it points
    /// to, with what the lock records about the repo there (card metadata, gating, config).
    pub async fn revision_details(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<RepoDetails, HubError> {
        self.ensure_online(|| format!("resolving `{repo}@{revision}`"))?;
        self.get_revision(repo_type, repo, revision).await
    }

    /// `GET /api/{type}s/{repo}/revision/{rev}`, read as `T` (the Hub's answer has more fields
    /// than resolving needs).
    async fn get_revision<T: DeserializeOwned>(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<T, HubError> {
        self.get_at_revision(repo_type, repo, "revision", revision)
            .await
    }

    /// `GET /api/{type}s/{repo}/{route}/{rev}`, read as `T`, with the revision in its errors.
    async fn get_at_revision<T: DeserializeOwned>(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        route: &str,
        revision: &str,
    ) -> Result<T, HubError> {
        let url = self.api_url(
            repo_type,
            repo,
            &format!("/{route}/{}", utf8_percent_encode(revision, SEGMENT)),
        );
        let ctx = ErrorContext {
            repo_type,
            repo,
            revision: Some(revision),
        };
        Ok(self.get_json::<T>(&url, Some(&ctx)).await?.0)
    }

    /// `GET /api/{type}s/{repo}/xet-read-token/{commit}`: a CAS token for the Xet files of the
    /// repo (xet-protocol §2.4), sent with the Hub token like every API call; retried like them.
    pub async fn xet_read_token(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
    ) -> Result<crate::xet::reconstruction::XetToken, HubError> {
        self.ensure_online(|| format!("downloading from `{repo}` over Xet"))?;
        self.get_at_revision(repo_type, repo, "xet-read-token", commit)
            .await
    }

    /// The full recursive file listing at `commit`, following `Link: rel="next"` pages.
    pub async fn list_files(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
    ) -> Result<Vec<TreeEntry>, HubError> {
        self.ensure_online(|| format!("listing the files of `{repo}`"))?;
        let mut url = self.api_url(
            repo_type,
            repo,
            &format!(
                "/tree/{}?recursive=true&expand=false",
                utf8_percent_encode(commit, SEGMENT)
            ),
        );
        let ctx = ErrorContext {
            repo_type,
            repo,
            revision: Some(commit),
        };
        let mut entries = Vec::new();
        for _ in 0..MAX_TREE_PAGES {
            let (page, headers) = self.get_json::<Vec<TreeEntry>>(&url, Some(&ctx)).await?;
            entries.extend(page.into_iter().filter(|e| e.kind == "file"));
            match next_link(&headers) {
                Some(next) => url = next,
                None => return Ok(entries),
            }
        }
        Err(HubError::Protocol {
            url,
            message: format!("more than {MAX_TREE_PAGES} pages of tree listing"),
        })
    }

    /// `GET /api/{type}s/{repo}/commits/{rev}`: the revision's history, newest first, following
    /// `Link: rel="next"` pages until `enough` says the commits so far suffice (or the history
    /// ends). Bounded, so a server that loops on `next` cannot keep it going.
    pub async fn list_commits(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
        mut enough: impl FnMut(&[CommitInfo]) -> bool,
    ) -> Result<Vec<CommitInfo>, HubError> {
        self.ensure_online(|| format!("listing the commits of `{repo}@{revision}`"))?;
        let mut url = self.api_url(
            repo_type,
            repo,
            &format!("/commits/{}", utf8_percent_encode(revision, SEGMENT)),
        );
        let ctx = ErrorContext {
            repo_type,
            repo,
            revision: Some(revision),
        };
        let mut commits = Vec::new();
        for _ in 0..MAX_COMMIT_PAGES {
            let (page, headers) = self.get_json::<Vec<CommitInfo>>(&url, Some(&ctx)).await?;
            commits.extend(page);
            if enough(&commits) {
                return Ok(commits);
            }
            match next_link(&headers) {
                Some(next) => url = next,
                None => return Ok(commits),
            }
        }
        Err(HubError::Protocol {
            url,
            message: format!("more than {MAX_COMMIT_PAGES} pages of commits"),
        })
    }

    /// `GET /api/{type}s/{repo}/revision/{rev}`: everything the Hub says about the repo at a
    /// revision (commit, dates, gating, tags, card metadata, counters).
    pub async fn repo_details(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        revision: &str,
    ) -> Result<RepoDetails, HubError> {
        self.ensure_online(|| format!("looking up `{repo}@{revision}`"))?;
        self.get_revision(repo_type, repo, revision).await
    }

    /// `GET /api/{type}s/{repo}/auth-check` (hub-protocol §1.9): `Ok` when this client may
    /// download the repo's files, else the error the Hub gives (`GatedRepo` for a gated repo and
    /// a token without access, or none).
    pub async fn auth_check(&self, repo_type: RepoType, repo: &RepoId) -> Result<(), HubError> {
        self.ensure_online(|| format!("checking access to `{repo}`"))?;
        let url = self.api_url(repo_type, repo, "/auth-check");
        let ctx = ErrorContext {
            repo_type,
            repo,
            revision: None,
        };
        self.get_json::<serde_json::Value>(&url, Some(&ctx))
            .await
            .map(|_| ())
    }

    /// The content of a small file at `commit` (a README), through `/resolve` and its
    /// redirects; at most `max_bytes` (a longer file is an error).
    pub async fn read_small_file(
        &self,
        repo_type: RepoType,
        repo: &RepoId,
        commit: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, HubError> {
        self.ensure_online(|| format!("reading {path} of `{repo}`"))?;
        let url = self.resolve_url(repo_type, repo, commit, path);
        let ctx = ErrorContext {
            repo_type,
            repo,
            revision: Some(commit),
        };
        self.with_retries(&url, |attempt| {
            self.read_small_file_once(&url, &ctx, max_bytes, attempt)
        })
        .await
    }

    async fn read_small_file_once(
        &self,
        url: &str,
        ctx: &ErrorContext<'_>,
        max_bytes: u64,
        attempt: u32,
    ) -> Result<Vec<u8>, HubError> {
        let mut current = url.to_owned();
        for _ in 0..10 {
            let response = self
                .send_attempt(Method::GET, &current, None, attempt)
                .await?;
            let status = response.status();
            if status.is_redirection() {
                // `send` sends the token to the endpoint's origin only, so following a CDN
                // redirect here never leaks it.
                current = redirect_target(&current, response.headers())?;
                continue;
            }
            if !status.is_success() {
                let headers = response.headers().clone();
                let body = response.text().await.ok();
                return Err(self.classify(status, &headers, body.as_deref(), &current, ctx));
            }
            if response.content_length().is_some_and(|n| n > max_bytes) {
                return Err(HubError::Protocol {
                    url: redact_url(&current),
                    message: format!("the file is larger than {max_bytes} bytes"),
                });
            }
            let bytes = response.bytes().await.map_err(|e| HubError::Network {
                url: redact_url(&current),
                message: describe_reqwest_error(&e),
            })?;
            if bytes.len() as u64 > max_bytes {
                return Err(HubError::Protocol {
                    url: redact_url(&current),
                    message: format!("the file is larger than {max_bytes} bytes"),
                });
            }
            return Ok(bytes.to_vec());
        }
        Err(HubError::Protocol {
            url: redact_url(url),
            message: "too many redirects".into(),
        })
    }

    /// `GET /api/{type}s?search=…` (`crates/mock-hub/PROTOCOL-NOTES.md` §13.1): the repos that
    /// match, in the Hub's order, following `Link: rel="next"` pages until `query.limit` repos
    /// (or the last page).
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<RepoSummary>, HubError> {
        self.ensure_online(|| format!("searching the Hub's {}", query.repo_type.api_plural()))?;
        let mut url = format!(
            "{}/api/{}?{}",
            self.options.endpoint,
            query.repo_type.api_plural(),
            query.to_query()
        );
        let mut found: Vec<RepoSummary> = Vec::new();
        for _ in 0..MAX_SEARCH_PAGES {
            let (page, headers) = self.get_json::<Vec<RepoSummary>>(&url, None).await?;
            let empty = page.is_empty();
            found.extend(page);
            if found.len() >= query.limit || empty {
                found.truncate(query.limit);
                return Ok(found);
            }
            match next_link(&headers) {
                Some(next) => url = next,
                None => return Ok(found),
            }
        }
        Err(HubError::Protocol {
            url,
            message: format!("more than {MAX_SEARCH_PAGES} pages of search results"),
        })
    }

    /// `GET /api/{type}s/{repo}/refs`: branches and tags.
    pub async fn refs(&self, repo_type: RepoType, repo: &RepoId) -> Result<Refs, HubError> {
        self.ensure_online(|| format!("listing the branches of `{repo}`"))?;
        let url = self.api_url(repo_type, repo, "/refs");
        let ctx = ErrorContext {
            repo_type,
            repo,
            revision: None,
        };
        Ok(self.get_json::<Refs>(&url, Some(&ctx)).await?.0)
    }

    /// A GET of JSON with retries; follows same-origin redirects (renamed repos) only. `ctx`
    /// names the repo the call is about, for its errors; `None` for calls about no repo (a
    /// search), whose 401 can only mean a refused token.
    async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        ctx: Option<&ErrorContext<'_>>,
    ) -> Result<(T, HeaderMap), HubError> {
        self.with_retries(url, |attempt| self.get_json_once::<T>(url, ctx, attempt))
            .await
    }

    /// Runs `attempt` (given its number, from 0) until it succeeds, fails for good, or the
    /// retries are spent, waiting between tries as [`retry_delay`] says.
    async fn with_retries<T, F, Fut>(&self, url: &str, mut attempt: F) -> Result<T, HubError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, HubError>>,
    {
        let mut number = 0;
        loop {
            match attempt(number).await {
                Err(error) if error.is_retryable() && number < self.options.retries => {
                    let delay = retry_delay(&error, number, self.options.retry_base);
                    self.options.metrics.count_retry();
                    let url = redact_url(url);
                    tracing::debug!(%url, attempt = number, ?delay, %error, "retrying");
                    tokio::time::sleep(delay).await;
                    number += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_json_once<T: DeserializeOwned>(
        &self,
        url: &str,
        ctx: Option<&ErrorContext<'_>>,
        attempt: u32,
    ) -> Result<(T, HeaderMap), HubError> {
        let mut current = url.to_owned();
        for _ in 0..10 {
            let response = self
                .send_attempt(Method::GET, &current, None, attempt)
                .await?;
            let status = response.status();
            if status.is_redirection() {
                current = redirect_target(&current, response.headers())?;
                if !same_origin(&current, &self.options.endpoint) {
                    return Err(HubError::Protocol {
                        url: current,
                        message: "an API call was redirected to another origin".into(),
                    });
                }
                continue;
            }
            if !status.is_success() {
                let headers = response.headers().clone();
                let body = response.text().await.ok();
                return Err(match ctx {
                    Some(ctx) => self.classify(status, &headers, body.as_deref(), &current, ctx),
                    None => classify_account_error(status, &headers, body.as_deref(), &current),
                });
            }
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(|e| HubError::Network {
                url: redact_url(&current),
                message: describe_reqwest_error(&e),
            })?;
            let value = serde_json::from_slice(&bytes).map_err(|e| HubError::Protocol {
                url: current.clone(),
                message: format!("invalid JSON: {e}"),
            })?;
            return Ok((value, headers));
        }
        Err(HubError::Protocol {
            url: url.to_owned(),
            message: "too many redirects".into(),
        })
    }

    /// Sends one request with the token when the origin allows it.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        range: Option<String>,
    ) -> Result<reqwest::Response, HubError> {
        self.send_attempt(method, url, range, 0).await
    }

    /// [`send`](Self::send) as retry `attempt` (0 for the first try) of its caller's loop: the
    /// one place a request leaves hfdl, so it is counted and logged here (at debug: method, URL
    /// without its query, status, declared bytes, duration, attempt; never the token).
    pub async fn send_attempt(
        &self,
        method: Method,
        url: &str,
        range: Option<String>,
        attempt: u32,
    ) -> Result<reqwest::Response, HubError> {
        let bearer = self.token_for(url).map(|token| token.expose().to_owned());
        let kind = RequestKind::of(&method, url, &self.options.endpoint);
        self.send_as(method, kind, url, range, bearer.as_deref(), attempt)
            .await
    }

    /// [`send_attempt`](Self::send_attempt) to the Xet CAS and its transfer URLs: never with
    /// the Hub token; with `bearer` (a CAS token) when given; counted as [`RequestKind::Xet`].
    pub async fn send_external(
        &self,
        method: Method,
        url: &str,
        range: Option<String>,
        bearer: Option<&str>,
        attempt: u32,
    ) -> Result<reqwest::Response, HubError> {
        self.send_as(method, RequestKind::Xet, url, range, bearer, attempt)
            .await
    }

    /// Sends one request with `bearer` as its `Authorization`, counted and logged.
    async fn send_as(
        &self,
        method: Method,
        kind: RequestKind,
        url: &str,
        range: Option<String>,
        bearer: Option<&str>,
        attempt: u32,
    ) -> Result<reqwest::Response, HubError> {
        let mut request = self.http()?.request(method.clone(), url);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        request = request.header(reqwest::header::ACCEPT_ENCODING, "identity");
        let started = std::time::Instant::now();
        self.options.metrics.count_request(kind);
        let result = request.send().await;
        let duration_ms = super::metrics::millis(started.elapsed());
        let url = redact_url(url);
        match &result {
            Ok(response) => tracing::debug!(
                %method,
                %url,
                kind = kind.as_str(),
                status = response.status().as_u16(),
                bytes = response.content_length(),
                duration_ms,
                attempt,
                "request"
            ),
            Err(error) => tracing::debug!(
                %method,
                %url,
                kind = kind.as_str(),
                duration_ms,
                attempt,
                error = %describe_reqwest_error(error),
                "request failed"
            ),
        }
        result.map_err(|e| HubError::Network {
            url: redact_url(&url),
            message: describe_reqwest_error(&e),
        })
    }

    /// The counters this client adds to.
    pub fn metrics(&self) -> &HubMetrics {
        &self.options.metrics
    }

    /// Turns an error response into a typed error (hub-protocol §2.3).
    pub fn classify(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&str>,
        url: &str,
        ctx: &ErrorContext<'_>,
    ) -> HubError {
        // Errors are printed, logged and written to metrics files: never with the signature of
        // a signed CDN URL.
        let url = &redact_url(url);
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let code = header("x-error-code").unwrap_or_default();
        let message = error_message(status, headers, body);
        let authenticated = self.token_for(url).is_some();
        let repo_url = format!(
            "{}/{}{}",
            self.options.endpoint,
            ctx.repo_type.url_prefix(),
            ctx.repo
        );
        match code.as_str() {
            "RevisionNotFound" => {
                return HubError::RevisionNotFound {
                    repo: ctx.repo.clone(),
                    revision: ctx.revision.unwrap_or_default().to_owned(),
                    help: "check the revision name; it must be a branch, a tag, `refs/pr/N` or a full commit".into(),
                };
            }
            "EntryNotFound" => {
                return HubError::EntryNotFound {
                    repo: ctx.repo.clone(),
                    path: url.rsplit("/resolve/").next().unwrap_or(url).to_owned(),
                    commit: header("x-repo-commit")
                        .or_else(|| ctx.revision.map(str::to_owned))
                        .unwrap_or_default(),
                };
            }
            "GatedRepo" => {
                let help = if authenticated {
                    format!(
                        "accept the conditions at {repo_url} while logged in as the owner of your token (see `hfdl whoami`), then run again"
                    )
                } else {
                    format!(
                        "accept the conditions at {repo_url}, then log in with `hfdl login` or set HF_TOKEN"
                    )
                };
                return HubError::GatedRepo {
                    repo: ctx.repo.clone(),
                    repo_type: ctx.repo_type,
                    authenticated,
                    message,
                    help,
                };
            }
            _ => {}
        }
        if status == StatusCode::UNAUTHORIZED && message.contains("Invalid credentials") {
            return HubError::InvalidToken { message };
        }
        if code == "RepoNotFound"
            || status == StatusCode::UNAUTHORIZED
            || status == StatusCode::NOT_FOUND && ctx.revision.is_none()
        {
            return HubError::RepoNotFound {
                repo: ctx.repo.clone(),
                repo_type: ctx.repo_type,
                endpoint: self.options.endpoint.clone(),
                authenticated,
            };
        }
        if status == StatusCode::FORBIDDEN {
            return HubError::Forbidden {
                url: url.to_owned(),
                message,
            };
        }
        classify_by_status(status, headers, url, message)
    }
}

/// What a request was about, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext<'a> {
    /// The type of the repository asked about.
    pub repo_type: RepoType,
    /// The repository asked about.
    pub repo: &'a RepoId,
    /// The revision or commit asked for; `None` for calls about the whole repository (refs).
    pub revision: Option<&'a str>,
}

/// The delay before retry `attempt` (0-based): the server's word for a 429, else exponential
/// backoff from `base` with jitter, capped at 30 s.
pub fn retry_delay(error: &HubError, attempt: u32, base: Duration) -> Duration {
    if let HubError::RateLimited { retry_after, .. } = error
        && !retry_after.is_zero()
    {
        return *retry_after;
    }
    backoff(attempt, base)
}

/// Exponential backoff before retry `attempt` (0-based) from `base`, with jitter, capped at
/// 30 s: the delay of [`retry_delay`] when the server did not ask for one (and after a body that
/// did not hash to the lock, which no server error describes).
pub fn backoff(attempt: u32, base: Duration) -> Duration {
    let exponential = base
        .saturating_mul(1 << attempt.min(10))
        .min(Duration::from_secs(30));
    // Jitter without a RNG dependency: the clock's sub-second noise spreads retries out.
    let noise = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = exponential.mul_f64(f64::from(noise % 250) / 1000.0);
    exponential + jitter
}

/// The wait a 429 asks for: `RateLimit: "…";r=0;t=N` → N+1 s, else `Retry-After: N` → N+1 s
/// (hub-protocol §2.4); zero when neither says.
pub fn rate_limit_delay(headers: &HeaderMap) -> Duration {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ratelimit) = value("ratelimit") {
        let field = |key: &str| {
            ratelimit.split(';').find_map(|part| {
                part.trim()
                    .strip_prefix(key)?
                    .trim_start()
                    .strip_prefix('=')?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        };
        if let (Some(0), Some(reset)) = (field("r"), field("t")) {
            return Duration::from_secs(reset + 1);
        }
    }
    value("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, |secs| Duration::from_secs(secs + 1))
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .find_map(|value| {
            value.split(',').find_map(|link| {
                let (target, params) = link.split_once(';')?;
                params
                    .split(';')
                    .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
                    .then(|| {
                        target
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned()
                    })
            })
        })
}

/// The absolute target of a redirect response.
pub fn redirect_target(current: &str, headers: &HeaderMap) -> Result<String, HubError> {
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| HubError::Protocol {
            url: current.to_owned(),
            message: "a redirect without Location".into(),
        })?;
    let base = url::Url::parse(current).map_err(|e| HubError::Protocol {
        url: current.to_owned(),
        message: e.to_string(),
    })?;
    base.join(location)
        .map(String::from)
        .map_err(|e| HubError::Protocol {
            url: current.to_owned(),
            message: format!("bad Location `{location}`: {e}"),
        })
}

/// `url` fit for a log line: the query (where signed CDN URLs carry their signature and
/// expiry) and any user:password are replaced, the rest kept so the line says what was fetched.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a URL we could have sent; keep what precedes a query, if anything.
        return url.split('?').next().unwrap_or_default().to_owned();
    };
    if parsed.query().is_some() {
        parsed.set_query(Some("[redacted]"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let _ = parsed.set_username("[redacted]");
        let _ = parsed.set_password(None);
    }
    parsed.into()
}

/// Same scheme, host and port (defaults applied).
pub fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str().map(str::to_ascii_lowercase)
                    == b.host_str().map(str::to_ascii_lowercase)
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// reqwest's Display hides the cause; walk the chain for a useful message. reqwest also puts
/// the full URL in its message (` for url (…)`): it is redacted, as a signed CDN URL carries its
/// signature in the query.
pub fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    match error.url() {
        Some(url) => message.replace(url.as_str(), &redact_url(url.as_str())),
        None => message,
    }
}

/// Errors of account calls (no repository involved): any 401 means the token was refused.
fn classify_account_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&str>,
    url: &str,
) -> HubError {
    let message = error_message(status, headers, body);
    if status == StatusCode::UNAUTHORIZED {
        return HubError::InvalidToken { message };
    }
    classify_by_status(status, headers, url, message)
}

/// The Hub's explanation of an error: `X-Error-Message`, else the body's `{"error": …}`, else
/// the status text.
fn error_message(status: StatusCode, headers: &HeaderMap, body: Option<&str>) -> String {
    headers
        .get("x-error-message")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            body.and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
}

/// The typed error of an answer from a server other than the Hub (the Xet CAS, its transfer
/// URLs): 429 and 5xx are retryable as for the Hub, anything else is a protocol error. The URL
/// is redacted (signed URLs carry their signature in the query).
pub fn classify_external(
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&str>,
    url: &str,
) -> HubError {
    let message = error_message(status, headers, body);
    classify_by_status(status, headers, &redact_url(url), message)
}

/// What the status alone says, once the Hub's error codes have been looked at.
fn classify_by_status(
    status: StatusCode,
    headers: &HeaderMap,
    url: &str,
    message: String,
) -> HubError {
    match status {
        StatusCode::TOO_MANY_REQUESTS => HubError::RateLimited {
            url: url.to_owned(),
            retry_after: rate_limit_delay(headers),
        },
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => HubError::Server {
            url: url.to_owned(),
            status: s.as_u16(),
            message,
        },
        s => HubError::Protocol {
            url: url.to_owned(),
            message: format!("{} {message}", s.as_u16()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_one_path_segment_and_paths_keep_slashes() {
        let client = HubClient::new(HubOptions::new("https://hub.example/"));
        let repo = RepoId::parse("org/m").unwrap();
        assert_eq!(
            client.resolve_url(RepoType::Dataset, &repo, "refs/pr/1", "sub dir/a#b+c.json"),
            "https://hub.example/datasets/org/m/resolve/refs%2Fpr%2F1/sub%20dir/a%23b%2Bc.json"
        );
    }

    #[test]
    fn the_token_only_goes_to_the_endpoint_origin() {
        let mut options = HubOptions::new("http://127.0.0.1:8000");
        options.token = Token::new("hf_x");
        let client = HubClient::new(options);
        assert!(
            client
                .token_for("http://127.0.0.1:8000/api/models/a")
                .is_some()
        );
        assert!(client.token_for("http://127.0.0.1:8001/cdn/x").is_none());
        assert!(client.token_for("http://localhost:8000/cdn/x").is_none());
    }

    #[test]
    fn logged_urls_lose_their_query_and_credentials() {
        assert_eq!(
            redact_url("http://cdn.example:8001/cdn/ab12?Expires=1&Signature=s3cr3t&Key-Pair-Id=K"),
            "http://cdn.example:8001/cdn/ab12?[redacted]"
        );
        assert_eq!(
            redact_url("https://user:hf_secret@hub.example/api/models/a/b"),
            "https://%5Bredacted%5D@hub.example/api/models/a/b"
        );
        assert_eq!(
            redact_url("https://hub.example/a/b/resolve/main/x.json"),
            "https://hub.example/a/b/resolve/main/x.json"
        );
    }

    #[test]
    fn search_queries_are_sent_as_list_models_sends_them() {
        let query = SearchQuery {
            repo_type: RepoType::Model,
            search: Some("bert base".into()),
            author: Some("google".into()),
            filters: vec!["license:mit".into(), "fill-mask".into()],
            sort: Some("downloads".into()),
            limit: 5,
        };
        assert_eq!(
            query.to_query(),
            "search=bert+base&author=google&filter=license%3Amit&filter=fill-mask&sort=downloads\
             &direction=-1&limit=5&expand=downloads&expand=likes&expand=lastModified&expand=gated\
             &expand=private&expand=tags&expand=pipeline_tag&expand=library_name"
        );
        // Spaces: no downloads or gating to ask for (the Hub answers 400), no empty parameters.
        let spaces = SearchQuery {
            repo_type: RepoType::Space,
            search: Some(String::new()),
            limit: 20,
            ..SearchQuery::default()
        };
        assert_eq!(
            spaces.to_query(),
            "limit=20&expand=likes&expand=lastModified&expand=private&expand=tags&expand=sdk"
        );
    }

    #[test]
    fn link_headers_yield_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static("<http://h/api/models/a/tree/x?cursor=abc>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("http://h/api/models/a/tree/x?cursor=abc")
        );
    }

    #[test]
    fn rate_limit_headers_decide_the_wait() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "ratelimit",
            HeaderValue::from_static("\"resolvers\";r=0;t=4"),
        );
        headers.insert("retry-after", HeaderValue::from_static("9"));
        assert_eq!(rate_limit_delay(&headers), Duration::from_secs(5));
        headers.remove("ratelimit");
        assert_eq!(rate_limit_delay(&headers), Duration::from_secs(10));
    }
}
