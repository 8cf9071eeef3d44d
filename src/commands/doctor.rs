//! `hfdl doctor`: runs the health checks ([`crate::health`]) and prints each with its verdict
//! and, when it is not ok, the fix. Exits 1 when a check fails; with `--json` the report is the
//! whole answer (no second error document).

use super::Context;
use crate::cli::DoctorArgs;
use crate::error::{Error, Result};
use crate::ops::Project;
use crate::ops::doctor::{ConfigProblem, DoctorOptions};
use crate::render;

/// Runs `hfdl doctor`. `config_error`: config.toml did not load; the other checks ran without
/// it.
pub async fn run(
    ctx: &Context,
    project: &Project,
    _args: &DoctorArgs,
    config_error: Option<&Error>,
) -> Result<()> {
    let options = DoctorOptions {
        config_error: config_error.map(ConfigProblem::of),
    };
    let report = project.doctor(&options).await;
    if ctx.json {
        ctx.print_report(&report)?;
    } else {
        ctx.print_data(&render::doctor::report(&report))?;
    }
    // Printed first: a failed check still shows every verdict.
    report.verdict()
}
