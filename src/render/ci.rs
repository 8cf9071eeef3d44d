//! CI conventions (CLI side): under GitHub Actions (`GITHUB_ACTIONS=true`), errors and warnings
//! also print as workflow commands, so they become annotations (on the file and line for a
//! manifest or lock error), progress lines sit in collapsible `::group::`s, and `sync`,
//! `outdated` and a failed command append Markdown to the job summary (`GITHUB_STEP_SUMMARY`).
//! Under GitLab CI (`GITLAB_CI=true`) the groups are collapsible sections. Outside those
//! environments none of this happens: [`Ci::detect`] returns `None`.
//!
//! Everything goes to stderr, which the GitHub runner scans for workflow commands like stdout
//! (it has one output parser per stream): stdout stays data only, e.g. for `$(hfdl path NAME)`.
//!
//! The events carry no model name during the transfers (files of several models download side by
//! side), so the groups follow the phases of an operation: "Resolving models", then one group
//! per plan ("Downloading 3 files (…)"). A status line or the command's own output closes the
//! open group, and so does the end of the command, also on error.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::HumanBytes;
use miette::{Diagnostic, SourceSpan};

use super::progress::plan_line;
use super::{elapsed, short};
use crate::env::{self, Env};
use crate::error::Error;
use crate::lock::Lockfile;
use crate::ops::SyncReport;
use crate::ops::outdated::OutdatedReport;
use crate::report::{Event, Reporter};

/// The CI system hfdl runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// GitHub Actions: workflow commands, groups and the job summary.
    GitHub,
    /// GitLab CI: collapsible sections.
    GitLab,
}

/// The CI conventions of one command run: which system, where the job summary goes, and the
/// group that is open. Dropping it closes that group.
#[derive(Debug)]
pub struct Ci {
    kind: Kind,
    summary: Option<PathBuf>,
    open: Mutex<Groups>,
}

/// The open group (at most one: groups are never nested) and a counter for GitLab's section
/// names, which must differ within a job.
#[derive(Debug, Default)]
struct Groups {
    open: Option<Open>,
    opened: usize,
}

#[derive(Debug)]
struct Open {
    header: String,
    section: String,
}

impl Ci {
    /// The conventions of the CI system `env` says hfdl runs under, if any.
    pub fn detect(env: &Env) -> Option<Ci> {
        let kind = if env.flag(env::GITHUB_ACTIONS) {
            Kind::GitHub
        } else if env.flag(env::GITLAB_CI) {
            Kind::GitLab
        } else {
            return None;
        };
        Some(Ci {
            kind,
            // GitLab has no job summary file.
            summary: (kind == Kind::GitHub)
                .then(|| env.path(env::GITHUB_STEP_SUMMARY))
                .flatten(),
            open: Mutex::new(Groups::default()),
        })
    }

    /// Which system.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The job summary file, when there is one.
    pub fn summary_file(&self) -> Option<&Path> {
        self.summary.as_deref()
    }

    /// Opens a group titled `header`, closing the open one first; nothing when the open group
    /// has that title already (the events of one phase keep their group).
    pub fn begin_group(&self, header: &str) {
        let mut groups = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if groups
            .open
            .as_ref()
            .is_some_and(|open| open.header == header)
        {
            return;
        }
        let mut lines = Vec::new();
        if let Some(open) = groups.open.take() {
            lines.push(group_end(self.kind, &open.section, unix_time()));
        }
        groups.opened += 1;
        let section = section_name(groups.opened, header);
        lines.push(group_start(self.kind, &section, header, unix_time()));
        groups.open = Some(Open {
            header: header.to_owned(),
            section,
        });
        emit(&lines);
    }

    /// Closes the open group, if any.
    pub fn end_group(&self) {
        let open = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
            .take();
        if let Some(open) = open {
            emit(&[group_end(self.kind, &open.section, unix_time())]);
        }
    }

    /// A warning annotation (GitHub; GitLab has no equivalent, the log line says it).
    pub fn warning(&self, message: &str) {
        if self.kind == Kind::GitHub {
            emit(&[warning_command(message)]);
        }
    }

    /// The end of a failed command: an error annotation and, with a job summary file, the error
    /// appended to it (a failure to write it is a warning).
    pub fn failed(&self, command: &str, error: &Error) {
        self.end_group();
        if self.kind != Kind::GitHub {
            return;
        }
        emit(&[error_command(error)]);
        if let Err(message) = self.append_summary(&failure_summary(command, error)) {
            super::progress::status_line(&format!("warning: {message}"));
            self.warning(&message);
        }
    }

