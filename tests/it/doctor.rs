//! `hfdl doctor` end to end: a healthy project, a read-only store, a disk too small for the
//! lock, a dead endpoint, a bad token, a stale lock, partial downloads, a skewed clock; and the
//! low-disk stop of `hfdl sync` that keeps the disk from filling.

use std::process::Output;
use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType};

use crate::support::{TOKEN, TestContext, Tmpfs, json_error_code};

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

/// The one JSON document on stdout.
fn report(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The check named `name` in a report.
fn check(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"))
}

/// Adds `acme/big` with one LFS file of `size` bytes; returns its manifest.
fn big_repo(ctx: &TestContext, size: u64) -> String {
    let fixtures = ctx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, "acme/big", RepoOptions::default())
        .unwrap();
    fixtures
        .commit(
            RepoType::Model,
            "acme/big",
            "main",
            "weights",
            vec![FileChange::generated("model.safetensors", size, 42)],
        )
        .unwrap();
    "[models.big]\nrepo = \"acme/big\"\n".to_owned()
}

#[test]
fn doctor_on_a_healthy_project_reports_every_check_and_exits_0() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["sync", "-q"]).status.success());
    let output = ctx
        .hfdl()
        .args(["doctor", "--json"])
        .env("HF_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let report = report(&output);
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "store", "symlinks", "disk", "inodes", "partials", "lock", "keyring", "endpoint",
            "tls", "clock", "token"
        ]
    );
    for name in [
        "store", "symlinks", "partials", "lock", "endpoint", "tls", "clock", "token",
    ] {
        assert_eq!(check(&report, name)["status"], "ok", "{report:#}");
    }
    // The host's disk may be nearly full; it is never too small for a synced lock.
    assert_ne!(check(&report, "disk")["status"], "fail");
    assert!(
        check(&report, "disk")["detail"]
            .as_str()
            .unwrap()
            .contains("the lock still needs 0 B"),
        "{report:#}"
    );
    // The tests turn the keyring off.
    assert_eq!(check(&report, "keyring")["status"], "warn");
    for entry in report["checks"].as_array().unwrap() {
        assert_eq!(
            entry["fix"].is_null(),
            entry["status"] == "ok",
            "a fix exactly when not ok: {entry}"
        );
    }
    assert!(
        check(&report, "token")["detail"]
            .as_str()
            .unwrap()
            .contains("role read")
    );
    assert!(
        check(&report, "tls")["detail"]
            .as_str()
            .unwrap()
            .contains("plain HTTP to a local endpoint")
    );
    // Nothing of doctor's was left in the cache root.
    let mut entries: Vec<String> = fs_err::read_dir(&ctx.cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, [".locks", "models--acme--tiny"]);

    let text = ctx.run(&["doctor"]);
    assert_eq!(text.status.code(), Some(0), "{}", ctx.render(&text));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("ok   symlinks"), "{stdout}");
    assert!(stdout.contains("fix: `hfdl login`"), "{stdout}");
}

#[test]
fn doctor_fails_on_a_read_only_store() {
    let ctx = TestContext::new();
    let Some(disk) = Tmpfs::mount_with(&ctx.root.path().join("ro-disk"), "ro,size=1m") else {
        return;
    };
    let output = ctx
        .hfdl()
        .args(["doctor", "--json"])
        .env("HF_HUB_CACHE", disk.0.join("hub"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let report = report(&output);
    assert_eq!(report["ok"], false);
    let store = check(&report, "store");
    assert_eq!(store["status"], "fail", "{report:#}");
    assert!(
        store["fix"]
            .as_str()
            .unwrap()
            .contains("--store / HF_HUB_CACHE"),
        "{store}"
    );
    assert_eq!(check(&report, "symlinks")["status"], "warn");

    let text = ctx
        .hfdl()
        .arg("doctor")
        .env("HF_HUB_CACHE", disk.0.join("hub"))
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&text.stdout).contains("FAIL store"));
    assert!(String::from_utf8_lossy(&text.stderr).contains("doctor found problems: store"));
}

