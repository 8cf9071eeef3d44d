//! What the lock records about each model (license, gating, formats, remote code) and `[policy]`
//! in models.toml and config.toml, end to end against the mock Hub: `lock`, `add`, `sync`
//! (`--frozen` offline too) and `outdated` refuse what breaks a rule, name the entry, the rule
//! and the file, and say the exact exception to write.

use std::path::PathBuf;

use hfdl_mock_hub::{FileChange, Gated, RepoOptions, RepoType};

use crate::support::{TestContext, json_error_code};

/// A bert-like card, as the Hub's models have them.
const APACHE_CARD: &str = "---\nlanguage: en\ntags:\n- exbert\nlicense: apache-2.0\ndatasets:\n- bookcorpus\n- wikipedia\nlibrary_name: transformers\nbase_model: acme/bert-base\n---\n\n# BERT base model (uncased)\n\nPretrained on English text with a masked language modeling objective.\n";

/// The fixture repos of these tests, besides the standard ones, each with a real model card.
pub fn trust_fixtures(ctx: &TestContext) {
    let fixtures = ctx.hub.fixtures();
    let regular = |path: &str, text: &str| FileChange::regular(path, text.as_bytes().to_vec());
    let repo = |id: &str, gated: Gated, files: Vec<FileChange>| {
        fixtures
            .create_repo(
                RepoType::Model,
                id,
                RepoOptions {
                    private: false,
                    gated,
                },
            )
            .unwrap();
        fixtures
            .commit(RepoType::Model, id, "main", "init", files)
            .unwrap();
    };
    let config = r#"{"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 8}"#;
    repo(
        "acme/bert",
        Gated::No,
        vec![
            regular("README.md", APACHE_CARD),
            regular("config.json", config),
            FileChange::generated("model.safetensors", 2_000, 1),
        ],
    );
    repo(
        "acme/pickled",
        Gated::No,
        vec![
            regular("README.md", APACHE_CARD),
            regular("config.json", config),
            FileChange::generated("model.safetensors", 2_000, 2),
            FileChange::generated("pytorch_model.bin", 2_000, 3),
        ],
    );
    repo(
        "acme/noncommercial",
        Gated::No,
        vec![
            regular(
                "README.md",
                "---\nlicense: cc-by-nc-4.0\nlanguage:\n- en\npipeline_tag: text-generation\n---\n# A research model\n\nFor non-commercial use only.\n",
            ),
            FileChange::generated("model.safetensors", 1_000, 4),
        ],
    );
    repo(
        "acme/llama",
        Gated::Manual,
        vec![
            regular(
                "README.md",
                "---\nlanguage:\n- en\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- facebook\n- meta\n- llama\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\nextra_gated_prompt: >-\n  ### META LLAMA 3 COMMUNITY LICENSE AGREEMENT\n---\n# Llama 3\n",
            ),
            FileChange::generated("model.safetensors", 1_000, 5),
        ],
    );
    repo(
        "acme/nocard",
        Gated::No,
        vec![
            regular("README.md", "# A model\n\nNo metadata block at all.\n"),
            FileChange::generated("model.safetensors", 1_000, 6),
        ],
    );
    repo(
        "acme/brokencard",
        Gated::No,
        vec![
            regular(
                "README.md",
                "---\nlicense: mit\ntags: [a, b\n---\n# Broken YAML\n",
            ),
            FileChange::generated("model.safetensors", 1_000, 7),
        ],
    );
    repo(
        "acme/custom",
        Gated::No,
        vec![
            regular("README.md", "---\nlicense: mit\n---\n# Custom code\n"),
            regular(
                "config.json",
                r#"{"architectures": ["CustomModel"], "auto_map": {"AutoConfig": "configuration_custom.CustomConfig", "AutoModel": "modeling_custom.CustomModel"}, "model_type": "custom"}"#,
            ),
            regular("configuration_custom.py", "class CustomConfig: pass\n"),
            regular("modeling_custom.py", "import os\nclass CustomModel: pass\n"),
            FileChange::generated("model.safetensors", 1_000, 8),
        ],
    );
    repo(
        "acme/handler",
        Gated::No,
        vec![
            regular(
                "README.md",
                "---\nlicense: mit\n---\n# An endpoint handler\n",
            ),
            regular("config.json", config),
            regular("handler.py", "def handle(x): return x\n"),
            FileChange::generated("model.gguf", 1_000, 9),
        ],
    );
}

