//! Failures: bad manifests, Hub errors, bad bytes, interrupted transfers, kills.

use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule};

use crate::support::{TOKEN, TestContext, json_error_code, tree};

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

#[test]
fn a_manifest_error_points_at_the_line_and_writes_nothing() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nincludes = [\"*.json\"]\n");
    let output = ctx.run(&["sync"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("includes") && stderr.contains("include"),
        "names the key and suggests: {stderr}"
    );
    assert!(
        stderr.contains("models.toml:3"),
        "points at the line: {stderr}"
    );
    assert!(!ctx.project.join("models.lock").exists());
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn an_unknown_repo_says_to_log_in_and_exits_4() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.x]\nrepo = \"acme/does-not-exist\"\n");
    let output = ctx.run(&["lock"]);
    assert_eq!(output.status.code(), Some(4), "{}", ctx.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("hfdl login"),
        "{}",
        ctx.render(&output)
    );
    let output = ctx.run(&["lock", "--json"]);
    assert_eq!(json_error_code(&output), "repo-not-found");
    assert!(!ctx.project.join("models.lock").exists());
}

#[test]
fn an_unknown_revision_lists_the_branches() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.x]\nrepo = \"acme/tiny\"\nrevision = \"nope\"\n");
    let output = ctx.run(&["lock"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("branches of acme/tiny: main") && stderr.contains("v1.0"),
        "{stderr}"
    );
}

#[test]
fn a_gated_repo_needs_a_token_and_the_token_never_reaches_the_cdn() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.g]\nrepo = \"acme/gated\"\n\n[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.safetensors\"]\n");
    let anonymous = ctx.run(&["sync", "--json"]);
    assert_eq!(
        anonymous.status.code(),
        Some(4),
        "{}",
        ctx.render(&anonymous)
    );
    assert_eq!(json_error_code(&anonymous), "login-required");
    let output = ctx
        .hfdl()
        .arg("sync")
        .env("HF_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let requests = ctx.hub.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.kind == hfdl_mock_hub::RequestKind::Cdn),
        "LFS went through the CDN"
    );
    for request in &requests {
        if request.kind == hfdl_mock_hub::RequestKind::Cdn {
            assert!(
                request.authorization.is_none(),
                "token sent to the CDN: {request:?}"
            );
        }
    }
    let all_output = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!all_output.contains(TOKEN));
    assert!(!ctx.read("models.lock").contains(TOKEN));
}

#[test]
fn an_invalid_token_is_reported_as_such() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let output = ctx
        .hfdl()
        .args(["lock", "--json"])
        .env("HF_TOKEN", "hf_wrong")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "invalid-token");
}

#[test]
fn corrupted_bytes_are_a_hash_mismatch_and_leave_nothing_unverified() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Corrupt { offset: 1000 },
        times: None,
    });
    let output = ctx.run(&["sync", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "hash-mismatch");
    let message = String::from_utf8_lossy(&output.stdout);
    let info = ctx.tiny_file("model.safetensors");
    assert!(
        message.contains("model.safetensors") && message.contains(info.sha256.as_deref().unwrap()),
        "{message}"
    );
    let blobs = tree(&ctx.repo_dir("models--acme--tiny").join("blobs"));
    assert!(
        !blobs.contains(info.etag()),
        "no unverified blob or partial remains: {blobs}"
    );
    let snapshot_refs = ctx.repo_dir("models--acme--tiny").join("refs/main");
    assert!(
        !snapshot_refs.exists(),
        "the ref of an incomplete snapshot is not published"
    );
}

#[test]
fn a_corrupted_body_once_is_fetched_again_and_succeeds() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Corrupt { offset: 5 },
        times: Some(1),
    });
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
}

#[test]
fn a_cut_body_is_resumed_with_range() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    let weights = ctx.tiny_file("model.safetensors");
    ctx.hub.add_fault(FaultRule {
        path_contains: format!("/cdn/{}", weights.etag()),
        fault: Fault::CutAfter(100_000),
        times: Some(1),
    });
    let output = ctx.run(&["sync", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let ranges: Vec<String> = ctx
        .hub
        .requests()
        .iter()
        .filter_map(|r| r.range.clone())
        .collect();
    assert!(
        ranges.iter().any(|r| r.starts_with("bytes=100000-")),
        "{ranges:?}"
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["summary"]["retries"], 1);
}

#[test]
fn server_errors_are_retried_then_reported_with_exit_3() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    ctx.hub.add_fault(FaultRule {
        path_contains: "/revision/".into(),
        fault: Fault::Status(503),
        times: Some(1),
    });
    let output = ctx.run(&["lock"]);
    assert!(
        output.status.success(),
        "one 503 is retried: {}",
        ctx.render(&output)
    );
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    ctx.hub.add_fault(FaultRule {
        path_contains: "/revision/".into(),
        fault: Fault::Status(500),
        times: None,
    });
    let output = ctx.run(&["lock", "--json"]);
    assert_eq!(output.status.code(), Some(3), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "server-error");
}

