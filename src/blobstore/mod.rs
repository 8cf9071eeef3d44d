//! The shared blob store: blobs on S3-compatible object storage, keyed by the hash the lock
//! records (`<prefix>/sha256/<hex>` for LFS files, `<prefix>/git-sha1/<hex>` for plain files),
//! so one bucket serves every project, revision and machine of a fleet.
//!
//! It is a cache, never an authority: whatever it serves is hashed while it streams, exactly
//! like a Hub download, and a wrong object is discarded (the caller then fetches from the Hub).
//! Hub tokens never reach it: it has its own client, signed with the S3 credentials of
//! [`connection`], which are never printed or logged.
//!
//! The client is `object_store` (Apache Arrow's): SigV4, the AWS credential chain, ranged GETs,
//! conditional and multipart PUTs, on the reqwest 0.12 that hfdl already uses — far lighter than
//! the AWS SDK for the five operations hfdl needs.

pub mod connection;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, WriteMultipart,
};
use serde::Serialize;
use tokio::io::AsyncReadExt as _;

pub use connection::{Connection, CredentialOrigin, Credentials};

use crate::env::Env;
use crate::hash::ContentHash;

/// The most a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the retries of one request may go on: the Hub is the fallback.
const RETRY_WINDOW: Duration = Duration::from_secs(10);
/// The deadline of one request other than a GET (at least the `timeout` setting): a part of
/// 8 MiB, or a single PUT of up to 64 MiB at 256 KiB/s.
const REQUEST_DEADLINE: Duration = Duration::from_mins(5);
/// Files at least this large are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 64 << 20;
/// The size of one part of a multipart upload, unless the file needs larger ones
/// ([`part_size`]).
const PART_SIZE: usize = 8 << 20;
/// S3 allows 10,000 parts per upload; hfdl stays below, with room.
const MAX_PARTS: u64 = 9_000;
/// Parts in flight at once per upload.
const PARTS_IN_FLIGHT: usize = 2;
/// Multipart uploads at once: with [`PARTS_IN_FLIGHT`], what bounds the memory publishing takes
/// (about 2 × 3 × 8 MiB for files up to 70 GiB).
const UPLOADS_AT_ONCE: usize = 2;

