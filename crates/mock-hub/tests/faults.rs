//! Fault injection: every misbehaviour a test can install (errors for the first K requests,
//! rate limiting, cut bodies, corrupted bytes, stalls, ignored ranges, slow bandwidth) does what
//! it says, only to the paths it names, only as many times as asked.

mod common;

use std::io::Read as _;
use std::time::{Duration, Instant};

use common::{MODEL, TestHub, WEIGHTS_SIZE, header, maybe_header};
use hfdl_mock_hub::{Fault, FaultRule, RepoType};

const WEIGHTS: &str = "/acme/tiny/resolve/main/model.safetensors";

fn rule(path_contains: &str, fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        path_contains: path_contains.to_owned(),
        fault,
        times,
    }
}

/// The expected weights and their CDN URL.
fn weights(t: &TestHub) -> (Vec<u8>, String) {
    let info = t.file(RepoType::Model, MODEL, "main", "model.safetensors");
    (t.content(&info), t.cdn_url(WEIGHTS))
}

#[test]
fn server_errors_for_the_first_k_requests_then_success() {
    let t = TestHub::start();
    let info_path = format!("/api/models/{MODEL}");
    t.hub
        .add_fault(rule(&info_path, Fault::Status(503), Some(2)));
    for _ in 0..2 {
        let response = t.get(&info_path);
        assert_eq!(response.status(), 503);
        assert_eq!(maybe_header(response.headers(), "x-error-code"), None);
    }
    assert_eq!(
        t.get(&info_path).status(),
        200,
        "the third request succeeds"
    );
    // The rule matched only its own path.
    t.hub
        .add_fault(rule(&info_path, Fault::Status(500), Some(1)));
    assert_eq!(t.get("/api/datasets/acme/squad").status(), 200);
    assert_eq!(t.head(WEIGHTS).status(), 302);
    assert_eq!(t.get(&info_path).status(), 500);
    assert_eq!(t.get(&info_path).status(), 200);
}

#[test]
fn resolve_head_can_fail_with_a_status() {
    let t = TestHub::start();
    t.hub.add_fault(rule(WEIGHTS, Fault::Status(502), Some(1)));
    let response = t.head(WEIGHTS);
    assert_eq!(response.status(), 502);
    assert!(response.headers().get("x-repo-commit").is_none());
    assert_eq!(t.head(WEIGHTS).status(), 302);
}

#[test]
fn a_fault_without_a_count_never_wears_off() {
    let t = TestHub::start();
    t.hub
        .add_fault(rule("/api/models/acme/tiny", Fault::Status(500), None));
    for _ in 0..5 {
        assert_eq!(t.get("/api/models/acme/tiny").status(), 500);
    }
    t.hub.clear_faults();
    assert_eq!(t.get("/api/models/acme/tiny").status(), 200);
}

#[test]
fn rate_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    let t = TestHub::start();
    t.hub.add_fault(rule(
        "/api/models/acme/tiny",
        Fault::RateLimit {
            retry_after_secs: 7,
        },
        Some(1),
    ));
    let response = t.get("/api/models/acme/tiny/revision/main");
    assert_eq!(response.status(), 429);
    let headers = response.headers();
    assert_eq!(header(headers, "retry-after"), "7");
    assert_eq!(header(headers, "ratelimit"), "\"api\";r=0;t=7");
    assert_eq!(
        header(headers, "ratelimit-policy"),
        "\"fixed window\";\"api\";q=500;w=300"
    );

    t.hub.add_fault(rule(
        WEIGHTS,
        Fault::RateLimit {
            retry_after_secs: 3,
        },
        Some(1),
    ));
    let response = t.head(WEIGHTS);
    assert_eq!(response.status(), 429);
    assert_eq!(
        header(response.headers(), "ratelimit"),
        "\"resolvers\";r=0;t=3"
    );
    assert_eq!(t.head(WEIGHTS).status(), 302, "one use only");
}

#[test]
fn a_cut_body_delivers_exactly_the_bytes_before_the_cut() {
    let t = TestHub::start();
    let (content, cdn) = weights(&t);
    t.hub
        .add_fault(rule("/cdn/", Fault::CutAfter(100_000), Some(1)));
    let response = t.client.get(&cdn).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-length"),
        WEIGHTS_SIZE.to_string(),
        "the headers promise the whole file"
    );
    let (received, failed) = common::read_until_error(response);
    assert!(failed, "the body must end in an error, not a clean EOF");
    assert_eq!(received.len(), 100_000);
    assert_eq!(received, content[..100_000]);

    // Resuming from where it stopped completes the file.
    let rest = t
        .client
        .get(&cdn)
        .header("range", "bytes=100000-")
        .send()
        .unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(rest.bytes().unwrap().as_ref(), &content[100_000..]);
}

