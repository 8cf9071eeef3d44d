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
/// Set by the shell completion script (`hfdl completions SHELL`) to the shell's name: `hfdl`
/// then prints completion candidates for the words after `--` instead of running a command.
pub const HFDL_COMPLETE: &str = "HFDL_COMPLETE";
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
/// Set to `true` by GitHub Actions: errors and warnings also print as workflow commands
/// (annotations) and progress lines are grouped (see `render::ci`).
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// Set by GitHub Actions to the job summary file of the step; `sync`, `outdated` and a failed
/// command append Markdown to it.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// Set to `true` by GitLab CI: progress lines are grouped in collapsible sections.
pub const GITLAB_CI: &str = "GITLAB_CI";
/// Disables colour (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// The X11 display; `hfdl ui` opens a browser (`xdg-open`) only when it or
/// [`WAYLAND_DISPLAY`] is set.
pub const DISPLAY: &str = "DISPLAY";
/// The Wayland display (see [`DISPLAY`]).
pub const WAYLAND_DISPLAY: &str = "WAYLAND_DISPLAY";

/// The user configuration file (default `$XDG_CONFIG_HOME/hfdl/config.toml`, else
/// `~/.config/hfdl/config.toml`).
pub const HFDL_CONFIG: &str = "HFDL_CONFIG";
/// Consulted for the default location of `config.toml`.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";

// One `HFDL_*` variable per settings key (design.md, `config.toml`). They sit above
// `[settings]` in models.toml and config.toml, below flags; see [`crate::settings`].

/// The `store` setting: the Hugging Face cache to sync into.
pub const HFDL_STORE: &str = "HFDL_STORE";
/// The `endpoint` setting: the Hub URL.
pub const HFDL_ENDPOINT: &str = "HFDL_ENDPOINT";
/// The `jobs` setting: files downloaded in parallel.
pub const HFDL_JOBS: &str = "HFDL_JOBS";
/// The `connections` setting: connections per large file.
pub const HFDL_CONNECTIONS: &str = "HFDL_CONNECTIONS";
/// The `limit-rate` setting: bytes per second for all downloads together (`50M`).
pub const HFDL_LIMIT_RATE: &str = "HFDL_LIMIT_RATE";
/// The `timeout` setting: connect and stall timeout (`30s`).
pub const HFDL_TIMEOUT: &str = "HFDL_TIMEOUT";
/// The `retries` setting.
pub const HFDL_RETRIES: &str = "HFDL_RETRIES";
/// The `progress` setting: `auto`, `bars`, `lines` or `off` (`true`/`1`/`yes`/`on` = auto,
/// `false`/`0`/`no` = off).
pub const HFDL_PROGRESS: &str = "HFDL_PROGRESS";
/// How often a progress line is printed where stderr is not a terminal: a duration such as
/// `10s` (the default), `1m` or `500ms`.
pub const HFDL_PROGRESS_INTERVAL: &str = "HFDL_PROGRESS_INTERVAL";
/// The `log-level` setting.
pub const HFDL_LOG_LEVEL: &str = "HFDL_LOG_LEVEL";
/// The `log-format` setting.
pub const HFDL_LOG_FORMAT: &str = "HFDL_LOG_FORMAT";
/// The `exclude-newer` setting: the cooldown of entries without their own.
pub const HFDL_EXCLUDE_NEWER: &str = "HFDL_EXCLUDE_NEWER";
/// The `blob-store` setting: the shared blob store, `s3://BUCKET/PREFIX`.
pub const HFDL_BLOB_STORE: &str = "HFDL_BLOB_STORE";
/// The `publish` setting: upload what a sync fetched from the Hub to the blob store.
pub const HFDL_PUBLISH: &str = "HFDL_PUBLISH";

/// The `xet` setting: `auto`, `on` or `off`, whether Xet-backed files download over Xet.
pub const HFDL_XET: &str = "HFDL_XET";
/// Set to a true value, Xet is off (`xet = "off"`), as in `huggingface_hub`.
pub const HF_HUB_DISABLE_XET: &str = "HF_HUB_DISABLE_XET";

