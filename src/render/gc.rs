//! The text of `hfdl gc`: what was (or would be) freed, repo by repo, then the totals.

use std::fmt::Write as _;

use indicatif::HumanBytes;

use super::count;
use crate::ops::gc::GcReport;

/// One line per repo (with the paths under it), the totals, and the lockfiles forgotten.
pub fn report(report: &GcReport) -> String {
    let (verb, removed) = if report.dry_run {
        ("Would free", "would remove")
    } else {
        ("Freed", "removed")
    };
    let mut out = Vec::new();
    for repo in &report.repos {
        let whole = if repo.removed {
            format!(" ({removed} the whole repo)")
        } else {
            String::new()
        };
        out.push(format!(
            "{} {}: {}, {}{whole}",
            repo.repo_type,
            repo.repo,
            count(repo.files, "file"),
            HumanBytes(repo.bytes)
        ));
        for path in &repo.paths {
            out.push(format!("  {}", path.display()));
        }
    }
    let mut total = format!(
        "{verb} {} ({}) in {}",
        count(report.files, "file"),
        HumanBytes(report.bytes),
        count(report.repos.len(), "repo")
    );
    if !report.range_maps.is_empty() {
        let _ = write!(
            total,
            ", and {} of hfdl's",
            count(report.range_maps.len(), "stale range map")
        );
    }
    if !report.chunk_maps.is_empty() {
        let _ = write!(
            total,
            ", and {} of deleted blobs",
            count(report.chunk_maps.len(), "Xet chunk map")
        );
    }
    let _ = write!(
        total,
        "; {} kept what they reference",
        count(report.locks.len(), "lockfile")
    );
    out.push(total);
    if !report.forgotten_locks.is_empty() {
        let verb = if report.dry_run {
            "would forget"
        } else {
            "forgot"
        };
        out.push(format!(
            "{verb} {} that no longer exist: {}",
            count(report.forgotten_locks.len(), "lockfile"),
            report
                .forgotten_locks
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.join("\n")
}
