//! Manifest errors as miette diagnostics pointing into the file.
//!
//! Every validation error carries the whole file as its source code and a label on the exact key
//! or value at fault, so the terminal shows the offending line with a caret, and a `help` with
//! the next step. Messages start with the file name so that they stay useful without the
//! snippet (`--json`, logs).

use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};

/// Everything that can be wrong with a manifest.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ManifestError {
    /// The manifest file does not exist.
    #[error("{}: no such manifest", path.display())]
    #[diagnostic(help(
        "create one with `hfdl init` or `hfdl add REPO`, or point at another file with --manifest PATH"
    ))]
    NotFound {
        /// The path looked at.
        path: PathBuf,
    },

    /// The manifest exists but could not be read.
    #[error("{}: cannot read the manifest", path.display())]
    #[diagnostic(help("check the file's permissions"))]
    Io {
        /// The manifest's path.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid TOML (including duplicate keys and tables).
    #[error("{file}: invalid TOML: {message}")]
    #[diagnostic(help("fix the TOML syntax; models.example.toml shows every key"))]
    Syntax {
        /// The file name as shown in messages.
        file: String,
        /// The parser's one-line explanation.
        message: String,
        /// The whole file, for the snippet.
        #[source_code]
        src: NamedSource<String>,
        /// Where the parser stopped.
        #[label("here")]
        span: SourceSpan,
    },

    /// A key that hfdl does not know.
    #[error("{file}: unknown key \"{key}\" in {table}")]
    UnknownKey {
        /// The file name as shown in messages.
        file: String,
        /// The key as written.
        key: String,
        /// Where it is, e.g. `[models.minilm]`, `[settings]` or "the top level".
        table: String,
        /// The closest known key, when one is close enough.
        suggestion: Option<String>,
        /// The whole file, for the snippet.
        #[source_code]
        src: NamedSource<String>,
        /// The key's bytes in the file.
        #[label("unknown key")]
        span: SourceSpan,
        /// The suggestion, if any, and the keys the table accepts.
        #[help]
        help: String,
    },

    /// A required key is absent.
    #[error("{file}: missing key \"{key}\" in {table}")]
    MissingKey {
        /// The file name as shown in messages.
        file: String,
        /// The key that is missing.
        key: String,
        /// The table that lacks it, e.g. `[models.minilm]`.
        table: String,
        /// The whole file, for the snippet.
        #[source_code]
        src: NamedSource<String>,
        /// The entry's `[models.NAME]` header in the file.
        #[label("this entry has no `{key}`")]
        span: SourceSpan,
        /// The next step for the user.
        #[help]
        help: String,
    },

    /// A value of the wrong TOML type.
    #[error("{file}: \"{key}\" in {table} must be {expected}, not {found}")]
    WrongType {
        /// The file name as shown in messages.
        file: String,
        /// The key whose value is wrong.
        key: String,
        /// Where the key is, e.g. `[models.minilm]` or `[settings]`.
        table: String,
        /// The type the key takes, e.g. "a string".
        expected: &'static str,
        /// The type the file has there.
        found: &'static str,
        /// The whole file, for the snippet.
        #[source_code]
        src: NamedSource<String>,
        /// The value's bytes in the file.
        #[label("expected {expected}")]
        span: SourceSpan,
        /// The next step for the user.
        #[help]
        help: String,
    },

    /// A value of the right type that is not allowed.
    #[error("{file}: invalid {key} {value} in {table}: {reason}")]
    InvalidValue {
        /// The file name as shown in messages.
        file: String,
        /// The key whose value is wrong.
        key: String,
        /// Where the key is, e.g. `[models.minilm]` or `[settings]`.
        table: String,
        /// The value as written in the file.
        value: String,
        /// Why the value is not allowed.
        reason: String,
        /// The whole file, for the snippet.
        #[source_code]
        src: NamedSource<String>,
        /// The value's bytes in the file.
        #[label("{reason}")]
        span: SourceSpan,
        /// The next step for the user.
        #[help]
        help: String,
    },

    /// An entry name outside `[A-Za-z0-9_.-]+`.
    #[error("{file}: invalid model name \"{name}\": {reason}")]
    InvalidName {
        /// The file name as shown in messages.
        file: String,
        /// The entry name as written.
        name: String,
        /// What is wrong with it.
        reason: String,
        /// The whole file, for the snippet.
        #[source_code]
        src: NamedSource<String>,
        /// The name's bytes in the file.
        #[label("invalid name")]
        span: SourceSpan,
        /// The characters names may use.
        #[help]
        help: String,
    },
}

impl ManifestError {
    /// The stable `code` of `--json` errors.
    pub fn error_code(&self) -> &'static str {
        match self {
            ManifestError::NotFound { .. } => "manifest-not-found",
            ManifestError::Io { .. } => "manifest-io",
            ManifestError::Syntax { .. }
            | ManifestError::UnknownKey { .. }
            | ManifestError::MissingKey { .. }
            | ManifestError::WrongType { .. }
            | ManifestError::InvalidValue { .. }
            | ManifestError::InvalidName { .. } => "manifest-invalid",
        }
    }

    /// What is wrong, without the file and table: for a value that came from somewhere else
    /// than a file (an environment variable), whose error names that place instead.
    pub fn problem(&self) -> String {
        match self {
            ManifestError::InvalidValue { reason, .. } => reason.clone(),
            ManifestError::WrongType {
                expected, found, ..
            } => format!("must be {expected}, not {found}"),
            other => other.to_string(),
        }
    }

    /// The labelled byte range in the file, for errors that have one.
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            ManifestError::NotFound { .. } | ManifestError::Io { .. } => None,
            ManifestError::Syntax { span, .. }
            | ManifestError::UnknownKey { span, .. }
            | ManifestError::MissingKey { span, .. }
            | ManifestError::WrongType { span, .. }
            | ManifestError::InvalidValue { span, .. }
            | ManifestError::InvalidName { span, .. } => {
                Some(span.offset()..span.offset() + span.len())
            }
        }
    }
}

