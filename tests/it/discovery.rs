//! Discover before you add (issue #21): every common name of a repo (ids, Hub URLs on
//! huggingface.co and on a mirror, `hf://` URIs) becomes the same models.toml entry; `hfdl
//! search` lists the Hub's repos with each filter and across pages; `hfdl info` shows a repo's
//! commit, card, gating and files, and previews what patterns select, byte for byte what a sync
//! then downloads.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use hfdl_mock_hub::{FileChange, RepoMeta, RepoOptions, RepoType, ServerOptions};
use serde_json::Value;

use crate::support::{TOKEN, TestContext};

/// 2025-06-01, 2025-05-01 and 2025-04-01, 00:00 UTC: fixed dates, so tables are stable.
const JUNE: u64 = 1_748_736_000;
const MAY: u64 = 1_746_057_600;
const APRIL: u64 = 1_743_465_600;

fn at(seconds: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The tiny model's card: what the Hub turns into `cardData` and tags.
const TINY_CARD: &str = "---\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: feature-extraction\ntags:\n- sentence-similarity\nlanguage: en\n---\n# tiny\n";

/// The standard fixtures plus what discovery needs: cards, counters and dates, a Space, a PR
/// ref, and a few more models to search through.
fn discovery_fixtures(ctx: &TestContext) {
    let fixtures = ctx.hub.fixtures();
    let model = RepoType::Model;
    let v1 = fixtures
        .resolve_revision(model, "acme/tiny", "v1.0")
        .unwrap();
    fixtures.set_pr(model, "acme/tiny", 3, &v1).unwrap();
    fixtures
        .commit_at(
            model,
            "acme/tiny",
            "main",
            "card",
            vec![FileChange::regular(
                "README.md",
                TINY_CARD.as_bytes().to_vec(),
            )],
            at(JUNE),
        )
        .unwrap();
    fixtures
        .set_meta(
            model,
            "acme/tiny",
            RepoMeta {
                downloads: 1234,
                likes: 7,
                tags: vec!["safetensors".into()],
                ..RepoMeta::default()
            },
        )
        .unwrap();
    fixtures
        .commit_at(
            RepoType::Dataset,
            "acme/squad",
            "main",
            "describe",
            vec![FileChange::regular(
                "README.md",
                b"# squad\n\nQuestions.\n".to_vec(),
            )],
            at(MAY),
        )
        .unwrap();
    fixtures
        .set_meta(
            RepoType::Dataset,
            "acme/squad",
            RepoMeta {
                downloads: 99,
                likes: 2,
                ..RepoMeta::default()
            },
        )
        .unwrap();
    fixtures
        .commit_at(
            model,
            "acme/gated",
            "main",
            "card",
            vec![FileChange::regular(
                "README.md",
                b"---\nlicense: llama3\nextra_gated_prompt: Agree to the terms.\n---\n".to_vec(),
            )],
            at(APRIL),
        )
        .unwrap();
    fixtures
        .set_meta(
            model,
            "acme/gated",
            RepoMeta {
                downloads: 5000,
                likes: 1,
                ..RepoMeta::default()
            },
        )
        .unwrap();
    fixtures
        .create_repo(RepoType::Space, "acme/demo", RepoOptions::default())
        .unwrap();
    fixtures
        .commit_at(
            RepoType::Space,
            "acme/demo",
            "main",
            "app",
            vec![
                FileChange::regular("app.py", b"print('demo')\n".to_vec()),
                FileChange::regular(
                    "README.md",
                    b"---\ntitle: Demo\nsdk: gradio\nlicense: mit\n---\n".to_vec(),
                ),
            ],
            at(MAY),
        )
        .unwrap();
    fixtures
        .set_meta(
            RepoType::Space,
            "acme/demo",
            RepoMeta {
                likes: 4,
                sdk: Some("gradio".into()),
                ..RepoMeta::default()
            },
        )
        .unwrap();
    for (id, license, downloads, likes, date) in [
        ("zoo/bert-base", "mit", 300, 30, APRIL),
        ("zoo/bert-large", "apache-2.0", 200, 50, MAY),
        ("zoo/gpt-mini", "mit", 100, 10, JUNE),
    ] {
        fixtures
            .create_repo(model, id, RepoOptions::default())
            .unwrap();
        fixtures
            .commit_at(
                model,
                id,
                "main",
                "init",
                vec![
                    FileChange::regular(
                        "README.md",
                        format!("---\nlicense: {license}\n---\n").into_bytes(),
                    ),
                    FileChange::regular("config.json", b"{}".to_vec()),
                ],
                at(date),
            )
            .unwrap();
        fixtures
            .set_meta(
                model,
                id,
                RepoMeta {
                    downloads,
                    likes,
                    library_name: Some("transformers".into()),
                    ..RepoMeta::default()
                },
            )
            .unwrap();
    }
}

fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `hfdl add INPUT --name entry --no-sync` in a project of its own; returns its models.toml.
fn add_in_own_project(ctx: &TestContext, index: usize, args: &[&str]) -> String {
    let dir = ctx.project.join(format!("p{index}"));
    fs_err::create_dir_all(&dir).unwrap();
    let manifest = dir.join("models.toml");
    let mut command = ctx.hfdl();
    command
        .args(["--manifest", manifest.to_str().unwrap(), "add"])
        .args(args)
        .args(["--name", "entry", "--no-sync"]);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "hfdl add {args:?}: {}",
        ctx.render(&output)
    );
    fs_err::read_to_string(&manifest).unwrap()
}

