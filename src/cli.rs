//! Command-line interface: clap derive types only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

pub use crate::logging::LogFormat;

/// Declarative, lockfile-based sync of Hugging Face Hub models.
///
/// `models.toml` lists the models a project wants, `models.lock` pins the exact commit and hash
/// of every file, and `hfdl sync` makes the Hugging Face cache match the lock, verifying every
/// byte and sending no request when nothing changed.
#[derive(Debug, Parser)]
#[command(name = "hfdl", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 success, 1 failure you can act on (stale lock, hash mismatch, missing offline), \
2 usage or manifest error, 3 network or Hub failure, 4 authentication or gated access, \
130/143 stopped by SIGINT/SIGTERM (partial downloads kept), 101 bug."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Machine-readable output on stdout (errors too, with a stable `code`)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but data and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More logging (-v info, -vv debug, -vvv trace) on stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// The manifest [default: ./models.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// The Hugging Face cache to sync into [default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub]
    #[arg(long, global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Never touch the network (also HF_HUB_OFFLINE=1)
    #[arg(long, global = true)]
    pub offline: bool,
    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Log lines as text, or as one JSON object per line for log shippers [default: text, or
    /// `log-format` in [settings]]
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Also append logs to this file (debug level unless -v/HFDL_LOG/log-level say otherwise;
    /// never progress bars)
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a commented models.toml (or adopt what the Hugging Face cache holds)
    Init(InitArgs),
    /// Add a model to models.toml, lock it and sync it
    Add(AddArgs),
    /// Search the Hub's models, datasets or Spaces
    Search(SearchArgs),
    /// Show a repo before adding it: commit, license, card, gating, files, what patterns select
    Info(InfoArgs),
    /// Remove entries from models.toml and models.lock (`hfdl gc` frees their files)
    Remove(RemoveArgs),
    /// Resolve models.toml against the Hub into models.lock
    Lock(LockArgs),
    /// Make the store match models.lock: download, verify, link, prune
    Sync(SyncArgs),
    /// Show which locked models moved upstream: commits, files and bytes
    Outdated(OutdatedArgs),
    /// Audit the locked models: license, gating, formats, remote code, size and the policy;
    /// --scan reads what their files would import; --format cyclonedx writes an ML-BOM
    Audit(AuditArgs),
    /// Show each model of models.toml: present, partial, missing, modified or not locked
    #[command(visible_alias = "list")]
    Status(StatusArgs),
    /// Check the store against models.lock: missing, modified, extra files and broken links
    Verify(VerifyArgs),
    /// Delete blobs, snapshots and partial files that no lockfile known to hfdl references
    Gc(GcArgs),
    /// Upload the files models.lock pins, from the store, to the shared blob store
    /// (`blob-store`), skipping what it has
    Push(PushArgs),
    /// Write models.lock and exactly the files it pins into one tar file, for a machine
    /// without network access (`hfdl import` there)
    Export(ExportArgs),
    /// Verify a bundle from `hfdl export` against its models.lock and put its files into the
    /// store; then `hfdl sync --frozen --offline`
    Import(ImportArgs),
    /// Print the snapshot directory of a model, for scripts
    Path(PathArgs),
    /// Show and edit settings: config.toml, with HFDL_* variables and [settings] on top
    Config(ConfigArgs),
    /// Check a Hub access token and keep it in the OS keyring (or the HF token file)
    Login(LoginArgs),
    /// Remove the stored token for the endpoint
    Logout(LogoutArgs),
    /// Show who the token belongs to, and where it comes from
    Whoami(WhoamiArgs),
    /// Check the set-up: config, store, disk, lock, keyring, token, endpoint, clock
    Doctor(DoctorArgs),
    /// Open the local web app (status, disk use, add, sync, verify, gc) in a browser, on
    /// 127.0.0.1 with a secret URL
    Ui(UiArgs),
    /// Print a shell completion script (commands, flags, and model names from models.toml)
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the version, git commit, target and compiler (with --json: for bug reports)
    Version(VersionArgs),
    /// Explain an error code (the `code` of a --json error), like rustc --explain
    Explain(ExplainArgs),
}

impl Command {
    /// The subcommand's name, as typed (`sync`), for messages that say which command failed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Add(_) => "add",
            Command::Search(_) => "search",
            Command::Info(_) => "info",
            Command::Remove(_) => "remove",
            Command::Lock(_) => "lock",
            Command::Sync(_) => "sync",
            Command::Outdated(_) => "outdated",
            Command::Audit(_) => "audit",
            Command::Status(_) => "status",
            Command::Verify(_) => "verify",
            Command::Gc(_) => "gc",
            Command::Push(_) => "push",
            Command::Export(_) => "export",
            Command::Import(_) => "import",
            Command::Path(_) => "path",
            Command::Config(_) => "config",
            Command::Login(_) => "login",
            Command::Logout(_) => "logout",
            Command::Whoami(_) => "whoami",
            Command::Doctor(_) => "doctor",
            Command::Ui(_) => "ui",
            Command::Completions(_) => "completions",
            Command::Version(_) => "version",
            Command::Explain(_) => "explain",
        }
    }
}

