//! `models.toml`: the manifest people write.
//!
//! The file is parsed with `toml_edit`, which keeps the byte span of every key and value, and
//! validated by hand rather than through serde: that way every error points at the exact key or
//! value at fault (see [`diagnostics`]), unknown keys get a "did you mean" hint, and include and
//! exclude patterns are checked one by one. The format is described in design.md (Files) and in
//! `models.example.toml` at the repository root.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};
use toml_edit::{Item, Key, TableLike};

use crate::pattern::check_pattern;
use crate::repo::{RepoId, RepoType, is_commit_hash, validate_revision};
use cooldown::ExcludeNewer;

pub mod cooldown;
pub mod diagnostics;
pub mod edit;
pub mod policy;

pub use diagnostics::ManifestError;
use diagnostics::{Source, display_name};
use policy::{Exceptions, Policy};

/// The default manifest file name.
pub const MANIFEST_FILE: &str = "models.toml";

/// The keys allowed at the top level.
pub const TOP_LEVEL_KEYS: &[&str] = &["models", "settings", "policy"];

/// The keys allowed in a `[models.NAME]` entry.
pub const MODEL_KEYS: &[&str] = &[
    "repo",
    "repo-type",
    "revision",
    "include",
    "exclude",
    "dir",
    "exclude-newer",
    "allow",
    "license",
];

/// The keys allowed in `[settings]` (the same as in `config.toml`).
pub const SETTINGS_KEYS: &[&str] = &[
    "store",
    "endpoint",
    "jobs",
    "connections",
    "limit-rate",
    "timeout",
    "retries",
    "progress",
    "log-level",
    "log-format",
    "exclude-newer",
    "blob-store",
    "publish",
    "xet",
];

/// Settings a project's `[settings]` may not hold: they are the machine's decision
/// (config.toml, `HFDL_*`, flags). A cloned repository must not make hfdl upload the user's
/// files (private and gated ones too) to a bucket it names.
pub const MACHINE_ONLY_SETTINGS: &[&str] = &["publish"];

/// The values allowed for `log-level`.
pub const LOG_LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// The values allowed for `log-format`.
pub const LOG_FORMATS: &[&str] = &["text", "json"];

/// The values allowed for `progress` (a boolean is accepted too: `true` = auto, `false` = off).
pub const PROGRESS_MODES: &[&str] = &["auto", "bars", "lines", "off"];

/// How progress is shown (the `progress` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on a terminal, lines elsewhere (CI logs, `docker build`, a pipe).
    #[default]
    Auto,
    /// Bars (drawn only where stderr is a terminal).
    Bars,
    /// A plain line at a steady interval and at each file's end: bytes, percent, speed, ETA.
    Lines,
    /// No bars and no periodic lines (a line per finished file stays).
    Off,
}

impl ProgressMode {
    /// The name, as written in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressMode::Auto => "auto",
            ProgressMode::Bars => "bars",
            ProgressMode::Lines => "lines",
            ProgressMode::Off => "off",
        }
    }

    /// The mode a name of [`PROGRESS_MODES`] stands for.
    pub fn from_name(name: &str) -> Option<ProgressMode> {
        match name {
            "auto" => Some(ProgressMode::Auto),
            "bars" => Some(ProgressMode::Bars),
            "lines" => Some(ProgressMode::Lines),
            "off" => Some(ProgressMode::Off),
            _ => None,
        }
    }
}

/// The values allowed for `xet`.
pub const XET_MODES: &[&str] = &["auto", "on", "off"];

/// Whether Xet-backed files are downloaded over the Xet protocol (the `xet` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum XetMode {
    /// Over Xet when the lock records a Xet hash; the bridge (a plain download) when the Xet
    /// path fails.
    #[default]
    Auto,
    /// Over Xet when the lock records a Xet hash, and a failure of the Xet path fails the file.
    On,
    /// Never: every file through the bridge, as a client without Xet (`HF_HUB_DISABLE_XET=1`).
    Off,
}

impl XetMode {
    /// The name, as written in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            XetMode::Auto => "auto",
            XetMode::On => "on",
            XetMode::Off => "off",
        }
    }

    /// The mode a name of [`XET_MODES`] stands for.
    pub fn from_name(name: &str) -> Option<XetMode> {
        match name {
            "auto" => Some(XetMode::Auto),
            "on" => Some(XetMode::On),
            "off" => Some(XetMode::Off),
            _ => None,
        }
    }
}

