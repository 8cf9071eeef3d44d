//! Fixture repositories on disk: repos of every type with commits, branches, tags and PR refs,
//! regular and LFS files, and the users (tokens) allowed to read them.
//!
//! Layout under the fixture root:
//! - `objects/<sha256>`: file contents, content-addressed, shared by every repo and commit;
//! - `repos/<type>s/<id>.json`: one repo (options, commits with their file tables, refs);
//! - `users.json`: the users and their tokens;
//! - `xet/`: the Xet CAS (xorbs and file reconstructions) of Xet-backed repos (see
//!   [`crate::xet::store`]).
//!
//! A [`Fixtures`] is a cheap, cloneable handle: the server and a test share one, so a test can
//! commit or move a branch while the server runs. Every change is written to disk atomically
//! (temp file + rename) before it becomes visible, so a fixture directory is always loadable.
//! Contents are written by streaming, never held whole in memory, so fixtures can be any size.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha1::Digest as _;

/// A repository type, as in the Hub's URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    /// All types, in URL-matching order.
    pub const ALL: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

    /// The plural used in `/api/{plural}/…`.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// The prefix of `/resolve/` URLs: none for models.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    /// Parses the plural form of an API path.
    pub fn from_plural(plural: &str) -> Option<RepoType> {
        RepoType::ALL.into_iter().find(|t| t.plural() == plural)
    }

    /// The singular name (`model`, `dataset`, `space`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }
}

/// Whether and how a repo is gated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gated {
    #[default]
    No,
    Auto,
    Manual,
}

/// Repo-level settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoOptions {
    /// Readable only by the namespace's user or members of its org.
    pub private: bool,
    /// File content requires a user listed with access (`UserSpec::gated_access`).
    pub gated: Gated,
}

/// What the Hub knows about a repo besides its files: the counters and tags its search shows.
/// The license, the card's tags and the rest of a card's metadata come from the README.md of
/// each commit, as on the Hub (see `card`); these are what no file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepoMeta {
    /// Downloads over the last 30 days (models and datasets).
    pub downloads: u64,
    pub likes: u64,
    /// Tags the Hub computed (`transformers`, `arxiv:…`, …); the card's are added to them.
    pub tags: Vec<String>,
    /// `library_name` when the card does not say.
    pub library_name: Option<String>,
    /// `pipeline_tag` when the card does not say.
    pub pipeline_tag: Option<String>,
    /// A Space's SDK (`gradio`, `docker`, …).
    pub sdk: Option<String>,
}

/// A user of the mock Hub, identified by its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSpec {
    pub name: String,
    pub token: String,
    pub orgs: Vec<String>,
    /// `auth.accessToken.displayName` in whoami.
    pub token_name: String,
    /// `auth.accessToken.role`: `read`, `write`, `fineGrained`.
    pub role: String,
    /// Gated repo ids this user was granted.
    pub gated_access: Vec<String>,
}

impl UserSpec {
    /// Whether this user may read a private repo of `namespace`.
    pub fn owns(&self, namespace: &str) -> bool {
        self.name == namespace || self.orgs.iter().any(|o| o == namespace)
    }
}

/// Where a file's bytes come from in a [`FileChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// `size` pseudo-random bytes from `seed`, produced by streaming.
    Generated {
        size: u64,
        seed: u64,
    },
    /// `size` bytes: a block of `period` pseudo-random bytes from `seed`, repeated. A Xet CAS
    /// stores it about once: a huge fixture at little disk cost.
    Repeated {
        size: u64,
        seed: u64,
        period: usize,
    },
}

/// One change in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Put {
        path: String,
        content: Content,
        lfs: bool,
    },
    Delete {
        path: String,
    },
}

impl FileChange {
    /// A file stored in git (served with its git blob sha1 as the ETag).
    pub fn regular(path: &str, bytes: Vec<u8>) -> FileChange {
        FileChange::Put {
            path: path.to_owned(),
            content: Content::Bytes(bytes),
            lfs: false,
        }
    }

    /// A file stored in LFS (served through the CDN, sha256 ETag).
    pub fn lfs(path: &str, bytes: Vec<u8>) -> FileChange {
        FileChange::Put {
            path: path.to_owned(),
            content: Content::Bytes(bytes),
            lfs: true,
        }
    }

