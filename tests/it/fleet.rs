//! Fleets: a shared blob store on a real 3-node Garage cluster (replication 3). One machine
//! publishes, the others sync from the bucket instead of the Hub (the mock Hub's counters prove
//! it); the store is a cache, never an authority: a wrong object, a dead node or engine, wrong
//! credentials and a missing bucket each end in the Hub serving the file, with a warning.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hfdl_mock_hub::{FileChange, RepoOptions, RepoType};

use crate::garage::GarageCluster;
use crate::support::{TestContext, check_store, json_error_code};

const PREFIX: &str = "fleet";

/// The project: the tiny repo's JSON and safetensors files (two regular files and one LFS file),
/// with the blob store in `[settings]`.
fn manifest(bucket: &str, extra: &str) -> String {
    format!(
        r#"
[settings]
blob-store = "s3://{bucket}/{PREFIX}"

[models.tiny]
repo = "acme/tiny"
include = ["*.json", "*.safetensors"]
{extra}"#
    )
}

/// Another machine of the fleet: its own cache and hfdl state, the same project.
struct Machine {
    cache: PathBuf,
    state: PathBuf,
}

impl Machine {
    fn new(ctx: &TestContext, name: &str) -> Machine {
        Machine {
            cache: ctx.root.path().join(name).join("hf-cache"),
            state: ctx.root.path().join(name).join("hfdl-state"),
        }
    }

