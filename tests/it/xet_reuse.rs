//! Chunk reuse across revisions (issue #20 step 3): a Xet download records which chunks lie
//! where in its blob; the next revision's download copies the chunks it shares with that blob
//! and fetches only the xorb ranges holding new ones; a wrong copy is caught and fetched again;
//! `gc` removes the maps of deleted blobs.

use hfdl_mock_hub::{FileChange, RepoType};

use crate::support::{TestContext, check_store, pseudo_random};

const REPO: &str = "acme/xet-reuse";
/// The weights' size: about 60 chunks of 64 KiB.
const SIZE: usize = 4_000_000;

/// Revision 2's weights: revision 1's with 5% of the bytes rewritten in the middle.
fn edited(weights: &[u8]) -> Vec<u8> {
    let mut new = weights.to_vec();
    let at = SIZE / 2;
    new[at..at + SIZE / 20].copy_from_slice(&pseudo_random(99, SIZE / 20));
    new
}

/// A Xet-backed repo with two commits of the weights (the first tagged `v1`), and a manifest
/// pinned to `v1`, synced.
struct Upgrade {
    ctx: TestContext,
    new: Vec<u8>,
}

fn synced_v1() -> Upgrade {
    let ctx = TestContext::new();
    let fixtures = ctx.hub.fixtures();
    ctx.create_xet_repo(REPO);
    let old = pseudo_random(1, SIZE);
    let new = edited(&old);
    let v1 = fixtures
        .commit(
            RepoType::Model,
            REPO,
            "main",
            "v1",
            vec![FileChange::lfs("model.safetensors", old.clone())],
        )
        .unwrap();
    fixtures.set_tag(RepoType::Model, REPO, "v1", &v1).unwrap();
    fixtures
        .commit(
            RepoType::Model,
            REPO,
            "main",
            "v2",
            vec![FileChange::lfs("model.safetensors", new.clone())],
        )
        .unwrap();
    ctx.write_manifest(&manifest("v1"));
    let output = ctx.hfdl().arg("sync").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    Upgrade { ctx, new }
}

fn manifest(revision: &str) -> String {
    format!("[models.m]\nrepo = \"{REPO}\"\nrevision = \"{revision}\"\n")
}