/// The revision used when an entry has none.
pub const DEFAULT_REVISION: &str = "main";

/// A parsed, validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Where it was read from (used for messages and to resolve `dir`).
    pub path: PathBuf,
    /// Entries by name, sorted.
    pub models: BTreeMap<String, ModelSpec>,
    /// The optional `[settings]` table.
    pub settings: ManifestSettings,
    /// The project's `[policy]`, when the file has one (see [`crate::policy`]).
    pub policy: Option<Policy>,
    /// The entries that set their own `exclude-newer`: the others take the project's.
    pub own_cooldown: BTreeSet<String>,
}

impl Manifest {
    /// Gives every entry without its own `exclude-newer` the cooldown the settings decided on
    /// (`[settings]`, or `HFDL_EXCLUDE_NEWER`/config.toml; see [`crate::settings`]).
    pub fn set_default_cooldown(&mut self, cooldown: Option<&ExcludeNewer>) {
        for (name, spec) in &mut self.models {
            if !self.own_cooldown.contains(name) {
                spec.cooldown = cooldown.cloned();
            }
        }
    }
}

/// One `[models.NAME]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The entry's handle (`hfdl path NAME`), the `NAME` of `[models.NAME]`.
    pub name: String,
    /// The Hub repository (`repo`).
    pub repo: RepoId,
    /// Model, dataset or space (`repo-type`); a model when absent.
    pub repo_type: RepoType,
    /// Branch, tag, `refs/pr/N` or 40-hex commit; `main` when absent.
    pub revision: String,
    /// fnmatch patterns (hub-protocol §8.4); empty means every file.
    pub include: Vec<String>,
    /// fnmatch patterns; a path matching one is never selected.
    pub exclude: Vec<String>,
    /// Plain directory to materialise, as written (relative to the manifest's directory).
    pub dir: Option<PathBuf>,
    /// The cooldown the manifest asks for: the entry's own `exclude-newer`, else `[settings]`'.
    /// Part of the fingerprint: what a committed lock must satisfy.
    pub exclude_newer: Option<ExcludeNewer>,
    /// The cooldown a (re)resolution applies: `exclude_newer`, unless the user's own settings
    /// (`HFDL_EXCLUDE_NEWER`, config.toml) decide otherwise for entries without their own. Not
    /// in the fingerprint: a personal preference must not make a committed lock stale.
    pub cooldown: Option<ExcludeNewer>,
    /// The project policy's rules this entry may break (`allow`, `license`). Not in the
    /// fingerprint: they decide what may be locked, not what is.
    pub exceptions: Exceptions,
}

impl ModelSpec {
    /// `sha256:<hex>` fingerprint of everything that decides what gets locked.
    ///
    /// The lock stores it per entry so that `--locked` can tell, without the network, whether
    /// the manifest entry changed since it was resolved (design.md, `models.lock`). It covers the
    /// repo, its type, the revision and the patterns, and nothing else: renaming an entry or
    /// changing its `dir` does not change which files are locked. The serialisation is canonical
    /// (fixed key order, patterns sorted and deduplicated, as their order does not matter), so
    /// reordering keys, reformatting the file or reordering patterns keeps the pin.
    ///
    /// A cooldown (`exclude-newer`) is covered only when it is set and can matter (the revision
    /// is a branch or tag, not a commit), so locks made before the key existed stay fresh.
    pub fn requirement(&self) -> String {
        // Keys in sorted order, so the text is the same whether or not serde_json preserves
        // insertion order.
        let mut canonical = serde_json::json!({
            "exclude": canonical_patterns(&self.exclude),
            "include": canonical_patterns(&self.include),
            "repo": self.repo.as_str(),
            "repo-type": self.repo_type.as_str(),
            "revision": self.revision,
        });
        if let Some(exclude_newer) = &self.exclude_newer
            && !is_commit_hash(&self.revision)
        {
            canonical["exclude-newer"] = exclude_newer.as_str().into();
        }
        let canonical = canonical.to_string();
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        )
    }
}

