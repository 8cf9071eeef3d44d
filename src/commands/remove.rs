//! `hfdl remove NAME…`: removes entries from models.toml (keeping its formatting) and their pins
//! from models.lock. No network: the other entries keep their pins as they are.
//!
//! The files stay in the store, where other projects may share them; `hfdl gc` reclaims what no
//! remembered lockfile references any more.

use super::Context;
use crate::cli::RemoveArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::remove::RemoveOptions;
use crate::render;

/// Runs `hfdl remove`.
pub fn run(ctx: &Context, project: &Project, args: &RemoveArgs) -> Result<()> {
    let options = RemoveOptions {
        names: args.names.clone(),
    };
    let report = project.remove(&options)?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.statuses(&render::remove::summary(&report));
    Ok(())
}