/// How to install a completion script, shown by `hfdl completions --help`.
const COMPLETIONS_HELP: &str = "Install (the script asks `hfdl` for candidates at each `<TAB>`, so it never goes stale):
  bash:       hfdl completions bash > ~/.local/share/bash-completion/completions/hfdl
  zsh:        hfdl completions zsh > ~/.zfunc/_hfdl   (with `fpath+=~/.zfunc; autoload -U compinit; compinit` in ~/.zshrc)
  fish:       hfdl completions fish > ~/.config/fish/completions/hfdl.fish
  powershell: hfdl completions powershell >> $PROFILE
  elvish:     hfdl completions elvish >> ~/.config/elvish/rc.elv";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `hfdl completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    /// The name clap_complete knows the shell by.
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Elvish => "elvish",
        }
    }
}

#[derive(Debug, Args)]
pub struct VersionArgs {}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The error code, e.g. `lock-stale` [default: list every code with its summary]
    #[arg(value_name = "CODE", add = ArgValueCandidates::new(error_codes))]
    pub code: Option<String>,
}

/// Completion candidates for `hfdl explain`: every error code, with its summary as the hint.
fn error_codes() -> Vec<CompletionCandidate> {
    crate::explain::codes()
        .map(|code| {
            CompletionCandidate::new(code)
                .help(crate::explain::summary(code).map(|summary| summary.to_owned().into()))
        })
        .collect()
}

/// Completion candidates for arguments that name entries: the models of `./models.toml`.
///
/// Called by the shell at each `<TAB>` (see [`crate::commands::completions`]); a missing or
/// broken manifest just completes nothing.
fn model_names() -> Vec<CompletionCandidate> {
    let Ok(manifest) = crate::manifest::load(std::path::Path::new(crate::manifest::MANIFEST_FILE))
    else {
        return Vec::new();
    };
    manifest
        .models
        .iter()
        .map(|(name, spec)| CompletionCandidate::new(name).help(Some(spec.repo.to_string().into())))
        .collect()
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Adopt what the Hugging Face cache already holds: a manifest and lock for every snapshot
    /// a ref points to, without a request (`hfdl sync` then verifies instead of downloading)
    #[arg(long)]
    pub from_cache: bool,
}

/// The ways to name a repo, shown by `hfdl add --help` and `hfdl info --help`.
const REPO_FORMS_HELP: &str = "REPO can be named as:
  org/name, org/name@REV                         REV: a branch, tag, commit or refs/pr/N
  https://huggingface.co/org/name                also …/datasets/org/name, …/spaces/org/name
  https://huggingface.co/org/name/tree/REV/DIR   a folder: include = [\"DIR/**\"]
  https://huggingface.co/org/name/blob/REV/FILE  one file (also …/resolve/REV/FILE)
  hf://[datasets/|spaces/]org/name[@REV][/PATH]  PATH/ is a folder, PATH one file
URLs work on hf.co and on the configured endpoint (a mirror) too; encode a revision with `/` as
refs%2Fpr%2F3 (refs/pr/N and refs/convert/NAME also work as they are).";

/// A repo type, as the flags take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepoTypeArg {
    Model,
    Dataset,
    Space,
}