/// Patterns sorted and deduplicated: their order does not change what they select.
fn canonical_patterns(patterns: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = patterns.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// `[settings]`: the same keys as `config.toml`, all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestSettings {
    /// The store directory as written (`~` and relative paths are resolved by
    /// [`crate::settings`]).
    pub store: Option<String>,
    /// The Hub's URL (http or https).
    pub endpoint: Option<String>,
    /// Files downloaded in parallel (1 to 256).
    pub jobs: Option<u32>,
    /// Connections per large file (1 to 64).
    pub connections: Option<u32>,
    /// Bytes per second, as written (`50M`, or an integer number of bytes).
    pub limit_rate: Option<String>,
    /// A duration as written (`30s`, `2m`, or an integer number of seconds).
    pub timeout: Option<String>,
    /// Retries of a failed request (0 to 100).
    pub retries: Option<u32>,
    /// How to show progress.
    pub progress: Option<ProgressMode>,
    /// One of [`LOG_LEVELS`].
    pub log_level: Option<String>,
    /// One of [`LOG_FORMATS`].
    pub log_format: Option<String>,
    /// The project's cooldown; entries without their own `exclude-newer` take it.
    pub exclude_newer: Option<ExcludeNewer>,
    /// The shared blob store, `s3://BUCKET/PREFIX` (validated, as written).
    pub blob_store: Option<String>,
    /// Upload what a sync fetched from the Hub to the blob store.
    pub publish: Option<bool>,
    /// Download Xet-backed files over Xet.
    pub xet: Option<XetMode>,
}

/// Parses and validates manifest `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let file = display_name(path);
    let src = Source::new(&file, text);
    let document = toml_edit::Document::parse(text).map_err(|e| src.syntax(&e))?;
    let root = document.as_table();
    let mut models = BTreeMap::new();
    let mut dirs: Vec<(String, PathBuf, Option<Range<usize>>)> = Vec::new();
    let mut settings = ManifestSettings::default();
    let mut project_policy = None;
    for (key, item) in root {
        let key_span = root.key(key).and_then(Key::span);
        match key {
            "models" => {
                let table = item.as_table_like().ok_or_else(|| {
                    src.wrong_type(
                        "models",
                        "the top level",
                        "a table",
                        item.type_name(),
                        item.span().or(key_span.clone()),
                        "write each entry as a [models.NAME] table",
                    )
                })?;
                for (name, entry) in table.iter() {
                    let name_span = table.key(name).and_then(Key::span);
                    let (spec, dir_span) = parse_model(&src, name, entry, name_span)?;
                    if let Some(dir) = &spec.dir {
                        dirs.push((name.to_owned(), dir.clone(), dir_span));
                    }
                    models.insert(name.to_owned(), spec);
                }
            }
            "settings" => settings = parse_settings(&src, item, key_span)?,
            "policy" => project_policy = Some(policy::policy_table(&src, item, key_span)?),
            other => return Err(src.unknown_key(other, "the top level", TOP_LEVEL_KEYS, key_span)),
        }
    }
    check_dirs(&src, &dirs)?;
    let own_cooldown = models
        .iter()
        .filter(|(_, spec)| spec.exclude_newer.is_some())
        .map(|(name, _)| name.clone())
        .collect();
    let mut manifest = Manifest {
        path: path.to_path_buf(),
        models,
        settings,
        policy: project_policy,
        own_cooldown,
    };
    // `[settings]`' cooldown is the manifest's own: it counts in the fingerprint.
    let project_cooldown = manifest.settings.exclude_newer.clone();
    for (name, spec) in &mut manifest.models {
        if !manifest.own_cooldown.contains(name) {
            spec.exclude_newer.clone_from(&project_cooldown);
        }
    }
    manifest.set_default_cooldown(project_cooldown.as_ref());
    Ok(manifest)
}

/// Reads and parses the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
    let text = fs_err::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ManifestError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            ManifestError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    parse(path, &text)
}

