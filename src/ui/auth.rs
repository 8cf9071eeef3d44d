//! The security of `hfdl ui`, enforced by one middleware (`guard`) in front of every route:
//! the per-run secret (cookie or header), the `Host` check against DNS rebinding, the
//! `X-Hfdl-Token` + `Origin` check against cross-site requests, and the security headers of
//! every answer. The rules are listed in [`crate::ui`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{UiError, UiState};

/// The cookie that carries the secret, `hfdl_ui_token_<PORT>`: cookies are shared by every
/// port of a host, and a second `hfdl ui` (another project) must not replace the first one's.
pub fn cookie_name(port: u16) -> String {
    format!("hfdl_ui_token_{port}")
}
/// The header that carries the secret (required on every request that changes something).
pub const HEADER: &str = "x-hfdl-token";
/// The query parameter of the URL `hfdl ui` prints.
pub const QUERY: &str = "token";
/// The page may load its own files only, and may not be framed.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/// The per-run secret: 32 bytes from the OS's CSPRNG, in hex.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A new secret.
    pub fn generate() -> Result<Secret, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Secret(hex::encode(bytes)))
    }

    /// The secret's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is the secret, compared in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The secret, and the hosts and origins the server answers to.
#[derive(Debug)]
pub struct Guard {
    secret: Secret,
    /// `Host` values accepted: `127.0.0.1:PORT`, `localhost:PORT`, the listening address.
    hosts: Vec<String>,
    /// The origins of those hosts (`http://HOST`).
    origins: Vec<String>,
    /// The origin of the listening address.
    own: String,
    /// This server's cookie ([`cookie_name`]).
    cookie: String,
}

impl Guard {
    /// The rules for a server listening on `address`.
    pub fn new(secret: Secret, address: SocketAddr) -> Guard {
        let port = address.port();
        let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        let own = address.to_string();
        if !hosts.contains(&own) {
            hosts.push(own.clone());
        }
        let origins = hosts.iter().map(|host| format!("http://{host}")).collect();
        Guard {
            secret,
            hosts,
            origins,
            own: format!("http://{own}"),
            cookie: cookie_name(port),
        }
    }

    /// The origin of the URL to open: `http://` and the listening address
    /// (`http://127.0.0.1:PORT` by default).
    pub fn origin(&self) -> &str {
        &self.own
    }

    /// The secret's text.
    pub fn secret(&self) -> &str {
        self.secret.as_str()
    }

    /// Where the request may go: on (`None`), or an answer instead.
    fn admit(&self, request: &Request) -> Result<Option<Response>, UiError> {
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if !self.hosts.iter().any(|allowed| allowed == host) {
            return Err(UiError::Forbidden {
                reason: format!(
                    "the Host header `{host}` is not this server's address (a DNS rebinding page?)"
                ),
            });
        }
        // The URL `hfdl ui` printed: trade the secret in the query for a cookie.
        if request.method() == Method::GET
            && request.uri().path() == "/"
            && let Some(token) = query_token(request.uri().query())
        {
            if !self.secret.matches(&token) {
                return Err(UiError::Unauthorized {
                    reason: "the token in the URL is not this session's",
                });
            }
            let cookie = format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                self.cookie,
                self.secret()
            );
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return Ok(Some(response));
        }
        let by_header = headers
            .get(HEADER)
            .and_then(|value| value.to_str().ok())
            .map(|token| self.secret.matches(token));
        let by_cookie =
            cookie_token(headers, &self.cookie).map(|token| self.secret.matches(&token));
        if by_header == Some(false) || (by_header.is_none() && by_cookie == Some(false)) {
            return Err(UiError::Unauthorized {
                reason: "the request's token is not this session's",
            });
        }
        if by_header.is_none() && by_cookie.is_none() {
            return Err(UiError::Unauthorized {
                reason: "the request has no session token (cookie `hfdl_ui_token_<PORT>` or header `X-Hfdl-Token`)",
            });
        }
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            if by_header != Some(true) {
                return Err(UiError::Forbidden {
                    reason: format!(
                        "a {} request needs the token in the X-Hfdl-Token header; the cookie alone is not enough",
                        request.method()
                    ),
                });
            }
            let origin = headers
                .get(header::ORIGIN)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !self.origins.iter().any(|allowed| allowed == origin) {
                return Err(UiError::Forbidden {
                    reason: if origin.is_empty() {
                        format!("a {} request needs an Origin header", request.method())
                    } else {
                        format!("the Origin `{origin}` is not this server's")
                    },
                });
            }
        }
        Ok(None)
    }
}

/// The `token` parameter of a query string.
fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == QUERY).then(|| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// The value of the cookie `name`, if the request has one.
fn cookie_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (cookie, value) = pair.trim().split_once('=')?;
            (cookie == name).then(|| value.to_owned())
        })
}

/// The middleware: admits the request (or answers for it) and puts the security headers on
/// every answer.
pub(crate) async fn guard(
    State(state): State<Arc<UiState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = match state.guard.admit(&request) {
        Ok(None) => next.run(request).await,
        Ok(Some(response)) => response,
        Err(error) => super::api::ui_error(&error).into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Never any CORS: nothing else may read these answers.
    let cors: Vec<_> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in cors {
        headers.remove(name);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{Secret, cookie_name, cookie_token, query_token};

    #[test]
    fn secrets_are_64_hex_digits_and_differ_every_time() {
        let (a, b) = (Secret::generate().unwrap(), Secret::generate().unwrap());
        assert_eq!(a.as_str().len(), 64);
        assert!(a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()) && !a.matches(b.as_str()) && !a.matches(""));
        assert_eq!(format!("{a:?}"), "Secret(…)");
    }

    #[test]
    fn the_token_is_read_from_the_query_and_the_cookie() {
        assert_eq!(query_token(Some("a=1&token=abc")), Some("abc".into()));
        assert_eq!(query_token(Some("tokens=abc")), None);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "cookie",
            "x=1; hfdl_ui_token_9=other; hfdl_ui_token_8=abc; y=2"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie_token(&headers, &cookie_name(8)), Some("abc".into()));
        assert_eq!(cookie_token(&headers, &cookie_name(7)), None);
    }
}
