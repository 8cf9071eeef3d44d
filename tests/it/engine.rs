//! The download engine under pressure, with faults from the mock Hub: the bandwidth cap, `429`
//! with `Retry-After`, a stalled body, the parallelism limit, and a disk too small before or
//! during the download (a real tmpfs, where the machine lets us mount one).

use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType};

use crate::support::{TestContext, Tmpfs, json_error_code};

/// Adds `acme/big` with `count` LFS files of `size` bytes each; returns the manifest.
fn big_repo(ctx: &TestContext, count: usize, size: u64) -> String {
    let fixtures = ctx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, "acme/big", RepoOptions::default())
        .unwrap();
    let files = (0..count)
        .map(|i| FileChange::generated(&format!("part-{i:02}.safetensors"), size, i as u64 + 10))
        .collect();
    fixtures
        .commit(RepoType::Model, "acme/big", "main", "weights", files)
        .unwrap();
    "[models.big]\nrepo = \"acme/big\"\n".to_owned()
}

fn cdn_fault(fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        path_contains: "/cdn/".into(),
        fault,
        times,
    }
}

#[test]
fn limit_rate_caps_all_transfers_together() {
    let ctx = TestContext::new();
    // Three files fetched in parallel share one 1 MiB/s budget: 3 MiB take about 3 s.
    ctx.write_manifest(&big_repo(&ctx, 3, 1 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    let started = Instant::now();
    let output = ctx.run(&["sync", "--json", "-j", "3", "--limit-rate", "1M"]);
    let elapsed = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let rate = f64::from(3 << 20) / elapsed;
    let limit = f64::from(1 << 20);
    assert!(
        rate <= limit * 1.05,
        "{rate:.0} B/s is over the 1 MiB/s cap (+5%) ({elapsed:.2} s)"
    );
    assert!(
        rate >= limit * 0.75,
        "{rate:.0} B/s is far below the cap ({elapsed:.2} s)"
    );
    // The transfers ran side by side (the server cannot tell: 1 MiB fits in socket buffers),
    // so the cap held for all of them together.
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let first_finish = events
        .iter()
        .position(|e| e["event"] == "task_finished")
        .unwrap();
    let started_before = events[..first_finish]
        .iter()
        .filter(|e| e["event"] == "task_started")
        .count();
    assert_eq!(
        started_before, 3,
        "all three transfers were under way at once"
    );
}

#[test]
fn a_bad_limit_rate_is_a_usage_error() {
    let ctx = TestContext::new();
    let output = ctx.run(&["sync", "--limit-rate", "fast"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a positive rate"));
}

#[test]
fn a_429_is_retried_after_the_delay_the_server_asked_for() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.safetensors\"]\n");
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(cdn_fault(
        Fault::RateLimit {
            retry_after_secs: 1,
        },
        Some(1),
    ));
    let started = Instant::now();
    let output = ctx.run(&["sync"]);
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", ctx.render(&output));
    // `RateLimit: …;t=1` means the window resets in 1 s: hfdl waits that plus a second margin.
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    let statuses: Vec<u16> = ctx
        .hub
        .requests()
        .iter()
        .filter(|r| r.kind == hfdl_mock_hub::RequestKind::Cdn)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 200]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("retrying model.safetensors"),
        "{}",
        ctx.render(&output)
    );
}

#[test]
fn a_stalled_body_times_out_and_the_retry_completes_it() {
    let ctx = TestContext::new();
    ctx.write_manifest(
        "[settings]\ntimeout = \"1s\"\n\n[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.safetensors\"]\n",
    );
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(cdn_fault(Fault::Stall, Some(1)));
    let started = Instant::now();
    let output = ctx.run(&["sync", "--json"]);
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        elapsed >= Duration::from_secs(1),
        "the stall was noticed by the timeout"
    );
    assert!(
        elapsed < Duration::from_secs(20),
        "and not waited out: {elapsed:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        summary["summary"]["retries"].as_u64().unwrap() >= 1,
        "{summary}"
    );
}

