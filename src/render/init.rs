//! The text of `hfdl init` (status lines).

use indicatif::HumanBytes;

use super::{count, short};
use crate::ops::init::InitReport;

/// What was created and, with `--from-cache`, adopted and left out.
pub fn summary(report: &InitReport) -> Vec<String> {
    let Some(adoption) = &report.from_cache else {
        return vec![format!(
            "Created {}; add a model with `hfdl add REPO`",
            report.created.display()
        )];
    };
    let mut lines = Vec::new();
    for snapshot in &adoption.adopted {
        lines.push(format!(
            "Adopted {}: {} at {} ({}, {})",
            snapshot.name,
            snapshot.repo,
            short(&snapshot.commit),
            count(snapshot.files, "file"),
            HumanBytes(snapshot.bytes)
        ));
        for skipped in &snapshot.skipped {
            lines.push(format!("  left out {}: {}", skipped.path, skipped.reason));
        }
    }
    for snapshot in &adoption.left_out {
        lines.push(format!(
            "Left out {} at {}: {}",
            snapshot.repo,
            short(&snapshot.commit),
            if snapshot.incomplete {
                "no file of it is complete"
            } else {
                "an older snapshot no ref points to"
            }
        ));
    }
    lines.push(format!(
        "Wrote {} and {}; `hfdl sync` verifies the files without downloading them",
        report.created.display(),
        adoption.lock.display()
    ));
    lines
}
