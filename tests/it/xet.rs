//! hfdl's Xet read path (issue #20) against the mock Hub's Xet side: a Xet-backed repo syncs
//! over the CAS (token, reconstruction, xorb ranges) with every file verified by its Xet hash and
//! its sha256; `xet = "off"` uses the bridge; CAS faults are retried or fall back to the bridge;
//! a flipped chunk byte never reaches the snapshot; a partial file resumes over Xet.

use hfdl_mock_hub::{
    Fault, FaultRule, FileChange, RepoOptions, RepoType, ServerOptions, XetOptions,
};

use crate::support::{TestContext, check_store, json_error_code, pseudo_random};

const REPO: &str = "acme/xet";

const MANIFEST: &str = r#"
[models.xet]
repo = "acme/xet"
"#;

/// Deterministic bytes: random (incompressible), or text-like (compressible) so that the
/// xorbs hold compressed chunks too.
fn bytes(seed: u64, len: usize, compressible: bool) -> Vec<u8> {
    if !compressible {
        return pseudo_random(seed, len);
    }
    let words = pseudo_random(seed, len / 4 + 1);
    let mut out = Vec::with_capacity(len);
    for word in words {
        if out.len() >= len {
            break;
        }
        out.extend_from_slice(format!("token{} ", word % 64).as_bytes());
    }
    out.truncate(len);
    out
}

/// The files of the Xet-backed repo: a git file and three LFS files in Xet.
struct Files {
    weights: Vec<u8>,
    text: Vec<u8>,
    small: Vec<u8>,
}

/// A context with `acme/xet`: Xet-backed, one commit.
fn xet_repo() -> (TestContext, Files) {
    xet_repo_with(ServerOptions::default())
}

/// [`xet_repo`] on a mock Hub with `options`.
fn xet_repo_with(options: ServerOptions) -> (TestContext, Files) {
    let ctx = TestContext::with_server(options);
    let fixtures = ctx.hub.fixtures();
    ctx.create_xet_repo(REPO);
    let files = Files {
        weights: bytes(1, 3_000_000, false),
        text: bytes(2, 1_500_000, true),
        small: bytes(3, 5_000, false),
    };
    fixtures
        .commit(
            RepoType::Model,
            REPO,
            "main",
            "init",
            vec![
                FileChange::regular("config.json", b"{\"model_type\": \"xet\"}".to_vec()),
                FileChange::lfs("model.safetensors", files.weights.clone()),
                FileChange::lfs("tokenizer.bin", files.text.clone()),
                FileChange::lfs("small.bin", files.small.clone()),
            ],
        )
        .unwrap();
    ctx.write_manifest(MANIFEST);
    (ctx, files)
}

/// The bytes of `path` in the synced snapshot.
fn synced(ctx: &TestContext, path: &str) -> Vec<u8> {
    let snapshots = ctx.cache.join("models--acme--xet").join("snapshots");
    let commit = fs_err::read_dir(&snapshots)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs_err::read(commit.join(path)).unwrap()
}

/// Every file synced with the right bytes, and nothing unverified in the store.
fn assert_synced(ctx: &TestContext, files: &Files) {
    let check = check_store(&ctx.project.join("models.lock"), &ctx.cache);
    assert!(check.complete(), "{check:?}");
    assert_eq!(synced(ctx, "model.safetensors"), files.weights);
    assert_eq!(synced(ctx, "tokenizer.bin"), files.text);
    assert_eq!(synced(ctx, "small.bin"), files.small);
}

fn fault(path: &str, fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        path_contains: path.into(),
        fault,
        times,
    }
}

