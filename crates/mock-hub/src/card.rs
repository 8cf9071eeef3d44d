//! Repo cards as the Hub reads them: the YAML front matter of a commit's `README.md` becomes
//! `cardData` in the repo info (omitted when there is none or it does not parse), and its
//! `license`, `tags`, `datasets`, `language`, `library_name` and `pipeline_tag` become tags and
//! fields of the info and of search results (`license:mit`, `dataset:squad`, `en`).
//!
//! The front matter is found with the Hub's rule (huggingface_hub `repocard.py`,
//! `REGEX_YAML_BLOCK`, "the exact same regex as in the Hub server"). The YAML → JSON conversion
//! mirrors hfdl's `card` module; the mock keeps its own copy so that it depends on no hfdl code.

use std::sync::OnceLock;

use regex::Regex;
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value};

use crate::fixtures::{Commit, Fixtures, Repo};

fn block_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        Regex::new(r"\A(\s*---(?:\r\n|\r|\n))([\s\S]*?)((?:\r\n|\r|\n)---[ \t]*(?:\r\n|\n|\z))")
            .expect("constant pattern")
    })
}

/// The metadata of a README, when it has a front matter block that is a YAML mapping.
pub fn metadata(readme: &str) -> Option<Map<String, Value>> {
    let block = block_regex().captures(readme)?.get(2)?.as_str();
    let documents = Yaml::load_from_str(block).ok()?;
    match documents.first().map(to_json) {
        None | Some(Value::Null) => Some(Map::new()),
        Some(Value::Object(map)) => Some(map),
        Some(_) => None,
    }
}

/// The card metadata at `commit`: its README.md's front matter (small files only).
pub fn card_data(fixtures: &Fixtures, commit: &Commit) -> Option<Map<String, Value>> {
    let readme = commit.files.get("README.md")?;
    if readme.size > 1 << 20 {
        return None;
    }
    let bytes = fixtures.read_object(&readme.content_sha256).ok()?;
    metadata(&String::from_utf8_lossy(&bytes))
}

/// What the Hub shows of a model's config.json at `commit` (its `config` field): the keys it
/// reads from the file (`architectures`, `model_type`, `auto_map`, …), when config.json is a
/// small JSON object.
pub fn config(fixtures: &Fixtures, commit: &Commit) -> Option<Map<String, Value>> {
    const KEYS: &[&str] = &[
        "architectures",
        "model_type",
        "auto_map",
        "quantization_config",
        "task_specific_params",
    ];
    let file = commit.files.get("config.json")?;
    if file.size > 1 << 20 {
        return None;
    }
    let bytes = fixtures.read_object(&file.content_sha256).ok()?;
    let Value::Object(config) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    Some(
        config
            .into_iter()
            .filter(|(key, _)| KEYS.contains(&key.as_str()))
            .collect(),
    )
}

fn to_json(node: &Yaml<'_>) -> Value {
    match node {
        Yaml::Value(scalar) => match scalar {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::from(*i),
            Scalar::FloatingPoint(f) => serde_json::Number::from_f64(f.into_inner())
                .map_or_else(|| Value::String(f.into_inner().to_string()), Value::Number),
            Scalar::String(s) => Value::String(s.to_string()),
        },
        Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(mapping) => Value::Object(
            mapping
                .iter()
                .map(|(key, value)| {
                    let key = match to_json(key) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
        Yaml::Tagged(_, inner) => to_json(inner),
        Yaml::Alias(_) | Yaml::BadValue => Value::Null,
    }
}

/// A card field that is a string or a list of strings.
fn strings(card: &Map<String, Value>, key: &str) -> Vec<String> {
    match card.get(key) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// What the Hub shows for a repo at a commit: its tags, library and pipeline tag, from the
/// fixture's metadata and the card.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub card: Option<Map<String, Value>>,
    pub tags: Vec<String>,
    pub library_name: Option<String>,
    pub pipeline_tag: Option<String>,
}

/// The tags, library and pipeline tag of `repo` at `commit` (none: an empty repo).
pub fn derive(fixtures: &Fixtures, repo: &Repo, commit: Option<&Commit>) -> Derived {
    let card = commit.and_then(|c| card_data(fixtures, c));
    let empty = Map::new();
    let fields = card.as_ref().unwrap_or(&empty);
    let first = |key: &str| strings(fields, key).into_iter().next();
    let library_name = first("library_name").or_else(|| repo.meta.library_name.clone());
    let pipeline_tag = first("pipeline_tag").or_else(|| repo.meta.pipeline_tag.clone());
    let mut tags: Vec<String> = repo.meta.tags.clone();
    tags.extend(library_name.iter().cloned());
    tags.extend(pipeline_tag.iter().cloned());
    tags.extend(strings(fields, "tags"));
    tags.extend(strings(fields, "language"));
    tags.extend(
        strings(fields, "datasets")
            .into_iter()
            .map(|d| format!("dataset:{d}")),
    );
    tags.extend(
        strings(fields, "license")
            .into_iter()
            .map(|l| format!("license:{l}")),
    );
    let mut seen = std::collections::BTreeSet::new();
    tags.retain(|tag| seen.insert(tag.clone()));
    Derived {
        card,
        tags,
        library_name,
        pipeline_tag,
    }
}
