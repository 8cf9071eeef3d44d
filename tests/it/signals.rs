//! A clean stop on SIGINT and SIGTERM (issue #19, item 2): a sync interrupted mid-transfer
//! (one and four connections) exits 130 or 143 instead of dying by the signal, says how many
//! partial files it kept and their bytes, writes its metrics file, publishes nothing
//! half-written, and the next sync fetches only the rest; a second signal ends it at once;
//! `verify --full` stops without changing anything, `gc` between whole deletions, `lock` and
//! `add` before writing.
//!
//! Each test starts `hfdl` as a child with its output in files, waits (bounded) until it is in
//! the middle of its work, and sends the signal with `kill`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType};

use crate::support::{TestContext, check_store};

const TINY: &str =
    "[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.json\", \"*.safetensors\"]\n";

/// A running `hfdl`, its stdout and stderr going to files (no pipe to drain meanwhile).
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    fn start(ctx: &TestContext, args: &[&str]) -> Running {
        let stdout = ctx.root.path().join("child.stdout");
        let stderr = ctx.root.path().join("child.stderr");
        let child = ctx
            .hfdl()
            .args(args)
            .stdin(Stdio::null())
            .stdout(fs_err::File::create(&stdout).unwrap().into_parts().0)
            .stderr(fs_err::File::create(&stderr).unwrap().into_parts().0)
            .spawn()
            .expect("spawn hfdl");
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Sends `signal` (`INT`, `TERM`) with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal}");
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn stderr(&self) -> String {
        fs_err::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits at most `within` for the exit; a process still running then is killed and the
    /// test fails.
    fn finish(mut self, within: Duration) -> Output {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "hfdl still ran {within:?} after the signal; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Output {
            status,
            stdout: fs_err::read(&self.stdout).unwrap_or_default(),
            stderr: fs_err::read(&self.stderr).unwrap_or_default(),
        }
    }
}

/// Polls `done` every few milliseconds for at most `within`; fails naming `what` otherwise.
fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Adds `acme/big` with `count` LFS files of `size` bytes; returns the manifest and the files.
fn big_repo(ctx: &TestContext, count: usize, size: u64) -> (String, Vec<hfdl_mock_hub::FileInfo>) {
    let fixtures = ctx.hub.fixtures();
    fixtures
        .create_repo(RepoType::Model, "acme/big", RepoOptions::default())
        .unwrap();
    let paths: Vec<String> = (0..count)
        .map(|i| format!("part-{i:02}.safetensors"))
        .collect();
    let files = paths
        .iter()
        .enumerate()
        .map(|(i, path)| FileChange::generated(path, size, i as u64 + 40))
        .collect();
    fixtures
        .commit(RepoType::Model, "acme/big", "main", "weights", files)
        .unwrap();
    let infos = paths
        .iter()
        .map(|path| {
            fixtures
                .file_info(RepoType::Model, "acme/big", "main", path)
                .unwrap()
        })
        .collect();
    ("[models.big]\nrepo = \"acme/big\"\n".to_owned(), infos)
}

/// Throttles every file body (each connection on its own) to `bytes_per_sec`.
fn slow_bodies(ctx: &TestContext, bytes_per_sec: u64) {
    ctx.hub.add_fault(FaultRule {
        path_contains: "/cdn/".into(),
        fault: Fault::Slow { bytes_per_sec },
        times: None,
    });
}

/// The partial files of `files` in `blobs/` and the bytes a resume keeps of each: the length of
/// `<hex>.incomplete`, or the recorded ranges of `<hex>.hfdl.incomplete` (in hfdl's state).
fn kept_on_disk(ctx: &TestContext, files: &[hfdl_mock_hub::FileInfo]) -> Vec<u64> {
    let blobs = ctx.repo_dir("models--acme--big").join("blobs");
    let mut kept = Vec::new();
    for info in files {
        let plain = blobs.join(format!("{}.incomplete", info.etag()));
        let ranged = blobs.join(format!("{}.hfdl.incomplete", info.etag()));
        if let Ok(metadata) = fs_err::metadata(&plain) {
            kept.push(metadata.len());
        } else if ranged.exists() {
            kept.push(ranged_done(ctx, &ranged));
        }
    }
    kept
}

