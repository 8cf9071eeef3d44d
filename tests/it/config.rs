//! `config.toml`, `hfdl config`, the `HFDL_*` variables and the Hugging Face environment
//! variables (proxies, CA bundle), end to end.

use std::path::PathBuf;
use std::process::Output;

use crate::support::{TestContext, json_error_code};

const TINY: &str = "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n";

fn config_file(ctx: &TestContext) -> PathBuf {
    ctx.root.path().join("home/.config/hfdl/config.toml")
}

fn write_config(ctx: &TestContext, text: &str) {
    let path = config_file(ctx);
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

/// `(value, source)` of `key` in `hfdl config list --json`.
fn effective(output: &Output, key: &str) -> (serde_json::Value, String) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entry = list["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {list}"));
    (
        entry["value"].clone(),
        entry["source"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn each_source_beats_the_ones_below_it_flag_env_settings_config_default() {
    let ctx = TestContext::new();
    let jobs = |ctx: &TestContext, env: &[(&str, &str)]| {
        let output = ctx
            .hfdl()
            .envs(env.iter().copied())
            .args(["config", "list", "--json"])
            .output()
            .unwrap();
        effective(&output, "jobs")
    };
    assert_eq!(jobs(&ctx, &[]), ("8".into(), "default".into()));
    write_config(&ctx, "jobs = 3\n");
    assert_eq!(jobs(&ctx, &[]), ("3".into(), "config.toml".into()));
    ctx.write_manifest("[settings]\njobs = 5\n");
    assert_eq!(
        jobs(&ctx, &[]),
        ("5".into(), "models.toml [settings]".into())
    );
    assert_eq!(
        jobs(&ctx, &[("HFDL_JOBS", "7")]),
        ("7".into(), "env HFDL_JOBS".into())
    );

    // The store: --store > HFDL_STORE > HF_HUB_CACHE (set by every test) > [settings] > config.
    let store = |args: &[&str], env: &[(&str, &str)]| {
        let output = ctx
            .hfdl()
            .envs(env.iter().copied())
            .args(args)
            .args(["config", "list", "--json"])
            .output()
            .unwrap();
        let (value, source) = effective(&output, "store");
        (value.as_str().unwrap().to_owned(), source)
    };
    write_config(&ctx, "store = \"/from/config\"\n");
    ctx.write_manifest("[settings]\nstore = \"/from/settings\"\n");
    let cache = ctx.cache.display().to_string();
    assert_eq!(store(&[], &[]), (cache, "env HF_HUB_CACHE".into()));
    let bare = |ctx: &TestContext, args: &[&str], env: &[(&str, &str)]| {
        let output = ctx
            .hfdl()
            .env_remove("HF_HUB_CACHE")
            .env_remove("HF_HOME")
            .envs(env.iter().copied())
            .args(args)
            .args(["config", "list", "--json"])
            .output()
            .unwrap();
        let (value, source) = effective(&output, "store");
        (value.as_str().unwrap().to_owned(), source)
    };
    assert_eq!(
        bare(&ctx, &[], &[]),
        ("/from/settings".into(), "models.toml [settings]".into())
    );
    ctx.write_manifest("");
    assert_eq!(
        bare(&ctx, &[], &[]),
        ("/from/config".into(), "config.toml".into())
    );
    assert_eq!(
        store(&[], &[("HFDL_STORE", "/from/env")]),
        ("/from/env".into(), "env HFDL_STORE".into())
    );
    assert_eq!(
        store(&["--store", "/from/flag"], &[("HFDL_STORE", "/from/env")]),
        ("/from/flag".into(), "flag --store".into())
    );
}

#[test]
fn config_list_shows_every_key_with_its_value_and_source() {
    let ctx = TestContext::new();
    write_config(&ctx, "limit-rate = \"50M\"\ntimeout = \"1m\"\n");
    let output = ctx
        .hfdl()
        .env("HF_HUB_DOWNLOAD_TIMEOUT", "90")
        .env("HF_HUB_ETAG_TIMEOUT", "20")
        .env("HFDL_EXCLUDE_NEWER", "7 days")
        .args(["config", "list"])
        .output()
        .unwrap();
    insta::assert_snapshot!(ctx.render(&output), @"
    exit: 0
    --- stdout
    store          [TMP]/hf-cache  (env HF_HUB_CACHE)
    endpoint       [HUB]    (env HF_ENDPOINT)
    jobs           8                         (default)
    connections    1                         (default)
    limit-rate     50M                       (config.toml)
    timeout        90                        (env HF_HUB_DOWNLOAD_TIMEOUT)
    retries        4                         (default)
    progress       auto                      (default)
    log-level      warn                      (default)
    log-format     text                      (default)
    exclude-newer  7 days                    (env HFDL_EXCLUDE_NEWER)
    blob-store     (unset)                   (default)
    publish        false                     (default)
    xet            auto                      (default)
    --- stderr
    ");
}

#[test]
fn config_set_validates_writes_atomically_and_keeps_comments_and_unset_removes() {
    let ctx = TestContext::new();
    let path = config_file(&ctx);
    let output = ctx.run(&["config", "set", "jobs", "4"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let created = fs_err::read_to_string(&path).unwrap();
    assert!(
        created.starts_with("# hfdl user configuration"),
        "{created}"
    );
    assert!(created.ends_with("jobs = 4\n"), "{created}");

    write_config(
        &ctx,
        "# mine\njobs = 4 # four\n\n# speed\nlimit-rate = \"1M\"\n",
    );
    let output = ctx.run(&["config", "set", "jobs", "6"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(
        fs_err::read_to_string(&path).unwrap(),
        "# mine\njobs = 6 # four\n\n# speed\nlimit-rate = \"1M\"\n"
    );
    let output = ctx.run(&["config", "get", "jobs"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "6\n");

    let output = ctx.run(&["config", "unset", "limit-rate"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(
        fs_err::read_to_string(&path).unwrap(),
        "# mine\njobs = 6 # four\n",
        "the comment above limit-rate goes with it, the header stays"
    );

    // A bad value changes nothing on disk.
    let before = fs_err::read_to_string(&path).unwrap();
    let output = ctx.run(&["config", "set", "limit-rate", "fast"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert_eq!(fs_err::read_to_string(&path).unwrap(), before);
    let leftovers = fs_err::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1, "no temp file is left behind");
}

#[test]
fn hfdl_config_overrides_where_the_file_is() {
    let ctx = TestContext::new();
    let elsewhere = ctx.root.path().join("elsewhere.toml");
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &elsewhere)
        .args(["config", "path"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        elsewhere.display().to_string()
    );
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &elsewhere)
        .args(["config", "set", "retries", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        fs_err::read_to_string(&elsewhere)
            .unwrap()
            .contains("retries = 1")
    );
    assert!(!config_file(&ctx).exists());
}

#[test]
fn an_invalid_config_fails_every_command_but_can_be_repaired_with_config_set_and_unset() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    write_config(&ctx, "jbos = 4\ntimeout = \"soon\"\n");
    for args in [&["status"][..], &["lock"], &["config", "list"], &["init"]] {
        let output = ctx.run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            ctx.render(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("config.toml: unknown key \"jbos\""),
            "{args:?}: {}",
            ctx.render(&output)
        );
    }
    assert!(
        !ctx.project.join("models.lock").exists(),
        "nothing half-applied"
    );
    let output = ctx.run(&["--json", "status"]);
    assert_eq!(json_error_code(&output), "config-invalid");

    let output = ctx.run(&["config", "path"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let output = ctx.run(&["config", "unset", "jbos"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let output = ctx.run(&["config", "set", "timeout", "30s"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let output = ctx.run(&["status"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
}

/// Runs `hfdl args` with `config` as config.toml and `env` set, and renders the outcome.
fn failure(ctx: &TestContext, config: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    write_config(ctx, config);
    let output = ctx
        .hfdl()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    ctx.render(&output)
}

#[test]
fn every_validation_error_names_the_key_the_value_and_what_is_allowed() {
    let ctx = TestContext::new();
    let list = ["config", "list"];
    insta::assert_snapshot!(failure(&ctx, "jobs = 4\nretires = 2\n", &[], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: unknown key "retires" in config.toml
       ╭─[[TMP]/home/.config/hfdl/config.toml:2:1]
     1 │ jobs = 4
     2 │ retires = 2
       · ───┬───
       ·    ╰── unknown key
       ╰────
      help: did you mean `retries`? The keys of config.toml are `store`, `endpoint`, `jobs`, `connections`, `limit-rate`, `timeout`, `retries`, `progress`, `log-level`, `log-format`, `exclude-newer`, `blob-store`, `publish`, `xet`
    "#);
    insta::assert_snapshot!(failure(&ctx, "limit-rate = \"50 parsecs\"\n", &[], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid limit-rate "50 parsecs" in config.toml: not a positive rate
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:14]
     1 │ limit-rate = "50 parsecs"
       ·              ──────┬─────
       ·                    ╰── not a positive rate
       ╰────
      help: use bytes per second: an integer, or a number with K, M or G, e.g. "50M"
    "#);
    insta::assert_snapshot!(failure(&ctx, "timeout = \"soon\"\n", &[], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid timeout "soon" in config.toml: not a positive duration
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:11]
     1 │ timeout = "soon"
       ·           ───┬──
       ·              ╰── not a positive duration
       ╰────
      help: use a number of seconds or a duration like "[TIME]", "2m", "[TIME]"
    "#);
    insta::assert_snapshot!(failure(&ctx, "jobs = 0\n", &[], &list), @"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid jobs 0 in config.toml: not between 1 and 256
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:8]
     1 │ jobs = 0
       ·        ┬
       ·        ╰── not between 1 and 256
       ╰────
      help: `jobs` is the number of files downloaded in parallel: an integer from 1 to 256
    ");
    insta::assert_snapshot!(failure(&ctx, "progress = \"yes\"\n", &[], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid progress "yes" in config.toml: not one of "auto", "bars", "lines", "off"
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:12]
     1 │ progress = "yes"
       ·            ──┬──
       ·              ╰── not one of "auto", "bars", "lines", "off"
       ╰────
      help: use one of "auto", "bars", "lines", "off"
    "#);
    insta::assert_snapshot!(failure(&ctx, "progress = 3\n", &[], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: "progress" in config.toml must be a string or a boolean, not integer
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:12]
     1 │ progress = 3
       ·            ┬
       ·            ╰── expected a string or a boolean
       ╰────
      help: use one of "auto", "bars", "lines", "off" (true = "auto", false = "off")
    "#);
    insta::assert_snapshot!(failure(&ctx, "log-level = \"verbose\"\n", &[], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid log-level "verbose" in config.toml: not one of "off", "error", "warn", "info", "debug", "trace"
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:13]
     1 │ log-level = "verbose"
       ·             ────┬────
       ·                 ╰── not one of "off", "error", "warn", "info", "debug", "trace"
       ╰────
      help: use one of "off", "error", "warn", "info", "debug", "trace"
    "#);
    insta::assert_snapshot!(failure(&ctx, "jobs = [4\n", &[], &list), @"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid TOML: unclosed array, expected `]`
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:10]
     1 │ jobs = [4
       ·          ▲
       ·          ╰── here
       ╰────
      help: fix the TOML syntax; models.example.toml shows every key
    ");
    insta::assert_snapshot!(failure(&ctx, "", &[("HFDL_JOBS", "lots")], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × the environment variable HFDL_JOBS="lots" is invalid: must be an integer, not string
      help: `jobs` is the number of files downloaded in parallel: an integer from 1 to 256; or unset HFDL_JOBS
    "#);
    insta::assert_snapshot!(failure(&ctx, "", &[("HFDL_LIMIT_RATE", "0")], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × the environment variable HFDL_LIMIT_RATE="0" is invalid: not a positive rate
      help: use bytes per second: an integer, or a number with K, M or G, e.g. "50M"; or unset HFDL_LIMIT_RATE
    "#);
    insta::assert_snapshot!(failure(
        &ctx,
        "",
        &[("HF_HUB_DOWNLOAD_TIMEOUT", "1.5")],
        &list
    ), @r#"
    exit: 2
    --- stdout
    --- stderr
      × the environment variable HF_HUB_DOWNLOAD_TIMEOUT="1.5" is invalid: not a whole number of seconds
      help: set HF_HUB_DOWNLOAD_TIMEOUT to a number of seconds, e.g. 30, or unset it
    "#);
    insta::assert_snapshot!(failure(&ctx, "", &[("HF_ENDPOINT", "hub.local")], &list), @r#"
    exit: 2
    --- stdout
    --- stderr
      × the environment variable HF_ENDPOINT="hub.local" is invalid: not an http(s) URL
      help: use a URL like "https://huggingface.co"; or unset HF_ENDPOINT
    "#);
    insta::assert_snapshot!(failure(&ctx, "", &[], &["config", "set", "job", "4"]), @"
    exit: 2
    --- stdout
    --- stderr
      × unknown setting `job`
      help: did you mean `jobs`? The settings are store, endpoint, jobs, connections, limit-rate, timeout, retries, progress, log-level, log-format, exclude-newer, blob-store, publish, xet
    ");
    insta::assert_snapshot!(failure(&ctx, "", &[], &["config", "get", "limit_rate"]), @"
    exit: 2
    --- stdout
    --- stderr
      × unknown setting `limit_rate`
      help: did you mean `limit-rate`? The settings are store, endpoint, jobs, connections, limit-rate, timeout, retries, progress, log-level, log-format, exclude-newer, blob-store, publish, xet
    ");
    insta::assert_snapshot!(failure(
        &ctx,
        "",
        &[],
        &["config", "set", "retries", "1000"]
    ), @"
    exit: 2
    --- stdout
    --- stderr
      × [TMP]/home/.config/hfdl/config.toml: invalid retries 1000 in config.toml: not between 0 and 100
       ╭─[[TMP]/home/.config/hfdl/config.toml:1:11]
     1 │ retries = 1000
       ·           ──┬─
       ·             ╰── not between 0 and 100
       ╰────
      help: `retries` is the number of retries: an integer from 0 to 100
    ");
    let file = ctx.root.path().join("a-file");
    fs_err::write(&file, "").unwrap();
    let store = file.join("hub").display().to_string();
    insta::assert_snapshot!(failure(&ctx, "", &[], &["config", "set", "store", &store]), @"
    exit: 2
    --- stdout
    --- stderr
      × the store [TMP]/a-file/hub is not writable: [TMP]/a-file is not a directory
      help: choose a directory you can write to (it is created on first use if its parent is writable)
    ");
}

#[test]
fn settings_from_the_environment_reach_the_downloads() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    // An exclude-newer from the environment applies to entries without their own: no commit
    // of the fixtures is a century old, so the lock must fail naming the cooldown.
    let output = ctx
        .hfdl()
        .env("HFDL_EXCLUDE_NEWER", "36500 days")
        .args(["lock"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0), "{}", ctx.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("exclude-newer"),
        "{}",
        ctx.render(&output)
    );
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
}

#[test]
fn a_dead_proxy_fails_requests_and_no_proxy_bypasses_it() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let dead = "http://127.0.0.1:9";
    let output = ctx
        .hfdl()
        .env("HTTP_PROXY", dead)
        .env("HFDL_RETRIES", "0")
        .args(["--json", "lock"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "network-error");
    assert_eq!(ctx.hub.requests().len(), 0, "nothing reached the Hub");

    let output = ctx
        .hfdl()
        .env("http_proxy", dead)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .args(["lock"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
}

#[test]
fn an_unreadable_ca_bundle_is_an_error_naming_the_variable_and_the_path() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let missing = ctx.root.path().join("corp-ca.pem");
    let output = ctx
        .hfdl()
        .env("SSL_CERT_FILE", &missing)
        .args(["lock"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    let text = ctx.render(&output);
    assert!(
        text.contains("SSL_CERT_FILE=[TMP]/corp-ca.pem: cannot read the CA bundle"),
        "{text}"
    );

    fs_err::write(&missing, "not a certificate\n").unwrap();
    let output = ctx
        .hfdl()
        .env("REQUESTS_CA_BUNDLE", &missing)
        .args(["--json", "lock"])
        .output()
        .unwrap();
    assert_eq!(json_error_code(&output), "client-setup");
    // Offline commands never build the client, so they do not need the bundle.
    let output = ctx
        .hfdl()
        .env("SSL_CERT_FILE", ctx.root.path().join("nope.pem"))
        .args(["config", "list"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
}

#[test]
fn config_set_store_with_a_relative_path_means_the_current_directory() {
    let ctx = TestContext::new();
    let config = ctx.root.path().join("cfg/config.toml");
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .args(["config", "set", "store", "./my-cache"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let text = fs_err::read_to_string(&config).unwrap();
    let expected = ctx.project.join("my-cache");
    assert!(
        text.contains(&format!("store = \"{}\"", expected.display())),
        "{text}"
    );
}
