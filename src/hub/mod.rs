//! The only network code: the Hub client, its wire types, auth and typed errors.

pub mod auth;
pub mod client;
pub mod error;
pub mod types;

pub use auth::{Token, TokenSource};
pub use client::{HubClient, HubOptions};
pub use error::HubError;
