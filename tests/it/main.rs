//! hfdl's integration tests: the binary end to end against the mock Hub.

mod auth;
mod cooldown;
mod engine;
mod failures;
mod interop;
mod snapshots;
mod support;
mod sync;