#[test]
fn doctor_fails_when_the_lock_needs_more_than_the_disk_has() {
    let ctx = TestContext::new();
    let Some(disk) = Tmpfs::mount(&ctx.root.path().join("small-disk"), "1m") else {
        return;
    };
    ctx.write_manifest(&big_repo(&ctx, 3 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.reset();
    let output = ctx
        .hfdl()
        .args(["doctor", "--json"])
        .env("HF_HUB_CACHE", disk.0.join("hub"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let disk_check = check(&report(&output), "disk");
    assert_eq!(disk_check["status"], "fail", "{disk_check}");
    let detail = disk_check["detail"].as_str().unwrap();
    assert!(detail.contains("the lock still needs 3.00 MiB"), "{detail}");
    assert_eq!(ctx.hub.counters().cdn, 0, "doctor downloads nothing");
    assert!(!disk.0.join("hub").exists(), "and writes nothing");
}

#[test]
fn doctor_reports_a_dead_endpoint_quickly() {
    let ctx = TestContext::new();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let output = ctx
        .hfdl()
        .args(["doctor", "--json"])
        .env("HF_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("HF_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let report = report(&output);
    let endpoint = check(&report, "endpoint");
    assert_eq!(endpoint["status"], "fail");
    assert!(
        endpoint["detail"]
            .as_str()
            .unwrap()
            .contains("is not reachable"),
        "{endpoint}"
    );
    for name in ["tls", "clock", "token"] {
        let entry = check(&report, name);
        assert_eq!(entry["status"], "warn", "{entry}");
        assert!(entry["detail"].as_str().unwrap().contains("not checked"));
    }
}

#[test]
fn doctor_fails_on_a_bad_token_without_printing_it() {
    let ctx = TestContext::new();
    let secret = "hf_not_a_valid_token_5f3a9c";
    for args in [&["doctor", "--json"][..], &["doctor"]] {
        let output = ctx
            .hfdl()
            .args(args)
            .env("HF_TOKEN", secret)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !all.contains(secret) && !all.contains(&secret[3..]),
            "{all}"
        );
        if args.contains(&"--json") {
            let token = check(&report(&output), "token");
            assert_eq!(token["status"], "fail");
            assert!(
                token["fix"].as_str().unwrap().contains("HF_TOKEN"),
                "{token}"
            );
        } else {
            assert!(all.contains("FAIL token"), "{all}");
        }
    }
}

#[test]
fn doctor_warns_when_the_lock_is_out_of_date_with_the_manifest() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    let before = ctx.read("models.lock");
    ctx.write_manifest(&format!(
        "{TINY}\n[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n"
    ));
    let output = ctx.run(&["doctor", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let lock = check(&report(&output), "lock");
    assert_eq!(lock["status"], "warn");
    assert!(
        lock["detail"]
            .as_str()
            .unwrap()
            .contains("`squad` is not locked yet"),
        "{lock}"
    );
    assert!(lock["fix"].as_str().unwrap().contains("hfdl lock"));
    assert_eq!(ctx.read("models.lock"), before, "doctor does not relock");
}

#[test]
fn doctor_reports_partial_downloads_with_their_size() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    // One partial the lock needs (resumable), one of a repo nothing here locks (stale).
    let weights = ctx.tiny_file("model.safetensors");
    let blobs = ctx.repo_dir("models--acme--tiny").join("blobs");
    fs_err::create_dir_all(&blobs).unwrap();
    let hash = weights.sha256.clone().unwrap();
    fs_err::write(blobs.join(format!("{hash}.incomplete")), vec![0u8; 1000]).unwrap();
    // A multi-connection partial (`--connections`) of a needed blob resumes too.
    fs_err::write(blobs.join(format!("{hash}.hfdl.incomplete")), vec![0u8; 24]).unwrap();
    let old = ctx.repo_dir("models--acme--old").join("blobs");
    fs_err::create_dir_all(&old).unwrap();
    fs_err::write(
        old.join(format!("{}.incomplete", "ab".repeat(32))),
        vec![0u8; 2048],
    )
    .unwrap();

    let output = ctx.run(&["doctor", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let partials = check(&report(&output), "partials");
    assert_eq!(partials["status"], "warn");
    assert_eq!(
        partials["detail"],
        "1 stale partial download (2.00 KiB) that the lock here does not need; 2 others (1.00 KiB) to resume"
    );
    assert!(partials["fix"].as_str().unwrap().contains("hfdl gc"));
}

#[test]
fn doctor_warns_about_a_clock_an_hour_off_the_servers() {
    let ctx = TestContext::new();
    ctx.hub.add_fault(FaultRule {
        path_contains: "/api/whoami-v2".into(),
        fault: Fault::ClockSkew { secs: 3600 },
        times: None,
    });
    let output = ctx.run(&["doctor", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let clock = check(&report(&output), "clock");
    assert_eq!(clock["status"], "warn", "{clock}");
    assert!(
        clock["detail"]
            .as_str()
            .unwrap()
            .contains("behind the server's"),
        "{clock}"
    );
    assert!(clock["fix"].as_str().unwrap().contains("NTP"));
}

#[test]
fn sync_stops_before_the_disk_fills_and_resumes_once_there_is_room() {
    let ctx = TestContext::new();
    let Some(disk) = Tmpfs::mount(&ctx.root.path().join("small-disk"), "4m") else {
        return;
    };
    ctx.write_manifest(&big_repo(&ctx, 3 << 20));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Slow {
            bytes_per_sec: 1 << 20,
        },
        times: Some(1),
    });
    let store = disk.0.join("hub");
    let child = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HF_HUB_CACHE", &store)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the download is under way, another program takes most of the space, leaving less
    // than the rest of the file needs (but some: it must keep working).
    let blobs = store.join("models--acme--big").join("blobs");
    let partial = crate::support::wait_for_partial(&blobs, 300_000);
    let free = fs4::available_space(&disk.0).unwrap();
    let filler = disk.0.join("filler");
    fs_err::write(&filler, vec![7u8; (free - (600 << 10)) as usize]).unwrap();

    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "disk-full");
    let message = String::from_utf8_lossy(&output.stdout);
    assert!(
        message.contains("stopped before the disk fills"),
        "{message}"
    );
    // The disk never filled: hfdl left its reserve (1% of this 4 MiB disk) free.
    let total = fs4::total_space(&disk.0).unwrap();
    let left = fs4::available_space(&disk.0).unwrap();
    assert!(
        left >= hfdl::store::disk::reserve_for(total),
        "{left} bytes left"
    );
    let kept = fs_err::metadata(&partial).unwrap().len();
    assert!(kept > 300_000, "the partial file is kept for a resume");
    assert!(
        !blobs
            .read_dir()
            .unwrap()
            .flatten()
            .any(|e| e.path().extension().is_none()),
        "no unverified blob was published"
    );

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
        value["summary"]["resumed_bytes"].as_u64().unwrap() >= kept,
        "{value}"
    );
    let verify = ctx
        .hfdl()
        .args(["verify", "--full"])
        .env("HF_HUB_CACHE", &store)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", ctx.render(&verify));
}

#[test]
fn doctor_reports_a_broken_config_as_a_failed_check_and_runs_the_others() {
    let ctx = TestContext::new();
    let config = ctx.root.path().join("cfg/config.toml");
    fs_err::create_dir_all(config.parent().unwrap()).unwrap();
    fs_err::write(&config, "jobs = 0\n").unwrap();
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let report = report(&output);
    let config_check = check(&report, "config");
    assert_eq!(config_check["status"], "fail", "{config_check}");
    assert!(
        config_check["detail"].as_str().unwrap().contains("jobs"),
        "{config_check}"
    );
    assert_eq!(
        check(&report, "endpoint")["status"],
        "ok",
        "the other checks ran"
    );
}