/// The bytes the range map of the multi-connection partial at `partial` records as done.
fn ranged_done(ctx: &TestContext, partial: &Path) -> u64 {
    let partial = fs_err::canonicalize(partial).unwrap();
    for map in range_maps(ctx) {
        if map["partial"].as_str().map(PathBuf::from) == Some(partial.clone()) {
            return map["ranges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|range| range["done"].as_u64().unwrap())
                .sum();
        }
    }
    panic!("no range map for {}", partial.display());
}

/// Every range map in hfdl's state directory.
fn range_maps(ctx: &TestContext) -> Vec<serde_json::Value> {
    fs_err::read_dir(ctx.state.join("partials"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|entry| fs_err::read(entry.path()).ok())
                .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every file has a partial download under way: a `.incomplete` past `bytes` with one
/// connection, a range map whose every range recorded progress with several.
fn all_under_way(ctx: &TestContext, files: &[hfdl_mock_hub::FileInfo], connections: u32) -> bool {
    if connections > 1 {
        let maps = range_maps(ctx);
        return maps.len() == files.len()
            && maps.iter().all(|map| {
                map["ranges"].as_array().is_some_and(|ranges| {
                    ranges.len() > 1
                        && ranges
                            .iter()
                            .all(|range| range["done"].as_u64().unwrap_or(0) > 0)
                })
            });
    }
    let blobs = ctx.repo_dir("models--acme--big").join("blobs");
    files.iter().all(|info| {
        fs_err::metadata(blobs.join(format!("{}.incomplete", info.etag())))
            .is_ok_and(|m| m.len() > 256 << 10)
    })
}

/// A two-file sync with `connections` per file, interrupted by `signal` mid-transfer: exits
/// `exit`, says what it kept (as text, or as data with `json`), writes its metrics file, leaves
/// nothing visible that is partial or wrong; the next sync fetches only the rest.
fn interrupted_sync(signal: &str, exit: i32, connections: u32, json: bool) {
    let ctx = TestContext::new();
    // Large enough for four ranges of 8 MiB each with four connections; with one, each file
    // takes a few seconds at the throttled rate.
    let (size, rate) = if connections > 1 {
        (32 << 20, 1 << 20)
    } else {
        (2 << 20, 512 << 10)
    };
    let (manifest, files) = big_repo(&ctx, 2, size);
    ctx.write_manifest(&manifest);
    assert!(ctx.run(&["lock"]).status.success());
    slow_bodies(&ctx, rate);
    let metrics = ctx.root.path().join("metrics.json");
    let connections_arg = connections.to_string();
    let mut args = vec![
        "sync",
        "-j",
        "2",
        "--connections",
        &connections_arg,
        "--metrics-file",
        metrics.to_str().unwrap(),
    ];
    if json {
        args.push("--json");
    }
    let mut sync = Running::start(&ctx, &args);
    wait_until("both files are under way", Duration::from_secs(20), || {
        all_under_way(&ctx, &files, connections)
    });
    assert!(sync.is_running(), "{}", sync.stderr());
    let signalled = Instant::now();
    sync.signal(signal);
    let output = sync.finish(Duration::from_secs(10));
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "stopped promptly: {:?}",
        signalled.elapsed()
    );
    assert_eq!(
        output.status.code(),
        Some(exit),
        "an exit status, not a death by the signal: {}",
        ctx.render(&output)
    );

    // What the message says was kept is what is on disk.
    let kept = kept_on_disk(&ctx, &files);
    assert_eq!(kept.len(), 2, "both partial files are kept: {kept:?}");
    assert!(kept.iter().all(|bytes| *bytes > 0), "{kept:?}");
    let kept_bytes: u64 = kept.iter().sum();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if json {
        let value: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", ctx.render(&output)));
        let error = &value["error"];
        assert_eq!(error["code"], "cancelled", "{value}");
        assert_eq!(error["exit_code"], exit, "{value}");
        assert_eq!(error["signal"], format!("SIG{signal}"), "{value}");
        assert_eq!(error["partial_files"], 2, "{value}");
        assert_eq!(error["partial_bytes"], kept_bytes, "{value}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("interrupted: 2 partial files kept ("),
            "{value}"
        );
    } else {
        let line = stderr
            .lines()
            .find(|line| line.starts_with("interrupted:"))
            .unwrap_or_else(|| panic!("no `interrupted:` line: {}", ctx.render(&output)));
        assert!(
            line.starts_with("interrupted: 2 partial files kept (")
                && line.ends_with("); `hfdl sync` resumes"),
            "{line}"
        );
        assert!(
            !stderr.contains('\u{1b}'),
            "no escape codes in a log: {stderr}"
        );
    }

    // The metrics file says the sync was cancelled, and what it received.
    let written: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&metrics).expect("the metrics file is written"))
            .unwrap();
    assert_eq!(written["ok"], false, "{written}");
    assert_eq!(written["error"]["code"], "cancelled", "{written}");
    assert!(
        written["bytes"]["received"].as_u64().unwrap() > 0,
        "{written}"
    );

    // Nothing half-written is visible: no blob of the big files, nothing wrong anywhere.
    let blobs = ctx.repo_dir("models--acme--big").join("blobs");
    for info in &files {
        assert!(!blobs.join(info.etag()).exists(), "{} published", info.path);
    }
    let lock = ctx.project.join("models.lock");
    let check = check_store(&lock, &ctx.cache);
    assert!(check.wrong.is_empty(), "{check:?}");

    // The next sync resumes every partial file and fetches only the rest.
    ctx.hub.clear_faults();
    ctx.hub.reset();
    let again = ctx.run(&["sync", "--json", "--connections", &connections_arg]);
    assert!(again.status.success(), "{}", ctx.render(&again));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        report["summary"]["resumed_bytes"], kept_bytes,
        "resumed what was kept: {report}"
    );
    let total = 2 * size;
    assert_eq!(
        ctx.hub.counters().bytes_served,
        total - kept_bytes,
        "only the rest crossed the network"
    );
    assert!(check_store(&lock, &ctx.cache).complete());
    assert!(range_maps(&ctx).is_empty(), "no range map is left");
}

