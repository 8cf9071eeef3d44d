//! Shared fixtures and HTTP helpers for the mock Hub's integration tests.
//!
//! Every test builds its own fixture directory and server (ephemeral ports on 127.0.0.1), so
//! tests are independent and can run in parallel.

#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use hfdl_mock_hub::{
    FileChange, FileInfo, Fixtures, Gated, MockHub, RepoOptions, RepoType, ServerOptions, UserSpec,
};
use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;
use sha2::Digest as _;

pub const MODEL: &str = "acme/tiny";
pub const DATASET: &str = "acme/squad";
pub const PRIVATE: &str = "alice/secret";
pub const GATED: &str = "acme/gated";

/// Owns `alice/secret`; no gated access.
pub const ALICE: &str = "hf_alice_token_0000000000000000000";
/// Granted `acme/gated`.
pub const BOB: &str = "hf_bob_token_11111111111111111111111";
/// No special rights.
pub const CAROL: &str = "hf_carol_token_2222222222222222222";

/// Size of `model.safetensors` (LFS, generated).
pub const WEIGHTS_SIZE: u64 = 300_000;
pub const CONFIG: &[u8] = b"{\"model_type\": \"tiny\", \"hidden_size\": 8}\n";

/// The commits of the standard model fixture.
#[derive(Debug, Clone)]
pub struct Commits {
    /// The first commit of `acme/tiny` (tag `v1`, PR 1).
    pub first: String,
    /// The current `main` of `acme/tiny`.
    pub main: String,
    /// The tip of branch `feature/x`.
    pub feature: String,
}

/// A running mock Hub over the standard fixtures. Field order matters: the server stops
/// before its fixture directory is removed.
pub struct TestHub {
    pub hub: MockHub,
    pub commits: Commits,
    pub client: Client,
    pub dir: tempfile::TempDir,
}

/// A client that never follows redirects (so 302/307 can be asserted) and never waits long.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn git_sha1(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hex::encode(hasher.finalize())
}

/// Writes the standard fixtures into `dir`:
///
/// - model `acme/tiny`: commit `first` (config.json, README.md, model.safetensors), then `main`
///   adds `sub/dir/a.txt`, `sub/dir/b.txt`, `sub/c.json`, `onnx/model.onnx` (LFS) and
///   `with space.txt`; tag `v1` and `refs/pr/1` → first; branch `feature/x` → a third commit
///   that adds `feature.txt`; alias `old/tiny`;
/// - dataset `acme/squad`: README.md and `data/train.parquet` (LFS);
/// - private model `alice/secret`, gated (manual) model `acme/gated`;
/// - users alice (owns `alice`), bob (granted `acme/gated`), carol.
pub fn standard_fixtures(dir: &std::path::Path) -> (Fixtures, Commits) {
    let fixtures = Fixtures::create(dir).unwrap();
    let model = RepoType::Model;
    fixtures
        .create_repo(model, MODEL, RepoOptions::default())
        .unwrap();
    let first = fixtures
        .commit(
            model,
            MODEL,
            "main",
            "initial commit",
            vec![
                FileChange::regular("config.json", CONFIG.to_vec()),
                FileChange::regular("README.md", b"# tiny\n".to_vec()),
                FileChange::generated("model.safetensors", WEIGHTS_SIZE, 42),
            ],
        )
        .unwrap();
    fixtures.set_tag(model, MODEL, "v1", &first).unwrap();
    fixtures.set_pr(model, MODEL, 1, &first).unwrap();
    let main = fixtures
        .commit(
            model,
            MODEL,
            "main",
            "add files",
            vec![
                FileChange::regular("sub/dir/a.txt", b"a\n".to_vec()),
                FileChange::regular("sub/dir/b.txt", b"bb\n".to_vec()),
                FileChange::regular("sub/c.json", b"{}".to_vec()),
                FileChange::lfs("onnx/model.onnx", b"onnx bytes".repeat(100)),
                FileChange::regular("with space.txt", b"spaced out\n".to_vec()),
            ],
        )
        .unwrap();
    fixtures
        .set_branch(model, MODEL, "feature/x", &main)
        .unwrap();
    let feature = fixtures
        .commit(
            model,
            MODEL,
            "feature/x",
            "feature work",
            vec![FileChange::regular("feature.txt", b"feature\n".to_vec())],
        )
        .unwrap();
    fixtures.add_alias(model, MODEL, "old/tiny").unwrap();

    fixtures
        .create_repo(RepoType::Dataset, DATASET, RepoOptions::default())
        .unwrap();
    fixtures
        .commit(
            RepoType::Dataset,
            DATASET,
            "main",
            "data",
            vec![
                FileChange::regular("README.md", b"# squad\n".to_vec()),
                FileChange::generated("data/train.parquet", 50_000, 7),
            ],
        )
        .unwrap();

    fixtures
        .create_repo(
            model,
            PRIVATE,
            RepoOptions {
                private: true,
                gated: Gated::No,
            },
        )
        .unwrap();
    fixtures
        .commit(
            model,
            PRIVATE,
            "main",
            "secret",
            vec![
                FileChange::regular("config.json", b"{\"secret\": true}".to_vec()),
                FileChange::lfs("weights.bin", b"secret weights".to_vec()),
            ],
        )
        .unwrap();

    fixtures
        .create_repo(
            model,
            GATED,
            RepoOptions {
                private: false,
                gated: Gated::Manual,
            },
        )
        .unwrap();
    fixtures
        .commit(
            model,
            GATED,
            "main",
            "gated",
            vec![
                FileChange::regular("config.json", b"{\"gated\": true}".to_vec()),
                FileChange::generated("model.safetensors", 20_000, 3),
            ],
        )
        .unwrap();

    for (name, token, gated_access) in [
        ("alice", ALICE, vec![]),
        ("bob", BOB, vec![GATED.to_owned()]),
        ("carol", CAROL, vec![]),
    ] {
        fixtures
            .add_user(UserSpec {
                name: name.to_owned(),
                token: token.to_owned(),
                orgs: if name == "bob" {
                    vec!["acme".to_owned(), "friends".to_owned()]
                } else {
                    vec![]
                },
                token_name: format!("{name}-token"),
                role: if name == "alice" { "write" } else { "read" }.to_owned(),
                gated_access,
            })
            .unwrap();
    }
    (
        fixtures,
        Commits {
            first,
            main,
            feature,
        },
    )
}