#[test]
fn every_name_of_a_repo_becomes_the_same_models_toml_entry() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    let hub = ctx.hub.endpoint();
    let mirror_file = format!("{hub}/acme/tiny/blob/v1.0/config.json");
    let mirror_folder = format!(
        "{}/datasets/acme/squad/tree/main/plain_text",
        hub.trim_start_matches("http://")
    );
    let forms: Vec<Vec<&str>> = vec![
        vec!["acme/tiny"],
        vec!["https://huggingface.co/acme/tiny"],
        vec!["https://hf.co/acme/tiny?library=transformers#model-card"],
        vec!["huggingface.co/models/acme/tiny"],
        vec!["hf://acme/tiny"],
        vec!["acme/tiny@v1.0"],
        vec!["https://huggingface.co/acme/tiny/tree/v1.0"],
        vec!["hf://models/acme/tiny@v1.0"],
        vec!["acme/tiny@refs/pr/3"],
        vec!["https://huggingface.co/acme/tiny/tree/refs%2Fpr%2F3"],
        vec!["https://huggingface.co/acme/tiny/tree/refs/pr/3"],
        vec!["hf://acme/tiny@refs/pr/3"],
        vec!["https://huggingface.co/acme/tiny/tree/main/onnx"],
        vec!["hf://acme/tiny@main/onnx/"],
        vec!["https://huggingface.co/acme/tiny/blob/v1.0/config.json"],
        vec!["https://huggingface.co/acme/tiny/resolve/v1.0/config.json?download=true"],
        vec!["hf://acme/tiny@v1.0/config.json"],
        vec![&mirror_file],
        vec!["acme/squad", "--repo-type", "dataset"],
        vec!["https://huggingface.co/datasets/acme/squad"],
        vec!["hf://datasets/acme/squad", "--repo-type", "dataset"],
        vec!["https://huggingface.co/datasets/acme/squad/tree/main/plain_text"],
        vec!["hf://datasets/acme/squad/plain_text/"],
        vec![&mirror_folder],
        vec!["https://huggingface.co/spaces/acme/demo"],
        vec!["hf://spaces/acme/demo"],
        vec!["acme/demo", "--repo-type", "space"],
    ];
    // Entry text → the names that produced it.
    let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (index, args) in forms.iter().enumerate() {
        let manifest = add_in_own_project(&ctx, index, args);
        let entry = manifest
            .split("[models.entry]\n")
            .nth(1)
            .unwrap_or_else(|| panic!("no entry in {manifest}"))
            .trim()
            .to_owned();
        entries.entry(entry).or_default().push(
            args.join(" ")
                .replace(&hub, "[HUB]")
                .replace(hub.trim_start_matches("http://"), "[HUB]"),
        );
    }
    let text = entries
        .iter()
        .map(|(entry, names)| format!("{}\n  ⇒\n{entry}\n", names.join("\n")))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(text, @r#"
    https://huggingface.co/spaces/acme/demo
    hf://spaces/acme/demo
    acme/demo --repo-type space
      ⇒
    repo = "acme/demo"
    repo-type = "space"

    acme/squad --repo-type dataset
    https://huggingface.co/datasets/acme/squad
    hf://datasets/acme/squad --repo-type dataset
      ⇒
    repo = "acme/squad"
    repo-type = "dataset"

    https://huggingface.co/datasets/acme/squad/tree/main/plain_text
    hf://datasets/acme/squad/plain_text/
    [HUB]/datasets/acme/squad/tree/main/plain_text
      ⇒
    repo = "acme/squad"
    repo-type = "dataset"
    include = ["plain_text/**"]

    acme/tiny
    https://huggingface.co/acme/tiny
    https://hf.co/acme/tiny?library=transformers#model-card
    huggingface.co/models/acme/tiny
    hf://acme/tiny
      ⇒
    repo = "acme/tiny"

    https://huggingface.co/acme/tiny/tree/main/onnx
    hf://acme/tiny@main/onnx/
      ⇒
    repo = "acme/tiny"
    include = ["onnx/**"]

    acme/tiny@refs/pr/3
    https://huggingface.co/acme/tiny/tree/refs%2Fpr%2F3
    https://huggingface.co/acme/tiny/tree/refs/pr/3
    hf://acme/tiny@refs/pr/3
      ⇒
    repo = "acme/tiny"
    revision = "refs/pr/3"

    acme/tiny@v1.0
    https://huggingface.co/acme/tiny/tree/v1.0
    hf://models/acme/tiny@v1.0
      ⇒
    repo = "acme/tiny"
    revision = "v1.0"

    https://huggingface.co/acme/tiny/blob/v1.0/config.json
    https://huggingface.co/acme/tiny/resolve/v1.0/config.json?download=true
    hf://acme/tiny@v1.0/config.json
    [HUB]/acme/tiny/blob/v1.0/config.json
      ⇒
    repo = "acme/tiny"
    revision = "v1.0"
    include = ["config.json"]
    "#);
}

