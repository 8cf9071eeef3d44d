//! `[policy]`: the rules a project (models.toml) or a person or machine (config.toml) sets on
//! what may be locked, and the exceptions an entry of models.toml carries (`allow`, `license`).
//!
//! This module parses and validates them, with the same diagnostics as every other key (a span
//! into the file, "did you mean"); [`crate::policy`] checks a lock against them.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use toml_edit::{Item, Key, TableLike};

use super::diagnostics::{Source, suggest};
use super::{Field, ManifestError};

/// The keys allowed in `[policy]`.
pub const POLICY_KEYS: &[&str] = &["licenses", "pickle", "remote-code", "max-size"];

/// The values of `pickle`.
pub const PICKLE_VALUES: &[&str] = &["deny", "warn", "allow"];

/// The values of `remote-code`.
pub const REMOTE_CODE_VALUES: &[&str] = &["deny", "allow"];

/// The rules an entry's `allow = [...]` may lift (a license is accepted with `license = "ID"`).
pub const ALLOW_VALUES: &[&str] = &["pickle", "remote-code", "max-size"];

/// How `max-size` may be written, for messages.
pub const SIZE_FORMS: &str = "use a size like \"40GB\" (decimal: kB, MB, GB, TB) or \"40GiB\" (binary: KiB, MiB, GiB, TiB), or an integer number of bytes";

/// One rule of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// `licenses`: the allow-list of the card's license.
    License,
    /// `pickle`: weights in a pickle-based format, which can run code when loaded.
    Pickle,
    /// `remote-code`: a model whose loading runs code from the repo (`trust_remote_code`).
    RemoteCode,
    /// `max-size`: the total size of an entry's files.
    MaxSize,
}

impl Rule {
    /// The rule's key in `[policy]`.
    pub fn key(self) -> &'static str {
        match self {
            Rule::License => "licenses",
            Rule::Pickle => "pickle",
            Rule::RemoteCode => "remote-code",
            Rule::MaxSize => "max-size",
        }
    }

    /// The rule as `allow = [...]` names it (`license` for the license rule, which is lifted
    /// with `license = "ID"` instead).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::License => "license",
            Rule::Pickle => "pickle",
            Rule::RemoteCode => "remote-code",
            Rule::MaxSize => "max-size",
        }
    }

    /// The rule an `allow` value names.
    pub fn from_allow(name: &str) -> Option<Rule> {
        match name {
            "pickle" => Some(Rule::Pickle),
            "remote-code" => Some(Rule::RemoteCode),
            "max-size" => Some(Rule::MaxSize),
            _ => None,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `pickle` says about pickle-based weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PickleRule {
    /// A violation.
    Deny,
    /// A warning; the lock is written.
    Warn,
    /// Fine (the same as no `pickle` key).
    Allow,
}

/// What `remote-code` says about models whose loading runs code from the repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteCodeRule {
    /// A violation.
    Deny,
    /// Fine (the same as no `remote-code` key).
    Allow,
}

/// `max-size`: bytes, and the text as written (for messages).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MaxSize {
    /// The limit in bytes.
    pub bytes: u64,
    /// As written: `"40GB"`.
    pub text: String,
}

/// A `[policy]` table. Every rule is optional; an absent one allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    /// The licenses allowed (Hub license ids, compared case-insensitively); `unknown` must be
    /// listed for a model whose card states no license. `None`: any license.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<String>>,
    /// Pickle-based weights (`.bin`, `.pt`, `.pth`, `.ckpt`, `.pkl`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickle: Option<PickleRule>,
    /// Models that need `trust_remote_code` (`auto_map` in config.json) or ship Python files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_code: Option<RemoteCodeRule>,
    /// The most bytes one entry may lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<MaxSize>,
}

impl Policy {
    /// Whether no rule is set: such a policy allows everything.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }
}

/// An entry's exceptions: `allow = ["pickle", …]` and `license = "ID"` (or a list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exceptions {
    /// The rules lifted for this entry, sorted.
    pub allow: BTreeSet<Rule>,
    /// Licenses accepted for this entry besides the allow-list, as written.
    pub licenses: Vec<String>,
}

impl Exceptions {
    /// Whether the entry has none.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.licenses.is_empty()
    }
}

/// Parses a size: an integer number of bytes, or a number with a unit, decimal (`kB`, `MB`,
/// `GB`, `TB`, as the Hub shows sizes) or binary (`KiB`, `MiB`, `GiB`, `TiB`); case and spaces
/// do not matter, a bare `K`/`M`/`G` is refused as ambiguous.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let unit = unit.trim().to_ascii_lowercase();
    let multiplier: f64 = match unit.as_str() {
        // Bytes are whole.
        "" | "b" => return number.parse().ok(),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number.parse::<f64>().ok()? * multiplier;
    (bytes.is_finite() && bytes < 1e19).then(|| bytes.round() as u64)
}

/// Whether `text` looks like a license id (`apache-2.0`, `cc-by-nc-4.0`, `llama3.1`, `other`).
fn is_license_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '+'))
}

