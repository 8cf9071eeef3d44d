//! The real `huggingface_hub` (PyPI, 2.4.0) against the mock Hub: if the reference client
//! downloads everything correctly, the mock speaks the protocol real clients expect.
//!
//! `python_interop.py` runs with `HF_ENDPOINT` set to the mock, a temporary `HF_HOME`/
//! `HF_HUB_CACHE` and no token in the environment, and checks:
//!
//! - `snapshot_download` of the LFS model `acme/tiny` (safetensors and onnx via the CDN,
//!   regular files via the `307` to `/api/resolve-cache`, subdirectories, a name with a space)
//!   and of the dataset `acme/squad`: the snapshot folder is named by the commit, holds exactly
//!   the repo's files, each with the fixture's sha256 and a blob named by its etag;
//! - `hf_hub_download` of single files, at `main` and at tag `v1` (snapshot folder = the tag's
//!   commit, `refs/v1` written), and `RemoteEntryNotFoundError` for a file added after `v1`;
//! - the gated `acme/gated`: `GatedRepoError` anonymously and for a user without access,
//!   downloads (single files and a snapshot) with BOB's token passed as `token=`.
//!
//! The Rust side then checks the request log: LFS bytes came from the CDN origin, no CDN
//! request carried `Authorization`, the token was sent to the Hub origin only for the gated
//! downloads, and the server never answered 5xx.
//!
//! Needs `HFDL_TEST_PYTHON` (a Python with `huggingface_hub`, e.g. `target/pyenv/bin/python`
//! as set up by `scripts/test`). Unset: skipped with a note, except when `CI` is set, where the
//! test fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{BOB, CAROL, DATASET, GATED, MODEL, TestHub};
use hfdl_mock_hub::{RepoType, RequestKind, RequestRecord};
use serde_json::{Value, json};

/// How long the Python script may run before it is killed.
const SCRIPT_TIMEOUT: Duration = Duration::from_mins(2);

/// Variables that would let the host's Hugging Face configuration leak into the child.
const SCRUBBED_ENV: [&str; 17] = [
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
    "HUGGINGFACE_HUB_CACHE",
    "HF_HUB_ETAG_TIMEOUT",
    "HF_HUB_DOWNLOAD_TIMEOUT",
    "HF_HUB_DISABLE_SYMLINKS",
    "HF_HUB_ENABLE_HF_TRANSFER",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// The Python to use, or `None` (after saying so) when the test should be skipped.
#[allow(clippy::disallowed_methods)] // test harness configuration, not hfdl's environment
fn python() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("HFDL_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(python));
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !in_ci,
        "CI is set but HFDL_TEST_PYTHON is not: CI must run the huggingface_hub interop test \
         (point HFDL_TEST_PYTHON at a Python with huggingface_hub==2.4.0, e.g. via scripts/test)"
    );
    #[allow(clippy::print_stderr)] // a skipped test must say so in the output
    {
        eprintln!(
            "SKIPPED python_interop: HFDL_TEST_PYTHON is unset (run scripts/test, or set it to \
         target/pyenv/bin/python)"
        );
    }
    None
}

/// A repo at a revision, as the script expects it: every file with its size, content sha256
/// and the name huggingface_hub gives its blob (LFS sha256, else git blob sha1).
fn repo_spec(hub: &TestHub, repo_type: RepoType, id: &str, revision: &str) -> Value {
    let repo = hub.fixtures().repo(repo_type, id).unwrap();
    let commit = repo.resolve(revision).unwrap();
    let files: Vec<Value> = commit
        .files
        .values()
        .map(|file| {
            json!({
                "path": file.path,
                "size": file.size,
                "sha256": file.content_sha256,
                "etag": if file.is_lfs { &file.content_sha256 } else { &file.git_sha1 },
                "lfs": file.is_lfs,
            })
        })
        .collect();
    json!({
        "id": id,
        "type": repo_type.as_str(),
        "revision": revision,
        "commit": commit.id,
        "files": files,
    })
}

/// The LFS content hashes of a repo spec.
fn lfs_hashes(spec: &Value) -> Vec<String> {
    spec["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["lfs"] == true)
        .map(|f| f["sha256"].as_str().unwrap().to_owned())
        .collect()
}

fn script() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python_interop.py"
    ))
}

fn is_gated_path(record: &RequestRecord) -> bool {
    record.path.contains(&format!("/{GATED}/")) || record.path.ends_with(&format!("/{GATED}"))
}

