//! `info`: a look at a repo before adding it: its commit, last change, license and card
//! metadata, gating (and whether this token may download it), tags, its files by type, and
//! what `include`/`exclude` patterns would select, matched by the code `lock` uses. Reads the
//! Hub, writes nothing; works without a project.
//!
//! Requests: the repo info at the revision (`/api/{type}s/{id}/revision/{rev}`, which carries
//! the Hub's parse of the card as `cardData`), the recursive tree at its commit (the listing
//! `lock` uses, so sizes match what a sync downloads), `auth-check` for a gated repo, and
//! README.md only when the Hub sent no `cardData` (a mirror that omits it, or front matter the
//! Hub could not parse), to say why.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Project;
use crate::card::{self, CardMetadata};
use crate::error::{Error, Result};
use crate::hub::HubError;
use crate::hub::types::Gating;
use crate::pattern::PathFilter;
use crate::repo::{RepoType, is_commit_hash};

/// The most bytes of README.md read for its front matter.
const MAX_README_BYTES: u64 = 1 << 20;

/// The repo to look at, and the patterns to preview.
#[derive(Debug, Clone, Default)]
pub struct InfoOptions {
    /// The repo as people name it: `org/name[@REV]`, a Hub URL (`…/tree/REV/DIR`,
    /// `…/blob/REV/FILE`) or an `hf://` URI (see [`crate::repo::reference`]).
    pub repo: String,
    /// The type, when `repo` does not say (a plain id); a model when neither does.
    pub repo_type: Option<RepoType>,
    /// Patterns whose selection to preview (as `include` in models.toml); a URL's folder or
    /// file selects too.
    pub include: Vec<String>,
    /// Patterns to leave out (as `exclude`; they win).
    pub exclude: Vec<String>,
    /// List every selected file in the report, not only the totals.
    pub files: bool,
}

/// Whether the caller may download a gated repo's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessState {
    /// The token's owner was granted access (or owns the repo).
    Granted,
    /// No token was sent: log in after accepting the conditions.
    LoginRequired,
    /// The token's owner has not been granted access (yet).
    NotApproved,
}

/// What the Hub says about this caller and a gated repo.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    /// Granted, or what is missing.
    pub state: AccessState,
    /// How to get access, when it is not granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// What is known about the repo's card (README.md front matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardState {
    /// Read: `metadata` holds it.
    Present,
    /// There is no README.md, or it has no front matter.
    Missing,
    /// The front matter could not be parsed: `note` says why.
    Invalid,
    /// README.md could not be read (a gated repo, without access): `note` says why.
    Unreadable,
}

/// The repo's card metadata.
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    /// Whether and how it was read.
    pub state: CardState,
    /// The front matter as JSON, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Why it is missing, invalid or unreadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One file of the repo.
#[derive(Debug, Clone, Serialize)]
pub struct RepoFile {
    /// The path in the repo.
    pub path: String,
    /// Its size in bytes (the content's, for LFS files).
    pub size: u64,
    /// Whether it is stored in LFS (or Xet): the large files, fetched from the CDN.
    pub lfs: bool,
}

/// The files of one type (extension).
#[derive(Debug, Clone, Serialize)]
pub struct TypeTotal {
    /// `.safetensors`, `.json`, … or `(none)` for names without an extension.
    pub kind: String,
    /// How many files.
    pub files: usize,
    /// Their size in bytes.
    pub bytes: u64,
}

/// The repo's files, and what the patterns select of them.
#[derive(Debug, Clone, Serialize)]
pub struct FileSelection {
    /// The include patterns previewed (from the flags or the URL); empty: every file.
    pub include: Vec<String>,
    /// The exclude patterns previewed.
    pub exclude: Vec<String>,
    /// Every file of the repo at the commit.
    pub total_files: usize,
    /// Their size.
    pub total_bytes: u64,
    /// The files the patterns select: what a models.toml entry with them would lock and sync.
    pub selected_files: usize,
    /// Their size: what such a sync downloads into an empty store.
    pub selected_bytes: u64,
    /// The selected files by type, largest first.
    pub by_type: Vec<TypeTotal>,
    /// Every selected file, by path (only when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<RepoFile>>,
}

