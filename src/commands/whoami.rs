//! `hfdl whoami`: the token's owner, organisations, token name and role (from `whoami-v2`),
//! and which source the token came from. Never the token itself.

use super::Context;
use crate::cli::WhoamiArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::render;

/// Runs `hfdl whoami`.
pub async fn run(ctx: &Context, project: &Project, _args: &WhoamiArgs) -> Result<()> {
    let report = project.whoami().await?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.print_data(&render::account::whoami(&report))
}