#[test]
fn a_xet_backed_repo_syncs_over_xet_and_the_lock_records_each_xet_hash() {
    let (ctx, files) = xet_repo();
    let metrics_path = ctx.root.path().join("metrics.json");
    let output = ctx
        .hfdl()
        .args(["sync", "--metrics-file"])
        .arg(&metrics_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let counters = ctx.hub.counters();
    assert!(
        counters.xet_token >= 1 && counters.xet_reconstruction >= 3 && counters.xet_xorb >= 3,
        "{counters:?}"
    );
    // hfdl counts what the mock saw: CAS requests as `xet`, the token call as `api`.
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&metrics_path).unwrap()).unwrap();
    let requests = &metrics["requests"];
    assert_eq!(
        requests["xet"],
        counters.xet_reconstruction + counters.xet_xorb,
        "{metrics}"
    );
    assert_eq!(
        requests["api"],
        counters.api + counters.xet_token,
        "{metrics}"
    );
    assert_eq!(requests["total"], counters.total_requests(), "{metrics}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{} xet",
            counters.xet_reconstruction + counters.xet_xorb
        )),
        "{stderr}"
    );
    assert_eq!(counters.xet_bridge, 0, "{counters:?}");
    assert_eq!(counters.cdn, 0, "{counters:?}");
    // One token for the repo and commit, reused by every file.
    assert_eq!(counters.xet_token, 1, "{counters:?}");

    let lock = ctx.read("models.lock");
    assert!(lock.contains("\nversion = 3\n"), "{lock}");
    let fixtures = ctx.hub.fixtures();
    for path in ["model.safetensors", "tokenizer.bin", "small.bin"] {
        let info = fixtures
            .file_info(RepoType::Model, REPO, "main", path)
            .unwrap();
        let line = lock
            .lines()
            .find(|l| l.contains(&format!("path = \"{path}\"")))
            .unwrap();
        assert!(
            line.contains(&format!(
                "xet-hash = \"{}\"",
                info.xet_hash.as_deref().unwrap()
            )),
            "{line}"
        );
    }
    let config = lock.lines().find(|l| l.contains("config.json")).unwrap();
    assert!(!config.contains("xet-hash"), "{config}");
}

#[test]
fn xet_off_and_hf_hub_disable_xet_use_the_bridge() {
    for (var, value) in [("HFDL_XET", "off"), ("HF_HUB_DISABLE_XET", "1")] {
        let (ctx, files) = xet_repo();
        let output = ctx.hfdl().args(["sync"]).env(var, value).output().unwrap();
        assert!(output.status.success(), "{}", ctx.render(&output));
        assert_synced(&ctx, &files);
        let counters = ctx.hub.counters();
        assert_eq!(counters.xet_reconstruction, 0, "{var}: {counters:?}");
        assert_eq!(counters.xet_xorb, 0, "{var}: {counters:?}");
        assert_eq!(counters.xet_bridge, 3, "{var}: {counters:?}");
    }
}

#[test]
fn cas_faults_are_retried_or_fall_back_to_the_bridge() {
    // A 503 on a reconstruction and an expired xorb URL: retried, and a new URL asked for;
    // everything still over Xet.
    let (ctx, files) = xet_repo();
    ctx.hub
        .add_fault(fault("/reconstructions/", Fault::Status(503), Some(1)));
    ctx.hub
        .add_fault(fault("/xorb/", Fault::ExpiredUrl, Some(1)));
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let counters = ctx.hub.counters();
    assert_eq!(counters.xet_bridge, 0, "{counters:?}");

    // The CAS down for good, no retries: with `auto` every file comes through the bridge
    // (one file at a time, so that the first failure decides for the others).
    let (ctx, files) = xet_repo();
    ctx.hub
        .add_fault(fault("/reconstructions/", Fault::Status(500), None));
    let output = ctx
        .hfdl()
        .args(["sync", "--jobs", "1"])
        .env("HFDL_RETRIES", "0")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let counters = ctx.hub.counters();
    assert_eq!(counters.xet_bridge, 3, "{counters:?}");
    assert_eq!(counters.xet_xorb, 0, "{counters:?}");
    // After the first failure the run stops asking the CAS.
    assert_eq!(counters.xet_reconstruction, 1, "{counters:?}");

    // The same with `xet = "on"`: the file fails with `xet-failed`, nothing unverified shows.
    let (ctx, _) = xet_repo();
    ctx.hub
        .add_fault(fault("/reconstructions/", Fault::Status(500), None));
    sync_fails_over_xet(&ctx, &[("HFDL_RETRIES", "0")]);
    assert_eq!(ctx.hub.counters().xet_bridge, 0);
}

