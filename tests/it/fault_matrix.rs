//! The fault matrix: seeded runs of `hfdl sync` against a mock Hub that misbehaves, one test per
//! kind of fault (kill -9 at a random byte with 1 and 4 connections, cut bodies, flipped bytes,
//! 5xx, 429 with `Retry-After`, stalls, ignored `Range`, a full disk, `gc` during a sync, and
//! 30% of CDN GETs failing with default settings).
//!
//! After every run, whatever happened: no wrong or partial file is visible (every blob hashes to
//! its name, every snapshot file links to such a blob, locked paths to the lock's digest); an
//! exit 0 means every locked file is in place, and any other exit is a `--json` error with a
//! known code (and the exit code that goes with it). Then the faults stop and one more sync must
//! complete the store: nothing a failed run left behind stands in the way.
//!
//! Each run's faults come from a small PRNG seeded with the run's number, printed with the
//! run's log on failure; `HFDL_MATRIX_SEED=N` runs only seed N of each kind.

use std::process::{Child, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hfdl_mock_hub::{Fault, FaultRule, FileChange, RepoOptions, RepoType};

use crate::support::{TestContext, Tmpfs, check_store};

/// Error codes a failed run may end with, and their exit codes: each names a category the user
/// can act on.
const KNOWN_ERRORS: &[(&str, i32)] = &[
    ("network-error", 3),
    ("server-error", 3),
    ("rate-limited", 3),
    ("hash-mismatch", 1),
    ("disk-full", 1),
    ("store-busy", 1),
];

/// The retry budget of a default configuration (`retries`).
const DEFAULT_RETRIES: usize = 4;

/// splitmix64: small, fast, and the same sequence everywhere for a seed.
struct Rng(u64);

impl Rng {
    fn new(kind: &str, seed: u64) -> Rng {
        // Each kind gets its own sequence for the same seed.
        let salt = kind.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Rng(seed ^ salt)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.between(0, len as u64)).unwrap()
    }

    #[allow(clippy::cast_precision_loss)] // 53 random bits are exact in an f64
    fn chance(&mut self, probability: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < probability
    }
}

/// A file of the run's repo.
#[derive(Debug, Clone)]
struct MatrixFile {
    path: String,
    size: u64,
    lfs: bool,
    /// What a fault rule matches: the CDN object, or the file's resolve URL.
    url_part: String,
}

/// What the run's repo holds besides `config.json` (a regular file of a few tens of kB).
#[derive(Clone, Copy)]
enum Files {
    /// Two or three LFS files of 20–300 kB.
    Small,
    /// One 32 MiB LFS file: four ranges of 8 MiB for `--connections 4`.
    Big,
}

/// One seeded run: a project, a store and a mock Hub serving `acme/matrix`, and a log of what
/// was done to it (printed when the run fails).
struct Run {
    seed: u64,
    rng: Rng,
    ctx: TestContext,
    files: Vec<MatrixFile>,
    log: Vec<String>,
    /// Overrides `HF_HUB_CACHE` (a store on a small disk).
    store: Option<std::path::PathBuf>,
    /// How the first checked sync ended (the one with the faults), for the summary.
    first_end: Option<Ended>,
    /// The retry budget of the last sync started (`HFDL_RETRIES`, else the default).
    budget: usize,
}

/// How a run's sync ended, once its output was found consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ended {
    Complete,
    Failed(String),
    /// Killed with SIGKILL by the test (no exit to check; the store still is).
    Killed,
}

