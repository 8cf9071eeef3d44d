//! Flags + environment + the manifest's `[settings]` + `config.toml` → one typed [`Settings`].
//!
//! This is the one place where precedence is decided (design.md, `config.toml`):
//!
//! 1. a flag (`--store`, `--no-progress`; `sync --jobs` and friends are applied by the command);
//! 2. the environment: `HFDL_*` first (one variable per key, see [`env::SETTINGS_VARS`]), then
//!    the Hugging Face variables users already set (`HF_ENDPOINT`; `HF_HUB_CACHE`,
//!    `HUGGINGFACE_HUB_CACHE`, `HF_HOME` for the store; `HF_HUB_ETAG_TIMEOUT`/
//!    `HF_HUB_DOWNLOAD_TIMEOUT` for the timeout; `HF_HUB_DISABLE_PROGRESS_BARS`). They are
//!    environment variables, so they beat both files, as they always have;
//! 3. `[settings]` in `models.toml` (the project);
//! 4. `config.toml` (the user);
//! 5. the defaults.
//!
//! Every value is validated by the same code whichever source it comes from, before anything
//! runs, so an invalid configuration never half-applies.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{self, ConfigError, ConfigFile};
use crate::env::{self, Env};
use crate::hub::auth::{Token, TokenSource, TokenUse, discover_token};
use crate::hub::client::{ProxyConfig, TokenLoader};
use crate::hub::{HubClient, HubOptions};
use crate::lock::LOCK_FILE;
use crate::manifest::cooldown::ExcludeNewer;
use crate::manifest::{ManifestSettings, ProgressMode, parse_duration};

/// The default Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// Files downloaded in parallel, by default.
pub const DEFAULT_JOBS: u32 = 8;
/// Connections per large file, by default.
pub const DEFAULT_CONNECTIONS: u32 = 1;
/// Connect and stall timeout, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default interval of progress lines where stderr is not a terminal.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
/// Retries of a failed request, by default.
pub const DEFAULT_RETRIES: u32 = 4;

/// Where an effective setting came from (`hfdl config list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--store`.
    Flag(&'static str),
    /// An environment variable, e.g. `HFDL_JOBS` or `HF_HUB_CACHE`.
    Env(&'static str),
    /// `[settings]` in models.toml.
    Manifest,
    /// The user's config.toml.
    Config,
    /// Nothing set it: the built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Manifest => f.write_str("models.toml [settings]"),
            Origin::Config => f.write_str("config.toml"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// One key's effective value and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The settings key as written in config.toml (`store`, `limit-rate`, …).
    pub key: &'static str,
    /// As it is used (the store as an absolute path), or `None` when unset.
    pub value: Option<String>,
    /// Where the value came from ([`Origin::Default`] when nothing set it).
    pub origin: Origin,
}

/// The log level and format, resolved like every other setting (see [`log_settings`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// `log-level` (`off`, `error`, …, `trace`); `None` when unset (the default is `warn`).
    pub log_level: Option<String>,
    /// `log-format` (`text` or `json`); `None` when unset (the default is `text`).
    pub log_format: Option<String>,
}

/// What the caller decides above every file and variable (the CLI's global flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsOverrides {
    /// The store (`--store`), above `HFDL_STORE`, `HF_HUB_CACHE` and both files.
    pub store: Option<PathBuf>,
    /// Never touch the network (`--offline`); `HF_HUB_OFFLINE` also turns it on.
    pub offline: bool,
    /// No progress bars (`--no-progress`), above the `progress` setting.
    pub no_progress: bool,
}

