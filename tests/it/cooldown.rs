//! `exclude-newer` (a cooldown before a commit is locked) and `hfdl lock --upgrade-model
//! NAME@REV`, end to end against the mock Hub's commit history.

use std::time::{Duration, SystemTime};

use hfdl_mock_hub::{FileChange, RepoType};

use crate::support::{TestContext, json_error_code};

/// `acme/tiny`'s main after [`with_history`]: the initial commit (tag v1.0), then one 30 days
/// old, then one a day old.
struct History {
    initial: String,
    old: String,
    recent: String,
}

fn days_ago(days: u64) -> SystemTime {
    SystemTime::now() - Duration::from_hours(24 * days)
}

fn with_history(ctx: &TestContext) -> History {
    let fixtures = ctx.hub.fixtures();
    let initial = fixtures
        .resolve_revision(RepoType::Model, "acme/tiny", "v1.0")
        .unwrap();
    let commit = |message: &str, config: &str, date| {
        fixtures
            .commit_at(
                RepoType::Model,
                "acme/tiny",
                "main",
                message,
                vec![FileChange::regular(
                    "config.json",
                    config.as_bytes().to_vec(),
                )],
                date,
            )
            .unwrap()
    };
    let old = commit("old", r#"{"hidden_size": 16}"#, days_ago(30));
    let recent = commit("recent", r#"{"hidden_size": 32}"#, days_ago(1));
    History {
        initial,
        old,
        recent,
    }
}

fn short(commit: &str) -> &str {
    &commit[..12]
}

/// The date `days` ago as `hfdl` prints it (`2026-10-01`).
fn date_days_ago(days: u64) -> String {
    hfdl_mock_hub::fixtures::format_date(days_ago(days))[..10].to_owned()
}

fn locked_commit(ctx: &TestContext) -> String {
    let lock = ctx.read("models.lock");
    let line = lock
        .lines()
        .find(|l| l.starts_with("commit = "))
        .unwrap_or_else(|| panic!("no commit in {lock}"));
    line.trim_start_matches("commit = \"")
        .trim_end_matches('"')
        .to_owned()
}

const TINY: &str = "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n";

#[test]
fn a_cooldown_in_settings_locks_the_newest_commit_old_enough_and_says_so() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    ctx.write_manifest(&format!("{TINY}\n[settings]\nexclude-newer = \"7 days\"\n"));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.old);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let held = format!(
        "tiny: kept at {} ({}); main is at {}, newer than 7 days",
        short(&history.old),
        date_days_ago(30),
        short(&history.recent)
    );
    assert!(stderr.contains(&held), "{stderr}");

    let check = ctx.run(&["lock", "--check"]);
    assert!(check.status.success(), "{}", ctx.render(&check));

    // --upgrade re-resolves and keeps respecting the cooldown.
    let upgrade = ctx.run(&["--json", "lock", "--upgrade"]);
    assert!(upgrade.status.success(), "{}", ctx.render(&upgrade));
    assert_eq!(locked_commit(&ctx), history.old);
    let report: serde_json::Value = serde_json::from_slice(&upgrade.stdout).unwrap();
    let change = &report["changes"][0];
    assert_eq!(change["change"], "unchanged");
    assert_eq!(change["held_back"]["latest"], history.recent.as_str());
    assert_eq!(change["held_back"]["revision"], "main");
    assert_eq!(change["held_back"]["exclude_newer"], "7 days");
    assert!(
        change["held_back"]["locked_date"]
            .as_str()
            .is_some_and(|d| d.starts_with(&date_days_ago(30))),
        "{change}"
    );
}

#[test]
fn an_entry_cooldown_overrides_the_one_in_settings() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    // Alone, 60 days would find nothing old enough; the entry's 12 hours wins.
    ctx.write_manifest(&format!(
        "{TINY}exclude-newer = \"12h\"\n\n[settings]\nexclude-newer = \"60 days\"\n"
    ));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.recent);
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("kept at"),
        "nothing was held back: {}",
        ctx.render(&output)
    );
}

