//! The only network code: the Hub client, its wire types, auth (token sources and the OS
//! keyring) and typed errors.

pub mod auth;
pub mod client;
pub mod error;
pub mod keyring;
pub mod metrics;
pub mod probe;
pub mod types;

pub use auth::{Token, TokenSource};
pub use client::{HubClient, HubOptions};
pub use error::HubError;
