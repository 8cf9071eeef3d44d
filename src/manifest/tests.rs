//! Unit tests of manifest parsing, validation and diagnostics.

use std::path::Path;

use super::*;
use crate::manifest::cooldown::ExcludeNewer;

fn parse_ok(text: &str) -> Manifest {
    parse(Path::new("models.toml"), text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn parse_err(text: &str) -> ManifestError {
    match parse(Path::new("models.toml"), text) {
        Ok(manifest) => panic!("expected an error, got {manifest:?}"),
        Err(error) => error,
    }
}

/// The text the error's label points at.
fn labelled<'t>(text: &'t str, error: &ManifestError) -> &'t str {
    let span = error.span().expect("a span");
    &text[span]
}

#[test]
fn the_example_parses() {
    let manifest = parse_ok(include_str!("../../models.example.toml"));
    assert_eq!(
        manifest.models.keys().collect::<Vec<_>>(),
        ["bert", "minilm", "squad"]
    );
    let minilm = &manifest.models["minilm"];
    assert_eq!(
        minilm.repo.as_str(),
        "sentence-transformers/all-MiniLM-L6-v2"
    );
    assert_eq!(minilm.repo_type, RepoType::Model);
    assert_eq!(minilm.revision, "main");
    assert_eq!(minilm.include, ["*.json", "*.safetensors", "tokenizer*"]);
    assert_eq!(minilm.exclude, ["onnx/*"]);
    assert_eq!(minilm.dir, None);
    let squad = &manifest.models["squad"];
    assert_eq!(squad.repo_type, RepoType::Dataset);
    assert_eq!(squad.revision, "main");
    assert!(squad.include.is_empty());
    let bert = &manifest.models["bert"];
    assert_eq!(bert.revision, "86b5e0934494bd15c9632b12f734a8a67f723594");
    assert_eq!(bert.dir.as_deref(), Some(Path::new("models/bert")));
    assert_eq!(manifest.settings.jobs, Some(8));
    assert_eq!(manifest.path, Path::new("models.toml"));
}

#[test]
fn the_example_documents_every_key() {
    let example = include_str!("../../models.example.toml");
    for key in MODEL_KEYS
        .iter()
        .chain(SETTINGS_KEYS)
        .chain(policy::POLICY_KEYS)
    {
        assert!(
            example.contains(&format!("\n{key} = ")) || example.contains(&format!("# {key} = ")),
            "models.example.toml does not show `{key}`"
        );
    }
}

#[test]
fn an_empty_file_is_an_empty_manifest() {
    let manifest = parse_ok("");
    assert!(manifest.models.is_empty());
    assert_eq!(manifest.settings, ManifestSettings::default());
    assert!(parse_ok("[models]\n").models.is_empty());
}

#[test]
fn inline_and_dotted_entries_are_accepted() {
    let manifest = parse_ok(
        "models.a = { repo = \"org/a\", include = [\"*.json\"] }\n\
         models.b.repo = \"org/b\"\n",
    );
    assert_eq!(manifest.models["a"].include, ["*.json"]);
    assert_eq!(manifest.models["b"].repo.as_str(), "org/b");
}

#[test]
fn all_settings_are_read() {
    let manifest = parse_ok(
        r#"
[settings]
store = "/data/hf"
endpoint = "http://localhost:8080"
jobs = 4
connections = 8
limit-rate = "50M"
timeout = 45
retries = 0
progress = false
log-level = "debug"
log-format = "json"
exclude-newer = "7 days"
blob-store = "s3://models-cache/fleet"
xet = "off"
"#,
    );
    assert_eq!(
        manifest.settings,
        ManifestSettings {
            store: Some("/data/hf".into()),
            endpoint: Some("http://localhost:8080".into()),
            jobs: Some(4),
            connections: Some(8),
            limit_rate: Some("50M".into()),
            timeout: Some("45".into()),
            retries: Some(0),
            progress: Some(crate::manifest::ProgressMode::Off),
            log_level: Some("debug".into()),
            log_format: Some("json".into()),
            exclude_newer: Some(ExcludeNewer::parse("7 days").unwrap()),
            blob_store: Some("s3://models-cache/fleet".into()),
            publish: None,
            xet: Some(crate::manifest::XetMode::Off),
        }
    );
}