#[test]
fn removing_the_cooldown_makes_the_lock_stale_and_upgrade_takes_the_newest_commit() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    ctx.write_manifest(&format!("{TINY}exclude-newer = \"2 weeks\"\n"));
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.old);

    ctx.write_manifest(TINY);
    let check = ctx.run(&["lock", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", ctx.render(&check));
    let upgrade = ctx.run(&["lock", "--upgrade"]);
    assert!(upgrade.status.success(), "{}", ctx.render(&upgrade));
    assert_eq!(locked_commit(&ctx), history.recent);
    let stderr = String::from_utf8_lossy(&upgrade.stderr);
    assert!(
        stderr.contains(&format!(
            "Updated tiny: {} -> {}",
            short(&history.old),
            short(&history.recent)
        )),
        "{stderr}"
    );
}

#[test]
fn a_bad_exclude_newer_is_a_manifest_error_at_the_value() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nexclude-newer = \"7 fortnights\"\n");
    insta::assert_snapshot!(ctx.render(&ctx.run(&["lock"])), @r#"
    exit: 2
    --- stdout
    --- stderr
      × models.toml: invalid exclude-newer "7 fortnights" in [models.tiny]: unknown unit `fortnights`
       ╭─[models.toml:3:17]
     2 │ repo = "acme/tiny"
     3 │ exclude-newer = "7 fortnights"
       ·                 ───────┬──────
       ·                        ╰── unknown unit `fortnights`
       ╰────
      help: use a duration like "7 days", "36h", "2 weeks", "30m" (minutes), or an RFC 3339 timestamp like "2026-01-01T00:00:00Z"
    "#);
}

#[test]
fn a_cooldown_no_commit_satisfies_fails_naming_the_entry_and_the_oldest_date() {
    let ctx = TestContext::new();
    with_history(&ctx);
    // The initial commit is dated now, so the 30-day-old one is the oldest.
    ctx.write_manifest(&format!("{TINY}exclude-newer = \"60 days\"\n"));
    let output = ctx.run(&["lock"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "`tiny`: no commit of acme/tiny@main is old enough for exclude-newer = \"60 days\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("its oldest commit is dated {}", date_days_ago(30))),
        "{stderr}"
    );
    assert!(!ctx.project.join("models.lock").exists(), "no lock written");
    let json = ctx.run(&["--json", "lock"]);
    assert_eq!(json_error_code(&json), "nothing-old-enough");
}

#[test]
fn upgrade_model_at_a_tag_pins_its_commit_and_the_lock_stays_fresh() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    ctx.write_manifest(TINY);
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.recent);
    let locked = ctx.read("models.lock");

    let dry_run = ctx.run(&["lock", "--upgrade-model", "tiny@v1.0", "--dry-run"]);
    assert!(dry_run.status.success(), "{}", ctx.render(&dry_run));
    assert_eq!(
        String::from_utf8_lossy(&dry_run.stdout),
        format!(
            "Updated tiny: {} -> {} (v1.0)\n",
            short(&history.recent),
            short(&history.initial)
        )
    );
    assert_eq!(ctx.read("models.lock"), locked, "a dry run writes nothing");

    let output = ctx.run(&["lock", "--upgrade-model", "tiny@v1.0"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.initial);
    assert_eq!(ctx.read("models.toml"), TINY, "the manifest is not edited");
    assert!(
        ctx.read("models.lock").contains("revision = \"main\""),
        "the entry still tracks main"
    );
    let check = ctx.run(&["lock", "--check"]);
    assert!(check.status.success(), "{}", ctx.render(&check));
    // A plain lock keeps the pin, like any other.
    let again = ctx.run(&["lock"]);
    assert!(again.status.success(), "{}", ctx.render(&again));
    assert_eq!(locked_commit(&ctx), history.initial);
    // So does sync --locked, which then downloads that commit's files.
    let sync = ctx.run(&["sync", "--locked"]);
    assert!(sync.status.success(), "{}", ctx.render(&sync));
    let snapshot = ctx
        .repo_dir("models--acme--tiny")
        .join("snapshots")
        .join(&history.initial)
        .join("config.json");
    assert_eq!(
        fs_err::read_to_string(snapshot).unwrap(),
        r#"{"hidden_size": 8}"#
    );

    // A full commit works too, and `--upgrade-model NAME` alone moves back to main's tip.
    let output = ctx.run(&["lock", "--upgrade-model", &format!("tiny@{}", history.old)]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.old);
    let output = ctx.run(&["lock", "--upgrade-model", "tiny"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.recent);
}

#[test]
fn upgrade_model_at_an_unknown_revision_names_the_entry_and_the_refs() {
    let ctx = TestContext::new();
    with_history(&ctx);
    ctx.write_manifest(TINY);
    let output = ctx.run(&["lock", "--upgrade-model", "tiny@nope"]);
    insta::assert_snapshot!(ctx.render(&output), @"
    exit: 1
    --- stdout
    --- stderr
    Resolving tiny (acme/tiny@nope)
      × cannot resolve `tiny` (acme/tiny)
      ╰─▶   × revision `nope` was not found in `acme/tiny`
            help: branches of acme/tiny: main; tags: v1.0; pass one of them, `refs/pr/N` or a full commit hash as `--upgrade-model tiny@REV`
    ");
    let json = ctx.run(&["--json", "lock", "--upgrade-model", "tiny@nope"]);
    assert_eq!(json_error_code(&json), "revision-not-found");
    let unknown = ctx.run(&["--json", "lock", "--upgrade-model", "tyni@v1.0"]);
    assert_eq!(json_error_code(&unknown), "unknown-model");
    assert!(!ctx.project.join("models.lock").exists(), "no lock written");
}

#[test]
fn a_tag_newer_than_the_cooldown_is_refused_not_walked_back_to_its_parent() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    ctx.hub
        .fixtures()
        .set_tag(RepoType::Model, "acme/tiny", "v2.0", &history.recent)
        .unwrap();
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\nrevision = \"v2.0\"\nexclude-newer = \"7 days\"\n",
    );
    let output = ctx.run(&["lock", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "nothing-old-enough");
    assert!(!ctx.project.join("models.lock").exists());

    // Old enough: the tag's own commit is taken.
    ctx.hub
        .fixtures()
        .set_tag(RepoType::Model, "acme/tiny", "v2.0", &history.old)
        .unwrap();
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), history.old);
}