#[test]
fn a_folder_or_file_url_locks_only_what_it_points_at() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    let added = ctx.run(&[
        "add",
        "https://huggingface.co/acme/tiny/tree/main/onnx",
        "--exclude",
        "*.md",
        "--no-sync",
    ]);
    assert!(added.status.success(), "{}", ctx.render(&added));
    let added = ctx.run(&[
        "add",
        "hf://acme/tiny@v1.0/config.json",
        "--name",
        "config",
        "--no-sync",
    ]);
    assert!(added.status.success(), "{}", ctx.render(&added));
    let lock = ctx.read("models.lock");
    let paths: Vec<&str> = lock
        .lines()
        .filter_map(|line| line.trim().strip_prefix("{ path = \""))
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    // Entries in name order: `config`, then `tiny`.
    assert_eq!(paths, ["config.json", "onnx/model.onnx"], "{lock}");
    // The template's comments, then the two entries.
    let manifest = ctx.read("models.toml");
    let entries = &manifest[manifest.find("\n[models.").unwrap() + 1..];
    insta::assert_snapshot!(entries, @r#"
    [models.tiny]
    repo = "acme/tiny"
    include = ["onnx/**"]
    exclude = ["*.md"]

    [models.config]
    repo = "acme/tiny"
    revision = "v1.0"
    include = ["config.json"]
    "#);
}

