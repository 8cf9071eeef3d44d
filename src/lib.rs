//! hfdl: declarative, lockfile-based sync of Hugging Face Hub repositories.
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
//! # File on disk → module
//!
//! | file | module |
//! | --- | --- |
//! | `models.toml` | [`manifest`] (parse, diagnostics, `toml_edit` edits) |
//! | `models.lock` | [`lock`] (deterministic writer, freshness check) |
//! | `$HF_HUB_CACHE/{models,datasets,spaces}--*/…` | [`store`] (layout, scan, links, refs, locks) |
//! | `$HFDL_CACHE_DIR/verified-blobs.json` | [`store::verified`] (stat cache of verified blobs) |
//! | `$HFDL_CACHE_DIR/known-locks.json` | [`store::registry`] (lockfiles synced per store, for `gc`) |
//! | `$HF_HUB_CACHE/.locks/hfdl-store.lock` | [`store::layout::STORE_LOCK_FILE`] (sync shared, gc exclusive) |
//! | what the cache holds, read-only | [`store::inventory`] (`init --from-cache`), [`store::verify`], [`store::gc`] |
//! | `$HF_HOME/token` | [`hub::auth`] (token sources, precedence, the token file) |
//! | OS keyring entry `hfdl` / endpoint | [`hub::keyring`] (Secret Service, kernel keyring) |
//! | `schemas/*.schema.json` | [`schema`] (JSON Schemas of the three files, for editors) |
//! | environment variables | [`env`] (the only reader), [`settings`] (precedence) |
//! | `--log-file PATH`, `--metrics-file PATH` | [`logging`], [`report::metrics`] |
//! | `~/.config/hfdl/config.toml` | [`config`] (validation shared with `[settings]`, `toml_edit` edits) |
//!
//! The CLI (`main.rs`, [`cli`], [`commands`], [`report::render`]) is a thin layer over these.

pub mod cli;
pub mod codes;
pub mod commands;
pub mod config;
pub mod download;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod hash;
pub mod health;
pub mod hub;
pub mod lock;
pub mod logging;
pub mod manifest;
pub mod ops;
pub mod pattern;
pub mod reconcile;
pub mod render;
pub mod repo;
pub mod report;
pub mod resolve;
pub mod schema;
pub mod settings;
pub mod store;
