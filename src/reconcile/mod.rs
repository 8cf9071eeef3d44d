//! Lockfile + StoreState → Plan → execute: the reconciler.

pub mod execute;
pub mod plan;

pub use execute::{ExecuteOptions, Summary, execute};
pub use plan::{Plan, PlanOptions, plan};
