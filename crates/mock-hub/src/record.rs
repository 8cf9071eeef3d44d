//! What the server saw and what it should do wrong: the request log, the counters by kind,
//! and the fault rules tests install.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The log keeps at most this many requests so a long benchmark cannot grow it without bound.
const MAX_LOGGED_REQUESTS: usize = 200_000;

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// `/api/…` JSON calls.
    Api,
    /// `HEAD` of a `/resolve/` (or `/api/resolve-cache/`) URL.
    ResolveHead,
    /// `GET` of a `/resolve/` (or `/api/resolve-cache/`) URL.
    ResolveGet,
    /// Anything on the CDN origin.
    Cdn,
    /// `/__admin/…`: never counted.
    Admin,
    /// `GET /api/{type}s/{repo}/xet-read-token/{rev}` on the Hub origin.
    XetToken,
    /// `/v1/reconstructions/…` and `/v2/reconstructions/…` on the CAS origin.
    XetReconstruction,
    /// A xorb byte range (`/xorb/default/…`) on the CAS origin.
    XetXorb,
    /// The cas-bridge on the CDN origin (`/xet-bridge-us/…`): whole files for non-Xet clients.
    XetBridge,
    /// Anything else on the CAS origin (telemetry, `HEAD /v1/files/…`, unknown routes).
    XetOther,
    /// Anything else (unknown routes).
    Other,
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// The raw (still percent-encoded) path, without the query.
    pub path: String,
    pub query: Option<String>,
    pub kind: RequestKind,
    pub status: u16,
    /// The `Authorization` header as received.
    pub authorization: Option<String>,
    pub range: Option<String>,
    pub user_agent: Option<String>,
}

/// Request and byte counts since the last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub api: u64,
    pub resolve_head: u64,
    pub resolve_get: u64,
    pub cdn: u64,
    pub other: u64,
    /// Body bytes sent (file content on resolve and CDN routes).
    pub bytes_served: u64,
    /// The most bodies that were being sent at the same time (concurrent transfers).
    #[serde(default)]
    pub max_concurrent_bodies: u64,
    /// Xet token requests (`/api/…/xet-read-token/…`; not counted in `api`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xet_token: u64,
    /// CAS reconstruction queries (v1 and v2).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xet_reconstruction: u64,
    /// Xorb byte-range requests on the CAS origin.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xet_xorb: u64,
    /// cas-bridge requests (whole Xet files over plain HTTP; their bytes count in `bytes_served`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xet_bridge: u64,
    /// Other CAS requests (telemetry, existence checks).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xet_other: u64,
    /// Xorb body bytes sent by the CAS.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xet_bytes: u64,
}

/// Xet counters are left out of the JSON while zero, so a run without Xet reports what it
/// always did.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Which byte counter a body adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteCounter {
    /// `bytes_served`: file content on resolve, CDN and bridge routes.
    Served,
    /// `xet_bytes`: xorb bytes on the CAS origin.
    Xet,
}

impl Counters {
    /// Every request except admin ones.
    pub fn total_requests(&self) -> u64 {
        self.api
            + self.resolve_head
            + self.resolve_get
            + self.cdn
            + self.other
            + self.xet_requests()
    }

    /// Every Xet request: token, reconstruction, xorb, bridge and other CAS requests.
    pub fn xet_requests(&self) -> u64 {
        self.xet_token + self.xet_reconstruction + self.xet_xorb + self.xet_bridge + self.xet_other
    }
}

/// A misbehaviour to apply to matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// Answer with this status (e.g. 500, 503) and an error body.
    Status(u16),
    /// `429` with `Retry-After`, `RateLimit` (r=0) and `RateLimit-Policy`.
    RateLimit { retry_after_secs: u64 },
    /// Send the headers and the first N body bytes, then drop the connection.
    CutAfter(u64),
    /// Flip the byte at this offset of the file (absolute, so it also applies to a range).
    Corrupt { offset: u64 },
    /// Send the headers, then nothing for a minute, then drop the connection.
    Stall,
    /// Answer a `Range` request with `200` and the whole body.
    IgnoreRange,
    /// Throttle the body to this rate.
    Slow { bytes_per_sec: u64 },
    /// Answer normally, with a `Date` header this many seconds off the real time (a server, or
    /// a client, whose clock is wrong).
    ClockSkew { secs: i64 },
    /// Xet: on the token endpoint, issue a token that has already expired; on the CAS, treat
    /// the request's token as expired (`401`).
    ExpiredToken,
    /// Xet: on a reconstruction, hand out xorb URLs that have already expired; on a xorb URL,
    /// answer `403` as for an expired signature.
    ExpiredUrl,
    /// Xet: on a reconstruction, announce one byte more than the first term unpacks to.
    WrongUnpackedLength,
    /// Xet: on a xorb range, flip the first payload byte of the first chunk sent.
    FlipChunkByte,
}

/// Applies `fault` to requests whose path contains `path_contains`, `times` times (or always).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub path_contains: String,
    pub fault: Fault,
    pub times: Option<u32>,
}

