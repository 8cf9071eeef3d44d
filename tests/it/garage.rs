//! A real Garage cluster (<https://garagehq.deuxfleurs.fr>, v2.x) for the S3 blob store tests:
//! three `garage server` processes on loopback, `replication_factor = 3`, one bucket and one key
//! allowed on it; plus smoke tests of the fixture itself.
//!
//! Needs the `garage` binary (on the PATH or in `~/.cargo/bin`; `./scripts/test` installs it with
//! `cargo install --locked garage`): without it `GarageCluster::start_or_skip` says the test is
//! skipped, except under `CI=true`, where it fails.
//!
//! Each node has its own temp dir (config, metadata, data, log), an RPC port and an S3 port picked
//! by binding port 0; everything listens on 127.0.0.1 only. Dropping the cluster kills every
//! process and removes the dirs.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// The S3 region every node answers for (`[s3_api] s3_region`).
pub const REGION: &str = "garage";

/// How long a node may take to open its RPC port, and the cluster to serve S3 requests.
const BOOT_TIMEOUT: Duration = Duration::from_secs(20);

/// Garage's `rpc_timeout_msec`: how long the first request through a surviving node may hang on
/// a node `kill_node` just killed before Garage asks another one.
pub const RPC_TIMEOUT_MSEC: u64 = 5_000;

/// An S3 access key: id and secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Key {
    pub id: String,
    pub secret: String,
}

/// What an S3 request through `curl` answered.
#[derive(Debug)]
pub struct S3Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl S3Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `garage` is not installed: the test can't run.
#[derive(Debug)]
pub struct GarageMissing {
    /// Where `garage` was looked for.
    pub searched: Vec<PathBuf>,
}

impl GarageMissing {
    /// Fails under `CI=true` (CI installs Garage), else prints why the test is skipped.
    #[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
    pub fn skip(self) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must provide the `garage` binary, not found in {:?} \
             (./scripts/test installs it: cargo install --locked garage --version 2.5.0)",
            self.searched
        );
        #[allow(clippy::print_stderr)] // a skipped test must say so in the output
        {
            eprintln!(
                "SKIPPED: `garage` not found on the PATH or in ~/.cargo/bin; \
                 install it with `cargo install --locked garage --version 2.5.0` (./scripts/test does)"
            );
        }
    }
}

/// The `garage` binary: on the PATH, else in `$CARGO_HOME/bin` (`~/.cargo/bin`).
#[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
pub fn garage_binary() -> Result<PathBuf, GarageMissing> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|cargo| cargo.join("bin"));
    let searched: Vec<PathBuf> = std::env::split_paths(&path).chain(cargo_bin).collect();
    searched
        .iter()
        .map(|dir| dir.join("garage"))
        .find(|candidate| candidate.is_file())
        .ok_or(GarageMissing { searched })
}

struct Node {
    dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    rpc_port: u16,
    s3_port: u16,
    /// `<hex public key>@127.0.0.1:<rpc port>`, known once the node has started.
    id: String,
    process: Option<Child>,
}

/// A running 3-node Garage cluster with a bucket and a key allowed to read and write it.
pub struct GarageCluster {
    garage: PathBuf,
    nodes: Vec<Node>,
    bucket: String,
    key: S3Key,
    // Last: dropped after the processes are killed.
    root: tempfile::TempDir,
}