impl From<RepoTypeArg> for crate::repo::RepoType {
    fn from(value: RepoTypeArg) -> crate::repo::RepoType {
        match value {
            RepoTypeArg::Model => crate::repo::RepoType::Model,
            RepoTypeArg::Dataset => crate::repo::RepoType::Dataset,
            RepoTypeArg::Space => crate::repo::RepoType::Space,
        }
    }
}

/// The order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchSortArg {
    /// Most downloaded (last 30 days) first
    Downloads,
    /// Most liked first
    Likes,
    /// Most recently changed first
    Modified,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Text the repo id contains (case-insensitive) [default: every repo]
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,
    /// What to search
    #[arg(
        long = "type",
        visible_alias = "repo-type",
        value_enum,
        value_name = "TYPE",
        default_value = "model"
    )]
    pub repo_type: RepoTypeArg,
    /// Only repos of this user or organisation
    #[arg(long, value_name = "ORG")]
    pub author: Option<String>,
    /// Only repos with this tag (repeatable): a task, a library, `license:mit`, `dataset:NAME`,
    /// a language
    #[arg(long, value_name = "TAG")]
    pub filter: Vec<String>,
    /// The order of the results [default: the Hub's]
    #[arg(long, value_enum, value_name = "KEY")]
    pub sort: Option<SearchSortArg>,
    /// How many results to show
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}

#[derive(Debug, Args)]
#[command(after_help = REPO_FORMS_HELP)]
pub struct InfoArgs {
    /// The repo: `org/name[@REV]`, a Hub URL or an hf:// URI (see below)
    #[arg(value_name = "REPO[@REV]")]
    pub repo: String,
    /// The repo type when REPO does not say [default: model]
    #[arg(long, visible_alias = "type", value_enum, value_name = "TYPE")]
    pub repo_type: Option<RepoTypeArg>,
    /// List every file (of the selection) with its size and whether it is stored in LFS
    #[arg(long)]
    pub files: bool,
    /// Preview what this models.toml `include` pattern selects (repeatable), with the total size
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Preview what this `exclude` pattern leaves out (repeatable; wins over --include)
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = REPO_FORMS_HELP)]
pub struct AddArgs {
    /// The repo: `org/name[@REV]`, a Hub URL or an hf:// URI (see below); models.toml gets
    /// `org/name` with the revision, type and include pattern it states
    #[arg(value_name = "REPO[@REV]")]
    pub repo: String,
    /// The entry's name [default: derived from the repo name]
    #[arg(long)]
    pub name: Option<String>,
    /// Only files matching this fnmatch pattern (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Skip files matching this fnmatch pattern (repeatable; wins over --include)
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// The repo type when REPO does not say [default: model]
    #[arg(long, value_enum, value_name = "TYPE")]
    pub repo_type: Option<RepoTypeArg>,
    /// Also materialise the files as a plain directory
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Let this entry break a rule of the project's [policy] (repeatable): writes `allow =
    /// [...]` into its table. For pickles, `--exclude '*.bin'` is usually the better fix
    #[arg(long, value_enum, value_name = "RULE")]
    pub allow: Vec<AllowArg>,
    /// Accept this license for this entry although [policy] licenses does not list it
    /// (repeatable): writes `license = "ID"` into its table
    #[arg(long, value_name = "ID")]
    pub allow_license: Vec<String>,
    /// Only edit models.toml and models.lock
    #[arg(long)]
    pub no_sync: bool,
    /// Write the sync's metrics as JSON to this file (see `hfdl sync --metrics-file`)
    #[arg(long, value_name = "PATH", conflicts_with = "no_sync")]
    pub metrics_file: Option<PathBuf>,
}

/// A rule of `[policy]` an entry may break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AllowArg {
    /// Pickle-based weights (.bin, .pt, .pth, .ckpt, .pkl)
    Pickle,
    /// Code from the repo (auto_map in config.json, Python files)
    RemoteCode,
    /// More bytes than max-size
    MaxSize,
}

impl From<AllowArg> for crate::manifest::policy::Rule {
    fn from(value: AllowArg) -> crate::manifest::policy::Rule {
        match value {
            AllowArg::Pickle => crate::manifest::policy::Rule::Pickle,
            AllowArg::RemoteCode => crate::manifest::policy::Rule::RemoteCode,
            AllowArg::MaxSize => crate::manifest::policy::Rule::MaxSize,
        }
    }
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Entry names in models.toml
    #[arg(required = true, value_name = "NAME", add = ArgValueCandidates::new(model_names))]
    pub names: Vec<String>,
}

