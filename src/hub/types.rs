//! Wire types of the Hub's JSON API (hub-protocol §1.3, §1.4, §1.7).

use serde::Deserialize;

/// `GET /api/{type}s/{id}/revision/{rev}`: only what hfdl reads.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoInfo {
    /// The commit the revision resolved to.
    pub sha: Option<String>,
    #[serde(default)]
    pub private: bool,
    /// `false`, `"auto"` or `"manual"`.
    #[serde(default)]
    pub gated: serde_json::Value,
    #[serde(rename = "lastModified")]
    pub last_modified: Option<String>,
}

/// One entry of `GET /api/{type}s/{id}/tree/{rev}?recursive=true`.
#[derive(Debug, Clone, Deserialize)]
pub struct TreeEntry {
    #[serde(rename = "type")]
    pub kind: String,
    /// git blob sha1 of what git stores (the pointer, for LFS files).
    pub oid: String,
    pub size: u64,
    pub path: String,
    pub lfs: Option<LfsInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LfsInfo {
    /// sha256 of the content.
    pub oid: String,
    pub size: u64,
}

/// `GET /api/{type}s/{id}/refs`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Refs {
    #[serde(default)]
    pub branches: Vec<GitRef>,
    #[serde(default)]
    pub tags: Vec<GitRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GitRef {
    pub name: String,
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}