    /// An LFS file of `size` deterministic pseudo-random bytes.
    pub fn generated(path: &str, size: u64, seed: u64) -> FileChange {
        FileChange::Put {
            path: path.to_owned(),
            content: Content::Generated { size, seed },
            lfs: true,
        }
    }

    /// An LFS file of `size` bytes that repeats a block of `period` pseudo-random bytes from
    /// `seed` (see [`Content::Repeated`]).
    pub fn repeated(path: &str, size: u64, seed: u64, period: usize) -> FileChange {
        FileChange::Put {
            path: path.to_owned(),
            content: Content::Repeated { size, seed, period },
            lfs: true,
        }
    }

    /// Removes a file.
    pub fn delete(path: &str) -> FileChange {
        FileChange::Delete {
            path: path.to_owned(),
        }
    }
}

/// A file at a commit, as the Hub describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub size: u64,
    /// The git blob sha1 of what git stores: the content, or the LFS pointer.
    pub git_sha1: String,
    /// The content's sha256; `Some` for LFS files only (as the Hub reports it).
    pub sha256: Option<String>,
    pub is_lfs: bool,
    /// Where the bytes live: `objects/<content_sha256>`.
    pub content_sha256: String,
    /// The Xet file hash of an LFS file stored in Xet (its reconstruction is in `xet/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xet_hash: Option<String>,
}

impl FileInfo {
    /// The normalised ETag clients use as the blob name: sha256 for LFS, git sha1 otherwise.
    pub fn etag(&self) -> &str {
        self.sha256.as_deref().unwrap_or(&self.git_sha1)
    }

    /// The LFS pointer text git stores instead of an LFS file's content.
    pub fn lfs_pointer(&self) -> String {
        lfs_pointer(&self.content_sha256, self.size)
    }
}

/// The git-lfs pointer file for content of `size` bytes with `sha256`.
pub fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// The git blob id of `bytes`: sha1 of `blob <len>\0<bytes>`.
pub fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hex::encode(hasher.finalize())
}

/// One commit: the whole file table after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub id: String,
    pub parent: Option<String>,
    pub message: String,
    /// `2024-01-01T00:00:00.000Z`-style timestamp.
    pub date: String,
    pub files: BTreeMap<String, FileInfo>,
}

/// What a new commit is stamped with besides its content.
#[derive(Debug, Clone, Copy)]
struct Stamp<'a> {
    /// A forced commit id; derived from the content when `None`.
    id: Option<&'a str>,
    date: SystemTime,
}

impl Stamp<'_> {
    fn now() -> Stamp<'static> {
        Stamp {
            id: None,
            date: SystemTime::now(),
        }
    }
}

/// One repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repo {
    pub repo_type: RepoType,
    pub id: String,
    pub options: RepoOptions,
    /// Commits by id.
    pub commits: BTreeMap<String, Commit>,
    pub branches: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// PR number → commit.
    pub pull_requests: BTreeMap<u32, String>,
    /// Old ids that answer with a redirect to this one.
    #[serde(default)]
    pub aliases: Vec<String>,
    pub created: String,
    /// Counters and computed tags (absent from fixture files written before it existed).
    #[serde(default)]
    pub meta: RepoMeta,
    /// Set when the repo stores its LFS files in Xet: files committed from then on are chunked
    /// into the CAS and served with the Xet headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xet: Option<XetOptions>,
}

/// How a Xet-backed repo stores its LFS files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct XetOptions {
    /// The chunk encoding the uploader picks.
    pub compression: crate::xet::xorb::Compression,
}

impl Repo {
    /// The commit a branch, tag, `refs/pr/N`, `refs/heads/X`, `refs/tags/X` or full commit
    /// hash names.
    pub fn resolve(&self, revision: &str) -> Option<&Commit> {
        let commit = if let Some(id) = self.branches.get(revision) {
            id
        } else if let Some(id) = self.tags.get(revision) {
            id
        } else if let Some(number) = revision.strip_prefix("refs/pr/") {
            self.pull_requests.get(&number.parse().ok()?)?
        } else if let Some(branch) = revision.strip_prefix("refs/heads/") {
            self.branches.get(branch)?
        } else if let Some(tag) = revision.strip_prefix("refs/tags/") {
            self.tags.get(tag)?
        } else {
            revision
        };
        self.commits.get(commit)
    }