/// `blob-store = "s3://BUCKET/PREFIX"`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobStoreUrl {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl BlobStoreUrl {
    /// Parses `s3://bucket` or `s3://bucket/some/prefix`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<BlobStoreUrl, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or("not an s3:// URL (use \"s3://BUCKET/PREFIX\")")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("the bucket name is empty (use \"s3://BUCKET/PREFIX\")".into());
        }
        // S3's bucket naming rules, which every compatible engine follows.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'))
            && bucket.as_bytes()[0].is_ascii_alphanumeric()
            && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric();
        if !valid_bucket {
            return Err(format!(
                "`{bucket}` is not a valid bucket name (3 to 63 characters: lowercase letters, digits, `-` and `.`)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..")
            || prefix.contains("//")
            || prefix.contains(['?', '#'])
        {
            return Err(format!("the prefix `{prefix}` is not a plain key prefix"));
        }
        Ok(BlobStoreUrl {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The object key of a blob: `<prefix>/<algorithm>/<hex>`.
    pub fn key(&self, hash: &ContentHash) -> String {
        let name = format!("{}/{}", hash.kind().as_str(), hash.hex());
        if self.prefix.is_empty() {
            name
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// The blob's full URL, for messages: `s3://bucket/prefix/sha256/<hex>`.
    pub fn object_url(&self, hash: &ContentHash) -> String {
        format!("s3://{}/{}", self.bucket, self.key(hash))
    }
}

impl fmt::Display for BlobStoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Why the blob store could not be used.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
pub enum BlobStoreError {
    /// The engine could not be reached, or kept failing (network, 5xx, timeouts).
    #[error("the blob store {store} is unreachable: {message}")]
    #[diagnostic(help(
        "check AWS_ENDPOINT_URL and that the engine is up (`hfdl doctor` checks it); until then hfdl fetches from the Hub"
    ))]
    Unreachable {
        /// The `blob-store` URL.
        store: String,
        /// What failed.
        message: String,
    },
    /// The engine refused the credentials or the operation.
    #[error("the blob store {store} refused {credentials}: {message}")]
    #[diagnostic(help(
        "fix the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_PROFILE and ~/.aws/credentials) or the key's permissions on the bucket (read to sync, write to publish)"
    ))]
    Denied {
        /// The `blob-store` URL.
        store: String,
        /// Which credentials, and from which setting.
        credentials: String,
        /// The engine's answer.
        message: String,
    },
    /// The bucket does not exist.
    #[error("the bucket `{bucket}` of the blob store {store} does not exist")]
    #[diagnostic(help(
        "create it (e.g. `aws s3 mb s3://{bucket}` or `garage bucket create {bucket}`), or fix `blob-store`"
    ))]
    BucketMissing {
        /// The `blob-store` URL.
        store: String,
        /// The bucket.
        bucket: String,
    },
    /// The connection settings are invalid (an endpoint that is not a URL, half a key pair).
    #[error("the blob store {store} is misconfigured: {message}")]
    #[diagnostic(help(
        "fix the AWS_* variables or ~/.aws profile, or unset `blob-store` (HFDL_BLOB_STORE)"
    ))]
    Config {
        /// The `blob-store` URL.
        store: String,
        /// What is wrong.
        message: String,
    },
    /// An object held other bytes than its key (a content hash) says: discarded, never trusted.
    #[error("{object} {problem}")]
    #[diagnostic(help(
        "the file is fetched from the Hub instead; a sync with --publish overwrites the object with the verified bytes"
    ))]
    BadObject {
        /// The object's URL.
        object: String,
        /// What was wrong with it (size, digest).
        problem: String,
    },
    /// A local file could not be read for an upload.
    #[error("cannot read {path} for the blob store: {message}")]
    #[diagnostic(help("check the store's files with `hfdl verify`"))]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

impl BlobStoreError {
    /// The stable machine code of `--json` errors.
    pub fn error_code(&self) -> &'static str {
        match self {
            BlobStoreError::Unreachable { .. } | BlobStoreError::Io { .. } => {
                "blob-store-unreachable"
            }
            BlobStoreError::Denied { .. } => "blob-store-denied",
            BlobStoreError::BucketMissing { .. } => "blob-store-bucket-missing",
            BlobStoreError::Config { .. } => "blob-store-config",
            BlobStoreError::BadObject { .. } => "bad-blob-store-object",
        }
    }

    /// The process exit code (of `hfdl push`, where the store is required).
    pub fn exit_code(&self) -> i32 {
        match self {
            BlobStoreError::Config { .. } => crate::codes::EXIT_USAGE,
            BlobStoreError::Denied { .. } => crate::codes::EXIT_AUTH,
            BlobStoreError::BadObject { .. } | BlobStoreError::Io { .. } => {
                crate::codes::EXIT_FAILURE
            }
            BlobStoreError::Unreachable { .. } | BlobStoreError::BucketMissing { .. } => {
                crate::codes::EXIT_NETWORK
            }
        }
    }
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// The object was written.
    Stored,
    /// An object of that key and size was already there (keys are content hashes).
    AlreadyThere,
}

/// Requests and bytes of one run, per operation.
#[derive(Debug, Default)]
pub struct BlobStoreMetrics {
    gets: AtomicU64,
    heads: AtomicU64,
    puts: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    stored: AtomicU64,
    already: AtomicU64,
}

