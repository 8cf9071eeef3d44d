//! hfdl: declarative, lockfile-based sync of Hugging Face Hub repositories.

pub mod hash;
pub mod lock;
pub mod manifest;
pub mod repo;
pub mod resolve;
pub mod store;
