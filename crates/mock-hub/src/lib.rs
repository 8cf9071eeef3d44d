//! `hfdl-mock-hub`: a local Hugging Face Hub, faithful to `shared/hub-protocol.md`, for hfdl's
//! tests and benchmarks (the real Hub is never reachable from CI).
//!
//! - [`fixtures`]: repos, commits, refs, regular and LFS files, users, on disk;
//! - [`server`]: the Hub origin (API, resolve, admin) and a separate CDN origin;
//! - [`body`]: files streamed from disk with ranges and body-level faults;
//! - [`card`]: README.md front matter → `cardData` and the tags the Hub derives from it;
//! - [`record`]: the request log, counters and fault rules;
//! - [`generate`]: fixture generators for the binary (large repos, many small files, demo);
//! - [`static_files`]: a plain static file server, the benchmark's baseline;
//! - [`xet`]: Xet storage: hashes, chunking, xorbs, the CAS store and the CAS origin.
//!
//! A test starts a server with [`MockHub::start`], drives a client at [`MockHub::endpoint`],
//! and asserts on [`MockHub::counters`] and [`MockHub::requests`].

pub mod body;
pub mod card;
pub mod fixtures;
pub mod generate;
pub mod record;
pub mod server;
pub mod static_files;
pub mod xet;

use std::sync::Arc;

pub use fixtures::{
    Content, FileChange, FileInfo, FixtureError, Fixtures, Gated, PseudoRandom, RepoMeta,
    RepoOptions, RepoType, UserSpec, XetOptions,
};
pub use record::{Counters, Fault, FaultRule, RequestKind, RequestRecord};
pub use server::ServerOptions;
pub use static_files::StaticServer;

use record::Recorder;
use server::Shared;

/// A running mock Hub: a Hub listener, a CDN listener and a Xet CAS listener on 127.0.0.1, served by a private
/// runtime that stops when this value is dropped.
pub struct MockHub {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for MockHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHub")
            .field("endpoint", &self.shared.endpoint)
            .field("cdn_origin", &self.shared.cdn_origin)
            .field("cas_origin", &self.shared.cas_origin)
            .finish_non_exhaustive()
    }
}

impl MockHub {
    /// Serves `fixtures` on ephemeral ports with the default options.
    pub fn start(fixtures: Fixtures) -> std::io::Result<MockHub> {
        MockHub::start_with(fixtures, ServerOptions::default())
    }

    /// Serves `fixtures` with `options`.
    pub fn start_with(fixtures: Fixtures, options: ServerOptions) -> std::io::Result<MockHub> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mock-hub")
            .enable_all()
            .build()?;
        let (hub_listener, cdn_listener, cas_listener) = runtime.block_on(async {
            let hub = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
            let cdn = tokio::net::TcpListener::bind(("127.0.0.1", options.cdn_port)).await?;
            let cas = tokio::net::TcpListener::bind(("127.0.0.1", options.cas_port)).await?;
            std::io::Result::Ok((hub, cdn, cas))
        })?;
        let endpoint = format!("http://{}", hub_listener.local_addr()?);
        let cdn_origin = format!("http://{}", cdn_listener.local_addr()?);
        let cas_origin = format!("http://{}", cas_listener.local_addr()?);
        let secret = format!(
            "{:x}{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        );
        let shared = Arc::new(Shared {
            fixtures,
            recorder: Arc::new(Recorder::default()),
            options,
            endpoint,
            cdn_origin,
            cas_origin,
            secret,
            xet_grants: std::sync::Mutex::default(),
        });
        let hub_app = axum::Router::new()
            .fallback(server::hub)
            .with_state(shared.clone());
        let cdn_app = axum::Router::new()
            .fallback(server::cdn)
            .with_state(shared.clone());
        runtime.spawn(async move {
            if let Err(error) = axum::serve(no_delay(hub_listener), hub_app).await {
                tracing::error!(%error, "hub listener stopped");
            }
        });
        let cas_app = axum::Router::new()
            .fallback(xet::cas::cas)
            .with_state(shared.clone());
        runtime.spawn(async move {
            if let Err(error) = axum::serve(no_delay(cdn_listener), cdn_app).await {
                tracing::error!(%error, "cdn listener stopped");
            }
        });
        runtime.spawn(async move {
            if let Err(error) = axum::serve(no_delay(cas_listener), cas_app).await {
                tracing::error!(%error, "cas listener stopped");
            }
        });
        Ok(MockHub {
            shared,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:PORT`: what `HF_ENDPOINT` should be.
    pub fn endpoint(&self) -> String {
        self.shared.endpoint.clone()
    }

    /// The CDN's origin (a different port, so a different origin from the Hub).
    pub fn cdn_origin(&self) -> String {
        self.shared.cdn_origin.clone()
    }

    /// The Xet CAS origin (`casUrl` of the Xet tokens; another port, so another origin).
    pub fn cas_origin(&self) -> String {
        self.shared.cas_origin.clone()
    }

    /// The served fixtures; changes made through it are visible to the next request.
    pub fn fixtures(&self) -> Fixtures {
        self.shared.fixtures.clone()
    }

    pub fn counters(&self) -> Counters {
        self.shared.recorder.counters()
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.recorder.requests()
    }

    /// Zeroes the counters and clears the request log.
    pub fn reset(&self) {
        self.shared.recorder.reset();
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.recorder.add_fault(rule);
    }

    pub fn clear_faults(&self) {
        self.shared.recorder.clear_faults();
    }

    /// Blocks until SIGINT or SIGTERM (for the binary).
    pub fn wait_for_signal(&self) -> std::io::Result<()> {
        let Some(runtime) = &self.runtime else {
            return Ok(());
        };
        runtime.block_on(signal())
    }
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

/// Sets `TCP_NODELAY` on every accepted connection, as production HTTP servers do. Without it,
/// a response whose body follows its headers in a second write (a streamed body) waits for the
/// client's delayed ACK of the headers (Nagle's algorithm): up to 40 ms per request on Linux
/// loopback, which made the mock Hub, not the client, the bottleneck of many small downloads.
pub(crate) fn no_delay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|stream: &mut tokio::net::TcpStream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    })
}

impl Drop for MockHub {
    fn drop(&mut self) {
        // Stalled or slow bodies must not keep a finished test waiting.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
