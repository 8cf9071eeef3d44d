//! The `hfdl-mock-hub` binary end to end, as a benchmark or a manual test would use it:
//!
//! - `generate --out DIR demo`, and `generate --out DIR2 repo …` plus `many-small …` into the
//!   same second directory (small sizes, so the test stays fast);
//! - `serve --fixtures DIR --port 0` and the top-level `--fixtures DIR2` form as child
//!   processes: the `endpoint=URL` and `cdn=URL` lines on stdout, repo info, regular files via
//!   the `307` to `/api/resolve-cache` (or directly with `--no-regular-redirect`), LFS files via
//!   the `302` to the CDN origin with their bytes checked against the API's sha256 and the
//!   `X-Linked-Etag`, the gated demo repo with the demo token, tree pagination with
//!   `--page-size`, `/__admin/counters`, and a clean exit on SIGTERM;
//! - bad invocations (a missing or non-fixture directory, no `--fixtures`, a bad size or repo
//!   type, a port in use) exit non-zero with a message that names the culprit.
//!
//! Every child is killed when its guard drops, even when an assertion fails.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Finished, git_sha1, header, sha256_hex};
use reqwest::blocking::Client;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hfdl-mock-hub");
/// Longest a `generate` or failing invocation may take.
const COMMAND_TIMEOUT: Duration = Duration::from_mins(1);
/// Longest `serve` may take to print its addresses.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const MINILM: &str = "sentence-transformers/all-MiniLM-L6-v2";
const SQUAD: &str = "rajpurkar/squad";
const SQUAD_VALIDATION: &str = "plain_text/validation-00000-of-00001.parquet";
const GATED_DEMO: &str = "acme/gated-model";

/// Runs the binary with `args` to completion, killing it after [`COMMAND_TIMEOUT`].
fn run(args: &[&str]) -> Finished {
    let mut command = Command::new(BIN);
    command.args(args);
    common::run_bounded(command, COMMAND_TIMEOUT)
}

/// Runs the binary and asserts success.
fn run_ok(args: &[&str]) -> Finished {
    let finished = run(args);
    assert!(
        finished.success(),
        "hfdl-mock-hub {args:?} failed:\n{}",
        finished.render()
    );
    finished
}

/// A running `hfdl-mock-hub serve`; killed on drop.
struct Server {
    child: Child,
    endpoint: String,
    cdn: String,
}

