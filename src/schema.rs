//! JSON Schemas of `models.toml`, `models.lock` and `config.toml`, for editors.
//!
//! Neither file format has serde types to derive a schema from: the manifest is validated by
//! hand over `toml_edit` (for spans and "did you mean" hints, see [`crate::manifest`]) and the
//! lock has its own deterministic codec ([`crate::lock`]). So this module declares small
//! document types that exist only to *describe* those formats, with `schemars` deriving the
//! schemas from them: kebab-case keys, no unknown keys, the doc comments below as the hover text
//! (kept in step with `models.example.toml`), enums, patterns and defaults.
//!
//! The generated files live in `schemas/` at the repository root, so that Taplo / Even Better
//! TOML can point at them (`.taplo.toml`). Tests keep the three in step: `tests/it/schemas.rs`
//! fails when a file in `schemas/` differs from what [`files`] renders (regenerate with
//! `HFDL_UPDATE_SCHEMAS=1 cargo nextest run -E 'test(/schemas/)'`), when a key set differs from
//! the one the parser accepts, and when a real manifest, lock or config does not validate.
//!
//! The schemas are draft-07 and fully inlined (no `$ref`): that is the dialect every TOML editor
//! integration understands, and hover text then sits right on each key.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

use crate::lock::metadata::WeightFormat;
use crate::lock::{LOCK_VERSION, OLDEST_LOCK_VERSION};
use crate::manifest::policy::{ALLOW_VALUES, PICKLE_VALUES, REMOTE_CODE_VALUES};
use crate::manifest::{LOG_FORMATS, LOG_LEVELS, PROGRESS_MODES, XET_MODES};
use crate::repo::RepoType;

/// The directory of the generated schemas, relative to the repository root.
pub const SCHEMA_DIR: &str = "schemas";

/// The schema of `models.toml`, in [`SCHEMA_DIR`].
pub const MANIFEST_SCHEMA_FILE: &str = "models.toml.schema.json";
/// The schema of `models.lock`, in [`SCHEMA_DIR`].
pub const LOCK_SCHEMA_FILE: &str = "models.lock.schema.json";
/// The schema of `config.toml`, in [`SCHEMA_DIR`].
pub const CONFIG_SCHEMA_FILE: &str = "config.toml.schema.json";

/// An entry name, as `manifest::is_valid_name` accepts it.
const NAME_PATTERN: &str = r"^[A-Za-z0-9_.-]+$";
/// A repo id: `name` or `namespace/name`, parts of 1–96 characters that neither start nor end
/// with `-` or `.` (hfdl also refuses `--`, `..` and a trailing `.git`).
const REPO_PATTERN: &str = r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?/)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$";
/// What git forbids in a ref name and hfdl checks without the network (`validate_revision`).
const REVISION_PATTERN: &str = r"^[^\s~^:?*\[\\]+$";
const COMMIT_PATTERN: &str = r"^[0-9a-f]{40}$";
const SHA256_PATTERN: &str = r"^[0-9a-f]{64}$";
/// A license id, as `manifest::policy` checks it.
const LICENSE_PATTERN: &str = r"^[A-Za-z0-9._+-]+$";
/// `manifest::policy::parse_size`: a number with a decimal or binary unit, or bytes.
const SIZE_PATTERN: &str = r"^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgGtT][iI]?[bB]|[bB])?\s*$";
const REQUIREMENT_PATTERN: &str = r"^sha256:[0-9a-f]{64}$";
/// `manifest::parse_rate`: a number with an optional binary K/M/G multiple, `B`/`iB`, `/s`.
const RATE_PATTERN: &str = r"^\s*[0-9]+(\.[0-9]+)?\s*[kKmMgG]?(i?B)?(/s)?\s*$";
/// `manifest::parse_duration`: an integer with an optional unit.
const DURATION_PATTERN: &str = r"^\s*[0-9]+\s*(s|ms|m|min|h)?\s*$";
/// `cooldown::ExcludeNewer::parse`: a duration such as `7 days` or `1 week, 2d`, or an RFC 3339
/// timestamp or bare date.
const EXCLUDE_NEWER_PATTERN: &str = r"^\s*(?:(?:[0-9]+\s*[A-Za-z]+\s*,?\s*)+|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2}))?\s*)$";