/// `hfdl sync --json` with `xet = "on"` (and `env`): it must fail with `xet-failed` and leave
/// nothing wrong in the store; returns the output and the store's check.
fn sync_fails_over_xet(
    ctx: &TestContext,
    env: &[(&str, &str)],
) -> (std::process::Output, crate::support::StoreCheck) {
    let output = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HFDL_XET", "on")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{}", ctx.render(&output));
    assert_eq!(
        json_error_code(&output),
        "xet-failed",
        "{}",
        ctx.render(&output)
    );
    let check = check_store(&ctx.project.join("models.lock"), &ctx.cache);
    assert!(check.wrong.is_empty(), "{check:?}");
    (output, check)
}

#[test]
fn a_flipped_chunk_byte_is_caught_and_never_linked() {
    // `auto`: the bad bytes are discarded with a warning, and the bridge delivers the file.
    let (ctx, files) = xet_repo();
    ctx.hub
        .add_fault(fault("/xorb/", Fault::FlipChunkByte, Some(1)));
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("xet-failed"), "{stderr}");
    assert_synced(&ctx, &files);
    assert_eq!(ctx.hub.counters().xet_bridge, 1);

    // `on`, with every xorb range damaged: the file fails and no blob or link holds the bytes.
    let (ctx, _) = xet_repo();
    ctx.hub
        .add_fault(fault("/xorb/", Fault::FlipChunkByte, None));
    let check = sync_fails_over_xet(&ctx, &[]).1;
    assert!(!check.missing.is_empty(), "{check:?}");
}

#[test]
fn a_partial_file_resumes_over_xet_from_where_it_stopped() {
    let (ctx, files) = xet_repo();
    // A full download first, to know what the weights cost over Xet.
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let full = ctx.hub.counters().xet_bytes;

    // Start again with half of the weights kept as a partial download.
    fs_err::remove_dir_all(&ctx.cache).unwrap();
    let fixtures = ctx.hub.fixtures();
    let info = fixtures
        .file_info(RepoType::Model, REPO, "main", "model.safetensors")
        .unwrap();
    let blobs = ctx.cache.join("models--acme--xet").join("blobs");
    fs_err::create_dir_all(&blobs).unwrap();
    let half = files.weights.len() / 2;
    fs_err::write(
        blobs.join(format!("{}.incomplete", info.sha256.as_deref().unwrap())),
        &files.weights[..half],
    )
    .unwrap();
    let before = ctx.hub.counters();
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let after = ctx.hub.counters();
    assert_eq!(after.xet_bridge, 0, "{after:?}");
    // The weights are most of the xorb bytes: resuming halfway saves about a third of them.
    let resumed = after.xet_bytes - before.xet_bytes;
    assert!(
        resumed < full - (half as u64) * 3 / 4,
        "resumed run fetched {resumed} xorb bytes, a full one {full}"
    );
}

#[test]
fn the_v1_fallback_token_refresh_and_stalls_keep_the_download_on_xet() {
    // No v2 on the CAS (404): v1 answers. An expired token from the Hub: the CAS refuses it
    // (401) and a new one is asked for. A xorb range that stalls: the stall timeout and a retry.
    let (ctx, files) = xet_repo();
    ctx.hub
        .add_fault(fault("/v2/reconstructions/", Fault::Status(404), None));
    ctx.hub
        .add_fault(fault("/xet-read-token/", Fault::ExpiredToken, Some(1)));
    ctx.hub.add_fault(fault("/xorb/", Fault::Stall, Some(1)));
    let output = ctx
        .hfdl()
        .args(["sync"])
        .env("HFDL_TIMEOUT", "1s")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let counters = ctx.hub.counters();
    assert_eq!(counters.xet_bridge, 0, "{counters:?}");
    assert_eq!(counters.xet_token, 2, "{counters:?}");
}

#[test]
fn a_wrong_unpacked_length_is_a_data_problem_that_falls_back_with_a_warning() {
    let (ctx, files) = xet_repo();
    ctx.hub.add_fault(fault(
        "/reconstructions/",
        Fault::WrongUnpackedLength,
        Some(1),
    ));
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("xet-failed"), "{stderr}");
    assert_synced(&ctx, &files);
    assert_eq!(ctx.hub.counters().xet_bridge, 1);
}

