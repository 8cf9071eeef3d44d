//! The text of `hfdl search`: a table of the repos found (stdout), and a line on stderr that
//! says how many and what to do next, or that nothing matched.

use indicatif::HumanCount;

use super::{count, format_table};
use crate::hub::types::Gating;
use crate::ops::search::SearchReport;
use crate::repo::RepoType;

/// `model`, `dataset`, `Space`: what the listing holds.
fn noun(repo_type: RepoType) -> &'static str {
    match repo_type {
        RepoType::Model => "model",
        RepoType::Dataset => "dataset",
        RepoType::Space => "Space",
    }
}

/// One row per repo: ID, DOWNLOADS, LIKES, LICENSE, MODIFIED (the date), GATED.
pub fn table(report: &SearchReport) -> String {
    let rows: Vec<[String; 6]> = report
        .results
        .iter()
        .map(|repo| {
            let number =
                |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| HumanCount(n).to_string());
            [
                if repo.private {
                    format!("{} (private)", repo.id)
                } else {
                    repo.id.clone()
                },
                number(repo.downloads),
                number(repo.likes),
                repo.license.clone().unwrap_or_else(|| "-".to_owned()),
                repo.last_modified
                    .as_deref()
                    .map_or("-", |date| date.get(..10).unwrap_or(date))
                    .to_owned(),
                match (report.repo_type, repo.gated) {
                    // Spaces are never gated; the Hub has no such field for them.
                    (RepoType::Space, _) => "-".to_owned(),
                    (_, Gating::No) => "no".to_owned(),
                    (_, gating) => gating.as_str().to_owned(),
                },
            ]
        })
        .collect();
    format_table(
        &["ID", "DOWNLOADS", "LIKES", "LICENSE", "MODIFIED", "GATED"],
        &rows,
    )
}

/// The line after the table: how many, whether there may be more, and the next commands.
pub fn hint(report: &SearchReport, limit: usize) -> String {
    let found = report.results.len();
    let more = if found >= limit {
        " (there may be more: raise --limit, or narrow with --author/--filter)"
    } else {
        ""
    };
    format!(
        "{}{more}; `hfdl info ID` shows one, `hfdl add ID` adds it",
        count(found, noun(report.repo_type))
    )
}

/// Nothing matched.
pub fn nothing_found(report: &SearchReport) -> String {
    let what = count(2, noun(report.repo_type));
    let what = what.trim_start_matches("2 ");
    match report.query.as_deref().filter(|q| !q.is_empty()) {
        Some(query) => format!("No {what} match `{query}` (with these filters)"),
        None => format!("No {what} match these filters"),
    }
}
