//! Logs and metrics: `--log-format json`, `--log-file`, request logging, `--metrics-file`.

use hfdl_mock_hub::{Fault, FaultRule};

use crate::support::{TOKEN, TestContext};

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

/// Every line of `text` as JSON; panics on a line that is not.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n--- all:\n{text}"))
        })
        .collect()
}

#[test]
fn json_logs_on_stderr_and_in_the_log_file_parse_name_each_request_and_hold_no_token() {
    let ctx = TestContext::new();
    ctx.write_manifest(&format!("{TINY}\n[models.gated]\nrepo = \"acme/gated\"\n"));
    let log = ctx.root.path().join("logs/run/hfdl.log");
    let output = ctx
        .hfdl()
        .args(["-vv", "--log-format", "json", "--log-file"])
        .arg(&log)
        .args(["sync", "--json"])
        .env("HF_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = fs_err::read_to_string(&log).unwrap();
    for text in [&*stderr, &file] {
        assert!(!text.contains(&TOKEN[3..]), "the token leaked:\n{text}");
        assert!(!text.contains("Signature="), "a signed URL leaked:\n{text}");
    }
    // With --json, stderr is JSON lines too: progress events and log lines alike.
    json_lines(&stderr);
    let lines = json_lines(&file);
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "request")
        .collect();
    // Every request the Hub saw has its line, with what a reader of the log needs.
    assert_eq!(
        requests.len() as u64,
        ctx.hub.counters().total_requests(),
        "{file}"
    );
    for request in &requests {
        let fields = &request["fields"];
        assert_eq!(fields["method"], "GET", "{request}");
        assert!(fields["status"].as_u64().is_some(), "{request}");
        assert!(fields["duration_ms"].as_f64().is_some(), "{request}");
        assert_eq!(fields["attempt"], 0, "{request}");
        assert!(fields["url"].as_str().unwrap().starts_with("http://"));
    }
    let cdn = requests
        .iter()
        .find(|r| r["fields"]["kind"] == "cdn")
        .expect("a CDN request");
    assert!(
        cdn["fields"]["url"]
            .as_str()
            .unwrap()
            .ends_with("?[redacted]"),
        "{cdn}"
    );
    // The download of the weights happens inside its model's and its file's spans.
    assert_eq!(cdn["span"]["name"], "file", "{cdn}");
    assert_eq!(cdn["span"]["path"], "model.safetensors", "{cdn}");
    assert_eq!(cdn["spans"][0]["name"], "model", "{cdn}");
    assert_eq!(cdn["spans"][0]["repo"], "acme/tiny", "{cdn}");
    // Resolution requests carry the entry's span.
    assert!(
        requests
            .iter()
            .any(|r| r["fields"]["kind"] == "api" && r["span"]["name"] == "model"),
        "{file}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "body received" && l["fields"]["bytes"] == 300_000),
        "{file}"
    );
}

#[test]
fn the_log_file_gets_debug_lines_while_stderr_stays_quiet_and_appends_across_runs() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let log = ctx.root.path().join("hfdl.log");
    let run = || {
        ctx.hfdl()
            .args(["--log-file"])
            .arg(&log)
            .args(["lock"])
            .output()
            .unwrap()
    };
    let output = run();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("DEBUG"), "{stderr}");
    let first = fs_err::read_to_string(&log).unwrap();
    let requests = first.lines().filter(|l| l.contains(" request ")).count();
    assert!(requests >= 2, "{first}");
    assert!(
        !first.contains('\u{1b}'),
        "no colour codes in a file: {first}"
    );
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    assert!(run().status.success());
    let second = fs_err::read_to_string(&log).unwrap();
    assert!(second.starts_with(&first), "appended, not replaced");
    assert_eq!(
        second.lines().filter(|l| l.contains(" request ")).count(),
        2 * requests
    );
}