/// The Hugging Face Hub repositories a project needs. `hfdl sync` downloads them into the
/// standard Hugging Face cache and `hfdl lock` pins the exact commit and every file's hash in
/// models.lock. Commit both files. Keys are kebab-case; an unknown key is an error.
#[derive(JsonSchema)]
#[schemars(title = "models.toml", rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Describes a file; never constructed.
struct ManifestDocument {
    /// Each entry is a [models.NAME] table. NAME (letters, digits, `_`, `.`, `-`) is your handle
    /// for it: `hfdl path NAME` prints its snapshot directory. `hfdl add REPO` derives one for you.
    #[schemars(extend("propertyNames" = { "pattern": NAME_PATTERN }))]
    models: Option<BTreeMap<String, ModelEntry>>,
    /// Optional project-level settings: the same keys as config.toml. Precedence: flags >
    /// HFDL_* environment variables > [settings] here > config.toml > defaults.
    settings: Option<Settings>,
    /// The project's rules on what may be locked: licenses, pickle-based weights, remote code,
    /// size. `hfdl lock`, `add`, `sync` and `outdated` fail (exit 1, policy-violation) on a lock
    /// that breaks them, and write nothing. A [policy] in config.toml applies too: the stricter
    /// rule wins. An entry lifts a rule of this table with `allow` or `license`.
    policy: Option<PolicyTable>,
}

/// Rules on what may be locked; every key is optional (an absent rule allows everything).
#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Describes a file; never constructed.
struct PolicyTable {
    /// The licenses allowed: Hub license ids (the card's `license`), compared case-insensitively,
    /// e.g. `["apache-2.0", "mit"]`. List "unknown" to accept models whose card states none; a
    /// license "other" is accepted by "other" or by its `license_name`. Default: any license.
    licenses: Option<Vec<LicenseId>>,
    /// Pickle-based weights (.bin, .pt, .pth, .ckpt, .pkl, .pickle, .joblib), which run code
    /// when loaded: "deny" (a violation), "warn" or "allow". The usual fix is to exclude them
    /// (`exclude = ["*.bin"]`) when the repo has safetensors. Default: "allow".
    #[schemars(extend("default" = "allow"))]
    pickle: Option<PickleValue>,
    /// Models that run code from the repo when loaded (`auto_map` in a locked config.json, or
    /// locked Python files): "deny" or "allow". Default: "allow".
    #[schemars(extend("default" = "allow"))]
    remote_code: Option<RemoteCodeValue>,
    /// The most bytes one entry may lock: "40GB" (kB, MB, GB, TB: powers of 1000), "40GiB"
    /// (KiB, MiB, GiB, TiB) or an integer number of bytes. Default: none.
    max_size: Option<Size>,
}

/// A Hub repository this project needs.
#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Describes a file; never constructed.
struct ModelEntry {
    /// Required: the repo id on the Hub, `namespace/name` (or a bare `name`).
    #[schemars(regex(pattern = REPO_PATTERN))]
    repo: String,
    /// model (the default) | dataset | space
    #[schemars(extend("default" = "model"))]
    repo_type: Option<RepoType>,
    /// A branch, a tag, "refs/pr/N" or a full 40-hex commit. Default: "main". A branch or tag is
    /// resolved to a commit once, at lock time; `hfdl lock --upgrade-model NAME` moves the pin. A
    /// full commit hash pins exactly; nothing upstream can move it.
    #[schemars(regex(pattern = REVISION_PATTERN), extend("default" = "main"))]
    revision: Option<String>,
    /// Which files to take: fnmatch patterns, as `hf download --include`. `*` matches anything,
    /// `/` included (`data/*.json` matches `data/a/b.json`); `?` one character; `[abc]` /
    /// `[!abc]` a class; a trailing `/` selects a folder (`onnx/`). Matching is case-sensitive.
    /// Default: every file of the repo.
    include: Option<Vec<String>>,
    /// Files to leave out, same patterns. Exclude wins over include. Default: none.
    exclude: Option<Vec<String>>,
    /// Also materialise the files as a plain directory of real files (hardlinked from the cache
    /// when possible, else copied), relative to models.toml. For Docker images and tools that
    /// want a folder. It must stay inside the project and not overlap another entry's `dir`.
    #[schemars(length(min = 1))]
    dir: Option<String>,
    /// This entry's cooldown, instead of the one in [settings]: lock the newest commit that is at
    /// least this old. A duration ("7 days", "36h", "2 weeks", "30m" = minutes) or an RFC 3339
    /// timestamp ("2026-01-01T00:00:00Z"). Default: [settings]'.
    #[schemars(regex(pattern = EXCLUDE_NEWER_PATTERN))]
    exclude_newer: Option<String>,
    /// Rules of the project's [policy] this entry may break, on purpose: "pickle",
    /// "remote-code", "max-size". A rule of config.toml's [policy] is not lifted.
    allow: Option<Vec<AllowValue>>,
    /// A license (or a list) this entry may have although [policy] licenses does not list it,
    /// e.g. "llama3"; for a card's license "other", its `license_name`.
    license: Option<OneOrMoreLicenses>,
}