impl Server {
    /// Starts the binary with `args` and waits for its `endpoint=` and `cdn=` lines (only
    /// `endpoint=` for `static`).
    fn start(args: &[&str]) -> Server {
        let wants_cdn = args.first() != Some(&"static");
        let mut child = Command::new(BIN)
            .args(args)
            .env("MOCK_HUB_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Own the child before anything can panic, so that it is always killed.
        let mut server = Server {
            child,
            endpoint: String::new(),
            cdn: String::new(),
        };
        let (sender, receiver) = mpsc::channel();
        // Ends when the child's stdout closes, i.e. when the child exits.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut seen = Vec::new();
        while server.endpoint.is_empty() || (wants_cdn && server.cdn.is_empty()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = receiver.recv_timeout(left).unwrap_or_else(|e| {
                panic!("no endpoint=/cdn= lines from {args:?} ({e}); stdout so far: {seen:?}")
            });
            if let Some(url) = line.strip_prefix("endpoint=") {
                url.clone_into(&mut server.endpoint);
            } else if let Some(url) = line.strip_prefix("cdn=") {
                url.clone_into(&mut server.cdn);
            }
            seen.push(line);
        }
        assert!(server.endpoint.starts_with("http://127.0.0.1:"), "{seen:?}");
        if wants_cdn {
            assert!(server.cdn.starts_with("http://127.0.0.1:"), "{seen:?}");
            assert_ne!(
                server.endpoint, server.cdn,
                "the CDN must be another origin"
            );
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    fn counters(&self, client: &Client) -> Value {
        let response = client.get(self.url("/__admin/counters")).send().unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// Waits for the counters to equal `expected` (body bytes are counted as they are sent, so
    /// the last chunk's count may trail the client by a moment).
    fn assert_counters(&self, client: &Client, expected: &Value) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let counters = self.counters(client);
            if counters == *expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "counters {counters} != expected {expected}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit status (bounded; the guard kills the child if this panics).
    fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit 10 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Follows redirects (as a downloader does), bounded in time.
fn following_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sibling<'v>(info: &'v Value, path: &str) -> &'v Value {
    info["siblings"]
        .as_array()
        .unwrap_or_else(|| panic!("no siblings in {info}"))
        .iter()
        .find(|s| s["rfilename"] == path)
        .unwrap_or_else(|| panic!("{path} not in {info}"))
}

/// `GET` and parse JSON, asserting `200`.
fn get_json(client: &Client, url: &str) -> Value {
    let response = client.get(url).send().unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().unwrap()
}

#[test]
fn generate_demo_then_serve_it() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("demo");
    let generated = run_ok(&["generate", "--out", path_str(&fixtures), "demo"]);
    assert!(
        generated
            .stdout
            .contains(hfdl_mock_hub::generate::DEMO_TOKEN),
        "{}",
        generated.render()
    );

    let server = Server::start(&["serve", "--fixtures", path_str(&fixtures), "--port", "0"]);
    let client = common::client(); // never follows redirects
    let follow = following_client();

    // Repo info with blob metadata.
    let info = get_json(
        &client,
        &server.url(&format!("/api/models/{MINILM}?blobs=true")),
    );
    assert_eq!(info["id"], MINILM);
    let commit = info["sha"].as_str().unwrap().to_owned();
    assert_eq!(commit.len(), 40, "{info}");
    let weights = sibling(&info, "model.safetensors");
    assert_eq!(weights["size"], 22_700_000);
    assert_eq!(weights["lfs"]["size"], 22_700_000);
    let config = sibling(&info, "config.json");
    assert!(config.get("lfs").is_none(), "{config}");

    // A regular file: 307 to /api/resolve-cache (relative), which serves it with its git sha1.
    let resolve = format!("/{MINILM}/resolve/main/config.json");
    let response = client.get(server.url(&resolve)).send().unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(header(response.headers(), "x-repo-commit"), commit);
    let location = header(response.headers(), "location").to_owned();
    assert!(
        location.starts_with("/api/resolve-cache/models/"),
        "{location}"
    );
    let response = client.get(server.url(&location)).send().unwrap();
    assert_eq!(response.status(), 200);
    let etag = header(response.headers(), "etag").to_owned();
    let bytes = response.bytes().unwrap();
    assert_eq!(etag, format!("\"{}\"", config["blobId"].as_str().unwrap()));
    assert_eq!(git_sha1(&bytes), config["blobId"].as_str().unwrap());
    assert_eq!(bytes.len() as u64, config["size"].as_u64().unwrap());
    let mut expected_bytes = bytes.len() as u64;

    // An LFS file of the dataset: 302 to the CDN origin with the Hub's metadata headers.
    let data = get_json(
        &client,
        &server.url(&format!("/api/datasets/{SQUAD}/revision/main?blobs=true")),
    );
    let validation = sibling(&data, SQUAD_VALIDATION);
    let sha256 = validation["lfs"]["sha256"].as_str().unwrap().to_owned();
    let size = validation["size"].as_u64().unwrap();
    let resolve = format!("/datasets/{SQUAD}/resolve/main/{SQUAD_VALIDATION}");
    let response = client.head(server.url(&resolve)).send().unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        header(response.headers(), "x-linked-etag"),
        format!("\"{sha256}\"")
    );
    assert_eq!(
        header(response.headers(), "x-linked-size"),
        size.to_string()
    );
    let location = header(response.headers(), "location");
    assert!(
        location.starts_with(&format!("{}/", server.cdn)),
        "{location} is not on {}",
        server.cdn
    );
    // Followed by a downloader: the bytes are the advertised ones.
    let response = follow.get(server.url(&resolve)).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.url().as_str().starts_with(&server.cdn));
    let bytes = response.bytes().unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(sha256_hex(&bytes), sha256);
    expected_bytes += size;

    // The gated demo repo: refused anonymously, served with the demo token.
    let resolve = format!("/{GATED_DEMO}/resolve/main/config.json");
    let response = client.get(server.url(&resolve)).send().unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(header(response.headers(), "x-error-code"), "GatedRepo");
    let response = follow
        .get(server.url(&resolve))
        .bearer_auth(hfdl_mock_hub::generate::DEMO_TOKEN)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    expected_bytes += response.bytes().unwrap().len() as u64;

    // Admin routes are not counted.
    server.assert_counters(
        &client,
        &serde_json::json!({
            "api": 2,
            "resolve_head": 1,
            // config (307 + 200), squad (302), gated (401, 307 + 200)
            "resolve_get": 6,
            "cdn": 1,
            "other": 0,
            "bytes_served": expected_bytes,
            "max_concurrent_bodies": 1,
        }),
    );
    let requests = get_json(&client, &server.url("/__admin/requests"));
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 10, "{requests:?}");
    assert!(
        requests
            .iter()
            .filter(|r| r["kind"] == "cdn")
            .all(|r| r["authorization"].is_null())
    );
}

