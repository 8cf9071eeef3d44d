//! `hfdl doctor`: runs the health checks ([`crate::health`]) and prints each with its verdict
//! and, when it is not ok, the fix. Exits 1 when a check fails; with `--json` the report is the
//! whole answer (no second error document).

use std::fmt::Write as _;

use super::Context;
use crate::cli::DoctorArgs;
use crate::error::{Error, Result};
use crate::health::{self, Verdict};
use crate::manifest;

/// `config_error`: config.toml did not load; the other checks ran without it.
pub async fn run(
    ctx: &Context,
    project: &crate::ops::Project,
    _args: &DoctorArgs,
    config_error: Option<&Error>,
) -> Result<()> {
    // Outside a project there is no manifest, and the lock checks say so; a manifest that does
    // not parse has already stopped the command with its diagnostic.
    let manifest = manifest::load(&project.settings().manifest_path).ok();
    let mut checks = Vec::new();
    if let Some(error) = config_error {
        let help = miette::Diagnostic::help(error)
            .map(|help| format!("; {help}"))
            .unwrap_or_default();
        checks.push(health::Check::fail(
            "config",
            error.to_string(),
            format!(
                "fix {} (`hfdl config unset KEY` removes a bad key){help}; the other checks ran without it",
                project.settings().config_path.display()
            ),
        ));
    }
    checks.extend(health::diagnose(project.settings(), manifest.as_ref()).await);

    let failed = checks.iter().any(|c| c.verdict == Verdict::Fail);
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "ok": !failed, "checks": checks }))?;
    } else {
        let mut text = String::new();
        for check in &checks {
            let mark = match check.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            let _ = writeln!(text, "{mark} {:<9} {}", check.name, check.detail);
            if let Some(fix) = &check.fix {
                let _ = writeln!(text, "{:15}fix: {fix}", "");
            }
        }
        ctx.print_data(&text)?;
    }
    if failed {
        let failures = checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.name.to_owned())
            .collect();
        return Err(Error::ChecksFailed { failures });
    }
    Ok(())
}
