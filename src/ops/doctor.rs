//! `doctor`: runs the health checks ([`crate::health`]): everything a sync depends on, each
//! with a verdict and, when it is not ok, the fix. Changes nothing.

use serde::Serialize;

use super::Project;
use crate::error::{Error, Result};
use crate::health::{self, Check, Verdict};
use crate::manifest;

/// What to check with.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    /// config.toml did not load (the project was opened without it): reported as a failed
    /// `config` check; the other checks run without the file.
    pub config_error: Option<ConfigProblem>,
}

/// Why config.toml did not load.
#[derive(Debug, Clone)]
pub struct ConfigProblem {
    /// The error.
    pub message: String,
    /// Its help, if it has one.
    pub help: Option<String>,
}

impl ConfigProblem {
    /// The problem an error (from opening the project) describes.
    pub fn of(error: &Error) -> ConfigProblem {
        ConfigProblem {
            message: error.to_string(),
            help: miette::Diagnostic::help(error).map(|help| help.to_string()),
        }
    }
}

/// The checks and their verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// No check failed (warnings are fine).
    pub ok: bool,
    /// Every check, in a stable order.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// The verdict: [`Error::ChecksFailed`] naming the failed checks. The CLI prints the report
    /// first, then exits with this error.
    pub fn verdict(&self) -> Result<()> {
        if self.ok {
            return Ok(());
        }
        let failures = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.name.to_owned())
            .collect();
        Err(Error::ChecksFailed { failures })
    }
}

impl Project {
    /// Runs every check: config, store, disk, lock, keyring, token, endpoint, clock.
    pub async fn doctor(&self, options: &DoctorOptions) -> DoctorReport {
        // Outside a project there is no manifest, and the lock checks say so; a manifest that
        // does not parse has already stopped the command with its diagnostic. A project opened
        // without config.toml (to report it broken) has not read its manifest: read it here.
        let loaded;
        let manifest = if let Some(manifest) = self.manifest() {
            Some(manifest)
        } else {
            loaded = manifest::load(self.manifest_path()).ok();
            loaded.as_ref()
        };
        let mut checks = Vec::new();
        if let Some(problem) = &options.config_error {
            let help = problem
                .help
                .as_ref()
                .map(|help| format!("; {help}"))
                .unwrap_or_default();
            checks.push(Check::fail(
                "config",
                problem.message.clone(),
                format!(
                    "fix {} (`hfdl config unset KEY` removes a bad key){help}; the other checks ran without it",
                    self.settings().config_path.display()
                ),
            ));
        }
        checks.extend(health::diagnose(self.settings(), manifest).await);
        DoctorReport {
            ok: !checks.iter().any(|c| c.verdict == Verdict::Fail),
            checks,
        }
    }
}