#[test]
fn the_rate_limit_applies_and_verify_repair_fetches_over_xet() {
    let (ctx, files) = xet_repo();
    // About 3.6 MB of xorb bytes at 2 MB/s: well over a second.
    let started = std::time::Instant::now();
    let output = ctx
        .hfdl()
        .args(["sync"])
        .env("HFDL_LIMIT_RATE", "2M")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let xorb_bytes = ctx.hub.counters().xet_bytes;
    assert!(xorb_bytes > 3_000_000, "{xorb_bytes}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1_200),
        "{:?} for {xorb_bytes} bytes at 2 MB/s",
        started.elapsed()
    );
    assert_synced(&ctx, &files);

    // A damaged blob is fetched again over Xet by `verify --repair`.
    let info = ctx
        .hub
        .fixtures()
        .file_info(RepoType::Model, REPO, "main", "small.bin")
        .unwrap();
    let blob = ctx
        .cache
        .join("models--acme--xet")
        .join("blobs")
        .join(info.sha256.as_deref().unwrap());
    fs_err::write(&blob, b"damaged").unwrap();
    let before = ctx.hub.counters();
    let repair = ctx.run(&["verify", "--repair", "--full"]);
    assert!(repair.status.success(), "{}", ctx.render(&repair));
    assert_synced(&ctx, &files);
    let after = ctx.hub.counters();
    assert_eq!(
        after.xet_reconstruction - before.xet_reconstruction,
        1,
        "{after:?}"
    );
    assert_eq!(after.xet_bridge, 0, "{after:?}");
}

#[test]
fn a_flipped_byte_in_a_stored_chunk_fails_the_xet_hash() {
    // Chunks stored as is: the flipped byte decodes fine, and only the hashes can tell.
    let ctx = TestContext::new();
    let fixtures = ctx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, REPO, RepoOptions::default())
        .unwrap();
    let options = XetOptions {
        compression: hfdl_mock_hub::xet::xorb::Compression::None,
    };
    fixtures.enable_xet(RepoType::Model, REPO, options).unwrap();
    fixtures
        .commit(
            RepoType::Model,
            REPO,
            "main",
            "init",
            vec![FileChange::lfs("w.bin", bytes(9, 400_000, true))],
        )
        .unwrap();
    ctx.write_manifest(MANIFEST);
    ctx.hub
        .add_fault(fault("/xorb/", Fault::FlipChunkByte, None));
    let (output, _) = sync_fails_over_xet(&ctx, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("hash to Xet hash"), "{stdout}");
    let blobs = ctx.cache.join("models--acme--xet").join("blobs");
    let left: Vec<_> = fs_err::read_dir(&blobs)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the bad bytes were kept: {left:?}");
}

#[test]
fn a_token_near_its_expiry_is_renewed_before_use() {
    // Tokens that live 30 s are always within the minute hfdl renews before: one per file.
    let (ctx, files) = xet_repo_with(ServerOptions {
        xet_token_ttl_secs: 30,
        ..ServerOptions::default()
    });
    let output = ctx.run(&["sync", "--jobs", "1"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let counters = ctx.hub.counters();
    assert_eq!(counters.xet_token, 3, "{counters:?}");
    assert_eq!(counters.xet_bridge, 0, "{counters:?}");
}

#[test]
fn debug_logs_name_the_cas_requests_but_never_the_token_or_a_signature() {
    let (ctx, files) = xet_repo();
    let output = ctx
        .hfdl()
        .args(["sync"])
        .env("HFDL_LOG_LEVEL", "trace")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_synced(&ctx, &files);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/v2/reconstructions/"), "{stderr}");
    assert!(
        stderr.contains("kind=xet") || stderr.contains("\"xet\""),
        "{stderr}"
    );
    // Mock CAS tokens are `xet_<hex>`; signed URLs carry `Signature=`.
    let token = stderr
        .match_indices("xet_")
        .any(|(at, _)| stderr[at + 4..].starts_with(|c: char| c.is_ascii_hexdigit()));
    assert!(!token, "a CAS token was logged: {stderr}");
    assert!(!stderr.contains("Signature="), "a URL signature was logged");
}