    /// The namespace (`acme` of `acme/tiny`), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.id.split_once('/').map(|(ns, _)| ns)
    }
}

/// Fixture errors.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid fixture file: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("repo {0} does not exist")]
    NoRepo(String),
    #[error("repo {0} already exists")]
    RepoExists(String),
    #[error("revision {revision} not found in {repo}")]
    NoRevision { repo: String, revision: String },
    #[error("file {path} not found in {repo}@{revision}")]
    NoFile {
        repo: String,
        revision: String,
        path: String,
    },
    #[error("invalid fixture input: {0}")]
    Invalid(String),
}

type Result<T, E = FixtureError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FixtureError + '_ {
    move |source| FixtureError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The parsed fixtures, loaded once from disk and kept in memory: requests never read or parse
/// a fixture file. A repo is shared as an `Arc`, so a request holds a consistent snapshot
/// without copying its file tables, and a change swaps in a new `Arc` (copy on write) after
/// writing it to disk: the next request sees it, a request in flight keeps the old one.
#[derive(Debug, Default)]
struct State {
    repos: BTreeMap<(RepoType, String), Arc<Repo>>,
    users: Vec<UserSpec>,
}

/// A handle on a fixture directory; clones share the same state.
#[derive(Debug, Clone)]
pub struct Fixtures {
    root: PathBuf,
    state: Arc<RwLock<State>>,
}

impl Fixtures {
    /// Creates (or reuses) a fixture directory and loads what is already there.
    pub fn create(root: &Path) -> Result<Fixtures> {
        for dir in ["objects", "repos", "tmp"] {
            let path = root.join(dir);
            fs_err::create_dir_all(&path).map_err(io_err(&path))?;
        }
        Fixtures::open(root)
    }