    /// Appends `markdown` to the job summary file (opened for appending: other steps' and
    /// commands' summaries stay). `Err` holds the warning to show.
    pub fn append_summary(&self, markdown: &str) -> Result<(), String> {
        let Some(path) = &self.summary else {
            return Ok(());
        };
        let mut text = markdown.trim_end().to_owned();
        // A blank line after each summary keeps the next one's Markdown apart.
        text.push_str("\n\n");
        fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|error| format!("could not append the job summary: {error}"))
    }
}

impl Drop for Ci {
    fn drop(&mut self) {
        self.end_group();
    }
}

/// Wraps the reporter of a human output (lines or bars) to open and close groups at the phases
/// of an operation and to turn warnings into annotations.
pub struct Grouped {
    inner: Arc<dyn Reporter>,
    ci: Arc<Ci>,
}

impl Grouped {
    /// `inner`'s output, grouped by `ci`.
    pub fn new(inner: Arc<dyn Reporter>, ci: Arc<Ci>) -> Grouped {
        Grouped { inner, ci }
    }
}

impl Reporter for Grouped {
    fn report(&self, event: Event) {
        match &event {
            Event::Resolving { .. } => self.ci.begin_group("Resolving models"),
            Event::Planned {
                download_files,
                download_bytes,
                verify_files,
                ..
            } if download_files + verify_files > 0 => {
                self.ci
                    .begin_group(&plan_line(*download_files, *download_bytes, *verify_files));
            }
            // A line for the person running the command stands outside any group.
            Event::Status { .. } => self.ci.end_group(),
            Event::Warning { message } => {
                let message = message.clone();
                self.inner.report(event);
                self.ci.warning(&message);
                return;
            }
            _ => {}
        }
        self.inner.report(event);
    }
}

/// Writes `lines` to stderr at once, so another thread's line cannot land between them.
fn emit(lines: &[String]) {
    let mut stderr = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(stderr, "{line}");
    }
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A GitLab section name: `hfdl_<n>_<header's words>`, with only the characters GitLab allows
/// (letters, digits, `_`, `.`, `-`).
fn section_name(n: usize, header: &str) -> String {
    let words: String = header
        .chars()
        .take_while(|c| *c != '(')
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("hfdl_{n}_{}", words.trim_matches('_'))
}

/// The line that opens a group.
fn group_start(kind: Kind, section: &str, header: &str, time: u64) -> String {
    match kind {
        Kind::GitHub => format!("::group::{}", escape_data(header)),
        Kind::GitLab => format!(
            "\x1b[0Ksection_start:{time}:{section}[collapsed=true]\r\x1b[0K{}",
            header.replace(['\r', '\n'], " ")
        ),
    }
}

/// The line that closes a group.
fn group_end(kind: Kind, section: &str, time: u64) -> String {
    match kind {
        Kind::GitHub => "::endgroup::".to_owned(),
        Kind::GitLab => format!("\x1b[0Ksection_end:{time}:{section}\r\x1b[0K"),
    }
}

/// A workflow command's message, escaped as the runner unescapes it.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`, which delimit properties.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::warning::message`.
pub fn warning_command(message: &str) -> String {
    format!("::warning::{}", escape_data(message))
}

/// `::error file=…,line=…,col=…,title=hfdl <code>::message` for an error that points into a
/// file (the manifest, the lock, config.toml), `::error title=hfdl <code>::message` otherwise.
/// The message is the error with its causes, then its help.
pub fn error_command(error: &Error) -> String {
    let mut properties = Vec::new();
    if let Some(location) = locate(error) {
        properties.push(format!("file={}", escape_property(&location.file)));
        if let Some((line, col)) = location.line_col {
            properties.push(format!("line={line}"));
            properties.push(format!("col={col}"));
        }
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!("hfdl {}", error.error_code()))
    ));
    let mut message = error.message_chain();
    if let Some(help) = error.help_text() {
        let _ = write!(message, "\nhelp: {help}");
    }
    format!(
        "::error {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

/// Where in which file an error points.
#[derive(Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, absolute (the runner makes it relative to the workspace), so the annotation
    /// lands on the right file whatever the step's working directory.
    pub file: String,
    /// 1-based line and column (in characters) of the labelled span, when there is one.
    pub line_col: Option<(usize, usize)>,
}

