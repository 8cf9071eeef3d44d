//! The text of `hfdl doctor`: each check with its verdict and, when it is not ok, the fix.

use std::fmt::Write as _;

use crate::health::Verdict;
use crate::ops::doctor::DoctorReport;

/// One line per check, and a `fix:` line under each that is not ok.
pub fn report(report: &DoctorReport) -> String {
    let mut text = String::new();
    for check in &report.checks {
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
    text
}