/// hfdl settings: the keys of config.toml, and of [settings] in models.toml. Precedence: flags >
/// HFDL_* environment variables > [settings] in models.toml > config.toml > defaults.
#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Describes a file; never constructed.
struct Settings {
    /// The Hugging Face cache to use; relative paths are relative to the file that sets it.
    /// Default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
    #[schemars(length(min = 1))]
    store: Option<String>,
    /// The Hub (or a mirror), an http(s) URL. Default: "https://huggingface.co" ($HF_ENDPOINT
    /// wins).
    #[schemars(regex(pattern = r"^https?://[^/\s]+"), extend("default" = "https://huggingface.co"))]
    endpoint: Option<String>,
    /// Files downloaded in parallel (1-256). Default: 8.
    #[schemars(range(min = 1, max = 256), extend("default" = 8))]
    jobs: Option<u32>,
    /// Connections per large file (1-64). Default: 1.
    #[schemars(range(min = 1, max = 64), extend("default" = 1))]
    connections: Option<u32>,
    /// Bandwidth cap in bytes per second: an integer, or a number with K, M or G ("50M").
    /// Default: none.
    limit_rate: Option<Rate>,
    /// Stall timeout: seconds, or a duration like "30s", "2m", "500ms". Default: "30s".
    #[schemars(extend("default" = "30s"))]
    timeout: Option<Duration>,
    /// Retries after a network error, a 5xx or a 429 (0-100). Default: 4.
    #[schemars(range(min = 0, max = 100), extend("default" = 4))]
    retries: Option<u32>,
    /// How to show progress: "auto" (bars on a terminal, a line every 10 s elsewhere), "bars",
    /// "lines" or "off"; true = "auto", false = "off". Default: "auto".
    #[schemars(extend("default" = "auto"))]
    progress: Option<Progress>,
    /// How much to log to stderr: off | error | warn | info | debug | trace. Default: "warn".
    #[schemars(extend("default" = "warn"))]
    log_level: Option<LogLevel>,
    /// Log line format: text | json. Default: "text".
    #[schemars(extend("default" = "text"))]
    log_format: Option<LogFormat>,
    /// Cooldown (supply-chain safety): lock the newest commit of a branch or tag that is at least
    /// this old, so a commit pushed minutes ago is not taken yet. A duration ("7 days", "36h",
    /// "2 weeks", "30m" = minutes) or an RFC 3339 timestamp ("2026-01-01T00:00:00Z": nothing
    /// dated after it). Applies when an entry is (re)locked; a 40-hex `revision` is used as is.
    /// Default: none.
    #[schemars(regex(pattern = EXCLUDE_NEWER_PATTERN))]
    exclude_newer: Option<String>,
    /// A shared blob store on S3-compatible object storage, read before the Hub: "s3://BUCKET"
    /// or "s3://BUCKET/PREFIX". The engine and credentials follow the AWS conventions
    /// (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE).
    /// Objects are keyed by content hash, so one bucket serves every project. Default: none.
    #[schemars(regex(pattern = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"))]
    blob_store: Option<String>,
    /// Upload each blob a sync fetched from the Hub to the blob store (config.toml only: a
    /// project cannot turn it on). Default: false.
    #[schemars(extend("default" = false))]
    publish: Option<bool>,
    /// Download Xet-backed files over the Xet protocol (content-defined chunks, each file
    /// verified by its Xet hash and its sha256): "auto" (over Xet, the plain download through
    /// the Hub's bridge when Xet fails), "on" (a Xet failure fails the file) or "off" (always
    /// the bridge; HF_HUB_DISABLE_XET=1 sets it). Default: "auto".
    #[schemars(extend("default" = "auto"))]
    xet: Option<Xet>,
}

