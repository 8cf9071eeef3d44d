//! Authentication end to end: `login`/`whoami`/`logout` with the token file and with the real OS
//! keyrings (the kernel keyring through `keyctl`, the Secret Service through `gnome-keyring-daemon`
//! inside `dbus-run-session`), token precedence, the hidden prompt on a real terminal, and proof
//! that the token never shows up in output, logs, written files or requests to the CDN.
//!
//! Keyring tests have `keyring` in their names: nextest runs them one at a time. Without the
//! system tools they print why they are skipped, except under `CI`, where they must run.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::support::{TOKEN, TestContext, json_error_code};

const GATED: &str = "[models.g]\nrepo = \"acme/gated\"\n";

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn login(command: &mut Command, token: &str) -> Output {
    command.args(["login", "--token-stdin"]);
    TestContext::run_with_stdin(command, token)
}

/// Whether `tool` is on the PATH; under CI its absence is a failure, elsewhere a skip.
#[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
fn have(tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools
        .iter()
        .filter(|tool| {
            !["/usr/bin", "/bin", "/usr/local/bin"]
                .iter()
                .any(|dir| Path::new(dir).join(tool).exists())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have {missing:?} (.ci/run installs them)"
    );
    #[allow(clippy::print_stderr)] // a skipped test must say so in the output
    {
        eprintln!(
            "SKIPPED: {missing:?} not installed (apt-get install keyutils gnome-keyring libsecret-tools dbus)"
        );
    }
    false
}

/// A sync into a fresh store of the gated repo: whether the stored login is used.
fn sync_gated_into(ctx: &TestContext, command: &mut Command, store: &str) -> Output {
    command
        .args(["sync", "--json", "--store"])
        .arg(ctx.root.path().join(store))
        .output()
        .unwrap()
}

#[test]
fn login_checks_the_token_keeps_it_in_the_token_file_and_logout_removes_it() {
    let ctx = TestContext::new();
    ctx.write_manifest(GATED);
    let token_file = ctx.root.path().join("hf-home").join("token");

    let refused = login(ctx.hfdl().arg("--json"), "hf_not_a_valid_token");
    assert_eq!(refused.status.code(), Some(4), "{}", ctx.render(&refused));
    assert_eq!(json_error_code(&refused), "invalid-token");
    assert!(!token_file.exists(), "a refused token is not stored");

    let output = login(&mut ctx.hfdl(), &format!("  {TOKEN}\n"));
    insta::assert_snapshot!(ctx.render(&output), @r"
    exit: 0
    --- stdout
    --- stderr
    warning: no OS keyring (the keyring is turned off (HFDL_KEYRING=none)); using the token file instead
    Logged in to [HUB] as tester (token `ci`, read); the token is kept in the token file [TMP]/hf-home/token
    ");
    assert_eq!(fs_err::read_to_string(&token_file).unwrap(), TOKEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&token_file), 0o600);
        assert_eq!(mode(token_file.parent().unwrap()), 0o700);
    }

    let me = ctx.run(&["whoami", "--json"]);
    assert!(me.status.success(), "{}", ctx.render(&me));
    let me = json(&me);
    assert_eq!(me["user"], "tester");
    assert_eq!(me["token_name"], "ci");
    assert_eq!(me["role"], "read");
    assert_eq!(me["source"], "token-file");

    let synced = sync_gated_into(&ctx, &mut ctx.hfdl(), "store-a");
    assert!(synced.status.success(), "{}", ctx.render(&synced));

    let output = ctx.run(&["logout"]);
    insta::assert_snapshot!(ctx.render(&output), @r"
    exit: 0
    --- stdout
    --- stderr
    Removed the token file [TMP]/hf-home/token
    ");
    assert!(!token_file.exists());
    let refused = sync_gated_into(&ctx, &mut ctx.hfdl(), "store-b");
    assert_eq!(refused.status.code(), Some(4), "{}", ctx.render(&refused));
    assert_eq!(json_error_code(&refused), "login-required");
    let again = ctx.run(&["logout"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to remove"),
        "{}",
        ctx.render(&again)
    );
}

#[test]
fn login_without_a_terminal_says_how_to_pipe_the_token() {
    let ctx = TestContext::new();
    let output = ctx
        .hfdl()
        .arg("login")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    insta::assert_snapshot!(ctx.render(&output), @r#"
    exit: 2
    --- stdout
    --- stderr
      × no terminal to ask for the token on
      help: pipe it in: `printf %s "$TOKEN" | hfdl login --token-stdin`
    "#);
    let empty = login(&mut ctx.hfdl(), "\n");
    assert_eq!(empty.status.code(), Some(2), "{}", ctx.render(&empty));
}

#[test]
fn whoami_without_a_token_says_how_to_log_in() {
    let ctx = TestContext::new();
    let output = ctx.run(&["whoami"]);
    insta::assert_snapshot!(ctx.render(&output), @r"
    exit: 4
    --- stdout
    --- stderr
      × no access token for [HUB]
      help: log in with `hfdl login` (the token is kept in the OS keyring), or set HF_TOKEN
    ");
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    let output = ctx.run(&["whoami", "--json"]);
    assert_eq!(json_error_code(&output), "not-logged-in");
}

#[test]
fn environment_tokens_win_over_the_stored_one_and_logout_says_they_remain() {
    let ctx = TestContext::new();
    assert!(login(&mut ctx.hfdl(), TOKEN).status.success());
    let me = ctx
        .hfdl()
        .args(["whoami", "--json"])
        .env("HF_TOKEN", "hf_wrong_but_first")
        .output()
        .unwrap();
    assert_eq!(
        me.status.code(),
        Some(4),
        "HF_TOKEN is used first: {}",
        ctx.render(&me)
    );
    assert_eq!(json_error_code(&me), "invalid-token");

    let me = ctx
        .hfdl()
        .args(["whoami", "--json"])
        .env("HUGGING_FACE_HUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(json(&me)["source"], "env:HUGGING_FACE_HUB_TOKEN");

    // HF_HUB_DISABLE_IMPLICIT_TOKEN keeps the token off ordinary requests, not off `whoami`.
    ctx.write_manifest(GATED);
    let implicit_off = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        .output()
        .unwrap();
    assert_eq!(json_error_code(&implicit_off), "login-required");
    let me = ctx
        .hfdl()
        .args(["whoami", "--json"])
        .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        .output()
        .unwrap();
    assert_eq!(json(&me)["user"], "tester");

    let output = ctx
        .hfdl()
        .arg("logout")
        .env("HF_TOKEN", TOKEN)
        .output()
        .unwrap();
    insta::assert_snapshot!(ctx.render(&output), @r"
    exit: 0
    --- stdout
    --- stderr
    Removed the token file [TMP]/hf-home/token
    HF_TOKEN is still set in the environment, so requests still carry that token; unset it to log out completely
    ");
}

#[test]
fn a_signed_in_user_without_access_is_told_to_accept_the_conditions() {
    let ctx = TestContext::new();
    ctx.hub
        .fixtures()
        .add_user(hfdl_mock_hub::UserSpec {
            name: "stranger".into(),
            token: "hf_stranger_token_000000000000000".into(),
            orgs: vec![],
            token_name: "laptop".into(),
            role: "read".into(),
            gated_access: vec![],
        })
        .unwrap();
    ctx.write_manifest(GATED);
    let output = ctx
        .hfdl()
        .args(["lock"])
        .env("HF_TOKEN", "hf_stranger_token_000000000000000")
        .output()
        .unwrap();
    // Metadata of a gated repo is public: the lock resolves; the files are refused at sync.
    assert!(output.status.success(), "{}", ctx.render(&output));
    let output = ctx
        .hfdl()
        .args(["sync"])
        .env("HF_TOKEN", "hf_stranger_token_000000000000000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "accept the conditions at {}/acme/gated while logged in as stranger",
            ctx.hub.endpoint()
        )),
        "{stderr}"
    );
    let json_output = ctx
        .hfdl()
        .args(["sync", "--json"])
        .env("HF_TOKEN", "hf_stranger_token_000000000000000")
        .output()
        .unwrap();
    assert_eq!(json_error_code(&json_output), "gated-repo");
}

#[test]
fn the_hidden_prompt_on_a_real_terminal_does_not_echo_the_token() {
    let ctx = TestContext::new();
    if !have(&["script"]) {
        return;
    }
    // `script` gives hfdl a real pseudo-terminal; what we write to its stdin is typed there.
    let template = ctx.hfdl();
    let mut child = Command::new("script")
        .env_clear()
        .envs(template.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("TERM", "dumb")
        .current_dir(&ctx.project)
        .args(["-q", "-e", "-c"])
        .arg(format!("{} login", env!("CARGO_BIN_EXE_hfdl")))
        .arg("/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                seen.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        })
    };
    // Type only once the prompt is up (and echo is off), as a person would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains("input hidden") {
        assert!(std::time::Instant::now() < deadline, "no prompt appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // rpassword prints the prompt, then turns echo off: give it ample time to do so.
    std::thread::sleep(std::time::Duration::from_secs(1));
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{TOKEN}\r").as_bytes()).unwrap();
        // Keep stdin open until hfdl is done: an early EOF would end the terminal session.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "hfdl login did not finish"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    reader.join().unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    {
        use std::io::Read as _;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
    }
    let output = Output {
        status,
        stdout: seen.lock().unwrap().clone(),
        stderr: stderr.into_bytes(),
    };
    let transcript = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{transcript}");
    assert!(
        transcript.contains("Hugging Face access token (input hidden"),
        "{transcript}"
    );
    assert!(transcript.contains("Logged in to"), "{transcript}");
    assert!(
        !transcript.contains(TOKEN),
        "the token was echoed: {transcript}"
    );
    assert_eq!(
        fs_err::read_to_string(ctx.root.path().join("hf-home/token")).unwrap(),
        TOKEN
    );
}

#[test]
fn the_token_never_appears_in_output_logs_files_or_cdn_requests() {
    let ctx = TestContext::new();
    ctx.write_manifest(&format!(
        "{GATED}\n[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.safetensors\", \"*.json\"]\n"
    ));
    let mut outputs = vec![login(ctx.hfdl().args(["-vvv"]), TOKEN)];
    for args in [
        &["-vvv", "whoami"][..],
        &["-vvv", "whoami", "--json"],
        &["-vvv", "lock", "--json"],
        &["-vvv", "sync"],
        &["-vvv", "sync", "--json"],
        &["-vvv", "status", "--json"],
        &["-vvv", "doctor"],
        &["-vvv", "doctor", "--json"],
    ] {
        outputs.push(
            ctx.hfdl()
                .args(args)
                .env("HFDL_LOG", "trace")
                .output()
                .unwrap(),
        );
    }
    // JSON logs on stderr and in a log file (scanned below with every other file), and
    // HFDL_LOG=trace on its own, which lets the HTTP libraries' own logs through.
    let log_file = ctx.root.path().join("logs").join("hfdl.log");
    for args in [&["sync"][..], &["sync", "--json"], &["whoami"]] {
        outputs.push(
            ctx.hfdl()
                .args(["-vvv", "--log-format", "json", "--log-file"])
                .arg(&log_file)
                .args(args)
                .output()
                .unwrap(),
        );
    }
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    outputs.push(
        ctx.hfdl()
            .args(["--log-format", "json", "sync"])
            .env("HFDL_LOG", "trace")
            .output()
            .unwrap(),
    );
    assert!(
        fs_err::read_to_string(&log_file)
            .unwrap()
            .contains("\"message\":\"request\""),
        "the log file holds the requests"
    );
    // Failures print the most context: an unknown repo and a refused token.
    ctx.write_manifest("[models.nope]\nrepo = \"acme/does-not-exist\"\n");
    outputs.push(
        ctx.hfdl()
            .args(["-vvv", "lock"])
            .env("HFDL_LOG", "trace")
            .output()
            .unwrap(),
    );
    for output in &outputs {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
        assert!(
            !text.contains(&TOKEN[3..]),
            "part of the token leaked:\n{text}"
        );
    }
    let token_file = ctx.root.path().join("hf-home").join("token");
    let mut pending = vec![ctx.root.path().to_path_buf()];
    let mut scanned = 0;
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file()
                && path != token_file
                && !path.starts_with(ctx.root.path().join("fixtures"))
            {
                let bytes = fs_err::read(&path).unwrap();
                scanned += 1;
                assert!(
                    !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                    "the token was written to {}",
                    path.display()
                );
            }
        }
    }
    assert!(
        scanned > 5,
        "the scan saw the project, the cache and the state"
    );
    let requests = ctx.hub.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.kind == hfdl_mock_hub::RequestKind::Cdn)
    );
    for request in &requests {
        if request.kind == hfdl_mock_hub::RequestKind::Cdn {
            assert_eq!(
                request.authorization, None,
                "token sent to the CDN: {request:?}"
            );
        } else if request.authorization.is_some() {
            assert_eq!(
                request.authorization.as_deref(),
                Some(format!("Bearer {TOKEN}").as_str())
            );
        }
    }
}

#[test]
fn doctor_reports_the_auth_state_without_the_secret() {
    let ctx = TestContext::new();
    let anonymous = ctx.run(&["doctor", "--json"]);
    assert!(anonymous.status.success(), "{}", ctx.render(&anonymous));
    let report = json(&anonymous);
    let find = |report: &serde_json::Value, name: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check in {report}"))
    };
    assert_eq!(find(&report, "token")["status"], "warn");
    assert_eq!(find(&report, "endpoint")["status"], "ok");
    assert_eq!(find(&report, "keyring")["status"], "warn");
    assert_eq!(find(&report, "store")["status"], "ok");

    let signed_in = ctx
        .hfdl()
        .args(["doctor", "--json"])
        .env("HF_TOKEN", TOKEN)
        .output()
        .unwrap();
    let token = find(&json(&signed_in), "token");
    assert_eq!(token["status"], "ok");
    let detail = token["detail"].as_str().unwrap();
    assert!(
        detail.contains("user tester") && detail.contains("HF_TOKEN"),
        "{detail}"
    );

    let refused = ctx
        .hfdl()
        .arg("doctor")
        .env("HF_TOKEN", "hf_revoked")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", ctx.render(&refused));
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(text.contains("FAIL token"), "{text}");
    assert!(!text.contains("hf_revoked"));
}