#[test]
fn sigint_during_a_one_connection_sync_exits_130_keeps_the_partials_and_the_next_sync_resumes() {
    interrupted_sync("INT", 130, 1, false);
}

#[test]
fn sigterm_during_a_one_connection_sync_exits_143_and_json_says_cancelled_with_the_counts() {
    interrupted_sync("TERM", 143, 1, true);
}

#[test]
fn sigint_during_a_four_connection_sync_exits_130_and_json_says_what_every_range_kept() {
    interrupted_sync("INT", 130, 4, true);
}

#[test]
fn sigterm_during_a_four_connection_sync_exits_143_keeps_the_ranges_and_the_next_sync_resumes() {
    interrupted_sync("TERM", 143, 4, false);
}

/// Takes the flock at `path` (creating the file), as another process would: held until the
/// returned file is dropped.
fn hold_lock(path: &Path) -> std::fs::File {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    let (file, _) = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap()
        .into_parts();
    file.lock().unwrap();
    file
}

#[test]
fn a_second_signal_ends_the_process_at_once_with_the_same_status() {
    let ctx = TestContext::new();
    let (manifest, files) = big_repo(&ctx, 2, 2 << 20);
    ctx.write_manifest(&manifest);
    assert!(ctx.run(&["lock"]).status.success());
    slow_bodies(&ctx, 256 << 10);
    // Another process holds the second file's blob lock: the sync waits for it, and after the
    // first signal the clean stop waits a while for that lock too (to count what it kept).
    let held = hold_lock(
        &ctx.cache
            .join(".locks/models--acme--big")
            .join(format!("{}.lock", files[1].etag())),
    );
    let mut sync = Running::start(&ctx, &["sync", "-j", "2", "--connections", "1"]);
    wait_until(
        "the first file is under way",
        Duration::from_secs(20),
        || all_under_way(&ctx, &files[..1], 1),
    );
    sync.signal("INT");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        sync.is_running(),
        "the first signal stops cleanly, which takes a moment here: {}",
        sync.stderr()
    );
    let second = Instant::now();
    sync.signal("INT");
    let output = sync.finish(Duration::from_secs(10));
    assert!(
        second.elapsed() < Duration::from_secs(1),
        "the second signal ended it at once: {:?}",
        second.elapsed()
    );
    assert_eq!(output.status.code(), Some(130), "{}", ctx.render(&output));
    drop(held);
    let check = check_store(&ctx.project.join("models.lock"), &ctx.cache);
    assert!(check.wrong.is_empty(), "{check:?}");
}

