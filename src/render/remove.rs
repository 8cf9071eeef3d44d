//! The text of `hfdl remove`: what was removed, and what stays behind (status lines).

use indicatif::HumanBytes;

use crate::ops::remove::RemoveReport;

/// One line per removed entry (and its plain directory), then a word on the store.
pub fn summary(report: &RemoveReport) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in &report.entries {
        lines.push(format!(
            "Removed `{}` ({}) from {}",
            entry.name,
            entry.repo,
            report.manifest.display()
        ));
        if let Some(dir) = &entry.dir {
            lines.push(format!(
                "Left its plain directory {} in place; delete it if nothing else uses it",
                dir.display()
            ));
        }
    }
    if report.unlocked {
        lines.push(format!(
            "Its files stay in the store, where other projects may share them; `hfdl gc` frees \
             what no remembered lockfile uses (up to {})",
            HumanBytes(report.unlocked_bytes)
        ));
    }
    lines
}