#[test]
fn a_log_file_that_cannot_be_opened_is_a_usage_error_and_changes_nothing() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    fs_err::write(ctx.root.path().join("a-file"), "").unwrap();
    let output = ctx
        .hfdl()
        .arg("--log-file")
        .arg(ctx.root.path().join("a-file/hfdl.log"))
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot open the log file"),
        "{}",
        ctx.render(&output)
    );
    assert!(!ctx.project.join("models.lock").exists());
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn the_metrics_file_counts_what_the_mock_hub_counted_with_a_retry_and_a_resumed_partial() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    // Half of the weights from an earlier, interrupted download.
    let weights = ctx.tiny_file("model.safetensors");
    let bytes = fs_err::read(ctx.hub.fixtures().object_path(&weights.content_sha256)).unwrap();
    let blobs = ctx.repo_dir("models--acme--tiny").join("blobs");
    fs_err::create_dir_all(&blobs).unwrap();
    fs_err::write(
        blobs.join(format!("{}.incomplete", weights.etag())),
        &bytes[..100_000],
    )
    .unwrap();
    // One server error on a small file, retried.
    ctx.hub.add_fault(FaultRule {
        path_contains: "/config.json".into(),
        fault: Fault::Status(503),
        times: Some(1),
    });
    let metrics_path = ctx.root.path().join("ci/metrics/sync.json");
    let output = ctx
        .hfdl()
        .args(["sync", "--json", "--metrics-file"])
        .arg(&metrics_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&metrics_path).unwrap()).unwrap();
    let seen = ctx.hub.counters();
    let requests = &metrics["requests"];
    assert_eq!(requests["api"], seen.api, "{metrics}");
    assert_eq!(requests["resolve_head"], seen.resolve_head, "{metrics}");
    assert_eq!(requests["resolve_get"], seen.resolve_get, "{metrics}");
    assert_eq!(requests["cdn"], seen.cdn, "{metrics}");
    assert_eq!(requests["other"], seen.other, "{metrics}");
    assert_eq!(requests["total"], seen.total_requests(), "{metrics}");
    // Small files take two hops (`/resolve/` → `/api/resolve-cache/`), config.json a third
    // for its 503; the weights one `/resolve/` and one ranged CDN body.
    assert_eq!(
        (seen.resolve_get, seen.cdn),
        (6, 1),
        "{:#?}",
        ctx.hub.requests()
    );
    assert!(
        ctx.hub
            .requests()
            .iter()
            .any(|r| r.status == 206 && r.range.as_deref() == Some("bytes=100000-")),
        "the partial was resumed with Range"
    );
    assert_eq!(metrics["bytes"]["received"], seen.bytes_served, "{metrics}");
    assert_eq!(metrics["bytes"]["resumed"], 100_000, "{metrics}");
    let sizes: u64 = ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .map(|path| ctx.tiny_file(path).size)
        .sum();
    assert_eq!(metrics["bytes"]["downloaded"], sizes - 100_000, "{metrics}");
    assert_eq!(metrics["retries"], 1, "{metrics}");
    assert_eq!(metrics["ok"], true);
    assert_eq!(metrics["error"], serde_json::Value::Null);
    assert_eq!(metrics["files"]["total"], 3);
    assert_eq!(metrics["files"]["downloaded"], 3);
    assert!(metrics["wall_time_secs"].as_f64().unwrap() > 0.0);
    // The sync's own summary says the same.
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["summary"]["requests"], metrics["requests"]);
    assert_eq!(summary["summary"]["retries"], 1);

    // A second sync has nothing to do, sends nothing, and says so in its metrics.
    ctx.hub.reset();
    let output = ctx
        .hfdl()
        .args(["sync", "--metrics-file"])
        .arg(&metrics_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&metrics_path).unwrap()).unwrap();
    assert_eq!(metrics["requests"]["total"], 0, "{metrics}");
    assert_eq!(metrics["files"]["in_place"], 3, "{metrics}");
    assert_eq!(metrics["files"]["reused"], 3, "{metrics}");
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn a_failed_sync_still_writes_its_metrics_with_the_error_code() {
    let ctx = TestContext::new();
    ctx.write_manifest(&format!("{TINY}\n[settings]\nretries = 1\n"));
    ctx.hub.add_fault(FaultRule {
        path_contains: "/revision/".into(),
        fault: Fault::Status(500),
        times: None,
    });
    let metrics_path = ctx.root.path().join("metrics.json");
    let output = ctx
        .hfdl()
        .args(["sync", "--metrics-file"])
        .arg(&metrics_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", ctx.render(&output));
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&metrics_path).unwrap()).unwrap();
    assert_eq!(metrics["ok"], false, "{metrics}");
    assert_eq!(metrics["error"]["code"], "server-error", "{metrics}");
    assert_eq!(metrics["error"]["exit_code"], 3, "{metrics}");
    assert_eq!(metrics["files"], serde_json::Value::Null, "{metrics}");
    assert_eq!(metrics["retries"], 1, "{metrics}");
    assert_eq!(metrics["requests"]["api"], 2, "{metrics}");
    assert_eq!(ctx.hub.counters().api, 2);
}

#[test]
fn a_metrics_file_that_is_a_directory_is_refused_before_any_request() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let output = ctx
        .hfdl()
        .args(["sync", "--metrics-file"])
        .arg(ctx.root.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert!(!ctx.project.join("models.lock").exists());
}

#[test]
fn failed_cdn_transfers_never_print_the_signed_url() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.safetensors\"]\n");
    assert!(ctx.run(&["lock"]).status.success());
    let metrics = ctx.root.path().join("metrics.json");
    for fault in [
        hfdl_mock_hub::Fault::CutAfter(1000),
        hfdl_mock_hub::Fault::Status(403),
        hfdl_mock_hub::Fault::Status(503),
    ] {
        ctx.hub.clear_faults();
        ctx.hub.add_fault(hfdl_mock_hub::FaultRule {
            path_contains: "/cdn/".into(),
            fault: fault.clone(),
            times: None,
        });
        for json in [false, true] {
            let mut command = ctx.hfdl();
            command
                .env("HFDL_RETRIES", "1")
                .args(["sync", "--metrics-file"])
                .arg(&metrics);
            if json {
                command.arg("--json");
            }
            let output = command.output().unwrap();
            assert!(
                !output.status.success(),
                "{fault:?}: {}",
                ctx.render(&output)
            );
            let text = format!(
                "{}{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                fs_err::read_to_string(&metrics).unwrap_or_default()
            );
            assert!(
                !text.contains("Signature=") && !text.contains("Expires="),
                "{fault:?}: a signed URL leaked:\n{text}"
            );
        }
    }
}
