//! Repo cards: the YAML front matter of a repo's `README.md` (license, tags, gating text, …),
//! read as JSON, with the reason when it cannot be read.
//!
//! The front matter is found with the Hub's own rule (huggingface_hub's `REGEX_YAML_BLOCK` in
//! `repocard.py`, "the exact same regex as in the Hub server"): at the very start of the file,
//! after optional whitespace, a `---` line, the YAML, and a closing `---` line. The Hub serves
//! what it parsed as `cardData` in the repo info; hfdl reads the README itself only when that is
//! missing (a mirror that omits it, or YAML the Hub could not parse), to say why. YAML 1.2 (the
//! `saphyr` crate); PyYAML, which the Hub's Python clients use, reads YAML 1.1, which differs
//! only in rarely used scalars (`yes`/`no` are strings here).

use std::sync::OnceLock;

use regex::Regex;
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value};

/// What a README's front matter holds.
#[derive(Debug, Clone, PartialEq)]
pub enum CardMetadata {
    /// The README has no front matter block.
    Missing,
    /// The metadata, as JSON (a mapping; empty for an empty block).
    Parsed(Map<String, Value>),
    /// There is a block, but it is not a YAML mapping: why, with the line in README.md.
    Invalid(String),
}

/// The Hub's front-matter rule: `---`, the YAML (group 2), a closing `---` line.
fn block_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        // An invariant: the pattern is a constant that compiles (the unit tests run it).
        Regex::new(r"\A(\s*---(?:\r\n|\r|\n))([\s\S]*?)((?:\r\n|\r|\n)---[ \t]*(?:\r\n|\n|\z))")
            .expect("the front-matter pattern compiles")
    })
}

/// Reads the metadata of a README.
pub fn parse_readme(readme: &str) -> CardMetadata {
    let Some(captures) = block_regex().captures(readme) else {
        return CardMetadata::Missing;
    };
    let (Some(opening), Some(block)) = (captures.get(1), captures.get(2)) else {
        return CardMetadata::Missing;
    };
    // README.md's line of the block's first line (1-based).
    let first_line = opening.as_str().matches('\n').count() + 1;
    match parse_yaml_mapping(block.as_str()) {
        Ok(map) => CardMetadata::Parsed(map),
        Err(YamlError::Syntax { message, line, col }) => CardMetadata::Invalid(format!(
            "{message} (README.md line {}, column {col})",
            line + first_line - 1
        )),
        Err(YamlError::NotAMapping(kind)) => CardMetadata::Invalid(format!(
            "the front matter is {kind}, not a mapping of keys to values"
        )),
    }
}

/// Why a YAML text is not a metadata mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlError {
    /// It does not parse: the parser's message, the 1-based line and column in the text.
    Syntax {
        /// What the parser says.
        message: String,
        /// 1-based line in the YAML text.
        line: usize,
        /// 1-based column.
        col: usize,
    },
    /// It parses, but to something else than a mapping (`a list`, `a string`, …).
    NotAMapping(&'static str),
}

/// Parses YAML whose first document must be a mapping (an empty text is an empty mapping).
pub fn parse_yaml_mapping(text: &str) -> Result<Map<String, Value>, YamlError> {
    let documents = Yaml::load_from_str(text).map_err(|error| YamlError::Syntax {
        message: error.info().to_owned(),
        line: error.marker().line(),
        col: error.marker().col() + 1,
    })?;
    match documents.first().map(to_json) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(Value::Array(_)) => Err(YamlError::NotAMapping("a list")),
        Some(Value::String(_)) => Err(YamlError::NotAMapping("a string")),
        Some(Value::Number(_)) => Err(YamlError::NotAMapping("a number")),
        Some(Value::Bool(_)) => Err(YamlError::NotAMapping("a boolean")),
    }
}

