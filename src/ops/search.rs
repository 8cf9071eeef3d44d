//! `search`: the Hub's search of models, datasets or Spaces (`GET /api/{type}s?search=…`,
//! `crates/mock-hub/PROTOCOL-NOTES.md` §13.1), with what a person picks a repo by: downloads,
//! likes, license, last change, gating. Reads the Hub (through the configured endpoint, with the
//! token as every API call), writes nothing; works without a project.

use serde::Serialize;

use super::Project;
use crate::error::{Error, Result};
use crate::hub::client::SearchQuery;
use crate::hub::types::{Gating, RepoSummary};
use crate::repo::RepoType;

/// The order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchSort {
    /// Most downloaded (over the last 30 days) first.
    Downloads,
    /// Most liked first.
    Likes,
    /// Most recently changed first.
    Modified,
}

impl SearchSort {
    /// The Hub's name of the sort key.
    pub fn api_key(self) -> &'static str {
        match self {
            SearchSort::Downloads => "downloads",
            SearchSort::Likes => "likes",
            SearchSort::Modified => "lastModified",
        }
    }
}

/// What to search for.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// A part of the repo id (case-insensitive); every repo when `None`.
    pub query: Option<String>,
    /// Models, datasets or Spaces.
    pub repo_type: RepoType,
    /// Only repos of this user or organisation.
    pub author: Option<String>,
    /// Tags every result must have: a task, a library, `license:mit`, `dataset:squad`, a
    /// language.
    pub filters: Vec<String>,
    /// The order; the Hub's own when `None`.
    pub sort: Option<SearchSort>,
    /// How many results at most (1 to 1000).
    pub limit: usize,
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions {
            query: None,
            repo_type: RepoType::Model,
            author: None,
            filters: Vec::new(),
            sort: None,
            limit: 20,
        }
    }
}

/// One repo found.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// `namespace/name`: what `hfdl info` and `hfdl add` take.
    pub id: String,
    /// Downloads over the last 30 days (`None` for Spaces, which the Hub does not count).
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// The license, from the `license:` tags (several joined with `, `).
    pub license: Option<String>,
    /// When it last changed (ISO 8601).
    pub last_modified: Option<String>,
    /// Whether its files need the authors' approval.
    pub gated: Gating,
    /// Whether it is private (the token's owner may read it).
    pub private: bool,
    /// The task, for models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_tag: Option<String>,
    /// The library, for models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    /// The SDK, for Spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// Every tag.
    pub tags: Vec<String>,
}

impl From<RepoSummary> for SearchResult {
    fn from(repo: RepoSummary) -> SearchResult {
        SearchResult {
            license: license_from_tags(&repo.tags),
            id: repo.id,
            downloads: repo.downloads,
            likes: repo.likes,
            last_modified: repo.last_modified,
            gated: repo.gated,
            private: repo.private,
            pipeline_tag: repo.pipeline_tag,
            library_name: repo.library_name,
            sdk: repo.sdk,
            tags: repo.tags,
        }
    }
}

/// The license of a repo from its tags (`license:mit`); several are joined with `, `.
pub fn license_from_tags(tags: &[String]) -> Option<String> {
    let licenses: Vec<&str> = tags
        .iter()
        .filter_map(|tag| tag.strip_prefix("license:"))
        .collect();
    (!licenses.is_empty()).then(|| licenses.join(", "))
}

/// What a search found.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    /// What was searched: `model`, `dataset` or `space`.
    pub repo_type: RepoType,
    /// The text searched for, if any.
    pub query: Option<String>,
    /// The repos, in the order asked for (at most `limit`).
    pub results: Vec<SearchResult>,
}

impl Project {
    /// Searches the Hub's repos of one type. A sort the type has no data for (Spaces have no
    /// download count) is a usage error.
    pub async fn search(&self, options: &SearchOptions) -> Result<SearchReport> {
        if options.repo_type == RepoType::Space && options.sort == Some(SearchSort::Downloads) {
            return Err(Error::Usage {
                message: "Spaces have no download count to sort by".into(),
                help: "sort Spaces with --sort likes or --sort modified".into(),
            });
        }
        if !(1..=1000).contains(&options.limit) {
            return Err(Error::Usage {
                message: format!("a limit of {} results is out of range", options.limit),
                help: "ask for 1 to 1000 results".into(),
            });
        }
        let query = SearchQuery {
            repo_type: options.repo_type,
            search: options.query.clone(),
            author: options.author.clone(),
            filters: options.filters.clone(),
            sort: options.sort.map(|sort| sort.api_key().to_owned()),
            limit: options.limit,
        };
        let found = self.settings.hub_client().search(&query).await?;
        Ok(SearchReport {
            repo_type: options.repo_type,
            query: options.query.clone(),
            results: found.into_iter().map(SearchResult::from).collect(),
        })
    }
}