/// A writer that feeds the FIFO at `path` a little at a time until told to stop or until the
/// reader is gone: a file that takes as long to hash as the test wants.
struct SlowFile {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    opened: std::sync::mpsc::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

impl SlowFile {
    fn feed(path: &Path) -> SlowFile {
        use std::io::Write as _;
        let status = Command::new("mkfifo").arg(path).status().unwrap();
        assert!(status.success(), "mkfifo");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let (path, flag) = (path.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Blocks until the reader (hfdl's hashing) opens it.
            let mut fifo = fs_err::OpenOptions::new().write(true).open(&path).unwrap();
            let _ = opened_tx.send(());
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                if fifo.write_all(&[0u8; 1024]).is_err() {
                    return; // the reader closed it
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SlowFile {
            stop,
            opened,
            thread,
        }
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap();
    }
}

#[test]
fn sigint_during_verify_full_exits_130_and_changes_nothing() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["sync"]).status.success());
    // The weights' blob becomes a FIFO fed slowly: hashing it takes until the signal.
    let weights = ctx.tiny_file("model.safetensors");
    let blob = ctx
        .repo_dir("models--acme--tiny")
        .join("blobs")
        .join(weights.etag());
    fs_err::remove_file(&blob).unwrap();
    let slow = SlowFile::feed(&blob);
    let store_before = crate::support::tree(&ctx.cache);
    let stat_cache = ctx.state.join("verified-blobs.json");
    let stat_cache_before = fs_err::read(&stat_cache).ok();

    let verify = Running::start(&ctx, &["verify", "--full"]);
    slow.opened
        .recv_timeout(Duration::from_secs(20))
        .expect("verify started hashing the weights");
    std::thread::sleep(Duration::from_millis(100));
    let signalled = Instant::now();
    verify.signal("INT");
    let output = verify.finish(Duration::from_secs(10));
    assert!(signalled.elapsed() < Duration::from_secs(3));
    assert_eq!(output.status.code(), Some(130), "{}", ctx.render(&output));
    assert!(
        output.stdout.is_empty(),
        "no report of a verification cut short: {}",
        ctx.render(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().any(|line| line == "interrupted"),
        "{}",
        ctx.render(&output)
    );
    slow.stop();
    assert_eq!(crate::support::tree(&ctx.cache), store_before);
    assert_eq!(
        fs_err::read(&stat_cache).ok(),
        stat_cache_before,
        "the stat cache is left as it was"
    );
}

/// Adds `count` snapshot directories of commits no lock references to `acme/tiny`, each with
/// `links` links: garbage that takes gc a while to delete. Returns their paths.
fn garbage_snapshots(ctx: &TestContext, count: usize, links: usize) -> Vec<PathBuf> {
    let snapshots = ctx.repo_dir("models--acme--tiny").join("snapshots");
    (0..count)
        .map(|i| {
            let dir = snapshots.join(format!("{i:040x}"));
            fs_err::create_dir_all(&dir).unwrap();
            for j in 0..links {
                fs_err::os::unix::fs::symlink(
                    format!("../../blobs/{j:064x}"),
                    dir.join(format!("file-{j:04}.bin")),
                )
                .unwrap();
            }
            dir
        })
        .collect()
}

#[test]
fn sigterm_during_gc_exits_143_between_whole_snapshots() {
    const LINKS: usize = 200;
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["sync"]).status.success());
    let garbage = garbage_snapshots(&ctx, 30, LINKS);
    let snapshots = ctx.repo_dir("models--acme--tiny").join("snapshots");
    let count = || fs_err::read_dir(&snapshots).unwrap().count();
    let before = count();