#[test]
fn names_that_cannot_be_read_or_contradict_the_flags_are_usage_errors() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["add", "acme/tiny/extra"])), @r#"
    exit: 2
    --- stdout
    --- stderr
      × `acme/tiny/extra` does not name a repo: the repo id `acme/tiny/extra` has more than one `/`: a repo id is `name` or `namespace/name`
      help: name a repo as one of:
              org/name  or  org/name@REV (a branch, tag, commit or refs/pr/N)
              https://huggingface.co/org/name  (also …/datasets/org/name, …/spaces/org/name)
              https://huggingface.co/org/name/tree/REV/DIR  (a folder: include DIR/**)
              https://huggingface.co/org/name/blob/REV/FILE  or  …/resolve/REV/FILE  (one file)
              hf://[datasets/|spaces/]org/name[@REV][/PATH]
            URLs on the configured endpoint [HUB] work the same way
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["add", "https://huggingface.co/acme/tiny/discussions/4"])), @r#"
    exit: 2
    --- stdout
    --- stderr
      × `https://huggingface.co/acme/tiny/discussions/4` does not name a repo: `/discussions/` pages do not point at files of the repo
      help: use the repo's page (hf://acme/tiny) or a /tree/, /blob/ or /resolve/ URL
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["add", "https://huggingface.co/datasets/acme/squad", "--repo-type", "model"])), @r#"
    exit: 2
    --- stdout
    --- stderr
      × `https://huggingface.co/datasets/acme/squad`: it names a dataset repo, but --repo-type says model
      help: drop --repo-type, or name the model: hf://acme/squad
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["add", "https://huggingface.co/acme/tiny/tree/main/onnx", "--include", "*.onnx"])), @r#"
    exit: 2
    --- stdout
    --- stderr
      × `https://huggingface.co/acme/tiny/tree/main/onnx`: it already selects `onnx/**`, and --include `*.onnx` would add files to that selection, not narrow it
      help: name the whole repo (hf://acme/tiny) and write every pattern you want with --include (e.g. `--include 'onnx/*.onnx'`), or keep the URL and narrow it with --exclude
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "https://example.com/acme/tiny"])), @r#"
    exit: 2
    --- stdout
    --- stderr
      × `https://example.com/acme/tiny` does not name a repo: `example.com` is not a Hugging Face Hub host (huggingface.co, hf.co, or the configured endpoint's 127.0.0.1)
      help: copy the URL from the Hub, or set the `endpoint` setting (HF_ENDPOINT) to your mirror
    "#);
    // Nothing was written, nothing was asked of the Hub.
    assert!(!ctx.project.join("models.toml").exists());
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    let json = ctx.run(&["add", "hf://gpt2", "--json"]);
    assert_eq!(json.status.code(), Some(2));
    assert_eq!(stdout_json(&json)["error"]["code"], "usage");
}

#[test]
fn search_lists_matches_as_a_table() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["search", "BERT"])), @r#"
    exit: 0
    --- stdout
    ID              DOWNLOADS  LIKES  LICENSE     MODIFIED    GATED
    zoo/bert-base   300        30     mit         2025-04-01  no
    zoo/bert-large  200        50     apache-2.0  2025-05-01  no
    --- stderr
    2 models; `hfdl info ID` shows one, `hfdl add ID` adds it
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["search", "acme", "--sort", "downloads"])), @r#"
    exit: 0
    --- stdout
    ID          DOWNLOADS  LIKES  LICENSE     MODIFIED    GATED
    acme/gated  5,000      1      llama3      2025-04-01  manual
    acme/tiny   1,234      7      apache-2.0  2025-06-01  no
    --- stderr
    2 models; `hfdl info ID` shows one, `hfdl add ID` adds it
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["search", "--type", "dataset"])), @r#"
    exit: 0
    --- stdout
    ID          DOWNLOADS  LIKES  LICENSE  MODIFIED    GATED
    acme/squad  99         2      -        2025-05-01  no
    --- stderr
    1 dataset; `hfdl info ID` shows one, `hfdl add ID` adds it
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["search", "demo", "--type", "space"])), @r#"
    exit: 0
    --- stdout
    ID         DOWNLOADS  LIKES  LICENSE  MODIFIED    GATED
    acme/demo  -          4      mit      2025-05-01  -
    --- stderr
    1 Space; `hfdl info ID` shows one, `hfdl add ID` adds it
    "#);
}

