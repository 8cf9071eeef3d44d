//! `hfdl verify`: finds missing, modified and extra files and broken links in the store and in
//! plain directories, without the network; `--repair` re-fetches exactly what is broken.

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::Output;

use hfdl_mock_hub::RepoType;
use serde_json::Value;

use crate::support::{TestContext, json_error_code};

const TINY: &str = r#"
[models.tiny]
repo = "acme/tiny"
include = ["*.json", "*.safetensors"]
"#;

const TINY_WITH_DIR: &str = r#"
[models.tiny]
repo = "acme/tiny"
include = ["*.json", "*.safetensors"]
dir = "models/tiny"
"#;

const TINY_AND_SQUAD: &str = r#"
[models.tiny]
repo = "acme/tiny"
include = ["*.json"]

[models.squad]
repo = "acme/squad"
repo-type = "dataset"
"#;

/// A project whose manifest is synced, with the hub's counters reset afterwards.
fn synced(manifest: &str) -> TestContext {
    let ctx = TestContext::new();
    ctx.write_manifest(manifest);
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    ctx.hub.reset();
    ctx
}

fn tiny_blob(ctx: &TestContext, path: &str) -> PathBuf {
    ctx.repo_dir("models--acme--tiny")
        .join("blobs")
        .join(ctx.tiny_file(path).etag())
}

fn tiny_snapshot(ctx: &TestContext) -> PathBuf {
    let commit = ctx
        .hub
        .fixtures()
        .resolve_revision(RepoType::Model, "acme/tiny", "main")
        .unwrap();
    ctx.repo_dir("models--acme--tiny")
        .join("snapshots")
        .join(commit)
}

/// Flips one byte in place: same size, same inode, new mtime.
fn corrupt_in_place(file: &PathBuf, offset: u64) {
    let mut handle = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .unwrap();
    let mut byte = [0u8; 1];
    handle.seek(SeekFrom::Start(offset)).unwrap();
    std::io::Read::read_exact(&mut handle, &mut byte).unwrap();
    handle.seek(SeekFrom::Start(offset)).unwrap();
    handle.write_all(&[byte[0] ^ 0xff]).unwrap();
    handle.sync_all().unwrap();
}

/// Every JSON document on stdout (a failing `--json` run prints the report, then the error).
fn json_documents(output: &Output) -> Vec<Value> {
    serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
}

/// `(kind, model, path, location)` of every problem in a `--json` report.
fn problems(report: &Value) -> Vec<(String, String, String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let field = |name: &str| p[name].as_str().unwrap_or_default().to_owned();
            (
                field("kind"),
                field("model"),
                field("path"),
                field("location"),
            )
        })
        .collect()
}

fn problem(
    kind: &str,
    model: &str,
    path: &str,
    location: &str,
) -> (String, String, String, String) {
    (kind.into(), model.into(), path.into(), location.into())
}

#[test]
fn a_freshly_synced_store_verifies_clean_without_a_single_request() {
    let ctx = synced(TINY_WITH_DIR);
    let fast = ctx.run(&["verify"]);
    assert_eq!(fast.status.code(), Some(0), "{}", ctx.render(&fast));
    insta::assert_snapshot!(ctx.render(&fast), @"
    exit: 0
    --- stdout
    6 files checked (0 hashed, 0 B), 0 problems
    --- stderr
    ");
    let full = ctx.run(&["verify", "--full", "--no-progress"]);
    assert_eq!(full.status.code(), Some(0), "{}", ctx.render(&full));
    assert!(
        String::from_utf8_lossy(&full.stdout).starts_with("6 files checked (6 hashed, "),
        "{}",
        ctx.render(&full)
    );
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "verify never uses the network"
    );
}