#[test]
fn an_unknown_model_key_names_the_entry_and_suggests() {
    let text = "[models.minilm]\nrepo = \"org/m\"\nrevison = \"v1\"\n";
    let error = parse_err(text);
    assert_eq!(error.error_code(), "manifest-invalid");
    assert_eq!(
        error.to_string(),
        "models.toml: unknown key \"revison\" in [models.minilm]"
    );
    assert_eq!(labelled(text, &error), "revison");
    let ManifestError::UnknownKey {
        suggestion, help, ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(suggestion.as_deref(), Some("revision"));
    assert!(help.contains("did you mean `revision`?"), "{help}");
}

#[test]
fn unknown_top_level_and_settings_keys_suggest() {
    let text = "[model.a]\nrepo = \"org/a\"\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "model");
    assert!(
        matches!(&error, ManifestError::UnknownKey { suggestion: Some(s), .. } if s == "models")
    );

    let text = "[settings]\nlog_level = \"info\"\n";
    let error = parse_err(text);
    assert_eq!(
        error.to_string(),
        "models.toml: unknown key \"log_level\" in [settings]"
    );
    assert!(
        matches!(&error, ManifestError::UnknownKey { suggestion: Some(s), .. } if s == "log-level")
    );

    let text = "[settings]\nzzz = 1\n";
    let error = parse_err(text);
    assert!(
        matches!(&error, ManifestError::UnknownKey { suggestion: None, help, .. } if help.contains("`jobs`"))
    );
}

#[test]
fn a_missing_repo_points_at_the_header() {
    let text = "[models.a]\nrepo = \"org/a\"\n\n[models.nope]\nrevision = \"v1\"\n";
    let error = parse_err(text);
    assert!(
        matches!(error, ManifestError::MissingKey { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "models.toml: missing key \"repo\" in [models.nope]"
    );
    assert!(
        labelled(text, &error).contains("nope"),
        "{:?}",
        labelled(text, &error)
    );
}

#[test]
fn an_invalid_repo_points_at_the_value() {
    let text = "[models.a]\nrepo = \"a/b/c\"\n";
    let error = parse_err(text);
    assert!(
        matches!(error, ManifestError::InvalidValue { .. }),
        "{error:?}"
    );
    assert_eq!(labelled(text, &error), "\"a/b/c\"");
    assert!(
        error
            .to_string()
            .starts_with("models.toml: invalid repo \"a/b/c\" in [models.a]")
    );
}

#[test]
fn an_invalid_repo_type_and_revision_are_refused() {
    let text = "[models.a]\nrepo = \"org/a\"\nrepo-type = \"datasets\"\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "\"datasets\"");
    assert_eq!(error.error_code(), "manifest-invalid");

    let text = "[models.a]\nrepo = \"org/a\"\nrevision = \"../x\"\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "\"../x\"");
}

#[test]
fn wrong_types_name_what_was_expected() {
    let text = "[models.a]\nrepo = 42\n";
    let error = parse_err(text);
    assert_eq!(
        error.to_string(),
        "models.toml: \"repo\" in [models.a] must be a string, not integer"
    );
    assert_eq!(labelled(text, &error), "42");

    let text = "[models.a]\nrepo = \"org/a\"\ninclude = \"*.json\"\n";
    let error = parse_err(text);
    assert!(matches!(
        error,
        ManifestError::WrongType {
            expected: "an array of strings",
            ..
        }
    ));
    assert_eq!(labelled(text, &error), "\"*.json\"");

    let text = "[models.a]\nrepo = \"org/a\"\ninclude = [\"*.json\", 3]\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "3");

    let text = "[settings]\nprogress = \"yes\"\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "\"yes\"");

    let text = "models = 1\n";
    let error = parse_err(text);
    assert!(
        matches!(error, ManifestError::WrongType { .. }),
        "{error:?}"
    );
    assert_eq!(labelled(text, &error), "1");

    let text = "[models]\na = \"org/a\"\n";
    let error = parse_err(text);
    assert!(
        matches!(error, ManifestError::WrongType { .. }),
        "{error:?}"
    );
    assert_eq!(labelled(text, &error), "\"org/a\"");
}