/// `[models.NAME] repo = "acme/NAME"` for each name.
fn entries(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("[models.{name}]\nrepo = \"acme/{name}\"\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The keys of `[[model]]` NAME in the lock, from `license` to `remote-code`.
fn recorded(ctx: &TestContext, name: &str) -> String {
    let lock = ctx.read("models.lock");
    let start = lock
        .find(&format!("name = \"{name}\"\n"))
        .unwrap_or_else(|| panic!("{name} is not in {lock}"));
    let entry = &lock[start..];
    let entry = &entry[..entry.find("files = ").unwrap()];
    entry
        .lines()
        .skip_while(|line| !line.starts_with("requirement"))
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n")
}

/// stderr as text.
fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_lock_records_each_cards_license_and_each_entrys_formats_and_remote_code() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&entries(&[
        "bert",
        "pickled",
        "noncommercial",
        "llama",
        "nocard",
        "brokencard",
        "custom",
        "handler",
    ]));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    // A card without front matter or with broken YAML is not an error, only an unknown license.
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    insta::assert_snapshot!(recorded(&ctx, "bert"), @r#"
    license = "apache-2.0"
    gated = "no"
    library-name = "transformers"
    base-model = ["acme/bert-base"]
    formats = ["safetensors"]
    remote-code = "no"
    "#);
    insta::assert_snapshot!(recorded(&ctx, "pickled"), @r#"
    license = "apache-2.0"
    gated = "no"
    library-name = "transformers"
    base-model = ["acme/bert-base"]
    formats = ["pickle", "safetensors"]
    remote-code = "no"
    "#);
    insta::assert_snapshot!(recorded(&ctx, "noncommercial"), @r#"
    license = "cc-by-nc-4.0"
    gated = "no"
    formats = ["safetensors"]
    remote-code = "no"
    "#);
    insta::assert_snapshot!(recorded(&ctx, "llama"), @r#"
    license = "other"
    license-name = "llama3"
    license-link = "LICENSE"
    gated = "manual"
    library-name = "transformers"
    formats = ["safetensors"]
    remote-code = "no"
    "#);
    for unknown in ["nocard", "brokencard"] {
        assert_eq!(
            recorded(&ctx, unknown),
            "gated = \"no\"\nformats = [\"safetensors\"]\nremote-code = \"no\"",
            "{unknown}"
        );
    }
    insta::assert_snapshot!(recorded(&ctx, "custom"), @r#"
    license = "mit"
    gated = "no"
    formats = ["safetensors"]
    remote-code = "auto-map"
    "#);
    insta::assert_snapshot!(recorded(&ctx, "handler"), @r#"
    license = "mit"
    gated = "no"
    formats = ["gguf"]
    remote-code = "python"
    "#);
    // The Hub's info said it all: one revision and one tree request per entry, no file read.
    let counters = ctx.hub.counters();
    assert_eq!(
        counters.resolve_get + counters.cdn,
        0,
        "{:?}",
        ctx.hub.requests()
    );

    // Deterministic: locking again from scratch writes the same bytes.
    let first = ctx.read("models.lock");
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    assert!(ctx.run(&["lock"]).status.success());
    assert_eq!(ctx.read("models.lock"), first);
}

#[test]
fn without_a_policy_nothing_is_refused() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&entries(&["pickled", "custom", "noncommercial", "nocard"]));
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(!stderr(&output).contains("policy"), "{}", stderr(&output));
}

#[test]
fn a_denied_pickle_fails_the_lock_names_the_file_and_the_fix_and_writes_nothing() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    let manifest = format!(
        "{}\n[policy]\npickle = \"deny\"\n",
        entries(&["bert", "pickled"])
    );
    ctx.write_manifest(&manifest);
    let output = ctx.run(&["lock"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(
        text.contains(
            "policy violation: pickled: pytorch_model.bin is pickle-based: loading it can run code (pickle in models.toml [policy])"
        ),
        "{text}"
    );
    assert!(
        text.contains("[models.pickled]  allow = [\"pickle\"]"),
        "{text}"
    );
    assert!(text.contains("exclude = [\"*.bin\""), "{text}");
    assert!(
        !ctx.project.join("models.lock").exists(),
        "a lock that breaks the policy is not written"
    );
    let json = ctx.run(&["--json", "lock"]);
    assert_eq!(json_error_code(&json), "policy-violation");
    assert_eq!(json.status.code(), Some(1));

    // The usual fix: leave the pickles out.
    ctx.write_manifest(&manifest.replace(
        "repo = \"acme/pickled\"\n",
        "repo = \"acme/pickled\"\nexclude = [\"*.bin\"]\n",
    ));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(!ctx.read("models.lock").contains("pytorch_model.bin"));

    // Or accept them, on purpose, with the line the help gave.
    ctx.write_manifest(&manifest.replace(
        "repo = \"acme/pickled\"\n",
        "repo = \"acme/pickled\"\nallow = [\"pickle\"]\n",
    ));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(ctx.read("models.lock").contains("pytorch_model.bin"));
}

#[test]
fn pickle_warn_warns_and_writes_the_lock() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&format!(
        "{}\n[policy]\npickle = \"warn\"\n",
        entries(&["pickled"])
    ));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        stderr(&output).contains("pickled: pytorch_model.bin is pickle-based"),
        "{}",
        stderr(&output)
    );
    let json = ctx.run(&["--json", "lock", "--upgrade"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["policy"][0]["rule"], "pickle");
    assert_eq!(report["policy"][0]["severity"], "warning");
    assert_eq!(report["policy"][0]["files"][0], "pytorch_model.bin");
}

#[test]
fn licenses_are_an_allow_list_where_unknown_and_other_must_be_named() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    let manifest = format!(
        "{}\n[policy]\nlicenses = [\"Apache-2.0\", \"mit\"]\n",
        entries(&["bert", "noncommercial", "llama", "nocard", "brokencard"])
    );
    ctx.write_manifest(&manifest);
    let output = ctx.run(&["lock"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let text = stderr(&output);
    for expected in [
        "4 policy violations",
        "noncommercial: license \"cc-by-nc-4.0\" is not allowed (licenses in models.toml [policy])",
        "llama: license \"other (llama3)\" is not allowed",
        "nocard: the card states no license (unknown)",
        "brokencard: the card states no license (unknown)",
        "[models.noncommercial]  license = \"cc-by-nc-4.0\"",
        "[models.llama]  license = \"llama3\"",
        "[models.nocard]  license = \"unknown\"",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(!text.contains("bert:"), "apache-2.0 is listed: {text}");
    assert!(
        !text.contains("exclude = [\"*.bin\""),
        "no pickle here: {text}"
    );

    // The exceptions the help gave, and `other` accepted by its name in the allow-list.
    let accepted = manifest
        .replace(
            "repo = \"acme/noncommercial\"\n",
            "repo = \"acme/noncommercial\"\nlicense = \"cc-by-nc-4.0\"\n",
        )
        .replace(
            "repo = \"acme/nocard\"\n",
            "repo = \"acme/nocard\"\nlicense = \"unknown\"\n",
        )
        .replace(
            "repo = \"acme/brokencard\"\n",
            "repo = \"acme/brokencard\"\nlicense = \"UNKNOWN\"\n",
        )
        .replace("\"mit\"]", "\"mit\", \"llama3\"]");
    ctx.write_manifest(&accepted);
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
}

#[test]
fn remote_code_names_config_json_and_the_python_files() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&format!(
        "{}\n[policy]\nremote-code = \"deny\"\n",
        entries(&["custom", "handler", "bert"])
    ));
    let output = ctx.run(&["--json", "lock"]);
    assert_eq!(json_error_code(&output), "policy-violation");
    let error: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("custom: config.json has `auto_map`: loading it runs the repo's code"),
        "{message}"
    );
    assert!(
        message.contains("handler: it ships Python code (handler.py)"),
        "{message}"
    );
    let help = error["error"]["help"].as_str().unwrap();
    assert!(
        help.contains("[models.custom]  allow = [\"remote-code\"]"),
        "{help}"
    );
    // Not locking the code (and config.json's auto_map with it) satisfies the rule.
    ctx.write_manifest(
        "[models.handler]\nrepo = \"acme/handler\"\nexclude = [\"*.py\"]\n\n[policy]\nremote-code = \"deny\"\n",
    );
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
}

#[test]
fn max_size_counts_an_entrys_locked_files() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\n\n[policy]\nmax-size = \"300kB\"\n");
    let output = ctx.run(&["lock"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert!(
        stderr(&output).contains(
            "tiny: its files total 400.05 kB, more than max-size = \"300kB\" (largest: model.safetensors, 300.00 kB)"
        ),
        "{}",
        stderr(&output)
    );
    // 300.05 kB without the ONNX export: within 0.3 MiB.
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\nexclude = [\"onnx/\"]\n\n[policy]\nmax-size = \"0.3MiB\"\n",
    );
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
}

/// A config.toml with `text`, and `HFDL_CONFIG` pointing at it.
fn with_config(ctx: &TestContext, text: &str) -> PathBuf {
    let path = ctx.root.path().join("config.toml");
    fs_err::write(&path, text).unwrap();
    path
}

#[test]
fn config_toml_rules_apply_too_and_no_project_exception_lifts_them() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    let config = with_config(&ctx, "jobs = 2\n\n[policy]\npickle = \"deny\"\n");
    // The project allows what the machine does not.
    ctx.write_manifest(
        "[models.pickled]\nrepo = \"acme/pickled\"\nallow = [\"pickle\"]\n\n[policy]\npickle = \"warn\"\n",
    );
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .arg("lock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(
        text.contains("pytorch_model.bin is pickle-based: loading it can run code (pickle in config.toml [policy])"),
        "{text}"
    );
    assert!(
        text.contains("an exception in models.toml does not lift it"),
        "{text}"
    );
    assert!(
        !text.contains("allow = [\"pickle\"]"),
        "no line to write: {text}"
    );

    // Without a project policy at all, the machine's still applies.
    ctx.write_manifest("[models.pickled]\nrepo = \"acme/pickled\"\n");
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .arg("lock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));

    // The stricter rule wins: a project's deny beats the machine's warn, and can be lifted.
    let config = with_config(
        &ctx,
        "[policy]\npickle = \"warn\"\nlicenses = [\"apache-2.0\"]\n",
    );
    ctx.write_manifest(
        "[models.pickled]\nrepo = \"acme/pickled\"\n\n[policy]\npickle = \"deny\"\n",
    );
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .arg("lock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert!(stderr(&output).contains("[models.pickled]  allow = [\"pickle\"]"));
    ctx.write_manifest(
        "[models.pickled]\nrepo = \"acme/pickled\"\nallow = [\"pickle\"]\n\n[policy]\npickle = \"deny\"\n",
    );
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .arg("lock")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(
        stderr(&output).contains("(pickle in config.toml [policy])"),
        "the machine's warn remains: {}",
        stderr(&output)
    );
}

#[test]
fn a_bad_policy_in_config_toml_is_a_diagnostic_with_its_line() {
    let ctx = TestContext::new();
    let config = with_config(&ctx, "jobs = 2\n\n[policy]\nremote-code = \"warn\"\n");
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\n");
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .arg("lock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(
        text.contains("invalid remote-code \"warn\" in [policy]"),
        "{text}"
    );
    assert!(text.contains("4 │ remote-code = \"warn\""), "{text}");
}

#[test]
fn sync_frozen_checks_the_lock_against_the_policy_offline() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&entries(&["pickled", "noncommercial"]));
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));

    // A policy added later: the committed lock is checked, without a request.
    ctx.write_manifest(&format!(
        "{}\n[policy]\npickle = \"deny\"\nlicenses = [\"apache-2.0\"]\n",
        entries(&["pickled", "noncommercial"])
    ));
    ctx.hub.reset();
    let output = ctx.run(&["--offline", "sync", "--frozen"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(text.contains("2 policy violations"), "{text}");
    assert!(text.contains("pickled: pytorch_model.bin"), "{text}");
    assert!(
        text.contains("noncommercial: license \"cc-by-nc-4.0\""),
        "{text}"
    );
    let locked = ctx.run(&["--json", "sync", "--locked"]);
    assert_eq!(json_error_code(&locked), "policy-violation");
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "{:?}",
        ctx.hub.requests()
    );

    // Without models.toml, --frozen still applies config.toml's policy.
    fs_err::remove_file(ctx.project.join("models.toml")).unwrap();
    let config = with_config(&ctx, "[policy]\nlicenses = [\"mit\"]\n");
    let output = ctx
        .hfdl()
        .env("HFDL_CONFIG", &config)
        .args(["--offline", "sync", "--frozen"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert!(
        stderr(&output)
            .contains("license \"apache-2.0\" is not allowed (licenses in config.toml [policy])"),
        "{}",
        stderr(&output)
    );
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn add_refuses_a_model_that_breaks_the_policy_and_names_the_flag_that_accepts_it() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    let manifest = "[policy]\npickle = \"deny\"\nlicenses = [\"mit\"]\n";
    ctx.write_manifest(manifest);
    let output = ctx.run(&["add", "acme/pickled"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(
        text.contains(
            "to add it anyway, on purpose: hfdl add acme/pickled --allow-license apache-2.0 --allow pickle"
        ),
        "{text}"
    );
    assert_eq!(ctx.read("models.toml"), manifest, "nothing written");
    assert!(!ctx.project.join("models.lock").exists());

    let output = ctx.run(&[
        "add",
        "acme/pickled",
        "--exclude",
        "*.bin",
        "--allow-license",
        "apache-2.0",
    ]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let output = ctx.run(&[
        "add",
        "acme/pickled",
        "--name",
        "pickles",
        "--allow",
        "pickle",
        "--allow-license",
        "apache-2.0",
        "--no-sync",
    ]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    insta::assert_snapshot!(ctx.read("models.toml"), @r#"
    [policy]
    pickle = "deny"
    licenses = ["mit"]

    [models.pickled]
    repo = "acme/pickled"
    exclude = ["*.bin"]
    license = "apache-2.0"

    [models.pickles]
    repo = "acme/pickled"
    allow = ["pickle"]
    license = "apache-2.0"
    "#);
}

#[test]
fn outdated_says_when_upstream_moved_to_something_the_policy_refuses() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&format!(
        "{}\n[policy]\npickle = \"deny\"\n",
        entries(&["bert"])
    ));
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub
        .fixtures()
        .commit(
            RepoType::Model,
            "acme/bert",
            "main",
            "add pickle weights",
            vec![FileChange::generated("pytorch_model.bin", 2_000, 30)],
        )
        .unwrap();
    let output = ctx.run(&["outdated"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("+ pytorch_model.bin"), "{stdout}");
    assert!(
        stderr(&output).contains("policy violation: bert: pytorch_model.bin is pickle-based"),
        "{}",
        stderr(&output)
    );
    // With --json, the report is the whole answer: the violation is in its row.
    let json = ctx.run(&["--json", "outdated"]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["policy_violations"], 1);
    assert_eq!(report["models"][0]["policy"][0]["rule"], "pickle");
    assert_eq!(
        report["models"][0]["policy"][0]["exception"],
        "allow = [\"pickle\"]"
    );
}

#[test]
fn a_lock_of_an_older_hfdl_still_reads_and_hfdl_lock_records_its_metadata() {
    let ctx = TestContext::new();
    trust_fixtures(&ctx);
    ctx.write_manifest(&entries(&["noncommercial", "custom"]));
    assert!(ctx.run(&["lock"]).status.success());
    let current = ctx.read("models.lock");
    // What hfdl wrote before it recorded metadata.
    let mut old: String = current
        .replace("version = 2", "version = 1")
        .lines()
        .filter(|line| {
            ![
                "license",
                "gated",
                "library-name",
                "base-model",
                "formats",
                "remote-code",
            ]
            .iter()
            .any(|key| line.starts_with(&format!("{key} ")))
        })
        .collect::<Vec<_>>()
        .join("\n");
    old.push('\n');
    fs_err::write(ctx.project.join("models.lock"), &old).unwrap();
    assert!(
        ctx.run(&["lock", "--check"]).status.success(),
        "still fresh"
    );

    // A policy cannot tell an old lock's license: it says so, and how to record it.
    ctx.write_manifest(&format!(
        "{}\n[policy]\nlicenses = [\"mit\"]\nremote-code = \"deny\"\n",
        entries(&["noncommercial", "custom"])
    ));
    let output = ctx.run(&["--offline", "sync", "--frozen"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert!(
        stderr(&output).contains("its license is not recorded (models.lock was written by an older hfdl; `hfdl lock` records it)"),
        "{}",
        stderr(&output)
    );
    // The Python files of an old lock still count.
    assert!(
        stderr(&output).contains("custom: it ships Python code"),
        "{}",
        stderr(&output)
    );
    // What is not recorded is not to be accepted: no `license = "unknown"` to write.
    assert!(
        !stderr(&output).contains("[models.noncommercial]"),
        "{}",
        stderr(&output)
    );

    // `hfdl lock` records it, pins unchanged, and then the policy has its say.
    ctx.write_manifest(&entries(&["noncommercial", "custom"]));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(ctx.read("models.lock"), current);
}