#[test]
fn parallel_downloads_never_exceed_jobs() {
    let ctx = TestContext::new();
    ctx.write_manifest(&big_repo(&ctx, 8, 100_000));
    assert!(ctx.run(&["lock"]).status.success());
    // Slow bodies overlap, so the server sees the real concurrency.
    ctx.hub.add_fault(cdn_fault(
        Fault::Slow {
            bytes_per_sec: 500_000,
        },
        None,
    ));
    ctx.hub.reset();
    let output = ctx.run(&["sync", "-q", "-j", "3"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let counters = ctx.hub.counters();
    assert_eq!(counters.cdn, 8);
    assert!(
        (2..=3).contains(&counters.max_concurrent_bodies),
        "{counters:?}"
    );
}

#[test]
fn free_space_is_checked_before_the_first_byte() {
    let ctx = TestContext::new();
    let Some(disk) = Tmpfs::mount(&ctx.root.path().join("small-disk"), "1m") else {
        return;
    };
    ctx.write_manifest(&big_repo(&ctx, 1, 3 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.reset();
    let store = disk.0.join("hub");
    let output = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HF_HUB_CACHE", &store)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "disk-full");
    assert_eq!(ctx.hub.counters().cdn, 0, "not one byte was fetched");
    assert!(!store.exists(), "nothing was written");
}

#[test]
fn a_disk_filling_up_mid_download_keeps_the_partial_for_a_resume() {
    let ctx = TestContext::new();
    let Some(disk) = Tmpfs::mount(&ctx.root.path().join("small-disk"), "4m") else {
        return;
    };
    ctx.write_manifest(&big_repo(&ctx, 1, 3 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(cdn_fault(
        Fault::Slow {
            bytes_per_sec: 2 << 20,
        },
        Some(1),
    ));
    let store = disk.0.join("hub");
    let child = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HF_HUB_CACHE", &store)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the download is under way, something else fills the disk.
    let blobs = store.join("models--acme--big").join("blobs");
    let partial = crate::support::wait_for_partial(&blobs, 300_000);
    let filler = disk.0.join("filler");
    let mut file = fs_err::File::create(&filler).unwrap();
    let block = vec![7u8; 64 << 10];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "disk-full");
    let kept = fs_err::metadata(&partial).unwrap().len();
    assert!(kept > 0, "the partial file is kept for a resume");

    fs_err::remove_file(&filler).unwrap();
    let output = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HF_HUB_CACHE", &store)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        value["summary"]["resumed_bytes"].as_u64().unwrap() > 0,
        "{value}"
    );
}

#[test]
fn json_mode_streams_progress_events_as_json_lines_on_stderr() {
    let ctx = TestContext::new();
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n",
    );
    let output = ctx.run(&["sync", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        summary["summary"].is_object(),
        "stdout is the one result document"
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds.len(), events.len(), "every line has an `event`");
    for expected in [
        "resolving",
        "planned",
        "task_started",
        "task_progress",
        "task_finished",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let weights = events
        .iter()
        .find(|e| e["event"] == "task_started" && e["label"] == "model.safetensors")
        .unwrap();
    let id = &weights["id"];
    let progressed: u64 = events
        .iter()
        .filter(|e| e["event"] == "task_progress" && &e["id"] == id)
        .map(|e| e["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(progressed, 300_000, "progress adds up to the file's size");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "task_finished" && &e["id"] == id && e["ok"] == true)
    );
}

/// The `Range` headers the CDN saw, in arrival order.
fn cdn_ranges(ctx: &TestContext) -> Vec<Option<String>> {
    ctx.hub
        .requests()
        .iter()
        .filter(|r| r.kind == hfdl_mock_hub::RequestKind::Cdn)
        .map(|r| r.range.clone())
        .collect()
}

#[test]
fn a_large_file_is_fetched_over_several_connections() {
    let ctx = TestContext::new();
    ctx.write_manifest(&big_repo(&ctx, 1, 24 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(cdn_fault(
        Fault::Slow {
            bytes_per_sec: 32 << 20,
        },
        None,
    ));
    ctx.hub.reset();
    let output = ctx.run(&["sync", "--connections", "3"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let mut ranges = cdn_ranges(&ctx);
    ranges.sort();
    assert_eq!(
        ranges,
        vec![
            Some("bytes=0-8388607".to_owned()),
            Some("bytes=16777216-25165823".to_owned()),
            Some("bytes=8388608-16777215".to_owned()),
        ]
    );
    assert!(
        (2..=3).contains(&ctx.hub.counters().max_concurrent_bodies),
        "the ranges overlapped, at most three at a time"
    );
    let partials: Vec<_> = fs_err::read_dir(ctx.state.join("partials"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(partials.is_empty(), "no range map is left: {partials:?}");
    // The published blob was verified: a second sync has nothing to do.
    ctx.hub.reset();
    assert!(ctx.run(&["sync"]).status.success());
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn a_killed_multi_connection_download_resumes_every_range() {
    let ctx = TestContext::new();
    ctx.write_manifest(&big_repo(&ctx, 1, 24 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(cdn_fault(
        Fault::Slow {
            bytes_per_sec: 4 << 20,
        },
        None,
    ));
    let mut child = ctx
        .hfdl()
        .args(["sync", "-q", "--connections", "3"])
        .spawn()
        .unwrap();
    let partials = ctx.state.join("partials");
    let deadline = Instant::now() + Duration::from_secs(30);
    // Wait until every range has recorded some progress, then SIGKILL.
    loop {
        let map = fs_err::read_dir(&partials)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .and_then(|e| fs_err::read(e.path()).ok())
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        let started = map.as_ref().is_some_and(|m| {
            m["ranges"]
                .as_array()
                .is_some_and(|r| r.iter().all(|r| r["done"].as_u64().unwrap_or(0) > 0))
        });
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the ranges never progressed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    ctx.hub.clear_faults();
    ctx.hub.reset();
    let output = ctx.run(&["sync", "--json", "--connections", "3"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let resumed = value["summary"]["resumed_bytes"].as_u64().unwrap();
    assert!(resumed >= 3 * (256 << 10), "{value}");
    let starts: Vec<u64> = cdn_ranges(&ctx)
        .iter()
        .map(|r| {
            let r = r.as_deref().expect("every request is ranged");
            r["bytes=".len()..r.find('-').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(starts.len(), 3, "one request per unfinished range");
    for start in starts {
        assert!(
            ![0, 8 << 20, 16 << 20].contains(&start),
            "range restarted from its beginning: {start}"
        );
    }
    assert!(
        ctx.hub.counters().bytes_served <= (24 << 20) - resumed,
        "only the missing bytes were fetched"
    );
}

#[test]
fn a_server_ignoring_ranges_gets_one_connection_instead() {
    let ctx = TestContext::new();
    ctx.write_manifest(&big_repo(&ctx, 1, 24 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(cdn_fault(Fault::IgnoreRange, None));
    ctx.hub.reset();
    let output = ctx.run(&["sync", "--json", "--connections", "3"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let ranges = cdn_ranges(&ctx);
    assert_eq!(
        ranges.last(),
        Some(&None),
        "the last request is a plain GET: {ranges:?}"
    );
    ctx.hub.clear_faults();
    ctx.hub.reset();
    assert!(ctx.run(&["sync"]).status.success());
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "the blob was verified"
    );
}