#[test]
fn huggingface_hub_downloads_from_the_mock_hub() {
    let Some(python) = python() else { return };
    let hub = TestHub::start();
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("hf-home");
    let cache = home.join("hub");
    let scratch = work.path().join("scratch");
    fs_err::create_dir_all(&cache).unwrap();
    fs_err::create_dir_all(&scratch).unwrap();

    let spec = json!({
        "scratch": scratch,
        "model": repo_spec(&hub, RepoType::Model, MODEL, "main"),
        "model_v1": repo_spec(&hub, RepoType::Model, MODEL, "v1"),
        "dataset": repo_spec(&hub, RepoType::Dataset, DATASET, "main"),
        "gated": repo_spec(&hub, RepoType::Model, GATED, "main"),
        "granted_token": BOB,
        "denied_token": CAROL,
    });
    assert_eq!(spec["model_v1"]["commit"], hub.commits.first.as_str());
    assert_eq!(spec["model"]["commit"], hub.commits.main.as_str());
    let spec_path = work.path().join("spec.json");
    fs_err::write(&spec_path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();

    let mut command = Command::new(&python);
    command.arg(script()).arg(&spec_path);
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }
    command
        .env("HF_ENDPOINT", hub.hub.endpoint())
        .env("HF_HOME", &home)
        .env("HF_HUB_CACHE", &cache)
        .env("HF_XET_CACHE", home.join("xet"))
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(work.path());
    let finished = common::run_bounded(command, SCRIPT_TIMEOUT);
    let requests = hub.hub.requests();
    let summary = || {
        let log: Vec<String> = requests
            .iter()
            .map(|r| {
                format!(
                    "{} {} -> {} ({:?}, auth: {})",
                    r.method,
                    r.path,
                    r.status,
                    r.kind,
                    r.authorization.is_some()
                )
            })
            .collect();
        format!(
            "{}\n--- requests ---\n{}",
            finished.render(),
            log.join("\n")
        )
    };
    assert!(
        finished.status.is_some_and(|s| s.success()),
        "python_interop.py failed:\n{}",
        summary()
    );
    assert!(
        finished
            .stdout
            .contains("ok: all huggingface_hub checks passed"),
        "{}",
        summary()
    );

    // The server never failed.
    let errors: Vec<_> = requests.iter().filter(|r| r.status >= 500).collect();
    assert!(errors.is_empty(), "5xx answers: {errors:?}\n{}", summary());

    // Every LFS file came from the CDN origin, and the CDN never saw a token.
    let cdn: Vec<&RequestRecord> = requests
        .iter()
        .filter(|r| r.kind == RequestKind::Cdn)
        .collect();
    assert!(!cdn.is_empty(), "no CDN request at all\n{}", summary());
    for sha256 in ["model", "dataset", "gated"]
        .iter()
        .flat_map(|key| lfs_hashes(&spec[*key]))
    {
        let path = format!("/cdn/{sha256}");
        assert!(
            cdn.iter()
                .any(|r| r.path == path && r.method == "GET" && r.status == 200),
            "no successful CDN GET of {path}\n{}",
            summary()
        );
    }
    let with_auth: Vec<_> = cdn.iter().filter(|r| r.authorization.is_some()).collect();
    assert!(
        with_auth.is_empty(),
        "Authorization sent to the CDN: {with_auth:?}"
    );

    // The Hub origin got a token only where the script passed one: the gated repo.
    let bob = format!("Bearer {BOB}");
    let carol = format!("Bearer {CAROL}");
    for record in requests.iter().filter(|r| r.authorization.is_some()) {
        let auth = record.authorization.as_deref().unwrap();
        assert!(
            is_gated_path(record) && (auth == bob || auth == carol),
            "unexpected Authorization on {} {}\n{}",
            record.method,
            record.path,
            summary()
        );
    }
    // BOB's downloads of the gated repo sent his token to the Hub and were served.
    let gated_resolve = |record: &&RequestRecord, file: &str| {
        record.path == format!("/{GATED}/resolve/main/{file}")
            && record.authorization.as_deref() == Some(bob.as_str())
    };
    for (file, status) in [("config.json", 307), ("model.safetensors", 302)] {
        assert!(
            requests
                .iter()
                .any(|r| gated_resolve(&r, file) && r.status == status),
            "no authorized resolve of {GATED}/{file} answered {status}\n{}",
            summary()
        );
    }
    assert!(
        requests.iter().any(|r| r
            .path
            .starts_with(&format!("/api/resolve-cache/models/{GATED}/"))
            && r.authorization.as_deref() == Some(bob.as_str())
            && r.status == 200),
        "the resolve-cache GET of the gated config.json must carry the token\n{}",
        summary()
    );
    // Without a token the gated content was refused with 401; CAROL got 403.
    assert!(
        requests
            .iter()
            .any(|r| r.path.contains(&format!("/{GATED}/resolve/"))
                && r.authorization.is_none()
                && r.status == 401),
        "{}",
        summary()
    );
    assert!(
        requests
            .iter()
            .any(|r| r.authorization.as_deref() == Some(carol.as_str()) && r.status == 403),
        "{}",
        summary()
    );
    // The client identified itself.
    let anonymous: Vec<_> = requests
        .iter()
        .filter(|r| {
            !r.user_agent
                .as_deref()
                .is_some_and(|ua| ua.contains("hf_hub/"))
        })
        .map(|r| (&r.method, &r.path, &r.user_agent))
        .collect();
    assert!(anonymous.is_empty(), "no hf_hub user agent: {anonymous:#?}");
}