/// Everything an operation needs to know about its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where models.toml is (or would be).
    pub manifest_path: PathBuf,
    /// models.lock, next to the manifest.
    pub lock_path: PathBuf,
    /// The Hugging Face hub cache.
    pub store: PathBuf,
    /// hfdl's own state (stat cache), outside the cache root.
    pub state_dir: PathBuf,
    /// The Hub's base URL, without a trailing `/`.
    pub endpoint: String,
    /// The endpoint comes from a project file (`[settings]` in models.toml) and is not the
    /// Hub: a cloned repository must not be able to collect `HF_TOKEN` or the token file, so
    /// only a keyring token stored for that endpoint (`hfdl login`) is sent there.
    pub endpoint_from_project: bool,
    /// Never touch the network (`--offline` or `HF_HUB_OFFLINE`).
    pub offline: bool,
    /// The environment, for the token lookup (deferred: it may read the OS keyring).
    pub env: Env,
    /// Files downloaded in parallel.
    pub jobs: usize,
    /// Bytes per second for all downloads together.
    pub limit_rate: Option<u64>,
    /// Connections per large file.
    pub connections: usize,
    /// Connect and per-read timeout of each request.
    pub timeout: Duration,
    /// Retries of a failed request.
    pub retries: u32,
    /// The `progress` setting: how progress is shown.
    pub progress: ProgressMode,
    /// How often a progress line is printed where bars cannot be drawn
    /// (`HFDL_PROGRESS_INTERVAL`, default 10 s).
    pub progress_interval: Duration,
    /// The `User-Agent` sent: `hfdl/<version>`, plus `; origin/…` from
    /// `HF_HUB_USER_AGENT_ORIGIN`.
    pub user_agent: String,
    /// Shared by every Hub client of the command, so its summary counts all its requests.
    pub hub_metrics: std::sync::Arc<crate::hub::metrics::HubMetrics>,
    /// `log-level` (`off`, `error`, …, `trace`), when set.
    pub log_level: Option<String>,
    /// `log-format` (`text` or `json`), when set.
    pub log_format: Option<String>,
    /// The cooldown of manifest entries without their own `exclude-newer`.
    pub exclude_newer: Option<ExcludeNewer>,
    /// The shared blob store (`blob-store`), read before the Hub.
    pub blob_store: Option<crate::blobstore::BlobStoreUrl>,
    /// Upload what a sync fetched from the Hub to the blob store (`publish`; `sync --publish`).
    pub publish: bool,
    /// Whether Xet-backed files download over Xet (`xet`; `HF_HUB_DISABLE_XET=1` = off).
    pub xet: crate::manifest::XetMode,
    /// The user configuration file (it may not exist).
    pub config_path: PathBuf,
    /// config.toml's `[policy]`: this person's or machine's rules, checked besides the
    /// project's (see [`crate::policy`]).
    pub policy: Option<crate::manifest::policy::Policy>,
    /// Every settings key with its effective value and origin, in [`env::SETTINGS_VARS`] order.
    pub effective: Vec<Effective>,
}

/// One source of settings values.
struct Layer {
    origin: Origin,
    values: ManifestSettings,
}

impl Settings {
    /// Builds the settings; `manifest` is the `[settings]` table when a manifest was read. Reads
    /// the user's config.toml (an invalid one is an error, whatever the command).
    ///
    /// `manifest_path` is where models.toml is (or would be): the lock is next to it, and a
    /// relative `store` in its `[settings]` is relative to its directory.
    pub fn new(
        manifest_path: &Path,
        overrides: &SettingsOverrides,
        env: &Env,
        manifest: Option<&ManifestSettings>,
    ) -> Result<Settings, ConfigError> {
        let config = config::load(&env.hfdl_config_file())?;
        Settings::resolve(manifest_path, overrides, env, manifest, &config)
    }

    /// Builds the settings from values already read: the one place precedence is decided.
    pub fn resolve(
        manifest_path: &Path,
        overrides: &SettingsOverrides,
        env: &Env,
        manifest: Option<&ManifestSettings>,
        config: &ConfigFile,
    ) -> Result<Settings, ConfigError> {
        let manifest_path = manifest_path.to_path_buf();
        let lock_path = manifest_path.with_file_name(LOCK_FILE);
        let project_dir = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let layers = layers(overrides, env, manifest, config)?;
        let mut effective = Vec::new();
        let mut note = |key: &'static str, value: Option<String>, origin: Option<&Origin>| {
            effective.push(Effective {
                key,
                value,
                origin: origin.cloned().unwrap_or(Origin::Default),
            });
        };

