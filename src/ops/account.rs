//! The account operations: `login` (check a token with `whoami-v2`, then keep it in the OS
//! keyring or the HF token file), `logout` (remove what is stored for the endpoint) and
//! `whoami` (who the token in use belongs to, and where it comes from). Never the token itself.

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::Project;
use crate::env;
use crate::error::{Error, Result};
use crate::hub::HubError;
use crate::hub::auth::{self, Token, TokenUse};
use crate::hub::keyring::{Backend, Keyring, KeyringError};
use crate::report::{Event, Reporter};

/// How to log in.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The token (read by the caller: a hidden prompt, standard input, …).
    pub token: Token,
    /// Keep it in the HF token file, not the OS keyring (`--no-keyring`).
    pub no_keyring: bool,
}

/// Who logged in, and where the token is kept.
#[derive(Debug, Clone, Serialize)]
pub struct LoginReport {
    /// The endpoint the token is for.
    pub endpoint: String,
    /// The token's owner.
    pub user: String,
    /// The owner's organisations.
    pub orgs: Vec<String>,
    /// The token's name, if the Hub sent it.
    pub token_name: Option<String>,
    /// The token's role, if the Hub sent it.
    pub role: Option<String>,
    /// `keyring` or `token-file`.
    pub stored_in: &'static str,
    /// The keyring back end, when kept in a keyring.
    #[serde(serialize_with = "backend_name")]
    pub keyring: Option<Backend>,
    /// The token file, when kept in it.
    pub path: Option<PathBuf>,
}

/// What `logout` removed, and what still supplies a token.
#[derive(Debug, Serialize)]
pub struct LogoutReport {
    /// The endpoint logged out of.
    pub endpoint: String,
    /// The stored tokens removed.
    pub removed: Vec<RemovedToken>,
    /// Environment variables that still carry a token.
    pub still_set: Vec<&'static str>,
    /// A keyring that failed to remove its entry (the rest was removed nonetheless).
    #[serde(skip)]
    pub keyring_error: Option<KeyringError>,
}

/// A stored token that `logout` removed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "store")]
pub enum RemovedToken {
    /// The endpoint's entry in a keyring.
    #[serde(rename = "keyring")]
    Keyring {
        /// The back end.
        #[serde(serialize_with = "backend_str")]
        keyring: Backend,
    },
    /// The HF token file.
    #[serde(rename = "token-file")]
    TokenFile {
        /// Where it was.
        path: PathBuf,
    },
}

/// Who the token in use belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct WhoamiReport {
    /// The endpoint asked.
    pub endpoint: String,
    /// The token's owner.
    pub user: String,
    /// The owner's display name, if set.
    pub fullname: Option<String>,
    /// The owner's organisations.
    pub orgs: Vec<String>,
    /// The token's name, if the Hub sent it.
    pub token_name: Option<String>,
    /// The token's role, if the Hub sent it.
    pub role: Option<String>,
    /// Where the token came from, as a stable name (`env:HF_TOKEN`, `keyring`, `token-file`).
    pub source: &'static str,
    /// Where the token came from, in words.
    pub source_detail: String,
}

impl LogoutReport {
    /// The verdict: the keyring error, if a keyring failed. The CLI prints the report first:
    /// what could be removed was removed.
    pub fn verdict(&self) -> Result<()> {
        match &self.keyring_error {
            None => Ok(()),
            Some(error) => Err(KeyringError {
                backend: error.backend,
                message: error.message.clone(),
            }
            .into()),
        }
    }
}

