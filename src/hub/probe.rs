//! One timed, anonymous request to the endpoint, for `hfdl doctor`: does it answer, how fast,
//! over TLS or plain HTTP, and what time its `Date` header says it is (signed CDN URLs and token
//! expiry are checked against the server's clock, so a skewed local clock breaks downloads in
//! ways that look like auth errors).

use std::time::{Duration, Instant, SystemTime};

use super::HubClient;
use super::client::describe_reqwest_error;

/// What the endpoint answered.
#[derive(Debug, Clone)]
pub struct EndpointProbe {
    /// The URL requested (`{endpoint}/api/whoami-v2`).
    pub url: String,
    /// The HTTP status of the answer (`401` is normal: no token is sent).
    pub status: u16,
    /// Until the response headers arrived (connection and TLS handshake included).
    pub latency: Duration,
    /// The endpoint is `https` (so the answer came over a completed TLS handshake).
    pub https: bool,
    /// The server's `Date` header, when it sent a valid one.
    pub server_date: Option<SystemTime>,
    /// The local clock halfway through the request (the best match for `Date`).
    pub local_date: SystemTime,
}

impl EndpointProbe {
    /// Seconds the server's clock is ahead of the local one (negative: behind). `Date` has
    /// whole seconds, so ±1 s is noise.
    pub fn clock_skew_secs(&self) -> Option<i64> {
        let server = self.server_date?;
        Some(match server.duration_since(self.local_date) {
            Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_secs()).unwrap_or(i64::MAX),
        })
    }
}

/// Why the endpoint could not be reached.
#[derive(Debug, Clone)]
pub struct ProbeError {
    /// The URL requested (`{endpoint}/api/whoami-v2`).
    pub url: String,
    /// Why the request failed: offline mode, client set-up, or the error and its causes.
    pub message: String,
    /// The connection was made but the TLS handshake failed (certificate, protocol).
    pub tls: bool,
}

/// `GET {endpoint}/api/whoami-v2` without a token (a `401` is a fine answer: the Hub is up),
/// once, without retries: doctor reports what it sees, quickly. The client's timeout bounds it.
pub async fn probe_endpoint(hub: &HubClient) -> Result<EndpointProbe, ProbeError> {
    let url = format!("{}/api/whoami-v2", hub.endpoint());
    let https = url.starts_with("https://");
    let fail = |message: String, tls: bool| ProbeError {
        url: url.clone(),
        message,
        tls,
    };
    if hub.is_offline() {
        return Err(fail("offline mode".into(), false));
    }
    let http = hub.http().map_err(|e| fail(e.to_string(), false))?;
    let sent_at = SystemTime::now();
    let started = Instant::now();
    let response = http.get(&url).send().await.map_err(|error| {
        let message = describe_reqwest_error(&error);
        let lower = message.to_ascii_lowercase();
        let tls = https
            && ["certificate", "tls", "handshake", "ssl"]
                .iter()
                .any(|word| lower.contains(word));
        fail(message, tls)
    })?;
    let latency = started.elapsed();
    let server_date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok());
    Ok(EndpointProbe {
        url,
        status: response.status().as_u16(),
        latency,
        https,
        server_date,
        local_date: sent_at + latency / 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe_with_skew(server: SystemTime, local: SystemTime) -> EndpointProbe {
        EndpointProbe {
            url: String::new(),
            status: 200,
            latency: Duration::ZERO,
            https: true,
            server_date: Some(server),
            local_date: local,
        }
    }

    #[test]
    fn clock_skew_is_signed_server_minus_local() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ahead = probe_with_skew(now + Duration::from_mins(10), now);
        assert_eq!(ahead.clock_skew_secs(), Some(600));
        let behind = probe_with_skew(now - Duration::from_secs(90), now);
        assert_eq!(behind.clock_skew_secs(), Some(-90));
        let none = EndpointProbe {
            server_date: None,
            ..ahead
        };
        assert_eq!(none.clock_skew_secs(), None);
    }
}
