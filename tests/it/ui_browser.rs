//! `hfdl ui` in a real browser: headless Chromium driven through chromedriver's WebDriver
//! (fantoccini), against `hfdl ui --no-open` and the mock Hub.
//!
//! Each test starts the server as a child with the environment of [`TestContext::hfdl`], opens
//! the URL it prints (which trades the secret for a cookie), and works the page as a person
//! would: buttons, inputs, a synthetic drag and drop (a `DataTransfer` with a `File`). Every
//! wait polls with a deadline. Screenshots of the screens go to `target/ui-screenshots/`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (./scripts/test installs them as
//! root); skipped with a message when missing, except under `CI=true`, where it fails. At most
//! two browsers run at once (a lock file per slot), whatever the test runner's parallelism.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType};
use serde_json::{Value, json};

use crate::support::{TestContext, UiServer, check_store};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one wait for the page may take.
const WAIT: Duration = Duration::from_secs(30);

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

/// `chromedriver`, when it and Chromium are installed.
fn chromedriver() -> Option<&'static str> {
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if Path::new(CHROMIUM).exists() && works("chromedriver") {
        return Some("chromedriver");
    }
    #[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
    let ci = std::env::var("CI").as_deref() == Ok("true");
    assert!(
        !ci,
        "CI must provide a browser: {CHROMIUM} and chromedriver (Debian: apt-get install chromium chromium-driver; ./scripts/test does as root)"
    );
    #[allow(clippy::print_stderr)] // a skipped test must say so in the output
    {
        eprintln!(
            "SKIPPED: the browser tests need {CHROMIUM} and chromedriver: sudo apt-get install chromium chromium-driver"
        );
    }
    None
}

/// `hfdl ui --no-open` for the project of `ctx`.
fn start_ui(ctx: &TestContext) -> UiServer {
    UiServer::start(ctx.hfdl(), ctx.root.path().join("ui.stderr"))
}