#[test]
fn a_bad_pattern_points_at_itself() {
    let text = "[models.a]\nrepo = \"org/a\"\nexclude = [\"*.bin\", \"\"]\n";
    let error = parse_err(text);
    assert!(
        matches!(error, ManifestError::InvalidValue { .. }),
        "{error:?}"
    );
    let span = error.span().unwrap();
    assert_eq!(&text[span.clone()], "\"\"");
    assert_eq!(span.start, text.rfind("\"\"").unwrap());
    assert!(error.to_string().contains("empty"), "{error}");
}

#[test]
fn invalid_names_are_refused() {
    let text = "[models.\"my model\"]\nrepo = \"org/a\"\n";
    let error = parse_err(text);
    assert!(
        matches!(error, ManifestError::InvalidName { .. }),
        "{error:?}"
    );
    assert_eq!(labelled(text, &error), "\"my model\"");
    assert!(
        parse_ok("[models.\"a.b\"]\nrepo = \"org/a\"\n")
            .models
            .contains_key("a.b")
    );
}

#[test]
fn dirs_must_stay_inside_the_project_and_not_overlap() {
    for bad in ["/abs", "../up", "a/../../b", ".", ""] {
        let text = format!("[models.a]\nrepo = \"org/a\"\ndir = \"{bad}\"\n");
        let error = parse_err(&text);
        assert_eq!(labelled(&text, &error), format!("\"{bad}\""), "{bad}");
    }
    let text = "[models.a]\nrepo = \"org/a\"\ndir = \"models/a\"\n\n\
                [models.b]\nrepo = \"org/b\"\ndir = \"models/a/b\"\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "\"models/a/b\"");
    assert!(
        error.to_string().contains("overlaps the dir of `a`"),
        "{error}"
    );
    parse_ok(
        "[models.a]\nrepo = \"org/a\"\ndir = \"models/a\"\n\n\
         [models.b]\nrepo = \"org/b\"\ndir = \"models/ab\"\n",
    );
}

#[test]
fn setting_values_are_range_checked() {
    for (line, bad) in [
        ("jobs = 0", "0"),
        ("jobs = -3", "-3"),
        ("retries = 101", "101"),
        ("connections = 1000", "1000"),
        ("timeout = \"soon\"", "\"soon\""),
        ("timeout = 0", "0"),
        ("limit-rate = \"fast\"", "\"fast\""),
        ("endpoint = \"ftp://x\"", "\"ftp://x\""),
        ("log-level = \"loud\"", "\"loud\""),
        ("log-format = \"xml\"", "\"xml\""),
        ("xet = \"maybe\"", "\"maybe\""),
        ("xet = true", "true"),
        ("store = \"\"", "\"\""),
        ("exclude-newer = \"7\"", "\"7\""),
        ("exclude-newer = \"last week\"", "\"last week\""),
        ("exclude-newer = 7", "7"),
    ] {
        let text = format!("[settings]\n{line}\n");
        let error = parse_err(&text);
        assert_eq!(labelled(&text, &error), bad, "{line}");
        assert_eq!(error.error_code(), "manifest-invalid");
    }
    let text = "[settings]\nlog-level = \"inf\"\n";
    let ManifestError::InvalidValue { help, .. } = parse_err(text) else {
        panic!()
    };
    assert!(help.contains("did you mean \"info\"?"), "{help}");
}