    /// `hfdl` on this machine, talking to the cluster through `env`.
    fn hfdl(&self, ctx: &TestContext, env: &[(String, String)]) -> Command {
        let mut command = ctx.hfdl();
        command
            .env("HF_HUB_CACHE", &self.cache)
            .env("HFDL_CACHE_DIR", &self.state)
            .envs(env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn run(&self, ctx: &TestContext, env: &[(String, String)], args: &[&str]) -> Output {
        self.hfdl(ctx, env).args(args).output().expect("run hfdl")
    }
}

/// A Garage cluster and a project that syncs the tiny repo with the cluster's bucket as its
/// blob store; `None` when the test is skipped (no Garage, outside CI).
fn fleet() -> Option<(GarageCluster, TestContext)> {
    let cluster = GarageCluster::start_or_skip()?;
    let ctx = TestContext::new();
    ctx.write_manifest(&manifest(cluster.bucket(), ""));
    Some((cluster, ctx))
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_complete(ctx: &TestContext, store: &Path) {
    let check = check_store(&ctx.project.join("models.lock"), store);
    assert!(check.complete(), "{check:?}");
}

#[test]
fn one_machine_publishes_and_four_others_sync_from_the_bucket_without_the_hub() {
    let Some((cluster, ctx)) = fleet() else {
        return;
    };
    let env = cluster.env();

    let publisher = Machine::new(&ctx, "publisher");
    let first = publisher.run(&ctx, &env, &["sync", "--publish", "--json"]);
    assert!(first.status.success(), "{}", ctx.render(&first));
    let report = json(&first);
    let store = &report["summary"]["blob_store"];
    assert_eq!(store["url"], format!("s3://{}/{PREFIX}", cluster.bucket()));
    assert_eq!(store["files"], 0, "the bucket was empty: {report}");
    assert_eq!(store["published_files"], 3, "{report}");
    assert_complete(&ctx, &publisher.cache);

    // The objects are keyed by the lock's hashes: the LFS file by its sha256.
    let weights = ctx.tiny_file("model.safetensors");
    let object = cluster.s3(
        2,
        cluster.key(),
        "GET",
        &format!("/{}/{PREFIX}/sha256/{}", cluster.bucket(), weights.etag()),
        &[],
        None,
    );
    assert_eq!(object.status, 200, "{}", object.text());
    assert_eq!(object.body.len() as u64, weights.size);

    for i in 0..4 {
        ctx.hub.reset();
        let machine = Machine::new(&ctx, &format!("node{i}"));
        // Each node reads through another Garage node: every copy serves.
        let env = cluster.env_for(i % 3, cluster.key());
        let output = machine.run(&ctx, &env, &["sync", "--frozen", "--json"]);
        assert!(output.status.success(), "{}", ctx.render(&output));
        let report = json(&output);
        let counters = ctx.hub.counters();
        assert_eq!(
            counters.total_requests(),
            0,
            "machine {i} sent requests to the Hub: {counters:?}"
        );
        assert_eq!(report["summary"]["blob_store"]["files"], 3, "{report}");
        assert_eq!(
            report["summary"]["blob_store"]["bytes"], report["summary"]["downloaded_bytes"],
            "{report}"
        );
        assert_complete(&ctx, &machine.cache);
    }

    // A partial download resumes from the blob store with a ranged read: the bytes it holds
    // are kept, the rest comes from the bucket.
    let resumer = Machine::new(&ctx, "resumer");
    let blobs = resumer.cache.join("models--acme--tiny/blobs");
    fs_err::create_dir_all(&blobs).unwrap();
    let whole = fs_err::read(
        publisher
            .cache
            .join("models--acme--tiny/blobs")
            .join(weights.etag()),
    )
    .unwrap();
    let kept = 100_000;
    fs_err::write(
        blobs.join(format!("{}.incomplete", weights.etag())),
        &whole[..kept],
    )
    .unwrap();
    ctx.hub.reset();
    let output = resumer.run(&ctx, &env, &["sync", "--frozen", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let report = json(&output);
    assert_eq!(report["summary"]["resumed_bytes"], kept, "{report}");
    let total: u64 = ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .map(|path| ctx.tiny_file(path).size)
        .sum();
    assert_eq!(
        report["summary"]["blob_store"]["bytes"],
        total - kept as u64,
        "{report}"
    );
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert_complete(&ctx, &resumer.cache);

    // A publisher finds everything there: nothing is uploaded twice.
    let again = Machine::new(&ctx, "second-publisher");
    let output = again.run(&ctx, &env, &["sync", "--publish", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(json(&output)["summary"]["blob_store"]["published_files"], 0);

    // The human summary says where the bytes came from.
    let human = Machine::new(&ctx, "human");
    let output = human.run(&ctx, &env, &["sync", "--frozen"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(text.contains("3 files from the blob store"), "{text}");
    assert!(text.contains("to the blob store"), "{text}");
}

#[test]
fn push_seeds_the_bucket_from_a_workstation_and_reports_what_was_there() {
    let Some((cluster, ctx)) = fleet() else {
        return;
    };
    // The workstation synced from the Hub, without the blob store.
    let sync = ctx
        .hfdl()
        .args(["sync"])
        .env("HFDL_BLOB_STORE", "")
        .output()
        .unwrap();
    assert!(sync.status.success(), "{}", ctx.render(&sync));
    let env = cluster.env();
    let push = ctx
        .hfdl()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["push", "--json"])
        .output()
        .unwrap();
    assert!(push.status.success(), "{}", ctx.render(&push));
    let report = json(&push);
    assert_eq!(report["blobs"], 3, "{report}");
    assert_eq!(report["uploaded_files"], 3, "{report}");
    assert_eq!(report["already_there"], 0, "{report}");
    // Progress as for a download: the JSON-lines stream has an upload task per blob.
    let events = stderr(&push);
    assert_eq!(events.matches(r#""kind":"upload""#).count(), 3, "{events}");

    let again = ctx
        .hfdl()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["push"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", ctx.render(&again));
    let text = stderr(&again);
    assert!(text.contains("Pushed 0 of 3 blobs"), "{text}");
    assert!(text.contains("3 already there"), "{text}");

    ctx.hub.reset();
    let machine = Machine::new(&ctx, "runner");
    let output = machine.run(&ctx, &env, &["sync", "--frozen"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert_complete(&ctx, &machine.cache);

    // Nothing to push from a store that is not synced; wrong keys are refused, by name.
    let empty = Machine::new(&ctx, "empty");
    let output = empty.run(&ctx, &env, &["push", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "not-synced");
    let mut wrong = env.clone();
    wrong.retain(|(k, _)| k != "AWS_SECRET_ACCESS_KEY");
    wrong.push(("AWS_SECRET_ACCESS_KEY".into(), "0".repeat(64)));
    let output = ctx
        .hfdl()
        .envs(wrong.iter().map(|(k, v)| (k, v)))
        .args(["push", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "blob-store-denied");
}

#[test]
fn a_wrong_object_is_discarded_reported_and_replaced_by_the_hub() {
    let Some((cluster, ctx)) = fleet() else {
        return;
    };
    let env = cluster.env();
    let publisher = Machine::new(&ctx, "publisher");
    let first = publisher.run(&ctx, &env, &["sync", "--publish"]);
    assert!(first.status.success(), "{}", ctx.render(&first));

    // Someone overwrites the weights' object with other bytes of the same size.
    let weights = ctx.tiny_file("model.safetensors");
    let key = format!("/{}/{PREFIX}/sha256/{}", cluster.bucket(), weights.etag());
    let wrong = vec![0x5a_u8; weights.size as usize];
    let put = cluster.s3(1, cluster.key(), "PUT", &key, &[], Some(&wrong));
    assert_eq!(put.status, 200, "{}", put.text());

    ctx.hub.reset();
    let victim = Machine::new(&ctx, "victim");
    let output = victim.run(&ctx, &env, &["sync", "--frozen", "--publish", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    let text = stderr(&output);
    let object = format!(
        "s3://{}/{PREFIX}/sha256/{}",
        cluster.bucket(),
        weights.etag()
    );
    assert!(
        text.contains("bad-blob-store-object") && text.contains(&object),
        "{text}"
    );
    let report = json(&output);
    assert_eq!(
        report["summary"]["blob_store"]["bad_objects"],
        serde_json::json!([object])
    );
    assert_eq!(report["summary"]["blob_store"]["files"], 2, "{report}");
    // The Hub served exactly that file, and the store holds the right bytes.
    let counters = ctx.hub.counters();
    assert_eq!(counters.bytes_served, weights.size, "{counters:?}");
    assert_complete(&ctx, &victim.cache);

    // With --publish, the verified bytes replaced the bad object: the next machine needs no Hub.
    let healed = cluster.s3(0, cluster.key(), "GET", &key, &[], None);
    assert_eq!(healed.status, 200);
    assert_ne!(healed.body, wrong, "the bad object was overwritten");
    ctx.hub.reset();
    let next = Machine::new(&ctx, "next");
    let output = next.run(&ctx, &env, &["sync", "--frozen"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert!(!stderr(&output).contains("bad-blob-store-object"));
    assert_complete(&ctx, &next.cache);
}

#[test]
fn two_publishers_at_once_leave_one_good_copy() {
    let Some((cluster, ctx)) = fleet() else {
        return;
    };
    let (a, b) = (Machine::new(&ctx, "a"), Machine::new(&ctx, "b"));
    let first = a
        .hfdl(&ctx, &cluster.env_for(0, cluster.key()))
        .args(["sync", "--publish"])
        .spawn()
        .unwrap();
    let second = b
        .hfdl(&ctx, &cluster.env_for(1, cluster.key()))
        .args(["sync", "--publish"])
        .spawn()
        .unwrap();
    for (child, machine) in [(first, &a), (second, &b)] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", ctx.render(&output));
        assert_complete(&ctx, &machine.cache);
    }
    ctx.hub.reset();
    let reader = Machine::new(&ctx, "reader");
    let output = reader.run(
        &ctx,
        &cluster.env_for(2, cluster.key()),
        &["sync", "--frozen"],
    );
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert!(!stderr(&output).contains("bad-blob-store-object"));
    assert_complete(&ctx, &reader.cache);
}

/// A slow `sync --frozen --json` on `machine`, during which Garage node `node` is SIGKILLed.
fn sync_while_a_node_dies(
    ctx: &TestContext,
    cluster: &mut GarageCluster,
    env: &[(String, String)],
    machine: &Machine,
    node: usize,
) -> Output {
    let child = machine
        .hfdl(ctx, env)
        .args([
            "sync",
            "--frozen",
            "--json",
            "--limit-rate",
            "24M",
            "-j",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    cluster.kill_node(node);
    child.wait_with_output().unwrap()
}

#[test]
fn a_killed_node_keeps_the_quorum_and_a_dead_endpoint_falls_back_to_the_hub() {
    let Some(mut cluster) = GarageCluster::start_or_skip() else {
        return;
    };
    let ctx = TestContext::new();
    // Enough bytes that the sync is still running when a node dies.
    ctx.hub
        .fixtures()
        .create_repo(RepoType::Model, "acme/big", RepoOptions::default())
        .unwrap();
    let files: Vec<FileChange> = (0..6)
        .map(|i| FileChange::generated(&format!("shard-{i}.safetensors"), 8 << 20, 100 + i))
        .collect();
    ctx.hub
        .fixtures()
        .commit(RepoType::Model, "acme/big", "main", "shards", files)
        .unwrap();
    ctx.write_manifest(&manifest(
        cluster.bucket(),
        "\n[models.big]\nrepo = \"acme/big\"\n",
    ));
    let env = cluster.env_for(0, cluster.key());
    let publisher = Machine::new(&ctx, "publisher");
    let first = publisher.run(&ctx, &env, &["sync", "--publish"]);
    assert!(first.status.success(), "{}", ctx.render(&first));

    // Node 2 dies while a machine reads through node 0: two of three copies still answer.
    ctx.hub.reset();
    let survivor = Machine::new(&ctx, "survivor");
    let output = sync_while_a_node_dies(&ctx, &mut cluster, &env, &survivor, 2);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_complete(&ctx, &survivor.cache);
    assert_eq!(
        ctx.hub.counters().bytes_served,
        0,
        "the quorum served every file: {}",
        ctx.render(&output)
    );

    // Now the node this machine talks to dies mid-sync: the Hub serves the rest.
    ctx.hub.reset();
    let orphan = Machine::new(&ctx, "orphan");
    let output = sync_while_a_node_dies(&ctx, &mut cluster, &env, &orphan, 0);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_complete(&ctx, &orphan.cache);
    let text = stderr(&output);
    assert!(text.contains("blob-store-unreachable"), "{text}");
    let report = json(&output);
    let from_store = report["summary"]["blob_store"]["bytes"].as_u64().unwrap();
    let total = report["summary"]["downloaded_bytes"].as_u64().unwrap();
    assert!(from_store < total, "{report}");
    assert!(ctx.hub.counters().bytes_served > 0);
}

#[test]
fn wrong_keys_a_missing_bucket_and_a_dead_engine_are_warnings_and_the_hub_serves() {
    let Some((cluster, ctx)) = fleet() else {
        return;
    };
    let secret = "f".repeat(64);
    let mut wrong_keys = cluster.env();
    wrong_keys.retain(|(k, _)| k != "AWS_SECRET_ACCESS_KEY");
    wrong_keys.push(("AWS_SECRET_ACCESS_KEY".into(), secret.clone()));
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut env = cluster.env();
        env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
        env.push((
            "AWS_ENDPOINT_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ));
        env
    };
    let mut no_bucket = cluster.env();
    no_bucket.push(("HFDL_BLOB_STORE".into(), "s3://no-such-bucket/x".into()));

    for (name, env, code, detail) in [
        (
            "keys",
            &wrong_keys,
            "blob-store-denied",
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment",
        ),
        ("dead", &dead, "blob-store-unreachable", "127.0.0.1"),
        (
            "bucket",
            &no_bucket,
            "blob-store-bucket-missing",
            "no-such-bucket",
        ),
    ] {
        let machine = Machine::new(&ctx, name);
        let started = std::time::Instant::now();
        let output = machine.run(&ctx, env, &["sync", "--publish"]);
        assert!(output.status.success(), "{name}: {}", ctx.render(&output));
        let text = format!(
            "{}{}",
            stderr(&output),
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(text.contains(code), "{name}: {text}");
        assert!(text.contains(detail), "{name}: {text}");
        assert!(!text.contains(&secret), "{name}: the secret was printed");
        assert_eq!(
            text.matches(code).count(),
            1,
            "{name}: warned once, not per file: {text}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name}: a broken store must not stall the sync"
        );
        assert_complete(&ctx, &machine.cache);

        // doctor names the problem as a failed check.
        let doctor = machine.run(&ctx, env, &["doctor", "--json"]);
        assert_eq!(doctor.status.code(), Some(1), "{}", ctx.render(&doctor));
        let report = json(&doctor);
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "blob-store")
            .cloned()
            .unwrap_or_else(|| panic!("no blob-store check: {report}"));
        assert_eq!(check["status"], "fail", "{check}");
        assert!(!check.to_string().contains(&secret));
    }

    // Not even the most verbose log shows a secret: the wrong one, or the good one in use.
    for env in [&wrong_keys, &cluster.env()] {
        let machine = Machine::new(&ctx, "traced");
        let output = machine
            .hfdl(&ctx, env)
            .args(["-vvv", "sync", "--publish"])
            .env("HFDL_LOG", "trace")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", ctx.render(&output));
        let text = format!(
            "{}{}",
            stderr(&output),
            String::from_utf8_lossy(&output.stdout)
        );
        let (_, secret) = env
            .iter()
            .find(|(k, _)| k == "AWS_SECRET_ACCESS_KEY")
            .unwrap();
        assert!(text.len() > 1000, "trace logs were written: {text}");
        assert!(!text.contains(secret.as_str()), "a secret in the log");
        fs_err::remove_dir_all(&machine.cache).unwrap();
    }

    // A healthy store passes doctor, writing included when this machine publishes.
    let healthy = Machine::new(&ctx, "healthy");
    let mut env = cluster.env();
    env.push(("HFDL_PUBLISH".into(), "1".into()));
    let doctor = healthy.run(&ctx, &env, &["doctor", "--json"]);
    let report = json(&doctor);
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "blob-store")
        .cloned()
        .unwrap();
    assert_eq!(check["status"], "ok", "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("readable and writable"),
        "{check}"
    );

    // Offline touches neither the Hub nor the store.
    let offline = Machine::new(&ctx, "offline");
    let output = offline.run(&ctx, &dead, &["sync", "--frozen", "--offline", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "offline-missing");
    assert!(!stderr(&output).contains("blob-store"));
}

#[test]
fn publish_is_the_machines_decision_not_the_projects() {
    let ctx = TestContext::new();
    ctx.write_manifest(
        &manifest("models-cache", "").replace("[settings]\n", "[settings]\npublish = true\n"),
    );
    let output = ctx.run(&["sync"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    let text = stderr(&output);
    assert!(
        text.contains("`publish` cannot be set by the project"),
        "{text}"
    );
    // A bad URL names the value; --publish without a store says what to set.
    ctx.write_manifest(&manifest("Models_Cache", ""));
    let output = ctx.run(&["sync"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert!(
        stderr(&output).contains("Models_Cache"),
        "{}",
        stderr(&output)
    );
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\"]\n");
    let output = ctx.run(&["sync", "--publish", "--json"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert_eq!(json_error_code(&output), "usage");
}

#[test]
fn a_large_file_is_published_in_parts_and_read_back_whole() {
    let Some(cluster) = GarageCluster::start_or_skip() else {
        return;
    };
    let ctx = TestContext::new();
    ctx.hub
        .fixtures()
        .create_repo(RepoType::Model, "acme/large", RepoOptions::default())
        .unwrap();
    // Above the 64 MiB multipart threshold, and not a whole number of 8 MiB parts.
    let size = (70 << 20) + 12_345;
    ctx.hub
        .fixtures()
        .commit(
            RepoType::Model,
            "acme/large",
            "main",
            "weights",
            vec![FileChange::generated("model.safetensors", size, 7)],
        )
        .unwrap();
    ctx.write_manifest(&format!(
        "[settings]\nblob-store = \"s3://{}/{PREFIX}\"\n\n[models.large]\nrepo = \"acme/large\"\n",
        cluster.bucket()
    ));
    let env = cluster.env();
    let publisher = Machine::new(&ctx, "publisher");
    let output = publisher.run(&ctx, &env, &["sync", "--publish", "--json"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(json(&output)["summary"]["blob_store"]["published_files"], 1);

    let lock = fs_err::read_to_string(ctx.project.join("models.lock")).unwrap();
    let sha = lock
        .split("sha256 = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the lock pins the file's sha256")
        .to_owned();
    let head = cluster.s3(
        1,
        cluster.key(),
        "HEAD",
        &format!("/{}/{PREFIX}/sha256/{sha}", cluster.bucket()),
        &[],
        None,
    );
    let headers = head.text().to_ascii_lowercase();
    assert!(
        headers.contains(&format!("content-length: {size}")),
        "{headers}"
    );
    // A multipart object's ETag ends in `-<parts>`: 70 MiB in 8 MiB parts is 9.
    assert!(headers.contains("-9\""), "not a 9-part upload: {headers}");

    ctx.hub.reset();
    let reader = Machine::new(&ctx, "reader");
    let output = reader.run(&ctx, &env, &["sync", "--frozen"]);
    assert!(output.status.success(), "{}", ctx.render(&output));
    assert_eq!(ctx.hub.counters().total_requests(), 0);
    assert_complete(&ctx, &reader.cache);
}
