//! `hfdl ui` (issue #18), the server: `hfdl ui --no-open` runs as a child against the mock Hub,
//! and these tests talk to it over HTTP as the page does. Every security rule (the secret, the
//! cookie exchange, the Host check, the token header and Origin on changes, no CORS, the
//! security headers), every endpoint against what the command line prints with `--json`, and
//! the jobs: progress streamed as server-sent events, one job at a time, cancellation, and a
//! clean exit on SIGINT during a job.

use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType};
use serde_json::{Value, json};

use crate::support::{TOKEN, TestContext, UiServer, check_store, wait_for_partial};

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

/// A running `hfdl ui --no-open` and a client for it.
struct Ui {
    server: UiServer,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl std::ops::Deref for Ui {
    type Target = UiServer;

    fn deref(&self) -> &UiServer {
        &self.server
    }
}

/// One answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The `error.code` of an error answer.
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Ui {
    fn start(ctx: &TestContext) -> Ui {
        // The Hub token is set: it must never reach the page.
        let mut command = ctx.hfdl();
        command.env("HF_TOKEN", TOKEN);
        Ui {
            server: UiServer::start(command, ctx.root.path().join("ui.stderr")),
            runtime: tokio::runtime::Runtime::new().unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn base(&self) -> String {
        self.origin.clone()
    }

    /// Sends the request and reads the answer; no answer ever allows another origin.
    fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.runtime.block_on(async {
            let response = tokio::time::timeout(Duration::from_mins(1), request.send())
                .await
                .expect("an answer within a minute")
                .expect("the request");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap_or_default();
            for (name, _) in &headers {
                assert!(
                    !name.as_str().starts_with("access-control-"),
                    "no CORS header, ever: {headers:?}"
                );
            }
            Reply {
                status,
                headers,
                text,
            }
        })
    }

    fn get_with(&self, path: &str, headers: &[(&str, String)]) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.base()));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(request)
    }

    /// A GET as the page sends it (the token in the header).
    fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[("x-hfdl-token", self.secret.clone())])
    }

    fn post_with(&self, path: &str, body: &Value, headers: &[(&str, String)]) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base()))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(request)
    }

    /// A POST as the page sends it (the token in the header, its own Origin).
    fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(
            path,
            body,
            &[
                ("x-hfdl-token", self.secret.clone()),
                ("origin", self.base()),
            ],
        )
    }

    /// Starts a job; its id.
    fn start_job(&self, job: &Value) -> String {
        let reply = self.post("/api/jobs", job);
        assert_eq!(reply.status, 202, "{reply:?}");
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// The whole event stream of a job (it ends after `done`): `(event, data)` pairs.
    fn events(&self, id: &str) -> Vec<(String, Value)> {
        let reply = self.get(&format!("/api/jobs/{id}/events"));
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(
            reply
                .header("content-type")
                .starts_with("text/event-stream"),
            "{reply:?}"
        );
        let mut events = Vec::new();
        for block in reply.text.split("\n\n") {
            let (mut name, mut data) = (None, String::new());
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            if let Some(name) = name {
                events.push((name, serde_json::from_str(&data).unwrap()));
            }
        }
        let done: Vec<_> = events.iter().filter(|(name, _)| name == "done").collect();
        assert_eq!(done.len(), 1, "exactly one done, at the end: {events:?}");
        assert_eq!(events.last().unwrap().0, "done", "{events:?}");
        events
    }

    /// The `done` data of a job's stream.
    fn done(&self, id: &str) -> Value {
        self.events(id).pop().unwrap().1
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits at most `within` for the exit.
    fn finish(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.server.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "hfdl ui still runs after {within:?}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// stdout of `hfdl ARGS --json` as JSON.
fn cli_json(ctx: &TestContext, args: &[&str]) -> Value {
    let output = ctx.hfdl().args(args).arg("--json").output().unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", ctx.render(&output)))
}

/// Adds `acme/big` with two LFS files of 2 MiB, and throttles file bodies: a sync takes
/// seconds. Returns the manifest.
fn slow_big_repo(ctx: &TestContext) -> String {
    let fixtures = ctx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, "acme/big", RepoOptions::default())
        .unwrap();
    let files = (0..2)
        .map(|i| FileChange::generated(&format!("part-{i}.safetensors"), 2 << 20, i + 40))
        .collect();
    fixtures
        .commit(RepoType::Model, "acme/big", "main", "weights", files)
        .unwrap();
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Slow {
            bytes_per_sec: 256 << 10,
        },
        times: None,
    });
    "[models.big]\nrepo = \"acme/big\"\n".to_owned()
}