impl Run {
    fn new(kind: &str, seed: u64, files: Files) -> Run {
        let ctx = TestContext::new();
        let mut rng = Rng::new(kind, seed);
        let fixtures = ctx.hub.fixtures();
        fixtures
            .create_repo(RepoType::Model, "acme/matrix", RepoOptions::default())
            .unwrap();
        let config_size = rng.between(2_000, 40_000);
        let config: Vec<u8> = (0..config_size)
            .map(|_| b'a' + u8::try_from(rng.between(0, 26)).unwrap())
            .collect();
        let mut changes = vec![FileChange::regular("config.json", config)];
        match files {
            Files::Small => {
                for i in 0..rng.between(2, 4) {
                    let size = rng.between(20_000, 300_000);
                    changes.push(FileChange::generated(
                        &format!("model-{i:05}.safetensors"),
                        size,
                        seed * 16 + i,
                    ));
                }
            }
            Files::Big => changes.push(FileChange::generated("big.safetensors", 32 << 20, seed)),
        }
        let paths: Vec<String> = changes
            .iter()
            .map(|c| match c {
                FileChange::Put { path, .. } | FileChange::Delete { path } => path.clone(),
            })
            .collect();
        let commit = fixtures
            .commit(RepoType::Model, "acme/matrix", "main", "weights", changes)
            .unwrap();
        let files = paths
            .iter()
            .map(|path| {
                let info = fixtures
                    .file_info(RepoType::Model, "acme/matrix", "main", path)
                    .unwrap();
                MatrixFile {
                    path: path.clone(),
                    size: info.size,
                    lfs: info.is_lfs,
                    url_part: if info.is_lfs {
                        format!("/cdn/{}", info.content_sha256)
                    } else {
                        // Regular files come from the Hub's resolve cache (a 307 away).
                        format!("/resolve-cache/models/acme/matrix/{commit}/{path}")
                    },
                }
            })
            .collect();
        ctx.write_manifest("[models.m]\nrepo = \"acme/matrix\"\n");
        let lock = ctx.run(&["lock"]);
        assert!(lock.status.success(), "{}", ctx.render(&lock));
        ctx.hub.reset();
        Run {
            seed,
            rng,
            ctx,
            files,
            log: Vec::new(),
            store: None,
            first_end: None,
            budget: DEFAULT_RETRIES,
        }
    }

    fn note(&mut self, line: impl Into<String>) {
        self.log.push(line.into());
    }

    /// Indexes of the LFS files (served by the CDN).
    fn lfs_files(&self) -> Vec<usize> {
        (0..self.files.len())
            .filter(|&i| self.files[i].lfs)
            .collect()
    }

    fn random_file(&mut self) -> usize {
        self.rng.index(self.files.len())
    }

    /// Applies `fault` to the next `times` requests for file `index` (or to all of them).
    fn fault(&mut self, index: usize, fault: Fault, times: Option<u32>) {
        let file = &self.files[index];
        self.log.push(format!(
            "fault on {} ({} B): {fault:?} × {}",
            file.path,
            file.size,
            times.map_or_else(|| "always".to_owned(), |t| t.to_string())
        ));
        self.ctx.hub.add_fault(FaultRule {
            path_contains: file.url_part.clone(),
            fault,
            times,
        });
    }

    /// Slows every CDN body to `bytes_per_sec`, so that something can happen during the sync.
    fn slow_cdn(&mut self, bytes_per_sec: u64) {
        self.note(format!("CDN bodies at {bytes_per_sec} B/s"));
        self.ctx.hub.add_fault(FaultRule {
            path_contains: "/cdn/".into(),
            fault: Fault::Slow { bytes_per_sec },
            times: None,
        });
    }

    fn store(&self) -> std::path::PathBuf {
        self.store.clone().unwrap_or_else(|| self.ctx.cache.clone())
    }

    fn blobs(&self) -> std::path::PathBuf {
        self.store().join("models--acme--matrix").join("blobs")
    }