#[test]
fn a_cut_applies_to_regular_files_and_api_answers_too() {
    let t = TestHub::start();
    let cache = t.resolve_cache_path("/acme/tiny/resolve/main/config.json");
    t.hub
        .add_fault(rule("/api/resolve-cache/", Fault::CutAfter(5), Some(1)));
    let (received, failed) = common::read_until_error(t.get(&cache));
    assert!(failed);
    assert_eq!(received, common::CONFIG[..5]);

    t.hub.add_fault(rule(
        "/api/models/acme/tiny/tree",
        Fault::CutAfter(10),
        Some(1),
    ));
    let (received, failed) = common::read_until_error(t.get("/api/models/acme/tiny/tree/main"));
    assert!(failed);
    assert_eq!(received.len(), 10);
}

#[test]
fn corrupt_flips_one_byte_at_an_absolute_offset_even_inside_a_range() {
    let t = TestHub::start();
    let (content, cdn) = weights(&t);
    t.hub
        .add_fault(rule("/cdn/", Fault::Corrupt { offset: 1234 }, Some(2)));
    let whole = t.client.get(&cdn).send().unwrap().bytes().unwrap();
    assert_eq!(whole.len(), content.len());
    let differing: Vec<usize> = (0..content.len())
        .filter(|&i| whole[i] != content[i])
        .collect();
    assert_eq!(differing, vec![1234]);
    assert_eq!(whole[1234], content[1234] ^ 0xFF);

    let ranged = t
        .client
        .get(&cdn)
        .header("range", "bytes=1000-1999")
        .send()
        .unwrap();
    assert_eq!(ranged.status(), 206);
    let ranged = ranged.bytes().unwrap();
    assert_eq!(ranged[234], content[1234] ^ 0xFF);
    assert_eq!(ranged[..234], content[1000..1234]);
    assert_eq!(ranged[235..], content[1235..2000]);

    let clean = t.client.get(&cdn).send().unwrap().bytes().unwrap();
    assert_eq!(clean.as_ref(), content.as_slice(), "two uses, then clean");
}

#[test]
fn a_stall_sends_headers_then_silence() {
    let t = TestHub::start();
    let (_, cdn) = weights(&t);
    t.hub.add_fault(rule("/cdn/", Fault::Stall, Some(1)));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut response = client.get(&cdn).send().unwrap();
    assert_eq!(response.status(), 200, "the headers arrive");
    let mut buffer = [0u8; 1024];
    let error = response
        .read(&mut buffer)
        .expect_err("no body byte may arrive");
    assert!(started.elapsed() >= Duration::from_millis(900), "{error}");
    // The next request is served normally.
    assert_eq!(t.client.get(&cdn).send().unwrap().status(), 200);
}

#[test]
fn ignore_range_answers_200_with_the_whole_body() {
    let t = TestHub::start();
    let (content, cdn) = weights(&t);
    t.hub.add_fault(rule("/cdn/", Fault::IgnoreRange, Some(1)));
    let response = t
        .client
        .get(&cdn)
        .header("range", "bytes=100-199")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-range").is_none());
    assert_eq!(response.bytes().unwrap().as_ref(), content.as_slice());

    let honoured = t
        .client
        .get(&cdn)
        .header("range", "bytes=100-199")
        .send()
        .unwrap();
    assert_eq!(honoured.status(), 206);
    assert_eq!(honoured.bytes().unwrap().as_ref(), &content[100..200]);
}

#[test]
fn slow_throttles_the_body_to_the_given_rate() {
    let t = TestHub::start();
    let (content, cdn) = weights(&t);
    // 300 000 bytes at 600 000 B/s cannot take less than half a second.
    t.hub.add_fault(rule(
        "/cdn/",
        Fault::Slow {
            bytes_per_sec: 600_000,
        },
        Some(1),
    ));
    let started = Instant::now();
    let body = t.client.get(&cdn).send().unwrap().bytes().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(body.as_ref(), content.as_slice());
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
}

#[test]
fn faults_count_requests_and_are_logged_with_their_status() {
    let t = TestHub::start();
    t.hub
        .add_fault(rule("/api/models/acme/tiny", Fault::Status(503), Some(1)));
    t.hub.reset();
    assert_eq!(t.get("/api/models/acme/tiny").status(), 503);
    assert_eq!(t.get("/api/models/acme/tiny").status(), 200);
    let statuses: Vec<u16> = t.hub.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 200]);
    assert_eq!(t.hub.counters().api, 2);
}