#[test]
fn generate_repo_and_many_small_then_serve_with_top_level_flags() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("bench");
    let out = path_str(&fixtures);
    let generated = run_ok(&[
        "generate",
        "--out",
        out,
        "repo",
        "--id",
        "bench/big",
        "--files",
        "2",
        "--size",
        "1MiB",
        "--small",
        "3",
    ]);
    assert!(
        generated.stdout.contains("bench/big"),
        "{}",
        generated.render()
    );
    run_ok(&[
        "generate",
        "--out",
        out,
        "repo",
        "--id",
        "bench/data",
        "--type",
        "dataset",
        "--size",
        "64KiB",
        "--small",
        "1",
    ]);
    let generated = run_ok(&[
        "generate",
        "--out",
        out,
        "many-small",
        "--id",
        "bench/many",
        "--count",
        "45",
        "--file-size",
        "100",
    ]);
    assert!(
        generated.stdout.contains("45 files"),
        "{}",
        generated.render()
    );

    let mut server = Server::start(&[
        "--fixtures",
        out,
        "--port",
        "0",
        "--page-size",
        "20",
        "--no-regular-redirect",
    ]);
    let client = common::client();
    let follow = following_client();

    // Tree pagination with --page-size: absolute Link headers, bounded walk.
    let mut url = server.url("/api/models/bench/many/tree/main?recursive=true");
    let mut files = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "pagination does not end");
        let response = client.get(&url).send().unwrap();
        assert_eq!(response.status(), 200, "GET {url}");
        let link = response
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = response.json().unwrap();
        let page = page.as_array().unwrap();
        assert!(page.len() <= 20);
        files.extend(
            page.iter()
                .filter(|e| e["type"] == "file")
                .map(|e| e["path"].as_str().unwrap().to_owned()),
        );
        let Some(link) = link else { break };
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map_or_else(|| panic!("bad Link: {link}"), |(next, _)| next.to_owned());
        assert!(next.starts_with(&server.endpoint), "{next}");
        url = next;
    }
    assert!(pages >= 3, "45 files and their directory in pages of 20");
    assert_eq!(files.len(), 45, "{files:?}");
    assert!(files.contains(&"shards/000/part-000044.json".to_owned()));

    // A regular file is answered directly with --no-regular-redirect.
    let response = client
        .get(server.url("/bench/many/resolve/main/shards/000/part-000007.json"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let etag = header(response.headers(), "etag").to_owned();
    let bytes = response.bytes().unwrap();
    assert_eq!(etag, format!("\"{}\"", git_sha1(&bytes)));
    assert!(bytes.starts_with(b"{\"index\": 7,"));

    // Both weight files of bench/big via the CDN, checked against the tree's LFS oids.
    let tree = get_json(&client, &server.url("/api/models/bench/big/tree/main"));
    let weights: Vec<&Value> = tree
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("lfs").is_some())
        .collect();
    assert_eq!(weights.len(), 2, "{tree}");
    let mut served = 0;
    for entry in &weights {
        let path = entry["path"].as_str().unwrap();
        let response = follow
            .get(server.url(&format!("/bench/big/resolve/main/{path}")))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.url().as_str().starts_with(&server.cdn));
        let bytes = response.bytes().unwrap();
        assert_eq!(bytes.len(), 1 << 20);
        assert_eq!(sha256_hex(&bytes), entry["lfs"]["oid"].as_str().unwrap());
        served += bytes.len() as u64;
    }
    assert_ne!(weights[0]["lfs"]["oid"], weights[1]["lfs"]["oid"]);

    // The dataset repo type.
    let info = get_json(&client, &server.url("/api/datasets/bench/data?blobs=true"));
    assert_eq!(sibling(&info, "model.safetensors")["size"], 65_536);

    let counters = server.counters(&client);
    assert_eq!(counters["api"], pages + 2, "{counters}");
    assert_eq!(counters["resolve_get"], 3, "{counters}");
    assert_eq!(counters["cdn"], 2, "{counters}");
    assert!(counters["bytes_served"].as_u64().unwrap() >= served);

    // SIGTERM ends the server cleanly.
    let status = server.terminate();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