        let store = if let Some((text, origin)) = pick(&layers, |s| s.store.clone()) {
            let path = match origin {
                Origin::Flag(_) => PathBuf::from(text),
                Origin::Env(_) => expand_home(&text, env),
                Origin::Manifest => project_dir.join(expand_home(&text, env)),
                Origin::Config | Origin::Default => {
                    config::store_path(&text, &config.path, env.home().map(PathBuf::as_path))
                }
            };
            note("store", Some(path.display().to_string()), Some(origin));
            path
        } else {
            let path = env.hf_hub_cache();
            note("store", Some(path.display().to_string()), None);
            path
        };
        let endpoint = pick(&layers, |s| s.endpoint.clone());
        let endpoint = endpoint
            .as_ref()
            .map_or(DEFAULT_ENDPOINT, |(text, _)| text.as_str())
            .trim_end_matches('/')
            .to_owned();
        let endpoint_origin = pick(&layers, |s| s.endpoint.clone()).map(|(_, o)| o);
        let endpoint_from_project =
            endpoint_origin == Some(&Origin::Manifest) && endpoint != DEFAULT_ENDPOINT;
        note("endpoint", Some(endpoint.clone()), endpoint_origin);
        let (jobs, origin) = number(&layers, |s| s.jobs, DEFAULT_JOBS);
        note("jobs", Some(jobs.to_string()), origin);
        let (connections, origin) = number(&layers, |s| s.connections, DEFAULT_CONNECTIONS);
        note("connections", Some(connections.to_string()), origin);
        let limit_rate = pick(&layers, |s| s.limit_rate.clone());
        note(
            "limit-rate",
            limit_rate.as_ref().map(|(text, _)| text.clone()),
            limit_rate.as_ref().map(|(_, o)| *o),
        );
        // Validated when read, whatever the source.
        let limit_rate = limit_rate.and_then(|(text, _)| crate::manifest::parse_rate(&text));
        let timeout = pick(&layers, |s| s.timeout.clone());
        note(
            "timeout",
            Some(
                timeout
                    .as_ref()
                    .map_or_else(|| "30s".to_owned(), |(text, _)| text.clone()),
            ),
            timeout.as_ref().map(|(_, o)| *o),
        );
        let timeout = timeout
            .and_then(|(text, _)| parse_duration(&text))
            .unwrap_or(DEFAULT_TIMEOUT);
        let (retries, origin) = number(&layers, |s| s.retries, DEFAULT_RETRIES);
        note("retries", Some(retries.to_string()), origin);
        let progress = pick(&layers, |s| s.progress);
        note(
            "progress",
            Some(
                progress
                    .map_or(ProgressMode::default(), |(p, _)| p)
                    .as_str()
                    .to_owned(),
            ),
            progress.map(|(_, o)| o),
        );
        let progress = progress.map_or(ProgressMode::default(), |(p, _)| p);
        let progress_interval = match env.get(env::HFDL_PROGRESS_INTERVAL) {
            None => DEFAULT_PROGRESS_INTERVAL,
            Some(text) => parse_duration(text)
                .filter(|interval| !interval.is_zero())
                .ok_or_else(|| ConfigError::Env {
                    var: env::HFDL_PROGRESS_INTERVAL.to_owned(),
                    value: text.to_owned(),
                    problem: "not a duration".to_owned(),
                    help: format!(
                        "set {} to a duration like 10s, 1m or 500ms, or unset it",
                        env::HFDL_PROGRESS_INTERVAL
                    ),
                })?,
        };
        let log_level = pick(&layers, |s| s.log_level.clone());
        note(
            "log-level",
            Some(
                log_level
                    .as_ref()
                    .map_or_else(|| "warn".to_owned(), |(l, _)| l.clone()),
            ),
            log_level.as_ref().map(|(_, o)| *o),
        );
        let log_format = pick(&layers, |s| s.log_format.clone());
        note(
            "log-format",
            Some(
                log_format
                    .as_ref()
                    .map_or_else(|| "text".to_owned(), |(f, _)| f.clone()),
            ),
            log_format.as_ref().map(|(_, o)| *o),
        );
        let exclude_newer = pick(&layers, |s| s.exclude_newer.clone());
        note(
            "exclude-newer",
            exclude_newer.as_ref().map(|(e, _)| e.to_string()),
            exclude_newer.as_ref().map(|(_, o)| *o),
        );