#[test]
fn rates_parse_with_binary_multiples() {
    assert_eq!(parse_rate("1024"), Some(1024));
    assert_eq!(parse_rate("500K"), Some(500 * 1024));
    assert_eq!(parse_rate("50M"), Some(50 * 1024 * 1024));
    assert_eq!(parse_rate("1.5G"), Some(3 * 512 * 1024 * 1024));
    assert_eq!(parse_rate("2MB"), Some(2 * 1024 * 1024));
    assert_eq!(parse_rate("2MiB/s"), Some(2 * 1024 * 1024));
    assert_eq!(parse_rate("fast"), None);
    assert_eq!(parse_rate("M"), None);
    assert_eq!(parse_rate("1.M"), None);
}

#[test]
fn toml_syntax_errors_and_duplicates_are_diagnostics() {
    let text = "[models.a]\nrepo = \"org/a\"\nrepo = \"org/b\"\n";
    let error = parse_err(text);
    assert!(matches!(error, ManifestError::Syntax { .. }), "{error:?}");
    assert_eq!(error.error_code(), "manifest-invalid");
    assert!(
        error.to_string().starts_with("models.toml: invalid TOML: "),
        "{error}"
    );
    let span = error.span().unwrap();
    assert!(span.start >= text.rfind("repo").unwrap(), "{span:?}");

    let text = "[models.a]\nrepo = \"org/a\"\n[models.a]\nrepo = \"org/a\"\n";
    assert!(matches!(parse_err(text), ManifestError::Syntax { .. }));

    let text = "[models.a\nrepo = \"org/a\"\n";
    let error = parse_err(text);
    assert!(matches!(error, ManifestError::Syntax { .. }));
    assert!(error.span().unwrap().end <= text.len());
}

#[test]
fn the_source_is_named_after_the_path() {
    let error = parse(Path::new("project/models.toml"), "[models.a]\nrepo = 1\n").unwrap_err();
    assert!(
        error.to_string().starts_with("project/models.toml: "),
        "{error}"
    );
    let source = miette::Diagnostic::source_code(&error).expect("source code");
    let contents = source
        .read_span(&miette::SourceSpan::from(0..1), 0, 0)
        .unwrap();
    assert_eq!(contents.name(), Some("project/models.toml"));
    assert!(miette::Diagnostic::help(&error).is_some());
}

#[test]
fn load_reports_a_missing_file_and_reads_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("models.toml");
    let error = load(&missing).unwrap_err();
    assert_eq!(error.error_code(), "manifest-not-found");
    assert!(matches!(&error, ManifestError::NotFound { path } if *path == missing));

    fs_err::write(&missing, "[models.a]\nrepo = \"org/a\"\n").unwrap();
    let manifest = load(&missing).unwrap();
    assert_eq!(manifest.path, missing);
    assert_eq!(manifest.models["a"].repo.as_str(), "org/a");

    // A directory cannot be read as a file: an I/O error, not "not found".
    let error = load(dir.path()).unwrap_err();
    assert_eq!(error.error_code(), "manifest-io");
}

