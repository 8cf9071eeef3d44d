//! Every environment variable hfdl reads, documented, in one place.
//!
//! The process environment is captured once, in `main.rs`, into an [`Env`] value that is passed
//! down; the library never reads the environment itself, so tests can give it any environment.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// Hub endpoint (default `https://huggingface.co`); a trailing `/` is stripped.
pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// Root of Hugging Face's files; the cache is `$HF_HOME/hub` and the token `$HF_HOME/token`.
pub const HF_HOME: &str = "HF_HOME";
/// The repo cache itself (wins over `HF_HOME`).
pub const HF_HUB_CACHE: &str = "HF_HUB_CACHE";
/// Legacy name of `HF_HUB_CACHE`, with lower priority.
pub const HUGGINGFACE_HUB_CACHE: &str = "HUGGINGFACE_HUB_CACHE";
/// Consulted for `HF_HOME`'s default (`$XDG_CACHE_HOME/huggingface`) and hfdl's own state dir.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// Access token; wins over every stored token.
pub const HF_TOKEN: &str = "HF_TOKEN";
/// Legacy name of `HF_TOKEN`.
pub const HUGGING_FACE_HUB_TOKEN: &str = "HUGGING_FACE_HUB_TOKEN";
/// Path of the token file written by `hf auth login` (default `$HF_HOME/token`).
pub const HF_TOKEN_PATH: &str = "HF_TOKEN_PATH";
/// When true, the token is not sent implicitly.
pub const HF_HUB_DISABLE_IMPLICIT_TOKEN: &str = "HF_HUB_DISABLE_IMPLICIT_TOKEN";
/// When true, no network request is made at all (same as `--offline`).
pub const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";
/// Legacy transformers name of `HF_HUB_OFFLINE`.
pub const TRANSFORMERS_OFFLINE: &str = "TRANSFORMERS_OFFLINE";
/// When true, progress bars are off.
pub const HF_HUB_DISABLE_PROGRESS_BARS: &str = "HF_HUB_DISABLE_PROGRESS_BARS";
/// Appended to the user agent as `origin/<value>`.
pub const HF_HUB_USER_AGENT_ORIGIN: &str = "HF_HUB_USER_AGENT_ORIGIN";
/// hfdl's own state directory (stat cache of verified blobs); default: the platform cache dir.
pub const HFDL_CACHE_DIR: &str = "HFDL_CACHE_DIR";
/// Which OS keyring `hfdl login` uses: `secret-service`, `kernel` (Linux keyutils), `native`
/// (macOS/Windows) or `none` (the HF token file only); default: the first one that answers.
pub const HFDL_KEYRING: &str = "HFDL_KEYRING";
/// The D-Bus session bus; without it the Secret Service is not tried.
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
/// `tracing` filter for hfdl's logs (env-filter syntax, e.g. `hfdl=debug`).
pub const HFDL_LOG: &str = "HFDL_LOG";
/// Set by CI systems; progress bars are off when it is true.
pub const CI: &str = "CI";
/// Disables colour (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";

/// A snapshot of the environment variables hfdl cares about.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
}

impl Env {
    /// Captures the process environment. Called once, by the binary.
    #[allow(clippy::disallowed_methods)] // This is the one place that reads the environment.
    pub fn from_process() -> Env {
        let vars = std::env::vars_os()
            .filter_map(|(k, v): (OsString, OsString)| {
                Some((k.into_string().ok()?, v.into_string().ok()?))
            })
            .collect();
        Env {
            vars,
            home: dirs::home_dir(),
        }
    }

    /// An environment made of `pairs` (for tests and embedding).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        home: Option<PathBuf>,
    ) -> Env {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Env { vars, home }
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A path variable, with a leading `~/` expanded.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        let value = self.get(name)?;
        match (value.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => Some(home.join(rest)),
            _ => Some(PathBuf::from(value)),
        }
    }

    /// A boolean as `huggingface_hub` reads it: true iff upper-cased it is 1, ON, YES or TRUE.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v.to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"))
    }

    /// The user's home directory.
    pub fn home(&self) -> Option<&PathBuf> {
        self.home.as_ref()
    }

    /// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    pub fn hf_home(&self) -> PathBuf {
        if let Some(path) = self.path(HF_HOME) {
            return path;
        }
        if let Some(xdg) = self.path(XDG_CACHE_HOME) {
            return xdg.join("huggingface");
        }
        self.home
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".cache")
            .join("huggingface")
    }

    /// The Hugging Face hub cache: `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, then `$HF_HOME/hub`.
    pub fn hf_hub_cache(&self) -> PathBuf {
        self.path(HF_HUB_CACHE)
            .or_else(|| self.path(HUGGINGFACE_HUB_CACHE))
            .unwrap_or_else(|| self.hf_home().join("hub"))
    }

    /// hfdl's own state directory, outside the HF cache root (design.md, Store).
    pub fn hfdl_cache_dir(&self) -> PathBuf {
        if let Some(path) = self.path(HFDL_CACHE_DIR) {
            return path;
        }
        if let Some(xdg) = self.path(XDG_CACHE_HOME) {
            return xdg.join("hfdl");
        }
        self.home
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".cache")
            .join("hfdl")
    }

    /// True when offline mode is requested through the environment.
    pub fn offline(&self) -> bool {
        self.flag(HF_HUB_OFFLINE) || self.flag(TRANSFORMERS_OFFLINE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_cache_precedence_follows_huggingface_hub() {
        let home = Some(PathBuf::from("/home/u"));
        let env = Env::from_pairs([], home.clone());
        assert_eq!(
            env.hf_hub_cache(),
            PathBuf::from("/home/u/.cache/huggingface/hub")
        );
        let env = Env::from_pairs([(XDG_CACHE_HOME, "/xdg")], home.clone());
        assert_eq!(env.hf_hub_cache(), PathBuf::from("/xdg/huggingface/hub"));
        let env = Env::from_pairs([(HF_HOME, "~/hf"), (XDG_CACHE_HOME, "/xdg")], home.clone());
        assert_eq!(env.hf_hub_cache(), PathBuf::from("/home/u/hf/hub"));
        let env = Env::from_pairs(
            [(HF_HOME, "/hf"), (HUGGINGFACE_HUB_CACHE, "/legacy")],
            home.clone(),
        );
        assert_eq!(env.hf_hub_cache(), PathBuf::from("/legacy"));
        let env = Env::from_pairs(
            [(HF_HUB_CACHE, "/new"), (HUGGINGFACE_HUB_CACHE, "/legacy")],
            home,
        );
        assert_eq!(env.hf_hub_cache(), PathBuf::from("/new"));
    }

    #[test]
    fn flags_use_the_huggingface_truth_set() {
        for (value, expected) in [
            ("1", true),
            ("on", true),
            ("Yes", true),
            ("TRUE", true),
            ("0", false),
            ("no", false),
            ("", false),
        ] {
            let env = Env::from_pairs([(HF_HUB_OFFLINE, value)], None);
            assert_eq!(env.offline(), expected, "{value:?}");
        }
    }
}