/// A snapshot of [`BlobStoreMetrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BlobStoreCounts {
    /// GET requests (blob reads).
    pub get: u64,
    /// HEAD requests (does the object exist, before an upload).
    pub head: u64,
    /// Uploads (one per object; a multipart upload counts once).
    pub put: u64,
    /// Body bytes received.
    pub bytes_read: u64,
    /// Bytes uploaded.
    pub bytes_written: u64,
    /// Blobs uploaded.
    pub uploaded: u64,
    /// Blobs not uploaded because the store had them already.
    pub already_there: u64,
}

impl BlobStoreCounts {
    /// Requests of every kind.
    pub fn requests(&self) -> u64 {
        self.get + self.head + self.put
    }
}

impl BlobStoreMetrics {
    /// Counts `bytes` of a GET body.
    pub fn count_read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BlobStoreCounts {
        BlobStoreCounts {
            get: self.gets.load(Ordering::Relaxed),
            head: self.heads.load(Ordering::Relaxed),
            put: self.puts.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            uploaded: self.stored.load(Ordering::Relaxed),
            already_there: self.already.load(Ordering::Relaxed),
        }
    }
}

/// How the client behaves on a slow or failing engine.
#[derive(Debug, Clone, Copy)]
pub struct BlobStoreOptions {
    /// Connect timeout, and the longest a body may go without a byte (the `timeout` setting).
    pub timeout: Duration,
    /// Retries of a failed request inside one operation (kept small: the Hub is the fallback,
    /// and a dead store must not stall every file).
    pub retries: u32,
}

/// A body being read from the store.
pub type ObjectStream = BoxStream<'static, Result<Bytes, BlobStoreError>>;

/// An open blob store.
pub struct BlobStore {
    url: BlobStoreUrl,
    connection: Connection,
    /// GETs: no deadline (bodies of many GB); stalls are caught per chunk by the caller.
    reader: Arc<AmazonS3>,
    /// Everything else, each request with a deadline.
    writer: Arc<AmazonS3>,
    options: BlobStoreOptions,
    metrics: BlobStoreMetrics,
    /// Set by the first failure that is about the store, not one object: the rest of the run
    /// goes to the Hub without waiting on it again.
    unavailable: Mutex<Option<BlobStoreError>>,
    /// Set by the first failed upload (a read-only key, a full bucket): the run stops
    /// publishing, and keeps reading.
    publishing_failed: Mutex<Option<BlobStoreError>>,
    /// Objects that held wrong bytes this run: reported, and overwritten when publishing.
    bad_objects: Mutex<Vec<ContentHash>>,
    /// Turns of the large uploads ([`UPLOADS_AT_ONCE`]).
    upload_slots: tokio::sync::Semaphore,
}