/// The ids a `search --json` found.
fn found(ctx: &TestContext, args: &[&str]) -> Vec<String> {
    let mut command = ctx.hfdl();
    command.arg("search").args(args).arg("--json");
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    stdout_json(&output)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn search_narrows_and_sorts_with_each_flag() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    assert_eq!(
        found(&ctx, &["zoo"]),
        ["zoo/bert-base", "zoo/bert-large", "zoo/gpt-mini"]
    );
    assert_eq!(
        found(&ctx, &["--author", "acme"]),
        ["acme/gated", "acme/tiny"]
    );
    assert_eq!(
        found(&ctx, &["--filter", "license:mit"]),
        ["zoo/bert-base", "zoo/gpt-mini"]
    );
    assert_eq!(
        found(
            &ctx,
            &[
                "--filter",
                "license:mit",
                "--filter",
                "transformers",
                "bert"
            ]
        ),
        ["zoo/bert-base"]
    );
    assert_eq!(
        found(&ctx, &["--filter", "feature-extraction"]),
        ["acme/tiny"]
    );
    assert_eq!(
        found(&ctx, &["zoo", "--sort", "downloads"]),
        ["zoo/bert-base", "zoo/bert-large", "zoo/gpt-mini"]
    );
    assert_eq!(
        found(&ctx, &["zoo", "--sort", "likes"]),
        ["zoo/bert-large", "zoo/bert-base", "zoo/gpt-mini"]
    );
    assert_eq!(
        found(&ctx, &["zoo", "--sort", "modified"]),
        ["zoo/gpt-mini", "zoo/bert-large", "zoo/bert-base"]
    );
    assert_eq!(
        found(&ctx, &["--sort", "downloads", "--limit", "2"]),
        ["acme/gated", "acme/tiny"]
    );
    assert_eq!(found(&ctx, &["--type", "space"]), ["acme/demo"]);
    assert_eq!(
        found(&ctx, &["--repo-type", "dataset", "squad"]),
        ["acme/squad"]
    );
    // What each flag sent: the query huggingface_hub's list_models sends.
    let last = ctx
        .hub
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == "/api/models")
        .unwrap();
    let query = last.query.unwrap();
    assert!(
        query.starts_with("sort=downloads&direction=-1&limit=2&expand=downloads&expand=likes&expand=lastModified&expand=gated"),
        "{query}"
    );
    // Spaces have no downloads to sort by.
    let spaces = ctx.run(&["search", "--type", "space", "--sort", "downloads"]);
    assert_eq!(spaces.status.code(), Some(2), "{}", ctx.render(&spaces));
}

#[test]
fn search_follows_the_next_page_until_the_limit() {
    let ctx = TestContext::with_server(ServerOptions {
        page_size: 2,
        ..ServerOptions::default()
    });
    discovery_fixtures(&ctx);
    ctx.hub.reset();
    // 5 models; pages of 2 hold them in 3.
    let all = found(&ctx, &["--limit", "100"]);
    assert_eq!(
        all,
        [
            "acme/gated",
            "acme/tiny",
            "zoo/bert-base",
            "zoo/bert-large",
            "zoo/gpt-mini"
        ]
    );
    let pages = ctx
        .hub
        .requests()
        .iter()
        .filter(|r| r.path == "/api/models")
        .count();
    assert_eq!(pages, 3, "{:?}", ctx.hub.requests());
    ctx.hub.reset();
    // A limit past the first page takes what it needs from the second, and stops.
    assert_eq!(found(&ctx, &["zoo", "--limit", "3"]).len(), 3);
    let pages: Vec<String> = ctx
        .hub
        .requests()
        .iter()
        .filter(|r| r.path == "/api/models")
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[1].ends_with("&cursor=2"), "{pages:?}");
}

