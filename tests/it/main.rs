//! hfdl's integration tests: the binary end to end against the mock Hub.

mod architecture;
mod auth;
mod concurrency;
mod config;
mod cooldown;
mod discovery;
mod doctor;
mod engine;
mod explain;
mod failures;
mod fault_matrix;
mod gc;
mod github;
mod guide;
mod interop;
mod library;
mod lifecycle;
mod manual;
mod observability;
mod progress;
mod schemas;
mod signals;
mod snapshots;
mod support;
mod sync;
mod verify;