/// The exact commit and the hash of every file, for each models.toml entry. Written by
/// `hfdl lock`; do not edit it by hand. Commit it next to models.toml.
#[derive(JsonSchema)]
#[schemars(title = "models.lock", rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Describes a file; never constructed.
struct LockDocument {
    /// The lockfile format's major version: 3 when a file records its Xet hash, else 2 when an
    /// entry records its metadata (license, formats, remote code), else 1. An hfdl that does
    /// not know it refuses the file.
    #[schemars(range(min = OLDEST_LOCK_VERSION, max = LOCK_VERSION))]
    version: u32,
    /// One locked entry per models.toml entry, sorted by name.
    model: Option<Vec<LockedModel>>,
}

/// One models.toml entry, resolved.
#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)] // Describes a file; never constructed.
struct LockedModel {
    /// The entry's name in models.toml.
    name: String,
    /// The repo id on the Hub.
    #[schemars(regex(pattern = REPO_PATTERN))]
    repo: String,
    /// model | dataset | space
    repo_type: RepoType,
    /// The revision models.toml asks for (branch, tag, "refs/pr/N" or commit).
    revision: String,
    /// The commit the revision resolved to: 40 lowercase hex characters.
    #[schemars(regex(pattern = COMMIT_PATTERN))]
    commit: String,
    /// Fingerprint of the models.toml entry this was resolved from, so `--locked` can tell
    /// without the network whether the entry changed.
    #[schemars(regex(pattern = REQUIREMENT_PATTERN))]
    requirement: String,
    /// The license the card states at the commit (a Hub license id; a list when it names
    /// several). Absent: none stated, or no readable card ("unknown").
    license: Option<OneOrMoreLicenses>,
    /// The card's `license_name`, for a license "other".
    license_name: Option<String>,
    /// The card's `license_link`, for a license "other".
    license_link: Option<String>,
    /// Whether the repo's files need the authors' approval: no | auto | manual.
    gated: Option<GatedValue>,
    /// The library that loads the model (the Hub's `library_name`).
    library_name: Option<String>,
    /// The models it derives from (the card's `base_model`).
    base_model: Option<Vec<String>>,
    /// The weight formats among the locked files, by name: gguf, onnx, pickle, safetensors.
    formats: Option<Vec<FormatValue>>,
    /// Whether loading runs code from the repo: "no"; "auto-map" (config.json maps Auto classes
    /// to the repo's code: trust_remote_code); "python" (Python files are locked); "unknown"
    /// (config.json is locked but could not be read).
    remote_code: Option<RemoteCodeState>,
    /// Every locked file, sorted by path.
    files: Vec<LockedFile>,
}

/// One file of a locked entry, with exactly one content hash.
#[derive(JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("oneOf" = [{ "required": ["sha256"] }, { "required": ["git-sha1"] }]))]
#[allow(dead_code)] // Describes a file; never constructed.
struct LockedFile {
    /// The path inside the repository.
    path: String,
    /// The size in bytes.
    size: u64,
    /// SHA-256 of an LFS/Xet file (the Hub's LFS oid), 64 lowercase hex characters.
    #[schemars(regex(pattern = SHA256_PATTERN))]
    sha256: Option<String>,
    /// Git blob id of a regular file, 40 lowercase hex characters.
    #[schemars(regex(pattern = COMMIT_PATTERN))]
    git_sha1: Option<String>,
    /// The Xet hash of a file stored in Xet (the Hub's `xetHash`), 64 lowercase hex
    /// characters; only beside `sha256`, and only from lock version 3.
    #[schemars(regex(pattern = SHA256_PATTERN))]
    xet_hash: Option<String>,
}