#[test]
fn search_without_matches_says_so_and_prints_nothing() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["search", "no-such-thing"])), @r#"
    exit: 0
    --- stdout
    --- stderr
    No models match `no-such-thing` (with these filters)
    "#);
    let json = ctx.run(&["search", "no-such-thing", "--json"]);
    assert!(json.status.success());
    assert_eq!(stdout_json(&json)["results"], serde_json::json!([]));
}

#[test]
fn search_json_has_every_column_and_the_token_is_sent() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    let output = ctx
        .hfdl()
        .env("HF_TOKEN", TOKEN)
        .args(["search", "tiny", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    insta::assert_snapshot!(serde_json::to_string_pretty(&stdout_json(&output)).unwrap(), @r#"
    {
      "query": "tiny",
      "repo_type": "model",
      "results": [
        {
          "downloads": 1234,
          "gated": "no",
          "id": "acme/tiny",
          "last_modified": "2025-06-01T00:00:00.000Z",
          "library_name": "transformers",
          "license": "apache-2.0",
          "likes": 7,
          "pipeline_tag": "feature-extraction",
          "private": false,
          "tags": [
            "safetensors",
            "transformers",
            "feature-extraction",
            "sentence-similarity",
            "en",
            "license:apache-2.0"
          ]
        }
      ]
    }
    "#);
    let request = ctx
        .hub
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/models")
        .unwrap();
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn info_shows_the_card_the_hub_parsed() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    ctx.hub.reset();
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "acme/tiny"])), @r#"
    exit: 0
    --- stdout
    acme/tiny (model)
      page           [HUB]/acme/tiny
      revision       main (commit 428f8087d957ff83993a67d277a946b5a489d44c)
      last modified  2025-06-01T00:00:00.000Z
      license        apache-2.0
      gated          no
      private        no
      library        transformers
      pipeline       feature-extraction
      downloads      1,234 in the last 30 days
      likes          7
      tags           safetensors, transformers, feature-extraction, sentence-similarity, en, license:apache-2.0

    card metadata (README.md):
      language: en
      library_name: transformers
      license: apache-2.0
      pipeline_tag: feature-extraction
      tags: ["sentence-similarity"]

    files: 5 files, 390.80 KiB
      TYPE          FILES    SIZE
      .safetensors  1 file   292.97 KiB
      .onnx         1 file   97.66 KiB
      .md           1 file   136 B
      .json         2 files  39 B
    --- stderr
    "#);
    // The Hub's cardData sufficed: the info and the tree, no README download.
    let counters = ctx.hub.counters();
    assert_eq!(
        (counters.api, counters.resolve_get),
        (2, 0),
        "{:?}",
        ctx.hub.requests()
    );
}

#[test]
fn info_of_a_repo_without_a_card_says_so() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "hf://datasets/acme/squad"])), @r#"
    exit: 0
    --- stdout
    acme/squad (dataset)
      page           [HUB]/datasets/acme/squad
      revision       main (commit d2d34582879ffa734118cd71e72788907dc40699)
      last modified  2025-05-01T00:00:00.000Z
      license        not stated
      gated          no
      private        no
      downloads      99 in the last 30 days
      likes          2

    card metadata: none (README.md has no metadata block (`---` YAML `---` at its top))

    files: 2 files, 48.85 KiB
      TYPE      FILES   SIZE
      .parquet  1 file  48.83 KiB
      .md       1 file  20 B
    --- stderr
    "#);
    // An older revision of the model, whose README had no front matter.
    let older = ctx.run(&["info", "acme/tiny@v1.0", "--json"]);
    assert!(older.status.success(), "{}", ctx.render(&older));
    let older = stdout_json(&older);
    assert_eq!(older["card"]["state"], "missing");
    assert_eq!(older["license"], Value::Null);
    assert_eq!(older["revision"], "v1.0");
}