#[test]
fn the_ui_answers_only_its_own_page_with_the_secret() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let ui = Ui::start(&ctx);
    let secret = ui.secret.clone();
    let cookie = ("cookie", format!("hfdl_ui_token_{}={secret}", ui.port));

    // No secret, a wrong one (header, cookie, URL): 401 with a JSON error.
    for reply in [
        ui.get_with("/api/status", &[]),
        ui.get_with("/", &[]),
        ui.get_with("/api/status", &[("x-hfdl-token", "0".repeat(64))]),
        ui.get_with(
            "/api/status",
            &[(
                "cookie",
                format!("hfdl_ui_token_{}={}", ui.port, "f".repeat(64)),
            )],
        ),
        ui.get_with(&format!("/?token={}", "a".repeat(64)), &[]),
    ] {
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.code(), "ui-unauthorized", "{reply:?}");
        assert_eq!(reply.json()["error"]["exit_code"], 4, "{reply:?}");
        assert!(reply.json()["error"]["help"].is_string(), "{reply:?}");
    }

    // The URL's secret becomes a cookie, and the secret leaves the address bar.
    let reply = ui.get_with(&format!("/?token={secret}"), &[]);
    assert_eq!(reply.status, 303, "{reply:?}");
    assert_eq!(reply.header("location"), "/");
    let set_cookie = reply.header("set-cookie");
    assert!(
        set_cookie.starts_with(&format!("hfdl_ui_token_{}={secret};", ui.port)),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }

    // The cookie opens the page, its files and the API's GETs.
    let page = ui.get_with("/", std::slice::from_ref(&cookie));
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(
        page.header("content-security-policy"),
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    for (path, content_type) in [
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "text/css; charset=utf-8"),
    ] {
        let reply = ui.get_with(path, std::slice::from_ref(&cookie));
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.header("content-type"), content_type, "{path}");
    }
    let status = ui.get_with("/api/status", std::slice::from_ref(&cookie));
    assert_eq!(status.status, 200, "{status:?}");
    assert_eq!(status.header("cache-control"), "no-store");
    assert_eq!(status.header("x-content-type-options"), "nosniff");
    let session = ui
        .get_with("/api/session", std::slice::from_ref(&cookie))
        .json();
    assert_eq!(session["token"], secret.as_str());
    assert_eq!(session["version"], env!("CARGO_PKG_VERSION"));
    let manifest = fs_err::canonicalize(ctx.project.join("models.toml")).unwrap();
    assert_eq!(
        fs_err::canonicalize(session["manifest"].as_str().unwrap()).unwrap(),
        manifest
    );
    assert_eq!(
        fs_err::canonicalize(session["project_dir"].as_str().unwrap()).unwrap(),
        fs_err::canonicalize(&ctx.project).unwrap()
    );

    // A foreign Host (DNS rebinding) is refused, even with the secret; localhost is fine.
    let evil = ui.get_with(
        "/api/status",
        &[
            ("x-hfdl-token", secret.clone()),
            ("host", format!("evil.example:{}", ui.port)),
        ],
    );
    assert_eq!(evil.status, 403, "{evil:?}");
    assert_eq!(evil.code(), "ui-forbidden");
    let local = ui.get_with(
        "/api/status",
        &[
            ("x-hfdl-token", secret.clone()),
            ("host", format!("localhost:{}", ui.port)),
        ],
    );
    assert_eq!(local.status, 200, "{local:?}");

    // A change needs the header (not only the cookie) and the server's own Origin.
    let body = json!({ "dry_run": true });
    let own = ("origin", ui.base());
    for (headers, why) in [
        (vec![cookie.clone(), own.clone()], "cookie only"),
        (
            vec![
                ("x-hfdl-token", secret.clone()),
                ("origin", "http://evil.example".to_owned()),
            ],
            "foreign origin",
        ),
        (vec![("x-hfdl-token", secret.clone())], "no origin"),
        (
            vec![
                ("x-hfdl-token", secret.clone()),
                ("origin", "null".to_owned()),
            ],
            "opaque origin",
        ),
    ] {
        let reply = ui.post_with("/api/gc", &body, &headers);
        assert_eq!(reply.status, 403, "{why}: {reply:?}");
        assert_eq!(reply.code(), "ui-forbidden", "{why}");
    }
    let reply = ui.post_with(
        "/api/gc",
        &body,
        &[("x-hfdl-token", "1".repeat(64)), ("origin", ui.base())],
    );
    assert_eq!(reply.status, 401, "a wrong header token: {reply:?}");
    let localhost = ui.post_with(
        "/api/gc",
        &body,
        &[
            ("x-hfdl-token", secret.clone()),
            ("host", format!("localhost:{}", ui.port)),
            ("origin", format!("http://localhost:{}", ui.port)),
        ],
    );
    assert_eq!(localhost.status, 200, "{localhost:?}");
    assert_eq!(ui.post("/api/gc", &body).status, 200);

    // A CORS preflight gets nothing that would allow it (checked for every answer in send()).
    let preflight = ui.send(
        ui.client
            .request(reqwest::Method::OPTIONS, format!("{}/api/gc", ui.base()))
            .header("origin", "http://evil.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-hfdl-token"),
    );
    assert!(preflight.status >= 400, "{preflight:?}");

    // Unknown paths and bad bodies say so, as the other errors do.
    let missing = ui.get("/api/nothing");
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "ui-not-found")
    );
    let missing = ui.get("/api/jobs/0123/events");
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "ui-not-found")
    );
    let bad = ui.post("/api/remove", &json!({ "nom": "tiny" }));
    assert_eq!((bad.status, bad.code().as_str()), (400, "usage"), "{bad:?}");
    assert_eq!(bad.json()["error"]["exit_code"], 2);
}

