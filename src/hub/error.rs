//! Typed Hub errors, classified from status codes and `X-Error-Code` (hub-protocol §2.3), each
//! with the next step for the user.

use std::time::Duration;

use crate::repo::{RepoId, RepoType};

/// What went wrong talking to the Hub.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HubError {
    /// The repository does not exist, or is private and the request could not read it.
    #[error("{repo_type} repository `{repo}` was not found on {endpoint}")]
    #[diagnostic(help("{}", if *authenticated {
        "check the spelling and `repo-type`; if the repository is private, your token lacks read access to it (see `hfdl whoami`)"
    } else {
        "check the spelling and `repo-type`; if the repository is private, log in with `hfdl login` or set HF_TOKEN"
    }))]
    RepoNotFound {
        /// The repository asked for.
        repo: RepoId,
        /// Its type (model, dataset or space).
        repo_type: RepoType,
        /// The Hub endpoint asked, without a trailing `/`.
        endpoint: String,
        /// Whether a token was sent with the request.
        authenticated: bool,
    },

    /// The repository is gated: its conditions must be accepted on the Hub before downloading.
    #[error("{repo_type} repository `{repo}` is gated: {message}")]
    #[diagnostic(help("{help}"))]
    GatedRepo {
        /// The repository asked for.
        repo: RepoId,
        /// Its type (model, dataset or space).
        repo_type: RepoType,
        /// Whether a token was sent with the request.
        authenticated: bool,
        /// The Hub's explanation.
        message: String,
        /// The next step, with the repository's URL.
        help: String,
    },

    /// The branch, tag or commit does not exist in the repository.
    #[error("revision `{revision}` was not found in `{repo}`")]
    #[diagnostic(help("{help}"))]
    RevisionNotFound {
        /// The repository asked for.
        repo: RepoId,
        /// The revision as asked for.
        revision: String,
        /// The next step for the user.
        help: String,
    },

    /// A file the lock names is not in the repository at the locked commit.
    #[error("`{path}` does not exist in `{repo}` at commit {commit}")]
    #[diagnostic(help(
        "the lock refers to a file the Hub no longer has at that commit; run `hfdl lock --upgrade`"
    ))]
    EntryNotFound {
        /// The repository asked for.
        repo: RepoId,
        /// The file's path in the repository.
        path: String,
        /// The commit asked for (the Hub's `X-Repo-Commit` when it sends one); empty if unknown.
        commit: String,
    },

    /// A call that needs a token was made without one.
    #[error("no access token for {endpoint}")]
    #[diagnostic(help(
        "log in with `hfdl login` (the token is kept in the OS keyring), or set HF_TOKEN"
    ))]
    NotLoggedIn {
        /// The Hub endpoint the token would be for.
        endpoint: String,
    },

    /// The Hub refused the token (401): invalid or expired.
    #[error("the Hub refused the access token: {message}")]
    #[diagnostic(help(
        "the token is invalid or expired; create a new one at https://huggingface.co/settings/tokens, or unset HF_TOKEN to download public repos anonymously"
    ))]
    InvalidToken {
        /// The Hub's explanation.
        message: String,
    },

    /// The Hub answered 403 Forbidden: the token lacks access.
    #[error("the Hub answered 403 Forbidden for {url}: {message}")]
    #[diagnostic(help("your token lacks read access to this repository"))]
    Forbidden {
        /// The URL requested (query and credentials redacted).
        url: String,
        /// The Hub's explanation.
        message: String,
    },

    /// The Hub answered 429 Too Many Requests.
    #[error("rate limited by the Hub on {url} (retry after {}s)", retry_after.as_secs())]
    #[diagnostic(help("wait and run again, or log in: authenticated users have higher limits"))]
    RateLimited {
        /// The URL requested.
        url: String,
        /// How long the Hub asked to wait; zero when it did not say.
        retry_after: Duration,
    },

    /// The Hub answered with a server error (5xx) or 408 Request Timeout.
    #[error("the Hub answered {status} for {url}: {message}")]
    #[diagnostic(help("the Hub may be having trouble; try again later"))]
    Server {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The Hub's explanation, or the status text.
        message: String,
    },

    /// No answer: the connection, TLS or a timeout failed, or the response broke off.
    #[error("could not reach {url}: {message}")]
    #[diagnostic(help("check the network, HF_ENDPOINT and proxy settings (HTTPS_PROXY)"))]
    Network {
        /// The URL requested (query and credentials redacted).
        url: String,
        /// The error and its chain of causes.
        message: String,
    },

    /// An answer hfdl cannot use: invalid JSON, a bad redirect, an unexpected status.
    #[error("unexpected answer from {url}: {message}")]
    #[diagnostic(help("is HF_ENDPOINT a Hugging Face Hub? This looks like a protocol mismatch"))]
    Protocol {
        /// The URL requested.
        url: String,
        /// What was wrong with the answer.
        message: String,
    },

    /// Offline mode is on and the operation needs the network.
    #[error("offline mode is on, but {needed} needs the network")]
    #[diagnostic(help(
        "run without --offline / HF_HUB_OFFLINE, or run `hfdl sync --frozen` with a complete store"
    ))]
    Offline {
        /// What needed the network, e.g. "resolving `org/model@main`".
        needed: String,
    },

    /// The HTTP client cannot be set up as the environment asks (a CA bundle or proxy URL).
    #[error("{message}")]
    #[diagnostic(help("{help}"))]
    ClientSetup {
        /// What is wrong, naming the environment variable that set it.
        message: String,
        /// How to fix it.
        help: String,
    },
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
            HubError::ClientSetup { .. } => crate::codes::EXIT_USAGE,
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