/// What `hfdl lock --help` adds.
const LOCK_HELP: &str = "The lock records each entry's license, gating, weight formats and remote code. With a [policy] \
in models.toml or config.toml, a lock that breaks it is not written: hfdl exits 1 (policy-violation), naming \
the entry, the rule, the files and the exception that would accept it. For pickle-based weights (.bin, .pt, \
.pth, .ckpt, .pkl), the usual fix is to exclude them in the entry (exclude = [\"*.bin\"]) when the repo \
also has safetensors.";

#[derive(Debug, Args)]
#[command(after_help = LOCK_HELP)]
pub struct LockArgs {
    /// Exit 1 if models.lock is not up to date with models.toml (no network)
    #[arg(long, conflicts_with_all = ["dry_run", "upgrade", "upgrade_model"])]
    pub check: bool,
    /// Show what would change without writing models.lock
    #[arg(long)]
    pub dry_run: bool,
    /// Move every pin to what its revision points to now
    #[arg(long, conflicts_with = "upgrade_model")]
    pub upgrade: bool,
    /// Move this entry's pin (repeatable); NAME@REV pins it to the commit that REV (a commit,
    /// tag or branch) names, leaving models.toml as it is
    #[arg(long, value_name = "NAME[@REV]", add = ArgValueCandidates::new(model_names))]
    pub upgrade_model: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Fail (exit 1) if models.lock would change
    #[arg(long, conflicts_with = "frozen")]
    pub locked: bool,
    /// Use models.lock as it is; never resolve
    #[arg(long)]
    pub frozen: bool,
    /// Print the plan with sizes and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Keep snapshot files that the lock no longer lists
    #[arg(long)]
    pub no_prune: bool,
    /// Files processed in parallel
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
    /// Connections per large file (files of 16 MiB and more are fetched in ranges)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub connections: Option<u32>,
    /// Cap the total download rate, in bytes per second: `500K`, `20M`, `1G` (as curl)
    #[arg(long, value_name = "RATE", value_parser = parse_limit_rate)]
    pub limit_rate: Option<u64>,
    /// Write the sync's metrics (files, bytes, time, retries, requests by kind) as JSON to this
    /// file, also when the sync fails
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Upload each file fetched from the Hub to the blob store (`blob-store`), once verified
    /// [setting: publish]
    #[arg(long)]
    pub publish: bool,
}

fn parse_limit_rate(text: &str) -> Result<u64, String> {
    crate::manifest::parse_rate(text)
        .filter(|rate| *rate > 0)
        .ok_or_else(|| "not a positive rate: use bytes per second, e.g. 500K, 20M, 1G".to_owned())
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Only these locked entries [default: all]
    #[arg(value_name = "NAME", add = ArgValueCandidates::new(model_names))]
    pub names: Vec<String>,
    /// Uploads in parallel
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
}

#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Only these entries [default: all]
    #[arg(value_name = "NAME", add = ArgValueCandidates::new(model_names))]
    pub names: Vec<String>,
    /// Exit 1 when any entry moved upstream (for CI jobs and bots)
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
#[command(after_help = AUDIT_HELP)]
pub struct AuditArgs {
    /// Only these locked entries [default: all]
    #[arg(value_name = "NAME", add = ArgValueCandidates::new(model_names))]
    pub names: Vec<String>,
    /// Also scan the files in the store: the imports of every pickle (walked, never loaded),
    /// inside PyTorch zip archives too, and every safetensors header
    #[arg(long)]
    pub scan: bool,
    /// What to write on stdout: the audit as text (or JSON with --json), or a CycloneDX 1.6
    /// ML-BOM of the locked models (JSON)
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
}

/// What `hfdl audit` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// The audit: a table, then the policy's findings and the scan per model
    Text,
    /// A CycloneDX 1.6 ML-BOM (JSON): each model with its commit, purl, licenses and files
    Cyclonedx,
}