    let gc = Running::start(&ctx, &["gc"]);
    wait_until(
        "gc deleted its first snapshot",
        Duration::from_secs(20),
        || count() < before,
    );
    gc.signal("TERM");
    let output = gc.finish(Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(143), "{}", ctx.render(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .any(|line| line == "interrupted"),
        "{}",
        ctx.render(&output)
    );
    // Every snapshot is whole or gone, and the signal landed half-way through.
    let mut gone = 0;
    for dir in &garbage {
        match fs_err::read_dir(dir) {
            Ok(entries) => assert_eq!(entries.count(), LINKS, "{} is whole", dir.display()),
            Err(_) => gone += 1,
        }
    }
    assert!(
        gone > 0 && gone < garbage.len(),
        "stopped half-way: {gone} of {} deleted",
        garbage.len()
    );
    // The locked snapshot is untouched (the garbage left links to blobs that never were).
    let lock = ctx.project.join("models.lock");
    let check = check_store(&lock, &ctx.cache);
    assert!(check.missing.is_empty(), "{check:?}");
    // The next gc finishes the job.
    let again = ctx.run(&["gc"]);
    assert!(again.status.success(), "{}", ctx.render(&again));
    assert!(garbage.iter().all(|dir| !dir.exists()));
    assert!(check_store(&lock, &ctx.cache).complete());
}

#[test]
fn sigint_while_gc_waits_for_a_running_sync_exits_130_and_deletes_nothing() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["sync"]).status.success());
    let garbage = garbage_snapshots(&ctx, 1, 3);
    // A sync holds the store lock (shared; gc needs it exclusively).
    let held = hold_lock(&ctx.cache.join(".locks/hfdl-store.lock"));
    let gc = Running::start(&ctx, &["gc", "--wait", "60"]);
    wait_until("gc waits", Duration::from_secs(20), || {
        gc.stderr().contains("Waiting for a running hfdl sync")
    });
    let signalled = Instant::now();
    gc.signal("INT");
    let output = gc.finish(Duration::from_secs(10));
    assert!(signalled.elapsed() < Duration::from_secs(2));
    assert_eq!(output.status.code(), Some(130), "{}", ctx.render(&output));
    assert!(garbage[0].exists(), "nothing was deleted");
    drop(held);
}

/// A 429 asking the client to come back in 30 s for the revision API: a lock that waits.
fn slow_revision_api(ctx: &TestContext) {
    ctx.hub.add_fault(FaultRule {
        path_contains: "/revision/".into(),
        fault: Fault::RateLimit {
            retry_after_secs: 30,
        },
        times: None,
    });
}

/// Waits until the Hub answered a revision request with a 429: hfdl is waiting to retry.
fn wait_for_rate_limit(ctx: &TestContext) {
    wait_until("the Hub rate-limited hfdl", Duration::from_secs(20), || {
        ctx.hub.requests().iter().any(|r| r.status == 429)
    });
}

#[test]
fn sigint_while_lock_resolves_exits_130_and_writes_no_lock() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    slow_revision_api(&ctx);
    let lock = Running::start(&ctx, &["lock", "--json"]);
    wait_for_rate_limit(&ctx);
    lock.signal("INT");
    let output = lock.finish(Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(130), "{}", ctx.render(&output));
    assert_eq!(crate::support::json_error_code(&output), "cancelled");
    assert!(!ctx.project.join("models.lock").exists());
}

#[test]
fn sigterm_while_add_resolves_exits_143_and_writes_neither_file() {
    let ctx = TestContext::new();
    ctx.write_manifest(TINY);
    assert!(ctx.run(&["lock"]).status.success());
    let (manifest, lock) = (ctx.read("models.toml"), ctx.read("models.lock"));
    slow_revision_api(&ctx);
    let add = Running::start(&ctx, &["add", "acme/squad", "--repo-type", "dataset"]);
    wait_for_rate_limit(&ctx);
    add.signal("TERM");
    let output = add.finish(Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(143), "{}", ctx.render(&output));
    assert_eq!(ctx.read("models.toml"), manifest);
    assert_eq!(ctx.read("models.lock"), lock);
}