    /// Loads an existing fixture directory.
    pub fn open(root: &Path) -> Result<Fixtures> {
        let mut state = State::default();
        let repos = root.join("repos");
        if !repos.is_dir() {
            return Err(FixtureError::Invalid(format!(
                "{} is not a fixture directory (no repos/ folder); create one with `hfdl-mock-hub generate --out {} demo`",
                root.display(),
                root.display()
            )));
        }
        let mut pending = vec![repos];
        while let Some(dir) = pending.pop() {
            for entry in fs_err::read_dir(&dir).map_err(io_err(&dir))? {
                let path = entry.map_err(io_err(&dir))?.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let text = fs_err::read(&path).map_err(io_err(&path))?;
                    let repo: Repo = serde_json::from_slice(&text)
                        .map_err(|source| FixtureError::Json { path, source })?;
                    state
                        .repos
                        .insert((repo.repo_type, repo.id.clone()), Arc::new(repo));
                }
            }
        }
        let users = root.join("users.json");
        if users.exists() {
            let text = fs_err::read(&users).map_err(io_err(&users))?;
            state.users = serde_json::from_slice(&text).map_err(|source| FixtureError::Json {
                path: users.clone(),
                source,
            })?;
        }
        Ok(Fixtures {
            root: root.to_owned(),
            state: Arc::new(RwLock::new(state)),
        })
    }

    /// The fixture directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the content with `sha256` is stored.
    pub fn object_path(&self, sha256: &str) -> PathBuf {
        self.root.join("objects").join(sha256)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Creates an empty repo (no commit, no branch).
    pub fn create_repo(&self, repo_type: RepoType, id: &str, options: RepoOptions) -> Result<()> {
        validate_repo_id(id)?;
        let mut state = self.write();
        let key = (repo_type, id.to_owned());
        if state.repos.contains_key(&key) {
            return Err(FixtureError::RepoExists(id.to_owned()));
        }
        let repo = Repo {
            repo_type,
            id: id.to_owned(),
            options,
            commits: BTreeMap::new(),
            branches: BTreeMap::new(),
            tags: BTreeMap::new(),
            pull_requests: BTreeMap::new(),
            aliases: Vec::new(),
            created: CREATED.to_owned(),
            meta: RepoMeta::default(),
            xet: None,
        };
        self.save_repo(&repo)?;
        state.repos.insert(key, Arc::new(repo));
        Ok(())
    }

    /// Sets a repo's counters and computed tags (what its search entry and info show).
    pub fn set_meta(&self, repo_type: RepoType, id: &str, meta: RepoMeta) -> Result<()> {
        self.update_repo(repo_type, id, |repo| {
            repo.meta = meta;
            Ok(())
        })
    }

    /// Makes `id` a Xet-backed repo: LFS files committed from now on are chunked into the
    /// CAS (deduplicated against every chunk already there) and served the Xet way.
    pub fn enable_xet(&self, repo_type: RepoType, id: &str, options: XetOptions) -> Result<()> {
        self.update_repo(repo_type, id, |repo| {
            repo.xet = Some(options);
            Ok(())
        })
    }

    /// The Xet CAS of these fixtures.
    pub fn xet_store(&self) -> crate::xet::store::XetStore {
        crate::xet::store::XetStore::new(&self.root.join("xet"))
    }

    /// Every repo, as shared snapshots, in (type, id) order: what a search looks through.
    pub fn repos(&self) -> Vec<Arc<Repo>> {
        self.read().repos.values().cloned().collect()
    }

    /// Makes `old_id` answer with a redirect to `repo_type`/`id` (a renamed repo).
    pub fn add_alias(&self, repo_type: RepoType, id: &str, old_id: &str) -> Result<()> {
        validate_repo_id(old_id)?;
        self.update_repo(repo_type, id, |repo| {
            repo.aliases.push(old_id.to_owned());
            Ok(())
        })
    }

    /// Commits `changes` on top of `branch` (created if missing) and moves the branch; returns
    /// the new commit id.
    pub fn commit(
        &self,
        repo_type: RepoType,
        id: &str,
        branch: &str,
        message: &str,
        changes: Vec<FileChange>,
    ) -> Result<String> {
        self.commit_inner(repo_type, id, branch, message, changes, Stamp::now())
    }

    /// Like [`Fixtures::commit`], but dated `date` instead of now: tests of time-based rules
    /// (a cooldown that skips recent commits) need commits of a known age.
    pub fn commit_at(
        &self,
        repo_type: RepoType,
        id: &str,
        branch: &str,
        message: &str,
        changes: Vec<FileChange>,
        date: SystemTime,
    ) -> Result<String> {
        let stamp = Stamp { id: None, date };
        self.commit_inner(repo_type, id, branch, message, changes, stamp)
    }

    /// Like [`Fixtures::commit`], but the commit gets the given 40-hex id, so that a fixture
    /// can mirror a real repo whose commit a manifest pins.
    pub fn commit_with_id(
        &self,
        repo_type: RepoType,
        id: &str,
        branch: &str,
        message: &str,
        changes: Vec<FileChange>,
        commit_id: &str,
    ) -> Result<String> {
        if commit_id.len() != 40
            || !commit_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(FixtureError::Invalid(format!(
                "bad commit id {commit_id:?}: expected 40 lowercase hex characters"
            )));
        }
        let stamp = Stamp {
            id: Some(commit_id),
            ..Stamp::now()
        };
        self.commit_inner(repo_type, id, branch, message, changes, stamp)
    }

    fn commit_inner(
        &self,
        repo_type: RepoType,
        id: &str,
        branch: &str,
        message: &str,
        changes: Vec<FileChange>,
        stamp: Stamp<'_>,
    ) -> Result<String> {
        // Store contents first, outside the lock: they can be large.
        let xet = self
            .read()
            .repos
            .get(&(repo_type, id.to_owned()))
            .and_then(|repo| repo.xet);
        let mut staged = Vec::new();
        for change in changes {
            match change {
                FileChange::Put { path, content, lfs } => {
                    validate_path(&path)?;
                    let mut info = self.store_content(&path, &content, lfs)?;
                    if let Some(options) = xet.filter(|_| lfs) {
                        // Streamed from the stored object: a file of any size.
                        let object = self.object_path(&info.content_sha256);
                        let data = fs_err::File::open(&object).map_err(io_err(&object))?;
                        let xet_root = self.root.join("xet");
                        let ingested = self
                            .xet_store()
                            .ingest_reader(data, options.compression)
                            .map_err(io_err(&xet_root))?;
                        info.xet_hash = Some(ingested.file.hash);
                    }
                    staged.push((path, Some(info)));
                }
                FileChange::Delete { path } => staged.push((path, None)),
            }
        }
        let mut commit_id = String::new();
        self.update_repo(repo_type, id, |repo| {
            let parent = repo.branches.get(branch).cloned();
            let mut files = parent
                .as_ref()
                .and_then(|p| repo.commits.get(p))
                .map(|c| c.files.clone())
                .unwrap_or_default();
            for (path, info) in staged {
                match info {
                    Some(info) => {
                        files.insert(path, info);
                    }
                    None => {
                        files.remove(&path).ok_or_else(|| FixtureError::NoFile {
                            repo: id.to_owned(),
                            revision: branch.to_owned(),
                            path,
                        })?;
                    }
                }
            }
            let mut hasher = sha1::Sha1::new();
            hasher.update(format!(
                "{}\n{}\n{message}\n",
                parent.as_deref().unwrap_or(""),
                repo.commits.len()
            ));
            for (path, info) in &files {
                hasher.update(format!("{path}\0{}\n", info.git_sha1));
            }
            commit_id = stamp
                .id
                .map_or_else(|| hex::encode(hasher.finalize()), str::to_owned);
            if repo.commits.contains_key(&commit_id) {
                return Err(FixtureError::Invalid(format!(
                    "commit {commit_id} already exists in {id}"
                )));
            }
            let commit = Commit {
                id: commit_id.clone(),
                parent,
                message: message.to_owned(),
                date: format_date(stamp.date),
                files,
            };
            repo.commits.insert(commit_id.clone(), commit);
            repo.branches.insert(branch.to_owned(), commit_id.clone());
            Ok(())
        })?;
        Ok(commit_id)
    }

    /// Points `branch` at `commit` (creating the branch if needed).
    pub fn set_branch(
        &self,
        repo_type: RepoType,
        id: &str,
        branch: &str,
        commit: &str,
    ) -> Result<()> {
        self.set_ref(repo_type, id, commit, |repo, c| {
            repo.branches.insert(branch.to_owned(), c);
        })
    }

    /// Points tag `tag` at `commit`.
    pub fn set_tag(&self, repo_type: RepoType, id: &str, tag: &str, commit: &str) -> Result<()> {
        self.set_ref(repo_type, id, commit, |repo, c| {
            repo.tags.insert(tag.to_owned(), c);
        })
    }

    /// Points `refs/pr/{number}` at `commit`.
    pub fn set_pr(&self, repo_type: RepoType, id: &str, number: u32, commit: &str) -> Result<()> {
        self.set_ref(repo_type, id, commit, |repo, c| {
            repo.pull_requests.insert(number, c);
        })
    }

    fn set_ref(
        &self,
        repo_type: RepoType,
        id: &str,
        commit: &str,
        apply: impl FnOnce(&mut Repo, String),
    ) -> Result<()> {
        self.update_repo(repo_type, id, |repo| {
            let target = repo.resolve(commit).map(|c| c.id.clone()).ok_or_else(|| {
                FixtureError::NoRevision {
                    repo: id.to_owned(),
                    revision: commit.to_owned(),
                }
            })?;
            apply(repo, target);
            Ok(())
        })
    }

    /// Adds a user (replacing one with the same name).
    pub fn add_user(&self, user: UserSpec) -> Result<()> {
        let mut state = self.write();
        state.users.retain(|u| u.name != user.name);
        state.users.push(user);
        let path = self.root.join("users.json");
        let json =
            serde_json::to_vec_pretty(&state.users).map_err(|source| FixtureError::Json {
                path: path.clone(),
                source,
            })?;
        self.write_atomic(&path, &json)
    }

    /// The commit a revision names.
    pub fn resolve_revision(
        &self,
        repo_type: RepoType,
        id: &str,
        revision: &str,
    ) -> Result<String> {
        let state = self.read();
        let repo = state
            .repos
            .get(&(repo_type, id.to_owned()))
            .ok_or_else(|| FixtureError::NoRepo(id.to_owned()))?;
        repo.resolve(revision)
            .map(|c| c.id.clone())
            .ok_or_else(|| FixtureError::NoRevision {
                repo: id.to_owned(),
                revision: revision.to_owned(),
            })
    }

    /// A file at a revision.
    pub fn file_info(
        &self,
        repo_type: RepoType,
        id: &str,
        revision: &str,
        path: &str,
    ) -> Result<FileInfo> {
        let state = self.read();
        let repo = state
            .repos
            .get(&(repo_type, id.to_owned()))
            .ok_or_else(|| FixtureError::NoRepo(id.to_owned()))?;
        let commit = repo
            .resolve(revision)
            .ok_or_else(|| FixtureError::NoRevision {
                repo: id.to_owned(),
                revision: revision.to_owned(),
            })?;
        commit
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| FixtureError::NoFile {
                repo: id.to_owned(),
                revision: revision.to_owned(),
                path: path.to_owned(),
            })
    }

    /// A snapshot of a repo.
    pub fn repo(&self, repo_type: RepoType, id: &str) -> Option<Repo> {
        self.read()
            .repos
            .get(&(repo_type, id.to_owned()))
            .map(|repo| Repo::clone(repo))
    }

    /// Finds a repo by exact id; failing that, by old id or case-insensitive match (the
    /// caller then redirects to the canonical id).
    pub fn lookup(&self, repo_type: RepoType, id: &str) -> Lookup {
        let state = self.read();
        if let Some(repo) = state.repos.get(&(repo_type, id.to_owned())) {
            return Lookup::Found(Arc::clone(repo));
        }
        for ((kind, canonical), repo) in &state.repos {
            if *kind == repo_type
                && (canonical.eq_ignore_ascii_case(id) || repo.aliases.iter().any(|a| a == id))
            {
                return Lookup::Moved(canonical.clone());
            }
        }
        Lookup::Missing
    }

    /// The user a token belongs to.
    pub fn user_by_token(&self, token: &str) -> Option<UserSpec> {
        self.read().users.iter().find(|u| u.token == token).cloned()
    }

    /// Every repo id of a type.
    pub fn repo_ids(&self) -> Vec<(RepoType, String)> {
        self.read().repos.keys().cloned().collect()
    }

    fn update_repo(
        &self,
        repo_type: RepoType,
        id: &str,
        change: impl FnOnce(&mut Repo) -> Result<()>,
    ) -> Result<()> {
        let mut state = self.write();
        let repo = state
            .repos
            .get_mut(&(repo_type, id.to_owned()))
            .ok_or_else(|| FixtureError::NoRepo(id.to_owned()))?;
        let mut updated = Repo::clone(repo);
        change(&mut updated)?;
        self.save_repo(&updated)?;
        *repo = Arc::new(updated);
        Ok(())
    }

    fn save_repo(&self, repo: &Repo) -> Result<()> {
        let path = self
            .root
            .join("repos")
            .join(repo.repo_type.plural())
            .join(format!("{}.json", repo.id));
        let json = serde_json::to_vec(repo).map_err(|source| FixtureError::Json {
            path: path.clone(),
            source,
        })?;
        self.write_atomic(&path, &json)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        fs_err::create_dir_all(dir).map_err(io_err(dir))?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
        temp.write_all(bytes).map_err(io_err(path))?;
        temp.persist(path).map_err(|e| FixtureError::Io {
            path: path.to_owned(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Streams `content` into `objects/`, hashing it on the way; returns its description.
    fn store_content(&self, path: &str, content: &Content, lfs: bool) -> Result<FileInfo> {
        let tmp_dir = self.root.join("tmp");
        fs_err::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let mut temp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let mut sha256 = sha2::Sha256::new();
        let mut git = sha1::Sha1::new();
        let size = match content {
            Content::Bytes(bytes) => bytes.len() as u64,
            Content::Generated { size, .. } | Content::Repeated { size, .. } => *size,
        };
        git.update(format!("blob {size}\0").as_bytes());
        {
            let mut sink = std::io::BufWriter::with_capacity(1 << 20, temp.as_file_mut());
            let mut write = |chunk: &[u8]| -> std::io::Result<()> {
                sha256.update(chunk);
                if !lfs {
                    git.update(chunk);
                }
                sink.write_all(chunk)
            };
            match content {
                Content::Bytes(bytes) => write(bytes).map_err(io_err(&tmp_dir))?,
                Content::Generated { size, seed } => {
                    let mut generator = PseudoRandom::new(*seed);
                    let mut buffer = vec![0u8; 1 << 20];
                    let mut left = *size;
                    while left > 0 {
                        let n =
                            usize::try_from(left.min(buffer.len() as u64)).unwrap_or(buffer.len());
                        generator.fill(&mut buffer[..n]);
                        write(&buffer[..n]).map_err(io_err(&tmp_dir))?;
                        left -= n as u64;
                    }
                }
                Content::Repeated { size, seed, period } => {
                    let mut block = vec![0u8; (*period).max(1)];
                    PseudoRandom::new(*seed).fill(&mut block);
                    let mut left = *size;
                    while left > 0 {
                        let n =
                            usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
                        write(&block[..n]).map_err(io_err(&tmp_dir))?;
                        left -= n as u64;
                    }
                }
            }
            sink.flush().map_err(io_err(&tmp_dir))?;
        }
        let sha256 = hex::encode(sha256.finalize());
        let target = self.object_path(&sha256);
        if !target.exists() {
            temp.persist(&target).map_err(|e| FixtureError::Io {
                path: target.clone(),
                source: e.error,
            })?;
        }
        let git_sha1 = if lfs {
            git_blob_sha1(lfs_pointer(&sha256, size).as_bytes())
        } else {
            hex::encode(git.finalize())
        };
        Ok(FileInfo {
            path: path.to_owned(),
            size,
            git_sha1,
            sha256: lfs.then(|| sha256.clone()),
            is_lfs: lfs,
            content_sha256: sha256,
            xet_hash: None,
        })
    }

    /// Reads a stored object whole (for small files and tests).
    pub fn read_object(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.object_path(sha256);
        let mut bytes = Vec::new();
        fs_err::File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io_err(&path))?;
        Ok(bytes)
    }
}

/// The outcome of [`Fixtures::lookup`].
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The repo as it is now (a shared snapshot: later changes do not alter it).
    Found(Arc<Repo>),
    /// Known under another (canonical) id.
    Moved(String),
    Missing,
}

fn validate_repo_id(id: &str) -> Result<()> {
    let parts: Vec<&str> = id.split('/').collect();
    let valid = (1..=2).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if valid {
        Ok(())
    } else {
        Err(FixtureError::Invalid(format!("bad repo id {id:?}")))
    }
}

fn validate_path(path: &str) -> Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path.ends_with('/')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(FixtureError::Invalid(format!("bad file path {path:?}")));
    }
    Ok(())
}

