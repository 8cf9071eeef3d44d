//! Wire types of the Hub's JSON API (hub-protocol §1.3, §1.4, §1.7, §1.8, §1.9).

use serde::Deserialize;

/// `GET /api/{type}s/{id}/revision/{rev}`: only what hfdl reads.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoInfo {
    /// The commit the revision resolved to.
    pub sha: Option<String>,
    /// Whether the repository is private.
    #[serde(default)]
    pub private: bool,
    /// `false`, `"auto"` or `"manual"`.
    #[serde(default)]
    pub gated: serde_json::Value,
    /// When the repository last changed, as an ISO 8601 timestamp; `None` if the Hub omits it.
    #[serde(rename = "lastModified")]
    pub last_modified: Option<String>,
}

/// One entry of `GET /api/{type}s/{id}/tree/{rev}?recursive=true`.
#[derive(Debug, Clone, Deserialize)]
pub struct TreeEntry {
    /// `"file"` or `"directory"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// git blob sha1 of what git stores (the pointer, for LFS files).
    pub oid: String,
    /// Size in bytes of what git stores (the pointer, for LFS files).
    pub size: u64,
    /// Path in the repository, `/`-separated.
    pub path: String,
    /// The LFS object, for files stored in LFS (or Xet); `None` for regular git files.
    pub lfs: Option<LfsInfo>,
}

/// The LFS part of a [`TreeEntry`]: the real content behind the pointer.
#[derive(Debug, Clone, Deserialize)]
pub struct LfsInfo {
    /// sha256 of the content.
    pub oid: String,
    /// Size of the content in bytes.
    pub size: u64,
}

/// `GET /api/{type}s/{id}/refs`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Refs {
    /// The branches.
    #[serde(default)]
    pub branches: Vec<GitRef>,
    /// The tags.
    #[serde(default)]
    pub tags: Vec<GitRef>,
}

/// A branch or tag and the commit it points to.
#[derive(Debug, Clone, Deserialize)]
pub struct GitRef {
    /// The short name (`main`, `v1.0`), without `refs/heads/` or `refs/tags/`.
    pub name: String,
    /// The 40-hex commit id it points to.
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}

/// One item of `GET /api/{type}s/{id}/commits/{rev}` (newest first), as
/// `HfApi.list_repo_commits` reads it; only what hfdl uses.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitInfo {
    /// The 40-hex commit id.
    pub id: String,
    /// The first line of the commit message.
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
    /// The display name, if set.
    #[serde(default)]
    pub fullname: Option<String>,
    /// The organisations the user belongs to.
    #[serde(default)]
    pub orgs: Vec<WhoAmIOrg>,
    /// How the request was authenticated; `None` if the Hub does not say.
    #[serde(default)]
    pub auth: Option<WhoAmIAuth>,
}

/// An organisation in a [`WhoAmI`] answer.
#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmIOrg {
    /// The organisation's name.
    pub name: String,
}

/// The `auth` part of a [`WhoAmI`] answer.
#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmIAuth {
    /// The token the request carried; `None` if the Hub does not describe it.
    #[serde(rename = "accessToken")]
    pub access_token: Option<AccessToken>,
}

/// What the Hub says about the token itself.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessToken {
    /// The name the token was given when created.
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    /// `read`, `write` or `fineGrained`.
    pub role: Option<String>,
}

impl WhoAmI {
    /// The token's display name, if the Hub sent it.
    pub fn token_name(&self) -> Option<&str> {
        self.auth
            .as_ref()?
            .access_token
            .as_ref()?
            .display_name
            .as_deref()
    }

    /// The token's role (`read`, `write` or `fineGrained`), if the Hub sent it.
    pub fn token_role(&self) -> Option<&str> {
        self.auth.as_ref()?.access_token.as_ref()?.role.as_deref()
    }

    /// The names of the user's organisations.
    pub fn org_names(&self) -> Vec<&str> {
        self.orgs.iter().map(|o| o.name.as_str()).collect()
    }
}