/// Locks `mutex`, also after a panic elsewhere (the data is a plain record).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStore")
            .field("url", &self.url)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl BlobStore {
    /// Opens `url` with the connection that `env` describes. Nothing is sent yet.
    pub fn open(
        url: BlobStoreUrl,
        env: &Env,
        options: BlobStoreOptions,
    ) -> Result<BlobStore, BlobStoreError> {
        let config_error = |message: String| BlobStoreError::Config {
            store: url.to_string(),
            message,
        };
        let connection = Connection::from_env(env).map_err(config_error)?;
        // A large object streams for longer than any fixed deadline: the reader's stalls are
        // caught per chunk instead. Every other request (HEAD, PUT of a part, LIST) has a
        // deadline, so a hung engine cannot hold a sync forever.
        let reader = Self::client(&url, &connection, env, options, None).map_err(config_error)?;
        let writer = Self::client(
            &url,
            &connection,
            env,
            options,
            Some(REQUEST_DEADLINE.max(options.timeout)),
        )
        .map_err(config_error)?;
        Ok(BlobStore {
            url,
            connection,
            reader: Arc::new(reader),
            writer: Arc::new(writer),
            options,
            metrics: BlobStoreMetrics::default(),
            unavailable: Mutex::new(None),
            publishing_failed: Mutex::new(None),
            bad_objects: Mutex::new(Vec::new()),
            upload_slots: tokio::sync::Semaphore::new(UPLOADS_AT_ONCE),
        })
    }

    /// An S3 client for `url`; `deadline` bounds each request, body included.
    fn client(
        url: &BlobStoreUrl,
        connection: &Connection,
        env: &Env,
        options: BlobStoreOptions,
        deadline: Option<Duration>,
    ) -> Result<AmazonS3, String> {
        let mut client_options = ClientOptions::new()
            // An engine that does not accept a connection within this is down for this run.
            .with_connect_timeout(options.timeout.min(CONNECT_TIMEOUT))
            .with_user_agent(reqwest::header::HeaderValue::from_static(concat!(
                "hfdl/",
                env!("CARGO_PKG_VERSION")
            )));
        client_options = match deadline {
            Some(deadline) => client_options.with_timeout(deadline),
            None => client_options.with_timeout_disabled(),
        };
        if let Some(endpoint) = &connection.endpoint
            && endpoint.starts_with("http://")
        {
            client_options = client_options.with_allow_http(true);
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&url.bucket)
            .with_region(&connection.region)
            .with_virtual_hosted_style_request(connection.virtual_hosted)
            .with_client_options(client_options)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: options.retries as usize,
                retry_timeout: options.timeout.min(RETRY_WINDOW),
            });
        if let Some(endpoint) = &connection.endpoint {
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        builder = match &connection.credentials {
            Credentials::Static {
                key_id,
                secret,
                token,
                ..
            } => {
                let builder = builder
                    .with_access_key_id(key_id)
                    .with_secret_access_key(secret);
                match token {
                    Some(token) => builder.with_token(token),
                    None => builder,
                }
            }
            Credentials::Anonymous { .. } => builder.with_skip_signature(true),
            Credentials::Ambient => {
                // The ambient chain's variables, from hfdl's snapshot of the environment;
                // object_store resolves them (and the instance profile) at the first request.
                let mut builder = builder;
                for name in [
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_ROLE_ARN",
                    "AWS_ROLE_SESSION_NAME",
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                ] {
                    if let (Some(value), Ok(key)) =
                        (env.get(name), name.to_ascii_lowercase().parse())
                    {
                        builder = builder.with_config(key, value);
                    }
                }
                builder
            }
        };
        builder.build().map_err(|e| crate::codes::error_chain(&e))
    }

    /// The `blob-store` URL.
    pub fn url(&self) -> &BlobStoreUrl {
        &self.url
    }

    /// The endpoint, region and credentials in use (no secret).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Requests and bytes so far.
    pub fn metrics(&self) -> &BlobStoreMetrics {
        &self.metrics
    }

    /// The error that made the store unusable for the rest of the run, if any.
    pub fn unavailable(&self) -> Option<BlobStoreError> {
        lock(&self.unavailable).clone()
    }

    /// Stops using the store for this run because of `error`; true when it is the first such
    /// error (the one to warn about).
    pub fn give_up(&self, error: &BlobStoreError) -> bool {
        first_error(&self.unavailable, error)
    }

    /// The error that stopped publishing for the rest of the run, if any.
    pub fn publishing_failed(&self) -> Option<BlobStoreError> {
        lock(&self.publishing_failed).clone()
    }

    /// Stops publishing for this run because of `error`; true when it is the first such error.
    pub fn give_up_publishing(&self, error: &BlobStoreError) -> bool {
        first_error(&self.publishing_failed, error)
    }

    /// Notes that the object of `hash` held wrong bytes.
    pub fn record_bad_object(&self, hash: &ContentHash) {
        let mut bad = lock(&self.bad_objects);
        if !bad.contains(hash) {
            bad.push(hash.clone());
        }
    }

    /// The URLs of the objects that held wrong bytes this run.
    pub fn bad_objects(&self) -> Vec<String> {
        lock(&self.bad_objects)
            .iter()
            .map(|hash| self.url.object_url(hash))
            .collect()
    }

    /// The longest a body may go without a byte.
    pub fn stall_timeout(&self) -> Duration {
        self.options.timeout
    }

    fn path(&self, hash: &ContentHash) -> ObjectPath {
        self.url.key(hash).split('/').collect()
    }

    /// Reads the blob from byte `from` on; `None` when the store does not have it. The second
    /// value is the object's full size.
    pub async fn read(
        &self,
        hash: &ContentHash,
        from: u64,
    ) -> Result<Option<(ObjectStream, u64)>, BlobStoreError> {
        let path = self.path(hash);
        let options = GetOptions {
            range: (from > 0).then_some(GetRange::Offset(from)),
            ..GetOptions::default()
        };
        self.metrics.gets.fetch_add(1, Ordering::Relaxed);
        match self.reader.get_opts(&path, options).await {
            Ok(result) => {
                let size = result.meta.size;
                let store = self.url.to_string();
                let stream = result
                    .into_stream()
                    .map(move |chunk| {
                        chunk.map_err(|error| BlobStoreError::Unreachable {
                            store: store.clone(),
                            message: crate::codes::error_chain(&error),
                        })
                    })
                    .boxed();
                Ok(Some((stream, size)))
            }
            // An object shorter than the partial file: not the blob (the Hub resumes instead).
            Err(error) if from > 0 && crate::codes::error_chain(&error).contains("416") => {
                tracing::debug!(%error, from, "the blob store's object ends before the partial file");
                Ok(None)
            }
            Err(error) => match self.classify(&error) {
                Classified::Absent => Ok(None),
                Classified::Failed(error) => Err(error),
            },
        }
    }

    /// The size of the stored object, or `None` when there is none.
    pub async fn size_of(&self, hash: &ContentHash) -> Result<Option<u64>, BlobStoreError> {
        self.metrics.heads.fetch_add(1, Ordering::Relaxed);
        match self.writer.head(&self.path(hash)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(error) => match self.classify(&error) {
                Classified::Absent => Ok(None),
                Classified::Failed(error) => Err(error),
            },
        }
    }

    /// Uploads the verified file at `file` as the blob `hash` of `size` bytes, unless an object
    /// of that size is already there. Small files go in one conditional PUT
    /// (`If-None-Match: *`, where the engine honours it; racing publishers write the same bytes
    /// anyway), large ones in parts.
    /// `progress` hears of the bytes sent, as parts (or the whole file) are handed over.
    pub async fn upload(
        &self,
        hash: &ContentHash,
        file: &Path,
        size: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Upload, BlobStoreError> {
        // A known-bad object has the right size but the wrong bytes: it is overwritten.
        let known_bad = lock(&self.bad_objects).contains(hash);
        if !known_bad && self.size_of(hash).await? == Some(size) {
            self.metrics.already.fetch_add(1, Ordering::Relaxed);
            return Ok(Upload::AlreadyThere);
        }
        let path = self.path(hash);
        let io = |error: std::io::Error| BlobStoreError::Io {
            path: file.display().to_string(),
            message: error.to_string(),
        };
        self.metrics.puts.fetch_add(1, Ordering::Relaxed);
        if size < MULTIPART_THRESHOLD {
            let bytes = Bytes::from(tokio::fs::read(file).await.map_err(io)?);
            let payload = PutPayload::from(bytes);
            let create = PutOptions {
                mode: if known_bad {
                    PutMode::Overwrite
                } else {
                    PutMode::Create
                },
                ..PutOptions::default()
            };
            match self.writer.put_opts(&path, payload.clone(), create).await {
                Ok(_) => {}
                // Another publisher wrote it meanwhile (an engine that honours If-None-Match).
                Err(object_store::Error::AlreadyExists { .. }) => {
                    self.metrics.already.fetch_add(1, Ordering::Relaxed);
                    return Ok(Upload::AlreadyThere);
                }
                // An engine that refuses conditional writes (501): a plain PUT is safe, as
                // racing publishers write the same bytes under a content key.
                Err(error) if refuses_conditional_put(&error) => {
                    self.writer
                        .put(&path, payload)
                        .await
                        .map_err(|e| self.failure(&e))?;
                }
                Err(error) => return Err(self.failure(&error)),
            }
            progress(size);
        } else {
            // Large uploads take turns: each holds up to PARTS_IN_FLIGHT parts in memory.
            let _slot = self
                .upload_slots
                .acquire()
                .await
                .map_err(|e| io(std::io::Error::other(e)))?;
            let upload = self
                .writer
                .put_multipart(&path)
                .await
                .map_err(|e| self.failure(&e))?;
            let part_size = part_size(size);
            let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
            if let Err(error) = self
                .write_parts(&mut writer, file, part_size, progress)
                .await
            {
                // No half-written upload lingers on the engine (it would bill its parts).
                let _ = writer.abort().await;
                return Err(error);
            }
            if let Err(error) = writer.finish().await {
                return Err(self.failure(&error));
            }
        }
        self.metrics
            .bytes_written
            .fetch_add(size, Ordering::Relaxed);
        self.metrics.stored.fetch_add(1, Ordering::Relaxed);
        Ok(Upload::Stored)
    }

    /// Reads `file` part by part into `writer`, at most [`PARTS_IN_FLIGHT`] parts in memory.
    async fn write_parts(
        &self,
        writer: &mut WriteMultipart,
        file: &Path,
        part_size: usize,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), BlobStoreError> {
        let io = |error: std::io::Error| BlobStoreError::Io {
            path: file.display().to_string(),
            message: error.to_string(),
        };
        let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
        loop {
            // A whole part (or what is left): `take` ends at `part_size` bytes.
            let mut part = Vec::with_capacity(part_size);
            (&mut reader)
                .take(part_size as u64)
                .read_to_end(&mut part)
                .await
                .map_err(io)?;
            if part.is_empty() {
                return Ok(());
            }
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|e| self.failure(&e))?;
            // Handed over without a copy; counted once the previous parts made room for it.
            progress(part.len() as u64);
            writer.put(Bytes::from(part));
        }
    }

    /// Checks that the bucket answers to these credentials: a listing of the prefix (read), and
    /// with `write` a small object written and deleted under `<prefix>/.hfdl-doctor/`.
    pub async fn check(&self, write: bool) -> Result<(), BlobStoreError> {
        let prefix = (!self.url.prefix.is_empty())
            .then(|| self.url.prefix.split('/').collect::<ObjectPath>());
        self.writer
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| self.failure(&e))?;
        if write {
            let mut key: Vec<&str> = Vec::new();
            if !self.url.prefix.is_empty() {
                key.extend(self.url.prefix.split('/'));
            }
            let name = format!("probe-{}", std::process::id());
            key.extend([".hfdl-doctor", name.as_str()]);
            let path: ObjectPath = key.into_iter().collect();
            self.writer
                .put(&path, PutPayload::from_static(b"hfdl doctor write check\n"))
                .await
                .map_err(|e| self.failure(&e))?;
            self.writer
                .delete(&path)
                .await
                .map_err(|e| self.failure(&e))?;
        }
        Ok(())
    }

    /// An error that is not "this object is absent".
    fn failure(&self, error: &object_store::Error) -> BlobStoreError {
        match self.classify(error) {
            Classified::Failed(error) => error,
            Classified::Absent => BlobStoreError::BucketMissing {
                store: self.url.to_string(),
                bucket: self.url.bucket.clone(),
            },
        }
    }

    fn classify(&self, error: &object_store::Error) -> Classified {
        let store = self.url.to_string();
        let message = crate::codes::error_chain(error);
        match error {
            // S3 names the missing thing in the body of a 404: a missing bucket makes every
            // object "absent", which must not pass for a cold cache.
            object_store::Error::NotFound { .. } if message.contains("NoSuchBucket") => {
                Classified::Failed(BlobStoreError::BucketMissing {
                    store,
                    bucket: self.url.bucket.clone(),
                })
            }
            object_store::Error::NotFound { .. } => Classified::Absent,
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => {
                Classified::Failed(BlobStoreError::Denied {
                    store,
                    credentials: self.connection.credentials.describe(),
                    message: short_engine_message(&message),
                })
            }
            _ if [
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
            ]
            .iter()
            .any(|code| message.contains(code)) =>
            {
                Classified::Failed(BlobStoreError::Denied {
                    store,
                    credentials: self.connection.credentials.describe(),
                    message: short_engine_message(&message),
                })
            }
            _ => Classified::Failed(BlobStoreError::Unreachable { store, message }),
        }
    }
}

