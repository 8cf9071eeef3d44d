//! `hfdl gc`: deletes what no lockfile known to hfdl references, only in repos hfdl wrote
//! (unless `--all`), sweeps stale partial files and range maps, and waits for running syncs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule};

use crate::support::{TestContext, json_error_code, tree};

const TINY_JSON: &str = "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n";
const TINY_ALL: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";
const SQUAD: &str = "[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n";

/// Project B (the test's project) wants tiny's JSON files; project A also its weights and the
/// squad dataset. Both are synced; returns A's directory.
fn two_synced_projects(ctx: &TestContext) -> PathBuf {
    let a = ctx.root.path().join("project-a");
    fs_err::create_dir_all(&a).unwrap();
    fs_err::write(a.join("models.toml"), format!("{TINY_ALL}\n{SQUAD}")).unwrap();
    let output = ctx.hfdl().current_dir(&a).arg("sync").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    ctx.write_manifest(TINY_JSON);
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    a
}

fn gc_json(ctx: &TestContext, args: &[&str]) -> serde_json::Value {
    let output = ctx
        .hfdl()
        .args(["gc", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn blob(ctx: &TestContext, path: &str) -> PathBuf {
    ctx.repo_dir("models--acme--tiny")
        .join("blobs")
        .join(ctx.tiny_file(path).etag())
}

#[test]
fn gc_removes_only_what_a_deleted_project_used_and_the_other_still_syncs_without_requests() {
    let ctx = TestContext::new();
    let a = two_synced_projects(&ctx);
    assert!(blob(&ctx, "model.safetensors").exists());
    fs_err::remove_dir_all(&a).unwrap();

    let report = gc_json(&ctx, &[]);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["forgotten_locks"].as_array().unwrap().len(), 1);
    let repos: Vec<(String, bool)> = report["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["repo"].as_str().unwrap().to_owned(), r["removed"] == true))
        .collect();
    assert_eq!(
        repos,
        vec![
            ("acme/squad".to_owned(), true),
            ("acme/tiny".to_owned(), false)
        ]
    );
    let weights = ctx.tiny_file("model.safetensors").size;
    assert!(report["bytes"].as_u64().unwrap() >= weights, "{report}");

    assert!(!ctx.cache.join("datasets--acme--squad").exists());
    assert!(!blob(&ctx, "model.safetensors").exists());
    assert!(blob(&ctx, "config.json").exists());
    assert!(blob(&ctx, "tokenizer.json").exists());
    assert!(
        ctx.repo_dir("models--acme--tiny")
            .join("refs/main")
            .exists()
    );

    ctx.hub.reset();
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    // Nothing is left to collect.
    assert_eq!(gc_json(&ctx, &[])["files"], 0);
    // hfdl's stat cache forgot the deleted blobs.
    let cache = fs_err::read_to_string(ctx.state.join("verified-blobs.json")).unwrap();
    assert!(
        !cache.contains(ctx.tiny_file("model.safetensors").etag()),
        "{cache}"
    );
    assert!(
        cache.contains(ctx.tiny_file("config.json").etag()),
        "{cache}"
    );
}

#[test]
fn dry_run_lists_and_totals_but_changes_nothing() {
    let ctx = TestContext::new();
    let a = two_synced_projects(&ctx);
    fs_err::remove_file(a.join("models.lock")).unwrap();
    let before = (tree(&ctx.cache), tree(&ctx.state));

    let output = ctx.run(&["gc", "--dry-run"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("dataset acme/squad"), "{text}");
    assert!(text.contains("would remove the whole repo"), "{text}");
    assert!(
        text.contains(&format!(
            "blobs/{}",
            ctx.tiny_file("model.safetensors").etag()
        )),
        "{text}"
    );
    assert!(text.contains("Would free"), "{text}");
    assert_eq!((tree(&ctx.cache), tree(&ctx.state)), before);
}

#[test]
fn a_repo_hfdl_never_wrote_is_left_alone_unless_all() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY_JSON);
    assert!(ctx.run(&["sync"]).status.success());
    let foreign = ctx.cache.join("models--other--thing");
    let commit = "c".repeat(40);
    fs_err::create_dir_all(foreign.join("blobs")).unwrap();
    fs_err::create_dir_all(foreign.join("snapshots").join(&commit)).unwrap();
    fs_err::create_dir_all(foreign.join("refs")).unwrap();
    fs_err::write(foreign.join("blobs").join("a".repeat(40)), b"weights").unwrap();
    std::os::unix::fs::symlink(
        format!("../../blobs/{}", "a".repeat(40)),
        foreign.join("snapshots").join(&commit).join("x.bin"),
    )
    .unwrap();
    fs_err::write(foreign.join("refs/main"), &commit).unwrap();
    let before = tree(&foreign);

    let report = gc_json(&ctx, &[]);
    assert_eq!(report["files"], 0, "{report}");
    assert_eq!(tree(&foreign), before);

    let report = gc_json(&ctx, &["--all"]);
    assert!(!foreign.exists(), "{report}");
    assert_eq!(report["repos"][0]["repo"], "other/thing");
    assert_eq!(report["repos"][0]["files"], 3, "blob, link and ref");
    assert_eq!(report["repos"][0]["bytes"], 7 + 40, "blob and ref bytes");
    // What the project's lock references survives --all.
    assert!(blob(&ctx, "config.json").exists());
    assert!(ctx.cache.join(".locks").exists(), ".locks is never touched");
}

#[test]
fn stale_partial_files_and_range_maps_are_swept_and_live_ones_kept() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY_ALL);
    assert!(ctx.run(&["sync"]).status.success());
    let blobs = ctx.repo_dir("models--acme--tiny").join("blobs");
    // A locked blob that is missing, with a partial download: progress a sync resumes.
    let weights = blob(&ctx, "model.safetensors");
    fs_err::remove_file(&weights).unwrap();
    let live = weights.with_file_name(format!(
        "{}.incomplete",
        ctx.tiny_file("model.safetensors").etag()
    ));
    fs_err::write(&live, vec![0u8; 1000]).unwrap();
    // Partials of a complete blob and of content no lock wants, and an orphan range partial.
    let complete = blobs.join(format!(
        "{}.incomplete",
        ctx.tiny_file("config.json").etag()
    ));
    let unwanted = blobs.join(format!("{}.incomplete", "e".repeat(64)));
    let ranged = blobs.join(format!("{}.hfdl.incomplete", "f".repeat(64)));
    for path in [&complete, &unwanted, &ranged] {
        fs_err::write(path, b"partial").unwrap();
    }
    let partials = ctx.state.join("partials");
    fs_err::create_dir_all(&partials).unwrap();
    let map_of = |partial: &Path| {
        format!(
            r#"{{"size":100,"ranges":[],"partial":"{}"}}"#,
            partial.display()
        )
    };
    let ranged_map = partials.join("ranged.json");
    fs_err::write(&ranged_map, map_of(&ranged)).unwrap();
    let orphan_map = partials.join("orphan.json");
    fs_err::write(&orphan_map, map_of(&blobs.join("gone.hfdl.incomplete"))).unwrap();
    let foreign_map = partials.join("elsewhere.json");
    fs_err::write(&foreign_map, map_of(Path::new("/nonexistent/store/x"))).unwrap();

    let report = gc_json(&ctx, &[]);
    assert_eq!(
        report["range_maps"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    for path in [&complete, &unwanted, &ranged, &ranged_map, &orphan_map] {
        assert!(!path.exists(), "{} was swept", path.display());
    }
    assert!(live.exists(), "a referenced partial stays for the resume");
    assert!(
        foreign_map.exists(),
        "maps of other stores are not gc's business here"
    );

    ctx.hub.reset();
    let output = ctx.run(&["sync"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(weights.exists());
}

#[test]
fn gc_waits_for_a_running_sync_and_deletes_nothing_it_needs() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY_ALL);
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Slow {
            bytes_per_sec: 150_000,
        },
        times: None,
    });
    let sync = ctx
        .hfdl()
        .arg("sync")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the weights are being downloaded (the sync holds the store lock by then).
    let weights = blob(&ctx, "model.safetensors");
    let partial = weights.with_file_name(format!(
        "{}.incomplete",
        ctx.tiny_file("model.safetensors").etag()
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !partial.exists() {
        assert!(Instant::now() < deadline, "the download never started");
        std::thread::sleep(Duration::from_millis(20));
    }

    let busy = ctx.run(&["gc", "--json", "--wait", "0"]);
    assert_eq!(busy.status.code(), Some(1), "{}", ctx.render(&busy));
    assert_eq!(json_error_code(&busy), "store-busy");
    assert!(partial.exists());

    let gc = ctx.run(&["gc", "--wait", "30"]);
    assert!(gc.status.success(), "{}", ctx.render(&gc));
    assert!(
        String::from_utf8_lossy(&gc.stderr).contains("Waiting for a running hfdl sync"),
        "{}",
        ctx.render(&gc)
    );
    let output = sync.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert!(weights.exists());
    assert!(blob(&ctx, "config.json").exists());
    ctx.hub.clear_faults();
    ctx.hub.reset();
    assert!(ctx.run(&["sync", "--offline"]).status.success());
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}

#[test]
fn gc_points_a_locked_revision_back_at_its_locked_commit_instead_of_deleting_it() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY_JSON);
    assert!(ctx.run(&["sync"]).status.success());
    let repo = ctx.repo_dir("models--acme--tiny");
    let locked = fs_err::read_to_string(repo.join("refs/main")).unwrap();
    // Another tool fetched a newer tip of main: a new snapshot and refs/main moved to it.
    let newer = "f".repeat(40);
    fs_err::create_dir_all(repo.join("snapshots").join(&newer)).unwrap();
    fs_err::os::unix::fs::symlink(
        format!("../../blobs/{}", ctx.tiny_file("config.json").etag()),
        repo.join("snapshots").join(&newer).join("config.json"),
    )
    .unwrap();
    fs_err::write(repo.join("refs/main"), &newer).unwrap();
    // And a ref nothing locks, to a commit nobody keeps.
    fs_err::write(repo.join("refs/old-branch"), &newer).unwrap();

    let report = gc_json(&ctx, &["--dry-run"]);
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        fs_err::read_to_string(repo.join("refs/main")).unwrap(),
        newer
    );

    gc_json(&ctx, &[]);
    assert_eq!(
        fs_err::read_to_string(repo.join("refs/main")).unwrap(),
        locked,
        "refs/main serves the locked snapshot again"
    );
    assert!(!repo.join("snapshots").join(&newer).exists());
    assert!(!repo.join("refs/old-branch").exists());
    // Offline loading by revision works: the ref leads to a complete snapshot.
    assert!(
        repo.join("snapshots")
            .join(&locked)
            .join("config.json")
            .exists()
    );
}
