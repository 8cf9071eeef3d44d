//! `config.toml`: the user's own settings (design.md, Files), and `hfdl config set/unset`.
//!
//! The file has the keys of the manifest's `[settings]` at its top level, and is validated by
//! the very same code ([`crate::manifest`]'s settings validator), so the two files accept the
//! same keys and values and report mistakes the same way: with the file's line and a caret.
//! Values from `HFDL_*` variables and from `hfdl config set` go through that code too.
//!
//! Which source wins is not decided here but in [`crate::settings`].

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use crate::manifest::diagnostics::{Source, display_name, suggest};
use crate::manifest::policy::{Policy, policy_table};
use crate::manifest::{ManifestError, ManifestSettings, SETTINGS_KEYS, setting, settings_table};

/// How the top level of config.toml is named in messages.
const TABLE: &str = "config.toml";

/// What a new config.toml starts with.
const HEADER: &str = "# hfdl user configuration (`hfdl config set KEY VALUE` edits it; comments are kept).\n\
# Keys: store, endpoint, jobs, connections, limit-rate, timeout, retries, progress,\n\
# log-level, log-format, exclude-newer, blob-store, publish, xet. Precedence: flag > HFDL_* / HF_* environment >\n\
# [settings] in models.toml > this file > defaults. A [policy] table (licenses, pickle,\n\
# remote-code, max-size) applies to every project, on top of its own: `hfdl explain policy-violation`.\n";

/// Everything that can be wrong with the configuration.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    /// config.toml does not parse or holds a bad key or value (with a span into the file).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] ManifestError),

    /// config.toml exists but could not be read, or could not be written.
    #[error("{}: cannot read or write the configuration: {source}", path.display())]
    #[diagnostic(help("check the file's permissions, or point HFDL_CONFIG at another file"))]
    Io {
        /// The configuration file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// `hfdl config get/set/unset` with a key that does not exist.
    #[error("unknown setting `{key}`")]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The closest settings key, when one is close enough.
        suggestion: Option<String>,
        /// The suggestion, if any, and the list of settings.
        #[help]
        help: String,
    },

    /// An `HFDL_*` (or Hugging Face) variable with a value that is not allowed.
    #[error("the environment variable {var}={value:?} is invalid: {problem}")]
    #[diagnostic(help("{help}"))]
    Env {
        /// The variable's name.
        var: String,
        /// Its value.
        value: String,
        /// What is wrong with the value.
        problem: String,
        /// The next step for the user (fix the value or unset the variable).
        help: String,
    },

    /// `hfdl config set store PATH` with a path hfdl could not write into.
    #[error("the store {} is not writable: {reason}", path.display())]
    #[diagnostic(help(
        "choose a directory you can write to (it is created on first use if its parent is writable)"
    ))]
    StoreNotWritable {
        /// The store path asked for.
        path: PathBuf,
        /// Why: not a directory, or a file cannot be created in it.
        reason: String,
    },
}

impl ConfigError {
    /// The stable `code` of `--json` errors.
    pub fn error_code(&self) -> &'static str {
        match self {
            ConfigError::Invalid(_) => "config-invalid",
            ConfigError::Io { .. } => "config-io",
            ConfigError::UnknownKey { .. } => "unknown-setting",
            ConfigError::Env { .. } => "env-invalid",
            ConfigError::StoreNotWritable { .. } => "store-not-writable",
        }
    }
}

/// A loaded, validated config.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where it was read from (it may not exist).
    pub path: PathBuf,
    /// Its settings; all unset when there is no file.
    pub settings: ManifestSettings,
    /// Its `[policy]` table: this person's or machine's rules, which apply to every project
    /// besides the project's own (see [`crate::policy`]).
    pub policy: Option<Policy>,
}

/// Reads and validates the file at `path`; a missing file is an empty configuration.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let Some(text) = read(path)? else {
        return Ok(ConfigFile {
            path: path.to_path_buf(),
            ..ConfigFile::default()
        });
    };
    let (settings, policy) = parse_with_policy(path, &text)?;
    Ok(ConfigFile {
        path: path.to_path_buf(),
        settings,
        policy,
    })
}

/// Validates config.toml `text` read from `path`: its settings.
pub fn parse(path: &Path, text: &str) -> Result<ManifestSettings, ConfigError> {
    parse_with_policy(path, text).map(|(settings, _)| settings)
}

