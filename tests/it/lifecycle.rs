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