/// A body being sent; see [`Recorder::body_started`].
#[derive(Debug)]
pub struct BodyInFlight(Arc<Recorder>);

impl Drop for BodyInFlight {
    fn drop(&mut self) {
        self.0.bodies_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Shared recording state of a running server.
#[derive(Debug, Default)]
pub struct Recorder {
    api: AtomicU64,
    resolve_head: AtomicU64,
    resolve_get: AtomicU64,
    cdn: AtomicU64,
    other: AtomicU64,
    bytes_served: AtomicU64,
    bodies_in_flight: AtomicU64,
    max_concurrent_bodies: AtomicU64,
    xet_token: AtomicU64,
    xet_reconstruction: AtomicU64,
    xet_xorb: AtomicU64,
    xet_bridge: AtomicU64,
    xet_other: AtomicU64,
    xet_bytes: AtomicU64,
    log: Mutex<Vec<RequestRecord>>,
    faults: Mutex<Vec<FaultRule>>,
}

impl Recorder {
    /// Counts and logs a finished request.
    pub fn record(&self, record: RequestRecord) {
        let counter = match record.kind {
            RequestKind::Api => &self.api,
            RequestKind::ResolveHead => &self.resolve_head,
            RequestKind::ResolveGet => &self.resolve_get,
            RequestKind::Cdn => &self.cdn,
            RequestKind::Other => &self.other,
            RequestKind::XetToken => &self.xet_token,
            RequestKind::XetReconstruction => &self.xet_reconstruction,
            RequestKind::XetXorb => &self.xet_xorb,
            RequestKind::XetBridge => &self.xet_bridge,
            RequestKind::XetOther => &self.xet_other,
            RequestKind::Admin => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() < MAX_LOGGED_REQUESTS {
            log.push(record);
        }
    }

    /// Counts a body being sent until the returned guard is dropped.
    pub fn body_started(self: &Arc<Self>) -> BodyInFlight {
        let now = self.bodies_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_concurrent_bodies.fetch_max(now, Ordering::SeqCst);
        BodyInFlight(Arc::clone(self))
    }

    /// Adds body bytes actually sent.
    pub fn add_bytes(&self, n: u64) {
        self.bytes_served.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds body bytes actually sent to `counter`.
    pub fn add_counted(&self, counter: ByteCounter, n: u64) {
        match counter {
            ByteCounter::Served => self.add_bytes(n),
            ByteCounter::Xet => {
                self.xet_bytes.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    pub fn counters(&self) -> Counters {
        Counters {
            api: self.api.load(Ordering::Relaxed),
            resolve_head: self.resolve_head.load(Ordering::Relaxed),
            resolve_get: self.resolve_get.load(Ordering::Relaxed),
            cdn: self.cdn.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
            bytes_served: self.bytes_served.load(Ordering::Relaxed),
            max_concurrent_bodies: self.max_concurrent_bodies.load(Ordering::SeqCst),
            xet_token: self.xet_token.load(Ordering::Relaxed),
            xet_reconstruction: self.xet_reconstruction.load(Ordering::Relaxed),
            xet_xorb: self.xet_xorb.load(Ordering::Relaxed),
            xet_bridge: self.xet_bridge.load(Ordering::Relaxed),
            xet_other: self.xet_other.load(Ordering::Relaxed),
            xet_bytes: self.xet_bytes.load(Ordering::Relaxed),
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Zeroes the counters and clears the log (faults stay).
    pub fn reset(&self) {
        for counter in [
            &self.api,
            &self.resolve_head,
            &self.resolve_get,
            &self.cdn,
            &self.other,
            &self.bytes_served,
            &self.max_concurrent_bodies,
            &self.xet_token,
            &self.xet_reconstruction,
            &self.xet_xorb,
            &self.xet_bridge,
            &self.xet_other,
            &self.xet_bytes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(rule);
    }

    pub fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The fault for a request to `path`, consuming one use of the first matching rule.
    pub fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = faults
            .iter()
            .position(|rule| path.contains(&rule.path_contains) && rule.times != Some(0))?;
        let rule = &mut faults[index];
        if let Some(times) = rule.times.as_mut() {
            *times -= 1;
        }
        Some(rule.fault.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up_in_order() {
        let recorder = Recorder::default();
        recorder.add_fault(FaultRule {
            path_contains: "/cdn/".into(),
            fault: Fault::Status(503),
            times: Some(2),
        });
        recorder.add_fault(FaultRule {
            path_contains: "/cdn/".into(),
            fault: Fault::Stall,
            times: None,
        });
        assert_eq!(recorder.take_fault("/api/models/x"), None);
        assert_eq!(recorder.take_fault("/cdn/ab"), Some(Fault::Status(503)));
        assert_eq!(recorder.take_fault("/cdn/ab"), Some(Fault::Status(503)));
        assert_eq!(recorder.take_fault("/cdn/ab"), Some(Fault::Stall));
        assert_eq!(recorder.take_fault("/cdn/ab"), Some(Fault::Stall));
        recorder.clear_faults();
        assert_eq!(recorder.take_fault("/cdn/ab"), None);
    }
}
