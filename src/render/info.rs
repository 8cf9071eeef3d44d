//! The text of `hfdl info`: the repo's facts as aligned `key  value` lines, its card metadata,
//! and its files by type (the selection of `--include`/`--exclude`, and every file with
//! `--files`). All of it is data, on stdout.

use std::fmt::Write as _;

use indicatif::{HumanBytes, HumanCount};
use serde_json::Value;

use super::{count, format_table};
use crate::hub::types::Gating;
use crate::ops::info::{AccessState, CardState, InfoReport};

/// The whole text.
pub fn text(report: &InfoReport) -> String {
    let mut facts: Vec<(&str, String)> = vec![
        ("page", report.url.clone()),
        (
            "revision",
            format!("{} (commit {})", report.revision, report.commit),
        ),
    ];
    if let Some(date) = &report.last_modified {
        facts.push(("last modified", date.clone()));
    }
    facts.push((
        "license",
        report
            .license
            .clone()
            .unwrap_or_else(|| "not stated".to_owned()),
    ));
    facts.push(("gated", gated(report)));
    facts.push((
        "private",
        if report.private { "yes" } else { "no" }.to_owned(),
    ));
    for (key, value) in [
        ("library", &report.library_name),
        ("pipeline", &report.pipeline_tag),
        ("sdk", &report.sdk),
    ] {
        if let Some(value) = value {
            facts.push((key, value.clone()));
        }
    }
    if let Some(downloads) = report.downloads {
        facts.push((
            "downloads",
            format!("{} in the last 30 days", HumanCount(downloads)),
        ));
    }
    if let Some(likes) = report.likes {
        facts.push(("likes", HumanCount(likes).to_string()));
    }
    if !report.tags.is_empty() {
        facts.push(("tags", report.tags.join(", ")));
    }

    let mut out = format!("{} ({})\n", report.repo, report.repo_type);
    let width = facts.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in &facts {
        let _ = writeln!(out, "  {key:<width$}  {value}");
    }
    out.push('\n');
    card(report, &mut out);
    out.push('\n');
    files(report, &mut out);
    out
}

/// The gating line: the mode, and for this caller whether they may download and how to.
fn gated(report: &InfoReport) -> String {
    let mode = match report.gated {
        Gating::No => return "no".to_owned(),
        Gating::Auto => "yes, access granted on request",
        Gating::Manual => "yes, the authors approve each request",
    };
    match &report.access {
        Some(access) if access.state == AccessState::Granted => {
            format!("{mode}; your token has access")
        }
        Some(access) => format!(
            "{mode}; {}: {}",
            match access.state {
                AccessState::LoginRequired => "no token was sent",
                _ => "your token has no access",
            },
            access.help.as_deref().unwrap_or_default()
        ),
        None => mode.to_owned(),
    }
}

/// The card's metadata as `key: value` lines, or why there is none.
fn card(report: &InfoReport, out: &mut String) {
    let card = &report.card;
    match (card.state, &card.metadata) {
        (CardState::Present, Some(metadata)) => {
            out.push_str("card metadata (README.md):\n");
            for (key, value) in metadata {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = writeln!(out, "  {key}: {value}");
            }
        }
        (CardState::Invalid, _) => {
            let _ = writeln!(
                out,
                "card metadata: could not be parsed: {}",
                card.note.as_deref().unwrap_or("invalid YAML")
            );
        }
        (state, _) => {
            let what = if state == CardState::Unreadable {
                "not read"
            } else {
                "none"
            };
            let _ = writeln!(
                out,
                "card metadata: {what} ({})",
                card.note.as_deref().unwrap_or("no README.md")
            );
        }
    }
}

/// The file totals, by type, and the list with `--files`.
fn files(report: &InfoReport, out: &mut String) {
    let files = &report.files;
    if files.include.is_empty() && files.exclude.is_empty() {
        let _ = writeln!(
            out,
            "files: {}, {}",
            count(files.total_files, "file"),
            HumanBytes(files.total_bytes)
        );
    } else {
        let mut patterns = Vec::new();
        if !files.include.is_empty() {
            patterns.push(format!("include {}", quoted(&files.include)));
        }
        if !files.exclude.is_empty() {
            patterns.push(format!("exclude {}", quoted(&files.exclude)));
        }
        let _ = writeln!(
            out,
            "selected by {}: {} of {}, {} of {}",
            patterns.join(", "),
            files.selected_files,
            count(files.total_files, "file"),
            HumanBytes(files.selected_bytes),
            HumanBytes(files.total_bytes)
        );
    }
    let rows: Vec<[String; 3]> = files
        .by_type
        .iter()
        .map(|t| {
            [
                t.kind.clone(),
                count(t.files, "file"),
                HumanBytes(t.bytes).to_string(),
            ]
        })
        .collect();
    for line in format_table(&["TYPE", "FILES", "SIZE"], &rows).lines() {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(list) = &files.list {
        out.push('\n');
        let rows: Vec<[String; 3]> = list
            .iter()
            .map(|f| {
                [
                    f.path.clone(),
                    HumanBytes(f.size).to_string(),
                    if f.lfs { "lfs" } else { "git" }.to_owned(),
                ]
            })
            .collect();
        out.push_str(&format_table(&["PATH", "SIZE", "STORED IN"], &rows));
    }
}

/// `'a', 'b'`: patterns as a person would type them.
fn quoted(patterns: &[String]) -> String {
    patterns
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
