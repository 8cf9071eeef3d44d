//! The JSON Schemas in `schemas/`: fresh, in step with the parsers, and true of real files.

use std::path::{Path, PathBuf};

use hfdl::schema;
use hfdl_mock_hub::{FileChange, RepoOptions, RepoType, XetOptions};
use serde_json::Value;

use crate::support::TestContext;

/// Set to `1` to rewrite `schemas/` from the Rust types instead of comparing.
const UPDATE_VAR: &str = "HFDL_UPDATE_SCHEMAS";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_file(name: &str) -> Value {
    let path = repo_root().join(schema::SCHEMA_DIR).join(name);
    serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap()
}

/// A TOML document as the JSON value a schema validator sees.
fn toml_to_json(text: &str) -> Value {
    toml::from_str(text).unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"))
}

/// The validation errors of `text` against the committed schema `name`, one per line.
fn validation_errors(name: &str, text: &str) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema_file(name)).unwrap();
    validator
        .iter_errors(&toml_to_json(text))
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[track_caller]
fn assert_valid(name: &str, text: &str) {
    let errors = validation_errors(name, text);
    assert!(
        errors.is_empty(),
        "{name} rejects a valid document:\n{}\n---\n{text}",
        errors.join("\n")
    );
}

/// Every key of `objects`, sorted, once.
fn keys_used(objects: &[&Value]) -> Vec<String> {
    let mut keys: Vec<String> = objects
        .iter()
        .flat_map(|o| o.as_object().unwrap().keys().cloned())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The property names of an object schema, sorted.
fn keys_described(schema: &Value) -> Vec<String> {
    let mut keys: Vec<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn the_committed_schemas_are_what_the_rust_types_generate() {
    #[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
    let update = std::env::var_os(UPDATE_VAR).is_some_and(|v| v == "1");
    let dir = repo_root().join(schema::SCHEMA_DIR);
    let mut stale = Vec::new();
    for (name, text) in schema::files() {
        let path = dir.join(name);
        if update {
            hfdl::fsutil::write_if_changed(&path, text.as_bytes()).unwrap();
        } else if fs_err::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale in {}/: {}. Regenerate them with `{UPDATE_VAR}=1 cargo nextest run -E 'test(/schemas/)'` and commit the result",
        schema::SCHEMA_DIR,
        stale.join(", ")
    );
}

#[test]
fn the_schemas_are_valid_draft_07_schemas() {
    for (name, _) in schema::files() {
        let schema = schema_file(name);
        assert_eq!(
            schema["$schema"], "http://json-schema.org/draft-07/schema#",
            "{name}"
        );
        jsonschema::draft7::meta::validate(&schema)
            .unwrap_or_else(|e| panic!("{name} is not a valid draft-07 schema: {e}"));
    }
}

#[test]
fn models_example_toml_is_valid_under_the_manifest_schema() {
    let text = fs_err::read_to_string(repo_root().join("models.example.toml")).unwrap();
    assert_valid(schema::MANIFEST_SCHEMA_FILE, &text);
}

#[test]
fn the_docker_example_manifest_is_valid_under_the_manifest_schema() {
    let text = fs_err::read_to_string(repo_root().join("examples/docker/models.toml")).unwrap();
    assert_valid(schema::MANIFEST_SCHEMA_FILE, &text);
}

/// One value per `[settings]` key, every one of them different from its default.
const EVERY_SETTING: &str = r#"
store = "~/hf-cache"
endpoint = "https://hf-mirror.example.com"
jobs = 16
connections = 4
limit-rate = "50M"
timeout = "2m"
retries = 2
progress = false
log-level = "debug"
log-format = "json"
exclude-newer = "7 days"
blob-store = "s3://models-cache/fleet"
publish = true
xet = "on"
"#;

#[test]
fn a_config_toml_with_every_key_is_valid_and_hfdl_accepts_the_same_keys_in_settings() {
    assert_valid(schema::CONFIG_SCHEMA_FILE, EVERY_SETTING);
    // Every key but `publish`, which only the machine sets (config.toml, HFDL_PUBLISH).
    let manifest = format!(
        "[settings]{}",
        EVERY_SETTING.replace("publish = true\n", "")
    );
    assert_valid(schema::MANIFEST_SCHEMA_FILE, &manifest);
    let with_publish = format!("[settings]{EVERY_SETTING}");
    assert!(
        hfdl::manifest::parse(Path::new("models.toml"), &with_publish).is_err(),
        "a project cannot turn publishing on"
    );
    let parsed = hfdl::manifest::parse(Path::new("models.toml"), &manifest).unwrap();
    assert_eq!(parsed.settings.log_format.as_deref(), Some("json"));
    // The document above really has every key the parser knows.
    let keys: Vec<String> = toml_to_json(EVERY_SETTING)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut known: Vec<&str> = hfdl::manifest::SETTINGS_KEYS.to_vec();
    known.sort_unstable();
    assert_eq!(keys, known);
}

#[test]
fn integers_for_limit_rate_and_timeout_are_valid_as_in_the_manifest() {
    let text = "limit-rate = 1048576\ntimeout = 30\n";
    assert_valid(schema::CONFIG_SCHEMA_FILE, text);
    hfdl::manifest::parse(Path::new("models.toml"), &format!("[settings]\n{text}")).unwrap();
}

#[test]
fn the_schemas_reject_unknown_keys_bad_enums_and_malformed_values() {
    let cases = [
        (
            schema::MANIFEST_SCHEMA_FILE,
            "[models.a]\nrepo = \"acme/tiny\"\nrevison = \"main\"\n",
            "/models/a",
        ),
        (
            schema::MANIFEST_SCHEMA_FILE,
            "[models.a]\nrepo = \"acme/tiny\"\nrepo-type = \"datasets\"\n",
            "/models/a/repo-type",
        ),
        (
            schema::MANIFEST_SCHEMA_FILE,
            "[models.a]\ninclude = [\"*.json\"]\n",
            "/models/a",
        ),
        (
            schema::MANIFEST_SCHEMA_FILE,
            "[models.a]\nrepo = \"acme/tiny/extra\"\n",
            "/models/a/repo",
        ),
        (
            schema::MANIFEST_SCHEMA_FILE,
            "[models.\"a b\"]\nrepo = \"acme/tiny\"\n",
            "/models",
        ),
        (
            schema::MANIFEST_SCHEMA_FILE,
            "[model.a]\nrepo = \"acme/tiny\"\n",
            "",
        ),
        (schema::CONFIG_SCHEMA_FILE, "jobs = 0\n", "/jobs"),
        (
            schema::CONFIG_SCHEMA_FILE,
            "log-level = \"loud\"\n",
            "/log-level",
        ),
        (
            schema::CONFIG_SCHEMA_FILE,
            "log-format = \"yaml\"\n",
            "/log-format",
        ),
        (
            schema::CONFIG_SCHEMA_FILE,
            "limit-rate = \"fast\"\n",
            "/limit-rate",
        ),
        (
            schema::CONFIG_SCHEMA_FILE,
            "timeout = \"soon\"\n",
            "/timeout",
        ),
        (
            schema::CONFIG_SCHEMA_FILE,
            "exclude-newer = \"-\"\n",
            "/exclude-newer",
        ),
        (
            schema::CONFIG_SCHEMA_FILE,
            "endpoint = \"ftp://x\"\n",
            "/endpoint",
        ),
        (schema::CONFIG_SCHEMA_FILE, "log_level = \"info\"\n", ""),
        (schema::LOCK_SCHEMA_FILE, "version = 4\n", "/version"),
        (
            schema::LOCK_SCHEMA_FILE,
            "version = 1\n[[model]]\nname = \"a\"\nrepo = \"acme/tiny\"\nrepo-type = \"model\"\nrevision = \"main\"\ncommit = \"main\"\nrequirement = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nfiles = []\n",
            "/model/0/commit",
        ),
    ];
    for (name, text, at) in cases {
        let errors = validation_errors(name, text);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{at}: "))),
            "{name} should reject this at `{at}`, errors: {errors:?}\n---\n{text}"
        );
        // hfdl itself refuses the same documents.
        match name {
            schema::MANIFEST_SCHEMA_FILE => {
                hfdl::manifest::parse(Path::new("models.toml"), text).unwrap_err();
            }
            schema::CONFIG_SCHEMA_FILE => {
                let manifest = format!("[settings]\n{text}");
                hfdl::manifest::parse(Path::new("models.toml"), &manifest).unwrap_err();
            }
            _ => {
                hfdl::lock::Lockfile::decode(Path::new("models.lock"), text).unwrap_err();
            }
        }
    }
}

#[test]
fn a_lock_written_by_hfdl_lock_is_valid_under_the_lock_schema() {
    let cx = TestContext::new();
    // A card with every key the lock records.
    let fixtures = cx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, "acme/tuned", RepoOptions::default())
        .unwrap();
    // Xet-backed, so its LFS file has a `xet-hash`.
    fixtures
        .enable_xet(RepoType::Model, "acme/tuned", XetOptions::default())
        .unwrap();
    fixtures
        .commit(
            RepoType::Model,
            "acme/tuned",
            "main",
            "init",
            vec![FileChange::regular(
                "README.md",
                b"---\nlicense: other\nlicense_name: acme-license\nlicense_link: https://example.com/license\nbase_model: acme/tiny\nlibrary_name: transformers\n---\n# tuned\n".to_vec(),
            ), FileChange::lfs("w.bin", vec![7u8; 5000])],
        )
        .unwrap();
    cx.write_manifest(
        r#"
[models.tiny]
repo = "acme/tiny"
exclude = ["onnx/*"]

[models.squad]
repo = "acme/squad"
repo-type = "dataset"

[models.tuned]
repo = "acme/tuned"
"#,
    );
    let output = cx.run(&["lock"]);
    assert!(output.status.success(), "{}", cx.render(&output));
    let lock = cx.read("models.lock");
    // Both kinds of hash are in it, so both branches of the file schema are exercised.
    assert!(
        lock.contains("git-sha1 = ")
            && lock.contains("sha256 = \"")
            && lock.contains("xet-hash = \""),
        "{lock}"
    );
    assert_valid(schema::LOCK_SCHEMA_FILE, &lock);

    // The lock uses every key the schema describes, and no other (additionalProperties).
    let json = toml_to_json(&lock);
    let lock_schema = schema_file(schema::LOCK_SCHEMA_FILE);
    let model_schema = &lock_schema["properties"]["model"]["items"];
    let models: Vec<&Value> = json["model"].as_array().unwrap().iter().collect();
    let files: Vec<&Value> = models
        .iter()
        .flat_map(|m| m["files"].as_array().unwrap())
        .collect();
    assert_eq!(keys_used(&[&json]), keys_described(&lock_schema));
    assert_eq!(keys_used(&models), keys_described(model_schema));
    assert_eq!(
        keys_used(&files),
        keys_described(&model_schema["properties"]["files"]["items"])
    );

    // A file with both hashes is not a valid lock, for the schema as for hfdl.
    let zeros = "0".repeat(64);
    let both = lock.replacen(
        "git-sha1 = ",
        &format!("sha256 = \"{zeros}\", git-sha1 = "),
        1,
    );
    let errors = validation_errors(schema::LOCK_SCHEMA_FILE, &both);
    assert!(
        errors.iter().any(|e| e.starts_with("/model/")),
        "{errors:?}"
    );
    hfdl::lock::Lockfile::decode(Path::new("models.lock"), &both).unwrap_err();
}