#[test]
fn every_endpoint_answers_what_the_command_line_prints_with_json() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    let ui = Ui::start(&ctx);
    let mut answers = Vec::new();

    let status = ui.get("/api/status");
    assert_eq!(status.status, 200, "{status:?}");
    assert_eq!(status.json(), cli_json(&ctx, &["status"]));
    let config = ui.get("/api/config");
    assert_eq!(config.json(), cli_json(&ctx, &["config", "list"]));
    let doctor = ui.get("/api/doctor");
    assert_eq!(doctor.status, 200, "{doctor:?}");
    assert!(doctor.json()["checks"].is_array(), "{doctor:?}");
    let outdated = ui.get("/api/outdated");
    assert_eq!(outdated.status, 200, "{outdated:?}");
    assert_eq!(outdated.json(), cli_json(&ctx, &["outdated"]));
    let gc = ui.post("/api/gc", &json!({ "dry_run": true }));
    assert_eq!(gc.json(), cli_json(&ctx, &["gc", "--dry-run"]));
    let info = ui.post(
        "/api/info",
        &json!({ "reference": "acme/tiny", "include": ["*.json"], "exclude": ["tokenizer*"] }),
    );
    assert_eq!(info.status, 200, "{info:?}");
    assert_eq!(
        info.json(),
        cli_json(
            &ctx,
            &[
                "info",
                "acme/tiny",
                "--files",
                "--include",
                "*.json",
                "--exclude",
                "tokenizer*"
            ]
        )
    );
    let missing = ui.post("/api/info", &json!({ "reference": "acme/nothing" }));
    assert_eq!(missing.code(), "repo-not-found", "{missing:?}");
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.json()["error"]["exit_code"], 1, "{missing:?}");
    answers.extend([status, config, doctor, outdated, gc, info]);

    // Nothing is in the store yet.
    let store = ui.get("/api/store").json();
    assert_eq!(store["total_bytes"], 0, "{store}");
    assert_eq!(store["repos"][0]["repo"], "acme/tiny", "{store}");
    assert_eq!(store["repos"][0]["models"], json!(["tiny"]), "{store}");

    // A sync job streams its progress, then done with the sync's report.
    let id = ui.start_job(&json!({ "kind": "sync" }));
    let events = ui.events(&id);
    let kinds: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "progress")
        .map(|(_, data)| data["event"].as_str().unwrap())
        .collect();
    for kind in ["planned", "task_started", "task_finished"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let done = &events.last().unwrap().1;
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(done["report"]["models"], 1, "{done}");
    assert_eq!(done["report"]["summary"]["downloaded_files"], 3, "{done}");
    assert!(check_store(&ctx.project.join("models.lock"), &ctx.cache).complete());
    assert_eq!(ui.get("/api/jobs/current").json(), json!({ "id": null }));
    // A late client gets the same stream.
    assert_eq!(ui.events(&id), events);

    // The chart's numbers: the three locked files, once.
    let store = ui.get("/api/store").json();
    let locked: u64 = ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .map(|path| ctx.tiny_file(path).size)
        .sum();
    assert_eq!(store["total_bytes"], locked, "{store}");
    assert_eq!(store["repos"][0]["bytes"], locked, "{store}");
    assert_eq!(
        store["models"],
        json!([{ "name": "tiny", "bytes": locked, "shared_bytes": 0 }])
    );
    assert_eq!(
        fs_err::canonicalize(store["store"].as_str().unwrap()).unwrap(),
        fs_err::canonicalize(&ctx.cache).unwrap()
    );

    // check-manifest: the names, or the diagnostic as the terminal shows it.
    let good = ui.post("/api/check-manifest", &json!({ "text": TINY }));
    assert_eq!(good.json(), json!({ "ok": true, "models": ["tiny"] }));
    let broken = "[models.tiny]\nrepo = \"acme/tiny\"\nrevison = \"main\"\n";
    let checked = ui
        .post(
            "/api/check-manifest",
            &json!({ "text": broken, "name": "dropped.toml" }),
        )
        .json();
    assert_eq!(checked["ok"], false, "{checked}");
    let error = &checked["error"];
    assert_eq!(error["code"], "manifest-invalid", "{checked}");
    assert_eq!(error["exit_code"], 2, "{checked}");
    assert_eq!(error["line"], 3, "{checked}");
    assert_eq!(error["column"], 1, "{checked}");
    let rendered = error["rendered"].as_str().unwrap();
    for part in ["dropped.toml:3:1", "revison = \"main\"", "revision"] {
        assert!(rendered.contains(part), "{part} in:\n{rendered}");
    }
    assert!(!rendered.contains('\u{1b}'), "no colour:\n{rendered}");
    let syntax = ui
        .post("/api/check-manifest", &json!({ "text": "[models.tiny\n" }))
        .json();
    assert_eq!(syntax["error"]["line"], 1, "{syntax}");
    assert!(
        syntax["error"]["rendered"]
            .as_str()
            .unwrap()
            .contains("models.toml:1:"),
        "{syntax}"
    );
    assert_eq!(
        ctx.read("models.toml"),
        TINY,
        "check-manifest writes nothing"
    );

    // remove: an unknown name fails as the command does; a known one is removed.
    let manifest = ctx.project.join("models.toml");
    let unknown = ui.post("/api/remove", &json!({ "name": "nope" }));
    assert_eq!(unknown.status, 404, "{unknown:?}");
    let cli = ctx
        .hfdl()
        .args(["remove", "nope", "--json", "--manifest"])
        .arg(std::path::absolute(&manifest).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        unknown.json(),
        serde_json::from_slice::<Value>(&cli.stdout).unwrap()
    );
    let removed = ui.post("/api/remove", &json!({ "name": "tiny" }));
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(removed.json()["removed"], json!(["tiny"]));
    assert!(!ctx.read("models.toml").contains("[models.tiny]"));
    answers.extend([removed]);

    // The Hub token of the environment never reaches the page.
    answers.push(ui.get("/api/session"));
    for answer in &answers {
        assert!(
            !answer.text.contains(TOKEN),
            "the Hub token leaked: {answer:?}"
        );
    }
}