impl GarageCluster {
    /// Starts the cluster and waits until every node serves S3 requests for the bucket; panics
    /// (with the node's log tail) when Garage fails to start. `Err` when Garage is not installed.
    pub fn start() -> Result<GarageCluster, GarageMissing> {
        let garage = garage_binary()?;
        let root = tempfile::Builder::new()
            .prefix("garage-cluster")
            .tempdir()
            .expect("tempdir");
        let rpc_secret = random_hex(32);
        let ports = free_ports(6);
        let nodes = (0..3)
            .map(|i| {
                let dir = root.path().join(format!("node{i}"));
                fs_err::create_dir_all(&dir).unwrap();
                let node = Node {
                    config: dir.join("garage.toml"),
                    log: dir.join("garage.log"),
                    dir,
                    rpc_port: ports[2 * i],
                    s3_port: ports[2 * i + 1],
                    id: String::new(),
                    process: None,
                };
                fs_err::write(&node.config, node_config(&node, &rpc_secret)).unwrap();
                node
            })
            .collect();
        let mut cluster = GarageCluster {
            garage,
            nodes,
            bucket: "hfdl-test".into(),
            key: S3Key {
                id: String::new(),
                secret: String::new(),
            },
            root,
        };
        for i in 0..3 {
            cluster.spawn(i);
        }
        for i in 0..3 {
            cluster.wait_for_rpc(i);
            let output = cluster.garage_ok(i, &["node", "id", "--quiet"]);
            let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            cluster.nodes[i].id = id;
        }
        for i in 0..3 {
            cluster.connect(i);
        }
        // One zone per node, 1 GB each: every partition has a copy on every node.
        for i in 0..3 {
            let public_key = cluster.nodes[i].id.split('@').next().unwrap().to_owned();
            let zone = format!("dc{i}");
            cluster.garage_ok(
                0,
                &["layout", "assign", "-z", &zone, "-c", "1G", &public_key],
            );
        }
        cluster.garage_ok(0, &["layout", "apply", "--version", "1"]);
        let bucket = cluster.bucket.clone();
        cluster.create_bucket(&bucket);
        cluster.key = cluster.create_key("hfdl-test");
        let key = cluster.key.clone();
        cluster.allow(&bucket, &key);
        for i in 0..3 {
            cluster.wait_for_s3(i);
        }
        Ok(cluster)
    }

    /// `start()`, or `None` after reporting the skip (a failure under `CI=true`).
    pub fn start_or_skip() -> Option<GarageCluster> {
        match GarageCluster::start() {
            Ok(cluster) => Some(cluster),
            Err(missing) => {
                missing.skip();
                None
            }
        }
    }