/// Validates config.toml `text` read from `path`: its settings (the top-level keys) and its
/// `[policy]` table, if any.
pub fn parse_with_policy(
    path: &Path,
    text: &str,
) -> Result<(ManifestSettings, Option<Policy>), ConfigError> {
    let file = display_name(path);
    let src = Source::new(&file, text);
    let document = toml_edit::Document::parse(text).map_err(|e| src.syntax(&e))?;
    let table = document.as_table();
    let mut settings = ManifestSettings::default();
    let mut policy = None;
    for (key, value) in table {
        let key_span = table.key(key).and_then(toml_edit::Key::span);
        if key == POLICY {
            policy = Some(policy_table(&src, value, key_span)?);
        } else {
            setting(&src, TABLE, &mut settings, key, value, key_span)?;
        }
    }
    Ok((settings, policy))
}

/// The table of config.toml that holds its policy (the only table; the settings are top-level
/// keys).
const POLICY: &str = "policy";

/// The file's text, or `None` when there is no file.
fn read(path: &Path) -> Result<Option<String>, ConfigError> {
    match fs_err::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `key` if it is a settings key, else an error with the closest one.
pub fn known_key(key: &str) -> Result<&'static str, ConfigError> {
    if let Some(known) = SETTINGS_KEYS.iter().find(|k| **k == key) {
        return Ok(known);
    }
    let suggestion = suggest(key, SETTINGS_KEYS).map(str::to_owned);
    let all = SETTINGS_KEYS.join(", ");
    let help = match &suggestion {
        Some(close) => format!("did you mean `{close}`? The settings are {all}"),
        None => format!("the settings are {all}"),
    };
    Err(ConfigError::UnknownKey {
        key: key.to_owned(),
        suggestion,
        help,
    })
}

/// The TOML value a command-line or environment `text` stands for: integers for the integer
/// keys and booleans for `progress` when the text is one, else a string (which the validator
/// then reports as the wrong type, naming what is expected).
pub fn typed_value(key: &str, text: &str) -> Value {
    match key {
        "jobs" | "connections" | "retries" => match text.trim().parse::<i64>() {
            Ok(number) => Value::from(number),
            Err(_) => Value::from(text),
        },
        "publish" => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::from(true),
            "false" | "0" | "no" | "off" => Value::from(false),
            other => Value::from(other),
        },
        "progress" => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::from(true),
            "false" | "0" | "no" | "off" => Value::from(false),
            mode => Value::from(mode),
        },
        _ => Value::from(text),
    }
}

/// Validates `key = text` on its own, as if written in a file named `name`.
pub fn validate_one(name: &str, key: &str, text: &str) -> Result<ManifestSettings, ManifestError> {
    let mut document = DocumentMut::new();
    document[key] = Item::Value(typed_value(key, text));
    let rendered = document.to_string();
    let src = Source::new(name, &rendered);
    let parsed = toml_edit::Document::parse(rendered.as_str()).map_err(|e| src.syntax(&e))?;
    settings_table(&src, TABLE, parsed.as_table())
}

/// The value of the environment variable `var` for settings `key`, validated.
pub fn from_env(var: &str, key: &str, value: &str) -> Result<ManifestSettings, ConfigError> {
    validate_one(var, key, value).map_err(|error| {
        let help = miette::Diagnostic::help(&error).map_or_else(String::new, |h| h.to_string());
        ConfigError::Env {
            var: var.to_owned(),
            value: value.to_owned(),
            problem: error.problem(),
            help: format!("{help}; or unset {var}"),
        }
    })
}

/// `hfdl config set KEY VALUE`: validates the value, then writes it into the file at `path`
/// (created with a header comment), keeping every comment and the other keys as they are. The
/// rest of the file is not validated, so `set` can repair a file that other commands refuse.
pub fn set(path: &Path, key: &str, text: &str, home: Option<&Path>) -> Result<(), ConfigError> {
    let key = known_key(key)?;
    let original = read(path)?.unwrap_or_else(|| HEADER.to_owned());
    let file = display_name(path);
    let mut document: DocumentMut = original
        .parse()
        .map_err(|e: toml_edit::TomlError| Source::new(&file, &original).syntax(&e))?;
    let mut value = typed_value(key, text);
    let was_empty = document.is_empty();
    match document.get_mut(key).and_then(Item::as_value_mut) {
        // Keep the comment after the old value, and the spacing around it.
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None if was_empty => {
            // A file of comments only (the header): the key goes after them, not before.
            let mut single = DocumentMut::new();
            single[key] = Item::Value(value);
            let mut text = original.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&single.to_string());
            document = text
                .parse()
                .map_err(|e: toml_edit::TomlError| Source::new(&file, &text).syntax(&e))?;
        }
        None => document[key] = Item::Value(value),
    }
    let updated = document.to_string();
    // Validate the key as it reads in the new file, so an error shows the line to be written.
    let src = Source::new(&file, &updated);
    let parsed = toml_edit::Document::parse(updated.as_str()).map_err(|e| src.syntax(&e))?;
    let table = parsed.as_table();
    if let Some(item) = table.get(key) {
        let key_span = table.key(key).and_then(toml_edit::Key::span);
        setting(
            &src,
            TABLE,
            &mut ManifestSettings::default(),
            key,
            item,
            key_span,
        )?;
    }
    if key == "store" {
        check_store_writable(&store_path(text, path, home))?;
    }
    write(path, &updated)
}

