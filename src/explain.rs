//! The help page of each stable error code (the `code` of a `--json` error), as `hfdl explain
//! CODE` prints it, like `rustc --explain`.
//!
//! Each page is a Markdown file, `src/explain/<code>.md`, compiled into the binary. The same files
//! are included by the user guide's Troubleshooting chapter (`docs/src/troubleshooting.md`), so
//! the terminal and the book say the same thing. A page starts with `# <code>`, a blank line and
//! a one-line summary; `tests/it/explain.rs` checks that every code an `error_code` in `src/`
//! returns has a page, and that no page outlives its code.

/// `(code, page)`, sorted by code. The macro names each code once, so a page's file name and
/// its code cannot drift apart.
macro_rules! pages {
    ($($code:literal),* $(,)?) => {
        &[$(($code, include_str!(concat!("explain/", $code, ".md")))),*]
    };
}

const PAGES: &[(&str, &str)] = pages![
    "already-exists",
    "bad-blob-store-object",
    "blob-store-bucket-missing",
    "blob-store-config",
    "blob-store-denied",
    "blob-store-unreachable",
    "bundle-damaged",
    "bundle-invalid",
    "cancelled",
    "client-setup",
    "config-invalid",
    "config-io",
    "dangerous-pickle",
    "disk-full",
    "doctor-failed",
    "entry-not-found",
    "env-invalid",
    "export-incomplete",
    "forbidden",
    "gated-repo",
    "gc-lock-unreadable",
    "hash-mismatch",
    "invalid-model-file",
    "invalid-token",
    "io-error",
    "job-running",
    "keyring-error",
    "lock-invalid",
    "lock-io",
    "lock-missing",
    "lock-stale",
    "lock-version",
    "login-required",
    "manifest-invalid",
    "manifest-io",
    "manifest-not-found",
    "network-error",
    "not-logged-in",
    "not-synced",
    "nothing-cached",
    "nothing-old-enough",
    "offline",
    "offline-missing",
    "outdated",
    "policy-violation",
    "protocol-error",
    "rate-limited",
    "registry-unreadable",
    "repo-not-found",
    "revision-not-found",
    "server-error",
    "store-busy",
    "store-not-writable",
    "ui-forbidden",
    "ui-not-found",
    "ui-unauthorized",
    "unknown-model",
    "unknown-setting",
    "usage",
    "verify-failed",
    "xet-failed",
    "xet-required",
];

/// The help page of `code` (Markdown), or `None` for a code hfdl does not have.
pub fn explain(code: &str) -> Option<&'static str> {
    PAGES
        .binary_search_by(|(known, _)| (*known).cmp(code))
        .ok()
        .map(|index| PAGES[index].1)
}

/// Every code that has a page, sorted.
pub fn codes() -> impl Iterator<Item = &'static str> {
    PAGES.iter().map(|(code, _)| *code)
}

/// The one-line summary of `code`: its page's first line after the heading.
pub fn summary(code: &str) -> Option<&'static str> {
    explain(code).map(summary_of)
}

/// The first non-empty line after the `# code` heading.
fn summary_of(page: &'static str) -> &'static str {
    page.lines()
        .skip(1)
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_sorted_so_the_binary_search_finds_each() {
        let codes: Vec<&str> = codes().collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        for code in codes {
            assert!(explain(code).is_some(), "{code}");
        }
        assert_eq!(explain("no-such-code"), None);
    }

    #[test]
    fn each_page_starts_with_its_code_a_blank_line_and_a_one_line_summary() {
        for (code, page) in PAGES {
            let mut lines = page.lines();
            assert_eq!(lines.next(), Some(format!("# {code}").as_str()), "{code}");
            assert_eq!(lines.next(), Some(""), "{code}: line 2 must be blank");
            let summary = lines.next().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.starts_with('#'),
                "{code}: line 3 must be the one-line summary"
            );
            assert_eq!(
                lines.next(),
                Some(""),
                "{code}: the summary is one line, then a blank line"
            );
            assert_eq!(summary_of(page), summary);
        }
    }
}
