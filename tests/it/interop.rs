//! Interop with the real `huggingface_hub` (PyPI): it must find everything `hfdl sync` wrote,
//! offline, and `hfdl` must adopt a cache that `huggingface_hub` wrote.
//!
//! Needs a Python with `huggingface_hub` (`HFDL_TEST_PYTHON`, default `python3`); skipped with a
//! message when missing, except under `CI=true`, where it fails.

use std::path::Path;
use std::process::Command;

use hfdl_mock_hub::RepoType;
use serde_json::json;

use crate::support::{TestContext, python_with};

fn script() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/interop.py"))
}

#[test]
fn huggingface_hub_finds_every_synced_file_offline() {
    let Some(python) = python_with(&["huggingface_hub"]) else {
        return;
    };
    let ctx = TestContext::new();
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\n\n[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n",
    );
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));

    let fixtures = ctx.hub.fixtures();
    let mut repos = Vec::new();
    for (ty, id, paths) in [
        (
            RepoType::Model,
            "acme/tiny",
            &[
                "config.json",
                "tokenizer.json",
                "README.md",
                "model.safetensors",
                "onnx/model.onnx",
            ][..],
        ),
        (
            RepoType::Dataset,
            "acme/squad",
            &["README.md", "plain_text/train-00000-of-00001.parquet"][..],
        ),
    ] {
        let files: Vec<_> = paths
            .iter()
            .map(|path| {
                let info = fixtures.file_info(ty, id, "main", path).unwrap();
                match &info.sha256 {
                    Some(sha) => json!({ "path": path, "size": info.size, "sha256": sha }),
                    None => json!({ "path": path, "size": info.size, "git_sha1": info.git_sha1 }),
                }
            })
            .collect();
        repos.push(json!({
            "id": id, "type": ty.as_str(), "revision": "main",
            "commit": fixtures.resolve_revision(ty, id, "main").unwrap(), "files": files,
        }));
    }
    let spec = ctx.root.path().join("spec.json");
    fs_err::write(
        &spec,
        serde_json::to_vec(&json!({ "repos": repos })).unwrap(),
    )
    .unwrap();
    let check = Command::new(&python)
        .arg(script())
        .args(["check", ctx.cache.to_str().unwrap(), spec.to_str().unwrap()])
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// `snapshot_download` of acme/tiny into the test's cache, by the real `huggingface_hub`.
fn fill_with_huggingface_hub(python: &str, ctx: &TestContext) {
    let fill = Command::new(python)
        .arg(script())
        .args(["fill", ctx.cache.to_str().unwrap(), "acme/tiny", "model"])
        .env("HF_ENDPOINT", ctx.hub.endpoint())
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HOME", ctx.root.path().join("py-home"))
        .output()
        .unwrap();
    assert!(
        fill.status.success(),
        "{}",
        String::from_utf8_lossy(&fill.stderr)
    );
}

#[test]
fn hfdl_adopts_a_cache_written_by_huggingface_hub_without_downloading() {
    let Some(python) = python_with(&["huggingface_hub"]) else {
        return;
    };
    let ctx = TestContext::new();
    fill_with_huggingface_hub(&python, &ctx);
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\n");
    ctx.hub.reset();
    let output = ctx.run(&["sync", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let counters = ctx.hub.counters();
    assert_eq!(
        counters.resolve_get + counters.cdn,
        0,
        "only the lock's API calls: {:?}",
        ctx.hub.requests()
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["summary"]["adopted_files"], 5, "{value}");
}

#[test]
fn init_from_cache_adopts_a_cache_written_by_huggingface_hub() {
    let Some(python) = python_with(&["huggingface_hub"]) else {
        return;
    };
    let ctx = TestContext::new();
    fill_with_huggingface_hub(&python, &ctx);
    ctx.hub.reset();
    let init = ctx.run(&["init", "--from-cache"]);
    assert!(init.status.success(), "{}", ctx.render(&init));
    let lock = ctx.read("models.lock");
    assert!(lock.contains("revision = \"main\""), "{lock}");
    assert_eq!(lock.matches("{ path = ").count(), 5, "{lock}");
    let sync = ctx.run(&["sync", "--locked", "--json"]);
    assert!(sync.status.success(), "{}", ctx.render(&sync));
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "{:?}",
        ctx.hub.requests()
    );
    let value: serde_json::Value = serde_json::from_slice(&sync.stdout).unwrap();
    assert_eq!(value["summary"]["adopted_files"], 5, "{value}");
}