#[test]
fn info_with_broken_card_yaml_still_works_and_says_why() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    ctx.hub
        .fixtures()
        .commit_at(
            RepoType::Model,
            "acme/tiny",
            "main",
            "break the card",
            vec![FileChange::regular(
                "README.md",
                b"---\nlicense: mit\ntags: [a, b\nlanguage: en\n---\n# tiny\n".to_vec(),
            )],
            at(JUNE),
        )
        .unwrap();
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "acme/tiny"])), @r#"
    exit: 0
    --- stdout
    acme/tiny (model)
      page           [HUB]/acme/tiny
      revision       main (commit d85a83bf25b78f125fc6c1b14bff77362f422629)
      last modified  2025-06-01T00:00:00.000Z
      license        not stated
      gated          no
      private        no
      downloads      1,234 in the last 30 days
      likes          7
      tags           safetensors

    card metadata: could not be parsed: illegal placement of ':' indicator (README.md line 4, column 9)

    files: 5 files, 390.71 KiB
      TYPE          FILES    SIZE
      .safetensors  1 file   292.97 KiB
      .onnx         1 file   97.66 KiB
      .md           1 file   53 B
      .json         2 files  39 B
    --- stderr
    "#);
    let json = stdout_json(&ctx.run(&["info", "acme/tiny", "--json"]));
    assert_eq!(json["card"]["state"], "invalid");
    assert!(
        json["card"]["note"]
            .as_str()
            .unwrap()
            .contains("README.md line"),
        "{json}"
    );
}

#[test]
fn info_of_a_gated_repo_asked_anonymously_says_how_to_get_access() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "acme/gated"])), @r#"
    exit: 0
    --- stdout
    acme/gated (model)
      page           [HUB]/acme/gated
      revision       main (commit b91236f4d587efd99377287a075a66d8c2b3bd70)
      last modified  2025-04-01T00:00:00.000Z
      license        llama3
      gated          yes, the authors approve each request; no token was sent: accept the conditions at [HUB]/acme/gated, then log in with `hfdl login` or set HF_TOKEN
      private        no
      downloads      5,000 in the last 30 days
      likes          1
      tags           license:llama3

    card metadata (README.md):
      extra_gated_prompt: Agree to the terms.
      license: llama3

    files: 2 files, 66 B
      TYPE   FILES   SIZE
      .md    1 file  64 B
      .json  1 file  2 B
    --- stderr
    "#);
    let signed_in = ctx
        .hfdl()
        .env("HF_TOKEN", TOKEN)
        .args(["info", "acme/gated", "--json"])
        .output()
        .unwrap();
    assert!(signed_in.status.success(), "{}", ctx.render(&signed_in));
    assert_eq!(
        stdout_json(&signed_in)["access"],
        serde_json::json!({"state": "granted"})
    );
}