/// Value types whose schema is written by hand, from the lists and forms the parser accepts.
macro_rules! value_schema {
    ($(#[$doc:meta])* $name:ident => $schema:tt) => {
        $(#[$doc])*
        struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

value_schema!(
    /// One of [`LOG_LEVELS`].
    LogLevel => { "type": "string", "enum": LOG_LEVELS }
);

value_schema!(
    /// One of [`PROGRESS_MODES`], or a boolean.
    Progress => {
        "anyOf": [
            { "type": "string", "enum": PROGRESS_MODES },
            { "type": "boolean" },
        ]
    }
);

value_schema!(
    /// A Hub license id, as `[policy] licenses` and an entry's `license` take it.
    LicenseId => { "type": "string", "pattern": LICENSE_PATTERN }
);

value_schema!(
    /// A license id or a list of them.
    OneOrMoreLicenses => {
        "anyOf": [
            { "type": "string", "pattern": LICENSE_PATTERN },
            { "type": "array", "items": { "type": "string", "pattern": LICENSE_PATTERN } },
        ]
    }
);

value_schema!(
    /// One of [`PICKLE_VALUES`].
    PickleValue => { "type": "string", "enum": PICKLE_VALUES }
);

value_schema!(
    /// One of [`REMOTE_CODE_VALUES`].
    RemoteCodeValue => { "type": "string", "enum": REMOTE_CODE_VALUES }
);

value_schema!(
    /// One of [`ALLOW_VALUES`].
    AllowValue => { "type": "string", "enum": ALLOW_VALUES }
);

value_schema!(
    /// `manifest::policy::parse_size`, or an integer number of bytes.
    Size => {
        "anyOf": [
            { "type": "string", "pattern": SIZE_PATTERN },
            { "type": "integer", "minimum": 1 },
        ]
    }
);

value_schema!(
    /// `Gating::as_str`.
    GatedValue => { "type": "string", "enum": ["no", "auto", "manual"] }
);

value_schema!(
    /// `WeightFormat::as_str`.
    FormatValue => { "type": "string", "enum": WeightFormat::ALL.map(WeightFormat::as_str) }
);

value_schema!(
    /// `RemoteCode::as_str`.
    RemoteCodeState => { "type": "string", "enum": ["no", "auto-map", "python", "unknown"] }
);

value_schema!(
    /// One of [`XET_MODES`].
    Xet => { "type": "string", "enum": XET_MODES }
);

value_schema!(
    /// One of [`LOG_FORMATS`].
    LogFormat => { "type": "string", "enum": LOG_FORMATS }
);

value_schema!(
    /// `manifest::parse_rate`, or an integer number of bytes (`limit-rate = 1048576`).
    Rate => {
        "anyOf": [
            { "type": "string", "pattern": RATE_PATTERN },
            { "type": "integer", "minimum": 1 },
        ]
    }
);

value_schema!(
    /// `manifest::parse_duration`, or an integer number of seconds (`timeout = 30`).
    Duration => {
        "anyOf": [
            { "type": "string", "pattern": DURATION_PATTERN },
            { "type": "integer", "minimum": 1 },
        ]
    }
);

/// The schema of `models.toml`.
pub fn manifest_schema() -> Value {
    let mut schema = generate::<ManifestDocument>();
    // `publish` is the machine's decision (config.toml, HFDL_PUBLISH, `--publish`): a project
    // cannot set it, and hfdl refuses it in [settings].
    if let Some(settings) = schema["properties"]["settings"]["properties"].as_object_mut() {
        for key in crate::manifest::MACHINE_ONLY_SETTINGS {
            settings.remove(*key);
        }
    }
    schema
}

/// The schema of `models.lock`.
pub fn lock_schema() -> Value {
    generate::<LockDocument>()
}

/// The schema of `config.toml`: the `[settings]` keys at the top level, and a `[policy]`.
pub fn config_schema() -> Value {
    let mut schema = generate::<Settings>();
    schema["title"] = "config.toml".into();
    let mut policy = generate::<PolicyTable>();
    if let Some(policy) = policy.as_object_mut() {
        policy.remove("$schema");
        policy.remove("title");
        policy.insert(
            "description".into(),
            "This person's or machine's rules on what may be locked, in every project: licenses, pickle-based weights, remote code, size. They apply besides the project's [policy] (the stricter rule wins), and no entry of models.toml lifts them.".into(),
        );
    }
    schema["properties"]["policy"] = policy;
    schema
}

/// The three schema files: the name in [`SCHEMA_DIR`] and the exact bytes to write.
pub fn files() -> Vec<(&'static str, String)> {
    vec![
        (MANIFEST_SCHEMA_FILE, render(&manifest_schema())),
        (LOCK_SCHEMA_FILE, render(&lock_schema())),
        (CONFIG_SCHEMA_FILE, render(&config_schema())),
    ]
}

/// Deterministic text: keys sorted at every level (whatever serde_json's map order), two-space
/// indentation, a trailing newline.
pub fn render(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(schema.clone()))
        .unwrap_or_else(|e| unreachable!("a JSON value always serialises: {e}"));
    text.push('\n');
    text
}

fn generate<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft07().with(|s| s.inline_subschemas = true);
    let mut value = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    toml_shape(&mut value);
    value
}

/// Adapts what schemars derives for JSON to TOML: TOML has no null, so the `null` that an
/// `Option` field allows is removed (an editor would otherwise offer it), and the non-standard
/// `uint32`/`uint64` formats go (strict validators reject unknown formats; the ranges stay).
/// Doc comments are wrapped at 100 columns; their lines are joined into one paragraph.
fn toml_shape(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if object
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
            {
                object.remove("format");
            }
            if let Some(Value::String(description)) = object.get_mut("description") {
                *description = description.replace('\n', " ");
            }
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    object.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(values)) = object.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            if let Some(Value::Array(options)) = object.get_mut("anyOf") {
                options.retain(|o| o.get("type").is_none_or(|t| t != "null"));
                if options.len() == 1
                    && let Value::Object(only) = options.remove(0)
                {
                    object.remove("anyOf");
                    for (key, inner) in only {
                        object.entry(key).or_insert(inner);
                    }
                }
            }
            object.values_mut().for_each(toml_shape);
        }
        Value::Array(items) => items.iter_mut().for_each(toml_shape),
        _ => {}
    }
}

