//! The access token: where it comes from, where `hfdl login` keeps it, and a type that never
//! shows it.
//!
//! Precedence: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, the OS keyring entry for the endpoint
//! ([`super::keyring`]), then the token file (`HF_TOKEN_PATH`, default `$HF_HOME/token`) that
//! `hf auth login` also writes, so both tools share a login (hub-protocol §4.2, §4.3).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::keyring::{Backend, Keyring};
use crate::env::{self, Env};

/// A Hub access token. `Debug` and `Display` print `hf_***` so it cannot leak into logs,
/// errors or JSON by accident; [`Token::expose`] is the only way to the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Cleans a raw value as `huggingface_hub` does: strips `\r`/`\n` and surrounding whitespace;
    /// empty means no token.
    pub fn new(raw: &str) -> Option<Token> {
        let cleaned: String = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let cleaned = cleaned.trim();
        (!cleaned.is_empty()).then(|| Token(cleaned.to_owned()))
    }

    /// The secret, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(hf_***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hf_***")
    }
}

/// Where the token in use came from (shown by `whoami`/`doctor`, never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The `HF_TOKEN` environment variable.
    EnvHfToken,
    /// The legacy `HUGGING_FACE_HUB_TOKEN` environment variable.
    EnvLegacy,
    /// The OS keyring entry for the endpoint, in this back end.
    Keyring(Backend),
    /// The token file at this path.
    File(PathBuf),
}

impl TokenSource {
    /// A stable name for `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::EnvHfToken => "env:HF_TOKEN",
            TokenSource::EnvLegacy => "env:HUGGING_FACE_HUB_TOKEN",
            TokenSource::Keyring(_) => "keyring",
            TokenSource::File(_) => "token-file",
        }
    }
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::EnvHfToken => f.write_str("the HF_TOKEN environment variable"),
            TokenSource::EnvLegacy => {
                f.write_str("the HUGGING_FACE_HUB_TOKEN environment variable")
            }
            TokenSource::Keyring(backend) => write!(f, "{backend}"),
            TokenSource::File(path) => write!(f, "the token file {}", path.display()),
        }
    }
}

/// The token file path: `HF_TOKEN_PATH`, else `$HF_HOME/token`.
pub fn token_file_path(env: &Env) -> PathBuf {
    env.path(env::HF_TOKEN_PATH)
        .unwrap_or_else(|| env.hf_home().join("token"))
}

/// Whether the token is wanted for an ordinary request or asked for by the user (`whoami`,
/// `login`); `HF_HUB_DISABLE_IMPLICIT_TOKEN` only stops the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Sent along with an ordinary request; `HF_HUB_DISABLE_IMPLICIT_TOKEN` turns it off.
    Implicit,
    /// Asked for by the user (`whoami`, `login`): always looked up.
    Explicit,
}

/// Finds the token for `endpoint`: environment, keyring, token file. Keyring failures are not
/// errors here (the next source is tried); they are logged at debug level.
pub fn discover_token(env: &Env, endpoint: &str, usage: TokenUse) -> Option<(Token, TokenSource)> {
    if usage == TokenUse::Implicit && env.flag(env::HF_HUB_DISABLE_IMPLICIT_TOKEN) {
        return None;
    }
    if let Some(token) = env.get(env::HF_TOKEN).and_then(Token::new) {
        return Some((token, TokenSource::EnvHfToken));
    }
    if let Some(token) = env.get(env::HUGGING_FACE_HUB_TOKEN).and_then(Token::new) {
        return Some((token, TokenSource::EnvLegacy));
    }
    keyring_token(env, endpoint)
        .or_else(|| read_token_file(env).map(|(token, path)| (token, TokenSource::File(path))))
}

/// Only the token the keyring holds for `endpoint` (its entries are per endpoint): for an
/// endpoint a project file chose, where `HF_TOKEN` and the token file (meant for the Hub) must
/// not go.
pub fn discover_endpoint_token(
    env: &Env,
    endpoint: &str,
    usage: TokenUse,
) -> Option<(Token, TokenSource)> {
    if usage == TokenUse::Implicit && env.flag(env::HF_HUB_DISABLE_IMPLICIT_TOKEN) {
        return None;
    }
    keyring_token(env, endpoint)
}