/// `hfdl config unset KEY`: removes the key if the file has it; returns whether it did. Any
/// key present in the file may be removed, known or not, so a typo can be taken out.
pub fn unset(path: &Path, key: &str) -> Result<bool, ConfigError> {
    let Some(original) = read(path)? else {
        known_key(key)?;
        return Ok(false);
    };
    let file = display_name(path);
    let mut document: DocumentMut = original
        .parse()
        .map_err(|e: toml_edit::TomlError| Source::new(&file, &original).syntax(&e))?;
    // Comments above the first key are the file's header, not that key's: keep them. (Those
    // above any other key describe it and go with it.)
    let is_first = document
        .as_table()
        .iter()
        .next()
        .is_some_and(|(k, _)| k == key);
    let comments = document
        .as_table()
        .key(key)
        .filter(|_| is_first)
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .filter(|p| p.contains('#'))
        .map(str::to_owned);
    if document.remove(key).is_none() {
        known_key(key)?;
        return Ok(false);
    }
    if let Some(comments) = comments {
        if let Some((mut first, _)) = document.as_table_mut().iter_mut().next() {
            let own = first
                .leaf_decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_owned();
            first
                .leaf_decor_mut()
                .set_prefix(format!("{comments}{own}"));
        } else {
            let trailing = document.trailing().as_str().unwrap_or("").to_owned();
            document.set_trailing(format!("{comments}{trailing}"));
        }
    }
    write(path, &document.to_string())?;
    Ok(true)
}

fn write(path: &Path, text: &str) -> Result<(), ConfigError> {
    crate::fsutil::write_if_changed(path, text.as_bytes())
        .map(|_| ())
        .map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// A store path as written in config.toml: `~/` is the home directory and a relative path is
/// relative to the directory of config.toml (as [`crate::settings`] reads it).
pub fn store_path(text: &str, config: &Path, home: Option<&Path>) -> PathBuf {
    if let (Some(rest), Some(home)) = (text.strip_prefix("~/"), home) {
        return home.join(rest);
    }
    let path = PathBuf::from(text);
    if path.is_relative() {
        config.parent().unwrap_or(Path::new(".")).join(path)
    } else {
        path
    }
}

/// The store must be a directory hfdl can write into, or be creatable: its nearest existing
/// ancestor is probed with a temporary file, which is removed at once (nothing is created).
pub fn check_store_writable(path: &Path) -> Result<(), ConfigError> {
    let not_writable = |reason: String| ConfigError::StoreNotWritable {
        path: path.to_path_buf(),
        reason,
    };
    let mut existing = path;
    loop {
        match fs_err::metadata(existing) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(not_writable(format!(
                    "{} is not a directory",
                    existing.display()
                )));
            }
            Err(_) => match existing.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
                _ => return Ok(()),
            },
        }
    }
    tempfile::Builder::new()
        .prefix(".hfdl-write-check")
        .tempfile_in(existing)
        .map(drop)
        .map_err(|e| {
            not_writable(format!(
                "cannot create a file in {}: {e}",
                existing.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_keeps_the_header_and_drops_the_comment_of_the_removed_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs_err::write(
            &path,
            "# mine\njobs = 6 # four\n\n# speed\nlimit-rate = \"1M\"\n",
        )
        .unwrap();
        assert!(unset(&path, "limit-rate").unwrap());
        assert_eq!(
            fs_err::read_to_string(&path).unwrap(),
            "# mine\njobs = 6 # four\n"
        );
        assert!(unset(&path, "jobs").unwrap());
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "# mine\n");
        assert!(!unset(&path, "jobs").unwrap());
        assert!(matches!(
            unset(&path, "jbos"),
            Err(ConfigError::UnknownKey { suggestion: Some(s), .. }) if s == "jobs"
        ));
    }
}
