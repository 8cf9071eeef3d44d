//! The page of `hfdl ui`, compiled into the binary: the files of `src/ui/assets/`, each served
//! at `/NAME` with its content type (and `index.html` at `/` too). Anything else is `404`.

use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::UiError;

/// Lists each file once: its name (its path, and the file in `src/ui/assets/`) and its content
/// type.
macro_rules! assets {
    ($(($name:literal, $content_type:literal)),* $(,)?) => {
        &[$(($name, $content_type, include_bytes!(concat!("assets/", $name)))),*]
    };
}

/// `(name, content type, bytes)` of every embedded file.
pub const ASSETS: &[(&str, &str, &[u8])] = assets![
    ("index.html", "text/html; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
];

/// The embedded file at `path` (`/` is `index.html`): its content type and bytes.
pub fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    let name = match path.strip_prefix('/')? {
        "" => "index.html",
        name => name,
    };
    ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}

/// The fallback route: an embedded file for `GET`/`HEAD`, else `404`.
pub(crate) async fn serve(method: Method, uri: Uri) -> Response {
    let found = matches!(method, Method::GET | Method::HEAD)
        .then(|| find(uri.path()))
        .flatten();
    match found {
        Some((content_type, bytes)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type)],
            bytes,
        )
            .into_response(),
        None => super::api::ui_error(&UiError::NotFound {
            what: format!("no {method} {}", uri.path()),
        })
        .into_response(),
    }
}
