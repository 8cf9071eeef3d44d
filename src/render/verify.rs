//! The text of `hfdl verify`: one line per problem, the totals, and what a repair did.

use indicatif::HumanBytes;

use super::count;
use crate::ops::verify::VerifyReport;
use crate::store::verify::{Location, Problem, ProblemKind};

/// The problems found, the totals, then what the repair did and what it left.
pub fn report(report: &VerifyReport) -> String {
    let mut lines: Vec<String> = report.problems.iter().map(describe).collect();
    lines.push(format!(
        "{} checked ({} hashed, {}), {}",
        count(report.files_checked, "file"),
        report.files_hashed,
        HumanBytes(report.bytes_hashed),
        count(report.problems.len(), "problem")
    ));
    if let Some(repair) = &report.repair {
        let mut done = vec![format!(
            "{} downloaded ({})",
            count(repair.summary.downloaded_files, "file"),
            HumanBytes(repair.summary.downloaded_bytes)
        )];
        for (n, what) in [
            (repair.summary.copied_files, "copied within the store"),
            (repair.removed_files, "removed"),
            (repair.summary.links, "linked"),
            (repair.summary.dir_files, "placed in plain directories"),
        ] {
            if n > 0 {
                done.push(format!("{n} {what}"));
            }
        }
        lines.push(format!(
            "Repaired: {}; {} left",
            done.join(", "),
            count(repair.remaining.len(), "problem")
        ));
        lines.extend(
            repair
                .remaining
                .iter()
                .map(|p| format!("still {}", describe(p))),
        );
    }
    lines.join("\n")
}

/// One line per problem: kind, entry, path, where, and what differs.
pub fn describe(problem: &Problem) -> String {
    let place = match problem.location {
        Location::Store => String::new(),
        Location::Dir => format!(" (plain dir: {})", problem.file.display()),
    };
    let detail = match (problem.kind, &problem.expected, &problem.actual) {
        (ProblemKind::Modified, Some(expected), Some(actual)) => {
            let sizes = match (problem.expected_size, problem.actual_size) {
                (Some(e), Some(a)) if e != a => format!(" ({e} bytes expected, {a} on disk)"),
                _ => String::new(),
            };
            format!(": expected {expected}, found {actual}{sizes}")
        }
        (ProblemKind::Missing, Some(expected), _) => format!(": {expected} is absent"),
        (ProblemKind::Unreadable, _, Some(error)) => format!(": cannot read it ({error})"),
        (ProblemKind::WrongLink, Some(expected), Some(actual)) => {
            format!(": {actual} instead of a link to {expected}")
        }
        _ => String::new(),
    };
    format!(
        "{:<12}  {}  {}{place}{detail}",
        problem.kind.as_str(),
        problem.model,
        problem.path
    )
}
