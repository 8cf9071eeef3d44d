//! `hfdl logout`: removes the endpoint's keyring entry and the HF token file (which
//! `hf auth logout` also removes: the two tools share that login), then says what still
//! supplies a token, such as `HF_TOKEN` in the environment.

use super::Context;
use crate::cli::LogoutArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::render;

/// Runs `hfdl logout`.
pub fn run(ctx: &Context, project: &Project, _args: &LogoutArgs) -> Result<()> {
    let report = project.logout()?;
    if ctx.json {
        ctx.print_report(&report)?;
    } else {
        ctx.statuses(&render::account::logout(&report));
    }
    // Reported last: what could be removed was removed.
    report.verdict()
}