/// The secret of a kernel key as `keyctl` sees it. Entries live in the user's persistent
/// keyring, which a process can search once it links it into its session: done here in a
/// throw-away session so the test's own keyrings stay as they were.
fn kernel_secret(description: &str) -> Option<String> {
    let output = Command::new("keyctl")
        .args([
            "session",
            "-",
            "sh",
            "-c",
            "keyctl get_persistent @s >/dev/null && id=$(keyctl search @s user \"$1\") && keyctl pipe \"$id\"",
            "sh",
            description,
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `hfdl logout` when dropped, so a failing keyring test leaves no entry behind.
struct LogoutOnDrop(Command);

impl Drop for LogoutOnDrop {
    fn drop(&mut self) {
        let _ = self.0.arg("logout").output();
    }
}

/// Kernel keyring: `keyctl` sees the entry hfdl wrote; sync uses it; logout removes it.
#[test]
fn kernel_keyring_holds_the_login_until_logout() {
    if !have(&["keyctl"]) {
        return;
    }
    let ctx = TestContext::new();
    ctx.write_manifest(GATED);
    let kernel = || {
        let mut command = ctx.hfdl();
        command.env("HFDL_KEYRING", "kernel");
        command
    };
    let _cleanup = LogoutOnDrop(kernel());
    let output = login(&mut kernel(), TOKEN);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("kept in the kernel keyring"),
        "{}",
        ctx.render(&output)
    );
    assert!(
        !ctx.root.path().join("hf-home/token").exists(),
        "no token file"
    );
    let description = hfdl::hub::keyring::kernel_description(&ctx.hub.endpoint());
    assert_eq!(kernel_secret(&description).as_deref(), Some(TOKEN));

    let me = kernel().args(["whoami", "--json"]).output().unwrap();
    let me = json(&me);
    assert_eq!(me["source"], "keyring");
    assert_eq!(me["source_detail"], "the kernel keyring");
    let synced = sync_gated_into(&ctx, &mut kernel(), "store-a");
    assert!(synced.status.success(), "{}", ctx.render(&synced));

    let output = kernel().arg("logout").output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("from the kernel keyring"),
        "{}",
        ctx.render(&output)
    );
    assert_eq!(
        kernel_secret(&description),
        None,
        "the entry is gone after logout"
    );
    let refused = sync_gated_into(&ctx, &mut kernel(), "store-b");
    assert_eq!(refused.status.code(), Some(4), "{}", ctx.render(&refused));
}

/// A private D-Bus session with an unlocked GNOME Keyring, ended when dropped.
struct SecretService {
    session: Child,
    address: String,
}

impl SecretService {
    /// Keyring files and sockets go under `home`, never the user's own.
    fn start(home: &Path) -> SecretService {
        use std::io::BufRead as _;
        let runtime = home.join("run");
        fs_err::create_dir_all(&runtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs_err::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut session = Command::new("dbus-run-session")
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .args([
                "--",
                "sh",
                "-c",
                "printf 'test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; \
                 echo \"$DBUS_SESSION_BUS_ADDRESS\"; read _",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-run-session");
        let mut line = String::new();
        std::io::BufReader::new(session.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_owned();
        assert!(!address.is_empty(), "dbus-run-session gave no bus address");
        SecretService { session, address }
    }

    fn secret_tool(&self, args: &[&str]) -> Output {
        Command::new("secret-tool")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Closing stdin ends `read`, the shell, and so the session, its bus and the daemon.
        drop(self.session.stdin.take());
        let _ = self.session.wait();
    }
}

/// Secret Service: found automatically on the session bus; `secret-tool` sees the entry.
#[test]
fn secret_service_keyring_holds_the_login_until_logout() {
    if !have(&["dbus-run-session", "gnome-keyring-daemon", "secret-tool"]) {
        return;
    }
    let ctx = TestContext::new();
    ctx.write_manifest(GATED);
    let service = SecretService::start(&ctx.root.path().join("desktop-home"));
    let desktop = || {
        let mut command = ctx.hfdl();
        command
            .env_remove("HFDL_KEYRING")
            .env("DBUS_SESSION_BUS_ADDRESS", &service.address);
        command
    };
    let _cleanup = LogoutOnDrop(desktop());
    let output = login(&mut desktop(), TOKEN);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("kept in the Secret Service keyring"),
        "{}",
        ctx.render(&output)
    );
    let endpoint = ctx.hub.endpoint();
    let lookup = service.secret_tool(&["lookup", "service", "hfdl", "username", &endpoint]);
    assert_eq!(String::from_utf8_lossy(&lookup.stdout), TOKEN);

    let me = json(&desktop().args(["whoami", "--json"]).output().unwrap());
    assert_eq!(me["source_detail"], "the Secret Service keyring");
    let synced = sync_gated_into(&ctx, &mut desktop(), "store-a");
    assert!(synced.status.success(), "{}", ctx.render(&synced));

    let output = desktop().arg("logout").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let lookup = service.secret_tool(&["lookup", "service", "hfdl", "username", &endpoint]);
    assert!(!lookup.status.success(), "the entry is gone after logout");
    let refused = sync_gated_into(&ctx, &mut desktop(), "store-b");
    assert_eq!(refused.status.code(), Some(4), "{}", ctx.render(&refused));
}

#[test]
fn an_endpoint_chosen_by_the_manifest_never_gets_hf_token_or_the_token_file() {
    let ctx = TestContext::new();
    ctx.write_manifest(&format!(
        "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n\n[settings]\nendpoint = \"{}\"\n",
        ctx.hub.endpoint()
    ));
    let output = ctx
        .hfdl()
        .env_remove("HF_ENDPOINT")
        .env("HF_TOKEN", TOKEN)
        .arg("sync")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        ctx.hub.requests().iter().all(|r| r.authorization.is_none()),
        "a token went to an endpoint a project file chose: {:?}",
        ctx.hub.requests()
    );
    // The same endpoint chosen by the user (HF_ENDPOINT) gets it.
    ctx.hub.reset();
    let trusted = ctx
        .hfdl()
        .env("HF_TOKEN", TOKEN)
        .args(["lock", "--upgrade"])
        .output()
        .unwrap();
    assert!(trusted.status.success(), "{}", ctx.render(&trusted));
    assert!(ctx.hub.requests().iter().any(|r| r.authorization.is_some()));
}
