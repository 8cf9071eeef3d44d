//! The text of `hfdl config`: the settings table of `list`, and the status lines of `set` and
//! `unset`.

use std::fmt::Write as _;

use crate::ops::config::{ConfigList, ConfigSetReport, ConfigUnsetReport};

/// One line per key: the key, its value (`(unset)` when none) and where it came from.
pub fn list(report: &ConfigList) -> String {
    let settings = &report.settings;
    let width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let value_width = settings
        .iter()
        .map(|s| s.value.as_deref().unwrap_or("(unset)").len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for setting in settings {
        let _ = writeln!(
            out,
            "{:width$}  {:value_width$}  ({})",
            setting.key,
            setting.value.as_deref().unwrap_or("(unset)"),
            setting.source,
        );
    }
    out
}

/// The line after `config set`.
pub fn set(report: &ConfigSetReport) -> String {
    format!(
        "Set {} = {} in {}",
        report.key,
        report.value,
        report.path.display()
    )
}

/// The line after `config unset`.
pub fn unset(report: &ConfigUnsetReport) -> String {
    if report.removed {
        format!("Removed {} from {}", report.key, report.path.display())
    } else {
        format!("{} is not set in {}", report.key, report.path.display())
    }
}