/// What `hfdl audit --help` adds.
const AUDIT_HELP: &str = "Exits 1 when a rule of [policy] (models.toml or config.toml) is broken, or --scan finds a \
pickle that imports something dangerous or a file that is not valid as its format. Reads models.lock and the \
store only, never the network. Pickle-based weights (.bin, .pt, .pth, .ckpt, .pkl) can run code when loaded: \
when the repo also has safetensors, exclude them in models.toml (exclude = [\"*.bin\"]).";

#[derive(Debug, Args)]
pub struct StatusArgs {}

#[derive(Debug, Args)]
pub struct PathArgs {
    /// The entry's name in models.toml
    #[arg(add = ArgValueCandidates::new(model_names))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the token from standard input (for scripts) instead of a hidden prompt
    #[arg(long)]
    pub token_stdin: bool,
    /// Store the token in the HF token file ($HF_HOME/token, shared with huggingface_hub), not
    /// the OS keyring
    #[arg(long)]
    pub no_keyring: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {}

#[derive(Debug, Args)]
pub struct WhoamiArgs {}

#[derive(Debug, Args)]
pub struct DoctorArgs {}

#[derive(Debug, Args)]
pub struct UiArgs {
    /// The port to listen on [default: a free one]
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Print the URL but do not open a browser
    #[arg(long)]
    pub no_open: bool,
    /// Listen on this address instead of 127.0.0.1: an IP address, or IP:PORT. Whoever can
    /// reach it and has the URL's token controls hfdl on this machine
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only these entries of models.toml [default: all]
    #[arg(value_name = "NAME", add = ArgValueCandidates::new(model_names))]
    pub names: Vec<String>,
    /// Hash every file again, even those unchanged since hfdl last verified them
    #[arg(long)]
    pub full: bool,
    /// Re-fetch what is missing or damaged, fix links, remove extra files
    #[arg(long)]
    pub repair: bool,
    /// Files hashed (and, with --repair, fetched) in parallel
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
}

/// What `hfdl export --help` adds.
const EXPORT_HELP: &str = "The bundle is a plain tar file: models.lock first, then one entry per distinct file content, \
blobs/sha256/<hex> or blobs/git-sha1/<hex>. The store must hold everything the lock pins (run `hfdl sync` first); \
every file is hashed against the lock as it is written, and the bundle appears under its name only once complete. \
On the other machine: `hfdl import FILE`, then `hfdl sync --frozen --offline`.";

#[derive(Debug, Args)]
#[command(after_help = EXPORT_HELP)]
pub struct ExportArgs {
    /// The bundle to write (a tar file); `-` writes it to standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// What `hfdl import --help` adds.
const IMPORT_HELP: &str = "Every file of the bundle is hashed against the bundle's models.lock while it is staged in the \
store; a bundle that is damaged, cut short, or holds anything its lock does not pin is refused and nothing is added. \
The project's models.lock is written from the bundle when there is none; a different one is kept, with a warning \
naming what the bundle does not cover. Snapshots are linked by the next `hfdl sync --frozen --offline`, which \
sends no request.";

#[derive(Debug, Args)]
#[command(after_help = IMPORT_HELP)]
pub struct ImportArgs {
    /// The bundle written by `hfdl export`; `-` reads it from standard input
    #[arg(value_name = "FILE")]
    pub bundle: PathBuf,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// List what would be freed, with sizes, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also sweep repos that hfdl did not write (other tools' downloads) when no lock uses them
    #[arg(long)]
    pub all: bool,
    /// How long to wait for running syncs on the store to finish before giving up
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Every setting: its effective value and where it comes from
    List,
    /// Print the effective value of a setting
    Get {
        /// A setting: store, endpoint, jobs, connections, limit-rate, timeout, retries,
        /// progress, log-level, log-format, exclude-newer, blob-store, publish, xet
        key: String,
    },
    /// Validate a value and write it into config.toml (comments are kept)
    Set {
        /// The setting
        key: String,
        /// Its value, e.g. `8`, `50M`, `30s`, `true`
        value: String,
    },
    /// Remove a setting from config.toml
    Unset {
        /// The setting
        key: String,
    },
    /// Print the path of config.toml (HFDL_CONFIG, else the platform config dir)
    Path,
}
