//! hfdl: declarative, lockfile-based sync of Hugging Face Hub repositories.

pub mod cli;
// pub mod commands; (re-enabled once the manifest edit API lands)
pub mod download;
pub mod env;
pub mod error;
pub mod hash;
pub mod hub;
pub mod lock;
pub mod manifest;
pub mod reconcile;
pub mod repo;
pub mod report;
pub mod resolve;
pub mod settings;
pub mod store;