#[test]
fn requirement_ignores_formatting_order_name_and_dir() {
    let a = parse_ok(
        "[models.a]\nrepo = \"org/m\"\ninclude = [\"*.json\", \"*.txt\"]\nexclude = [\"onnx/\"]\n",
    );
    let b = parse_ok(
        "[models.other]   # renamed\nexclude=['onnx/']\ndir = \"x\"\n\
         include = [\n  \"*.txt\",\n  \"*.json\",\n]\nrevision = \"main\"\nrepo = 'org/m'\n",
    );
    let a = &a.models["a"];
    let b = &b.models["other"];
    assert_eq!(a.requirement(), b.requirement());
    let requirement = a.requirement();
    assert!(requirement.starts_with("sha256:"));
    assert_eq!(requirement.len(), "sha256:".len() + 64);
    assert!(
        requirement[7..]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn requirement_changes_with_what_is_locked() {
    let base = parse_ok("[models.a]\nrepo = \"org/m\"\n").models["a"].clone();
    let variants = [
        "[models.a]\nrepo = \"org/n\"\n",
        "[models.a]\nrepo = \"org/m\"\nrepo-type = \"dataset\"\n",
        "[models.a]\nrepo = \"org/m\"\nrevision = \"v2\"\n",
        "[models.a]\nrepo = \"org/m\"\ninclude = [\"*.json\"]\n",
        "[models.a]\nrepo = \"org/m\"\nexclude = [\"*.json\"]\n",
    ];
    let mut seen = vec![base.requirement()];
    for text in variants {
        let requirement = parse_ok(text).models["a"].requirement();
        assert!(!seen.contains(&requirement), "{text}");
        seen.push(requirement);
    }
    // Moving a pattern from include to exclude is a different requirement too.
    let mut swapped = base.clone();
    swapped.exclude = vec!["*.json".into()];
    let mut included = base;
    included.include = vec!["*.json".into()];
    assert_ne!(swapped.requirement(), included.requirement());
}

#[test]
fn requirement_is_pinned() {
    // The lock stores this value: changing the canonical form invalidates every lock.
    let spec = parse_ok("[models.a]\nrepo = \"org/m\"\n").models["a"].clone();
    let canonical =
        r#"{"exclude":[],"include":[],"repo":"org/m","repo-type":"model","revision":"main"}"#;
    assert_eq!(
        spec.requirement(),
        format!("sha256:{}", hex::encode(Sha256::digest(canonical)))
    );
}

#[test]
fn exclude_newer_comes_from_the_entry_else_from_settings() {
    let manifest = parse_ok(
        r#"
[models.a]
repo = "org/a"
exclude-newer = "36h"

[models.b]
repo = "org/b"

[settings]
exclude-newer = "7 days"
"#,
    );
    let cooldown = |name: &str| {
        manifest.models[name]
            .exclude_newer
            .as_ref()
            .map(ToString::to_string)
    };
    assert_eq!(cooldown("a").as_deref(), Some("36h"));
    assert_eq!(cooldown("b").as_deref(), Some("7 days"));
    let without = parse_ok("[models.a]\nrepo = \"org/a\"\n");
    assert_eq!(without.models["a"].exclude_newer, None);
}

#[test]
fn a_bad_exclude_newer_points_at_the_value_and_lists_the_forms() {
    let text = "[models.a]\nrepo = \"org/a\"\nexclude-newer = \"7 fortnights\"\n";
    let error = parse_err(text);
    assert_eq!(labelled(text, &error), "\"7 fortnights\"");
    let ManifestError::InvalidValue { help, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        error.to_string(),
        "models.toml: invalid exclude-newer \"7 fortnights\" in [models.a]: unknown unit `fortnights`"
    );
    assert!(
        help.contains("\"7 days\"") && help.contains("RFC 3339"),
        "{help}"
    );
}

#[test]
fn a_cooldown_changes_the_requirement_only_where_it_can_matter() {
    let requirement = |text: &str| parse_ok(text).models["a"].requirement();
    let plain = requirement("[models.a]\nrepo = \"org/m\"\n");
    let week = requirement("[models.a]\nrepo = \"org/m\"\nexclude-newer = \"7 days\"\n");
    let from_settings =
        requirement("[models.a]\nrepo = \"org/m\"\n[settings]\nexclude-newer = \"7 days\"\n");
    let day = requirement("[models.a]\nrepo = \"org/m\"\nexclude-newer = \"1 day\"\n");
    assert_ne!(plain, week);
    assert_ne!(week, day);
    assert_eq!(
        week, from_settings,
        "the cooldown that applies counts, wherever it is set"
    );
    // A pinned commit is used as is: a cooldown cannot change what gets locked.
    let commit = "86b5e0934494bd15c9632b12f734a8a67f723594";
    assert_eq!(
        requirement(&format!(
            "[models.a]\nrepo = \"org/m\"\nrevision = \"{commit}\"\n"
        )),
        requirement(&format!(
            "[models.a]\nrepo = \"org/m\"\nrevision = \"{commit}\"\nexclude-newer = \"7 days\"\n"
        )),
    );
}

#[test]
fn a_policy_and_entry_exceptions_are_read() {
    let manifest = parse_ok(
        r#"
[models.llama]
repo = "meta-llama/Llama-3.2-1B"
allow = ["pickle", "remote-code"]
license = "llama3"

[models.other]
repo = "org/other"
license = ["gemma", "llama3.1"]

[policy]
licenses = ["apache-2.0", "MIT", "unknown"]
pickle = "warn"
remote-code = "deny"
max-size = "40GB"
"#,
    );
    let policy = manifest.policy.as_ref().unwrap();
    assert_eq!(
        policy.licenses.as_deref(),
        Some(
            &[
                "apache-2.0".to_owned(),
                "MIT".to_owned(),
                "unknown".to_owned()
            ][..]
        )
    );
    assert_eq!(policy.pickle, Some(policy::PickleRule::Warn));
    assert_eq!(policy.remote_code, Some(policy::RemoteCodeRule::Deny));
    assert_eq!(policy.max_size.as_ref().unwrap().bytes, 40_000_000_000);
    let llama = &manifest.models["llama"].exceptions;
    assert_eq!(
        llama.allow.iter().copied().collect::<Vec<_>>(),
        [policy::Rule::Pickle, policy::Rule::RemoteCode]
    );
    assert_eq!(llama.licenses, ["llama3"]);
    assert_eq!(
        manifest.models["other"].exceptions.licenses,
        ["gemma", "llama3.1"]
    );
    // Exceptions decide what may be locked, not what is: the pin stays.
    let plain = parse_ok("[models.llama]\nrepo = \"meta-llama/Llama-3.2-1B\"\n");
    assert_eq!(
        manifest.models["llama"].requirement(),
        plain.models["llama"].requirement()
    );
    assert_eq!(plain.policy, None);
}

#[test]
fn policy_mistakes_point_at_the_key_or_value() {
    let cases = [
        (
            "[policy]\npickles = \"deny\"\n",
            "pickles",
            "did you mean `pickle`?",
        ),
        (
            "[policy]\npickle = \"dny\"\n",
            "\"dny\"",
            "did you mean \"deny\"?",
        ),
        (
            "[policy]\nremote-code = \"warn\"\n",
            "\"warn\"",
            "use one of \"deny\", \"allow\"",
        ),
        ("[policy]\nmax-size = \"40G\"\n", "\"40G\"", "\"40GiB\""),
        ("[policy]\nmax-size = 0\n", "0", "\"40GB\""),
        (
            "[policy]\nlicenses = \"mit\"\n",
            "\"mit\"",
            "licenses = [\"apache-2.0\"",
        ),
        (
            "[policy]\nlicenses = [\"MIT or Apache\"]\n",
            "\"MIT or Apache\"",
            "Hub license",
        ),
        (
            "[policy]\nlicenses = [3]\n",
            "3",
            "licenses = [\"apache-2.0\"",
        ),
        ("policy = 3\n", "3", "[policy] table"),
        (
            "[models.a]\nrepo = \"o/a\"\nallow = [\"pikle\"]\n",
            "\"pikle\"",
            "did you mean \"pickle\"?",
        ),
        (
            "[models.a]\nrepo = \"o/a\"\nallow = [\"license\"]\n",
            "\"license\"",
            "license = \\\"ID\\\"",
        ),
        (
            "[models.a]\nrepo = \"o/a\"\nallow = \"pickle\"\n",
            "\"pickle\"",
            "\"remote-code\"",
        ),
        (
            "[models.a]\nrepo = \"o/a\"\nlicense = 2\n",
            "2",
            "license = \"llama3\"",
        ),
        (
            "[models.a]\nrepo = \"o/a\"\nlicense = [\"a b\"]\n",
            "\"a b\"",
            "license = \"llama3\"",
        ),
    ];
    for (text, at, help) in cases {
        let error = parse_err(text);
        assert_eq!(error.error_code(), "manifest-invalid", "{text}");
        assert_eq!(labelled(text, &error), at, "{text}");
        let shown = miette::Diagnostic::help(&error)
            .map(|h| h.to_string())
            .unwrap_or_default();
        let help = help.replace("\\\"", "\"");
        assert!(shown.contains(&help), "{text}: {shown}");
    }
}