#[test]
fn a_sync_killed_mid_download_is_completed_by_the_next_one() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Slow {
            bytes_per_sec: 200_000,
        },
        times: None,
    });
    let mut child = ctx.hfdl().args(["sync", "-q"]).spawn().unwrap();
    let info = ctx.tiny_file("model.safetensors");
    let partial = ctx
        .repo_dir("models--acme--tiny")
        .join("blobs")
        .join(format!("{}.incomplete", info.etag()));
    let deadline = Instant::now() + Duration::from_secs(20);
    // Kill it half-way through the 300 000-byte weights.
    while fs_err::metadata(&partial).map_or(0, |m| m.len()) < 150_000 {
        assert!(Instant::now() < deadline, "the download never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let blob = ctx
        .repo_dir("models--acme--tiny")
        .join("blobs")
        .join(info.etag());
    assert!(
        !blob.exists(),
        "nothing half-written is published under the blob name"
    );
    ctx.hub.clear_faults();
    ctx.hub.reset();
    let output = ctx.run(&["sync", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let resumed = value["summary"]["resumed_bytes"].as_u64().unwrap();
    assert!(resumed >= 150_000, "{value}");
    // Only what was missing crossed the network again (plus small files the kill interrupted).
    let served = ctx.hub.counters().bytes_served;
    assert!(
        served <= 300_000 - resumed + 1_000,
        "{served} bytes re-sent, {resumed} resumed"
    );
    assert!(blob.is_file());
}

/// The `attempt N` and the error of every `retrying model.safetensors` line on stderr.
fn weight_retries(output: &std::process::Output) -> Vec<(u32, String)> {
    let pattern =
        regex::Regex::new(r"retrying model\.safetensors \(attempt (\d+)\): (.*)").unwrap();
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| {
            let found = pattern.captures(line)?;
            Some((found[1].parse().unwrap(), found[2].to_owned()))
        })
        .collect()
}

/// One fault for the next request of the weights' CDN URL.
fn weights_fault(ctx: &TestContext, fault: Fault) {
    ctx.hub.add_fault(FaultRule {
        path_contains: format!("/cdn/{}", ctx.tiny_file("model.safetensors").etag()),
        fault,
        times: Some(1),
    });
}

fn assert_every_file_correct(ctx: &TestContext) {
    let check = crate::support::check_store(&ctx.project.join("models.lock"), &ctx.cache);
    assert!(check.complete(), "{check:?}");
    let verify = ctx.run(&["verify", "--full"]);
    assert!(verify.status.success(), "{}", ctx.render(&verify));
}

#[test]
fn two_corrupted_bodies_in_a_row_with_different_bytes_are_fetched_again_and_the_sync_succeeds() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    // A flaky CDN: two bodies in a row with a different byte flipped (two different wrong
    // digests), then a good one.
    weights_fault(&ctx, Fault::Corrupt { offset: 1000 });
    weights_fault(&ctx, Fault::Corrupt { offset: 2000 });
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let retries = weight_retries(&output);
    let attempts: Vec<u32> = retries.iter().map(|(n, _)| *n).collect();
    assert_eq!(attempts, vec![1, 2], "{}", ctx.render(&output));
    assert!(
        retries.iter().all(|(_, e)| e.starts_with("hash mismatch")),
        "{retries:?}"
    );
    assert_ne!(retries[0].1, retries[1].1, "two different wrong digests");
    assert_every_file_correct(&ctx);
}

#[test]
fn the_same_wrong_bytes_twice_is_a_hash_mismatch_whose_help_says_the_server_serves_other_bytes() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(FaultRule {
        path_contains: format!("/cdn/{}", ctx.tiny_file("model.safetensors").etag()),
        fault: Fault::Corrupt { offset: 1000 },
        times: None,
    });
    let output = ctx.run(&["sync", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "hash-mismatch");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let help = value["error"]["help"].as_str().unwrap();
    assert!(
        help.contains("with the same result") && help.contains("serves content that differs"),
        "{help}"
    );
    // Fetched twice, not until the budget ran out: a third copy would be the same.
    let gets = ctx
        .hub
        .requests()
        .iter()
        .filter(|r| r.kind == hfdl_mock_hub::RequestKind::Cdn)
        .count();
    assert_eq!(gets, 2);
    let check = crate::support::check_store(&ctx.project.join("models.lock"), &ctx.cache);
    assert!(check.wrong.is_empty(), "{check:?}");
}

#[test]
fn different_wrong_bytes_until_the_retry_budget_runs_out_are_a_hash_mismatch_that_says_so() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    for offset in [10, 20, 30] {
        weights_fault(&ctx, Fault::Corrupt { offset });
    }
    let output = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HFDL_RETRIES", "2")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "hash-mismatch");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let help = value["error"]["help"].as_str().unwrap();
    assert!(
        help.contains("retry budget ran out (2 retries")
            && help.contains("wrong digests differed")
            && !help.contains("same result"),
        "{help}"
    );
    let check = crate::support::check_store(&ctx.project.join("models.lock"), &ctx.cache);
    assert!(check.wrong.is_empty(), "{check:?}");
}

#[test]
fn retries_of_one_file_are_numbered_across_causes() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    // A 503, a body cut after 100 000 bytes, then a resumed body with a flipped byte.
    weights_fault(&ctx, Fault::Status(503));
    weights_fault(&ctx, Fault::CutAfter(100_000));
    weights_fault(&ctx, Fault::Corrupt { offset: 200_000 });
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let retries = weight_retries(&output);
    let attempts: Vec<u32> = retries.iter().map(|(n, _)| *n).collect();
    assert_eq!(attempts, vec![1, 2, 3], "{}", ctx.render(&output));
    assert!(retries[0].1.contains("503"), "{retries:?}");
    assert!(
        retries[1].1.starts_with("could not reach"),
        "the cut body: {retries:?}"
    );
    assert!(retries[2].1.starts_with("hash mismatch"), "{retries:?}");
    assert_every_file_correct(&ctx);
}
