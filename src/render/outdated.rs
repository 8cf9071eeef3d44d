//! The text of `hfdl outdated`: a table of the entries that drifted with their changed files
//! (stdout), or the lines that say all are up to date (stderr).

use std::fmt::Write as _;

use indicatif::HumanBytes;

use super::{format_table, short};
use crate::ops::outdated::{ModelDrift, OutdatedReport};

/// The hint after the table, when `--exit-code` does not say it in its error's help.
pub const UPGRADE_HINT: &str =
    "Take an update with `hfdl lock --upgrade-model NAME` (or `--upgrade` for all)";

/// Nothing drifted: a line per entry whose newer commit the cooldown holds back, then the
/// verdict.
pub fn up_to_date(report: &OutdatedReport) -> Vec<String> {
    let rows = &report.models;
    let mut lines = Vec::new();
    for row in rows.iter().filter(|row| row.held_back.is_some()) {
        if let Some(held) = &row.held_back {
            lines.push(format!(
                "{}: {} is at {}, held back by exclude-newer = \"{}\"",
                row.name,
                held.revision,
                short(&held.latest),
                held.exclude_newer
            ));
        }
    }
    lines.push(match rows.len() {
        0 => "No models in the manifest; add one with `hfdl add REPO`".to_owned(),
        1 => "The checked model is up to date with upstream".to_owned(),
        n => format!("All {n} checked models are up to date with upstream"),
    });
    lines
}

/// One entry's cells of the drift table: name, state, locked and latest commit (through
/// `commit`, which formats a short id), date, file changes, bytes to fetch, revision.
pub fn cells(row: &ModelDrift, commit: impl Fn(&str) -> String) -> [String; 8] {
    [
        row.name.clone(),
        row.state.as_str().to_owned(),
        row.locked
            .as_deref()
            .map_or_else(|| "-".to_owned(), &commit),
        commit(&row.latest),
        row.latest_date
            .as_deref()
            .map_or("-", |date| date.get(..10).unwrap_or(date))
            .to_owned(),
        format!(
            "+{} -{} ~{}",
            row.files.added.len(),
            row.files.removed.len(),
            row.files.changed.len()
        ),
        HumanBytes(row.fetch_bytes).to_string(),
        format!("{}@{}", row.repo, row.revision),
    ]
}

/// The table, then one block per entry with its changed files.
pub fn table(rows: &[&ModelDrift]) -> String {
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|row| cells(row, |c| short(c).to_owned()))
        .collect();
    let mut out = format_table(
        &[
            "NAME", "STATE", "LOCKED", "LATEST", "DATE", "FILES", "DOWNLOAD", "REVISION",
        ],
        &table,
    );
    for row in rows {
        let _ = writeln!(out, "\n{}:", row.name);
        let lines = [
            ('+', &row.files.added),
            ('~', &row.files.changed),
            ('-', &row.files.removed),
        ];
        for (mark, changes) in lines {
            for change in changes {
                let _ = writeln!(
                    out,
                    "  {mark} {} ({})",
                    change.path,
                    HumanBytes(change.size)
                );
            }
        }
        if row.files.is_empty() {
            out.push_str("  (same files, new commit)\n");
        }
        if row.xet_reused_bytes > 0 {
            let _ = writeln!(
                out,
                "  (fetches {} of {} new: {} of Xet chunks are in the store already)",
                HumanBytes(row.fetch_bytes),
                HumanBytes(row.files.download_bytes),
                HumanBytes(row.xet_reused_bytes)
            );
        }
        if let Some(held) = &row.held_back {
            let _ = writeln!(
                out,
                "  ({} is at {}, held back by exclude-newer = \"{}\")",
                held.revision,
                short(&held.latest),
                held.exclude_newer
            );
        }
    }
    out
}