impl TestHub {
    pub fn start() -> TestHub {
        TestHub::start_with(ServerOptions::default())
    }

    pub fn start_with(options: ServerOptions) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let (fixtures, commits) = standard_fixtures(dir.path());
        let hub = MockHub::start_with(fixtures, options).unwrap();
        TestHub {
            hub,
            commits,
            client: client(),
            dir,
        }
    }

    pub fn fixtures(&self) -> Fixtures {
        self.hub.fixtures()
    }

    /// `endpoint + path` (path starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.hub.endpoint())
    }

    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().unwrap()
    }

    pub fn get_auth(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .unwrap()
    }

    pub fn head(&self, path: &str) -> Response {
        self.client.head(self.url(path)).send().unwrap()
    }

    pub fn head_auth(&self, path: &str, token: &str) -> Response {
        self.client
            .head(self.url(path))
            .bearer_auth(token)
            .send()
            .unwrap()
    }

    /// GET and parse a JSON body, asserting `200`.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path);
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().unwrap()
    }

    pub fn file(&self, repo_type: RepoType, id: &str, rev: &str, path: &str) -> FileInfo {
        self.fixtures().file_info(repo_type, id, rev, path).unwrap()
    }

    /// The bytes a file should have.
    pub fn content(&self, info: &FileInfo) -> Vec<u8> {
        self.fixtures().read_object(&info.content_sha256).unwrap()
    }

    /// Follows the LFS `302` of `resolve_path` and returns the absolute CDN URL.
    pub fn cdn_url(&self, resolve_path: &str) -> String {
        let response = self.head(resolve_path);
        assert_eq!(response.status(), 302, "HEAD {resolve_path}");
        header(response.headers(), "location").to_owned()
    }

    /// Follows the regular-file `307` of `resolve_path` and returns the resolve-cache path.
    pub fn resolve_cache_path(&self, resolve_path: &str) -> String {
        let response = self.head(resolve_path);
        assert_eq!(response.status(), 307, "HEAD {resolve_path}");
        let location = header(response.headers(), "location").to_owned();
        assert!(location.starts_with("/api/resolve-cache/"), "{location}");
        location
    }
}

/// A header that must be present, as text.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name} in {headers:?}"))
        .to_str()
        .unwrap()
}

/// A header as text, if present.
pub fn maybe_header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Asserts an error answer: status, `X-Error-Code`, and (on GET) the JSON `{"error": …}` body.
pub fn assert_hub_error(response: &Response, status: u16, code: Option<&str>) -> HeaderMap {
    let headers = response.headers().clone();
    assert_eq!(response.status(), status, "{headers:?}");
    assert_eq!(maybe_header(&headers, "x-error-code"), code, "{headers:?}");
    let message = header(&headers, "x-error-message").to_owned();
    assert!(!message.is_empty());
    headers
}

/// Asserts an error answer on GET including its JSON body; returns the headers.
pub fn assert_hub_error_body(response: Response, status: u16, code: Option<&str>) -> HeaderMap {
    let headers = response.headers().clone();
    assert_eq!(response.status(), status, "{headers:?}");
    assert_eq!(maybe_header(&headers, "x-error-code"), code, "{headers:?}");
    let body: serde_json::Value = response.json().unwrap();
    let error = body["error"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(error, header(&headers, "x-error-message"));
    headers
}

/// Reads a body until it ends or fails; returns the bytes received and whether it failed.
pub fn read_until_error(mut response: Response) -> (Vec<u8>, bool) {
    use std::io::Read as _;
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match response.read(&mut buffer) {
            Ok(0) => return (received, false),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (received, true),
        }
    }
}

/// What a bounded child run produced.
pub struct Finished {
    /// `None`: killed at the deadline.
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn render(&self) -> String {
        format!(
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `command` to completion, killing it after `timeout`.
pub fn run_bounded(mut command: std::process::Command, timeout: Duration) -> Finished {
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut pipe, &mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut finished = Finished {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    if status.is_none() {
        let secs = timeout.as_secs();
        finished.stderr = format!("{}\n[killed after {secs} s: {command:?}]", finished.stderr);
    }
    finished
}
