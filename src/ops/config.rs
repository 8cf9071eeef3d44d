//! `config`: the user's settings. `config_list` and `config_get` show them as every other
//! operation sees them (so a project opened with an invalid config.toml has already failed);
//! `config_set`, `config_unset` and `config_path` do not need the file's values, so that they
//! can repair a file the others refuse (open the project with [`Project::without_config_file`]).

use std::path::PathBuf;

use serde::Serialize;

use super::Project;
use crate::config;
use crate::error::{Error, Result};
use crate::settings::Effective;

/// One key's effective value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// The key, as in config.toml.
    pub key: &'static str,
    /// As it is used (the store as an absolute path), or `None` when unset.
    pub value: Option<String>,
    /// Where it came from (`default`, `config.toml`, `env HFDL_JOBS`, …).
    pub source: String,
}

impl Setting {
    fn of(effective: &Effective) -> Setting {
        Setting {
            key: effective.key,
            value: effective.value.clone(),
            source: effective.origin.to_string(),
        }
    }
}

/// Every setting (`config list`).
#[derive(Debug, Clone, Serialize)]
pub struct ConfigList {
    /// The user's config.toml (which may not exist).
    pub config_file: String,
    /// Every key, in a stable order.
    pub settings: Vec<Setting>,
}

/// A value to write into config.toml (`config set`).
#[derive(Debug, Clone, Default)]
pub struct ConfigSetOptions {
    /// The key.
    pub key: String,
    /// The value, as text; a relative `store` is taken relative to the current directory.
    pub value: String,
}

/// What `config set` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSetReport {
    /// The key.
    pub key: String,
    /// The value written.
    pub value: String,
    /// The config file.
    pub path: PathBuf,
}

/// What `config unset` did.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigUnsetReport {
    /// The key.
    pub key: String,
    /// The file had the key, and no longer has it.
    pub removed: bool,
    /// The config file.
    pub path: PathBuf,
}

/// Where config.toml is (`config path`).
#[derive(Debug, Clone, Serialize)]
pub struct ConfigPathReport {
    /// The path.
    pub path: String,
    /// Whether the file exists.
    pub exists: bool,
}

/// Checks that `key` is a setting ([`crate::config::ConfigError::UnknownKey`], with the closest
/// key, if not), before anything else is read.
pub fn check_key(key: &str) -> Result<()> {
    config::known_key(key)?;
    Ok(())
}

impl Project {
    /// Every setting's effective value and origin.
    pub fn config_list(&self) -> ConfigList {
        ConfigList {
            config_file: self.settings().config_path.display().to_string(),
            settings: self.settings().effective.iter().map(Setting::of).collect(),
        }
    }

    /// One setting's effective value and origin.
    pub fn config_get(&self, key: &str) -> Result<Setting> {
        let Some(setting) = self.settings().effective.iter().find(|s| s.key == key) else {
            // Every known key is in `effective`.
            return Err(config::known_key(key).err().map_or_else(
                || Error::Usage {
                    message: format!("no effective value for `{key}`"),
                    help: "report this as a bug".into(),
                },
                Into::into,
            ));
        };
        Ok(Setting::of(setting))
    }

    /// Validates the value and writes it into config.toml, keeping its comments and other keys.
    pub fn config_set(&self, options: &ConfigSetOptions) -> Result<ConfigSetReport> {
        let (key, value) = (&options.key, &options.value);
        let path = &self.settings().config_path;
        // `hfdl config set store ./cache` means the directory here, as a shell user reads it,
        // not one relative to the config file: written as an absolute path.
        let value = if key == "store"
            && !value.starts_with("~/")
            && std::path::Path::new(value).is_relative()
        {
            std::path::absolute(value)
                .map_err(Error::io(value))?
                .display()
                .to_string()
        } else {
            value.clone()
        };
        let home = self.settings().env.home().map(PathBuf::as_path);
        config::set(path, key, &value, home)?;
        Ok(ConfigSetReport {
            key: key.clone(),
            value,
            path: path.clone(),
        })
    }

    /// Removes the key from config.toml, if the file has it.
    pub fn config_unset(&self, key: &str) -> Result<ConfigUnsetReport> {
        let path = &self.settings().config_path;
        let removed = config::unset(path, key)?;
        Ok(ConfigUnsetReport {
            key: key.to_owned(),
            removed,
            path: path.clone(),
        })
    }

    /// Where config.toml is, and whether it exists.
    pub fn config_path(&self) -> ConfigPathReport {
        let path = &self.settings().config_path;
        ConfigPathReport {
            path: path.display().to_string(),
            exists: path.is_file(),
        }
    }
}