/// The engine does not do conditional PUTs: object_store's own refusal, or a 501 answer.
fn refuses_conditional_put(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::NotImplemented { .. }) || {
        let message = crate::codes::error_chain(error);
        message.contains("501") || message.contains("<Code>NotImplemented</Code>")
    }
}

/// The part size for a file of `size` bytes: [`PART_SIZE`], or whole MiB large enough that the
/// file needs at most [`MAX_PARTS`] parts (a 100 GB GGUF gets 11 MiB parts).
fn part_size(size: u64) -> usize {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    (PART_SIZE as u64).max(needed) as usize
}

/// Records `error` in `slot` unless one is there; true when it was the first.
fn first_error(slot: &Mutex<Option<BlobStoreError>>, error: &BlobStoreError) -> bool {
    let mut slot = lock(slot);
    if slot.is_some() {
        return false;
    }
    *slot = Some(error.clone());
    true
}

enum Classified {
    Absent,
    Failed(BlobStoreError),
}

/// The `<Code>` and `<Message>` of an S3 XML error body when the text holds one, else the text.
fn short_engine_message(text: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_owned())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_bucket_and_prefix() {
        let url = BlobStoreUrl::parse("s3://models-cache/fleet/prod/").unwrap();
        assert_eq!(url.bucket, "models-cache");
        assert_eq!(url.prefix, "fleet/prod");
        assert_eq!(url.to_string(), "s3://models-cache/fleet/prod");
        let hash = ContentHash::sha256(&"ab".repeat(32)).unwrap();
        assert_eq!(
            url.key(&hash),
            format!("fleet/prod/sha256/{}", "ab".repeat(32))
        );
        let bare = BlobStoreUrl::parse("s3://models-cache").unwrap();
        let sha1 = ContentHash::git_sha1(&"cd".repeat(20)).unwrap();
        assert_eq!(bare.key(&sha1), format!("git-sha1/{}", "cd".repeat(20)));
        assert_eq!(
            bare.object_url(&sha1),
            format!("s3://models-cache/git-sha1/{}", "cd".repeat(20))
        );
        for bad in [
            "https://bucket/x",
            "s3://",
            "s3:///prefix",
            "s3://Bucket",
            "s3://ab",
            "s3://bucket/a/../b",
        ] {
            assert!(BlobStoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parts_stay_under_the_s3_limit_for_any_model_file() {
        assert_eq!(part_size(70 << 20), PART_SIZE);
        for size in [1u64 << 30, 70 << 30, 100_000_000_000, 1 << 40] {
            let part = part_size(size) as u64;
            assert!(size.div_ceil(part) <= MAX_PARTS, "{size}: {part}");
            assert_eq!(part % (1 << 20), 0);
        }
    }

    #[test]
    fn engine_errors_are_shortened_to_code_and_message() {
        let body = "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code><Message>No such key: GKbad</Message></Error>";
        assert_eq!(
            short_engine_message(body),
            "InvalidAccessKeyId: No such key: GKbad"
        );
        assert_eq!(short_engine_message("timed out"), "timed out");
    }
}
