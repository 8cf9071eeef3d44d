//! Wire types of the Hub's JSON API (hub-protocol §1.3, §1.4, §1.7, §1.8, §1.9; the search
//! listings: `crates/mock-hub/PROTOCOL-NOTES.md`).

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

/// Whether a repo's files need the authors' approval (`gated` in the Hub's JSON: `false`,
/// `"auto"` or `"manual"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gating {
    /// Anyone who can see the repo can download it.
    #[default]
    No,
    /// Access is granted at once to whoever accepts the conditions.
    Auto,
    /// The authors review each request.
    Manual,
}

impl Gating {
    /// Reads the Hub's value; anything unknown but truthy counts as manual.
    pub fn from_json(value: &serde_json::Value) -> Gating {
        match value {
            serde_json::Value::Null | serde_json::Value::Bool(false) => Gating::No,
            serde_json::Value::String(s) if s == "auto" => Gating::Auto,
            serde_json::Value::String(s) if s.is_empty() || s == "false" => Gating::No,
            _ => Gating::Manual,
        }
    }

    /// The value [`Gating::as_str`] names.
    pub fn parse(name: &str) -> Option<Gating> {
        match name {
            "no" => Some(Gating::No),
            "auto" => Some(Gating::Auto),
            "manual" => Some(Gating::Manual),
            _ => None,
        }
    }

    /// In words: `no`, `auto`, `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gating::No => "no",
            Gating::Auto => "auto",
            Gating::Manual => "manual",
        }
    }

    /// Whether the files need an approved account.
    pub fn is_gated(self) -> bool {
        self != Gating::No
    }
}

fn gating<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Gating, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(Gating::from_json(&value))
}

/// `GET /api/{type}s/{id}/revision/{rev}` with everything `hfdl info` shows (huggingface_hub
/// `ModelInfo`, `DatasetInfo`, `SpaceInfo`); every field but `id` may be missing.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoDetails {
    /// `namespace/name`, as the Hub spells it.
    pub id: String,
    /// The commit the revision resolved to.
    pub sha: Option<String>,
    /// Whether the repository is private.
    #[serde(default)]
    pub private: bool,
    /// Whether its files need approval.
    #[serde(default, deserialize_with = "gating")]
    pub gated: Gating,
    /// The date of the commit (ISO 8601).
    #[serde(rename = "lastModified")]
    pub last_modified: Option<String>,
    /// When the repo was created (ISO 8601).
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    /// Tags: the card's, and those the Hub computes (`license:mit`, libraries, languages, …).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The task (`text-classification`, …), models only.
    pub pipeline_tag: Option<String>,
    /// The library that loads it (`transformers`, …), models only.
    pub library_name: Option<String>,
    /// Downloads over the last 30 days (models and datasets).
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// The README's front matter as the Hub parsed it; absent when there is none, or when the
    /// Hub could not parse it.
    #[serde(rename = "cardData")]
    pub card_data: Option<serde_json::Value>,
    /// A Space's SDK.
    pub sdk: Option<String>,
    /// What the Hub read from the repo's config.json at the revision (`architectures`,
    /// `model_type`, `auto_map`, …); absent when there is none, or the Hub did not read it.
    pub config: Option<serde_json::Value>,
}

/// One repo of a search listing, `GET /api/{type}s?search=…&expand=…`
/// (`crates/mock-hub/PROTOCOL-NOTES.md` §13.1): only the fields hfdl asks for with `expand`.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoSummary {
    /// `namespace/name`.
    pub id: String,
    /// Downloads over the last 30 days (models and datasets).
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// The last commit's date (ISO 8601).
    #[serde(rename = "lastModified")]
    pub last_modified: Option<String>,
    /// Whether its files need approval (no such field for Spaces).
    #[serde(default, deserialize_with = "gating")]
    pub gated: Gating,
    /// Whether the repository is private (listed only to who may read it).
    #[serde(default)]
    pub private: bool,
    /// Tags, where the license appears as `license:ID`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The task, models only.
    pub pipeline_tag: Option<String>,
    /// The library, models only.
    pub library_name: Option<String>,
    /// A Space's SDK.
    pub sdk: Option<String>,
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
    /// The file's Xet hash (`xetHash`), for files stored in Xet; kept as text here and parsed
    /// by the resolver, so one odd value cannot break a whole listing.
    #[serde(default, rename = "xetHash")]
    pub xet_hash: Option<String>,
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