/// When every fixture repo was created: before any commit a test makes.
const CREATED: &str = "2024-01-01T00:00:00.000Z";

/// `date` as the Hub writes dates: `2024-01-01T00:00:00.000Z` (UTC, milliseconds).
pub fn format_date(date: SystemTime) -> String {
    let (sign, offset) = match date.duration_since(UNIX_EPOCH) {
        Ok(after) => (1_i64, after),
        Err(before) => (-1_i64, before.duration()),
    };
    let millis = sign * i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
    let seconds = millis.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        millis.rem_euclid(1000)
    )
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// xorshift64*: fast deterministic filler so that generated files are incompressible and
/// distinct per seed, without storing them (and the test data of both crates).
#[derive(Debug, Clone)]
pub struct PseudoRandom(u64);

impl PseudoRandom {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> PseudoRandom {
        PseudoRandom(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// `len` bytes from `seed`.
    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        PseudoRandom::new(seed).fill(&mut bytes);
        bytes
    }

    /// Fills `buffer` with the next bytes.
    pub fn fill(&mut self, buffer: &mut [u8]) {
        for chunk in buffer.chunks_mut(8) {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            let value = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_sha1_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn commits_branches_tags_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Fixtures::create(dir.path()).unwrap();
        fixtures
            .create_repo(RepoType::Model, "acme/x", RepoOptions::default())
            .unwrap();
        let first = fixtures
            .commit(
                RepoType::Model,
                "acme/x",
                "main",
                "one",
                vec![
                    FileChange::regular("a.json", b"{}".to_vec()),
                    FileChange::generated("w.bin", 3_000_000, 7),
                ],
            )
            .unwrap();
        fixtures
            .set_tag(RepoType::Model, "acme/x", "v1", &first)
            .unwrap();
        let second = fixtures
            .commit(
                RepoType::Model,
                "acme/x",
                "main",
                "two",
                vec![FileChange::delete("a.json")],
            )
            .unwrap();
        assert_ne!(first, second);
        fixtures
            .set_pr(RepoType::Model, "acme/x", 1, &first)
            .unwrap();
        let reopened = Fixtures::open(dir.path()).unwrap();
        assert_eq!(
            reopened
                .resolve_revision(RepoType::Model, "acme/x", "v1")
                .unwrap(),
            first
        );
        assert_eq!(
            reopened
                .resolve_revision(RepoType::Model, "acme/x", "refs/pr/1")
                .unwrap(),
            first
        );
        assert!(
            reopened
                .file_info(RepoType::Model, "acme/x", "main", "a.json")
                .is_err()
        );
        let weights = reopened
            .file_info(RepoType::Model, "acme/x", "main", "w.bin")
            .unwrap();
        assert_eq!(weights.size, 3_000_000);
        assert!(weights.is_lfs);
        let bytes = reopened.read_object(weights.etag()).unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), weights.etag());
        let config = reopened
            .file_info(RepoType::Model, "acme/x", "v1", "a.json")
            .unwrap();
        assert_eq!(config.etag(), git_blob_sha1(b"{}"));
        assert_eq!(config.sha256, None);
    }