/// Builds errors for one file: its displayed name and its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Source<'a> {
        Source { file, text }
    }

    /// The file as miette source code (cloned only when an error is built).
    pub fn named(&self) -> NamedSource<String> {
        NamedSource::new(self.file, self.text.to_owned())
    }

    /// A span clamped to the text, so a bad range can never make the renderer panic.
    pub fn span(&self, range: Option<Range<usize>>) -> SourceSpan {
        let len = self.text.len();
        let range = range.unwrap_or(0..0);
        let start = range.start.min(len);
        let end = range.end.clamp(start, len);
        SourceSpan::from(start..end)
    }

    pub fn syntax(&self, error: &toml_edit::TomlError) -> ManifestError {
        // toml_edit's message is multi-line; its first line says what is wrong.
        let mut message = error
            .message()
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("cannot parse the file")
            .to_owned();
        let span = self.span(error.span());
        // "duplicate key" alone does not say which one: name it.
        let spanned = &self.text[span.offset()..span.offset() + span.len()];
        if message.starts_with("duplicate") && !spanned.is_empty() && !spanned.contains('\n') {
            message = format!("{message} `{spanned}`");
        }
        ManifestError::Syntax {
            file: self.file.to_owned(),
            message,
            src: self.named(),
            span,
        }
    }

    pub fn unknown_key(
        &self,
        key: &str,
        table: &str,
        allowed: &[&str],
        range: Option<Range<usize>>,
    ) -> ManifestError {
        let suggestion = suggest(key, allowed).map(str::to_owned);
        let known = allowed
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match &suggestion {
            Some(s) => format!("did you mean `{s}`? The keys of {table} are {known}"),
            None => format!("the keys of {table} are {known}"),
        };
        ManifestError::UnknownKey {
            file: self.file.to_owned(),
            key: key.to_owned(),
            table: table.to_owned(),
            suggestion,
            src: self.named(),
            span: self.span(range),
            help,
        }
    }

    pub fn missing_key(
        &self,
        key: &str,
        table: &str,
        range: Option<Range<usize>>,
        help: &str,
    ) -> ManifestError {
        ManifestError::MissingKey {
            file: self.file.to_owned(),
            key: key.to_owned(),
            table: table.to_owned(),
            src: self.named(),
            span: self.span(range),
            help: help.to_owned(),
        }
    }

    pub fn wrong_type(
        &self,
        key: &str,
        table: &str,
        expected: &'static str,
        found: &'static str,
        range: Option<Range<usize>>,
        help: &str,
    ) -> ManifestError {
        ManifestError::WrongType {
            file: self.file.to_owned(),
            key: key.to_owned(),
            table: table.to_owned(),
            expected,
            found,
            src: self.named(),
            span: self.span(range),
            help: help.to_owned(),
        }
    }

    pub fn invalid_value(
        &self,
        key: &str,
        table: &str,
        range: Option<Range<usize>>,
        reason: &str,
        help: &str,
    ) -> ManifestError {
        let span = self.span(range);
        let value = self.text[span.offset()..span.offset() + span.len()].to_owned();
        ManifestError::InvalidValue {
            file: self.file.to_owned(),
            key: key.to_owned(),
            table: table.to_owned(),
            value,
            reason: reason.to_owned(),
            src: self.named(),
            span,
            help: help.to_owned(),
        }
    }

    pub fn invalid_name(
        &self,
        name: &str,
        reason: &str,
        range: Option<Range<usize>>,
    ) -> ManifestError {
        ManifestError::InvalidName {
            file: self.file.to_owned(),
            name: name.to_owned(),
            reason: reason.to_owned(),
            src: self.named(),
            span: self.span(range),
            help: "name entries with letters, digits, `_`, `.` and `-`, e.g. [models.minilm]"
                .to_owned(),
        }
    }
}

/// The file name as shown in messages: the path as given.
pub(crate) fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// The allowed key closest to `key`, if it is within an edit distance of 2 (or differs only in
/// `_` vs `-`, a common slip since the file is kebab-case).
pub(crate) fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let kebab = key.replace('_', "-");
    if let Some(exact) = allowed.iter().find(|k| **k == kebab) {
        return Some(exact);
    }
    allowed
        .iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("revison", "revision"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn suggestions_pick_the_closest_key() {
        let keys = ["repo", "repo-type", "revision", "include", "exclude", "dir"];
        assert_eq!(suggest("revison", &keys), Some("revision"));
        assert_eq!(suggest("repo_type", &keys), Some("repo-type"));
        assert_eq!(suggest("includes", &keys), Some("include"));
        assert_eq!(suggest("something", &keys), None);
    }

    #[test]
    fn codes_are_stable() {
        let not_found = ManifestError::NotFound {
            path: "models.toml".into(),
        };
        assert_eq!(not_found.error_code(), "manifest-not-found");
        assert_eq!(not_found.span(), None);
        let io = ManifestError::Io {
            path: "models.toml".into(),
            source: std::io::Error::other("boom"),
        };
        assert_eq!(io.error_code(), "manifest-io");
    }
}
