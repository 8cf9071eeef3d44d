//! The life of a model in a project: remove, outdated, status of plain directories, plain
//! directory pruning and adoption of an existing cache.

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
        .commit(
            RepoType::Model,
            "acme/tiny",
            "main",
            "bigger config",
            vec![
                FileChange::regular("config.json", br#"{"hidden_size": 16}"#.to_vec()),
                FileChange::delete("tokenizer.json"),
                FileChange::regular("generation_config.json", b"{}".to_vec()),
            ],
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
    NAME  LOCKED        LATEST        DATE        FILES     DOWNLOAD  REVISION
    tiny  736f2fd85944  b20107b8e554  2024-01-03  +1 -1 ~1  21 B      acme/tiny@main

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