#[test]
fn a_blob_corrupted_in_place_is_caught_by_fast_mode_because_its_stat_changed() {
    let ctx = synced(TINY);
    let blob = tiny_blob(&ctx, "model.safetensors");
    corrupt_in_place(&blob, 1000);

    let output = ctx.run(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let documents = json_documents(&output);
    let report = &documents[0];
    assert_eq!(
        problems(report),
        vec![problem("modified", "tiny", "model.safetensors", "store")]
    );
    let found = &report["problems"][0];
    let expected = format!("sha256:{}", ctx.tiny_file("model.safetensors").etag());
    assert_eq!(found["expected"], expected.as_str());
    let actual = found["actual"].as_str().unwrap();
    assert!(
        actual.starts_with("sha256:") && actual != expected,
        "{actual}"
    );
    assert_eq!(report["files_hashed"], 1, "only the changed blob is hashed");
    assert_eq!(report["ok"], false);
    assert_eq!(documents.len(), 1, "the report is the whole --json answer");
    let human = ctx.run(&["verify"]);
    assert_eq!(human.status.code(), Some(1), "{}", ctx.render(&human));
    assert!(
        String::from_utf8_lossy(&human.stderr).contains("run `hfdl verify --repair`"),
        "{}",
        ctx.render(&human)
    );
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn full_mode_catches_corruption_that_kept_the_size_and_mtime() {
    let ctx = synced(TINY);
    let blob = tiny_blob(&ctx, "model.safetensors");
    let mtime = fs_err::metadata(&blob).unwrap().modified().unwrap();
    corrupt_in_place(&blob, 5);
    fs_err::OpenOptions::new()
        .write(true)
        .open(&blob)
        .unwrap()
        .file()
        .set_modified(mtime)
        .unwrap();

    // Fast mode trusts the stat cache: nothing it records changed.
    let fast = ctx.run(&["verify"]);
    assert_eq!(fast.status.code(), Some(0), "{}", ctx.render(&fast));
    let full = ctx.run(&["verify", "--full", "--json"]);
    assert_eq!(full.status.code(), Some(1), "{}", ctx.render(&full));
    assert_eq!(
        problems(&json_documents(&full)[0]),
        vec![problem("modified", "tiny", "model.safetensors", "store")]
    );
    // --full forgot the bad blob in the stat cache: fast mode no longer trusts it either.
    let fast_again = ctx.run(&["verify"]);
    assert_eq!(
        fast_again.status.code(),
        Some(1),
        "{}",
        ctx.render(&fast_again)
    );
}

#[test]
fn a_deleted_snapshot_link_and_an_extra_file_in_the_snapshot_are_reported() {
    let ctx = synced(TINY);
    let snapshot = tiny_snapshot(&ctx);
    fs_err::remove_file(snapshot.join("tokenizer.json")).unwrap();
    fs_err::create_dir_all(snapshot.join("notes")).unwrap();
    fs_err::write(snapshot.join("notes/todo.txt"), b"mine").unwrap();

    let output = ctx.run(&["verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    insta::assert_snapshot!(ctx.render(&output), @"
    exit: 1
    --- stdout
    extra         tiny  notes/todo.txt
    missing-link  tiny  tokenizer.json
    3 files checked (0 hashed, 0 B), 2 problems
    --- stderr
      × the store does not match models.lock: 2 problems in 3 files checked
      help: run `hfdl verify --repair` to re-fetch what is missing or damaged and remove what is extra
    ");

    let repair = ctx.run(&["verify", "--repair", "--no-progress"]);
    insta::assert_snapshot!(ctx.render(&repair), @"
    exit: 0
    --- stdout
    extra         tiny  notes/todo.txt
    missing-link  tiny  tokenizer.json
    3 files checked (0 hashed, 0 B), 2 problems
    Repaired: 0 files downloaded (0 B), 1 removed, 1 linked; 0 problems left
    --- stderr
    ");
    assert!(
        fs_err::read_link(snapshot.join("tokenizer.json")).is_ok(),
        "the link is back"
    );
    assert!(
        !snapshot.join("notes").exists(),
        "the extra file and its directory are gone"
    );
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "the blobs were fine: nothing to fetch"
    );
}

#[test]
fn a_modified_plain_directory_file_is_reported_and_repaired_and_peoples_own_files_stay() {
    let ctx = synced(TINY_WITH_DIR);
    let dir = ctx.project.join("models/tiny");
    // Replace, not edit: the plain file is a (read-only) hard link to the blob.
    fs_err::remove_file(dir.join("config.json")).unwrap();
    fs_err::write(dir.join("config.json"), br#"{"hidden_size": 9}"#).unwrap();
    fs_err::write(dir.join("notes.txt"), b"mine").unwrap();

    let output = ctx.run(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let report = &json_documents(&output)[0];
    assert_eq!(
        problems(report),
        vec![problem("modified", "tiny", "config.json", "dir")],
        "notes.txt is not hfdl's: not extra"
    );
    assert_eq!(
        report["problems"][0]["expected"],
        format!("git-sha1:{}", ctx.tiny_file("config.json").etag()).as_str()
    );

    let repair = ctx.run(&["verify", "--repair"]);
    assert_eq!(repair.status.code(), Some(0), "{}", ctx.render(&repair));
    assert_eq!(
        fs_err::read(dir.join("config.json")).unwrap(),
        br#"{"hidden_size": 8}"#
    );
    assert_eq!(fs_err::read(dir.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        ctx.hub.counters().total_requests(),
        0,
        "the blob was intact"
    );
}

#[test]
fn files_of_an_earlier_pin_are_extra_in_the_snapshot_and_the_plain_directory() {
    let ctx = synced(TINY_WITH_DIR);
    ctx.write_manifest(&TINY_WITH_DIR.replace(r#""*.json", "*.safetensors""#, r#""*.json""#));
    let relock = ctx.run(&["lock"]);
    assert!(relock.status.success(), "{}", ctx.render(&relock));
    ctx.hub.reset();

    let output = ctx.run(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(
        problems(&json_documents(&output)[0]),
        vec![
            problem("extra", "tiny", "model.safetensors", "store"),
            problem("extra", "tiny", "model.safetensors", "dir"),
        ]
    );
    let repair = ctx.run(&["verify", "--repair"]);
    assert_eq!(repair.status.code(), Some(0), "{}", ctx.render(&repair));
    assert!(!tiny_snapshot(&ctx).join("model.safetensors").exists());
    assert!(!ctx.project.join("models/tiny/model.safetensors").exists());
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn repair_refetches_exactly_the_one_damaged_blob_and_then_verify_passes() {
    let ctx = synced(TINY);
    let blob = tiny_blob(&ctx, "config.json");
    corrupt_in_place(&blob, 2);

    let repair = ctx.run(&["verify", "--repair", "--json"]);
    assert_eq!(repair.status.code(), Some(0), "{}", ctx.render(&repair));
    let report = &json_documents(&repair)[0];
    assert_eq!(report["ok"], true);
    assert_eq!(
        problems(report),
        vec![problem("modified", "tiny", "config.json", "store")]
    );
    assert_eq!(report["repair"]["summary"]["downloaded_files"], 1);
    assert_eq!(report["repair"]["remaining"], Value::Array(vec![]));

    // One file fetched by its commit: the Hub's 307 to resolve-cache, then the body; nothing
    // else asked for, nothing else served.
    let counters = ctx.hub.counters();
    let requests = ctx.hub.requests();
    assert_eq!(
        counters.total_requests(),
        counters.resolve_get,
        "{requests:#?}"
    );
    assert!(
        requests.iter().all(|r| r.path.ends_with("/config.json")),
        "{requests:#?}"
    );
    assert_eq!(
        requests.iter().filter(|r| r.status == 200).count(),
        1,
        "{requests:#?}"
    );
    assert_eq!(
        counters.bytes_served,
        ctx.tiny_file("config.json").size,
        "{requests:#?}"
    );
    assert_eq!(
        fs_err::read(&blob).unwrap(),
        br#"{"hidden_size": 8}"#,
        "the blob holds the locked bytes again"
    );

    ctx.hub.reset();
    let after = ctx.run(&["verify", "--full"]);
    assert_eq!(after.status.code(), Some(0), "{}", ctx.render(&after));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn repair_offline_fails_naming_what_it_needs_and_leaves_the_store_alone() {
    let ctx = synced(TINY);
    let blob = tiny_blob(&ctx, "config.json");
    corrupt_in_place(&blob, 2);
    let damaged = fs_err::read(&blob).unwrap();

    let output = ctx.run(&["verify", "--repair", "--offline", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let error = &json_documents(&output)[0]["error"];
    assert_eq!(error["code"], "offline-missing");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("tiny: config.json"),
        "{error}"
    );
    assert_eq!(fs_err::read(&blob).unwrap(), damaged, "nothing was deleted");
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn names_restrict_the_check_and_an_unknown_name_is_refused_with_the_known_ones() {
    let ctx = synced(TINY_AND_SQUAD);
    let squad_snapshot = fs_err::read_dir(ctx.repo_dir("datasets--acme--squad").join("snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs_err::remove_file(squad_snapshot.join("README.md")).unwrap();

    let tiny = ctx.run(&["verify", "tiny"]);
    assert_eq!(tiny.status.code(), Some(0), "{}", ctx.render(&tiny));
    let squad = ctx.run(&["verify", "squad", "--json"]);
    assert_eq!(squad.status.code(), Some(1), "{}", ctx.render(&squad));
    assert_eq!(
        problems(&json_documents(&squad)[0]),
        vec![problem("missing-link", "squad", "README.md", "store")]
    );

    let unknown = ctx.run(&["verify", "nope", "--json"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", ctx.render(&unknown));
    assert_eq!(json_error_code(&unknown), "unknown-model");
    let help = json_documents(&unknown)[0]["error"]["help"].clone();
    assert_eq!(help, "known entries: squad, tiny");
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn verify_without_a_lock_says_how_to_make_one() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let output = ctx.run(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "lock-missing");
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn a_deleted_blob_is_reported_as_missing_and_repair_fetches_only_it() {
    let ctx = synced(TINY);
    fs_err::remove_file(tiny_blob(&ctx, "tokenizer.json")).unwrap();

    // One file at a time, so the progress lines come in a stable order.
    let output = ctx.run(&["verify", "--full", "--no-progress", "-j", "1"]);
    insta::assert_snapshot!(ctx.render(&output), @"
    exit: 1
    --- stdout
    missing       tiny  tokenizer.json: git-sha1:b1f3e7068e8006c6d86c8ead96d4c321f008eb9b is absent
    3 files checked (2 hashed, 292.99 KiB), 1 problem
    --- stderr
    Verifying 2 files
    verified config.json (18 B, [TIME])
    verified model.safetensors (292.97 KiB, [TIME])
      × the store does not match models.lock: 1 problem in 3 files checked
      help: run `hfdl verify --repair` to re-fetch what is missing or damaged and remove what is extra
    ");
    let repair = ctx.run(&["verify", "--repair", "--no-progress", "-j", "1"]);
    insta::assert_snapshot!(ctx.render(&repair), @"
    exit: 0
    --- stdout
    missing       tiny  tokenizer.json: git-sha1:b1f3e7068e8006c6d86c8ead96d4c321f008eb9b is absent
    3 files checked (0 hashed, 0 B), 1 problem
    Repaired: 1 file downloaded (21 B); 0 problems left
    --- stderr
    Downloading 1 file (21 B)
    downloaded tokenizer.json (21 B, [TIME])
    ");
    let requests = ctx.hub.requests();
    assert!(
        requests.iter().all(|r| r.path.ends_with("/tokenizer.json")),
        "{requests:#?}"
    );
    assert_eq!(
        ctx.hub.counters().bytes_served,
        ctx.tiny_file("tokenizer.json").size
    );
}

#[test]
fn a_regular_file_in_place_of_a_snapshot_link_is_a_wrong_link_that_repair_replaces() {
    let ctx = synced(TINY);
    let link = tiny_snapshot(&ctx).join("config.json");
    fs_err::remove_file(&link).unwrap();
    fs_err::write(&link, br#"{"hidden_size": 8}"#).unwrap();

    let output = ctx.run(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let report = &json_documents(&output)[0];
    assert_eq!(
        problems(report),
        vec![problem("wrong-link", "tiny", "config.json", "store")]
    );
    assert_eq!(report["problems"][0]["actual"], "a regular file");
    assert_eq!(report["counts"]["wrong-link"], 1);

    let repair = ctx.run(&["verify", "--repair"]);
    assert_eq!(repair.status.code(), Some(0), "{}", ctx.render(&repair));
    assert_eq!(
        fs_err::read_link(&link).unwrap(),
        PathBuf::from(format!(
            "../../blobs/{}",
            ctx.tiny_file("config.json").etag()
        ))
    );
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}
