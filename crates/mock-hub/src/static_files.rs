//! A plain static file server over a directory: the benchmark's baseline for what serving the
//! same bytes costs without the Hub protocol (no API, no redirect, no auth, no request log).
//!
//! It is written the way a small axum file server usually is, not with the mock Hub's own body
//! code: `GET`/`HEAD /{path}` answers `200` with the file and its `Content-Length` (files up to
//! 64 KiB read whole, larger ones streamed with `tokio::fs` in 1 MiB reads), `404` otherwise;
//! keep-alive and `TCP_NODELAY`, as any production server. No ranges, no listing.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use tokio::io::AsyncReadExt as _;

/// Files up to this size are read whole and sent with their headers.
const WHOLE_MAX: u64 = 64 * 1024;
/// Read size when streaming larger files.
const READ_SIZE: usize = 1024 * 1024;

/// A running static server on 127.0.0.1, stopped when dropped.
pub struct StaticServer {
    endpoint: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for StaticServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticServer")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl StaticServer {
    /// Serves the files under `dir` on `port` (0: any free port).
    pub fn start(dir: &Path, port: u16) -> std::io::Result<StaticServer> {
        let root = Arc::new(dir.canonicalize()?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("static-files")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new().fallback(serve).with_state(root);
        runtime.spawn(async move {
            if let Err(error) = axum::serve(crate::no_delay(listener), app).await {
                tracing::error!(%error, "static listener stopped");
            }
        });
        Ok(StaticServer {
            endpoint,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Blocks until SIGINT or SIGTERM (for the binary).
    pub fn wait_for_signal(&self) -> std::io::Result<()> {
        match &self.runtime {
            Some(runtime) => runtime.block_on(crate::signal()),
            None => Ok(()),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The file a request path names under `root`, if the path stays inside it.
fn file_path(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = PathBuf::from(percent_decode_str(path).decode_utf8().ok()?.as_ref());
    let relative = relative.strip_prefix("/").unwrap_or(&relative);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(relative))
}

async fn serve(State(root): State<Arc<PathBuf>>, request: Request) -> Response {
    let head = match *request.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    let Some(path) = file_path(&root, request.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(file) = tokio::fs::File::open(&path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let size = match file.metadata().await {
        Ok(metadata) if metadata.is_file() => metadata.len(),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let body = if head {
        Body::empty()
    } else if size <= WHOLE_MAX {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let mut file = file;
        match file.read_to_end(&mut bytes).await {
            Ok(_) => Body::from(bytes),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    } else {
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, READ_SIZE))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/srv");
        assert_eq!(
            file_path(root, "/a/b.json"),
            Some(PathBuf::from("/srv/a/b.json"))
        );
        assert_eq!(file_path(root, "/a%20b"), Some(PathBuf::from("/srv/a b")));
        assert_eq!(file_path(root, "/../etc/passwd"), None);
        assert_eq!(file_path(root, "/a/%2E%2E/%2E%2E/x"), None);
    }
}