/// `value` with every object's keys in sorted order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, inner)| (key, sorted(inner)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{MODEL_KEYS, SETTINGS_KEYS, TOP_LEVEL_KEYS};

    /// The property names of the object schema at `pointer`, sorted.
    fn keys(schema: &Value, pointer: &str) -> Vec<String> {
        let properties = schema
            .pointer(&format!("{pointer}/properties"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("no properties at {pointer}"));
        let mut keys: Vec<String> = properties.keys().cloned().collect();
        keys.sort();
        keys
    }

    fn sorted_list(list: &[&str]) -> Vec<String> {
        let mut list: Vec<String> = list.iter().map(|&k| k.to_owned()).collect();
        list.sort();
        list
    }

    #[test]
    fn the_manifest_schema_has_exactly_the_keys_the_parser_accepts() {
        let schema = manifest_schema();
        assert_eq!(keys(&schema, ""), sorted_list(TOP_LEVEL_KEYS));
        assert_eq!(
            keys(&schema, "/properties/models/additionalProperties"),
            sorted_list(MODEL_KEYS)
        );
        let project_settings: Vec<&str> = SETTINGS_KEYS
            .iter()
            .copied()
            .filter(|key| !crate::manifest::MACHINE_ONLY_SETTINGS.contains(key))
            .collect();
        assert_eq!(
            keys(&schema, "/properties/settings"),
            sorted_list(&project_settings)
        );
        assert_eq!(
            keys(&schema, "/properties/policy"),
            sorted_list(crate::manifest::policy::POLICY_KEYS)
        );
    }

    #[test]
    fn the_config_schema_has_exactly_the_settings_keys_and_a_policy() {
        let mut expected = sorted_list(SETTINGS_KEYS);
        expected.push("policy".to_owned());
        expected.sort();
        assert_eq!(keys(&config_schema(), ""), expected);
        assert_eq!(
            keys(&config_schema(), "/properties/policy"),
            sorted_list(crate::manifest::policy::POLICY_KEYS)
        );
    }

    #[test]
    fn every_object_in_the_schemas_refuses_unknown_keys() {
        fn check(value: &Value, at: &str) {
            match value {
                Value::Object(object) => {
                    if object.contains_key("properties") {
                        assert_eq!(object["additionalProperties"], false, "{at}");
                    }
                    for (key, inner) in object {
                        check(inner, &format!("{at}/{key}"));
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| check(i, at)),
                _ => {}
            }
        }
        for (name, text) in files() {
            check(&serde_json::from_str(&text).unwrap(), name);
        }
    }

    #[test]
    fn no_schema_allows_null_which_toml_cannot_express() {
        for (name, text) in files() {
            assert!(!text.contains("null"), "{name}:\n{text}");
        }
    }

    #[test]
    fn rendering_sorts_keys_at_every_level_and_ends_with_a_newline() {
        let value = serde_json::json!({ "b": 1, "a": { "d": [{ "f": 1, "e": 2 }], "c": 2 } });
        assert_eq!(
            render(&value),
            "{\n  \"a\": {\n    \"c\": 2,\n    \"d\": [\n      {\n        \"e\": 2,\n        \"f\": 1\n      }\n    ]\n  },\n  \"b\": 1\n}\n"
        );
    }
}