    /// The S3 endpoint of node `i`: `http://127.0.0.1:<port>`.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    /// The S3 endpoints of all nodes, node 0 first.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.endpoint(i)).collect()
    }

    /// The bucket made at start (`hfdl-test`); `key()` may read, write and own it.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key made at start, allowed to read, write and own `bucket()`.
    pub fn key(&self) -> &S3Key {
        &self.key
    }

    /// What an S3 client needs to reach node 0 with `key()`.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_for(0, &self.key)
    }

    /// What an S3 client needs to reach node `i` with `key`: `AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    pub fn env_for(&self, i: usize, key: &S3Key) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint(i)),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), key.id.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), key.secret.clone()),
        ]
    }

    /// Creates another bucket (no key may use it until `allow`).
    pub fn create_bucket(&self, name: &str) {
        self.garage_ok(0, &["bucket", "create", name]);
    }

    /// Creates another key, allowed on no bucket (`allow` grants one). Imported with a random id
    /// and secret in Garage's own format (`GK` + 24 hex digits, 64 hex digits).
    pub fn create_key(&self, name: &str) -> S3Key {
        let key = S3Key {
            id: format!("GK{}", random_hex(12)),
            secret: random_hex(32),
        };
        self.garage_ok(
            0,
            &["key", "import", "--yes", "-n", name, &key.id, &key.secret],
        );
        key
    }

    /// Lets `key` read, write and own `bucket`.
    pub fn allow(&self, bucket: &str, key: &S3Key) {
        self.garage_ok(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", bucket, "--key", &key.id,
            ],
        );
    }

    /// `garage -c <node i's config> …`, for anything the fixture doesn't wrap.
    pub fn garage(&self, i: usize) -> Command {
        let mut command = Command::new(&self.garage);
        command
            .arg("-c")
            .arg(&self.nodes[i].config)
            .env_clear()
            .env("RUST_LOG", "garage=warn,netapp=warn")
            .env("NO_COLOR", "1");
        command
    }

    /// SIGKILLs node `i` (no-op when it is already down). The others notice at their next ping
    /// (within 15 s): until then a request through them that Garage routes to node `i` first
    /// waits `RPC_TIMEOUT_MSEC` before it asks the third node.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut process) = self.nodes[i].process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts node `i` again (killed or not) on the same dirs and ports and waits until it
    /// serves S3 requests for the bucket.
    pub fn restart_node(&mut self, i: usize) {
        self.kill_node(i);
        self.spawn(i);
        self.wait_for_rpc(i);
        self.connect(i);
        for j in (0..self.nodes.len()).filter(|&j| j != i) {
            // A no-op while node j still holds its connection to the killed process (it notices
            // at its next ping); a prompt reconnection once it has dropped it.
            self.garage_ok(j, &["node", "connect", &self.nodes[i].id]);
        }
        self.wait_for_s3(i);
    }

    /// The last lines of node `i`'s log (stdout and stderr of `garage server`).
    pub fn log_tail(&self, i: usize) -> String {
        let log = fs_err::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!(
            "--- last lines of {} ---\n{tail}",
            self.nodes[i].log.display()
        )
    }

    /// An S3 request to node `i` signed with `key` (SigV4 by `curl --aws-sigv4`): `path` is
    /// `/bucket/object?query`, `body` is sent as the payload; a `HEAD` answers its headers as
    /// the body. Panics when curl gets no HTTP response.
    pub fn s3(
        &self,
        i: usize,
        key: &S3Key,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> S3Response {
        self.try_s3(i, key, method, path, headers, body)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// `s3`, with `Err` when curl gets no HTTP response (connection refused, timeout, …).
    pub fn try_s3(
        &self,
        i: usize,
        key: &S3Key,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<S3Response, String> {
        let out = tempfile::NamedTempFile::new_in(self.root.path()).unwrap();
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--show-error", "--max-time", "30"])
            .args(["--aws-sigv4", &format!("aws:amz:{REGION}:s3")])
            .args(["--user", &format!("{}:{}", key.id, key.secret)])
            .arg("--output")
            .arg(out.path())
            .args(["--write-out", "%{http_code}"]);
        if method == "HEAD" {
            // `--request HEAD` would wait for a body.
            command.arg("--head");
        } else {
            command.args(["--request", method]);
        }
        for (name, value) in headers {
            command.args(["--header", &format!("{name}: {value}")]);
        }
        // Garage requires `x-amz-content-sha256`, which curl 7.x doesn't send by itself; curl
        // signs it with the other `x-amz-*` headers.
        let payload = body.unwrap_or_default();
        command.args([
            "--header",
            &format!(
                "x-amz-content-sha256: {}",
                hex::encode(Sha256::digest(payload))
            ),
        ]);
        if body.is_some() {
            command
                .args(["--data-binary", "@-"])
                .args(["--header", "Content-Type: application/octet-stream"]);
        }
        let url = format!("{}{path}", self.endpoint(i));
        let mut child = command
            .arg(&url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn curl");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(payload).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        // `000` when there was no response.
        let status = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        if status == 0 {
            return Err(format!(
                "curl {method} {url} got no response ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(S3Response {
            status,
            body: fs_err::read(out.path()).unwrap(),
        })
    }

    /// Node `i` dials every other node. Peers known from gossip or from the peer list saved in
    /// the metadata dir are dialled only after a while, and until then a read through node `i`
    /// misses its quorum (503).
    fn connect(&self, i: usize) {
        for j in (0..self.nodes.len()).filter(|&j| j != i) {
            self.garage_ok(i, &["node", "connect", &self.nodes[j].id]);
        }
    }

    fn spawn(&mut self, i: usize) {
        let node = &self.nodes[i];
        let log = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .unwrap();
        let process = Command::new(&self.garage)
            .arg("-c")
            .arg(&node.config)
            .arg("server")
            .current_dir(&node.dir)
            .env_clear()
            .env("RUST_LOG", "garage=info,netapp=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.file().try_clone().unwrap())
            .stderr(log.into_file())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} server: {e}", self.garage.display()));
        self.nodes[i].process = Some(process);
    }

    /// Panics with the log tail when node `i`'s process has exited.
    fn check_alive(&mut self, i: usize, waiting_for: &str) {
        let process = self.nodes[i].process.as_mut().expect("node is running");
        if let Some(status) = process.try_wait().unwrap() {
            panic!(
                "garage node {i} exited ({status}) while waiting for {waiting_for}\n{}",
                self.log_tail(i)
            );
        }
    }

    fn wait_for_rpc(&mut self, i: usize) {
        let address = SocketAddr::from(([127, 0, 0, 1], self.nodes[i].rpc_port));
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            self.check_alive(i, "its RPC port");
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "garage node {i}: RPC port {address} not open after {BOOT_TIMEOUT:?}\n{}",
                self.log_tail(i)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Until a signed GET of a missing object through node `i` answers 404: the node has the
    /// layout, the bucket and the key (local copies), and reaches a read quorum of the others
    /// (an object lookup asks 2 of the 3 nodes; without them it answers 503).
    fn wait_for_s3(&mut self, i: usize) {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let path = format!("/{}/fixture-readiness-probe", self.bucket);
        loop {
            self.check_alive(i, "its S3 API");
            let answer = match self.try_s3(i, &self.key, "GET", &path, &[], None) {
                Ok(response) if response.status == 404 => return,
                Ok(response) => format!("{}: {}", response.status, response.text()),
                Err(error) => error,
            };
            assert!(
                Instant::now() < deadline,
                "garage node {i}: GET {}{path} still doesn't answer 404 after {BOOT_TIMEOUT:?}: \
                 {answer}\n{}",
                self.endpoint(i),
                self.log_tail(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `garage -c <node i> args…`, retried for a few seconds (a freshly applied layout
    /// takes a moment to reach every node); panics with its output and the node's log tail.
    fn garage_ok(&self, i: usize, args: &[&str]) -> Output {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = self.garage(i).args(args).output().expect("run garage");
            if output.status.success() {
                return output;
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            // Deterministic refusals are not worth retrying.
            let final_error = stderr.contains("already exists") || stderr.contains("--version");
            assert!(
                !final_error && Instant::now() < deadline,
                "garage -c {} {} failed ({}):\n{}{}\n{}",
                self.nodes[i].config.display(),
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                stderr,
                self.log_tail(i)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill_node(i);
        }
    }
}

fn node_config(node: &Node, rpc_secret: &str) -> String {
    let quoted = |path: &Path| serde_json::to_string(&path.to_str().expect("UTF-8 path")).unwrap();
    let mut config = String::new();
    writeln!(
        config,
        r#"metadata_dir = {meta}
data_dir = {data}
db_engine = "sqlite"
replication_factor = 3
rpc_secret = "{rpc_secret}"
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
# A read asks a quorum of 2 nodes and tries the third only when one fails; a node SIGKILLed by a
# test is noticed at the next ping (every 15 s), so until then requests to it fail at this
# timeout (Garage's default: 5 minutes).
rpc_timeout_msec = {RPC_TIMEOUT_MSEC}

[s3_api]
api_bind_addr = "127.0.0.1:{s3}"
s3_region = "{REGION}""#,
        meta = quoted(&node.dir.join("meta")),
        data = quoted(&node.dir.join("data")),
        rpc = node.rpc_port,
        s3 = node.s3_port,
    )
    .unwrap();
    config
}

/// `count` distinct free ports on 127.0.0.1: all bound to port 0 at once, then released.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect()
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    fs_err::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut buffer)
        .unwrap();
    hex::encode(buffer)
}

// ---- smoke tests of the fixture ----

/// An object PUT through node 0 reads back through node 2; with node 0 killed the two others
/// (a quorum of 2 out of 3) still serve it; node 0 restarted serves it too.
#[test]
fn garage_cluster_replicates_and_survives_a_killed_node() {
    let started = Instant::now();
    let Some(mut cluster) = GarageCluster::start_or_skip() else {
        return;
    };
    #[allow(clippy::print_stderr)] // the start time is worth seeing in the output
    {
        eprintln!("garage cluster started in {:?}", started.elapsed());
    }
    let key = cluster.key().clone();
    let object = format!("/{}/models/blob.bin", cluster.bucket());
    let data: Vec<u8> = (0..100_000u32)
        .map(|n| u8::try_from(n % 251).unwrap())
        .collect();

    let put = cluster.s3(0, &key, "PUT", &object, &[], Some(&data));
    assert_eq!(put.status, 200, "PUT through node 0: {}", put.text());
    let get = cluster.s3(2, &key, "GET", &object, &[], None);
    assert_eq!(get.status, 200, "GET through node 2: {}", get.text());
    assert!(get.body == data, "node 2 served other bytes");

    cluster.kill_node(0);
    for i in [2, 1] {
        let get = cluster.s3(i, &key, "GET", &object, &[], None);
        assert_eq!(
            get.status,
            200,
            "GET through node {i} with node 0 down: {}",
            get.text()
        );
        assert!(get.body == data, "node {i} served other bytes");
    }

    cluster.restart_node(0);
    let get = cluster.s3(0, &key, "GET", &object, &[], None);
    assert_eq!(
        get.status,
        200,
        "GET through restarted node 0: {}",
        get.text()
    );
    assert!(get.body == data, "restarted node 0 served other bytes");
}

/// Keys and buckets beyond the default ones, the client environment, and what Garage does with
/// a conditional PUT.
#[test]
fn garage_cluster_keys_buckets_and_conditional_put() {
    let Some(cluster) = GarageCluster::start_or_skip() else {
        return;
    };
    let env = cluster.env();
    let names: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY"
        ]
    );
    assert_eq!(env[0].1, cluster.endpoints()[0]);
    assert_eq!(env[1].1, REGION);
    assert_eq!(env[2].1, cluster.key().id);
    assert!(
        cluster
            .endpoints()
            .iter()
            .all(|e| e.starts_with("http://127.0.0.1:"))
    );

    // A key allowed on nothing is refused; allowed on a new bucket, it may write there.
    let stranger = cluster.create_key("stranger");
    let object = format!("/{}/x", cluster.bucket());
    let refused = cluster.s3(1, &stranger, "PUT", &object, &[], Some(b"x"));
    assert_eq!(refused.status, 403, "{}", refused.text());
    cluster.create_bucket("other");
    cluster.allow("other", &stranger);
    let put = cluster.s3(1, &stranger, "PUT", "/other/x", &[], Some(b"x"));
    assert_eq!(put.status, 200, "{}", put.text());

    // Garage 2.5 ignores `If-None-Match: *` on PutObject: the second PUT overwrites (200, not
    // 412). A blob store must not count on conditional writes for exclusivity on Garage.
    let object = format!("/{}/conditional", cluster.bucket());
    let once = [("If-None-Match", "*")];
    let first = cluster.s3(0, cluster.key(), "PUT", &object, &once, Some(b"first"));
    assert_eq!(first.status, 200, "{}", first.text());
    let second = cluster.s3(0, cluster.key(), "PUT", &object, &once, Some(b"second"));
    assert_eq!(
        second.status,
        200,
        "this Garage now answers a conditional PUT over an existing object with {} (2.5.0 \
         overwrote): revisit what the blob store assumes. {}",
        second.status,
        second.text()
    );
    let get = cluster.s3(2, cluster.key(), "GET", &object, &[], None);
    assert_eq!(get.text(), "second");
    let head = cluster.s3(1, cluster.key(), "HEAD", &object, &[], None);
    assert_eq!(head.status, 200);
    assert!(head.text().contains("content-length: 6"), "{}", head.text());
}