/// Everything `hfdl info` shows.
#[derive(Debug, Clone, Serialize)]
pub struct InfoReport {
    /// `namespace/name`, as the Hub spells it.
    pub repo: String,
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// The revision asked for (`main` by default).
    pub revision: String,
    /// The commit it points to.
    pub commit: String,
    /// The repo's page.
    pub url: String,
    /// When that commit was made (ISO 8601).
    pub last_modified: Option<String>,
    /// When the repo was created.
    pub created_at: Option<String>,
    /// Whether it is private.
    pub private: bool,
    /// Whether its files need the authors' approval.
    pub gated: Gating,
    /// For a gated repo: whether this caller may download it, and how to get access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// The license: the card's `license`, else the Hub's `license:` tags.
    pub license: Option<String>,
    /// The library that loads it (models).
    pub library_name: Option<String>,
    /// Its task (models).
    pub pipeline_tag: Option<String>,
    /// Its SDK (Spaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// Every tag.
    pub tags: Vec<String>,
    /// Downloads over the last 30 days.
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// The card's metadata.
    pub card: Card,
    /// The files and the patterns' selection.
    pub files: FileSelection,
}

impl Project {
    /// Looks a repo up on the Hub: metadata, card, access, files and the selection of the
    /// patterns (matched as `lock` matches them).
    pub async fn info(&self, options: &InfoOptions) -> Result<InfoReport> {
        let target = self.target(&options.repo, options.repo_type, &options.include)?;
        let filter =
            PathFilter::new(&target.include, &options.exclude).map_err(|e| Error::Usage {
                message: e.to_string(),
                help: "patterns follow fnmatch: `*` matches any run of characters, `/` included"
                    .into(),
            })?;
        let hub = self.settings.hub_client();
        let details = hub
            .repo_details(target.repo_type, &target.repo, &target.revision)
            .await?;
        let commit = details
            .sha
            .clone()
            .filter(|sha| is_commit_hash(sha))
            .ok_or_else(|| HubError::Protocol {
                url: hub.endpoint().to_owned(),
                message: format!(
                    "the info of `{}@{}` has no commit `sha`",
                    target.repo, target.revision
                ),
            })?;
        let entries = hub
            .list_files(target.repo_type, &target.repo, &commit)
            .await?;
        let mut files: Vec<RepoFile> = entries
            .into_iter()
            .map(|entry| RepoFile {
                size: entry.lfs.as_ref().map_or(entry.size, |lfs| lfs.size),
                lfs: entry.lfs.is_some(),
                path: entry.path,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);

        let access = if details.gated.is_gated() {
            Some(match hub.auth_check(target.repo_type, &target.repo).await {
                Ok(()) => Access {
                    state: AccessState::Granted,
                    help: None,
                },
                Err(HubError::GatedRepo {
                    authenticated,
                    help,
                    ..
                }) => Access {
                    state: if authenticated {
                        AccessState::NotApproved
                    } else {
                        AccessState::LoginRequired
                    },
                    help: Some(help),
                },
                Err(error) => return Err(error.into()),
            })
        } else {
            None
        };

        let card = match details.card_data.clone() {
            Some(Value::Object(metadata)) if !metadata.is_empty() => Card {
                state: CardState::Present,
                metadata: Some(metadata),
                note: None,
            },
            _ => {
                let readme = files.iter().find(|f| f.path == "README.md");
                read_card(&hub, &target, &commit, readme, access.as_ref()).await
            }
        };
        let license = card
            .metadata
            .as_ref()
            .and_then(card::license)
            .or_else(|| super::search::license_from_tags(&details.tags));

        let total_files = files.len();
        let total_bytes = files.iter().map(|f| f.size).sum();
        let selected: Vec<RepoFile> = files
            .into_iter()
            .filter(|f| filter.matches(&f.path))
            .collect();
        let selection = FileSelection {
            include: target.include.clone(),
            exclude: options.exclude.clone(),
            total_files,
            total_bytes,
            selected_files: selected.len(),
            selected_bytes: selected.iter().map(|f| f.size).sum(),
            by_type: by_type(&selected),
            list: options.files.then_some(selected),
        };
        Ok(InfoReport {
            url: format!(
                "{}/{}{}",
                self.settings.endpoint,
                target.repo_type.url_prefix(),
                details.id
            ),
            repo: details.id,
            repo_type: target.repo_type,
            revision: target.revision,
            commit,
            last_modified: details.last_modified,
            created_at: details.created_at,
            private: details.private,
            gated: details.gated,
            access,
            license,
            library_name: details.library_name,
            pipeline_tag: details.pipeline_tag,
            sdk: details.sdk,
            tags: details.tags,
            downloads: details.downloads,
            likes: details.likes,
            card,
            files: selection,
        })
    }
}

/// The card from README.md itself, for when the Hub sent no `cardData`.
async fn read_card(
    hub: &crate::hub::HubClient,
    target: &crate::repo::reference::Target,
    commit: &str,
    readme: Option<&RepoFile>,
    access: Option<&Access>,
) -> Card {
    let card = |state, note: String| Card {
        state,
        metadata: None,
        note: Some(note),
    };
    let Some(readme) = readme else {
        return card(CardState::Missing, "the repo has no README.md".into());
    };
    if access.is_some_and(|a| a.state != AccessState::Granted) {
        return card(
            CardState::Unreadable,
            "README.md is behind the gate, and the Hub sent no card metadata".into(),
        );
    }
    if readme.size > MAX_README_BYTES {
        return card(
            CardState::Unreadable,
            format!(
                "README.md is {} bytes; hfdl reads at most 1 MiB",
                readme.size
            ),
        );
    }
    let bytes = match hub
        .read_small_file(
            target.repo_type,
            &target.repo,
            commit,
            &readme.path,
            MAX_README_BYTES,
        )
        .await
    {
        Ok(bytes) => bytes,
        Err(error) => {
            return card(
                CardState::Unreadable,
                format!("README.md could not be read: {error}"),
            );
        }
    };
    match card::parse_readme(&String::from_utf8_lossy(&bytes)) {
        CardMetadata::Missing => card(
            CardState::Missing,
            "README.md has no metadata block (`---` YAML `---` at its top)".into(),
        ),
        CardMetadata::Parsed(metadata) if metadata.is_empty() => card(
            CardState::Missing,
            "README.md's metadata block is empty".into(),
        ),
        CardMetadata::Parsed(metadata) => Card {
            state: CardState::Present,
            metadata: Some(metadata),
            note: None,
        },
        CardMetadata::Invalid(why) => card(CardState::Invalid, why),
    }
}

/// The type of a file: its extension with the dot (`.safetensors`), or `(none)`.
fn kind_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => name[dot..].to_ascii_lowercase(),
        _ => "(none)".to_owned(),
    }
}