#[test]
fn outdated_says_what_the_cooldown_holds_back() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\n\n[settings]\nexclude-newer = \"7 days\"\n",
    );
    assert!(ctx.run(&["lock"]).status.success());
    assert_eq!(locked_commit(&ctx), history.old);
    let output = ctx.run(&["outdated", "--json", "--exit-code"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let tiny = &value["models"][0];
    assert_eq!(tiny["state"], "up-to-date", "{value}");
    assert_eq!(
        tiny["held_back"]["latest"],
        history.recent.as_str(),
        "{value}"
    );
    let text = ctx.run(&["outdated"]);
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(
        stderr.contains(&format!(
            "main is at {}, held back by exclude-newer = \"7 days\"",
            short(&history.recent)
        )),
        "{stderr}"
    );
}

#[test]
fn a_personal_cooldown_does_not_make_a_committed_lock_stale() {
    let ctx = TestContext::new();
    let history = with_history(&ctx);
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\n");
    assert!(ctx.run(&["lock"]).status.success());
    assert_eq!(locked_commit(&ctx), history.recent);
    for args in [&["lock", "--check"][..], &["sync", "--locked"][..]] {
        let output = ctx
            .hfdl()
            .env("HFDL_EXCLUDE_NEWER", "7 days")
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", ctx.render(&output));
    }
    // It applies when the user re-resolves.
    let upgrade = ctx
        .hfdl()
        .env("HFDL_EXCLUDE_NEWER", "7 days")
        .args(["lock", "--upgrade"])
        .output()
        .unwrap();
    assert!(upgrade.status.success(), "{}", ctx.render(&upgrade));
    assert_eq!(locked_commit(&ctx), history.old);
}

#[test]
fn a_cooldown_follows_the_history_onto_its_second_page() {
    let ctx = TestContext::new();
    let fixtures = ctx.hub.fixtures();
    let old = fixtures
        .commit_at(
            RepoType::Model,
            "acme/tiny",
            "main",
            "old",
            vec![FileChange::regular("config.json", b"{\"v\": 0}".to_vec())],
            days_ago(30),
        )
        .unwrap();
    // More recent commits than one page of history holds.
    for n in 1..=60 {
        fixtures
            .commit_at(
                RepoType::Model,
                "acme/tiny",
                "main",
                &format!("recent {n}"),
                vec![FileChange::regular(
                    "config.json",
                    format!("{{\"v\": {n}}}").into_bytes(),
                )],
                days_ago(1),
            )
            .unwrap();
    }
    ctx.write_manifest(
        "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\nexclude-newer = \"7 days\"\n",
    );
    ctx.hub.reset();
    let output = ctx.run(&["lock"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(locked_commit(&ctx), old);
    let pages = ctx
        .hub
        .requests()
        .iter()
        .filter(|r| r.path.contains("/commits/"))
        .count();
    assert!(pages >= 2, "the history was paged: {pages} request(s)");
}
