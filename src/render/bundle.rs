//! The text of `hfdl export` and `hfdl import`: their summary lines, for stderr (the bundle
//! itself may be what `hfdl export -o -` writes on stdout).

use std::fmt::Write as _;

use indicatif::HumanBytes;

use super::count;
use crate::ops::bundle::{ExportReport, ImportReport, LockAction};

/// `Exported 2 models (5 files, 1.21 MiB) to models.tar`.
pub fn export(report: &ExportReport) -> String {
    let to = report.path.as_ref().map_or_else(
        || "standard output".to_owned(),
        |path| path.display().to_string(),
    );
    format!(
        "Exported {} ({}, {}) to {to}",
        count(report.models, "model"),
        count(report.files, "file"),
        HumanBytes(report.bytes)
    )
}

/// What was verified and added, what became of models.lock, and the next step.
pub fn import(report: &ImportReport) -> Vec<String> {
    let mut summary = format!(
        "Imported {} ({}, {}, every byte verified) into {}",
        count(report.models, "model"),
        count(report.files, "file"),
        HumanBytes(report.bytes),
        report.store.display()
    );
    if report.already_present > 0 {
        let _ = write!(
            summary,
            "; {} already there",
            count(report.already_present, "blob")
        );
    }
    let mut lines = vec![summary];
    if report.lock == LockAction::Written {
        lines.push(format!(
            "Wrote {} from the bundle",
            report.lock_path.display()
        ));
    }
    lines.push(
        "Next: `hfdl sync --frozen --offline` links the snapshots, without the network".into(),
    );
    lines
}
