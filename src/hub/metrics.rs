//! Request counters of the Hub client: every request sent, by kind, the retries and the file
//! bytes received. One [`HubMetrics`] is shared (through [`Arc`](std::sync::Arc)) by every client a
//! command builds, so a sync's summary counts its lock phase and its downloads together.
//!
//! The kinds are the mock Hub's (`crates/mock-hub`, `RequestKind`), so a test can compare what
//! hfdl says it sent with what the server saw.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use serde::Serialize;

/// A duration in milliseconds for log lines, to a hundredth of a millisecond.
pub fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 100_000.0).round() / 100.0
}

/// What a request was for, told from its URL (hub-protocol §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `/api/…` JSON calls on the endpoint.
    Api,
    /// `HEAD` of a `/resolve/` URL (or `/api/resolve-cache/`).
    ResolveHead,
    /// `GET` of a `/resolve/` URL (or `/api/resolve-cache/`).
    ResolveGet,
    /// Anything on another origin: where `/resolve/` redirects LFS files (the CDN).
    Cdn,
    /// Any other URL on the endpoint.
    Other,
    /// The Xet CAS: reconstructions and xorb ranges (another origin, told by the caller, not
    /// by the URL; the token endpoint is an [`RequestKind::Api`] call).
    Xet,
}

impl RequestKind {
    /// Classifies a request to `url` for a client of `endpoint` (no trailing `/`).
    pub fn of(method: &Method, url: &str, endpoint: &str) -> RequestKind {
        let Some(path) = url
            .strip_prefix(endpoint)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        else {
            return RequestKind::Cdn;
        };
        let resolve = if *method == Method::HEAD {
            RequestKind::ResolveHead
        } else {
            RequestKind::ResolveGet
        };
        if path.starts_with("/api/resolve-cache/") {
            resolve
        } else if path.starts_with("/api/") {
            RequestKind::Api
        } else if path.contains("/resolve/") {
            resolve
        } else {
            RequestKind::Other
        }
    }

    /// The name used in logs and in the metrics JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Api => "api",
            RequestKind::ResolveHead => "resolve_head",
            RequestKind::ResolveGet => "resolve_get",
            RequestKind::Cdn => "cdn",
            RequestKind::Other => "other",
            RequestKind::Xet => "xet",
        }
    }
}

/// Live counters, updated by the client as it sends.
#[derive(Debug, Default)]
pub struct HubMetrics {
    api: AtomicU64,
    resolve_head: AtomicU64,
    resolve_get: AtomicU64,
    cdn: AtomicU64,
    other: AtomicU64,
    xet: AtomicU64,
    retries: AtomicU64,
    body_bytes: AtomicU64,
}

impl HubMetrics {
    /// Counts one request sent (retries are requests too).
    pub fn count_request(&self, kind: RequestKind) {
        let counter = match kind {
            RequestKind::Api => &self.api,
            RequestKind::ResolveHead => &self.resolve_head,
            RequestKind::ResolveGet => &self.resolve_get,
            RequestKind::Cdn => &self.cdn,
            RequestKind::Other => &self.other,
            RequestKind::Xet => &self.xet,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a retry: of an API call, of a download after a network error, a 5xx or a body
    /// that did not hash to the lock's digest.
    pub fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// File-body bytes received so far (failed attempts included).
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::Relaxed)
    }

    /// Counts file-body bytes received from the network.
    pub fn count_body_bytes(&self, bytes: u64) {
        self.body_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RequestCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut counts = RequestCounts {
            api: load(&self.api),
            resolve_head: load(&self.resolve_head),
            resolve_get: load(&self.resolve_get),
            cdn: load(&self.cdn),
            other: load(&self.other),
            xet: load(&self.xet),
            total: 0,
        };
        counts.total = counts.api
            + counts.resolve_head
            + counts.resolve_get
            + counts.cdn
            + counts.other
            + counts.xet;
        counts
    }
}

/// Requests sent, by kind, at one moment (what the summary and `--metrics-file` report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// [`RequestKind::Api`] requests.
    pub api: u64,
    /// [`RequestKind::ResolveHead`] requests.
    pub resolve_head: u64,
    /// [`RequestKind::ResolveGet`] requests.
    pub resolve_get: u64,
    /// [`RequestKind::Cdn`] requests.
    pub cdn: u64,
    /// [`RequestKind::Other`] requests.
    pub other: u64,
    /// [`RequestKind::Xet`] requests.
    pub xet: u64,
    /// All of the above (retries included: each is a request).
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_url_like_the_mock_hub_counts_them() {
        let hub = "http://127.0.0.1:8000";
        let kind = |method: Method, url: &str| RequestKind::of(&method, url, hub);
        assert_eq!(
            kind(
                Method::GET,
                "http://127.0.0.1:8000/api/models/a/b/revision/main"
            ),
            RequestKind::Api
        );
        assert_eq!(
            kind(Method::GET, "http://127.0.0.1:8000/a/b/resolve/abc/x.json"),
            RequestKind::ResolveGet
        );
        assert_eq!(
            kind(
                Method::HEAD,
                "http://127.0.0.1:8000/datasets/a/b/resolve/abc/x"
            ),
            RequestKind::ResolveHead
        );
        assert_eq!(
            kind(
                Method::GET,
                "http://127.0.0.1:8000/api/resolve-cache/models/a/b/c/x"
            ),
            RequestKind::ResolveGet
        );
        assert_eq!(
            kind(Method::GET, "http://127.0.0.1:8001/cdn/ab?Signature=s"),
            RequestKind::Cdn
        );
        // A port that merely starts with the endpoint's is another origin.
        assert_eq!(
            kind(Method::GET, "http://127.0.0.1:80001/api/x"),
            RequestKind::Cdn
        );
        assert_eq!(
            kind(Method::GET, "http://127.0.0.1:8000/favicon.ico"),
            RequestKind::Other
        );
    }

    #[test]
    fn snapshots_total_the_kinds() {
        let metrics = HubMetrics::default();
        metrics.count_request(RequestKind::Api);
        metrics.count_request(RequestKind::Cdn);
        metrics.count_request(RequestKind::Cdn);
        metrics.count_retry();
        let counts = metrics.snapshot();
        assert_eq!((counts.api, counts.cdn, counts.total), (1, 2, 3));
        assert_eq!(metrics.retries(), 1);
    }
}
