//! hfdl as a library: what a program embedding it relies on, through the public API only
//! (`hfdl::ops`): progress through a channel, cancellation that keeps partial downloads, and
//! no state shared between two projects of one process.

use std::path::Path;

use hfdl::env::Env;
use hfdl::error::Error;
use hfdl::ops::lock::LockOptions;
use hfdl::ops::{CancellationToken, OpenOptions, Project, SyncOptions};
use hfdl::report::{ChannelReporter, Event, TaskKind};
use hfdl_mock_hub::{Fault, FaultRule};

use crate::support::TestContext;

const MANIFEST: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

/// The project in `ctx`, opened as a program would: with the variables it chooses to hand over.
fn open(ctx: &TestContext, cache: &Path) -> Project {
    let env = Env::from_pairs(
        [
            ("HF_ENDPOINT", ctx.hub.endpoint().as_str()),
            ("HF_HUB_CACHE", cache.to_str().unwrap()),
            ("HFDL_CACHE_DIR", ctx.state.to_str().unwrap()),
            ("HFDL_KEYRING", "none"),
        ],
        None,
    );
    Project::open(OpenOptions {
        manifest: Some(ctx.project.join("models.toml")),
        env,
        ..OpenOptions::default()
    })
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn a_program_locks_and_syncs_with_progress_through_a_channel() {
    let ctx = TestContext::new();
    ctx.write_manifest(MANIFEST);
    let project = open(&ctx, &ctx.cache);
    let (reporter, mut events) = ChannelReporter::new();
    let report = runtime().block_on(async {
        let lock = project
            .lock(&LockOptions::default(), &reporter)
            .await
            .unwrap();
        assert!(lock.written);
        project
            .sync(&SyncOptions::locked(), &reporter)
            .await
            .unwrap()
    });
    drop(reporter);
    let mut started = 0;
    let mut finished_ok = 0;
    let mut resolved = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            Event::TaskStarted {
                kind: TaskKind::Download,
                ..
            } => started += 1,
            Event::TaskFinished { ok: true, .. } => finished_ok += 1,
            Event::Resolved { name, .. } => resolved.push(name),
            _ => {}
        }
    }
    assert_eq!(resolved, ["tiny"]);
    assert_eq!(report.summary.downloaded_files, 3, "{report:?}");
    assert_eq!((started, finished_ok), (3, 3));
    // The report is what `hfdl sync --json` prints.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["summary"]["downloaded_files"], 3);
    assert_eq!(json["models"], 1);
    // The files are where transformers looks for them.
    let path = project
        .path(&hfdl::ops::path::PathOptions {
            name: "tiny".into(),
        })
        .unwrap();
    assert!(path.path.join("config.json").is_file());
}

#[test]
fn a_cancelled_sync_stops_at_once_and_the_next_one_resumes_its_partial_file() {
    let ctx = TestContext::new();
    ctx.write_manifest(MANIFEST);
    let project = open(&ctx, &ctx.cache);
    let weights = ctx.tiny_file("model.safetensors");
    // 300 kB at 30 kB/s: ten seconds, unless cancelled.
    ctx.hub.add_fault(FaultRule {
        path_contains: weights.sha256.clone().unwrap(),
        fault: Fault::Slow {
            bytes_per_sec: 30_000,
        },
        times: None,
    });
    let cancel = CancellationToken::new();
    let options = SyncOptions {
        cancel: Some(cancel.clone()),
        ..SyncOptions::default()
    };
    let (reporter, mut events) = ChannelReporter::new();
    let started = std::time::Instant::now();
    let result = runtime().block_on(async {
        let watcher = tokio::spawn(async move {
            // Cancel once 60 kB of the weights arrived (two seconds: flushed to the partial
            // file, which keeps them).
            let (mut weights, mut received) = (None, 0);
            while let Some(event) = events.recv().await {
                match event {
                    Event::TaskStarted { id, label, .. } if label.contains("safetensors") => {
                        weights = Some(id);
                    }
                    Event::TaskProgress { id, bytes } if Some(id) == weights => {
                        received += bytes;
                        if received >= 60_000 {
                            cancel.cancel();
                            break;
                        }
                    }
                    _ => {}
                }
            }
        });
        let result = project.sync(&options, &reporter).await;
        watcher.abort();
        result
    });
    let error = result.unwrap_err();
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    assert_eq!(error.error_code(), "cancelled");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "stopped at once: {:?}",
        started.elapsed()
    );
    let blobs = ctx.repo_dir("models--acme--tiny").join("blobs");
    let partial = blobs.join(format!("{}.incomplete", weights.sha256.as_ref().unwrap()));
    let kept = fs_err::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept < weights.size, "{kept}");

    ctx.hub.clear_faults();
    let report = runtime()
        .block_on(project.sync(&SyncOptions::locked(), &hfdl::report::Silent))
        .unwrap();
    assert_eq!(report.summary.resumed_bytes, kept, "{report:?}");
    assert!(!partial.exists());
    let snapshot = project
        .path(&hfdl::ops::path::PathOptions {
            name: "tiny".into(),
        })
        .unwrap()
        .path;
    assert_eq!(
        fs_err::metadata(snapshot.join("model.safetensors"))
            .unwrap()
            .len(),
        weights.size
    );
}

#[test]
fn two_projects_in_one_process_keep_their_own_settings_and_request_counts() {
    let ctx = TestContext::new();
    ctx.write_manifest(MANIFEST);
    let first_cache = ctx.root.path().join("cache-one");
    let second_cache = ctx.root.path().join("cache-two");
    let first = open(&ctx, &first_cache);
    let second = open(&ctx, &second_cache);
    assert_ne!(first.settings().store, second.settings().store);
    let (one, two) = runtime().block_on(async {
        first
            .lock(&LockOptions::default(), &hfdl::report::Silent)
            .await
            .unwrap();
        let options = SyncOptions::locked();
        tokio::join!(
            first.sync(&options, &hfdl::report::Silent),
            second.sync(&options, &hfdl::report::Silent)
        )
    });
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.store, first_cache);
    assert_eq!(two.store, second_cache);
    assert_eq!(two.summary.downloaded_files, 3);
    // Each counts its own requests: the lock's API calls are the first project's alone.
    assert_eq!(
        two.summary.requests.total + one.summary.requests.api,
        one.summary.requests.total,
        "{one:?}\n{two:?}"
    );
}