        let blob_store = pick(&layers, |s| s.blob_store.clone());
        note(
            "blob-store",
            blob_store.as_ref().map(|(url, _)| url.clone()),
            blob_store.as_ref().map(|(_, o)| *o),
        );
        // Validated when read, whatever the source.
        let blob_store =
            blob_store.and_then(|(text, _)| crate::blobstore::BlobStoreUrl::parse(&text).ok());
        let publish = pick(&layers, |s| s.publish);
        note(
            "publish",
            Some(publish.is_some_and(|(p, _)| p).to_string()),
            publish.map(|(_, o)| o),
        );
        let publish = publish.is_some_and(|(p, _)| p);
        let xet = pick(&layers, |s| s.xet);
        note(
            "xet",
            Some(
                xet.map_or_else(Default::default, |(x, _)| x)
                    .as_str()
                    .to_owned(),
            ),
            xet.map(|(_, o)| o),
        );
        let xet = xet.map_or_else(Default::default, |(x, _)| x);

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
            endpoint_from_project,
            offline: overrides.offline || env.offline(),
            env: env.clone(),
            jobs: jobs as usize,
            connections: connections as usize,
            limit_rate,
            timeout,
            retries,
            progress,
            progress_interval,
            user_agent,
            hub_metrics: std::sync::Arc::default(),
            log_level: log_level.map(|(l, _)| l),
            log_format: log_format.map(|(f, _)| f),
            exclude_newer: exclude_newer.map(|(e, _)| e),
            blob_store,
            publish,
            xet,
            config_path: config.path.clone(),
            policy: config.policy.clone(),
            effective,
        })
    }

    /// The token for this endpoint and where it came from (environment, keyring, token file).
    pub fn token(&self, usage: TokenUse) -> Option<(Token, TokenSource)> {
        find_token(&self.env, &self.endpoint, usage, self.endpoint_from_project)
    }

    /// A Hub client for these settings (no connection is made, and no token looked up, until a
    /// request).
    pub fn hub_client(&self) -> HubClient {
        let mut options = self.hub_options();
        let env = self.env.clone();
        let endpoint = self.endpoint.clone();
        let from_project = self.endpoint_from_project;
        options.token_loader = Some(TokenLoader::new(move || {
            find_token(&env, &endpoint, TokenUse::Implicit, from_project).map(|(token, _)| token)
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
        options.proxies = proxies(&self.env);
        options.ca_bundle = self
            .env
            .ca_bundle()
            .map(|(var, path)| (var.to_owned(), path));
        options
    }

    /// A client of the `blob-store`, when one is set (no request is sent yet). `None` offline:
    /// `--offline` touches neither the Hub nor the store.
    pub fn blob_store_client(
        &self,
    ) -> Result<Option<crate::blobstore::BlobStore>, crate::blobstore::BlobStoreError> {
        let Some(url) = self.blob_store.clone().filter(|_| !self.offline) else {
            return Ok(None);
        };
        let options = crate::blobstore::BlobStoreOptions {
            timeout: self.timeout,
            // A store that fails twice is skipped for the run: the Hub is the fallback.
            retries: self.retries.min(2),
        };
        crate::blobstore::BlobStore::open(url, &self.env, options).map(Some)
    }

    /// Range maps of partial multi-connection downloads.
    pub fn partials_dir(&self) -> PathBuf {
        self.state_dir.join("partials")
    }

    /// Chunk maps of the Xet blobs hfdl downloaded (which chunks lie where), for reuse by later
    /// revisions.
    pub fn chunk_maps_dir(&self) -> PathBuf {
        self.state_dir
            .join(crate::store::chunk_maps::CHUNK_MAPS_DIR)
    }

    /// The stat cache file of verified blobs.
    pub fn verified_blobs_file(&self) -> PathBuf {
        self.state_dir.join("verified-blobs.json")
    }
}

/// The sources of settings, highest precedence first, every value validated.
fn layers(
    overrides: &SettingsOverrides,
    env: &Env,
    manifest: Option<&ManifestSettings>,
    config: &ConfigFile,
) -> Result<Vec<Layer>, ConfigError> {
    let mut layers = Vec::new();
    if let Some(store) = &overrides.store {
        layers.push(Layer {
            origin: Origin::Flag("--store"),
            values: ManifestSettings {
                store: Some(store.display().to_string()),
                ..ManifestSettings::default()
            },
        });
    }
    if overrides.no_progress {
        layers.push(Layer {
            origin: Origin::Flag("--no-progress"),
            values: ManifestSettings {
                progress: Some(ProgressMode::Off),
                ..ManifestSettings::default()
            },
        });
    }
    for (key, var) in env::SETTINGS_VARS {
        if let Some(value) = env.get(var) {
            layers.push(Layer {
                origin: Origin::Env(var),
                values: config::from_env(var, key, value)?,
            });
        }
    }
    // The Hugging Face variables, with huggingface_hub's meaning.
    if let Some(value) = env.get(env::HF_ENDPOINT) {
        layers.push(Layer {
            origin: Origin::Env(env::HF_ENDPOINT),
            values: config::from_env(env::HF_ENDPOINT, "endpoint", value)?,
        });
    }
    if let Some(var) = [env::HF_HUB_CACHE, env::HUGGINGFACE_HUB_CACHE, env::HF_HOME]
        .into_iter()
        .find(|var| env.get(var).is_some())
    {
        layers.push(Layer {
            origin: Origin::Env(var),
            values: ManifestSettings {
                store: Some(env.hf_hub_cache().display().to_string()),
                ..ManifestSettings::default()
            },
        });
    }
    let mut hf_timeout: Option<(u64, &'static str)> = None;
    for var in [env::HF_HUB_ETAG_TIMEOUT, env::HF_HUB_DOWNLOAD_TIMEOUT] {
        let Some(value) = env.get(var) else { continue };
        let seconds: u64 = value.trim().parse().map_err(|_| ConfigError::Env {
            var: var.to_owned(),
            value: value.to_owned(),
            problem: "not a whole number of seconds".to_owned(),
            help: format!("set {var} to a number of seconds, e.g. 30, or unset it"),
        })?;
        // As in huggingface_hub, 0 means the default.
        if seconds > 0 && hf_timeout.is_none_or(|(max, _)| seconds > max) {
            hf_timeout = Some((seconds, var));
        }
    }
    if let Some((seconds, var)) = hf_timeout {
        layers.push(Layer {
            origin: Origin::Env(var),
            values: ManifestSettings {
                timeout: Some(seconds.to_string()),
                ..ManifestSettings::default()
            },
        });
    }
    // Set to a true value: progress off; set to anything else: on (huggingface_hub forces it).
    if env.get(env::HF_HUB_DISABLE_PROGRESS_BARS).is_some() {
        layers.push(Layer {
            origin: Origin::Env(env::HF_HUB_DISABLE_PROGRESS_BARS),
            values: ManifestSettings {
                progress: Some(if env.flag(env::HF_HUB_DISABLE_PROGRESS_BARS) {
                    ProgressMode::Off
                } else {
                    ProgressMode::Auto
                }),
                ..ManifestSettings::default()
            },
        });
    }
    // As in huggingface_hub: a true value turns Xet off (anything else leaves it alone).
    if env.flag(env::HF_HUB_DISABLE_XET) {
        layers.push(Layer {
            origin: Origin::Env(env::HF_HUB_DISABLE_XET),
            values: ManifestSettings {
                xet: Some(crate::manifest::XetMode::Off),
                ..ManifestSettings::default()
            },
        });
    }
    if let Some(manifest) = manifest {
        layers.push(Layer {
            origin: Origin::Manifest,
            values: manifest.clone(),
        });
    }
    layers.push(Layer {
        origin: Origin::Config,
        values: config.settings.clone(),
    });
    Ok(layers)
}

/// The first layer that sets a value, and its origin.
fn pick<T>(layers: &[Layer], get: impl Fn(&ManifestSettings) -> Option<T>) -> Option<(T, &Origin)> {
    layers
        .iter()
        .find_map(|layer| get(&layer.values).map(|value| (value, &layer.origin)))
}

fn number(
    layers: &[Layer],
    get: impl Fn(&ManifestSettings) -> Option<u32>,
    default: u32,
) -> (u32, Option<&Origin>) {
    match pick(layers, get) {
        Some((value, origin)) => (value, Some(origin)),
        None => (default, None),
    }
}

/// The proxies the environment sets.
fn proxies(env: &Env) -> ProxyConfig {
    let owned = |found: Option<(String, &str)>| found.map(|(var, url)| (var, url.to_owned()));
    ProxyConfig {
        http: owned(env.proxy_var(env::HTTP_PROXY)),
        https: owned(env.proxy_var(env::HTTPS_PROXY)),
        all: owned(env.proxy_var(env::ALL_PROXY)),
        no_proxy: env
            .proxy_var(env::NO_PROXY)
            .map(|(_, list)| list.to_owned()),
    }
}

/// The log level and format for `main.rs`'s tracing set-up, resolved like every other setting
/// (flags aside), from the manifest's `[settings]` (when it parsed) and config.toml. Errors in
/// either are the command's to report, not logging's.
pub fn log_settings(
    manifest_path: &Path,
    overrides: &SettingsOverrides,
    env: &Env,
    manifest: Option<&ManifestSettings>,
) -> LogSettings {
    let config = config::load(&env.hfdl_config_file()).unwrap_or_default();
    Settings::resolve(manifest_path, overrides, env, manifest, &config)
        .map(|settings| LogSettings {
            log_level: settings.log_level,
            log_format: settings.log_format,
        })
        .unwrap_or_default()
}

/// The token for `endpoint`; only a keyring token stored for it when a project file chose the
/// endpoint (see [`Settings::endpoint_from_project`]), with a warning when that holds back one.
fn find_token(
    env: &Env,
    endpoint: &str,
    usage: TokenUse,
    from_project: bool,
) -> Option<(Token, TokenSource)> {
    if !from_project {
        return discover_token(env, endpoint, usage);
    }
    let found = crate::hub::auth::discover_endpoint_token(env, endpoint, usage);
    let implicit_disabled =
        usage == TokenUse::Implicit && env.flag(env::HF_HUB_DISABLE_IMPLICIT_TOKEN);
    // Only the sources this holds back: no second round of keyring calls for a warning.
    if found.is_none() && !implicit_disabled && crate::hub::auth::shared_token_available(env) {
        tracing::warn!(
            "models.toml sets endpoint = \"{endpoint}\": HF_TOKEN and the token file are not sent to \
             an endpoint a project file chose; set HF_ENDPOINT or `hfdl config set endpoint` to trust \
             it, or `hfdl login` with that endpoint to store a token for it"
        );
    }
    found
}

fn expand_home(path: &str, env: &Env) -> PathBuf {
    match (path.strip_prefix("~/"), env.home()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_that_overflow_are_refused_not_wrapped() {
        assert_eq!(parse_duration("9999999999999999h"), None);
        assert_eq!(parse_duration("2m"), Some(Duration::from_mins(2)));
    }

    #[test]
    fn the_environment_never_shows_its_values_in_debug() {
        let env = Env::from_pairs([(env::HF_TOKEN, "hf_secret_value")], None);
        let text = format!("{env:?}");
        assert!(
            text.contains("HF_TOKEN") && !text.contains("hf_secret_value"),
            "{text}"
        );
    }

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
        let settings = Settings::new(
            &manifest_path(),
            &SettingsOverrides::default(),
            &env,
            Some(&manifest),
        )
        .unwrap();
        assert_eq!(settings.store, PathBuf::from("/env-cache"));
        assert_eq!(settings.endpoint, "http://env:1");
        let overrides = SettingsOverrides {
            store: Some("/flag".into()),
            ..Default::default()
        };
        assert_eq!(
            Settings::new(&manifest_path(), &overrides, &env, Some(&manifest))
                .unwrap()
                .store,
            PathBuf::from("/flag")
        );
        let bare = Env::from_pairs([], None);
        let settings = Settings::new(
            &manifest_path(),
            &SettingsOverrides::default(),
            &bare,
            Some(&manifest),
        )
        .unwrap();
        assert_eq!(settings.store, PathBuf::from("/manifest-cache"));
        assert_eq!(settings.endpoint, "http://m:2");
    }

    fn manifest_path() -> PathBuf {
        PathBuf::from(crate::manifest::MANIFEST_FILE)
    }

    fn origin_of<'a>(settings: &'a Settings, key: &str) -> (&'a Option<String>, String) {
        let e = settings.effective.iter().find(|e| e.key == key).unwrap();
        (&e.value, e.origin.to_string())
    }

    #[test]
    fn huggingface_variables_sit_below_hfdl_ones_and_above_both_files() {
        let config = ConfigFile {
            policy: None,
            path: PathBuf::from("/cfg/config.toml"),
            settings: ManifestSettings {
                timeout: Some("5s".into()),
                store: Some("relative/hub".into()),
                progress: Some(ProgressMode::Auto),
                ..Default::default()
            },
        };
        let resolve = |pairs: &[(&str, &str)], manifest: Option<&ManifestSettings>| {
            let env = Env::from_pairs(pairs.iter().copied(), Some(PathBuf::from("/home/u")));
            Settings::resolve(
                &manifest_path(),
                &SettingsOverrides::default(),
                &env,
                manifest,
                &config,
            )
            .unwrap()
        };
        // config.toml: a relative store is relative to the file.
        let settings = resolve(&[], None);
        assert_eq!(settings.store, PathBuf::from("/cfg/relative/hub"));
        assert_eq!(settings.timeout, Duration::from_secs(5));
        // The larger of the two Hugging Face timeouts; 0 means "the default" and is skipped.
        let settings = resolve(
            &[
                (env::HF_HUB_ETAG_TIMEOUT, "45"),
                (env::HF_HUB_DOWNLOAD_TIMEOUT, "0"),
            ],
            None,
        );
        assert_eq!(settings.timeout, Duration::from_secs(45));
        assert_eq!(origin_of(&settings, "timeout").1, "env HF_HUB_ETAG_TIMEOUT");
        let settings = resolve(
            &[
                (env::HF_HUB_DOWNLOAD_TIMEOUT, "45"),
                (env::HFDL_TIMEOUT, "2m"),
            ],
            None,
        );
        assert_eq!(settings.timeout, Duration::from_mins(2));
        // HF_HUB_DISABLE_PROGRESS_BARS: true turns progress off, any other value forces it on.
        let off = ManifestSettings {
            progress: Some(ProgressMode::Off),
            ..Default::default()
        };
        let progress = |pairs: &[(&str, &str)], manifest| resolve(pairs, manifest).progress;
        assert_eq!(
            progress(&[(env::HF_HUB_DISABLE_PROGRESS_BARS, "1")], None),
            ProgressMode::Off
        );
        assert_eq!(
            progress(&[(env::HF_HUB_DISABLE_PROGRESS_BARS, "0")], Some(&off)),
            ProgressMode::Auto
        );
        assert_eq!(progress(&[], Some(&off)), ProgressMode::Off);
        assert_eq!(
            progress(&[(env::HFDL_PROGRESS, "off")], None),
            ProgressMode::Off
        );
        assert_eq!(
            progress(&[(env::HFDL_PROGRESS, "lines")], None),
            ProgressMode::Lines
        );
        assert_eq!(
            progress(&[(env::HFDL_PROGRESS, "true")], None),
            ProgressMode::Auto
        );
        // HF_HUB_DISABLE_XET=1 turns Xet off, below HFDL_XET; the default is auto.
        let xet = |pairs: &[(&str, &str)]| resolve(pairs, None).xet;
        assert_eq!(xet(&[]), crate::manifest::XetMode::Auto);
        assert_eq!(
            xet(&[(env::HF_HUB_DISABLE_XET, "1")]),
            crate::manifest::XetMode::Off
        );
        assert_eq!(
            xet(&[(env::HF_HUB_DISABLE_XET, "0")]),
            crate::manifest::XetMode::Auto
        );
        assert_eq!(
            xet(&[(env::HF_HUB_DISABLE_XET, "1"), (env::HFDL_XET, "on")]),
            crate::manifest::XetMode::On
        );
        let settings = resolve(&[(env::HF_HUB_DISABLE_XET, "true")], None);
        assert_eq!(origin_of(&settings, "xet").1, "env HF_HUB_DISABLE_XET");
        // HF_HOME decides the store over the files, as it did before config.toml.
        let settings = resolve(&[(env::HF_HOME, "/hf")], None);
        assert_eq!(settings.store, PathBuf::from("/hf/hub"));
        assert_eq!(origin_of(&settings, "store").1, "env HF_HOME");
    }

    #[test]
    fn an_invalid_environment_value_is_an_error_naming_the_variable() {
        let env = Env::from_pairs([(env::HFDL_CONNECTIONS, "0")], None);
        let error = Settings::resolve(
            &manifest_path(),
            &SettingsOverrides::default(),
            &env,
            None,
            &ConfigFile::default(),
        )
        .unwrap_err();
        assert_eq!(error.error_code(), "env-invalid");
        assert!(
            error.to_string().contains("HFDL_CONNECTIONS=\"0\""),
            "{error}"
        );
    }
}
