//! The OS keyring, where `hfdl login` keeps a token: one entry per Hub endpoint (service `hfdl`,
//! user = the endpoint URL), so a mirror and huggingface.co can hold different tokens.
//!
//! Back ends, probed in order at each use: macOS Keychain and Windows Credential Manager on those
//! systems; on Linux the Secret Service (GNOME Keyring, KWallet) when a session bus is there,
//! else the kernel keyring (keyutils: the user's persistent keyring, kept while used). `HFDL_KEYRING`
//! forces one (`secret-service`, `kernel`) or turns the keyring off (`none`); then, and when no
//! back end answers, `hfdl login` falls back to the HF token file.

use std::fmt;

use super::auth::Token;
use crate::env::{self, Env};

/// The keyring service name of every hfdl entry.
pub const SERVICE: &str = "hfdl";

/// Which store holds the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The freedesktop Secret Service over D-Bus (GNOME Keyring, KWallet).
    SecretService,
    /// The Linux kernel key retention service (session keyring).
    Kernel,
    /// The platform store of macOS or Windows.
    Native,
}

impl Backend {
    /// A stable name for `--json` and `HFDL_KEYRING`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Kernel => "kernel",
            Backend::Native => "native",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::SecretService => "the Secret Service keyring",
            Backend::Kernel => "the kernel keyring",
            Backend::Native => "the system keychain",
        })
    }
}

/// Why the keyring cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// A keyring failure while reading or writing an entry.
#[derive(Debug, thiserror::Error)]
#[error("{backend} failed: {message}")]
pub struct KeyringError {
    /// The back end that failed.
    pub backend: Backend,
    /// The back end's error.
    pub message: String,
}

/// An available keyring back end.
#[derive(Debug, Clone, Copy)]
pub struct Keyring {
    backend: Backend,
}

impl Keyring {
    /// The first working back end (where `hfdl login` stores), honouring `HFDL_KEYRING`.
    pub fn detect(env: &Env) -> Result<Keyring, Unavailable> {
        Keyring::available(env).map(|all| all[0])
    }

    /// Every working back end, in order of preference: a token stored over SSH (kernel
    /// keyring) must still be found, and removed, from a desktop session (Secret Service).
    /// Probing reads one (usually absent) entry, so each costs a round trip to its store.
    pub fn available(env: &Env) -> Result<Vec<Keyring>, Unavailable> {
        let forced = env.get(env::HFDL_KEYRING).map(str::to_ascii_lowercase);
        let candidates: Vec<Backend> = match forced.as_deref() {
            Some("none" | "off" | "0" | "false") => {
                return Err(Unavailable(format!(
                    "the keyring is turned off ({}={})",
                    env::HFDL_KEYRING,
                    env.get(env::HFDL_KEYRING).unwrap_or_default()
                )));
            }
            Some("secret-service") => vec![Backend::SecretService],
            Some("kernel" | "keyutils") => vec![Backend::Kernel],
            Some("native") => vec![Backend::Native],
            Some(other) => {
                return Err(Unavailable(format!(
                    "{}={other} is not a keyring back end (use secret-service, kernel or none)",
                    env::HFDL_KEYRING
                )));
            }
            None if cfg!(target_os = "linux") => {
                // Without a session bus, libdbus would try X11 autolaunch: skip straight on.
                if env.get(env::DBUS_SESSION_BUS_ADDRESS).is_some() {
                    vec![Backend::SecretService, Backend::Kernel]
                } else {
                    vec![Backend::Kernel]
                }
            }
            None => vec![Backend::Native],
        };
        let mut reasons = Vec::new();
        let mut found = Vec::new();
        for backend in candidates {
            let keyring = Keyring { backend };
            match keyring
                .entry("https://probe.invalid")
                .map(|e| e.get_password())
            {
                Ok(Ok(_) | Err(keyring::Error::NoEntry)) => found.push(keyring),
                Ok(Err(error)) | Err(error) => {
                    tracing::debug!(%backend, %error, "keyring back end unavailable");
                    reasons.push(format!("{backend}: {error}"));
                }
            }
        }
        if found.is_empty() {
            Err(Unavailable(reasons.join("; ")))
        } else {
            Ok(found)
        }
    }

    /// Which back end this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The token stored for `endpoint`, if any.
    pub fn get(&self, endpoint: &str) -> Result<Option<Token>, KeyringError> {
        match self.entry(endpoint).and_then(|entry| entry.get_password()) {
            Ok(secret) => Ok(Token::new(&secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(self.error(&error)),
        }
    }

    /// Stores `token` for `endpoint`, replacing what was there.
    pub fn set(&self, endpoint: &str, token: &Token) -> Result<(), KeyringError> {
        self.entry(endpoint)
            .and_then(|entry| entry.set_password(token.expose()))
            .map_err(|error| self.error(&error))
    }

    /// Deletes the entry for `endpoint`; `false` when there was none.
    pub fn delete(&self, endpoint: &str) -> Result<bool, KeyringError> {
        match self
            .entry(endpoint)
            .and_then(|entry| entry.delete_credential())
        {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(error) => Err(self.error(&error)),
        }
    }

    fn error(self, error: &keyring::Error) -> KeyringError {
        KeyringError {
            backend: self.backend,
            message: error.to_string(),
        }
    }

    fn entry(self, endpoint: &str) -> keyring::Result<keyring::Entry> {
        match self.backend {
            #[cfg(target_os = "linux")]
            Backend::SecretService => {
                let credential = keyring::secret_service::SsCredential::new_with_target(
                    None, SERVICE, endpoint,
                )?;
                Ok(keyring::Entry::new_with_credential(Box::new(credential)))
            }
            #[cfg(target_os = "linux")]
            Backend::Kernel => {
                let credential = keyring::keyutils::KeyutilsCredential::new_with_target(
                    None, SERVICE, endpoint,
                )?;
                Ok(keyring::Entry::new_with_credential(Box::new(credential)))
            }
            #[cfg(not(target_os = "linux"))]
            Backend::SecretService | Backend::Kernel => Err(keyring::Error::NoStorageAccess(
                "this back end exists only on Linux".into(),
            )),
            Backend::Native => keyring::Entry::new(SERVICE, endpoint),
        }
    }
}

/// The keyutils description of an endpoint's entry (what `keyctl search @s user …` finds).
pub fn kernel_description(endpoint: &str) -> String {
    format!("keyring-rs:{endpoint}@{SERVICE}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_can_be_turned_off_or_named_wrongly() {
        let off = Env::from_pairs([(env::HFDL_KEYRING, "none")], None);
        assert!(Keyring::detect(&off).unwrap_err().0.contains("turned off"));
        let wrong = Env::from_pairs([(env::HFDL_KEYRING, "vault")], None);
        assert!(
            Keyring::detect(&wrong)
                .unwrap_err()
                .0
                .contains("not a keyring back end")
        );
    }
}