/// One of the two browser slots, held for a test's duration (an OS file lock, released when
/// the process ends, however it ends).
struct Slot(#[allow(dead_code)] fs_err::File);

fn browser_slot() -> Slot {
    let deadline = Instant::now() + Duration::from_mins(4);
    loop {
        for n in 0..2 {
            let path = std::env::temp_dir().join(format!("hfdl-ui-browser-slot-{n}.lock"));
            let file = fs_err::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .unwrap();
            if file.file().try_lock().is_ok() {
                return Slot(file);
            }
        }
        assert!(Instant::now() < deadline, "no browser slot came free");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver and a headless Chromium session.
struct Browser {
    driver: Child,
    _profile: tempfile::TempDir,
    _slot: Slot,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn start_browser(driver_program: &str) -> (Browser, Client) {
    let slot = browser_slot();
    let profile = tempfile::tempdir().unwrap();
    let mut last_error = String::new();
    // A port picked free can be taken before chromedriver binds it: try a few.
    for _ in 0..3 {
        let port = free_port();
        let mut driver = Command::new(driver_program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut up = false;
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            if driver.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !up {
            let _ = driver.kill();
            let _ = driver.wait();
            last_error = format!("chromedriver did not listen on port {port} within 20 s");
            continue;
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--window-size=1280,900",
                    "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let session = tokio::time::timeout(
            Duration::from_mins(1),
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await;
        match session {
            Ok(Ok(client)) => {
                let browser = Browser {
                    driver,
                    _profile: profile,
                    _slot: slot,
                };
                return (browser, client);
            }
            Ok(Err(error)) => last_error = format!("no WebDriver session: {error}"),
            Err(_) => last_error = "no WebDriver session within 60 s".into(),
        }
        let _ = driver.kill();
        let _ = driver.wait();
    }
    panic!("cannot start the browser: {last_error}");
}

/// Runs `test` with a browser (on a runtime of its own: the mock Hub has another), and closes
/// the browser whatever happens (a failed assertion included) before reporting.
fn with_browser<F, Fut>(test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(driver) = chromedriver() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (browser, client) = start_browser(driver).await;
        let outcome = std::panic::AssertUnwindSafe(test(client.clone()))
            .catch_unwind()
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        drop(browser);
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// Where the screenshots go.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots")
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    fs_err::create_dir_all(screenshot_dir()).unwrap();
    fs_err::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Runs `script` (a function body; `arguments` are `args`) in the page.
async fn js(client: &Client, script: &str, args: Vec<Value>) -> Value {
    client
        .execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Polls `script` until it returns something truthy, and returns that; fails after `WAIT`
/// with the page's text and a screenshot.
async fn wait_until(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let value = js(client, script, vec![]).await;
        if truthy(&value) {
            return value;
        }
        if Instant::now() > deadline {
            let text = js(
                client,
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await;
            screenshot(client, &format!("failed-{}", what.replace([' ', '/'], "-"))).await;
            panic!(
                "timed out after {WAIT:?} waiting until {what}; the page says:\n{}",
                text.as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element `selector` finds; again if the page re-rendered it in between (a table
/// redrawn when the upstream check arrives).
async fn click(client: &Client, selector: &str) {
    let mut attempts = 0;
    loop {
        let clicked = match client.find(Locator::Css(selector)).await {
            Ok(element) => element.click().await,
            Err(error) => Err(error),
        };
        match clicked {
            Ok(()) => return,
            Err(error) if attempts < 5 && error.to_string().contains("stale element") => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("cannot click {selector}: {error}"),
        }
    }
}

async fn text_of(client: &Client, selector: &str) -> String {
    let value = js(
        client,
        "const el = document.querySelector(arguments[0]); return el ? el.innerText : null;",
        vec![json!(selector)],
    )
    .await;
    value
        .as_str()
        .unwrap_or_else(|| panic!("no element {selector}"))
        .to_owned()
}

/// Opens the page through the URL `hfdl ui` printed and waits until it has loaded its session.
async fn open(client: &Client, ui: &UiServer) {
    client.goto(&ui.url).await.expect("open the page");
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.as_str(),
        format!("{}/", ui.origin),
        "the secret leaves the address bar"
    );
    wait_until(
        client,
        "the page is ready",
        "return document.body.dataset.ready === 'true'",
    )
    .await;
}

/// Shows a screen through its link in the navigation.
async fn screen(client: &Client, name: &str) {
    click(client, &format!("nav a[data-screen='{name}']")).await;
    wait_until(
        client,
        &format!("the {name} screen shows"),
        &format!("return !document.getElementById('screen-{name}').hidden"),
    )
    .await;
}

/// Clicks `button`, which starts a job shown in `container`, and waits until the page follows
/// the new job.
async fn start_job(client: &Client, button: &str, container: &str) {
    let before = js(
        client,
        "return document.querySelector(arguments[0]).dataset.job || ''",
        vec![json!(container)],
    )
    .await;
    click(client, button).await;
    wait_until(
        client,
        &format!("a new job shows in {container}"),
        &format!(
            "const job = document.querySelector('{container}').dataset.job || ''; return job && job !== {before};"
        ),
    )
    .await;
}

/// Waits until the job shown in `container` ends; returns `ok` or `failed`.
async fn job_end(client: &Client, container: &str) -> String {
    let state = wait_until(
        client,
        &format!("the job in {container} ends"),
        &format!("return document.querySelector('{container}').dataset.state || ''"),
    )
    .await;
    state.as_str().unwrap().to_owned()
}

/// Every file bar of a job: `[label, aria-valuenow]`.
async fn bars(client: &Client, container: &str) -> Vec<(String, u64)> {
    let value = js(
        client,
        "return [...document.querySelectorAll(arguments[0] + ' li.file')].map((row) => [
            row.querySelector('.file-label').innerText.trim(),
            Number(row.querySelector('[role=progressbar]').getAttribute('aria-valuenow')),
        ]);",
        vec![json!(container)],
    )
    .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The report a job's final event carried, from the page's "Report (JSON)".
async fn job_report(client: &Client, container: &str) -> Value {
    let text = js(
        client,
        "return document.querySelector(arguments[0]).textContent",
        vec![json!(format!("{container} details.raw pre"))],
    )
    .await;
    serde_json::from_str(text.as_str().unwrap()).unwrap()
}

/// Drops a file named `name` holding `text` on `selector`, as a person dragging it from a file
/// manager: dragenter, dragover, drop, with a DataTransfer carrying a File.
async fn drop_file(client: &Client, selector: &str, name: &str, text: &str) {
    js(
        client,
        "const [selector, name, text] = arguments;
        const target = document.querySelector(selector);
        const data = new DataTransfer();
        data.items.add(new File([text], name, { type: 'text/plain' }));
        for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
        }
        return true;",
        vec![json!(selector), json!(name), json!(text)],
    )
    .await;
}

/// Adds `acme/big`: `count` LFS files of `size` bytes.
fn big_repo(ctx: &TestContext, count: usize, size: u64) -> String {
    let fixtures = ctx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, "acme/big", RepoOptions::default())
        .unwrap();
    let files = (0..count)
        .map(|i| FileChange::generated(&format!("part-{i:02}.safetensors"), size, i as u64 + 40))
        .collect();
    fixtures
        .commit(RepoType::Model, "acme/big", "main", "weights", files)
        .unwrap();
    "[models.big]\nrepo = \"acme/big\"\n".to_owned()
}

#[test]
fn ui_browser_every_screen_shows_the_project() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest(&format!(
        "{TINY}\n[models.tiny-config]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n\n\
         [models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n"
    ));
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    // An entry not locked yet, and a new commit upstream: tiny and tiny-config drift.
    fs_err::write(
        ctx.project.join("models.toml"),
        format!(
            "{}\n[models.later]\nrepo = \"acme/tiny\"\ninclude = [\"onnx/\"]\n",
            ctx.read("models.toml")
        ),
    )
    .unwrap();
    ctx.hub
        .fixtures()
        .commit(
            RepoType::Model,
            "acme/tiny",
            "main",
            "bigger config",
            vec![FileChange::regular(
                "config.json",
                br#"{"hidden_size": 16}"#.to_vec(),
            )],
        )
        .unwrap();
    let ui = start_ui(ctx);
    with_browser(|c| async move {
        open(&c, &ui).await;
        // Project: every model, its state, commit, size; the drift arrives after.
        wait_until(
            &c,
            "the models are listed",
            "return document.querySelectorAll('#models-body tr').length === 4",
        )
        .await;
        let states = js(
            &c,
            "return Object.fromEntries([...document.querySelectorAll('#models-body tr')]
                .map((tr) => [tr.dataset.model, tr.dataset.state]));",
            vec![],
        )
        .await;
        assert_eq!(
            states,
            json!({"tiny": "present", "tiny-config": "present", "squad": "present", "later": "not-locked"})
        );
        wait_until(
            &c,
            "the drift shows",
            "return document.querySelector('#models-body tr[data-model=tiny] button[aria-label^=Upgrade]')",
        )
        .await;
        let row = text_of(&c, "#models-body tr[data-model=tiny]").await;
        assert!(
            row.contains("acme/tiny") && row.contains("outdated"),
            "{row}"
        );
        let status: Value = serde_json::from_slice(&ctx.run(&["status", "--json"]).stdout).unwrap();
        let short = status["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "tiny")
            .unwrap()["commit"]
            .as_str()
            .unwrap()[..7]
            .to_owned();
        assert!(row.contains(&short), "the short commit {short}: {row}");
        screenshot(&c, "project").await;

        // Keyboard: Tab reaches the navigation, Enter follows a link; focus is visible.
        js(&c, "document.activeElement.blur(); return true;", vec![]).await;
        let mut reached = false;
        for _ in 0..12 {
            c.active_element()
                .await
                .unwrap()
                .send_keys("\u{E004}")
                .await
                .unwrap();
            let focused = js(
                &c,
                "return document.activeElement.dataset.screen || ''",
                vec![],
            )
            .await;
            if focused == json!("settings") {
                reached = true;
                break;
            }
        }
        assert!(reached, "Tab reaches the Settings link");
        let outline = js(
            &c,
            "return getComputedStyle(document.activeElement).outlineStyle",
            vec![],
        )
        .await;
        assert_eq!(outline, json!("solid"), "the focused link shows its focus");
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E007}")
            .await
            .unwrap();

        // Settings: each key, value and origin.
        wait_until(
            &c,
            "the settings are listed",
            "return document.querySelector('#settings-view tr[data-key=endpoint]')",
        )
        .await;
        let endpoint = text_of(&c, "#settings-view tr[data-key=endpoint]").await;
        assert!(
            endpoint.contains(&ctx.hub.endpoint()) && endpoint.contains("env HF_ENDPOINT"),
            "{endpoint}"
        );
        let jobs = text_of(&c, "#settings-view tr[data-key=jobs]").await;
        assert!(jobs.contains("default"), "{jobs}");
        screenshot(&c, "settings").await;

        // Outdated: the per-file diff and an Upgrade button.
        screen(&c, "outdated").await;
        wait_until(
            &c,
            "the outdated report shows",
            "return document.querySelector('#outdated-list article[data-model=tiny] details.diff')",
        )
        .await;
        let tiny = text_of(&c, "#outdated-list article[data-model=tiny]").await;
        assert!(
            tiny.contains("config.json") && tiny.contains("Upgrade"),
            "{tiny}"
        );
        screenshot(&c, "outdated").await;
        // Upgrade tiny from there: the lock moves to the new commit and the file arrives.
        start_job(
            &c,
            "#outdated-list article[data-model=tiny] button[aria-label='Upgrade tiny']",
            "#upgrade-job",
        )
        .await;
        assert_eq!(job_end(&c, "#upgrade-job").await, "ok");
        screenshot(&c, "upgrade").await;
        wait_until(
            &c,
            "tiny is up to date",
            "const tiny = document.querySelector('#outdated-list article[data-model=tiny]');
            return tiny && tiny.classList.contains('drift-up-to-date');",
        )
        .await;

        // Store: a bar per repository and per model; shared blobs counted once.
        screen(&c, "store").await;
        wait_until(
            &c,
            "the store chart shows",
            "return document.querySelectorAll('#store-view li.bar-row').length >= 5",
        )
        .await;
        let store = text_of(&c, "#store-view").await;
        assert!(
            store.contains("acme/tiny") && store.contains("acme/squad") && store.contains("shared"),
            "{store}"
        );
        let widths = js(
            &c,
            "return [...document.querySelectorAll('#store-view .seg.own')].map((s) => s.style.width)",
            vec![],
        )
        .await;
        assert!(
            widths.as_array().unwrap().iter().any(|w| w == "100%"),
            "the largest bar is full: {widths}"
        );
        screenshot(&c, "store").await;

        // Doctor: the checks with their status and fix.
        screen(&c, "doctor").await;
        wait_until(
            &c,
            "the checks show",
            "return document.querySelector('#doctor-view tr[data-check=store]')",
        )
        .await;
        let doctor = text_of(&c, "#doctor-view").await;
        assert!(
            doctor.contains("writable") && doctor.contains("hfdl login"),
            "{doctor}"
        );
        screenshot(&c, "doctor").await;

        // Remove squad (confirmed in a dialog), then GC: a dry run, then the real thing.
        screen(&c, "project").await;
        click(
            &c,
            "#models-body tr[data-model=squad] button[aria-label='Remove squad']",
        )
        .await;
        wait_until(
            &c,
            "the dialog opens",
            "return document.getElementById('confirm').open",
        )
        .await;
        screenshot(&c, "remove-confirm").await;
        click(&c, "#confirm-ok").await;
        wait_until(
            &c,
            "squad is gone",
            "return document.querySelectorAll('#models-body tr').length === 3",
        )
        .await;
        assert!(!ctx.read("models.toml").contains("squad"));
        screen(&c, "gc").await;
        click(&c, "#gc-dry").await;
        wait_until(
            &c,
            "the dry run shows",
            "return !document.getElementById('gc-run').hidden",
        )
        .await;
        let gc = text_of(&c, "#gc-view").await;
        assert!(
            gc.contains("Would free") && gc.contains("acme/squad"),
            "{gc}"
        );
        assert!(
            ctx.repo_dir("datasets--acme--squad").exists(),
            "a dry run deletes nothing"
        );
        screenshot(&c, "gc-dry-run").await;
        click(&c, "#gc-run").await;
        wait_until(
            &c,
            "the dialog opens",
            "return document.getElementById('confirm').open",
        )
        .await;
        click(&c, "#confirm-ok").await;
        wait_until(
            &c,
            "the GC ran",
            "return document.getElementById('gc-view').innerText.includes('Freed')",
        )
        .await;
        assert!(!ctx.repo_dir("datasets--acme--squad").exists());
        screenshot(&c, "gc").await;

        // The dark theme, remembered across a reload.
        screen(&c, "project").await;
        click(&c, "#theme-toggle").await;
        c.refresh().await.unwrap();
        wait_until(
            &c,
            "the page is ready again",
            "return document.body.dataset.ready === 'true'
                && document.documentElement.dataset.theme === 'dark'
                && document.querySelectorAll('#models-body tr').length === 3",
        )
        .await;
        wait_until(
            &c,
            "the drift shows",
            "return !document.getElementById('models-body').innerText.includes('checking')",
        )
        .await;
        screenshot(&c, "project-dark").await;
    });
}

#[test]
fn ui_browser_sync_fills_every_bar_and_shows_the_summary() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest(&format!(
        "{TINY}\n[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n"
    ));
    let ui = start_ui(ctx);
    with_browser(|c| async move {
        open(&c, &ui).await;
        wait_until(
            &c,
            "the models are listed as not locked",
            "return document.querySelectorAll('#models-body tr[data-state=not-locked]').length === 2",
        )
        .await;
        screen(&c, "sync").await;
        start_job(&c, "#sync-start", "#sync-job").await;
        assert_eq!(job_end(&c, "#sync-job").await, "ok");
        let bars = bars(&c, "#sync-job").await;
        let mut labels: Vec<&str> = bars.iter().map(|(label, _)| label.as_str()).collect();
        labels.sort_unstable();
        assert_eq!(
            labels,
            [
                "README.md",
                "config.json",
                "model.safetensors",
                "plain_text/train-00000-of-00001.parquet",
                "tokenizer.json",
            ]
        );
        assert!(
            bars.iter().all(|(_, percent)| *percent == 100),
            "every bar at 100%: {bars:?}"
        );
        let overall = js(
            &c,
            "return document.querySelector('#sync-job .overall [role=progressbar]').getAttribute('aria-valuenow')",
            vec![],
        )
        .await;
        assert_eq!(overall, json!("100"));
        let summary = text_of(&c, "#sync-job dl.summary").await;
        assert!(summary.contains("5 downloaded"), "{summary}");
        let report = job_report(&c, "#sync-job").await;
        assert_eq!(report["summary"]["downloaded_files"], json!(5));
        assert!(check_store(&ctx.project.join("models.lock"), &ctx.cache).complete());
        screenshot(&c, "sync").await;

        // The Project screen shows the result.
        screen(&c, "project").await;
        wait_until(
            &c,
            "both models are present",
            "return document.querySelectorAll('#models-body tr[data-state=present]').length === 2",
        )
        .await;
    });
}

#[test]
fn ui_browser_a_slow_sync_is_cancelled_and_resumed() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest(&big_repo(ctx, 2, 4 << 20));
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Slow {
            bytes_per_sec: 256 << 10,
        },
        times: None,
    });
    let ui = start_ui(ctx);
    with_browser(|c| async move {
        open(&c, &ui).await;
        screen(&c, "sync").await;
        start_job(&c, "#sync-start", "#sync-job").await;
        wait_until(
            &c,
            "a bar moves",
            "return [...document.querySelectorAll('#sync-job li.file [role=progressbar]')]
                .some((bar) => Number(bar.getAttribute('aria-valuenow')) >= 5)",
        )
        .await;
        let stats = text_of(&c, "#sync-job li.file .file-stats").await;
        assert!(
            stats.contains("/s") && stats.contains("eta"),
            "speed and ETA per file: {stats}"
        );
        screenshot(&c, "sync-running").await;

        // Meanwhile, the store is busy: GC says so, with the code and help.
        screen(&c, "gc").await;
        click(&c, "#gc-dry").await;
        wait_until(
            &c,
            "the GC error shows",
            "return document.querySelector('#gc-error .error')",
        )
        .await;
        let error = text_of(&c, "#gc-error").await;
        assert!(
            error.contains("job-running") && error.contains("help:"),
            "{error}"
        );

        screen(&c, "sync").await;
        click(&c, "#sync-job button.cancel").await;
        assert_eq!(job_end(&c, "#sync-job").await, "failed");
        let error = text_of(&c, "#sync-job .error").await;
        assert!(error.contains("cancelled"), "{error}");
        screenshot(&c, "sync-cancelled").await;
        let blobs = ctx.repo_dir("models--acme--big").join("blobs");
        let kept = crate::support::tree(&blobs);
        assert!(
            kept.contains(".incomplete"),
            "the partial files stay: {kept}"
        );

        // Again at full speed: it resumes where it stopped.
        ctx.hub.clear_faults();
        start_job(&c, "#sync-start", "#sync-job").await;
        assert_eq!(job_end(&c, "#sync-job").await, "ok");
        let report = job_report(&c, "#sync-job").await;
        assert!(
            report["summary"]["resumed_bytes"].as_u64().unwrap() > 0,
            "{report}"
        );
        assert!(
            bars(&c, "#sync-job").await.iter().all(|(_, p)| *p == 100),
            "every bar at 100%"
        );
        assert!(check_store(&ctx.project.join("models.lock"), &ctx.cache).complete());
        screenshot(&c, "sync-resumed").await;
    });
}

#[test]
fn ui_browser_a_dropped_manifest_is_checked_with_its_diagnostic() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest(TINY);
    let ui = start_ui(ctx);
    with_browser(|c| async move {
        open(&c, &ui).await;
        drop_file(
            &c,
            "#dropzone",
            "models.toml",
            "[models.a]\nrepo = \"acme/tiny\"\nincldue = [\"*.json\"]\n",
        )
        .await;
        wait_until(
            &c,
            "the diagnostic shows",
            "return document.querySelector('#manifest-check .check-error pre.diagnostic')",
        )
        .await;
        let check = text_of(&c, "#manifest-check").await;
        assert!(
            check.contains("line 3") && check.contains("did you mean `include`?"),
            "{check}"
        );
        assert!(check.contains("manifest-invalid"), "{check}");
        let rendered = text_of(&c, "#manifest-check pre.diagnostic").await;
        assert!(
            rendered.contains("incldue = [\"*.json\"]") && rendered.contains("unknown key"),
            "{rendered}"
        );
        screenshot(&c, "manifest-invalid").await;
        assert_eq!(ctx.read("models.toml"), TINY, "checking changes nothing");

        drop_file(
            &c,
            "#dropzone",
            "models.toml",
            &format!("{TINY}\n[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n"),
        )
        .await;
        wait_until(
            &c,
            "the manifest is valid",
            "return document.querySelector('#manifest-check .check-ok')",
        )
        .await;
        let check = text_of(&c, "#manifest-check").await;
        assert!(
            check.contains("valid") && check.contains("2 models"),
            "{check}"
        );
        screenshot(&c, "manifest-valid").await;
    });
}

#[test]
fn ui_browser_a_model_is_added_from_a_url_with_the_file_picker() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest("");
    let ui = start_ui(ctx);
    let url = format!("{}/acme/tiny/tree/main/onnx", ctx.hub.endpoint());
    with_browser(|c| async move {
        open(&c, &ui).await;
        screen(&c, "add").await;
        c.find(Locator::Css("#add-ref"))
            .await
            .unwrap()
            .send_keys(&url)
            .await
            .unwrap();
        click(&c, "#add-lookup").await;
        wait_until(
            &c,
            "the file picker shows",
            "return document.querySelector('#add-info fieldset.picker input[data-path]')",
        )
        .await;
        // The URL's folder is preselected, the rest not.
        let checked = js(
            &c,
            "return [...document.querySelectorAll('#add-info input[data-path]')]
                .filter((b) => b.checked).map((b) => b.dataset.path)",
            vec![],
        )
        .await;
        assert_eq!(checked, json!(["onnx/model.onnx"]));
        click(&c, "#add-info input[data-path='config.json']").await;
        let total = text_of(&c, "#add-total").await;
        let config = ctx.tiny_file("config.json").size;
        let onnx = ctx.tiny_file("onnx/model.onnx").size;
        assert!(total.contains("2 files"), "{total}");
        let patterns = text_of(&c, "#add-patterns").await;
        assert_eq!(patterns, r#"["onnx/","config.json"]"#);
        screenshot(&c, "add-picker").await;
        c.find(Locator::Css("#add-name"))
            .await
            .unwrap()
            .send_keys("tiny-onnx")
            .await
            .unwrap();
        start_job(&c, "#add-submit", "#add-job").await;
        assert_eq!(job_end(&c, "#add-job").await, "ok");
        let bars = bars(&c, "#add-job").await;
        assert!(
            bars.len() == 2 && bars.iter().all(|(_, p)| *p == 100),
            "{bars:?}"
        );
        let manifest = ctx.read("models.toml");
        assert!(
            manifest.contains("[models.tiny-onnx]")
                && manifest.contains("acme/tiny")
                && manifest.contains(r#""onnx/""#)
                && manifest.contains(r#""config.json""#),
            "{manifest}"
        );
        let lock = ctx.read("models.lock");
        assert!(lock.contains("onnx/model.onnx") && !lock.contains("model.safetensors"));
        assert!(check_store(&ctx.project.join("models.lock"), &ctx.cache).complete());
        let report = job_report(&c, "#add-job").await;
        assert_eq!(
            report["summary"]["downloaded_bytes"],
            json!(config + onnx),
            "{report}"
        );
        screenshot(&c, "add").await;
    });
}

#[test]
fn ui_browser_a_corrupted_blob_is_found_and_repaired_from_verify() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest(TINY);
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let weights = ctx.tiny_file("model.safetensors");
    let blob = ctx
        .repo_dir("models--acme--tiny")
        .join("blobs")
        .join(weights.sha256.as_ref().unwrap());
    let mut bytes = fs_err::read(&blob).unwrap();
    bytes[1000] ^= 0xff;
    fs_err::write(&blob, bytes).unwrap();
    let ui = start_ui(ctx);
    with_browser(|c| async move {
        open(&c, &ui).await;
        screen(&c, "verify").await;
        start_job(&c, "#verify-start", "#verify-job").await;
        job_end(&c, "#verify-job").await;
        wait_until(
            &c,
            "the problem is listed",
            "return document.querySelector('#verify-job table.problems')",
        )
        .await;
        let problems = text_of(&c, "#verify-job table.problems").await;
        assert!(
            problems.contains("model.safetensors") && problems.contains("modified"),
            "{problems}"
        );
        wait_until(
            &c,
            "the Repair button shows",
            "return !document.getElementById('verify-repair').hidden",
        )
        .await;
        screenshot(&c, "verify-problems").await;
        start_job(&c, "#verify-repair", "#verify-job").await;
        assert_eq!(job_end(&c, "#verify-job").await, "ok");
        let report = job_report(&c, "#verify-job").await;
        assert_eq!(report["repair"]["removed_files"], json!(1), "{report}");
        assert!(check_store(&ctx.project.join("models.lock"), &ctx.cache).complete());
        screenshot(&c, "verify").await;
    });
}

#[test]
fn ui_browser_requests_without_the_token_are_refused() {
    let ctx = TestContext::new();
    let ctx = &ctx;
    ctx.write_manifest(TINY);
    let ui = start_ui(ctx);
    let origin = ui.origin.clone();
    let hub = ctx.hub.endpoint();
    with_browser(|c| async move {
        // Without the cookie (not signed in): the page itself is refused.
        c.goto(&format!("{origin}/")).await.unwrap();
        let text = text_of(&c, "body").await;
        assert!(text.contains("ui-unauthorized"), "{text}");

        open(&c, &ui).await;
        // The page's own fetch without the X-Hfdl-Token header: a change is refused even with
        // the cookie (403), a read without any credential too (401).
        let answers = js(
            &c,
            "const post = await fetch('/api/remove', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'tiny' }) });
            const anonymous = await fetch('/api/status', { credentials: 'omit' });
            const wrong = await fetch('/api/status', { headers: { 'X-Hfdl-Token': 'nope' } });
            return [[post.status, (await post.json()).error.code], [anonymous.status, (await anonymous.json()).error.code], [wrong.status, (await wrong.json()).error.code]];",
            vec![],
        )
        .await;
        assert_eq!(
            answers,
            json!([
                [403, "ui-forbidden"],
                [401, "ui-unauthorized"],
                [401, "ui-unauthorized"]
            ])
        );
        // With the header (what the page does), it works.
        let ok = js(
            &c,
            "const token = (await (await fetch('/api/session')).json()).token;
            const answer = await fetch('/api/status', { headers: { 'X-Hfdl-Token': token } });
            return answer.status;",
            vec![],
        )
        .await;
        assert_eq!(ok, json!(200));
        assert!(ctx.read("models.toml").contains("[models.tiny]"));

        // Another origin (the mock Hub's port: same site, so the SameSite cookie goes along)
        // cannot make the server change anything.
        c.goto(&format!("{hub}/api/models/acme/tiny"))
            .await
            .unwrap();
        let sent = js(
            &c,
            "const [origin] = arguments;
            try {
                await fetch(origin + '/api/remove', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'tiny' }) });
            } catch (e) {}
            try {
                const answer = await fetch(origin + '/api/session', { credentials: 'include' });
                return 'read: ' + answer.status;
            } catch (e) {
                return 'blocked';
            }",
            vec![json!(origin)],
        )
        .await;
        assert_eq!(
            sent,
            json!("blocked"),
            "no CORS: another origin reads nothing"
        );
        assert!(
            ctx.read("models.toml").contains("[models.tiny]"),
            "a cross-origin request removed nothing"
        );
    });
}
