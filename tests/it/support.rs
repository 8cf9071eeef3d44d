//! `TestContext`: a temp project, a temp Hugging Face cache and hfdl state dir, and a running
//! mock Hub with a small set of fixture repos; plus helpers to run the `hfdl` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hfdl_mock_hub::{
    FileChange, Fixtures, Gated, MockHub, RepoOptions, RepoType, ServerOptions, UserSpec,
};

/// The token of the fixture user who may read the private and gated repos.
pub const TOKEN: &str = "hf_testuser_token_0123456789abcdef";

pub struct TestContext {
    pub root: tempfile::TempDir,
    pub project: PathBuf,
    pub cache: PathBuf,
    pub state: PathBuf,
    pub hub: MockHub,
}

/// The fixture repos every test can use.
pub fn standard_fixtures(dir: &Path) -> Fixtures {
    let fixtures = Fixtures::create(dir).expect("create fixtures");
    fixtures
        .create_repo(RepoType::Model, "acme/tiny", RepoOptions::default())
        .unwrap();
    let first = fixtures
        .commit(
            RepoType::Model,
            "acme/tiny",
            "main",
            "initial",
            vec![
                FileChange::regular("config.json", br#"{"hidden_size": 8}"#.to_vec()),
                FileChange::regular("tokenizer.json", br#"{"vocab": ["a", "b"]}"#.to_vec()),
                FileChange::regular("README.md", b"# tiny\n".to_vec()),
                FileChange::generated("model.safetensors", 300_000, 1),
                FileChange::generated("onnx/model.onnx", 100_000, 2),
            ],
        )
        .unwrap();
    fixtures
        .set_tag(RepoType::Model, "acme/tiny", "v1.0", &first)
        .unwrap();
    fixtures
        .create_repo(RepoType::Dataset, "acme/squad", RepoOptions::default())
        .unwrap();
    fixtures
        .commit(
            RepoType::Dataset,
            "acme/squad",
            "main",
            "data",
            vec![
                FileChange::regular("README.md", b"# squad\n".to_vec()),
                FileChange::generated("plain_text/train-00000-of-00001.parquet", 50_000, 3),
            ],
        )
        .unwrap();
    fixtures
        .create_repo(
            RepoType::Model,
            "acme/gated",
            RepoOptions {
                private: false,
                gated: Gated::Manual,
            },
        )
        .unwrap();
    fixtures
        .commit(
            RepoType::Model,
            "acme/gated",
            "main",
            "init",
            vec![FileChange::regular("config.json", b"{}".to_vec())],
        )
        .unwrap();
    fixtures
        .add_user(UserSpec {
            name: "tester".into(),
            token: TOKEN.into(),
            orgs: vec![],
            token_name: "ci".into(),
            role: "read".into(),
            gated_access: vec!["acme/gated".into()],
        })
        .unwrap();
    fixtures
}

impl TestContext {
    pub fn new() -> TestContext {
        TestContext::with_server(ServerOptions::default())
    }

    /// A context whose mock Hub runs with `options` (small pages, …).
    pub fn with_server(options: ServerOptions) -> TestContext {
        let root = tempfile::tempdir().expect("tempdir");
        let fixtures = standard_fixtures(&root.path().join("fixtures"));
        let hub = MockHub::start_with(fixtures, options).expect("start mock hub");
        let project = root.path().join("project");
        let cache = root.path().join("hf-cache");
        let state = root.path().join("hfdl-state");
        fs_err::create_dir_all(&project).unwrap();
        TestContext {
            root,
            project,
            cache,
            state,
            hub,
        }
    }

    /// `hfdl` with a clean environment pointing at the mock Hub and the temp dirs.
    pub fn hfdl(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hfdl"));
        command
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.root.path().join("home"))
            .env("HF_HUB_CACHE", &self.cache)
            .env("HF_HOME", self.root.path().join("hf-home"))
            .env("HFDL_CACHE_DIR", &self.state)
            .env("HF_ENDPOINT", self.hub.endpoint())
            // Tests never touch the developer's keyring; keyring tests opt in.
            .env("HFDL_KEYRING", "none")
            .env("NO_COLOR", "1");
        command
    }

    /// Runs `hfdl args…` with `stdin` as standard input.
    pub fn run_with_stdin(command: &mut Command, stdin: &str) -> Output {
        use std::io::Write as _;
        use std::process::Stdio;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hfdl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs `hfdl args…` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.hfdl().args(args).output().expect("run hfdl")
    }

    /// Creates the model repo `id` on the mock Hub, Xet-backed: its LFS files are stored in
    /// the mock's CAS, for the Xet read path and the bridge.
    pub fn create_xet_repo(&self, id: &str) {
        let fixtures = self.hub.fixtures();
        fixtures
            .create_repo(
                hfdl_mock_hub::RepoType::Model,
                id,
                hfdl_mock_hub::RepoOptions::default(),
            )
            .unwrap();
        fixtures
            .enable_xet(
                hfdl_mock_hub::RepoType::Model,
                id,
                hfdl_mock_hub::XetOptions::default(),
            )
            .unwrap();
    }

    pub fn write_manifest(&self, text: &str) {
        fs_err::write(self.project.join("models.toml"), text).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        fs_err::read_to_string(self.project.join(name)).unwrap()
    }

    /// What the fixtures hold for `path` in `acme/tiny` at `main`.
    pub fn tiny_file(&self, path: &str) -> hfdl_mock_hub::FileInfo {
        self.hub
            .fixtures()
            .file_info(RepoType::Model, "acme/tiny", "main", path)
            .unwrap()
    }

    /// The repo folder of a model in the cache.
    pub fn repo_dir(&self, folder: &str) -> PathBuf {
        self.cache.join(folder)
    }

    /// stdout, stderr and exit code, with temp paths, ports and timings made stable.
    pub fn render(&self, output: &Output) -> String {
        let mut text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            output
                .status
                .code()
                .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        text = text.replace(&self.root.path().display().to_string(), "[TMP]");
        text = text.replace(&self.hub.endpoint(), "[HUB]");
        let filters = [
            (r"\d+(\.\d+)?(ms|s|µs)\b", "[TIME]"),
            (r"[\d.]+ ?[KMG]?i?B/s", "[RATE]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            // The totals at a file's end depend on when concurrent tasks report (a failed
            // file's bytes leave the total when its end is reported); tests/it/progress.rs
            // checks them. On a loaded machine the ETA reads `1m[TIME]` (from `1m5s`).
            (
                r"; [\d.]+ [KMG]?i?B/[\d.]+ [KMG]?i?B \(\d+%\), \[RATE\], eta (\d+[hm])*\[TIME\]",
                "; [TOTALS]",
            ),
        ];
        for (pattern, replacement) in filters {
            text = regex::Regex::new(pattern)
                .unwrap()
                .replace_all(&text, replacement)
                .into_owned();
        }
        text
    }
}

/// The `error.code` of a `--json` failure.
pub fn json_error_code(output: &Output) -> String {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    value["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every file under `dir`, relative, sorted, with `-> target` for symlinks.
pub fn tree(dir: &Path) -> String {
    let mut lines = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs_err::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(dir).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                lines.push(format!(
                    "{relative} -> {}",
                    fs_err::read_link(&path).unwrap().display()
                ));
            } else if kind.is_dir() {
                pending.push(path);
            } else {
                lines.push(relative);
            }
        }
    }
    lines.sort();
    lines.join("\n")
}

/// A tmpfs mounted for one test, unmounted when dropped.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// `None` (with a note) where mounting is not allowed, e.g. without root.
    pub fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        Tmpfs::mount_with(dir, &format!("size={size}"))
    }

    /// Mounts with these `-o` options (e.g. `ro,size=1m`, `size=1m,nr_inodes=16`).
    pub fn mount_with(dir: &Path, options: &str) -> Option<Tmpfs> {
        fs_err::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if mounted {
            return Some(Tmpfs(dir.to_path_buf()));
        }
        #[allow(clippy::disallowed_methods)] // test harness configuration
        let ci = std::env::var_os("CI").is_some();
        assert!(!ci, "CI runs as root and must be able to mount a tmpfs");
        #[allow(clippy::print_stderr)] // a skipped test must say so in the output
        {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here (needs root); the disk-full tests need one"
            );
        }
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Waits (at most 20 s) until a `.incomplete` file in `blobs` holds more than `bytes`: a
/// download is under way. Returns its path.
pub fn wait_for_partial(blobs: &Path, bytes: u64) -> PathBuf {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = fs_err::read_dir(blobs).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "incomplete"))
        });
        if let Some(path) = found
            && fs_err::metadata(&path).map_or(0, |m| m.len()) > bytes
        {
            return path;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the download never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The store compared with a project's `models.lock`: what is wrong (never allowed) and what is
/// missing (allowed only after a failed or killed run).
#[derive(Debug, Default)]
pub struct StoreCheck {
    /// Visible files that are not verified content: a blob whose bytes do not hash to its name,
    /// a snapshot file that is not a link to such a blob, or a link to another digest than the
    /// lock's. Partial downloads (`*.incomplete`) are not visible content and not listed.
    pub wrong: Vec<String>,
    /// Locked files that are not in their snapshot.
    pub missing: Vec<String>,
}

impl StoreCheck {
    /// Nothing wrong and nothing missing.
    pub fn complete(&self) -> bool {
        self.wrong.is_empty() && self.missing.is_empty()
    }
}

/// Hashes every blob in `store` and follows every snapshot link, against `lock` (the project's
/// `models.lock`, if there is one).
pub fn check_store(lock: &Path, store: &Path) -> StoreCheck {
    use hfdl::hash::{ContentHash, HashKind};
    use std::collections::HashMap;

    let mut check = StoreCheck::default();
    let hash_blob = |path: &Path| -> Option<ContentHash> {
        let name = path.file_name()?.to_str()?;
        let kind = match name.len() {
            64 => HashKind::Sha256,
            40 => HashKind::GitSha1,
            _ => return None,
        };
        let size = fs_err::metadata(path).ok()?.len();
        let file = fs_err::File::open(path).ok()?;
        let (actual, _) = hfdl::hash::hash_reader(file, kind, size).ok()?;
        (actual.hex() == name).then_some(actual)
    };
    // Every blob: its bytes hash to its name.
    let mut good_blobs: HashMap<PathBuf, String> = HashMap::new();
    let repos: Vec<PathBuf> = fs_err::read_dir(store)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("blobs").is_dir() || p.join("snapshots").is_dir())
                .collect()
        })
        .unwrap_or_default();
    for repo in &repos {
        for entry in fs_err::read_dir(repo.join("blobs")).into_iter().flatten() {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if path.to_string_lossy().ends_with(".incomplete") {
                continue;
            }
            match hash_blob(&path) {
                Some(hash) => {
                    good_blobs.insert(path, hash.hex().to_owned());
                }
                None => check
                    .wrong
                    .push(format!("blob {} is not its digest", path.display())),
            }
        }
        // Every snapshot file: a link to a verified blob of this repo.
        let mut pending = vec![repo.join("snapshots")];
        while let Some(dir) = pending.pop() {
            for entry in fs_err::read_dir(&dir).into_iter().flatten() {
                let Ok(entry) = entry else { continue };
                let path = entry.path();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    pending.push(path);
                } else if !kind.is_symlink() {
                    check
                        .wrong
                        .push(format!("{} is not a link", path.display()));
                } else {
                    let target = fs_err::canonicalize(&path).ok();
                    let blob = repo.join("blobs");
                    let fine = target.as_ref().is_some_and(|t| {
                        good_blobs.contains_key(&blob.join(t.file_name().unwrap_or_default()))
                            && fs_err::canonicalize(&blob).is_ok_and(|b| t.parent() == Some(&b))
                    });
                    if !fine {
                        check.wrong.push(format!(
                            "{} links to {target:?}, not a verified blob",
                            path.display()
                        ));
                    }
                }
            }
        }
    }
    // Every locked file: in its snapshot, linked to the lock's digest.
    let Ok(text) = fs_err::read_to_string(lock) else {
        return check;
    };
    let lockfile = hfdl::lock::Lockfile::decode(lock, &text).expect("models.lock decodes");
    let layout = hfdl::store::layout::Store::new(store);
    for model in &lockfile.models {
        let repo = hfdl::store::RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        for file in &model.files {
            let link = layout.snapshot_file(repo, &model.commit, &file.path);
            let target = fs_err::canonicalize(&link).ok();
            match target.as_ref().and_then(|t| t.file_name()) {
                None => check.missing.push(format!("{}: {}", model.name, file.path)),
                Some(name) if name.to_string_lossy() != file.hash.hex() => {
                    check.wrong.push(format!(
                        "{} links to {}, the lock says {}",
                        link.display(),
                        name.display(),
                        file.hash
                    ));
                }
                Some(_) => {}
            }
        }
    }
    check
}