/// Validates a `[policy]` table (of models.toml or config.toml).
pub(crate) fn policy_table(
    src: &Source<'_>,
    item: &Item,
    key_span: Option<Range<usize>>,
) -> Result<Policy, ManifestError> {
    let table_name = "[policy]";
    let table: &dyn TableLike = item.as_table_like().ok_or_else(|| {
        src.wrong_type(
            "policy",
            "the top level",
            "a table",
            item.type_name(),
            item.span().or(key_span),
            "write the rules as a [policy] table, e.g. `[policy]` then `pickle = \"deny\"`",
        )
    })?;
    let mut policy = Policy::default();
    for (key, value) in table.iter() {
        let key_span = table.key(key).and_then(Key::span);
        let field = Field {
            src,
            key,
            table: table_name,
            item: value,
            span: value.span().or(key_span.clone()),
        };
        match key {
            "licenses" => policy.licenses = Some(license_list(&field)?),
            "pickle" => {
                policy.pickle = Some(match field.one_of(PICKLE_VALUES)?.as_str() {
                    "deny" => PickleRule::Deny,
                    "warn" => PickleRule::Warn,
                    _ => PickleRule::Allow,
                });
            }
            "remote-code" => {
                policy.remote_code = Some(match field.one_of(REMOTE_CODE_VALUES)?.as_str() {
                    "deny" => RemoteCodeRule::Deny,
                    _ => RemoteCodeRule::Allow,
                });
            }
            "max-size" => {
                let text = field.string_or_integer(SIZE_FORMS)?;
                let bytes = parse_size(&text)
                    .filter(|bytes| *bytes > 0)
                    .ok_or_else(|| field.invalid("not a positive size", SIZE_FORMS))?;
                policy.max_size = Some(MaxSize { bytes, text });
            }
            other => return Err(src.unknown_key(other, table_name, POLICY_KEYS, key_span)),
        }
    }
    Ok(policy)
}

/// `licenses = [...]` of `[policy]`.
fn license_list(field: &Field<'_, '_>) -> Result<Vec<String>, ManifestError> {
    let help = "list the Hub license ids you accept, e.g. licenses = [\"apache-2.0\", \"mit\"]; add \"unknown\" to accept models whose card states none";
    let items = field.string_items("an array of strings", help)?;
    let mut licenses = Vec::with_capacity(items.len());
    for (id, span) in items {
        if !is_license_id(id) {
            return Err(field.src.invalid_value(
                field.key,
                field.table,
                span,
                "not a license id",
                "a license id is a Hub license like \"apache-2.0\", \"mit\", \"cc-by-4.0\", \"llama3\" or \"unknown\"",
            ));
        }
        licenses.push(id.to_owned());
    }
    Ok(licenses)
}

/// `allow = [...]` of a `[models.NAME]` entry.
pub(super) fn allow_list(field: &Field<'_, '_>) -> Result<BTreeSet<Rule>, ManifestError> {
    let help = "list the rules this entry may break: \"pickle\", \"remote-code\", \"max-size\" (a license is accepted with `license = \"ID\"`)";
    let mut allow = BTreeSet::new();
    for (name, span) in field.string_items("an array of strings", help)? {
        let Some(rule) = Rule::from_allow(name) else {
            let help = if matches!(name, "license" | "licenses") {
                "a license is accepted one at a time, by name: write `license = \"ID\"` (e.g. license = \"llama3\") in this entry".to_owned()
            } else {
                match suggest(name, ALLOW_VALUES) {
                    Some(close) => format!("did you mean \"{close}\"? {help}"),
                    None => help.to_owned(),
                }
            };
            return Err(field.src.invalid_value(
                field.key,
                field.table,
                span,
                "not a rule an entry can lift",
                &help,
            ));
        };
        allow.insert(rule);
    }
    Ok(allow)
}

/// `license = "ID"` (or a list) of a `[models.NAME]` entry.
pub(super) fn accepted_licenses(field: &Field<'_, '_>) -> Result<Vec<String>, ManifestError> {
    let help = "name the license this entry may have although [policy] licenses does not list it, e.g. license = \"llama3\" (or a list)";
    let check = |id: &str, span: Option<Range<usize>>| {
        if is_license_id(id) {
            Ok(id.to_owned())
        } else {
            Err(field
                .src
                .invalid_value(field.key, field.table, span, "not a license id", help))
        }
    };
    if let Some(id) = field.item.as_str() {
        return Ok(vec![check(id, field.span.clone())?]);
    }
    field
        .string_items("a string or an array of strings", help)?
        .into_iter()
        .map(|(id, span)| check(id, span))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("40GB"), Some(40_000_000_000));
        assert_eq!(parse_size("40 gb"), Some(40_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Some(1_610_612_736));
        assert_eq!(parse_size("500MB"), Some(500_000_000));
        assert_eq!(parse_size("2TiB"), Some(2_199_023_255_552));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("1024B"), Some(1024));
        assert_eq!(parse_size("40G"), None, "ambiguous");
        assert_eq!(parse_size("GB"), None);
        assert_eq!(parse_size("1.GB"), None);
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn license_ids_are_hub_like() {
        assert!(is_license_id("apache-2.0"));
        assert!(is_license_id("llama3.1"));
        assert!(is_license_id("GPL-3.0+"));
        assert!(!is_license_id(""));
        assert!(!is_license_id("MIT or Apache"));
    }
}
