//! hfdl: declarative, lockfile-based sync of Hugging Face Hub repositories, as a library and
//! the `hfdl` command line.
//!
//! A project commits `models.toml` (the models it wants) and `models.lock` (the exact commit
//! and hash of every file); a sync makes the local store, the standard Hugging Face cache,
//! match the lock, verifying every byte.
//!
//! # Using the library
//!
//! Everything a program needs goes through [`ops::Project`]: open a project once (manifest,
//! settings, lock and store), then call one method per operation (`lock`, `sync`, `status`,
//! `verify`, `outdated`, `gc`, …) with typed options; progress arrives as [`report::Event`]s
//! through a [`report::Reporter`] of your choice (a [`report::ChannelReporter`] for an async
//! program), and each operation returns a typed, serde-serialisable report. The library never
//! prints, never reads the process environment on its own (you hand it an [`env::Env`]) and
//! keeps no global state. `examples/embed.rs` syncs a lock this way against the bundled mock
//! Hub (`cargo run --example embed`).
//!
//! ```no_run
//! # async fn run() -> Result<(), hfdl::error::Error> {
//! use hfdl::ops::{OpenOptions, Project, SyncOptions};
//!
//! let project = Project::open(OpenOptions {
//!     manifest: Some("models.toml".into()),
//!     env: hfdl::env::Env::from_process(),
//!     ..OpenOptions::default()
//! })?;
//! let report = project.sync(&SyncOptions::locked(), &hfdl::report::Silent).await?;
//! println!("{} files downloaded", report.summary.downloaded_files);
//! # Ok(())
//! # }
//! ```
//!
//! # Architecture
//!
//! ```text
//! models.toml ─parse→ Manifest ─resolve(Hub)→ Resolution ─encode→ models.lock
//! models.lock ─decode→ Lockfile ─┐
//! store        ─scan──→ StoreState ┴─plan→ Plan ─execute(Reporter)→ store + Summary
//! ```
//!
//! Each arrow is one public function in one module. Only [`hub`] (network) and [`store`]
//! (file system) touch the outside world; [`resolve::resolve`] takes the Hub as a value and
//! [`reconcile::plan()`] takes a snapshot of the store, so both are testable without I/O.
//!
//! # Module graph
//!
//! The modules form layers, and imports only point down (or within a layer, without a
//! cycle); `tests/it/architecture.rs` reads every `crate::` path and fails otherwise.
//!
//! | layer | modules |
//! | --- | --- |
//! | CLI | `main.rs`, `cli` (clap types), `commands` (one thin file per subcommand: arguments → options → operation → render), [`ui`] (`hfdl ui`: the local web app's server over the operations) |
//! | CLI side | [`render`] (progress renderers, the text of each report, GitHub Actions and GitLab CI conventions in [`render::ci`]), [`logging`] |
//! | operations | [`ops`]: [`ops::Project`] and one operation per command, typed reports |
//! | pipeline | [`resolve`], [`reconcile`], [`settings`] (flags + environment + files → one value), [`policy`] (a lock against `[policy]`), [`cyclonedx`] (a lock as an ML-BOM), [`health`] (doctor's checks), [`error`] (wraps every layer's error) |
//! | files and the network | [`manifest`], [`lock`], [`config`], [`hub`], [`store`], [`download`], [`xet`] (Xet hashes, xorb chunks, reconstructions), [`schema`] |
//! | leaf helpers | [`codes`] (exit and error codes), [`report`] (progress events), [`fsutil`] (atomic writes, path checks), [`pattern`] (fnmatch), [`hash`], [`repo`] (ids, and every way people name a repo), [`card`] (README front matter), [`env`](mod@env), [`build_info`] (what `hfdl version` prints), [`explain`] (the help page of each error code), [`scan`] (what loading a model file would import: pickle opcodes, safetensors headers; never executed) |
//!
//! Each layer's error type ([`manifest::diagnostics::ManifestError`], [`hub::HubError`],
//! [`store::error::StoreError`], …) says its own exit and error code through
//! [`codes::ErrorCode`]; [`error::Error`] wraps them without any of them importing it.
//!
//! # File on disk → module
//!
//! | file | module |
//! | --- | --- |
//! | `models.toml` | [`manifest`] (parse, diagnostics, `toml_edit` edits) |
//! | `models.lock` | [`lock`] (deterministic writer, freshness check) |
//! | `$HF_HUB_CACHE/{models,datasets,spaces}--*/…` | [`store`] (layout, scan, links, refs, locks) |
//! | `$HFDL_CACHE_DIR/verified-blobs.json` | [`store::verified`] (stat cache of verified blobs) |
//! | `$HFDL_CACHE_DIR/known-locks.json` | [`store::registry`] (lockfiles synced per store, for `gc`) |
//! | `$HFDL_CACHE_DIR/partials/*.json`, `blobs/*.hfdl.incomplete` | [`store::partials`] (range maps of multi-connection downloads) |
//! | `$HF_HUB_CACHE/.locks/hfdl-store.lock` | [`store::layout::STORE_LOCK_FILE`] (sync shared, gc exclusive) |
//! | what the cache holds, read-only | [`store::inventory`] (`init --from-cache`), [`store::verify`], [`store::gc`] |
//! | `$HF_HOME/token` | [`hub::auth`] (token sources, precedence, the token file) |
//! | OS keyring entry `hfdl` / endpoint | [`hub::keyring`] (Secret Service, kernel keyring) |
//! | `schemas/*.schema.json` | [`schema`] (JSON Schemas of the three files, for editors) |
//! | `hfdl export -o F.tar` / `hfdl import F.tar`, `$HF_HUB_CACHE/.locks/hfdl-import-*/` | [`store::bundle`] (air-gapped bundles: the lock and the blobs it pins; staged, verified imports) |
//! | environment variables | [`env`](mod@env) (the only reader), [`settings`] (precedence) |
//! | `--log-file PATH`, `--metrics-file PATH` | [`logging`], [`ops::metrics`] |
//! | `s3://BUCKET/PREFIX/{sha256,git-sha1}/<hex>`, `~/.aws/{credentials,config}` | [`blobstore`] (the shared blob store of a fleet) |
//! | `~/.config/hfdl/config.toml` | [`config`] (validation shared with `[settings]`, `toml_edit` edits) |

#![warn(missing_docs)]

pub mod blobstore;
pub mod build_info;
pub mod card;
#[doc(hidden)] // The binary's command line (clap types), not part of the library's API.
#[allow(rustdoc::broken_intra_doc_links)] // Its doc comments are clap's help text.
pub mod cli;
pub mod codes;
#[doc(hidden)] // The binary's subcommands, not part of the library's API.
pub mod commands;
pub mod config;
pub mod cyclonedx;
pub mod download;
pub mod env;
pub mod error;
pub mod explain;
pub mod fsutil;
pub mod hash;
pub mod health;
pub mod hub;
pub mod lock;
pub mod logging;
pub mod manifest;
#[doc(hidden)] // Generates the man pages and reference pages from the command line.
pub mod manual;
pub mod ops;
pub mod pattern;
pub mod policy;
pub mod reconcile;
pub mod render;
pub mod repo;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod schema;
pub mod settings;
pub mod store;
pub mod ui;
pub mod xet;
