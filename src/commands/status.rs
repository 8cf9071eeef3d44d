//! `hfdl status`: each locked model: present, partial, missing or modified. Never uses the
//! network.

use super::Context;
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::render;

/// Prints the status table (or the `--json` document).
pub fn run(ctx: &Context, project: &Project, _args: &StatusArgs) -> Result<()> {
    let report = project.status()?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    if report.models.is_empty() {
        ctx.status("No models in the manifest; add one with `hfdl add REPO`");
        return Ok(());
    }
    ctx.print_data(&render::status::table(&report))
}
