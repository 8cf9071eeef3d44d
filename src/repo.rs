//! Repository identity: the repo type, a validated repo id and revision names.
//!
//! These are shared by the manifest, the lockfile, the Hub client and the store, so they live
//! in one small module with no I/O. Validation follows `huggingface_hub`'s
//! `utils/_validators.py` (hub-protocol §1.1). [`mod@reference`] reads every other way people name a
//! repo (web URLs, `hf://` URIs) into an id, a type, a revision and a selection.

pub mod reference;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a Hub repository.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RepoType {
    /// A model repo (`/{id}` on the Hub).
    #[default]
    Model,
    /// A dataset repo (`/datasets/{id}`).
    Dataset,
    /// A Space (`/spaces/{id}`).
    Space,
}

impl RepoType {
    /// Every repo type, in the order used by messages.
    pub const ALL: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

    /// The singular name used in files and messages (`model`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// The plural used by API paths (`/api/models/...`).
    pub fn api_plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// The prefix of file URLs (`/resolve/`): models have none.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    /// Parses the singular name (`model`, `dataset`, `space`).
    pub fn parse(text: &str) -> Option<RepoType> {
        RepoType::ALL.into_iter().find(|ty| ty.as_str() == text)
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated repo id: `name` or `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RepoId(String);

impl RepoId {
    /// Validates `text` as the Hub does: 1–96 characters of `[A-Za-z0-9_.-]` per part, at most
    /// one `/`, no `--` or `..`, no leading or trailing `-`/`.`, not ending in `.git`.
    pub fn parse(text: &str) -> Result<RepoId, String> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.len() > 2 {
            return Err(format!(
                "`{text}` has more than one `/`: a repo id is `name` or `namespace/name`"
            ));
        }
        for part in &parts {
            if part.is_empty() || part.len() > 96 {
                return Err(format!(
                    "`{text}`: each part of a repo id must be 1 to 96 characters long"
                ));
            }
            if let Some(bad) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            {
                return Err(format!(
                    "`{text}` contains `{bad}`: only letters, digits, `_`, `.` and `-` are allowed"
                ));
            }
            if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
                return Err(format!(
                    "`{text}`: a part cannot start or end with `-` or `.`"
                ));
            }
        }
        if text.contains("--") || text.contains("..") {
            return Err(format!("`{text}` cannot contain `--` or `..`"));
        }
        if text.to_ascii_lowercase().ends_with(".git") {
            return Err(format!("`{text}` cannot end with `.git`"));
        }
        Ok(RepoId(text.to_owned()))
    }

    /// The id as written (`namespace/name` or `name`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last part of the id (`all-MiniLM-L6-v2`), used to derive entry names.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The namespace, if any (`sentence-transformers`).
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once('/').map(|(ns, _)| ns)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RepoId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RepoId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// True when `revision` is a full commit hash (40 lowercase hex), the only kind of revision that
/// lets a client skip the network (hub-protocol §1.2).
pub fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a revision name (branch, tag, `refs/pr/N` or commit) for what git and the cache layout
/// forbid: it becomes a path under `refs/`, so it must stay inside it.
pub fn validate_revision(revision: &str) -> Result<(), String> {
    if revision.is_empty() {
        return Err("the revision is empty".to_owned());
    }
    if revision.starts_with('/') || revision.ends_with('/') || revision.contains("//") {
        return Err(format!("`{revision}` has an empty path segment"));
    }
    if revision
        .split('/')
        .any(|segment| segment == "." || segment == ".." || segment.starts_with('.'))
    {
        return Err(format!("`{revision}` has a segment starting with `.`"));
    }
    if revision.contains("..") || revision.to_ascii_lowercase().ends_with(".lock") {
        return Err(format!("`{revision}` is not a valid git ref name"));
    }
    if let Some(bad) = revision
        .chars()
        .find(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return Err(format!(
            "`{revision}` contains `{}`, which git forbids in ref names",
            bad.escape_default()
        ));
    }
    // The Hub names pull-request refs by number only: `refs/pr/12`.
    if let Some(number) = revision.strip_prefix("refs/pr/")
        && (number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{revision}` is not a pull-request ref: write `refs/pr/N` with N the PR number"
        ));
    }
    Ok(())
}

/// The first 12 characters of a commit, as people see it.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_refs_need_a_number() {
        assert!(validate_revision("refs/pr/12").is_ok());
        assert!(validate_revision("refs/pr/x").is_err());
        assert!(validate_revision("refs/pr/").is_err());
    }

    #[test]
    fn valid_repo_ids_are_accepted() {
        for id in ["gpt2", "openai-community/gpt2", "org/a.b_c-d", "A/B"] {
            assert!(RepoId::parse(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn invalid_repo_ids_are_refused_with_a_reason() {
        for id in [
            "",
            "a/b/c",
            "a--b",
            "a..b",
            "-a",
            "a.",
            "org/x.git",
            "a b",
            "a/",
            &"x".repeat(97),
        ] {
            assert!(RepoId::parse(id).is_err(), "{id}");
        }
    }

    #[test]
    fn commit_hashes_are_40_lowercase_hex() {
        assert!(is_commit_hash("86b5e0934494bd15c9632b12f734a8a67f723594"));
        assert!(!is_commit_hash("86B5E0934494BD15C9632B12F734A8A67F723594"));
        assert!(!is_commit_hash("main"));
    }

    #[test]
    fn revisions_that_escape_refs_are_refused() {
        for ok in ["main", "v1.0", "refs/pr/1", "feature/x"] {
            assert!(validate_revision(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a//b", "/a", "a b", "a:b", ".hidden", "x.lock"] {
            assert!(validate_revision(bad).is_err(), "{bad}");
        }
    }
}