    #[test]
    fn dates_are_written_like_the_hub_writes_them() {
        let at = |seconds: u64| UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        assert_eq!(format_date(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_date(at(1_704_067_200)), "2024-01-01T00:00:00.000Z");
        // A leap day, and an instant with milliseconds.
        assert_eq!(
            format_date(at(1_709_210_096) + std::time::Duration::from_millis(250)),
            "2024-02-29T12:34:56.250Z"
        );
        assert_eq!(format_date(at(4_102_444_799)), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn commits_are_dated_now_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Fixtures::create(dir.path()).unwrap();
        fixtures
            .create_repo(RepoType::Model, "acme/x", RepoOptions::default())
            .unwrap();
        let old = fixtures
            .commit_at(
                RepoType::Model,
                "acme/x",
                "main",
                "old",
                vec![FileChange::regular("a.json", b"1".to_vec())],
                UNIX_EPOCH + std::time::Duration::from_hours(473_352), // 2024-01-01
            )
            .unwrap();
        let before = format_date(SystemTime::now());
        let new = fixtures
            .commit(
                RepoType::Model,
                "acme/x",
                "main",
                "new",
                vec![FileChange::regular("a.json", b"2".to_vec())],
            )
            .unwrap();
        let repo = fixtures.repo(RepoType::Model, "acme/x").unwrap();
        assert_eq!(repo.commits[&old].date, "2024-01-01T00:00:00.000Z");
        let after = format_date(SystemTime::now());
        // Same fixed-width format, so the text order is the time order.
        let date = &repo.commits[&new].date;
        assert!(
            before <= *date && *date <= after,
            "{before} <= {date} <= {after}"
        );
    }

    #[test]
    fn lookup_redirects_case_and_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Fixtures::create(dir.path()).unwrap();
        fixtures
            .create_repo(RepoType::Model, "Acme/Tiny", RepoOptions::default())
            .unwrap();
        fixtures
            .add_alias(RepoType::Model, "Acme/Tiny", "old/tiny")
            .unwrap();
        assert!(matches!(
            fixtures.lookup(RepoType::Model, "Acme/Tiny"),
            Lookup::Found(_)
        ));
        assert!(
            matches!(fixtures.lookup(RepoType::Model, "acme/tiny"), Lookup::Moved(id) if id == "Acme/Tiny")
        );
        assert!(matches!(
            fixtures.lookup(RepoType::Model, "old/tiny"),
            Lookup::Moved(_)
        ));
        assert!(matches!(
            fixtures.lookup(RepoType::Dataset, "Acme/Tiny"),
            Lookup::Missing
        ));
    }
}
