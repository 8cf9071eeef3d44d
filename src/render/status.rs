//! The text of `hfdl status`: one table row per entry, with a DIR column when an entry has a
//! plain directory.

use indicatif::HumanBytes;

use super::{format_table, short};
use crate::ops::status::{DirState, ModelStatus, StatusReport};

/// The status table.
pub fn table(report: &StatusReport) -> String {
    let rows = &report.models;
    if rows.iter().any(|row| row.dir.is_some()) {
        let table: Vec<[String; 7]> = rows
            .iter()
            .map(|row| {
                let [name, state, files, on_disk, commit, repo] = cells(row);
                let dir = match (&row.dir, &row.dir_state) {
                    (Some(dir), Some(state)) => format!("{} ({})", dir.display(), dir_state(state)),
                    (Some(dir), None) => dir.display().to_string(),
                    _ => "-".to_owned(),
                };
                [name, state, files, on_disk, commit, dir, repo]
            })
            .collect();
        return format_table(
            &["NAME", "STATE", "FILES", "ON DISK", "COMMIT", "DIR", "REPO"],
            &table,
        );
    }
    let table: Vec<[String; 6]> = rows.iter().map(cells).collect();
    format_table(
        &["NAME", "STATE", "FILES", "ON DISK", "COMMIT", "REPO"],
        &table,
    )
}

/// The columns every status table has.
fn cells(row: &ModelStatus) -> [String; 6] {
    [
        row.name.clone(),
        row.state.as_str().to_owned(),
        format!("{}/{}", row.files_present, row.files),
        HumanBytes(row.bytes_on_disk).to_string(),
        row.commit
            .as_deref()
            .map_or_else(|| "-".to_owned(), |c| short(c).to_owned()),
        row.repo.clone(),
    ]
}

/// `ok`, `2 missing`, `1 unverified`, or both.
fn dir_state(state: &DirState) -> String {
    match (state.missing, state.unverified) {
        (0, 0) => "ok".to_owned(),
        (missing, 0) => format!("{missing} missing"),
        (0, unverified) => format!("{unverified} unverified"),
        (missing, unverified) => format!("{missing} missing, {unverified} unverified"),
    }
}