/// `static --dir` over the tree the benchmark builds (repo paths hard-linked to the fixture
/// objects) serves the same bytes as the Hub, then exits cleanly on SIGTERM.
#[test]
fn static_serves_the_same_bytes_as_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures_dir = dir.path().join("fixtures");
    let fixtures = path_str(&fixtures_dir);
    run_ok(&[
        "generate",
        "--out",
        fixtures,
        "repo",
        "--id",
        "bench/big",
        "--files",
        "2",
        "--size",
        "300KiB",
        "--small",
        "2",
    ]);
    let loaded = hfdl_mock_hub::Fixtures::open(&fixtures_dir).unwrap();
    let repo = loaded
        .repo(hfdl_mock_hub::RepoType::Model, "bench/big")
        .unwrap();
    let files = &repo.resolve("main").unwrap().files;
    let root = dir.path().join("static");
    for (path, info) in files {
        let target = root.join("big").join(path);
        fs_err::create_dir_all(target.parent().unwrap()).unwrap();
        fs_err::hard_link(loaded.object_path(&info.content_sha256), target).unwrap();
    }
    let hub = Server::start(&["serve", "--fixtures", fixtures]);
    let mut plain = Server::start(&["static", "--dir", path_str(&root)]);
    let client = following_client();
    for path in files.keys() {
        let from_hub = client
            .get(hub.url(&format!("/bench/big/resolve/main/{path}")))
            .send()
            .unwrap();
        let from_static = client
            .get(plain.url(&format!("/big/{path}")))
            .send()
            .unwrap();
        assert_eq!(from_hub.status(), 200, "{path}");
        assert_eq!(from_static.status(), 200, "{path}");
        assert_eq!(
            from_hub.bytes().unwrap(),
            from_static.bytes().unwrap(),
            "{path}"
        );
    }
    assert_eq!(
        client
            .get(plain.url("/big/nothing"))
            .send()
            .unwrap()
            .status(),
        404
    );
    assert!(plain.terminate().success());
}

#[test]
fn bad_invocations_fail_with_a_helpful_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-fixtures");
    let missing = path_str(&missing);

    for args in [
        vec!["serve", "--fixtures", missing],
        vec!["--fixtures", missing],
    ] {
        let finished = run(&args);
        assert!(!finished.success(), "{args:?}\n{}", finished.render());
        assert!(
            finished.stderr.contains(missing) && finished.stderr.contains("generate"),
            "the message must name the directory and how to create one: {args:?}\n{}",
            finished.render()
        );
        assert!(finished.stdout.is_empty(), "{}", finished.render());
    }

    // A directory that exists but is no fixture directory.
    let plain = dir.path().join("plain");
    fs_err::create_dir_all(&plain).unwrap();
    let finished = run(&["serve", "--fixtures", path_str(&plain)]);
    assert!(!finished.success(), "{}", finished.render());
    assert!(
        finished.stderr.contains(path_str(&plain)),
        "{}",
        finished.render()
    );

    // A static server over a directory that is not there.
    let finished = run(&["static", "--dir", missing]);
    assert!(!finished.success(), "{}", finished.render());
    assert!(finished.stderr.contains(missing), "{}", finished.render());

    // No fixture directory at all.
    let finished = run(&["serve"]);
    assert!(!finished.success(), "{}", finished.render());
    assert!(
        finished.stderr.contains("--fixtures"),
        "{}",
        finished.render()
    );

    // Generator arguments.
    let out = dir.path().join("out");
    let out = path_str(&out);
    let finished = run(&[
        "generate",
        "--out",
        out,
        "repo",
        "--id",
        "x/y",
        "--size",
        "12parsecs",
    ]);
    assert!(!finished.success(), "{}", finished.render());
    assert!(
        finished.stderr.contains("12parsecs"),
        "{}",
        finished.render()
    );
    let finished = run(&[
        "generate", "--out", out, "repo", "--id", "x/y", "--type", "banana",
    ]);
    assert!(!finished.success(), "{}", finished.render());
    assert!(finished.stderr.contains("banana"), "{}", finished.render());

    // A port that is taken.
    let fixtures = dir.path().join("ok");
    run_ok(&[
        "generate",
        "--out",
        path_str(&fixtures),
        "many-small",
        "--id",
        "a/b",
        "--count",
        "1",
    ]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let finished = run(&["serve", "--fixtures", path_str(&fixtures), "--port", &port]);
    assert!(!finished.success(), "{}", finished.render());
    assert!(
        finished.stderr.contains("cannot listen"),
        "{}",
        finished.render()
    );
}
