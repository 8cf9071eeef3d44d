//! How the CLI shows things (CLI side; the library's operations never print): progress events
//! ([`progress`]) and the text form of each operation's report, one file per command, plus the
//! conventions of GitHub Actions and GitLab CI ([`ci`]: annotations, groups, the job summary).
//! `--json` needs no renderer: reports are serde documents.

pub mod account;
pub mod audit;
pub mod bundle;
pub mod ci;
pub mod config;
pub mod doctor;
pub mod gc;
pub mod info;
pub mod init;
pub mod outdated;
pub mod path;
pub mod progress;
pub mod remove;
pub mod search;
pub mod status;
pub mod sync;
pub mod verify;

use std::fmt::Write as _;

pub use crate::repo::short_commit as short;
pub use crate::report::{count, elapsed};

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn format_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(header.as_slice()).chain(rows.iter().map(<[String; N]>::as_slice)) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