/// The crate's `src/` directory (the tests that read the sources: layers, error codes).
pub fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, appended to `out`.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The Python of `HFDL_TEST_PYTHON` (else `python3`) when it imports every one of `modules`;
/// otherwise `None` after saying the test is skipped, or a failure under `CI=true`, where
/// `./scripts/test` installs them into target/pyenv.
#[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let python = std::env::var("HFDL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let imports = format!("import {}", modules.join(", "));
    let ok = Command::new(&python)
        .args(["-c", &imports])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must provide {}: `{python} -c '{imports}'` failed (run ./scripts/test)",
        modules.join(" and ")
    );
    #[allow(clippy::print_stderr)] // a skipped test must say so in the output
    {
        eprintln!(
            "SKIPPED: {python} cannot `{imports}`; run ./scripts/test to set up target/pyenv"
        );
    }
    None
}

/// A running `hfdl ui --no-open` (its first stdout line read and checked), killed when
/// dropped; when the test is failing, its stderr goes into the report.
pub struct UiServer {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT/?token=SECRET`.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    pub port: u16,
    /// The per-run secret, 64 hex digits.
    pub secret: String,
    stderr: PathBuf,
}

impl UiServer {
    /// Starts `command` (an `hfdl` command line without the `ui --no-open`), writing its stderr
    /// to `stderr`, and waits up to 30 s for the URL.
    pub fn start(mut command: Command, stderr: PathBuf) -> UiServer {
        use std::io::{BufRead as _, BufReader};
        use std::process::Stdio;
        let mut child = command
            .args(["ui", "--no-open"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs_err::File::create(&stderr).unwrap().into_parts().0)
            .spawn()
            .expect("spawn hfdl ui");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = sender.send(line);
            }
            // Keep draining: the server must never block on a full pipe.
            for _ in lines {}
        });
        let url = receiver
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "hfdl ui printed no URL within 30 s; stderr:\n{}",
                    fs_err::read_to_string(&stderr).unwrap_or_default()
                )
            });
        let url = url.trim().to_owned();
        let shape =
            regex::Regex::new(r"^http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{64})$").unwrap();
        let captures = shape
            .captures(&url)
            .unwrap_or_else(|| panic!("the first line on stdout is the URL to open: {url:?}"));
        let (port, secret) = (captures[1].parse().unwrap(), captures[2].to_owned());
        UiServer {
            child,
            origin: format!("http://127.0.0.1:{port}"),
            url,
            port,
            secret,
            stderr,
        }
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        fs_err::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            #[allow(clippy::print_stderr)] // the server's log, for the failure's report
            {
                eprintln!("hfdl ui's stderr:\n{}", self.stderr());
            }
        }
    }
}

/// `len` deterministic, incompressible bytes from `seed`.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    hfdl_mock_hub::PseudoRandom::bytes(seed, len)
}
