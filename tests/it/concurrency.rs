//! Two `hfdl sync` processes on one store at the same time, with transfers slowed down so they
//! really overlap: both succeed, the store ends complete and correct, and every blob's content
//! crosses the network once (the per-blob lock makes the second process wait, then adopt).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};

use hfdl_mock_hub::{Fault, FaultRule, RepoType, RequestKind};

use crate::support::{TestContext, tree};

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";
const SQUAD: &str = "[models.squad]\nrepo = \"acme/squad\"\nrepo-type = \"dataset\"\n";

/// Slows every file body (CDN and `/resolve/`) so two syncs are mid-transfer together.
fn slow_bodies(ctx: &TestContext) {
    for path in ["/cdn/", "/resolve/"] {
        ctx.hub.add_fault(FaultRule {
            path_contains: path.into(),
            fault: Fault::Slow {
                bytes_per_sec: 200_000,
            },
            times: None,
        });
    }
}

fn spawn_sync(ctx: &TestContext, project: &Path) -> Child {
    ctx.hfdl()
        .current_dir(project)
        .args(["sync", "-j", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hfdl sync")
}

/// Waits until the weights are being downloaded, then checks both syncs are still running: the
/// two processes really overlap (the second one finds the blob locked, waits, then adopts it).
fn assert_overlap(ctx: &TestContext, first: &mut Child, second: &mut Child) {
    let info = ctx.tiny_file("model.safetensors");
    let partial = ctx
        .repo_dir("models--acme--tiny")
        .join("blobs")
        .join(format!("{}.incomplete", info.etag()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !partial.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the download never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first sync is still running"
    );
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second sync is still running"
    );
}

fn finish(ctx: &TestContext, child: Child) {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
}

/// Content transfers (a 200 or 206 with a body) per URL path.
fn content_downloads(ctx: &TestContext) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in ctx.hub.requests() {
        let is_content = matches!(request.kind, RequestKind::Cdn | RequestKind::ResolveGet)
            && matches!(request.status, 200 | 206);
        if is_content {
            *counts.entry(request.path).or_insert(0) += 1;
        }
    }
    counts
}

/// Every locked file of `repo` at `main` is linked and its blob holds exactly the fixture bytes.
fn assert_complete(ctx: &TestContext, repo_type: RepoType, repo: &str, paths: &[&str]) {
    let fixtures = ctx.hub.fixtures();
    let commit = fixtures.resolve_revision(repo_type, repo, "main").unwrap();
    let folder = format!("{}--{}", repo_type.plural(), repo.replace('/', "--"));
    let snapshot = ctx.cache.join(&folder).join("snapshots").join(&commit);
    for path in paths {
        let info = fixtures.file_info(repo_type, repo, "main", path).unwrap();
        let blob = ctx.cache.join(&folder).join("blobs").join(info.etag());
        assert_eq!(
            fs_err::read(&blob).unwrap(),
            fixtures.read_object(&info.content_sha256).unwrap(),
            "{repo}: {path} holds the locked bytes"
        );
        assert_eq!(
            fs_err::canonicalize(snapshot.join(path)).unwrap(),
            fs_err::canonicalize(&blob).unwrap(),
            "{repo}: {path} is linked"
        );
    }
    let leftovers: Vec<String> = tree(&ctx.cache.join(&folder).join("blobs"))
        .lines()
        .filter(|l| l.contains('.'))
        .map(str::to_owned)
        .collect();
    assert!(
        leftovers.is_empty(),
        "no partial files remain: {leftovers:?}"
    );
}

#[test]
fn two_syncs_of_one_project_at_once_both_succeed_and_download_each_blob_once() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    ctx.hub.reset();
    slow_bodies(&ctx);

    let mut first = spawn_sync(&ctx, &ctx.project);
    let mut second = spawn_sync(&ctx, &ctx.project);
    assert_overlap(&ctx, &mut first, &mut second);
    finish(&ctx, first);
    finish(&ctx, second);

    let downloads = content_downloads(&ctx);
    assert_eq!(downloads.len(), 3, "three files' content: {downloads:?}");
    assert!(
        downloads.values().all(|n| *n == 1),
        "each blob crossed the network once: {downloads:?}"
    );
    assert_complete(
        &ctx,
        RepoType::Model,
        "acme/tiny",
        &["config.json", "tokenizer.json", "model.safetensors"],
    );
}

#[test]
fn two_projects_sharing_a_repo_sync_at_once_and_share_each_download() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    let other = ctx.root.path().join("other-project");
    fs_err::create_dir_all(&other).unwrap();
    fs_err::write(other.join("models.toml"), format!("{TINY}\n{SQUAD}")).unwrap();
    assert!(ctx.run(&["lock"]).status.success());
    let locked = ctx.hfdl().current_dir(&other).arg("lock").output().unwrap();
    assert!(locked.status.success(), "{}", ctx.render(&locked));
    ctx.hub.reset();
    slow_bodies(&ctx);

    let mut first = spawn_sync(&ctx, &ctx.project);
    let mut second = spawn_sync(&ctx, &other);
    assert_overlap(&ctx, &mut first, &mut second);
    finish(&ctx, first);
    finish(&ctx, second);

    let downloads = content_downloads(&ctx);
    assert_eq!(downloads.len(), 5, "five files' content: {downloads:?}");
    assert!(
        downloads.values().all(|n| *n == 1),
        "each blob crossed the network once: {downloads:?}"
    );
    assert_complete(
        &ctx,
        RepoType::Model,
        "acme/tiny",
        &["config.json", "tokenizer.json", "model.safetensors"],
    );
    assert_complete(
        &ctx,
        RepoType::Dataset,
        "acme/squad",
        &["README.md", "plain_text/train-00000-of-00001.parquet"],
    );
    // Both are satisfied now: neither needs the network again.
    ctx.hub.reset();
    for project in [&ctx.project, &other] {
        let again = ctx
            .hfdl()
            .current_dir(project)
            .arg("sync")
            .output()
            .unwrap();
        assert!(again.status.success(), "{}", ctx.render(&again));
    }
    assert_eq!(ctx.hub.counters().total_requests(), 0);
}
