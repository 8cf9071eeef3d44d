//! The mock Hub's Xet side judged by the real client: `huggingface_hub` 2.4.0 with `hf_xet`
//! 1.8.0 (PyPI) downloads Xet-backed files from the mock, through the token endpoint, the
//! CAS reconstructions and the signed xorb ranges, and gets the right bytes for two revisions
//! of a repo whose second revision changes 10% of a file.
//!
//! Needs a Python with `huggingface_hub` and `hf_xet` (`HFDL_TEST_PYTHON`, default `python3`);
//! skipped with a message when missing, except under `CI=true`, where it fails.

use std::process::Command;

use hfdl_mock_hub::{FileChange, RepoOptions, RepoType, XetOptions};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::support::{TestContext, python_with};

/// Downloads every `(revision, path)` of the spec with `hf_hub_download` and prints the sha256
/// of each; fails unless hf_xet is the one downloading.
const SCRIPT: &str = r#"
import hashlib, json, sys
from huggingface_hub import constants, hf_hub_download
from huggingface_hub.utils._runtime import is_xet_available
assert not constants.HF_HUB_DISABLE_XET, "HF_HUB_DISABLE_XET is set"
assert is_xet_available(), "hf_xet is not usable"
spec = json.load(open(sys.argv[1]))
out = []
for item in spec["downloads"]:
    path = hf_hub_download(spec["repo"], item["path"], revision=item["revision"], cache_dir=spec["cache"])
    data = open(path, "rb").read()
    out.append({"revision": item["revision"], "path": item["path"], "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest()})
print(json.dumps(out))
"#;

/// Deterministic bytes: random, or compressible (text-like and float-like halves) so that the
/// xorbs hold all three chunk encodings.
fn bytes(seed: u64, len: usize, compressible: bool) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    if !compressible {
        return (0..len).map(|_| (next() >> 24) as u8).collect();
    }
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let word = format!("token{} ", next() % 64);
        out.extend_from_slice(word.as_bytes());
        // A little-endian f32-like value: random low bytes, near-constant high bytes.
        let value = 0x3F80_0000u32 | (next() as u32 & 0x0003_FFFF);
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha256(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn hf_xet_downloads_xet_backed_files_from_the_mock() {
    let Some(python) = python_with(&["huggingface_hub", "hf_xet"]) else {
        return;
    };
    let ctx = TestContext::new();
    let fixtures = ctx.hub.fixtures();
    let repo = "acme/xet-model";
    fixtures
        .create_repo(RepoType::Model, repo, RepoOptions::default())
        .unwrap();
    fixtures
        .enable_xet(RepoType::Model, repo, XetOptions::default())
        .unwrap();
    let weights_v1 = bytes(1, 4_000_000, false);
    let tokenizer = bytes(2, 2_500_000, true);
    let small = bytes(3, 5_000, false);
    let first = fixtures
        .commit(
            RepoType::Model,
            repo,
            "main",
            "first",
            vec![
                FileChange::regular("config.json", b"{\"model_type\": \"xet\"}".to_vec()),
                FileChange::lfs("model.safetensors", weights_v1.clone()),
                FileChange::lfs("tokenizer.bin", tokenizer.clone()),
                FileChange::lfs("small.bin", small.clone()),
            ],
        )
        .unwrap();
    // Revision 2 changes 10% of the weights, in the middle.
    let mut weights_v2 = weights_v1.clone();
    for b in &mut weights_v2[1_800_000..2_200_000] {
        *b = b.wrapping_add(1);
    }
    let second = fixtures
        .commit(
            RepoType::Model,
            repo,
            "main",
            "second",
            vec![FileChange::lfs("model.safetensors", weights_v2.clone())],
        )
        .unwrap();

    // The mock deduplicated like the Hub: revision 2 reuses revision 1's xorb for the
    // unchanged chunks and adds new xorbs only for the changed ones.
    let store = fixtures.xet_store();
    let info = |rev: &str| {
        fixtures
            .file_info(RepoType::Model, repo, rev, "model.safetensors")
            .unwrap()
    };
    let (v1, v2) = (info(&first), info(&second));
    let file1 = store.file(v1.xet_hash.as_deref().unwrap()).unwrap();
    let file2 = store.file(v2.xet_hash.as_deref().unwrap()).unwrap();
    let old_xorbs: Vec<&str> = file1.terms.iter().map(|t| t.xorb.as_str()).collect();
    let reused: u64 = file2
        .terms
        .iter()
        .filter(|t| old_xorbs.contains(&t.xorb.as_str()))
        .map(|t| t.unpacked)
        .sum();
    assert!(
        (3_000_000..3_700_000).contains(&reused),
        "reused {reused} of 4000000 bytes: {file2:?}"
    );

    let downloads: Vec<Value> = [
        (&first, "model.safetensors", &weights_v1),
        (&first, "tokenizer.bin", &tokenizer),
        (&first, "small.bin", &small),
        (&second, "model.safetensors", &weights_v2),
    ]
    .iter()
    .map(|(rev, path, _)| json!({ "revision": rev, "path": path }))
    .collect();
    let spec = ctx.root.path().join("xet-spec.json");
    fs_err::write(
        &spec,
        serde_json::to_vec(&json!({
            "repo": repo,
            "cache": ctx.root.path().join("py-cache"),
            "downloads": downloads,
        }))
        .unwrap(),
    )
    .unwrap();
    ctx.hub.reset();
    let run = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&spec)
        .env("HF_ENDPOINT", ctx.hub.endpoint())
        .env("HF_HOME", ctx.root.path().join("py-home"))
        .env("HF_XET_CACHE", ctx.root.path().join("py-xet"))
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env_remove("HF_HUB_DISABLE_XET")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .output()
        .unwrap();
    let counters = ctx.hub.counters();
    assert!(
        run.status.success(),
        "{}\n{}\n{counters:?}\n{:#?}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        ctx.hub.requests()
    );
    let results: Vec<Value> = serde_json::from_slice(
        run.stdout
            .split(|&b| b == b'\n')
            .rfind(|line| line.starts_with(b"["))
            .unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&run.stdout)));
    let expected = [&weights_v1, &tokenizer, &small, &weights_v2];
    assert_eq!(results.len(), expected.len());
    for (result, data) in results.iter().zip(expected) {
        assert_eq!(result["size"], data.len(), "{result}");
        assert_eq!(result["sha256"], sha256(data), "{result}");
    }
    // hf_xet did the downloads: reconstructions and xorb ranges, never the bridge or the CDN.
    assert!(counters.xet_token >= 1, "{counters:?}");
    assert!(counters.xet_reconstruction >= 4, "{counters:?}");
    assert!(counters.xet_xorb >= 4, "{counters:?}");
    assert_eq!(counters.xet_bridge, 0, "{counters:?}");
    assert_eq!(counters.cdn, 0, "{counters:?}");
    assert!(
        counters.xet_bytes > 0 && counters.bytes_served < 1000,
        "{counters:?}"
    );
    let requests = ctx.hub.requests();
    let xorb_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/xorb/"))
        .collect();
    assert!(
        xorb_requests
            .iter()
            .all(|r| r.authorization.is_none() && r.status == 206),
        "{xorb_requests:#?}"
    );
}