    /// `hfdl sync --json ARGS` with `env`, against the run's store.
    fn command(&mut self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        self.budget = env
            .iter()
            .find(|(key, _)| *key == "HFDL_RETRIES")
            .map_or(DEFAULT_RETRIES, |(_, value)| value.parse().unwrap());
        let mut command = self.ctx.hfdl();
        command.arg("sync").arg("--json").args(args);
        command.env("HF_HUB_CACHE", self.store());
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    fn sync(&mut self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.note(format!("hfdl sync --json {} {env:?}", args.join(" ")));
        self.command(args, env).output().unwrap()
    }

    fn spawn_sync(&mut self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.note(format!(
            "spawn: hfdl sync --json {} {env:?}",
            args.join(" ")
        ));
        self.command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Nothing wrong is visible in the store; `complete` also wants every locked file.
    fn check_store(&self, complete: bool) -> Result<(), String> {
        let check = check_store(&self.ctx.project.join("models.lock"), &self.store());
        if !check.wrong.is_empty() {
            return Err(format!("wrong files are visible: {:?}", check.wrong));
        }
        if complete && !check.missing.is_empty() {
            return Err(format!("locked files are missing: {:?}", check.missing));
        }
        Ok(())
    }

    /// Checks a finished sync: the store holds nothing wrong, exit 0 has every file, any other
    /// exit is a categorised `--json` error.
    fn ended(&mut self, output: &Output) -> Result<Ended, String> {
        let shown = self.ctx.render(output);
        self.check_store(false)
            .map_err(|e| format!("{e}\nafter:\n{shown}"))?;
        let retries =
            check_retry_numbers(output, self.budget).map_err(|e| format!("{e}\n{shown}"))?;
        if !retries.is_empty() {
            self.note(format!("retries: {retries:?}"));
        }
        let ended = match output.status.code() {
            Some(0) => {
                self.check_store(true)
                    .map_err(|e| format!("exit 0, but {e}\n{shown}"))?;
                Ended::Complete
            }
            Some(code) => {
                let value: serde_json::Value = serde_json::from_slice(&output.stdout)
                    .map_err(|e| format!("exit {code} without a JSON error ({e}):\n{shown}"))?;
                let name = value["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let expected = KNOWN_ERRORS
                    .iter()
                    .find(|(known, _)| *known == name)
                    .map(|(_, exit)| *exit)
                    .ok_or_else(|| format!("exit {code} with an unexpected error:\n{shown}"))?;
                if code != expected || value["error"]["exit_code"] != code {
                    return Err(format!("`{name}` should exit {expected}:\n{shown}"));
                }
                Ended::Failed(name)
            }
            None => return Err(format!("hfdl died of a signal:\n{shown}")),
        };
        self.note(format!("→ {ended:?}"));
        self.first_end.get_or_insert_with(|| ended.clone());
        Ok(ended)
    }

    /// The faults stop; one more sync completes the store whatever the run left behind.
    fn recover(&mut self, args: &[&str]) -> Result<(), String> {
        self.ctx.hub.clear_faults();
        let output = self.sync(args, &[]);
        match self.ended(&output)? {
            Ended::Complete => Ok(()),
            other => Err(format!(
                "the sync after the faults ended {other:?}:\n{}",
                self.ctx.render(&output)
            )),
        }
    }

    fn expect(ended: &Ended, wanted: &Ended) -> Result<(), String> {
        if ended == wanted {
            Ok(())
        } else {
            Err(format!("ended {ended:?}, expected {wanted:?}"))
        }
    }
}

/// The `retrying` events of a `--json` sync number each file's retries 1, 2, 3… whatever
/// their causes and connections, and stay within the budget.
/// Returns the number of retries of each file that had any.
fn check_retry_numbers(
    output: &Output,
    budget: usize,
) -> Result<std::collections::BTreeMap<String, usize>, String> {
    let mut attempts = std::collections::BTreeMap::<String, Vec<u64>>::new();
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["event"] == "retrying" {
            let label = event["label"].as_str().unwrap_or_default().to_owned();
            attempts
                .entry(label)
                .or_default()
                .push(event["attempt"].as_u64().unwrap_or_default());
        }
    }
    for (label, numbers) in &attempts {
        let counted: Vec<u64> = (1..=numbers.len() as u64).collect();
        if *numbers != counted || numbers.len() > budget {
            return Err(format!(
                "the retries of {label} are numbered {numbers:?} (budget {budget})"
            ));
        }
    }
    Ok(attempts.into_iter().map(|(k, v)| (k, v.len())).collect())
}

/// SIGKILLs `child` and reaps it.
fn kill_9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `runs` seeds of `kind` on `threads` threads, each through `body`; panics with every
/// failed seed and its log. Returns nothing: the summary goes to stderr.
fn matrix(
    kind: &str,
    runs: u64,
    threads: usize,
    body: fn(&mut Run) -> Result<(), String>,
    files: Files,
) {
    #[allow(clippy::disallowed_methods)] // test harness configuration
    let only: Option<u64> = std::env::var("HFDL_MATRIX_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let seeds: Vec<u64> = only.map_or_else(|| (0..runs).collect(), |seed| vec![seed]);
    #[allow(clippy::disallowed_methods)] // test harness configuration
    let verbose = std::env::var_os("HFDL_MATRIX_VERBOSE").is_some();
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let outcomes = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = seeds.get(usize::try_from(i).unwrap()) else {
                        break;
                    };
                    let run_started = Instant::now();
                    let mut run = Run::new(kind, seed, files);
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        body(&mut run)
                    }))
                    .unwrap_or_else(|panic| {
                        Err(panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_else(|| "panicked".into()))
                    });
                    let elapsed = run_started.elapsed();
                    let outcome = match &run.first_end {
                        None => "no sync ended".to_owned(),
                        Some(Ended::Complete) => "exit 0".to_owned(),
                        Some(Ended::Failed(code)) => code.clone(),
                        Some(Ended::Killed) => "killed".to_owned(),
                    };
                    if verbose {
                        #[allow(clippy::print_stderr)] // asked for with HFDL_MATRIX_VERBOSE
                        {
                            eprintln!("{kind} seed {seed}, {elapsed:.1?}:\n  {}", run.log.join("\n  "));
                        }
                    }
                    outcomes.lock().unwrap().push((elapsed, outcome));
                    match result {
                        Ok(()) => {}
                        Err(error) => failures.lock().unwrap().push(format!(
                            "{kind} seed {seed} (HFDL_MATRIX_SEED={seed}) failed after {elapsed:.1?}: {error}\nlog:\n  {}\nrequests:\n  {}",
                            run.log.join("\n  "),
                            run.ctx
                                .hub
                                .requests()
                                .iter()
                                .map(|r| format!("{} {} {} {:?}", r.method, r.path, r.status, r.range))
                                .collect::<Vec<_>>()
                                .join("\n  ")
                        )),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let outcomes = outcomes.into_inner().unwrap();
    let slowest = outcomes.iter().map(|(d, _)| *d).max().unwrap_or_default();
    let mut ends = std::collections::BTreeMap::<&str, usize>::new();
    for (_, outcome) in &outcomes {
        *ends.entry(outcome).or_default() += 1;
    }
    #[allow(clippy::print_stderr)] // the matrix's summary belongs in the test output
    {
        eprintln!(
            "fault matrix `{kind}`: {} runs ({ends:?}), {} failed the checks, in {:.1?} on {threads} threads (slowest run {slowest:.1?})",
            seeds.len(),
            failures.len(),
            started.elapsed()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Whether every file's faulty requests (`faults[i]` before a good one) fit the retry budget:
/// then the sync must complete.
fn within_budget(faults: &[usize], budget: usize) -> bool {
    faults.iter().all(|&n| n <= budget)
}

#[test]
fn thirty_percent_of_cdn_gets_failing_never_fails_a_sync_with_default_settings() {
    matrix(
        "cdn-30-percent",
        40,
        6,
        |run| {
            // Each CDN GET of each file fails with probability 0.3: a 503, a cut body or a flipped
            // byte (never the same byte twice for one file: that is the consistent case).
            let mut counts: Vec<usize> = Vec::new();
            for index in run.lfs_files() {
                let size = run.files[index].size;
                let mut used_offsets = Vec::new();
                let mut count = 0;
                while run.rng.chance(0.3) {
                    let fault = match run.rng.between(0, 3) {
                        0 => Fault::Status(503),
                        1 => Fault::CutAfter(run.rng.between(0, size)),
                        _ => {
                            let mut offset = run.rng.between(0, size);
                            while used_offsets.contains(&offset) {
                                offset = run.rng.between(0, size);
                            }
                            used_offsets.push(offset);
                            Fault::Corrupt { offset }
                        }
                    };
                    run.fault(index, fault, Some(1));
                    count += 1;
                }
                counts.push(count);
            }
            run.note(format!("faulty GETs per LFS file: {counts:?}"));
            let output = run.sync(&[], &[]);
            let ended = run.ended(&output)?;
            // More faults in a row than the budget (p = 0.3^5 per file) may fail, categorised;
            // the fixed seeds have none, so every run of the batch exits 0.
            if within_budget(&counts, DEFAULT_RETRIES) {
                Run::expect(&ended, &Ended::Complete)?;
            }
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn kill_9_at_a_random_byte_with_one_connection_leaves_nothing_wrong_and_resumes() {
    matrix(
        "kill-9-one-connection",
        14,
        4,
        |run| {
            let rate = run.rng.between(300_000, 800_000);
            run.slow_cdn(rate);
            let jobs = run.rng.between(1, 4).to_string();
            let total: u64 = run.files.iter().map(|f| f.size).sum();
            let at = run.rng.between(1, total);
            let child = run.spawn_sync(&["-j", &jobs], &[]);
            kill_at_byte(run, child, at)?;
            run.check_store(false)?;
            run.recover(&["-j", &jobs])
        },
        Files::Small,
    );
}

#[test]
fn kill_9_at_a_random_byte_with_four_connections_leaves_nothing_wrong_and_resumes() {
    matrix(
        "kill-9-four-connections",
        6,
        3,
        |run| {
            // Four ranges of 8 MiB at 8 MiB/s each: the download takes about a second.
            run.slow_cdn(8 << 20);
            let at = run.rng.between(1, 32 << 20);
            let child = run.spawn_sync(&["--connections", "4"], &[]);
            kill_at_byte(run, child, at)?;
            run.check_store(false)?;
            run.recover(&["--connections", "4"])
        },
        Files::Big,
    );
}

#[test]
fn faults_on_a_four_connection_download_share_one_retry_budget_and_every_file_is_correct() {
    matrix(
        "four-connection-faults",
        8,
        3,
        |run| {
            let big = run.lfs_files()[0];
            // At most three faults: within the file's budget of four retries, whichever ranges
            // they hit.
            for _ in 0..run.rng.between(1, 4) {
                let fault = match run.rng.between(0, 5) {
                    0 => Fault::Status(503),
                    1 => Fault::CutAfter(run.rng.between(0, 8 << 20)),
                    2 => Fault::Corrupt {
                        offset: run.rng.between(0, 32 << 20),
                    },
                    3 => Fault::Stall,
                    _ => Fault::IgnoreRange,
                };
                run.fault(big, fault, Some(1));
            }
            let output = run.sync(&["--connections", "4"], &[("HFDL_TIMEOUT", "1s")]);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &Ended::Complete)?;
            run.recover(&["--connections", "4"])
        },
        Files::Big,
    );
}

/// SIGKILLs the sync once the Hub has sent `at` body bytes (or lets it be if it ended first),
/// and notes what the store held at that moment.
fn kill_at_byte(run: &mut Run, mut child: Child, at: u64) -> Result<(), String> {
    run.note(format!("kill -9 once {at} body bytes were sent"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().unwrap().is_some() {
            run.note("the sync ended before the kill");
            return Ok(());
        }
        if run.ctx.hub.counters().bytes_served >= at {
            kill_9(&mut child);
            break;
        }
        if Instant::now() > deadline {
            kill_9(&mut child);
            return Err(format!("the Hub never sent {at} bytes"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    run.first_end = Some(Ended::Killed);
    let mut held: Vec<String> = fs_err::read_dir(run.blobs())
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let len = e.metadata().map_or(0, |m| m.len());
                    format!("{} ({len} B)", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default();
    held.sort();
    run.note(format!(
        "killed after {} bytes; blobs/: {held:?}",
        run.ctx.hub.counters().bytes_served
    ));
    Ok(())
}

#[test]
fn cut_bodies_are_resumed_and_every_file_is_correct() {
    matrix(
        "cut-body",
        10,
        4,
        |run| {
            for _ in 0..run.rng.between(1, 4) {
                let index = run.random_file();
                let size = run.files[index].size;
                let times = u32::try_from(run.rng.between(1, 3)).unwrap();
                let at = run.rng.between(0, size);
                run.fault(index, Fault::CutAfter(at), Some(times));
            }
            // At most three cuts per file: always within the budget of four retries.
            let output = run.sync(&[], &[]);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &Ended::Complete)?;
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn flipped_bytes_are_fetched_again_or_end_in_a_hash_mismatch() {
    matrix(
        "flipped-byte",
        12,
        4,
        |run| {
            let index = run.random_file();
            let size = run.files[index].size;
            let (env, wanted): (&[(&str, &str)], Ended) = match run.seed % 4 {
                // One bad body, or two in a row with different bytes: transient, retried.
                0 | 1 => {
                    let first = run.rng.between(0, size);
                    run.fault(index, Fault::Corrupt { offset: first }, Some(1));
                    if run.seed % 4 == 1 {
                        let second = (first + 1 + run.rng.between(0, size - 1)) % size;
                        run.fault(index, Fault::Corrupt { offset: second }, Some(1));
                    }
                    (&[], Ended::Complete)
                }
                // The same wrong bytes every time: the server serves other content.
                2 => {
                    let offset = run.rng.between(0, size);
                    run.fault(index, Fault::Corrupt { offset }, None);
                    (&[], Ended::Failed("hash-mismatch".into()))
                }
                // Different wrong bytes each time, more often than the budget allows.
                _ => {
                    for k in 0..3 {
                        let offset = (run.rng.between(0, size / 3) + k * (size / 3)).min(size - 1);
                        run.fault(index, Fault::Corrupt { offset }, Some(1));
                    }
                    (
                        &[("HFDL_RETRIES", "2")],
                        Ended::Failed("hash-mismatch".into()),
                    )
                }
            };
            let output = run.sync(&[], env);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &wanted)?;
            if let Ended::Failed(_) = ended {
                let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
                let help = value["error"]["help"].as_str().unwrap_or_default();
                let case = if run.seed % 4 == 2 {
                    "with the same result"
                } else {
                    "retry budget ran out"
                };
                if !help.contains(case) {
                    return Err(format!("the help does not say `{case}`: {help}"));
                }
            }
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn server_errors_are_retried_or_end_in_server_error() {
    matrix(
        "server-error",
        10,
        4,
        |run| {
            let index = run.random_file();
            let status = [500, 502, 503, 504][run.rng.index(4)];
            let (env, wanted): (&[(&str, &str)], Ended) = if run.seed % 5 == 4 {
                run.fault(index, Fault::Status(status), None);
                (
                    &[("HFDL_RETRIES", "1")],
                    Ended::Failed("server-error".into()),
                )
            } else {
                let times = u32::try_from(run.rng.between(1, 4)).unwrap();
                run.fault(index, Fault::Status(status), Some(times));
                (&[], Ended::Complete)
            };
            let output = run.sync(&[], env);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &wanted)?;
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    matrix(
        "rate-limited",
        8,
        4,
        |run| {
            let index = run.random_file();
            let retry_after_secs = run.rng.between(0, 2);
            let times = u32::try_from(run.rng.between(1, 3)).unwrap();
            run.fault(index, Fault::RateLimit { retry_after_secs }, Some(times));
            let started = Instant::now();
            let output = run.sync(&[], &[]);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &Ended::Complete)?;
            // hfdl waits what the server asked for plus a second of margin.
            let waited = Duration::from_secs((retry_after_secs + 1) * u64::from(times));
            if started.elapsed() < waited {
                return Err(format!(
                    "done in {:?}, before the {waited:?} the Hub asked for",
                    started.elapsed()
                ));
            }
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn a_stalled_body_times_out_and_is_retried() {
    matrix(
        "stall",
        8,
        4,
        |run| {
            for _ in 0..run.rng.between(1, 3) {
                let index = run.random_file();
                run.fault(index, Fault::Stall, Some(1));
            }
            let output = run.sync(&[], &[("HFDL_TIMEOUT", "1s")]);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &Ended::Complete)?;
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn a_server_ignoring_range_on_a_resume_gets_a_fresh_start_never_two_copies() {
    matrix(
        "ignored-range",
        8,
        4,
        |run| {
            let index = run.random_file();
            let size = run.files[index].size;
            // A cut body makes the next request a `Range` one, which the server answers with 200.
            let at = run.rng.between(1, size);
            run.fault(index, Fault::CutAfter(at), Some(1));
            let times = u32::try_from(run.rng.between(1, 3)).unwrap();
            run.fault(index, Fault::IgnoreRange, Some(times));
            let output = run.sync(&[], &[]);
            let ended = run.ended(&output)?;
            Run::expect(&ended, &Ended::Complete)?;
            run.recover(&[])
        },
        Files::Small,
    );
}

#[test]
fn a_full_disk_stops_the_sync_cleanly_and_the_next_one_completes() {
    matrix(
        "disk-full",
        8,
        4,
        |run| {
            let mount = run.ctx.root.path().join("small-disk");
            let Some(disk) = Tmpfs::mount(&mount, "2m") else {
                return Ok(()); // skipped, as the tmpfs says
            };
            run.store = Some(disk.0.join("hub"));
            let filler = disk.0.join("filler");
            let fill = |leftover: u64| {
                let mut file = fs_err::File::create(&filler).unwrap();
                let block = vec![7u8; 16 << 10];
                while std::io::Write::write_all(&mut file, &block).is_ok() {}
                let len = file.metadata().unwrap().len();
                file.set_len(len.saturating_sub(leftover)).unwrap();
            };
            let needed: u64 = run.files.iter().map(|f| f.size).sum();
            let result = if run.seed % 2 == 0 {
                // Too little room before the first byte.
                let leftover = run.rng.between(0, needed);
                run.note(format!(
                    "disk filled up to {leftover} free bytes before the sync ({needed} needed)"
                ));
                fill(leftover);
                let output = run.sync(&[], &[]);
                run.ended(&output).map(|_| ())
            } else {
                // The disk fills up during the download, once the Hub has sent a random share.
                run.slow_cdn(500_000);
                let mut child = run.spawn_sync(&[], &[]);
                let at = run.rng.between(1, needed);
                let leftover = run.rng.between(0, 200_000);
                run.note(format!(
                    "once {at} body bytes were sent, fill the disk up to {leftover} free bytes"
                ));
                let deadline = Instant::now() + Duration::from_secs(30);
                while run.ctx.hub.counters().bytes_served < at
                    && child.try_wait().unwrap().is_none()
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                fill(leftover);
                let output = child.wait_with_output().unwrap();
                run.ended(&output).map(|_| ())
            };
            let _ = fs_err::remove_file(&filler);
            result?;
            let recovered = run.recover(&[]);
            drop(disk);
            recovered
        },
        Files::Small,
    );
}

#[test]
fn gc_during_a_sync_waits_or_reports_store_busy_and_both_end_correctly() {
    matrix(
        "gc-during-sync",
        8,
        4,
        |run| {
            let rate = run.rng.between(300_000, 800_000);
            run.slow_cdn(rate);
            let delay = Duration::from_millis(run.rng.between(0, 800));
            let wait = ["0", "30"][run.rng.index(2)];
            run.note(format!(
                "hfdl gc --wait {wait}, {delay:?} after the sync started"
            ));
            let child = run.spawn_sync(&[], &[]);
            std::thread::sleep(delay);
            let gc = run
                .ctx
                .hfdl()
                .args(["gc", "--json", "--wait", wait])
                .env("HF_HUB_CACHE", run.store())
                .output()
                .unwrap();
            let sync = child.wait_with_output().unwrap();
            match gc.status.code() {
                Some(0) => run.note("gc ran"),
                Some(1) if wait == "0" && crate::support::json_error_code(&gc) == "store-busy" => {
                    run.note("gc: store-busy");
                }
                _ => return Err(format!("gc failed:\n{}", run.ctx.render(&gc))),
            }
            let ended = run.ended(&sync)?;
            Run::expect(&ended, &Ended::Complete)?;
            // And a gc now keeps everything the lock uses.
            let gc = run.ctx.hfdl().args(["gc", "--json"]).output().unwrap();
            if !gc.status.success() {
                return Err(format!(
                    "gc after the sync failed:\n{}",
                    run.ctx.render(&gc)
                ));
            }
            run.check_store(true)?;
            run.recover(&[])
        },
        Files::Small,
    );
}