#[test]
fn add_upgrade_and_verify_jobs_run_as_the_commands_do() {
    let ctx = TestContext::new();
    ctx.write_manifest("");
    let ui = Ui::start(&ctx);
    let id = ui.start_job(&json!({
        "kind": "add", "reference": "acme/tiny@v1.0", "name": "small", "include": ["*.json"],
    }));
    let events = ui.events(&id);
    let done = &events.last().unwrap().1;
    assert_eq!(done["ok"], true, "{events:?}");
    assert_eq!(done["report"]["summary"]["downloaded_files"], 2, "{done}");
    assert!(ctx.read("models.toml").contains("[models.small]"));
    assert!(events.iter().any(|(_, data)| {
        data["event"] == "status"
            && data["message"]
                .as_str()
                .unwrap()
                .starts_with("Added `small`")
    }));
    assert!(check_store(&ctx.project.join("models.lock"), &ctx.cache).complete());

    let done = ui.done(&ui.start_job(&json!({ "kind": "upgrade", "name": "small" })));
    assert_eq!(done["ok"], true, "{done}");
    let done = ui.done(&ui.start_job(&json!({ "kind": "verify", "names": ["small"] })));
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(done["report"]["ok"], true, "{done}");
    let done = ui.done(&ui.start_job(&json!({ "kind": "upgrade", "name": "nope" })));
    assert_eq!(done["ok"], false, "{done}");
    assert_eq!(done["error"]["code"], "unknown-model", "{done}");
    assert_eq!(done["error"]["exit_code"], 2, "{done}");
    let bad = ui.post("/api/jobs", &json!({ "kind": "dance" }));
    assert_eq!((bad.status, bad.code().as_str()), (400, "usage"), "{bad:?}");
}