/// True when `name` can be an entry name: `[A-Za-z0-9_.-]+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Validates one `[models.NAME]` entry; also returns the span of its `dir` value.
fn parse_model(
    src: &Source<'_>,
    name: &str,
    item: &Item,
    name_span: Option<Range<usize>>,
) -> Result<(ModelSpec, Option<Range<usize>>), ManifestError> {
    if !is_valid_name(name) {
        let reason = if name.is_empty() {
            "the name is empty".to_owned()
        } else {
            "only letters, digits, `_`, `.` and `-` are allowed".to_owned()
        };
        return Err(src.invalid_name(name, &reason, name_span));
    }
    let table_name = format!("[models.{name}]");
    let entry = item.as_table_like().ok_or_else(|| {
        src.wrong_type(
            name,
            "[models]",
            "a table",
            item.type_name(),
            item.span().or(name_span.clone()),
            &format!(
                "write the entry as a table: [models.{name}] with `repo = \"namespace/name\"`"
            ),
        )
    })?;
    // Where "missing key" points: the `[models.NAME]` header, else the name.
    let header_span = item
        .as_table()
        .and_then(toml_edit::Table::span)
        .or(name_span);

    let mut repo = None;
    let mut repo_type = RepoType::Model;
    let mut revision = DEFAULT_REVISION.to_owned();
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    let mut dir = None;
    let mut dir_span = None;
    let mut exclude_newer = None;
    let mut exceptions = Exceptions::default();
    for (key, value) in entry.iter() {
        let key_span = entry.key(key).and_then(Key::span);
        let span = value.span().or(key_span.clone());
        let field = Field {
            src,
            key,
            table: &table_name,
            item: value,
            span: span.clone(),
        };
        match key {
            "repo" => {
                let text =
                    field.string("use `namespace/name`, e.g. \"google-bert/bert-base-uncased\"")?;
                repo = Some(RepoId::parse(text).map_err(|reason| {
                    field.invalid(
                        &reason,
                        "use the repo id shown on the Hub: `namespace/name`, e.g. \"google-bert/bert-base-uncased\"",
                    )
                })?);
            }
            "repo-type" => {
                let text = field.string("use \"model\", \"dataset\" or \"space\"")?;
                repo_type = RepoType::parse(text).ok_or_else(|| {
                    field.invalid(
                        "not a repo type",
                        "use \"model\" (the default), \"dataset\" or \"space\"",
                    )
                })?;
            }
            "revision" => {
                let text = field.string("use a branch, a tag, \"refs/pr/N\" or a 40-hex commit")?;
                validate_revision(text).map_err(|reason| {
                    field.invalid(
                        &reason,
                        "use a branch, a tag, \"refs/pr/N\" or a 40-hex commit; the default is \"main\"",
                    )
                })?;
                text.clone_into(&mut revision);
            }
            "include" => include = field.patterns()?,
            "exclude" => exclude = field.patterns()?,
            "dir" => {
                let text = field.string("use a relative path like \"models/bert\"")?;
                dir = Some(check_dir(text).map_err(|reason| {
                    field.invalid(
                        &reason,
                        "use a relative path inside the project, like \"models/bert\"",
                    )
                })?);
                dir_span = span;
            }
            "exclude-newer" => exclude_newer = Some(field.exclude_newer()?),
            "allow" => exceptions.allow = policy::allow_list(&field)?,
            "license" => exceptions.licenses = policy::accepted_licenses(&field)?,
            other => return Err(src.unknown_key(other, &table_name, MODEL_KEYS, key_span)),
        }
    }
    let repo = repo.ok_or_else(|| {
        src.missing_key(
            "repo",
            &table_name,
            header_span,
            "add `repo = \"namespace/name\"`, the Hub repository this entry downloads",
        )
    })?;
    let spec = ModelSpec {
        name: name.to_owned(),
        repo,
        repo_type,
        revision,
        include,
        exclude,
        dir,
        cooldown: exclude_newer.clone(),
        exclude_newer,
        exceptions,
    };
    Ok((spec, dir_span))
}

/// A `dir` must stay inside the project: relative, without `..`, naming some directory.
fn check_dir(text: &str) -> Result<PathBuf, String> {
    let path = Path::new(text);
    if path.is_absolute() || path.has_root() || text.starts_with(['/', '\\']) {
        return Err("an absolute path".to_owned());
    }
    let mut normal = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => normal += 1,
            Component::CurDir => {}
            Component::ParentDir => return Err("`..` leaves the project".to_owned()),
            Component::Prefix(_) | Component::RootDir => {
                return Err("an absolute path".to_owned());
            }
        }
    }
    if normal == 0 {
        return Err("it names no directory".to_owned());
    }
    Ok(PathBuf::from(text))
}

