//! `hfdl audit [NAME…] [--scan] [--format cyclonedx]`: each locked model's license, gating,
//! formats, remote code and size, what the policies say, and with `--scan` what its files
//! would import; or the lock as a CycloneDX ML-BOM. Reads the lock and the store only.

use super::Context;
use crate::cli::{AuditArgs, AuditFormat};
use crate::error::{Error, Result};
use crate::ops::Project;
use crate::ops::audit::AuditOptions;
use crate::render;

/// Prints the audit (or the BOM); exits 1 when the audit found something to act on.
pub fn run(ctx: &Context, project: &Project, args: &AuditArgs) -> Result<()> {
    if args.format == AuditFormat::Cyclonedx {
        if args.scan {
            return Err(Error::Usage {
                message: "--scan and --format cyclonedx do not go together".into(),
                help: "the BOM describes the lock; run `hfdl audit --scan` on its own to scan the files"
                    .into(),
            });
        }
        // An export, not a verdict: the BOM is written whatever it says.
        return ctx.print_json(&project.bom(&args.names)?);
    }
    let options = AuditOptions {
        names: args.names.clone(),
        scan: args.scan,
    };
    let report = project.audit(&options, ctx.reporter.as_ref())?;
    if ctx.json {
        ctx.print_report(&report)?;
    } else if report.models.is_empty() {
        ctx.status("No models in the lock; add one with `hfdl add REPO`");
    } else {
        ctx.print_data(&render::audit::report(&report))?;
        ctx.status(&render::audit::summary(&report));
    }
    report.verdict()
}