/// The file and position of the first diagnostic in `error`'s chain that carries its source
/// (manifest, lock and config errors do), if that source is a file on disk (a value checked on
/// its own, e.g. from an environment variable, is not).
pub fn locate(error: &dyn Diagnostic) -> Option<Location> {
    if let Some(source) = error.source_code() {
        // The whole text: the span at 0 with unlimited context lines on both sides.
        let whole = source
            .read_span(&SourceSpan::from(0..0), usize::MAX, usize::MAX)
            .ok()?;
        let name = whole.name()?;
        if !Path::new(name).is_file() {
            return None;
        }
        let text = String::from_utf8_lossy(whole.data());
        let line_col = error
            .labels()
            .and_then(|mut labels| labels.next())
            .map(|label| line_col(&text, label.offset()));
        let file = std::path::absolute(name)
            .map_or_else(|_| name.to_owned(), |path| path.display().to_string());
        return Some(Location { file, line_col });
    }
    error.diagnostic_source().and_then(locate)
}

/// The 1-based line and column (counted in characters) of byte `offset` in `text`; an offset
/// past the end or inside a character counts as the position after what precedes it.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].trim_end_matches('\r').chars().count() + 1;
    (line, col)
}

/// A Markdown table.
fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    out.push_str(&" --- |".repeat(header.len()));
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|cell| cell.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The job summary of a sync: the models and their commits (from the lock it synced), then
/// files downloaded and reused, bytes, time and requests.
pub fn sync_summary(report: &SyncReport, lock: Option<&Lockfile>) -> String {
    let summary = &report.summary;
    let mut out = String::from("### hfdl sync\n\n");
    if report.already_in_sync {
        out.push_str("Already in sync: nothing to download.\n\n");
    }
    if let Some(lock) = lock {
        let rows: Vec<Vec<String>> = lock
            .models
            .iter()
            .map(|model| {
                vec![
                    model.name.clone(),
                    format!("{}@{}", model.repo, model.revision),
                    format!("`{}`", short(&model.commit)),
                    model.files.len().to_string(),
                    HumanBytes(model.total_size()).to_string(),
                ]
            })
            .collect();
        out.push_str(&markdown_table(
            &["Model", "Repo", "Commit", "Files", "Size"],
            &rows,
        ));
        out.push('\n');
    }
    out.push_str(&markdown_table(
        &[
            "Models",
            "Files",
            "Downloaded",
            "Reused",
            "Bytes downloaded",
            "Time",
            "Requests",
        ],
        &[vec![
            report.models.to_string(),
            summary.files_total.to_string(),
            summary.downloaded_files.to_string(),
            summary.reused_files.to_string(),
            HumanBytes(summary.downloaded_bytes).to_string(),
            elapsed(summary.elapsed),
            super::sync::requests(&summary.requests),
        ]],
    ));
    out
}

/// The job summary of `outdated`: the drift table, or the line that says all are up to date.
pub fn outdated_summary(report: &OutdatedReport) -> String {
    let mut out = String::from("### hfdl outdated\n\n");
    let drifted = report.drifted();
    if drifted.is_empty() {
        for line in super::outdated::up_to_date(report) {
            let _ = writeln!(out, "{line}\n");
        }
        return out;
    }
    let rows: Vec<Vec<String>> = drifted
        .iter()
        .map(|row| super::outdated::cells(row, |c| format!("`{}`", short(c))).to_vec())
        .collect();
    out.push_str(&markdown_table(
        &[
            "Model", "State", "Locked", "Latest", "Date", "Files", "Download", "Revision",
        ],
        &rows,
    ));
    let _ = write!(out, "\n{}\n", super::outdated::UPGRADE_HINT);
    out
}