/// Two entries materialising into the same directory (or one inside the other) would overwrite
/// and prune each other's files.
fn check_dirs(
    src: &Source<'_>,
    dirs: &[(String, PathBuf, Option<Range<usize>>)],
) -> Result<(), ManifestError> {
    let normal = |path: &Path| -> Vec<String> {
        path.components()
            .filter_map(|c| match c {
                Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    for (index, (name, dir, span)) in dirs.iter().enumerate() {
        let mine = normal(dir);
        for (other, other_dir, _) in &dirs[..index] {
            let theirs = normal(other_dir);
            let shortest = mine.len().min(theirs.len());
            if mine[..shortest] == theirs[..shortest] {
                return Err(src.invalid_value(
                    "dir",
                    &format!("[models.{name}]"),
                    span.clone(),
                    &format!("overlaps the dir of `{other}`"),
                    "give each entry its own directory; two entries cannot share or nest one",
                ));
            }
        }
    }
    Ok(())
}

/// Validates `[settings]`.
fn parse_settings(
    src: &Source<'_>,
    item: &Item,
    key_span: Option<Range<usize>>,
) -> Result<ManifestSettings, ManifestError> {
    let table_name = "[settings]";
    let fallback = item.span().or(key_span);
    let table: &dyn TableLike = item.as_table_like().ok_or_else(|| {
        src.wrong_type(
            "settings",
            "the top level",
            "a table",
            item.type_name(),
            fallback,
            "write settings as a [settings] table",
        )
    })?;
    settings_table(src, table_name, table)
}

/// Validates the keys of a settings table (`[settings]`, or the top level of `config.toml`):
/// one implementation, so both files accept exactly the same keys and values.
pub(crate) fn settings_table(
    src: &Source<'_>,
    table_name: &str,
    table: &dyn TableLike,
) -> Result<ManifestSettings, ManifestError> {
    let mut settings = ManifestSettings::default();
    for (key, value) in table.iter() {
        let key_span = table.key(key).and_then(Key::span);
        setting(src, table_name, &mut settings, key, value, key_span)?;
    }
    Ok(settings)
}

/// Validates one settings `key = value` into `settings`.
pub(crate) fn setting(
    src: &Source<'_>,
    table_name: &str,
    settings: &mut ManifestSettings,
    key: &str,
    value: &Item,
    key_span: Option<Range<usize>>,
) -> Result<(), ManifestError> {
    let field = Field {
        src,
        key,
        table: table_name,
        item: value,
        span: value.span().or(key_span.clone()),
    };
    match key {
        "store" => {
            let text = field.string("use a directory path, e.g. \"~/.cache/huggingface/hub\"")?;
            if text.trim().is_empty() {
                return Err(field.invalid(
                    "the path is empty",
                    "remove the key to use the default store",
                ));
            }
            settings.store = Some(text.to_owned());
        }
        "endpoint" => {
            let text = field.string("use a URL like \"https://huggingface.co\"")?;
            let ok = url::Url::parse(text)
                .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
            if !ok {
                return Err(field.invalid(
                    "not an http(s) URL",
                    "use a URL like \"https://huggingface.co\"",
                ));
            }
            settings.endpoint = Some(text.to_owned());
        }
        "jobs" => {
            settings.jobs =
                Some(field.integer(1, 256, "the number of files downloaded in parallel")?);
        }
        "connections" => {
            settings.connections =
                Some(field.integer(1, 64, "the number of connections per large file")?);
        }
        "retries" => settings.retries = Some(field.integer(0, 100, "the number of retries")?),
        "limit-rate" => {
            let text = field.string_or_integer(
                "use bytes per second: an integer, or a number with K, M or G, e.g. \"50M\"",
            )?;
            if parse_rate(&text).is_none_or(|rate| rate == 0) {
                return Err(field.invalid(
                    "not a positive rate",
                    "use bytes per second: an integer, or a number with K, M or G, e.g. \"50M\"",
                ));
            }
            settings.limit_rate = Some(text);
        }
        "timeout" => {
            let text = field.string_or_integer(
                "use a number of seconds or a duration like \"30s\", \"2m\", \"500ms\"",
            )?;
            if parse_duration(&text).is_none_or(|d| d.is_zero()) {
                return Err(field.invalid(
                    "not a positive duration",
                    "use a number of seconds or a duration like \"30s\", \"2m\", \"500ms\"",
                ));
            }
            // A stall timeout is seconds to minutes; beyond a day it is a typo (and deadlines
            // computed from it would overflow).
            if parse_duration(&text).is_some_and(|d| d.as_secs() > 86_400) {
                return Err(field.invalid(
                    "longer than a day",
                    "use a number of seconds or a duration like \"30s\", \"2m\" (at most \"24h\")",
                ));
            }
            settings.timeout = Some(text);
        }
        "progress" => {
            // Booleans are the setting's first form: true = auto, false = off.
            settings.progress = Some(match field.item.as_bool() {
                Some(true) => ProgressMode::Auto,
                Some(false) => ProgressMode::Off,
                None if field.item.is_str() => {
                    ProgressMode::from_name(&field.one_of(PROGRESS_MODES)?).unwrap_or_default()
                }
                None => {
                    return Err(field.wrong_type(
                        "a string or a boolean",
                        "use one of \"auto\", \"bars\", \"lines\", \"off\" (true = \"auto\", false = \"off\")",
                    ));
                }
            });
        }
        "log-level" => settings.log_level = Some(field.one_of(LOG_LEVELS)?),
        "log-format" => settings.log_format = Some(field.one_of(LOG_FORMATS)?),
        "exclude-newer" => settings.exclude_newer = Some(field.exclude_newer()?),
        "blob-store" => {
            let help = "use an S3 URL like \"s3://models-cache/fleet\" (the engine comes from AWS_ENDPOINT_URL)";
            let text = field.string(help)?;
            crate::blobstore::BlobStoreUrl::parse(text)
                .map_err(|problem| field.invalid(&problem, help))?;
            settings.blob_store = Some(text.to_owned());
        }
        "publish" => {
            // Uploading is the machine's decision, not a cloned repository's: a models.toml
            // naming someone else's bucket must not make hfdl copy private or gated files there.
            if table_name == "[settings]" && MACHINE_ONLY_SETTINGS.contains(&key) {
                return Err(field.invalid(
                    "`publish` cannot be set by the project",
                    "publishing is decided per machine: `hfdl sync --publish`, HFDL_PUBLISH=1 or `hfdl config set publish true`",
                ));
            }
            settings.publish = Some(
                field
                    .item
                    .as_bool()
                    .ok_or_else(|| field.wrong_type("a boolean", "use true or false"))?,
            );
        }
        "xet" => {
            settings.xet = Some(XetMode::from_name(&field.one_of(XET_MODES)?).unwrap_or_default());
        }
        other => return Err(src.unknown_key(other, table_name, SETTINGS_KEYS, key_span)),
    }
    Ok(())
}

/// Parses `30`, `30s`, `2m`, `1h`, `500ms`.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "" | "s" => Some(std::time::Duration::from_secs(number)),
        "ms" => Some(std::time::Duration::from_millis(number)),
        "m" | "min" => number.checked_mul(60).map(std::time::Duration::from_secs),
        "h" => number.checked_mul(3600).map(std::time::Duration::from_secs),
        _ => None,
    }
}

/// Parses a rate in bytes per second: `1048576`, `500K`, `50M`, `1.5G` (binary multiples, as
/// curl's `--limit-rate`), optionally followed by `B` or `/s`.
pub fn parse_rate(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_suffix("/s").unwrap_or(text);
    let text = text
        .strip_suffix("iB")
        .or_else(|| text.strip_suffix('B'))
        .unwrap_or(text);
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let multiplier: f64 = match unit.trim() {
        "" => 1.0,
        "k" | "K" => 1024.0,
        "m" | "M" => 1024.0 * 1024.0,
        "g" | "G" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * multiplier;
    (bytes.is_finite() && bytes < 1e18).then_some(bytes as u64)
}

/// One `key = value` being validated, with what its errors need.
/// A string of a TOML array and where it is in the file.
type SpannedStr<'s> = (&'s str, Option<Range<usize>>);

struct Field<'s, 'a> {
    src: &'s Source<'a>,
    key: &'s str,
    table: &'s str,
    item: &'s Item,
    span: Option<Range<usize>>,
}

impl Field<'_, '_> {
    fn wrong_type(&self, expected: &'static str, help: &str) -> ManifestError {
        self.src.wrong_type(
            self.key,
            self.table,
            expected,
            self.item.type_name(),
            self.span.clone(),
            help,
        )
    }

    fn invalid(&self, reason: &str, help: &str) -> ManifestError {
        self.src
            .invalid_value(self.key, self.table, self.span.clone(), reason, help)
    }

    fn string(&self, help: &str) -> Result<&str, ManifestError> {
        self.item
            .as_str()
            .ok_or_else(|| self.wrong_type("a string", help))
    }

    /// A string, or an integer kept as its decimal text (`timeout = 30`).
    fn string_or_integer(&self, help: &str) -> Result<String, ManifestError> {
        if let Some(text) = self.item.as_str() {
            return Ok(text.to_owned());
        }
        match self.item.as_integer() {
            Some(number) if number >= 0 => Ok(number.to_string()),
            Some(_) => Err(self.invalid("a negative number", help)),
            None => Err(self.wrong_type("a string or an integer", help)),
        }
    }

    fn integer(&self, min: u32, max: u32, what: &str) -> Result<u32, ManifestError> {
        let help = format!("`{}` is {what}: an integer from {min} to {max}", self.key);
        let number = self
            .item
            .as_integer()
            .ok_or_else(|| self.wrong_type("an integer", &help))?;
        u32::try_from(number)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.invalid(&format!("not between {min} and {max}"), &help))
    }

    fn one_of(&self, allowed: &[&str]) -> Result<String, ManifestError> {
        let list = allowed
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let help = format!("use one of {list}");
        let text = self.string(&help)?;
        if allowed.contains(&text) {
            Ok(text.to_owned())
        } else {
            let help = match diagnostics::suggest(text, allowed) {
                Some(close) => format!("did you mean \"{close}\"? Use one of {list}"),
                None => help,
            };
            Err(self.invalid(&format!("not one of {list}"), &help))
        }
    }

    /// A cooldown: a duration (`"7 days"`) or an RFC 3339 timestamp.
    fn exclude_newer(&self) -> Result<ExcludeNewer, ManifestError> {
        let text = self.string(cooldown::ACCEPTED_FORMS)?;
        ExcludeNewer::parse(text).map_err(|reason| self.invalid(&reason, cooldown::ACCEPTED_FORMS))
    }

    /// The strings of an array value, each with its own span (for an error about one item); a
    /// value that is not an array (`expected` names what is) or an item that is not a string is
    /// an error with `help`.
    fn string_items(
        &self,
        expected: &'static str,
        help: &str,
    ) -> Result<Vec<SpannedStr<'_>>, ManifestError> {
        let array = self
            .item
            .as_array()
            .ok_or_else(|| self.wrong_type(expected, help))?;
        array
            .iter()
            .map(|value| {
                let span = value.span().or(self.span.clone());
                match value.as_str() {
                    Some(text) => Ok((text, span)),
                    None => Err(self.src.wrong_type(
                        self.key,
                        self.table,
                        "a string",
                        value.type_name(),
                        span,
                        help,
                    )),
                }
            })
            .collect()
    }

    /// An array of fnmatch patterns; a bad one is reported at its own span.
    fn patterns(&self) -> Result<Vec<String>, ManifestError> {
        let help = format!(
            "write a list of fnmatch patterns, e.g. {} = [\"*.json\", \"*.safetensors\"]",
            self.key
        );
        let items = self.string_items("an array of strings", &help)?;
        let mut patterns = Vec::with_capacity(items.len());
        for (pattern, span) in items {
            check_pattern(pattern).map_err(|error| {
                self.src.invalid_value(
                    self.key,
                    self.table,
                    span.clone(),
                    &error.reason,
                    "patterns follow fnmatch: `*` matches anything including `/`, `?` one character, `[abc]` a class; a trailing `/` selects a folder",
                )
            })?;
            patterns.push(pattern.to_owned());
        }
        Ok(patterns)
    }
}

#[cfg(test)]
mod tests;