#[test]
fn a_schema_directive_at_the_top_of_the_manifest_and_lock_is_only_a_comment() {
    let cx = TestContext::new();
    cx.write_manifest(
        "#:schema ./schemas/models.toml.schema.json\n[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n",
    );
    let output = cx.run(&["sync"]);
    assert!(output.status.success(), "{}", cx.render(&output));

    // `hfdl add` edits the manifest and keeps the directive where editors look for it.
    let output = cx.run(&["add", "acme/squad", "--repo-type", "dataset", "--no-sync"]);
    assert!(output.status.success(), "{}", cx.render(&output));
    let manifest = cx.read("models.toml");
    assert!(
        manifest.starts_with("#:schema ./schemas/models.toml.schema.json\n"),
        "{manifest}"
    );
    assert!(manifest.contains("[models.squad]"), "{manifest}");

    // A lock with the directive on its first line still reads as the same lock.
    let lock = cx.read("models.lock");
    let with_directive = format!("#:schema ./schemas/models.lock.schema.json\n{lock}");
    fs_err::write(cx.project.join("models.lock"), &with_directive).unwrap();
    let output = cx.run(&["sync", "--locked"]);
    assert!(output.status.success(), "{}", cx.render(&output));
    let output = cx.run(&["status", "--json"]);
    assert!(output.status.success(), "{}", cx.render(&output));
    // Nothing changed, so nothing was rewritten. (`hfdl lock` does rewrite the file, without the
    // comment: editors should find the lock's schema through `.taplo.toml` instead.)
    assert_eq!(cx.read("models.lock"), with_directive);
}