/// The job summary of a failed command: its error code and exit code, the message (in a code
/// block: it quotes paths and values verbatim) and the help.
pub fn failure_summary(command: &str, error: &Error) -> String {
    let message = error.message_chain();
    // A fence longer than any run of backticks in the message.
    let longest = message.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!(
        "### hfdl {command} failed: {} (exit {})\n\n{fence}text\n{message}\n{fence}\n",
        error.error_code(),
        error.exit_code()
    );
    if let Some(help) = error.help_text() {
        let _ = write!(out, "\n**help:** {help}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped_as_github_unescapes_them() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_data("a: b, c"), "a: b, c");
        assert_eq!(
            escape_property("C:\\dir,x%\n"),
            "C%3A\\dir%2Cx%25%0A",
            "in properties `:` and `,` are delimiters"
        );
        assert_eq!(
            warning_command("line one\nline two"),
            "::warning::line one%0Aline two"
        );
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\n[models.x]\nrepö = \"y\"\r\nz = 2";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        let z = text.find('z').unwrap();
        assert_eq!(line_col(text, z), (4, 1));
        let quote = text.find('"').unwrap();
        assert_eq!(line_col(text, quote), (3, 8), "ö is one column");
        assert_eq!(
            line_col(text, text.len() + 10),
            (4, 6),
            "clamped to the end"
        );
        let inside = text.find('ö').unwrap() + 1;
        assert_eq!(line_col(text, inside), (3, 4), "inside a character");
    }

    #[test]
    fn a_manifest_error_points_at_its_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models.toml");
        let text = "[models.tiny]\nrepo = \"acme/tiny\"\nrevison = \"main\"\n";
        fs_err::write(&path, text).unwrap();
        let error = Error::from(crate::manifest::load(&path).unwrap_err());
        let location = locate(&error).expect("a location");
        assert_eq!(location.file, path.display().to_string());
        assert_eq!(location.line_col, Some((3, 1)));
        let command = error_command(&error);
        assert!(
            command.starts_with(&format!(
                "::error file={},line=3,col=1,title=hfdl manifest-invalid::",
                escape_property(&path.display().to_string())
            )),
            "{command}"
        );
        assert!(
            command.contains("%0Ahelp: did you mean `revision`?"),
            "{command}"
        );
        assert!(!command.contains('\n'), "one line: {command}");
    }

    #[test]
    fn an_error_without_a_file_has_only_a_title() {
        let error = Error::Usage {
            message: "bad: flag, here".into(),
            help: "do this".into(),
        };
        assert_eq!(locate(&error), None);
        assert_eq!(
            error_command(&error),
            "::error title=hfdl usage::bad: flag, here%0Ahelp: do this"
        );
    }

    #[test]
    fn groups_open_and_close_with_the_conventions_of_each_system() {
        assert_eq!(
            group_start(Kind::GitHub, "hfdl_1_x", "Resolving 100%", 5),
            "::group::Resolving 100%25"
        );
        assert_eq!(group_end(Kind::GitHub, "hfdl_1_x", 5), "::endgroup::");
        let name = section_name(2, "Downloading 3 files (1.00 MiB)");
        assert_eq!(name, "hfdl_2_downloading_3_files");
        assert_eq!(
            group_start(Kind::GitLab, &name, "Downloading\n3 files", 17),
            "\x1b[0Ksection_start:17:hfdl_2_downloading_3_files[collapsed=true]\r\x1b[0KDownloading 3 files"
        );
        assert_eq!(
            group_end(Kind::GitLab, &name, 18),
            "\x1b[0Ksection_end:18:hfdl_2_downloading_3_files\r\x1b[0K"
        );
        assert_eq!(plan_line(0, 0, 2), "Verifying 2 files");
        assert_eq!(
            plan_line(1, 2048, 1),
            "Downloading 1 file (2.00 KiB), verifying 1 file"
        );
    }

    #[test]
    fn nothing_is_on_outside_ci() {
        assert!(Ci::detect(&Env::from_pairs([("CI", "true")], None)).is_none());
        let github = Ci::detect(&Env::from_pairs(
            [
                (env::GITHUB_ACTIONS, "true"),
                (env::GITHUB_STEP_SUMMARY, "/tmp/summary.md"),
            ],
            None,
        ))
        .unwrap();
        assert_eq!(github.kind(), Kind::GitHub);
        assert_eq!(github.summary_file(), Some(Path::new("/tmp/summary.md")));
        let gitlab = Ci::detect(&Env::from_pairs(
            [
                (env::GITLAB_CI, "true"),
                (env::GITHUB_STEP_SUMMARY, "/tmp/summary.md"),
            ],
            None,
        ))
        .unwrap();
        assert_eq!(gitlab.kind(), Kind::GitLab);
        assert_eq!(gitlab.summary_file(), None);
    }

    #[test]
    fn a_failure_summary_fences_the_message_and_gives_the_help() {
        let error = Error::Usage {
            message: "a ``` b".into(),
            help: "run `hfdl lock`".into(),
        };
        let text = failure_summary("sync", &error);
        assert!(
            text.starts_with("### hfdl sync failed: usage (exit 2)\n\n````text\na ``` b\n````\n"),
            "{text}"
        );
        assert!(text.ends_with("**help:** run `hfdl lock`\n"), "{text}");
    }
}