/// Whether `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN` or the token file holds a token: the sources
/// [`discover_endpoint_token`] leaves out. No keyring call.
pub fn shared_token_available(env: &Env) -> bool {
    [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN]
        .into_iter()
        .any(|var| env.get(var).and_then(Token::new).is_some())
        || read_token_file(env).is_some()
}

fn keyring_token(env: &Env, endpoint: &str) -> Option<(Token, TokenSource)> {
    match Keyring::available(env) {
        Ok(keyrings) => {
            for keyring in keyrings {
                match keyring.get(endpoint) {
                    Ok(Some(token)) => {
                        return Some((token, TokenSource::Keyring(keyring.backend())));
                    }
                    Ok(None) => {}
                    Err(error) => tracing::debug!(%error, "cannot read the keyring"),
                }
            }
        }
        Err(reason) => tracing::debug!(%reason, "no keyring"),
    }
    None
}

/// The token in the token file, if there is one.
pub fn read_token_file(env: &Env) -> Option<(Token, PathBuf)> {
    let path = token_file_path(env);
    let text = fs_err::read_to_string(&path).ok()?;
    Token::new(&text).map(|token| (token, path))
}

/// Writes the token file as `hf auth login` does: the raw token, no trailing newline, mode
/// `0600` in a `0700` directory, replaced atomically.
pub fn write_token_file(path: &Path, token: &Token) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    if !parent.exists() {
        fs_err::create_dir_all(parent)?;
        restrict(parent, 0o700)?;
    }
    // tempfile creates the file with mode 0600 on Unix: the secret is never world-readable.
    let mut file = tempfile::NamedTempFile::new_in(parent)?;
    file.write_all(token.expose().as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    restrict(path, 0o600)
}

/// Deletes the token file; `false` when there was none.
pub fn remove_token_file(path: &Path) -> std::io::Result<bool> {
    match fs_err::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_shows_itself_in_debug_or_display() {
        let token = Token::new(" hf_secretvalue123\n").unwrap();
        assert_eq!(token.expose(), "hf_secretvalue123");
        assert!(!format!("{token:?} {token}").contains("secret"));
    }

    #[test]
    fn environment_tokens_win_over_the_token_file() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("token"), "hf_file").unwrap();
        let home = dir.path().to_str().unwrap();
        let env = Env::from_pairs([(env::HF_HOME, home), (env::HFDL_KEYRING, "none")], None);
        assert_eq!(
            discover_token(&env, "http://hub.test", TokenUse::Implicit)
                .unwrap()
                .0
                .expose(),
            "hf_file"
        );
        let env = Env::from_pairs(
            [
                (env::HF_HOME, home),
                (env::HFDL_KEYRING, "none"),
                (env::HUGGING_FACE_HUB_TOKEN, "hf_legacy"),
            ],
            None,
        );
        assert_eq!(
            discover_token(&env, "http://hub.test", TokenUse::Implicit)
                .unwrap()
                .0
                .expose(),
            "hf_legacy"
        );
        let env = Env::from_pairs(
            [
                (env::HF_HOME, home),
                (env::HUGGING_FACE_HUB_TOKEN, "hf_legacy"),
                (env::HF_TOKEN, "hf_env"),
            ],
            None,
        );
        assert_eq!(
            discover_token(&env, "http://hub.test", TokenUse::Implicit).unwrap(),
            (Token::new("hf_env").unwrap(), TokenSource::EnvHfToken)
        );
        let env = Env::from_pairs(
            [
                (env::HF_TOKEN, "hf_env"),
                (env::HF_HUB_DISABLE_IMPLICIT_TOKEN, "1"),
            ],
            None,
        );
        assert!(discover_token(&env, "http://hub.test", TokenUse::Implicit).is_none());
        assert!(discover_token(&env, "http://hub.test", TokenUse::Explicit).is_some());
    }

    #[test]
    fn the_token_file_is_private_and_has_no_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hf").join("token");
        write_token_file(&path, &Token::new("hf_abc").unwrap()).unwrap();
        assert_eq!(fs_err::read(&path).unwrap(), b"hf_abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        assert!(remove_token_file(&path).unwrap());
        assert!(!remove_token_file(&path).unwrap());
    }
}