/// Totals per type, largest first (then by name).
fn by_type(files: &[RepoFile]) -> Vec<TypeTotal> {
    let mut totals: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for file in files {
        let total = totals.entry(kind_of(&file.path)).or_default();
        total.0 += 1;
        total.1 += file.size;
    }
    let mut list: Vec<TypeTotal> = totals
        .into_iter()
        .map(|(kind, (files, bytes))| TypeTotal { kind, files, bytes })
        .collect();
    list.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.kind.cmp(&b.kind)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_are_extensions() {
        assert_eq!(kind_of("model.safetensors"), ".safetensors");
        assert_eq!(kind_of("onnx/Model.ONNX"), ".onnx");
        assert_eq!(kind_of(".gitattributes"), "(none)");
        assert_eq!(kind_of("sub.dir/LICENSE"), "(none)");
        assert_eq!(kind_of("weird."), "(none)");
        let files =
            [("a.json", 2), ("b.json", 3), ("w.bin", 10), ("LICENSE", 10)].map(|(path, size)| {
                RepoFile {
                    path: path.into(),
                    size,
                    lfs: false,
                }
            });
        let totals: Vec<(String, usize, u64)> = by_type(&files)
            .into_iter()
            .map(|t| (t.kind, t.files, t.bytes))
            .collect();
        assert_eq!(
            totals,
            [
                ("(none)".to_owned(), 1, 10),
                (".bin".to_owned(), 1, 10),
                (".json".to_owned(), 2, 5)
            ]
        );
    }
}