/// A YAML node as JSON: mapping keys become strings, tags are dropped, aliases (which the
/// parser does not resolve) and bad values become `null`, and non-finite floats strings.
pub fn to_json(node: &Yaml<'_>) -> Value {
    match node {
        Yaml::Value(scalar) => scalar_to_json(scalar),
        Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(mapping) => Value::Object(
            mapping
                .iter()
                .map(|(key, value)| (key_text(key), to_json(value)))
                .collect(),
        ),
        Yaml::Tagged(_, inner) => to_json(inner),
        Yaml::Alias(_) | Yaml::BadValue => Value::Null,
    }
}

fn scalar_to_json(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => serde_json::Number::from_f64(f.into_inner())
            .map_or_else(|| Value::String(f.into_inner().to_string()), Value::Number),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

/// A mapping key as text: strings as they are, other scalars as JSON, collections as JSON.
fn key_text(key: &Yaml<'_>) -> String {
    match to_json(key) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The license a card states: `license` (a string, or a list joined with `, `); `other` with
/// its `license_name` when the card gives one.
pub fn license(metadata: &Map<String, Value>) -> Option<String> {
    let license = match metadata.get("license")? {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => return None,
    };
    if license.is_empty() {
        return None;
    }
    match metadata.get("license_name").and_then(Value::as_str) {
        Some(name) if license == "other" => Some(format!("other ({name})")),
        _ => Some(license),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_found_as_the_hub_finds_it() {
        let readme = "---\nlicense: mit\ntags:\n  - a\n  - b\nlanguage: [en, de]\nsize: 3\nratio: 0.5\nok: true\n---\n# Title\n";
        let CardMetadata::Parsed(map) = parse_readme(readme) else {
            panic!("not parsed");
        };
        assert_eq!(
            Value::Object(map.clone()),
            serde_json::json!({"license": "mit", "tags": ["a", "b"], "language": ["en", "de"], "size": 3, "ratio": 0.5, "ok": true})
        );
        assert_eq!(license(&map).as_deref(), Some("mit"));
        // Leading blank lines and CRLF line ends, and a closing line at the end of the file.
        assert!(matches!(
            parse_readme("\n\n---\r\nlicense: apache-2.0\r\n---"),
            CardMetadata::Parsed(map) if map["license"] == "apache-2.0"
        ));
        // No block, or a block that is not at the top.
        assert_eq!(parse_readme("# Title\n"), CardMetadata::Missing);
        assert_eq!(
            parse_readme("# T\n---\nlicense: mit\n---\n"),
            CardMetadata::Missing
        );
        assert_eq!(parse_readme("---\nlicense: mit\n"), CardMetadata::Missing);
    }

    #[test]
    fn broken_yaml_says_where() {
        let readme = "---\nlicense: mit\ntags: [a, b\n---\nbody\n";
        let CardMetadata::Invalid(why) = parse_readme(readme) else {
            panic!("{:?}", parse_readme(readme));
        };
        assert!(why.contains("README.md line"), "{why}");
        assert_eq!(
            parse_readme("---\n- a\n- b\n---\n"),
            CardMetadata::Invalid(
                "the front matter is a list, not a mapping of keys to values".into()
            )
        );
        let CardMetadata::Invalid(why) = parse_readme("---\nlicense: mit\n  bad: indent\n---\n")
        else {
            panic!("bad indentation parsed");
        };
        assert!(why.contains("line 3"), "{why}");
    }

    #[test]
    fn licenses_as_cards_write_them() {
        let map = |value: Value| value.as_object().unwrap().clone();
        assert_eq!(
            license(&map(serde_json::json!({"license": ["mit", "apache-2.0"]}))).as_deref(),
            Some("mit, apache-2.0")
        );
        assert_eq!(
            license(&map(
                serde_json::json!({"license": "other", "license_name": "llama3"})
            ))
            .as_deref(),
            Some("other (llama3)")
        );
        assert_eq!(license(&map(serde_json::json!({"tags": ["x"]}))), None);
    }
}
