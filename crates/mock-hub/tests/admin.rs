//! The request log and counters, read in process and over the `/__admin/` endpoints, and fault
//! rules installed over HTTP (how a benchmark or a shell script drives a standalone server).

mod common;

use common::{MODEL, TestHub, WEIGHTS_SIZE};
use hfdl_mock_hub::{Counters, RequestKind, RequestRecord};

fn admin_counters(t: &TestHub) -> Counters {
    let response = t.get("/__admin/counters");
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

#[test]
fn a_fresh_server_has_seen_nothing() {
    let t = TestHub::start();
    assert_eq!(t.hub.counters(), Counters::default());
    assert_eq!(t.hub.counters().total_requests(), 0);
    assert!(t.hub.requests().is_empty());
    // Reading the counters is not itself counted.
    assert_eq!(admin_counters(&t), Counters::default());
    assert_eq!(admin_counters(&t), Counters::default());
}

#[test]
fn counters_split_requests_by_kind_and_count_body_bytes() {
    let t = TestHub::start();
    t.json(&format!("/api/models/{MODEL}"));
    t.json(&format!("/api/models/{MODEL}/tree/main"));
    let weights = "/acme/tiny/resolve/main/model.safetensors";
    let cdn = t.cdn_url(weights); // a HEAD
    let redirect = t.get(weights); // a GET answered with 302
    assert_eq!(redirect.status(), 302);
    let body = t.client.get(&cdn).send().unwrap().bytes().unwrap();
    assert_eq!(body.len() as u64, WEIGHTS_SIZE);
    let ranged = t
        .client
        .get(&cdn)
        .header("range", "bytes=0-99")
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(ranged.len(), 100);
    let cache = t.resolve_cache_path("/acme/tiny/resolve/main/config.json"); // a HEAD
    let config = t.get(&cache).bytes().unwrap(); // resolve-cache GETs count as resolve
    assert_eq!(config.as_ref(), common::CONFIG);
    assert_eq!(t.get("/nowhere/at/all").status(), 404);

    let expected = Counters {
        api: 2,
        resolve_head: 2,
        resolve_get: 2,
        cdn: 2,
        other: 1,
        bytes_served: WEIGHTS_SIZE + 100 + common::CONFIG.len() as u64,
        max_concurrent_bodies: 1,
        ..Counters::default()
    };
    assert_eq!(t.hub.counters(), expected);
    assert_eq!(admin_counters(&t), expected);
    assert_eq!(expected.total_requests(), 9);
}

#[test]
fn the_request_log_keeps_method_path_query_range_and_agent() {
    let t = TestHub::start();
    t.hub.reset();
    let response = t
        .client
        .get(t.url("/api/models/acme/tiny/tree/main?recursive=true&expand=false"))
        .header("user-agent", "hfdl-test/1.0")
        .header("range", "bytes=0-")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let log = t.hub.requests();
    assert_eq!(log.len(), 1);
    let entry = &log[0];
    assert_eq!(entry.method, "GET");
    assert_eq!(entry.path, "/api/models/acme/tiny/tree/main");
    assert_eq!(entry.query.as_deref(), Some("recursive=true&expand=false"));
    assert_eq!(entry.kind, RequestKind::Api);
    assert_eq!(entry.status, 200);
    assert_eq!(entry.range.as_deref(), Some("bytes=0-"));
    assert_eq!(entry.user_agent.as_deref(), Some("hfdl-test/1.0"));
    assert_eq!(entry.authorization, None);

    let over_http: Vec<RequestRecord> = t.get("/__admin/requests").json().unwrap();
    assert_eq!(over_http, log, "admin reads are not logged");
}

#[test]
fn reset_over_http_zeroes_counters_and_the_log_but_keeps_faults() {
    let t = TestHub::start();
    t.json(&format!("/api/models/{MODEL}"));
    let rule = serde_json::json!({
        "path_contains": "/api/datasets/acme/squad",
        "fault": {"Status": 503},
        "times": 1
    });
    let added = t
        .client
        .post(t.url("/__admin/faults"))
        .json(&rule)
        .send()
        .unwrap();
    assert_eq!(added.status(), 204);
    let reset = t.client.post(t.url("/__admin/reset")).send().unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(t.hub.counters(), Counters::default());
    assert!(t.hub.requests().is_empty());
    assert_eq!(t.get("/api/datasets/acme/squad").status(), 503);
    assert_eq!(t.get("/api/datasets/acme/squad").status(), 200);
}

#[test]
fn faults_installed_over_http_use_the_library_format() {
    let t = TestHub::start();
    for fault in [
        serde_json::json!({"CutAfter": 10}),
        serde_json::json!({"RateLimit": {"retry_after_secs": 2}}),
        serde_json::json!("Stall"),
        serde_json::json!("IgnoreRange"),
        serde_json::json!({"Slow": {"bytes_per_sec": 1000}}),
        serde_json::json!({"Corrupt": {"offset": 3}}),
    ] {
        let rule = serde_json::json!({"path_contains": "/never", "fault": fault, "times": null});
        let response = t
            .client
            .post(t.url("/__admin/faults"))
            .json(&rule)
            .send()
            .unwrap();
        assert_eq!(response.status(), 204, "{rule}");
    }
    let rule = serde_json::json!({
        "path_contains": "/api/models/acme/tiny",
        "fault": {"RateLimit": {"retry_after_secs": 2}},
        "times": null
    });
    t.client
        .post(t.url("/__admin/faults"))
        .json(&rule)
        .send()
        .unwrap();
    assert_eq!(t.get("/api/models/acme/tiny").status(), 429);
    let cleared = t.client.delete(t.url("/__admin/faults")).send().unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(t.get("/api/models/acme/tiny").status(), 200);
}

#[test]
fn bad_admin_requests_are_refused_with_a_reason() {
    let t = TestHub::start();
    let bad = t
        .client
        .post(t.url("/__admin/faults"))
        .body("{\"fault\": \"Explode\"}")
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().unwrap().starts_with("bad fault rule:"));
    assert_eq!(t.get("/__admin/nothing").status(), 404);
    assert_eq!(t.hub.counters().total_requests(), 0);
}