#[test]
fn info_previews_patterns_and_lists_files() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "acme/tiny", "--include", "*.json", "--include", "*.safetensors", "--exclude", "tokenizer*", "--files"])), @r#"
    exit: 0
    --- stdout
    acme/tiny (model)
      page           [HUB]/acme/tiny
      revision       main (commit 428f8087d957ff83993a67d277a946b5a489d44c)
      last modified  2025-06-01T00:00:00.000Z
      license        apache-2.0
      gated          no
      private        no
      library        transformers
      pipeline       feature-extraction
      downloads      1,234 in the last 30 days
      likes          7
      tags           safetensors, transformers, feature-extraction, sentence-similarity, en, license:apache-2.0

    card metadata (README.md):
      language: en
      library_name: transformers
      license: apache-2.0
      pipeline_tag: feature-extraction
      tags: ["sentence-similarity"]

    selected by include '*.json', '*.safetensors', exclude 'tokenizer*': 2 of 5 files, 292.99 KiB of 390.80 KiB
      TYPE          FILES   SIZE
      .safetensors  1 file  292.97 KiB
      .json         1 file  18 B

    PATH               SIZE        STORED IN
    config.json        18 B        git
    model.safetensors  292.97 KiB  lfs
    --- stderr
    "#);
    insta::assert_snapshot!(ctx.render(&ctx.run(&["info", "https://huggingface.co/acme/tiny/tree/main/onnx", "--files"])), @r#"
    exit: 0
    --- stdout
    acme/tiny (model)
      page           [HUB]/acme/tiny
      revision       main (commit 428f8087d957ff83993a67d277a946b5a489d44c)
      last modified  2025-06-01T00:00:00.000Z
      license        apache-2.0
      gated          no
      private        no
      library        transformers
      pipeline       feature-extraction
      downloads      1,234 in the last 30 days
      likes          7
      tags           safetensors, transformers, feature-extraction, sentence-similarity, en, license:apache-2.0

    card metadata (README.md):
      language: en
      library_name: transformers
      license: apache-2.0
      pipeline_tag: feature-extraction
      tags: ["sentence-similarity"]

    selected by include 'onnx/**': 1 of 5 files, 97.66 KiB of 390.80 KiB
      TYPE   FILES   SIZE
      .onnx  1 file  97.66 KiB

    PATH             SIZE       STORED IN
    onnx/model.onnx  97.66 KiB  lfs
    --- stderr
    "#);
}

#[test]
fn the_previewed_total_is_what_a_sync_then_downloads() {
    let ctx = TestContext::new();
    discovery_fixtures(&ctx);
    for (include, exclude) in [
        (vec!["*.json", "*.safetensors"], vec!["tokenizer*"]),
        (vec![], vec!["onnx/*"]),
        (vec!["onnx/"], vec![]),
    ] {
        let project = ctx
            .project
            .join(format!("p-{}", include.len() * 10 + exclude.len()));
        fs_err::create_dir_all(&project).unwrap();
        let manifest = project.join("models.toml");
        let patterns: Vec<String> = include
            .iter()
            .flat_map(|p| ["--include".to_owned(), (*p).to_owned()])
            .chain(
                exclude
                    .iter()
                    .flat_map(|p| ["--exclude".to_owned(), (*p).to_owned()]),
            )
            .collect();
        let info = ctx
            .hfdl()
            .args(["info", "acme/tiny", "--json"])
            .args(&patterns)
            .output()
            .unwrap();
        assert!(info.status.success(), "{}", ctx.render(&info));
        let preview = stdout_json(&info)["files"].clone();
        assert!(preview["selected_files"].as_u64().unwrap() > 0, "{preview}");

        // A fresh store, so the sync downloads everything it selects.
        let store = ctx
            .root
            .path()
            .join(format!("store-{}", include.len() * 10 + exclude.len()));
        let sync = ctx
            .hfdl()
            .args([
                "--manifest",
                manifest.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
            ])
            .args(["add", "acme/tiny", "--json"])
            .args(&patterns)
            .output()
            .unwrap();
        assert!(sync.status.success(), "{}", ctx.render(&sync));
        let summary = stdout_json(&sync)["summary"].clone();
        assert_eq!(
            summary["downloaded_bytes"], preview["selected_bytes"],
            "{include:?} {exclude:?}: {summary} vs {preview}"
        );
        assert_eq!(
            summary["downloaded_files"], preview["selected_files"],
            "{include:?} {exclude:?}"
        );
    }
}
