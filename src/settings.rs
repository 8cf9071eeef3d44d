//! Flags + environment + the manifest's `[settings]` → one typed [`Settings`].
//!
//! Precedence (design.md): flag > environment > `[settings]` in `models.toml` > defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::env::{self, Env};
use crate::error::{Error, Result};
use crate::hub::auth::{Token, TokenSource, TokenUse, discover_token};
use crate::hub::client::TokenLoader;
use crate::hub::{HubClient, HubOptions};
use crate::lock::LOCK_FILE;
use crate::manifest::{MANIFEST_FILE, ManifestSettings};

/// The default Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Everything a command needs to know about its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub manifest_path: PathBuf,
    pub lock_path: PathBuf,
    /// The Hugging Face hub cache.
    pub store: PathBuf,
    /// hfdl's own state (stat cache), outside the cache root.
    pub state_dir: PathBuf,
    pub endpoint: String,
    pub offline: bool,
    /// The environment, for the token lookup (deferred: it may read the OS keyring).
    pub env: Env,
    pub jobs: usize,
    /// Bytes per second for all downloads together.
    pub limit_rate: Option<u64>,
    /// Connections per large file.
    pub connections: usize,
    pub timeout: Duration,
    pub retries: u32,
    pub json: bool,
    pub quiet: bool,
    pub progress: bool,
    pub user_agent: String,
    /// Shared by every Hub client of the command, so its summary counts all its requests.
    pub hub_metrics: std::sync::Arc<crate::hub::metrics::HubMetrics>,
}

impl Settings {
    /// The manifest path the flags point at, before the manifest is read.
    pub fn manifest_path(global: &GlobalArgs) -> PathBuf {
        global
            .manifest
            .clone()
            .unwrap_or_else(|| PathBuf::from(MANIFEST_FILE))
    }