/// Each settings key and its `HFDL_*` variable, in the order `hfdl config list` shows them.
pub const SETTINGS_VARS: &[(&str, &str)] = &[
    ("store", HFDL_STORE),
    ("endpoint", HFDL_ENDPOINT),
    ("jobs", HFDL_JOBS),
    ("connections", HFDL_CONNECTIONS),
    ("limit-rate", HFDL_LIMIT_RATE),
    ("timeout", HFDL_TIMEOUT),
    ("retries", HFDL_RETRIES),
    ("progress", HFDL_PROGRESS),
    ("log-level", HFDL_LOG_LEVEL),
    ("log-format", HFDL_LOG_FORMAT),
    ("exclude-newer", HFDL_EXCLUDE_NEWER),
    ("blob-store", HFDL_BLOB_STORE),
    ("publish", HFDL_PUBLISH),
    ("xet", HFDL_XET),
];

/// Seconds (integer) before a metadata request times out, as in `huggingface_hub`; `0` means
/// the default. hfdl has one timeout for connecting and for each read, so it takes the larger
/// of this and [`HF_HUB_DOWNLOAD_TIMEOUT`]: neither kind of request gives up sooner than asked.
pub const HF_HUB_ETAG_TIMEOUT: &str = "HF_HUB_ETAG_TIMEOUT";
/// Seconds (integer) a download may go without receiving a byte; `0` means the default.
pub const HF_HUB_DOWNLOAD_TIMEOUT: &str = "HF_HUB_DOWNLOAD_TIMEOUT";

/// Proxy for `http://` URLs (the lower-case spelling wins, as in curl and Python).
pub const HTTP_PROXY: &str = "HTTP_PROXY";
/// Proxy for `https://` URLs (the Hub and its CDN), tunnelled with `CONNECT`.
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// Proxy for both schemes when the scheme's own variable is unset.
pub const ALL_PROXY: &str = "ALL_PROXY";
/// Comma-separated hosts, domains (`.corp`), IPs or CIDR ranges reached without a proxy; `*`
/// for all.
pub const NO_PROXY: &str = "NO_PROXY";
/// A PEM bundle of CA certificates trusted in addition to the built-in roots (corporate TLS
/// interception).
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// The `requests` spelling of [`SSL_CERT_FILE`], used when that is unset.
pub const REQUESTS_CA_BUNDLE: &str = "REQUESTS_CA_BUNDLE";

/// A snapshot of the process environment (hfdl reads only the variables listed above).
/// `Debug` shows the names only: values include tokens and proxy passwords.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .finish()
    }
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

    /// The user configuration file: `HFDL_CONFIG`, else `$XDG_CONFIG_HOME/hfdl/config.toml`,
    /// else `~/.config/hfdl/config.toml` (the XDG layout on every platform, as uv does).
    pub fn hfdl_config_file(&self) -> PathBuf {
        if let Some(path) = self.path(HFDL_CONFIG) {
            return path;
        }
        let dir = self.path(XDG_CONFIG_HOME).unwrap_or_else(|| {
            self.home
                .clone()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".config")
        });
        dir.join("hfdl").join("config.toml")
    }

    /// A proxy variable: the lower-case spelling first (curl and Python prefer it), then the
    /// upper-case one, with the variable that was used.
    pub fn proxy_var(&self, upper: &'static str) -> Option<(String, &str)> {
        let lower = upper.to_ascii_lowercase();
        if let Some(value) = self.get(&lower) {
            return Some((lower, value));
        }
        self.get(upper).map(|value| (upper.to_owned(), value))
    }

    /// The CA bundle to trust in addition to the built-in roots, and the variable naming it.
    pub fn ca_bundle(&self) -> Option<(&'static str, PathBuf)> {
        [SSL_CERT_FILE, REQUESTS_CA_BUNDLE]
            .into_iter()
            .find_map(|name| self.path(name).map(|path| (name, path)))
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