#[test]
fn a_cancelled_job_ends_cancelled_one_job_runs_at_a_time_and_the_next_sync_resumes() {
    let ctx = TestContext::new();
    ctx.write_manifest(&slow_big_repo(&ctx));
    assert!(ctx.run(&["lock"]).status.success());
    let ui = Ui::start(&ctx);
    let id = ui.start_job(&json!({ "kind": "sync" }));
    wait_for_partial(&ctx.repo_dir("models--acme--big").join("blobs"), 64 << 10);

    // One job at a time; gc and remove wait for it too.
    assert_eq!(
        ui.get("/api/jobs/current").json(),
        json!({ "id": id, "kind": "sync" })
    );
    for reply in [
        ui.post("/api/jobs", &json!({ "kind": "verify" })),
        ui.post("/api/gc", &json!({ "dry_run": false })),
        ui.post("/api/remove", &json!({ "name": "big" })),
    ] {
        assert_eq!(reply.status, 409, "{reply:?}");
        assert_eq!(reply.code(), "job-running", "{reply:?}");
        assert_eq!(reply.json()["error"]["exit_code"], 1, "{reply:?}");
    }

    let cancelled = ui.post(&format!("/api/jobs/{id}/cancel"), &json!({}));
    assert_eq!(cancelled.status, 202, "{cancelled:?}");
    let done = ui.done(&id);
    assert_eq!(done["ok"], false, "{done}");
    assert_eq!(done["error"]["code"], "cancelled", "{done}");
    assert_eq!(done["error"]["exit_code"], 1, "{done}");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("partial file"),
        "{done}"
    );
    assert_eq!(ui.get("/api/jobs/current").json(), json!({ "id": null }));
    let lock = ctx.project.join("models.lock");
    assert!(check_store(&lock, &ctx.cache).wrong.is_empty());

    // The next sync resumes what the cancelled one kept.
    ctx.hub.clear_faults();
    let done = ui.done(&ui.start_job(&json!({ "kind": "sync" })));
    assert_eq!(done["ok"], true, "{done}");
    assert!(
        done["report"]["summary"]["resumed_bytes"].as_u64().unwrap() > 0,
        "{done}"
    );
    assert!(check_store(&lock, &ctx.cache).complete());
}

#[test]
fn sigint_during_a_job_cancels_it_exits_130_and_keeps_the_partial_download() {
    let ctx = TestContext::new();
    ctx.write_manifest(&slow_big_repo(&ctx));
    assert!(ctx.run(&["lock"]).status.success());
    let mut ui = Ui::start(&ctx);
    ui.start_job(&json!({ "kind": "sync" }));
    let blobs = ctx.repo_dir("models--acme--big").join("blobs");
    let partial = wait_for_partial(&blobs, 64 << 10);
    ui.signal("INT");
    let status = ui.finish(Duration::from_secs(15));
    assert_eq!(status.code(), Some(130), "{}", ui.stderr());
    assert!(
        ui.stderr().contains("interrupted: "),
        "says what it kept: {}",
        ui.stderr()
    );
    assert!(partial.exists(), "the partial download is kept");
    assert!(
        check_store(&ctx.project.join("models.lock"), &ctx.cache)
            .wrong
            .is_empty()
    );
}

#[test]
fn sigterm_without_a_job_exits_143() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let mut ui = Ui::start(&ctx);
    assert_eq!(ui.get("/api/jobs/current").json(), json!({ "id": null }));
    ui.signal("TERM");
    let status = ui.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "{}", ui.stderr());
}
