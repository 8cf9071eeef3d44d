//! Typed Hub errors, classified from status codes and `X-Error-Code` (hub-protocol §2.3), each
//! with the next step for the user.

use std::time::Duration;

use crate::repo::{RepoId, RepoType};

/// What went wrong talking to the Hub.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HubError {
    #[error("{repo_type} repository `{repo}` was not found on {endpoint}")]
    #[diagnostic(help("{}", if *authenticated {
        "check the spelling and `repo-type`; if the repository is private, your token lacks read access to it (see `hfdl whoami`)"
    } else {
        "check the spelling and `repo-type`; if the repository is private, log in with `hfdl login` or set HF_TOKEN"
    }))]
    RepoNotFound {
        repo: RepoId,
        repo_type: RepoType,
        endpoint: String,
        authenticated: bool,
    },

    #[error("{repo_type} repository `{repo}` is gated: {message}")]
    #[diagnostic(help("{help}"))]
    GatedRepo {
        repo: RepoId,
        repo_type: RepoType,
        authenticated: bool,
        message: String,
        help: String,
    },

    #[error("revision `{revision}` was not found in `{repo}`")]
    #[diagnostic(help("{help}"))]
    RevisionNotFound {
        repo: RepoId,
        revision: String,
        help: String,
    },

    #[error("`{path}` does not exist in `{repo}` at commit {commit}")]
    #[diagnostic(help(
        "the lock refers to a file the Hub no longer has at that commit; run `hfdl lock --upgrade`"
    ))]
    EntryNotFound {
        repo: RepoId,
        path: String,
        commit: String,
    },

    #[error("no access token for {endpoint}")]
    #[diagnostic(help(
        "log in with `hfdl login` (the token is kept in the OS keyring), or set HF_TOKEN"
    ))]
    NotLoggedIn { endpoint: String },

    #[error("the Hub refused the access token: {message}")]
    #[diagnostic(help(
        "the token is invalid or expired; create a new one at https://huggingface.co/settings/tokens, or unset HF_TOKEN to download public repos anonymously"
    ))]
    InvalidToken { message: String },

    #[error("the Hub answered 403 Forbidden for {url}: {message}")]
    #[diagnostic(help("your token lacks read access to this repository"))]
    Forbidden { url: String, message: String },

    #[error("rate limited by the Hub on {url} (retry after {}s)", retry_after.as_secs())]
    #[diagnostic(help("wait and run again, or log in: authenticated users have higher limits"))]
    RateLimited { url: String, retry_after: Duration },

    #[error("the Hub answered {status} for {url}: {message}")]
    #[diagnostic(help("the Hub may be having trouble; try again later"))]
    Server {
        url: String,
        status: u16,
        message: String,
    },

    #[error("could not reach {url}: {message}")]
    #[diagnostic(help("check the network, HF_ENDPOINT and proxy settings (HTTPS_PROXY)"))]
    Network { url: String, message: String },

    #[error("unexpected answer from {url}: {message}")]
    #[diagnostic(help("is HF_ENDPOINT a Hugging Face Hub? this looks like a protocol mismatch"))]
    Protocol { url: String, message: String },

    #[error("offline mode is on, but {needed} needs the network")]
    #[diagnostic(help(
        "run without --offline / HF_HUB_OFFLINE, or run `hfdl sync --frozen` with a complete store"
    ))]
    Offline { needed: String },

    /// The HTTP client cannot be set up as the environment asks (a CA bundle or proxy URL).
    #[error("{message}")]
    #[diagnostic(help("{help}"))]
    ClientSetup { message: String, help: String },
}

impl HubError {
    /// The stable machine code used in `--json` output.
    pub fn error_code(&self) -> &'static str {
        match self {
            HubError::RepoNotFound { .. } => "repo-not-found",
            HubError::GatedRepo {
                authenticated: true,
                ..
            } => "gated-repo",
            HubError::GatedRepo {
                authenticated: false,
                ..
            } => "login-required",
            HubError::NotLoggedIn { .. } => "not-logged-in",
            HubError::RevisionNotFound { .. } => "revision-not-found",
            HubError::EntryNotFound { .. } => "entry-not-found",
            HubError::InvalidToken { .. } => "invalid-token",
            HubError::Forbidden { .. } => "forbidden",
            HubError::RateLimited { .. } => "rate-limited",
            HubError::Server { .. } => "server-error",
            HubError::Network { .. } => "network-error",
            HubError::Protocol { .. } => "protocol-error",
            HubError::Offline { .. } => "offline",
            HubError::ClientSetup { .. } => "client-setup",
        }
    }

    /// The process exit code (design.md): 4 auth, 3 network/Hub, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            HubError::RepoNotFound {
                authenticated: false,
                ..
            }
            | HubError::GatedRepo { .. }
            | HubError::NotLoggedIn { .. }
            | HubError::InvalidToken { .. }
            | HubError::Forbidden { .. } => 4,
            HubError::RateLimited { .. }
            | HubError::Server { .. }
            | HubError::Network { .. }
            | HubError::Protocol { .. } => 3,
            HubError::RepoNotFound {
                authenticated: true,
                ..
            }
            | HubError::RevisionNotFound { .. }
            | HubError::EntryNotFound { .. }
            | HubError::Offline { .. } => 1,
            HubError::ClientSetup { .. } => crate::error::EXIT_USAGE,
        }
    }

    /// Worth another attempt: connection trouble, 5xx and 429.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            HubError::RateLimited { .. } | HubError::Server { .. } | HubError::Network { .. }
        )
    }
}
