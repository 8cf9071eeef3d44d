//! Manifest + Hub → Resolution.

pub mod filter;
