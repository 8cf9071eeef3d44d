//! The life of a model in a project: remove, outdated, status of plain directories, plain
//! directory pruning and adoption of an existing cache.

use std::path::Path;

use crate::support::TestContext;

/// A manifest a person wrote: comments everywhere, its own key order and spacing.
const COMMENTED: &str = r#"# Models for the demo service.

# The small one, for tests.
[models.tiny]
repo = "acme/tiny"   # pinned by the lock
include = ["*.json"]

# Training data.
[models.squad]
repo-type = "dataset"
repo = "acme/squad"

[settings]
# Two at a time is plenty here.
jobs = 2
"#;

#[test]
fn remove_edits_only_its_entry_and_relocks_without_the_network() {
    let ctx = TestContext::new();
    ctx.write_manifest(COMMENTED);
    assert!(ctx.run(&["lock"]).status.success());
    let before = ctx.hub.counters().total_requests();

    insta::assert_snapshot!(ctx.render(&ctx.run(&["remove", "squad"])), @"
    exit: 0
    --- stdout
    --- stderr
    Removed `squad` (acme/squad) from models.toml
    Its files stay in the store, where other projects may share them; `hfdl gc` frees what no remembered lockfile uses (up to 48.84 KiB)
    ");
    insta::assert_snapshot!(ctx.read("models.toml"), @r#"
        # Models for the demo service.

        # The small one, for tests.
        [models.tiny]
        repo = "acme/tiny"   # pinned by the lock
        include = ["*.json"]

        [settings]
        # Two at a time is plenty here.
        jobs = 2
    "#);
    let lock = ctx.read("models.lock");
    assert!(lock.contains("name = \"tiny\""), "{lock}");
    assert!(!lock.contains("squad"), "{lock}");
    assert_eq!(
        ctx.hub.counters().total_requests(),
        before,
        "remove used the network"
    );
    // The lock still satisfies the manifest.
    assert!(ctx.run(&["lock", "--check"]).status.success());
}

#[test]
fn add_keeps_every_comment_and_locks_only_the_new_entry() {
    let ctx = TestContext::new();
    ctx.write_manifest(COMMENTED);
    assert!(ctx.run(&["lock"]).status.success());
    let squad_pin = ctx.read("models.lock");
    ctx.hub.reset();
    let added = ctx.run(&[
        "add",
        "acme/tiny@v1.0",
        "--name",
        "tiny-v1",
        "--include",
        "*.json",
        "--dir",
        "models/tiny",
        "--no-sync",
    ]);
    insta::assert_snapshot!(ctx.render(&added), @"
    exit: 0
    --- stdout
    --- stderr
    Resolving tiny-v1 (acme/tiny@v1.0)
    Added `tiny-v1` (acme/tiny) to models.toml
    Locked tiny-v1 at 736f2fd85944
    ");
    insta::assert_snapshot!(ctx.read("models.toml"), @r#"
    # Models for the demo service.

    # The small one, for tests.
    [models.tiny]
    repo = "acme/tiny"   # pinned by the lock
    include = ["*.json"]

    # Training data.
    [models.squad]
    repo-type = "dataset"
    repo = "acme/squad"

    [models.tiny-v1]
    repo = "acme/tiny"
    revision = "v1.0"
    include = ["*.json"]
    dir = "models/tiny"

    [settings]
    # Two at a time is plenty here.
    jobs = 2
    "#);
    // Only the new entry was resolved (the output names no other), and nothing downloaded.
    let counters = ctx.hub.counters();
    assert!(
        ctx.hub.requests().iter().all(|r| !r.path.contains("squad")),
        "the unchanged entries kept their pins: {:?}",
        ctx.hub.requests()
    );
    assert_eq!(
        counters.resolve_get + counters.cdn,
        0,
        "--no-sync downloads nothing"
    );
    assert!(ctx.read("models.lock").contains("name = \"tiny-v1\""));
    assert!(
        ctx.read("models.lock")
            .starts_with(&squad_pin[..squad_pin.find("[[model]]").unwrap()])
    );
    // A duplicate name is refused and changes nothing.
    let before = ctx.read("models.toml");
    let duplicate = ctx.run(&["add", "acme/squad", "--name", "tiny"]);
    assert_eq!(
        duplicate.status.code(),
        Some(2),
        "{}",
        ctx.render(&duplicate)
    );
    assert_eq!(ctx.read("models.toml"), before);
}

#[test]
fn remove_of_an_unknown_name_lists_the_known_ones_and_writes_nothing() {
    let ctx = TestContext::new();
    ctx.write_manifest(COMMENTED);
    assert!(ctx.run(&["lock"]).status.success());
    let lock = ctx.read("models.lock");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["remove", "tiny", "sqad"])), @"
        exit: 2
        --- stdout
        --- stderr
          × no entry named `sqad` in models.toml
          help: known entries: squad, tiny
    ");
    assert_eq!(ctx.read("models.toml"), COMMENTED);
    assert_eq!(ctx.read("models.lock"), lock);
}

#[test]
fn remove_json_reports_what_it_unlocked() {
    let ctx = TestContext::new();
    ctx.write_manifest(COMMENTED);
    assert!(ctx.run(&["lock"]).status.success());
    let output = ctx.run(&["remove", "tiny", "--json"]);
    assert!(output.status.success());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["removed"], serde_json::json!(["tiny"]));
    assert_eq!(value["lock_written"], true);
    assert_eq!(value["unlocked_bytes"], 39);
}

/// Moves acme/tiny's main: config changed, tokenizer deleted, a new file added.
fn move_tiny_upstream(ctx: &TestContext) -> String {
    use hfdl_mock_hub::{FileChange, RepoType};
    ctx.hub
        .fixtures()
        .commit_at(
            RepoType::Model,
            "acme/tiny",
            "main",
            "bigger config",
            vec![
                FileChange::regular("config.json", br#"{"hidden_size": 16}"#.to_vec()),
                FileChange::delete("tokenizer.json"),
                FileChange::regular("generation_config.json", b"{}".to_vec()),
            ],
            // A fixed date, so the outdated table is stable.
            std::time::UNIX_EPOCH + std::time::Duration::from_hours(20_412 * 24),
        )
        .unwrap()
}

#[test]
fn outdated_shows_the_commit_date_and_file_diff_after_the_branch_moves() {
    let ctx = TestContext::new();
    ctx.write_manifest(COMMENTED);
    assert!(ctx.run(&["lock"]).status.success());
    insta::assert_snapshot!(ctx.render(&ctx.run(&["outdated"])), @"
    exit: 0
    --- stdout
    --- stderr
    Resolving squad (acme/squad@main)
    Resolving tiny (acme/tiny@main)
    All 2 checked models are up to date with upstream
    ");

    let moved = move_tiny_upstream(&ctx);
    let lock = ctx.read("models.lock");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["outdated", "--exit-code"])), @"
    exit: 1
    --- stdout
    NAME  STATE     LOCKED        LATEST        DATE        FILES     DOWNLOAD  REVISION
    tiny  outdated  736f2fd85944  b20107b8e554  2025-11-20  +1 -1 ~1  21 B      acme/tiny@main

    tiny:
      + generation_config.json (2 B)
      ~ config.json (19 B)
      - tokenizer.json (21 B)
    --- stderr
    Resolving squad (acme/squad@main)
    Resolving tiny (acme/tiny@main)
      × 1 model moved upstream: tiny
      help: take the updates with `hfdl lock --upgrade-model NAME`, or `hfdl lock --upgrade`
    ");
    assert_eq!(
        ctx.read("models.lock"),
        lock,
        "outdated never writes the lock"
    );

    let output = ctx.run(&["outdated", "--json", "--exit-code"]);
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .expect("one JSON document on stdout, even with --exit-code");
    assert_eq!(value["outdated"], 1);
    let tiny = value["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tiny")
        .unwrap();
    assert_eq!(tiny["state"], "outdated");
    assert_eq!(tiny["latest"], moved);
    assert_eq!(tiny["download_bytes"], 21);
    assert_eq!(tiny["added"][0]["path"], "generation_config.json");

    // Naming only the unchanged entry: nothing drifted.
    let squad = ctx.run(&["outdated", "squad", "--exit-code"]);
    assert!(squad.status.success(), "{}", ctx.render(&squad));

    // Taking the update clears the drift.
    assert!(
        ctx.run(&["lock", "--upgrade-model", "tiny"])
            .status
            .success()
    );
    assert!(ctx.run(&["outdated", "--exit-code"]).status.success());

    // A manifest edit is not upstream drift: shown, but --exit-code stays 0 (`lock --check`
    // is the tool for a stale lock).
    ctx.write_manifest(&COMMENTED.replace(
        "repo = \"acme/squad\"",
        "repo = \"acme/squad\"\ninclude = [\"*.md\"]",
    ));
    let output = ctx.run(&["outdated", "--json", "--exit-code"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let squad = value["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "squad")
        .unwrap();
    assert_eq!(squad["state"], "manifest-changed", "{value}");
    assert_eq!(value["outdated"], 0);
}

#[test]
fn outdated_offline_is_refused_without_a_request() {
    let ctx = TestContext::new();
    ctx.write_manifest(COMMENTED);
    assert!(ctx.run(&["lock"]).status.success());
    let before = ctx.hub.counters().total_requests();
    let output = ctx.run(&["outdated", "--offline"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), before);
}

#[test]
fn a_plain_directory_follows_the_lock_and_keeps_files_people_put_there() {
    let ctx = TestContext::new();
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\ndir = \"models/tiny\"\n",
    );
    let first = ctx.run(&["sync"]);
    assert!(first.status.success(), "{}", ctx.render(&first));
    let dir = ctx.project.join("models/tiny");
    insta::assert_snapshot!(crate::support::tree(&dir), @"
    config.json
    tokenizer.json
    ");
    // Real files, not links into the cache, and nothing of hfdl's inside.
    let meta = fs_err::symlink_metadata(dir.join("config.json")).unwrap();
    assert!(meta.file_type().is_file());
    // Hard-linked to the blob, so read-only: writing through it would corrupt the cache.
    assert!(meta.permissions().readonly(), "{meta:?}");
    fs_err::write(dir.join("notes.txt"), "mine").unwrap();

    // Upstream drops tokenizer.json and adds a file; the upgrade reaches the plain directory.
    move_tiny_upstream(&ctx);
    assert!(ctx.run(&["lock", "--upgrade"]).status.success());
    let dry = ctx.run(&["sync", "--dry-run"]);
    insta::assert_snapshot!(ctx.render(&dry), @"
    exit: 0
    --- stdout
    Would download 2 files (21 B), verify 0, link 2, write 1 ref, prune 1
      download tiny         config.json 19 B
      download tiny         generation_config.json 2 B
      link     tiny         config.json (missing)
      link     tiny         generation_config.json (missing)
      ref      tiny         main -> b20107b8e554
      dir      tiny         models/tiny/config.json
      dir      tiny         models/tiny/generation_config.json
      prune    tiny         models/tiny/tokenizer.json
    --- stderr
    ");
    let second = ctx.run(&["sync"]);
    assert!(second.status.success(), "{}", ctx.render(&second));
    insta::assert_snapshot!(crate::support::tree(&dir), @"
    config.json
    generation_config.json
    notes.txt
    ");
    assert_eq!(
        fs_err::read_to_string(dir.join("config.json")).unwrap(),
        r#"{"hidden_size": 16}"#
    );
    insta::assert_snapshot!(ctx.render(&ctx.run(&["status"])), @"
    exit: 0
    --- stdout
    NAME  STATE    FILES  ON DISK  COMMIT        DIR               REPO
    tiny  present  2/2    21 B     b20107b8e554  models/tiny (ok)  acme/tiny
    --- stderr
    ");
    // Replacing a file (as editors do) leaves the blob alone.
    fs_err::remove_file(dir.join("config.json")).unwrap();
    fs_err::write(dir.join("config.json"), "edited").unwrap();
    fs_err::remove_file(dir.join("generation_config.json")).unwrap();
    insta::assert_snapshot!(ctx.render(&ctx.run(&["status"])), @"
    exit: 0
    --- stdout
    NAME  STATE    FILES  ON DISK  COMMIT        DIR                                    REPO
    tiny  present  2/2    21 B     b20107b8e554  models/tiny (1 missing, 1 unverified)  acme/tiny
    --- stderr
    ");
    // Sync restores both: the locked paths of a plain directory belong to the lock.
    assert!(ctx.run(&["sync"]).status.success());
    assert_eq!(
        fs_err::read_to_string(dir.join("config.json")).unwrap(),
        r#"{"hidden_size": 16}"#
    );
    // A second sync has nothing to do.
    let again = ctx.run(&["sync", "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("Nothing to do"),
        "{}",
        ctx.render(&again)
    );
}

#[test]
fn init_from_cache_adopts_what_the_cache_holds_without_a_request() {
    let ctx = TestContext::new();
    // Another project filled the cache: tiny (all files) and the squad dataset.
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\n\n[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n",
    );
    assert!(ctx.run(&["sync"]).status.success());
    // One of squad's blobs went missing: its link dangles, so that file is left out.
    let squad = ctx.repo_dir("datasets--acme--squad");
    let parquet = fs_err::read_dir(squad.join("blobs"))
        .unwrap()
        .flatten()
        .find(|e| e.metadata().unwrap().len() == 50_000)
        .unwrap()
        .path();
    fs_err::remove_file(parquet).unwrap();
    fs_err::remove_file(ctx.project.join("models.toml")).unwrap();
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    ctx.hub.reset();

    insta::assert_snapshot!(ctx.render(&ctx.run(&["init", "--from-cache"])), @"
    exit: 0
    --- stdout
    --- stderr
    Adopted squad: acme/squad at 22d6505f4f9e (1 file, 8 B)
      left out plain_text/train-00000-of-00001.parquet: its blob is missing
    Adopted tiny: acme/tiny at 736f2fd85944 (5 files, 390.67 KiB)
    Wrote models.toml and models.lock; `hfdl sync` verifies the files without downloading them
    ");
    insta::assert_snapshot!(ctx.read("models.toml"), @r#"
    # models.toml: the Hugging Face Hub repositories this project needs.
    #
    # `hfdl sync` downloads them into the standard Hugging Face cache (so transformers and
    # sentence-transformers find them, offline too) and pins the exact files in models.lock.
    # Commit both files. Add an entry with `hfdl add REPO[@REVISION]`, or write one by hand:
    #
    # [models.minilm]                       # the entry's name: `hfdl path minilm`
    # repo = "sentence-transformers/all-MiniLM-L6-v2"   # required: `namespace/name` on the Hub
    # repo-type = "model"                   # model (default) | dataset | space
    # revision = "main"                     # branch, tag, "refs/pr/N" or 40-hex commit; default "main"
    # include = ["*.json", "*.safetensors"] # fnmatch patterns (`*` crosses `/`); default: every file
    # exclude = ["onnx/*"]                  # exclude wins over include; a trailing `/` means a folder
    # dir = "models/minilm"                 # also materialise as a plain directory of real files
    #
    # Optional project settings (same keys as config.toml; flags and HFDL_* variables win):
    #
    # [settings]
    # store = "~/.cache/huggingface/hub"    # the Hugging Face cache to use
    # endpoint = "https://huggingface.co"
    # jobs = 8                              # files downloaded in parallel
    # connections = 4                       # connections per large file
    # limit-rate = "50M"                    # bytes per second (K, M, G)
    # timeout = "30s"                       # stall timeout
    # retries = 4
    # progress = true
    # log-level = "info"                    # off | error | warn | info | debug | trace
    # log-format = "text"                   # text | json

    [models.squad]
    repo = "acme/squad"
    repo-type = "dataset"
    include = ["README.md"]

    [models.tiny]
    repo = "acme/tiny"
    include = ["README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json"]
    "#);
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert!(ctx.run(&["lock", "--check"]).status.success());
    let sync = ctx.run(&["sync", "--locked"]);
    assert!(sync.status.success(), "{}", ctx.render(&sync));
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "everything adopted is in place: {:?}",
        ctx.hub.requests()
    );
    // Resolving the adopted manifest against the Hub selects the same files, and records what
    // adopting could not know without a request (license, formats, remote code).
    let before = ctx.read("models.lock");
    assert!(!before.contains("formats = "), "{before}");
    assert!(ctx.run(&["lock", "--upgrade"]).status.success());
    let after = ctx.read("models.lock");
    assert!(
        after.contains("formats = [\"onnx\", \"safetensors\"]"),
        "{after}"
    );
    let pins = |text: &str| {
        let mut lock = hfdl::lock::Lockfile::decode(Path::new("models.lock"), text).unwrap();
        for model in &mut lock.models {
            model.metadata = None;
        }
        lock
    };
    assert_eq!(pins(&after), pins(&before));

    // An existing manifest is never overwritten.
    assert_eq!(ctx.run(&["init", "--from-cache"]).status.code(), Some(2));
}

#[test]
fn init_from_an_empty_cache_says_where_it_looked_and_writes_nothing() {
    let ctx = TestContext::new();
    insta::assert_snapshot!(ctx.render(&ctx.run(&["init", "--from-cache"])), @"
    exit: 1
    --- stdout
    --- stderr
      × no complete snapshot in [TMP]/hf-cache
      help: point hfdl at the cache with --store or HF_HUB_CACHE, or start with `hfdl init` and `hfdl add REPO`
    ");
    assert!(!ctx.project.join("models.toml").exists());
}

/// The `models` stage of examples/docker/Dockerfile, against the mock Hub: lock once, then the
/// stage's commands with the cache elsewhere (the Dockerfile uses a cache mount), then the
/// `COPY --from=models /project/models` of the final stage.
#[test]
fn docker_example_stage_syncs_frozen_and_yields_a_plain_directory() {
    let ctx = TestContext::new();
    hfdl_mock_hub::generate::demo(&ctx.hub.fixtures()).unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docker");
    fs_err::copy(example.join("models.toml"), ctx.project.join("models.toml")).unwrap();
    let lock = ctx.run(&["lock"]);
    assert!(lock.status.success(), "{}", ctx.render(&lock));

    // The build stage: only models.toml and models.lock, a separate cache, --frozen.
    let stage = ctx.root.path().join("stage");
    fs_err::create_dir_all(&stage).unwrap();
    for file in ["models.toml", "models.lock"] {
        fs_err::copy(ctx.project.join(file), stage.join(file)).unwrap();
    }
    let mount = ctx.root.path().join("hf-cache-mount");
    for args in [&["sync", "--frozen", "--no-progress"][..], &["verify"][..]] {
        let output = ctx
            .hfdl()
            .current_dir(&stage)
            .env("HF_HUB_CACHE", &mount)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", ctx.render(&output));
    }
    let plain = stage.join("models/minilm");
    let listing = crate::support::tree(&plain);
    assert!(
        listing.contains("config.json") && listing.contains("model.safetensors"),
        "{listing}"
    );
    assert!(
        !listing.contains("onnx"),
        "excluded files stay out: {listing}"
    );
    assert!(!listing.contains(" -> "), "real files, no links: {listing}");
}

#[test]
fn projects_pinning_one_commit_with_other_patterns_keep_each_others_links() {
    let ctx = TestContext::new();
    let other = ctx.root.path().join("other-project");
    fs_err::create_dir_all(&other).unwrap();
    fs_err::write(
        other.join("models.toml"),
        "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.safetensors\"]\n",
    )
    .unwrap();
    let first = ctx.hfdl().current_dir(&other).arg("sync").output().unwrap();
    assert!(first.status.success(), "{}", ctx.render(&first));
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n");
    assert!(ctx.run(&["sync"]).status.success());

    let snapshot = ctx.repo_dir("models--acme--tiny").join("snapshots").join(
        ctx.hub
            .fixtures()
            .resolve_revision(hfdl_mock_hub::RepoType::Model, "acme/tiny", "main")
            .unwrap(),
    );
    let listing = crate::support::tree(&snapshot);
    assert!(
        listing.contains("model.safetensors ->"),
        "the other project's link stays: {listing}"
    );
    assert!(listing.contains("config.json ->"), "{listing}");
    // Neither project has anything left to do.
    let again = ctx
        .hfdl()
        .current_dir(&other)
        .args(["sync", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("Nothing to do"),
        "{}",
        ctx.render(&again)
    );
    // Verify in either project sees the other's links as wanted, not extra.
    let verify = ctx.run(&["verify"]);
    assert!(verify.status.success(), "{}", ctx.render(&verify));
    let repair = ctx.run(&["verify", "--repair"]);
    assert!(repair.status.success(), "{}", ctx.render(&repair));
    assert!(crate::support::tree(&snapshot).contains("model.safetensors ->"));
    // A link nobody wants is still pruned.
    fs_err::os::unix::fs::symlink("../../blobs/nothing", snapshot.join("stray.bin")).unwrap();
    let dry = ctx.run(&["sync", "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("prune                 stray.bin"),
        "{}",
        ctx.render(&dry)
    );
}

#[test]
fn a_cache_another_tool_filled_is_adopted_but_not_claimed_for_gc() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n");
    // "Another tool" writes the cache (hfdl with a state dir of its own).
    let other_tool = ctx
        .hfdl()
        .env("HFDL_CACHE_DIR", ctx.root.path().join("other-tool-state"))
        .arg("sync")
        .output()
        .unwrap();
    assert!(other_tool.status.success(), "{}", ctx.render(&other_tool));
    // This project adopts it: verified, nothing written, so the repo is not hfdl's.
    ctx.hub.reset();
    let adopt = ctx.run(&["sync"]);
    assert!(adopt.status.success(), "{}", ctx.render(&adopt));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    fs_err::remove_file(ctx.project.join("models.lock")).unwrap();
    fs_err::remove_file(ctx.project.join("models.toml")).unwrap();

    let gc = ctx.run(&["gc"]);
    assert!(gc.status.success(), "{}", ctx.render(&gc));
    assert!(
        ctx.repo_dir("models--acme--tiny")
            .join("snapshots")
            .exists(),
        "a plain gc leaves a repo hfdl only adopted"
    );
    let all = ctx.run(&["gc", "--all"]);
    assert!(all.status.success(), "{}", ctx.render(&all));
    assert!(
        !ctx.repo_dir("models--acme--tiny").exists(),
        "--all sweeps it"
    );
}
