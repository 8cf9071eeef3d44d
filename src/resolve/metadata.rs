//! What `lock` records about an entry besides its files ([`ModelMetadata`]), at the locked
//! commit.
//!
//! The Hub's repo info at the commit (`/api/{type}s/{id}/revision/{commit}`, which resolving a
//! branch or tag fetches anyway) carries the card's metadata as the Hub parsed it from README.md
//! (`cardData`), the gating, the library, and what it read of config.json (`config`, with
//! `auto_map`). So the usual entry costs no request more, and the lock records the license the
//! Hub shows on the repo's page. A README without front matter, or with YAML the Hub could not
//! parse, has no `cardData`: its license is recorded as unknown, never an error (the policy
//! decides what an unknown license means). README.md itself is not read: a second parser could
//! only disagree with the Hub, and repos without a card would cost a request at every lock.
//!
//! config.json is read only where the info is silent (no `config`: a mirror, a config the Hub
//! did not parse) and config.json is locked; when it cannot be read, whether the model needs
//! remote code is recorded as unknown.
//!
//! Formats and Python files come from the locked files' names, and `auto_map` counts only when
//! config.json is among them: what the lock pins is what is checked, so leaving files out (the
//! pickles, the Python code) is a way to satisfy a policy.

use serde_json::{Map, Value};

use super::HubApi;
use crate::hash::HashKind;
use crate::hub::HubError;
use crate::hub::types::RepoDetails;
use crate::lock::metadata::{CONFIG_JSON, RemoteCode, WeightFormat};
use crate::lock::{LockedFile, ModelMetadata};
use crate::repo::{RepoId, RepoType};
use crate::report::{Event, Reporter};

/// The most bytes of config.json read for its `auto_map`.
pub const MAX_METADATA_FILE: u64 = 1 << 20;

/// Where an entry is, for requests and messages.
pub(crate) struct At<'a> {
    /// The entry's name.
    pub name: &'a str,
    /// Its repo type.
    pub repo_type: RepoType,
    /// Its repo.
    pub repo: &'a RepoId,
    /// The locked commit.
    pub commit: &'a str,
}

/// The metadata of an entry locked at `at.commit` with `files`, from the Hub's `details` at
/// that commit and, where they are silent about a locked config.json, the file.
pub(crate) async fn record(
    hub: &impl HubApi,
    at: &At<'_>,
    files: &[LockedFile],
    details: &RepoDetails,
    reporter: &dyn Reporter,
) -> ModelMetadata {
    let no_card = Map::new();
    let card = match &details.card_data {
        Some(Value::Object(map)) => map,
        _ => &no_card,
    };
    let paths = || files.iter().map(|f| f.path.as_str());
    let auto_map = match files.iter().find(|f| f.path == CONFIG_JSON) {
        None => Some(false),
        Some(config) => match &details.config {
            Some(Value::Object(map)) => Some(map.contains_key("auto_map")),
            _ => read_auto_map(hub, at, config, reporter).await,
        },
    };
    let license = strings(card, "license");
    let is_other = license.iter().any(|id| id.eq_ignore_ascii_case("other"));
    let text = |key: &str| {
        card.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    ModelMetadata {
        license_name: text("license_name").filter(|_| is_other),
        license_link: text("license_link").filter(|_| is_other),
        license,
        gated: details.gated,
        library_name: details
            .library_name
            .clone()
            .filter(|name| !name.is_empty())
            .or_else(|| text("library_name")),
        base_model: strings(card, "base_model"),
        formats: WeightFormat::of_paths(paths()),
        remote_code: RemoteCode::decide(paths(), auto_map),
    }
}

/// A card field that is a string or a list of strings; empty strings left out.
fn strings(card: &Map<String, Value>, key: &str) -> Vec<String> {
    let values: Vec<&str> = match card.get(key) {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    values
        .into_iter()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether config.json has `auto_map`, read from the file; `None` when it cannot be told.
async fn read_auto_map(
    hub: &impl HubApi,
    at: &At<'_>,
    config: &LockedFile,
    reporter: &dyn Reporter,
) -> Option<bool> {
    // A config in LFS, or a huge one, is no transformers config: not worth a download.
    if config.hash.kind() != HashKind::GitSha1 || config.size > MAX_METADATA_FILE {
        return None;
    }
    match hub
        .small_file(
            at.repo_type,
            at.repo,
            at.commit,
            CONFIG_JSON,
            MAX_METADATA_FILE,
        )
        .await
    {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Some(map.contains_key("auto_map")),
            _ => None,
        },
        Err(error) => {
            unreadable(
                at,
                CONFIG_JSON,
                "whether it needs remote code is recorded as unknown",
                &error,
                reporter,
            );
            None
        }
    }
}

/// A warning for a metadata file that could not be read (offline, that is expected: silent).
fn unreadable(
    at: &At<'_>,
    path: &str,
    consequence: &str,
    error: &HubError,
    reporter: &dyn Reporter,
) {
    if matches!(error, HubError::Offline { .. }) {
        return;
    }
    reporter.report(Event::Warning {
        message: format!(
            "`{}`: could not read {path} of {}@{} ({error}); {consequence}",
            at.name,
            at.repo,
            crate::repo::short_commit(at.commit)
        ),
    });
}
