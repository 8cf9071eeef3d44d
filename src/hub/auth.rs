//! The access token: where it comes from and a type that never shows it.
//!
//! Precedence (hub-protocol §4.2): `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the token file
//! (`HF_TOKEN_PATH`, default `$HF_HOME/token`) that `hf auth login` writes.

use std::fmt;
use std::path::PathBuf;

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
    EnvHfToken,
    EnvLegacy,
    File(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::EnvHfToken => f.write_str("the HF_TOKEN environment variable"),
            TokenSource::EnvLegacy => {
                f.write_str("the HUGGING_FACE_HUB_TOKEN environment variable")
            }
            TokenSource::File(path) => write!(f, "the token file {}", path.display()),
        }
    }
}

/// The token file path: `HF_TOKEN_PATH`, else `$HF_HOME/token`.
pub fn token_file_path(env: &Env) -> PathBuf {
    env.path(env::HF_TOKEN_PATH)
        .unwrap_or_else(|| env.hf_home().join("token"))
}

/// Finds the token to send, honouring `HF_HUB_DISABLE_IMPLICIT_TOKEN`.
pub fn discover_token(env: &Env) -> Option<(Token, TokenSource)> {
    if env.flag(env::HF_HUB_DISABLE_IMPLICIT_TOKEN) {
        return None;
    }
    if let Some(token) = env.get(env::HF_TOKEN).and_then(Token::new) {
        return Some((token, TokenSource::EnvHfToken));
    }
    if let Some(token) = env.get(env::HUGGING_FACE_HUB_TOKEN).and_then(Token::new) {
        return Some((token, TokenSource::EnvLegacy));
    }
    let path = token_file_path(env);
    let text = fs_err::read_to_string(&path).ok()?;
    Token::new(&text).map(|token| (token, TokenSource::File(path)))
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
        let env = Env::from_pairs([(env::HF_HOME, home)], None);
        assert_eq!(discover_token(&env).unwrap().0.expose(), "hf_file");
        let env = Env::from_pairs(
            [
                (env::HF_HOME, home),
                (env::HUGGING_FACE_HUB_TOKEN, "hf_legacy"),
            ],
            None,
        );
        assert_eq!(discover_token(&env).unwrap().0.expose(), "hf_legacy");
        let env = Env::from_pairs(
            [
                (env::HF_HOME, home),
                (env::HUGGING_FACE_HUB_TOKEN, "hf_legacy"),
                (env::HF_TOKEN, "hf_env"),
            ],
            None,
        );
        assert_eq!(
            discover_token(&env).unwrap(),
            (Token::new("hf_env").unwrap(), TokenSource::EnvHfToken)
        );
        let env = Env::from_pairs(
            [
                (env::HF_TOKEN, "hf_env"),
                (env::HF_HUB_DISABLE_IMPLICIT_TOKEN, "1"),
            ],
            None,
        );
        assert!(discover_token(&env).is_none());
    }
}