    /// Builds the settings; `manifest` is the `[settings]` table when a manifest was read.
    pub fn new(
        global: &GlobalArgs,
        env: &Env,
        manifest: Option<&ManifestSettings>,
        is_terminal: bool,
    ) -> Result<Settings> {
        let defaults = ManifestSettings::default();
        let manifest = manifest.unwrap_or(&defaults);
        let manifest_path = Self::manifest_path(global);
        let lock_path = manifest_path.with_file_name(LOCK_FILE);
        let project_dir = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();

        let store = if let Some(store) = &global.store {
            store.clone()
        } else if env.get(env::HF_HUB_CACHE).is_some()
            || env.get(env::HUGGINGFACE_HUB_CACHE).is_some()
            || env.get(env::HF_HOME).is_some()
        {
            env.hf_hub_cache()
        } else if let Some(store) = &manifest.store {
            let path = expand_home(store, env);
            if path.is_relative() {
                project_dir.join(path)
            } else {
                path
            }
        } else {
            env.hf_hub_cache()
        };
        let endpoint = env
            .get(env::HF_ENDPOINT)
            .map(str::to_owned)
            .or_else(|| manifest.endpoint.clone())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if url::Url::parse(&endpoint).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            return Err(Error::Usage {
                message: format!("the endpoint `{endpoint}` is not an http(s) URL"),
                help: "set HF_ENDPOINT (or `endpoint` in [settings]) to a URL like https://huggingface.co".into(),
            });
        }
        let timeout = match &manifest.timeout {
            Some(text) => parse_duration(text).ok_or_else(|| Error::Usage {
                message: format!("`timeout = \"{text}\"` in [settings] is not a duration"),
                help: "use a number of seconds or a value like `30s`, `2m`, `500ms`".into(),
            })?,
            None => Duration::from_secs(30),
        };
        let progress_off = global.no_progress
            || global.quiet
            || global.json
            || env.flag(env::HF_HUB_DISABLE_PROGRESS_BARS)
            || manifest.progress == Some(false);
        let mut user_agent = format!("hfdl/{}", env!("CARGO_PKG_VERSION"));
        if let Some(origin) = env.get(env::HF_HUB_USER_AGENT_ORIGIN) {
            user_agent.push_str("; origin/");
            user_agent.push_str(origin);
        }
        Ok(Settings {
            manifest_path,
            lock_path,
            store,
            state_dir: env.hfdl_cache_dir(),
            endpoint,
            offline: global.offline || env.offline(),
            env: env.clone(),
            jobs: manifest.jobs.map_or(8, |j| j as usize),
            connections: manifest.connections.map_or(1, |c| c as usize),
            // Validated when the manifest was read.
            limit_rate: manifest
                .limit_rate
                .as_deref()
                .and_then(crate::manifest::parse_rate),
            timeout,
            retries: manifest.retries.unwrap_or(4),
            json: global.json,
            quiet: global.quiet,
            progress: is_terminal && !progress_off,
            user_agent,
            hub_metrics: std::sync::Arc::default(),
        })
    }

    /// The token for this endpoint and where it came from (environment, keyring, token file).
    pub fn token(&self, usage: TokenUse) -> Option<(Token, TokenSource)> {
        discover_token(&self.env, &self.endpoint, usage)
    }

    /// A Hub client for these settings (no connection is made, and no token looked up, until a
    /// request).
    pub fn hub_client(&self) -> HubClient {
        let mut options = self.hub_options();
        let env = self.env.clone();
        let endpoint = self.endpoint.clone();
        options.token_loader = Some(TokenLoader::new(move || {
            discover_token(&env, &endpoint, TokenUse::Implicit).map(|(token, _)| token)
        }));
        HubClient::new(options)
    }

    /// A Hub client that sends `token` (found already, or being checked by `login`).
    pub fn hub_client_with_token(&self, token: Option<Token>) -> HubClient {
        let mut options = self.hub_options();
        options.token = token;
        HubClient::new(options)
    }

    /// Client options from these settings, without a token.
    pub fn hub_options(&self) -> HubOptions {
        let mut options = HubOptions::new(&self.endpoint);
        options.offline = self.offline;
        options.user_agent.clone_from(&self.user_agent);
        options.timeout = self.timeout;
        options.retries = self.retries;
        options.limit_rate = self.limit_rate;
        options.metrics = self.hub_metrics.clone();
        options
    }

    /// Range maps of partial multi-connection downloads.
    pub fn partials_dir(&self) -> PathBuf {
        self.state_dir.join("partials")
    }

    /// The stat cache file of verified blobs.
    pub fn verified_blobs_file(&self) -> PathBuf {
        self.state_dir.join("verified-blobs.json")
    }
}

fn expand_home(path: &str, env: &Env) -> PathBuf {
    match (path.strip_prefix("~/"), env.home()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Parses `30`, `30s`, `2m`, `1h`, `500ms`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "" | "s" => Some(Duration::from_secs(number)),
        "ms" => Some(Duration::from_millis(number)),
        "m" | "min" => Some(Duration::from_secs(number * 60)),
        "h" => Some(Duration::from_secs(number * 3600)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_common_units() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_mins(2)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn flags_beat_environment_beat_manifest_settings() {
        let env = Env::from_pairs(
            [
                (env::HF_HUB_CACHE, "/env-cache"),
                (env::HF_ENDPOINT, "http://env:1/"),
            ],
            None,
        );
        let manifest = ManifestSettings {
            store: Some("/manifest-cache".into()),
            endpoint: Some("http://m:2".into()),
            ..Default::default()
        };
        let settings = Settings::new(&GlobalArgs::default(), &env, Some(&manifest), false).unwrap();
        assert_eq!(settings.store, PathBuf::from("/env-cache"));
        assert_eq!(settings.endpoint, "http://env:1");
        let global = GlobalArgs {
            store: Some("/flag".into()),
            ..Default::default()
        };
        assert_eq!(
            Settings::new(&global, &env, Some(&manifest), false)
                .unwrap()
                .store,
            PathBuf::from("/flag")
        );
        let bare = Env::from_pairs([], None);
        let settings =
            Settings::new(&GlobalArgs::default(), &bare, Some(&manifest), false).unwrap();
        assert_eq!(settings.store, PathBuf::from("/manifest-cache"));
        assert_eq!(settings.endpoint, "http://m:2");
    }
}
