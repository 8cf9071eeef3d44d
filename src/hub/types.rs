//! Wire types of the Hub's JSON API (hub-protocol §1.3, §1.4, §1.7, §1.8, §1.9).

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

/// One item of `GET /api/{type}s/{id}/commits/{rev}` (newest first), as
/// `HfApi.list_repo_commits` reads it; only what hfdl uses.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitInfo {
    /// The 40-hex commit id.
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// `2024-01-01T00:00:00.000Z`.
    pub date: String,
}

/// `GET /api/whoami-v2`: the token's owner (hub-protocol §1.8).
#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmI {
    /// The user (or organisation) name.
    pub name: String,
    #[serde(default)]
    pub fullname: Option<String>,
    #[serde(default)]
    pub orgs: Vec<WhoAmIOrg>,
    #[serde(default)]
    pub auth: Option<WhoAmIAuth>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmIOrg {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmIAuth {
    #[serde(rename = "accessToken")]
    pub access_token: Option<AccessToken>,
}

/// What the Hub says about the token itself.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessToken {
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    /// `read`, `write` or `fineGrained`.
    pub role: Option<String>,
}

impl WhoAmI {
    pub fn token_name(&self) -> Option<&str> {
        self.auth
            .as_ref()?
            .access_token
            .as_ref()?
            .display_name
            .as_deref()
    }

    pub fn token_role(&self) -> Option<&str> {
        self.auth.as_ref()?.access_token.as_ref()?.role.as_deref()
    }

    pub fn org_names(&self) -> Vec<&str> {
        self.orgs.iter().map(|o| o.name.as_str()).collect()
    }
}
