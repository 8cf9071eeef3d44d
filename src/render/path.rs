//! The text of `hfdl path`: the directory alone, for `$(hfdl path NAME)`.

use crate::ops::path::PathReport;

/// The absolute snapshot directory.
pub fn path(report: &PathReport) -> String {
    report.path.display().to_string()
}