impl Upgrade {
    /// Moves the manifest to `main` and syncs with `--json`; the report.
    fn upgrade(&self, extra: &[&str]) -> serde_json::Value {
        self.ctx.write_manifest(&manifest("main"));
        self.ctx.hub.reset();
        let output = self
            .ctx
            .hfdl()
            .args(["sync", "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", self.ctx.render(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn snapshot_file(&self) -> Vec<u8> {
        let lock = self.ctx.read("models.lock");
        let commit = lock
            .lines()
            .find_map(|l| l.strip_prefix("commit = \""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap()
            .to_owned();
        fs_err::read(
            self.ctx
                .cache
                .join("models--acme--xet-reuse/snapshots")
                .join(commit)
                .join("model.safetensors"),
        )
        .unwrap()
    }

    fn chunk_maps(&self) -> Vec<std::path::PathBuf> {
        match fs_err::read_dir(self.ctx.state.join("xet-chunks")) {
            Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[test]
fn an_upgrade_fetches_only_the_ranges_with_new_chunks() {
    let up = synced_v1();
    assert_eq!(
        up.chunk_maps().len(),
        1,
        "one map for the blob just written"
    );
    let report = up.upgrade(&[]);
    assert_eq!(up.snapshot_file(), up.new);
    let check = check_store(&up.ctx.project.join("models.lock"), &up.ctx.cache);
    assert!(check.complete(), "{check:?}");

    let counters = up.ctx.hub.counters();
    let summary = &report["summary"];
    let reused = summary["xet_reused_bytes"].as_u64().unwrap();
    // 5% of the bytes changed: the chunks around the edit are new (CDC re-syncs within a
    // chunk or two); everything else is copied from v1's blob.
    assert!(
        counters.xet_bytes < (SIZE as u64) / 5,
        "fetched {} of {SIZE} bytes: {counters:?}",
        counters.xet_bytes
    );
    assert!(reused > (SIZE as u64) * 3 / 4, "reused {reused}: {summary}");
    // What hfdl says it received is what the CAS served: the new chunks, with their headers.
    let downloaded = summary["downloaded_bytes"].as_u64().unwrap();
    assert_eq!(downloaded, counters.xet_bytes, "{summary}");
    assert!(
        reused + downloaded >= SIZE as u64,
        "every byte either copied or received: {summary}"
    );
    assert_eq!(counters.xet_bridge, 0, "{counters:?}");
    assert_eq!(up.chunk_maps().len(), 2, "the new blob is mapped too");
}

#[test]
fn the_summary_and_metrics_file_show_the_bytes_reused() {
    let up = synced_v1();
    let metrics_path = up.ctx.root.path().join("metrics.json");
    up.ctx.write_manifest(&manifest("main"));
    let output = up
        .ctx
        .hfdl()
        .args(["sync", "--metrics-file"])
        .arg(&metrics_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", up.ctx.render(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("of Xet chunks reused from the store"),
        "{stderr}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&metrics_path).unwrap()).unwrap();
    assert!(
        metrics["bytes"]["xet_reused"].as_u64().unwrap() > (SIZE as u64) * 3 / 4,
        "{metrics}"
    );
}

#[test]
fn a_damaged_source_blob_is_caught_and_the_file_fetched_whole() {
    let up = synced_v1();
    // Damage v1's blob where v2 shares its chunks (the first bytes), keeping its size and
    // mtime-insensitive state: the map still points at it.
    let blob = up
        .ctx
        .cache
        .join("models--acme--xet-reuse/blobs")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs_err::metadata(p).unwrap().len() == SIZE as u64)
        .unwrap();
    let mut bytes = fs_err::read(&blob).unwrap();
    bytes[1000] ^= 0xff;
    fs_err::write(&blob, &bytes).unwrap();

    let report = up.upgrade(&[]);
    assert_eq!(up.snapshot_file(), up.new, "the damage never reaches v2");
    let counters = up.ctx.hub.counters();
    assert!(
        counters.xet_bytes >= SIZE as u64,
        "the second attempt fetched every chunk: {counters:?}"
    );
    assert_eq!(report["summary"]["xet_reused_bytes"], 0, "{report}");
    assert_eq!(counters.xet_bridge, 0, "still over Xet: {counters:?}");
    // The damaged blob's map is gone (no later run copies from it); v2's was written.
    let maps = up.chunk_maps();
    assert_eq!(maps.len(), 1, "{maps:?}");
    let map: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&maps[0]).unwrap()).unwrap();
    assert_ne!(map["blob"].as_str().unwrap(), blob.to_str().unwrap());
}

#[test]
fn a_missing_source_blob_means_no_reuse() {
    let up = synced_v1();
    fs_err::remove_dir_all(up.ctx.cache.join("models--acme--xet-reuse")).unwrap();
    let report = up.upgrade(&[]);
    assert_eq!(up.snapshot_file(), up.new);
    assert_eq!(report["summary"]["xet_reused_bytes"], 0, "{report}");
    assert!(up.ctx.hub.counters().xet_bytes >= SIZE as u64);
}

#[test]
fn gc_removes_the_chunk_maps_of_deleted_blobs() {
    let up = synced_v1();
    up.upgrade(&[]);
    assert_eq!(up.chunk_maps().len(), 2);

    let output = up
        .ctx
        .hfdl()
        .args(["gc", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", up.ctx.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["chunk_maps"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(up.chunk_maps().len(), 2, "a dry run deletes nothing");

    let output = up.ctx.hfdl().args(["gc"]).output().unwrap();
    assert!(output.status.success(), "{}", up.ctx.render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("1 Xet chunk map of deleted blobs"),
        "{stdout}"
    );
    let left = up.chunk_maps();
    assert_eq!(left.len(), 1, "{left:?}");
    // The map left is v2's, whose blob is kept.
    let map: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&left[0]).unwrap()).unwrap();
    let blob = std::path::PathBuf::from(map["blob"].as_str().unwrap());
    assert_eq!(fs_err::read(blob).unwrap(), up.new);
}

#[test]
fn a_dry_run_and_outdated_show_the_bytes_an_upgrade_really_fetches() {
    let up = synced_v1();
    up.ctx.write_manifest(&manifest("main"));
    up.ctx.hub.reset();

    let output = up
        .ctx
        .hfdl()
        .args(["sync", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", up.ctx.render(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["download_bytes"], SIZE as u64, "{plan}");
    let fetch = plan["fetch_bytes"].as_u64().unwrap();
    let reused = plan["xet_reused_bytes"].as_u64().unwrap();
    assert!(fetch < (SIZE as u64) / 5, "{plan}");
    assert!(reused > (SIZE as u64) * 3 / 4, "{plan}");
    let counters = up.ctx.hub.counters();
    assert_eq!(
        counters.xet_xorb, 0,
        "a dry run fetches no chunk: {counters:?}"
    );
    assert!(counters.xet_reconstruction >= 1, "{counters:?}");

    // The text says it too.
    let output = up.ctx.hfdl().args(["sync", "--dry-run"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("of Xet chunks copied from the store"),
        "{stdout}"
    );

    let output = up.ctx.hfdl().args(["outdated", "--json"]).output().unwrap();
    assert!(output.status.success(), "{}", up.ctx.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = &report["models"][0];
    assert_eq!(row["download_bytes"], SIZE as u64, "{row}");
    assert!(
        row["fetch_bytes"].as_u64().unwrap() < (SIZE as u64) / 5,
        "{row}"
    );
    assert!(
        row["xet_reused_bytes"].as_u64().unwrap() > (SIZE as u64) * 3 / 4,
        "{row}"
    );

    // With Xet off, nothing is reused: the plan counts whole files.
    let output = up
        .ctx
        .hfdl()
        .args(["sync", "--dry-run", "--json"])
        .env("HFDL_XET", "off")
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["fetch_bytes"], SIZE as u64, "{plan}");
    assert_eq!(plan["xet_reused_bytes"], 0, "{plan}");

    // The real sync fetches what the dry run said.
    let report = up.upgrade(&[]);
    assert_eq!(report["summary"]["downloaded_bytes"], fetch, "{report}");
    assert_eq!(report["summary"]["xet_reused_bytes"], reused, "{report}");
}