impl Project {
    /// Checks the token with `whoami-v2`, then keeps it in the OS keyring, or in the HF token
    /// file with `no_keyring` or when no keyring answers. Nothing is stored when the Hub
    /// refuses the token. What the user should know on the way (no keyring, a variable that
    /// wins over the stored token) is reported as [`Event::Warning`]s, as it happens.
    pub async fn login(
        &self,
        options: &LoginOptions,
        reporter: &dyn Reporter,
    ) -> Result<LoginReport> {
        let settings = self.settings();
        let endpoint = &settings.endpoint;
        let token = &options.token;
        if token.expose().starts_with("api_org") {
            return Err(Error::Usage {
                message: "organisation API tokens cannot be used to log in".into(),
                help: "create a user access token at https://huggingface.co/settings/tokens".into(),
            });
        }

        let me = settings
            .hub_client_with_token(Some(token.clone()))
            .whoami()
            .await?;

        let warn = |message: String| reporter.report(Event::Warning { message });
        let keyring = if options.no_keyring {
            None
        } else {
            match Keyring::detect(&settings.env) {
                Ok(keyring) => match keyring.set(endpoint, token) {
                    Ok(()) => Some(keyring.backend()),
                    Err(error) => {
                        warn(format!("{error}; using the token file instead"));
                        None
                    }
                },
                Err(reason) => {
                    warn(format!(
                        "no OS keyring ({reason}); using the token file instead"
                    ));
                    None
                }
            }
        };
        let path = if keyring.is_some() {
            None
        } else {
            let path = auth::token_file_path(&settings.env);
            auth::write_token_file(&path, token).map_err(Error::io(&path))?;
            Some(path)
        };

        if keyring == Some(Backend::Kernel) {
            warn(
                "the kernel keyring keeps the token while it is used and forgets it at reboot; `hfdl login --no-keyring` keeps it in the token file instead"
                    .to_owned(),
            );
        }
        let overridden = [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN]
            .into_iter()
            .find(|name| settings.env.get(name).is_some());
        if let Some(name) = overridden {
            warn(format!(
                "{name} is set in the environment and is used before the stored token"
            ));
        }

        Ok(LoginReport {
            endpoint: endpoint.clone(),
            user: me.name.clone(),
            orgs: me.org_names().into_iter().map(str::to_owned).collect(),
            token_name: me.token_name().map(str::to_owned),
            role: me.token_role().map(str::to_owned),
            stored_in: if keyring.is_some() {
                "keyring"
            } else {
                "token-file"
            },
            keyring,
            path,
        })
    }

    /// Removes the endpoint's keyring entries and the HF token file (which `hf auth logout`
    /// also removes: the two tools share that login), and says what still supplies a token.
    /// A keyring that fails does not stop the others: see [`LogoutReport::verdict`].
    pub fn logout(&self) -> Result<LogoutReport> {
        let settings = self.settings();
        let endpoint = &settings.endpoint;
        let mut removed = Vec::new();

        // Every back end: a token stored from another kind of session must go too.
        let mut keyring_error = None;
        match Keyring::available(&settings.env) {
            Ok(keyrings) => {
                for keyring in keyrings {
                    match keyring.delete(endpoint) {
                        Ok(true) => removed.push(RemovedToken::Keyring {
                            keyring: keyring.backend(),
                        }),
                        Ok(false) => {}
                        Err(error) => keyring_error = Some(error),
                    }
                }
            }
            Err(reason) => tracing::debug!(%reason, "no keyring to log out of"),
        }
        let path = auth::token_file_path(&settings.env);
        if auth::remove_token_file(&path).map_err(Error::io(&path))? {
            removed.push(RemovedToken::TokenFile { path });
        }
        let still_set = [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN]
            .into_iter()
            .filter(|name| settings.env.get(name).is_some())
            .collect();
        Ok(LogoutReport {
            endpoint: endpoint.clone(),
            removed,
            still_set,
            keyring_error,
        })
    }

    /// The token's owner, organisations, name and role (from `whoami-v2`), and which source the
    /// token came from ([`HubError::NotLoggedIn`] when there is none).
    pub async fn whoami(&self) -> Result<WhoamiReport> {
        let settings = self.settings();
        let Some((token, source)) = settings.token(TokenUse::Explicit) else {
            return Err(HubError::NotLoggedIn {
                endpoint: settings.endpoint.clone(),
            }
            .into());
        };
        // The token found above, not a second lookup (which may mean a keyring round trip).
        let me = settings.hub_client_with_token(Some(token)).whoami().await?;
        Ok(WhoamiReport {
            endpoint: settings.endpoint.clone(),
            user: me.name.clone(),
            fullname: me.fullname.clone(),
            orgs: me.org_names().into_iter().map(str::to_owned).collect(),
            token_name: me.token_name().map(str::to_owned),
            role: me.token_role().map(str::to_owned),
            source: source.kind(),
            source_detail: source.to_string(),
        })
    }
}

/// A keyring back end by its stable name (`--json`).
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn backend_str<S: Serializer>(backend: &Backend, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(backend.as_str())
}

/// An optional keyring back end by its stable name, `null` when there is none.
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)] // serde's signature
fn backend_name<S: Serializer>(
    backend: &Option<Backend>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    backend.map(Backend::as_str).serialize(serializer)
}
