//! `hfdl explain`: every error code hfdl can return has a help page, no page outlives its code,
//! and the command prints the pages (text and `--json`), lists them, and refuses unknown codes.

use std::collections::BTreeSet;

use crate::support::{TestContext, rust_files, src};

/// The string literals in the body of every `fn error_code` in `src/` (comments left out): the
/// codes hfdl can return. A body is cut at its matching brace, so only what the function itself
/// returns counts (its delegations to other `error_code`s are found where they are defined).
fn codes_in_source() -> BTreeSet<String> {
    let signature = regex::Regex::new(r"fn error_code\(&self\) -> &'static str \{").unwrap();
    let literal = regex::Regex::new(r#""([^"\\]*)""#).unwrap();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut codes = BTreeSet::new();
    for file in files {
        let text = fs_err::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        for found in signature.find_iter(&code) {
            let mut depth = 1;
            let body_start = found.end();
            let mut body_end = code.len();
            for (offset, c) in code[body_start..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    body_end = body_start + offset;
                    break;
                }
            }
            for captures in literal.captures_iter(&code[body_start..body_end]) {
                codes.insert(captures[1].to_owned());
            }
        }
    }
    codes
}

#[test]
fn every_code_an_error_code_returns_has_a_page_and_no_page_outlives_its_code() {
    let returned = codes_in_source();
    // The scan itself works: these come from four different error types.
    for code in [
        "disk-full",
        "repo-not-found",
        "lock-invalid",
        "manifest-invalid",
    ] {
        assert!(
            returned.contains(code),
            "the scan missed {code}: {returned:?}"
        );
    }
    let explained: BTreeSet<String> = hfdl::explain::codes().map(str::to_owned).collect();
    let missing: Vec<&String> = returned.difference(&explained).collect();
    assert!(
        missing.is_empty(),
        "codes without a page: add src/explain/<code>.md and its line in src/explain.rs, and \
         include it in docs/src/troubleshooting.md: {missing:?}"
    );
    let stale: Vec<&String> = explained.difference(&returned).collect();
    assert!(
        stale.is_empty(),
        "pages for codes no error_code returns any more: {stale:?}"
    );
    // No page file outside the table either (it would be in the book but not in `hfdl explain`).
    let files: BTreeSet<String> = fs_err::read_dir(src().join("explain"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files, explained,
        "src/explain/*.md vs the table in src/explain.rs"
    );
}

#[test]
fn explain_prints_the_page_as_written() {
    let ctx = TestContext::new();
    let output = ctx.run(&["explain", "disk-full"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let page = fs_err::read_to_string(src().join("explain/disk-full.md")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), page);
    assert!(page.starts_with("# disk-full\n\n"));
    assert!(output.stderr.is_empty(), "{}", ctx.render(&output));
}

#[test]
fn explain_without_a_code_lists_every_code_with_its_summary() {
    let ctx = TestContext::new();
    let output = ctx.run(&["explain"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let codes: Vec<&str> = hfdl::explain::codes().collect();
    assert_eq!(lines.len(), codes.len(), "{stdout}");
    for (line, code) in lines.iter().zip(&codes) {
        let summary = hfdl::explain::summary(code).unwrap();
        assert!(
            line.starts_with(&format!("{code} ")) && line.ends_with(summary),
            "{line:?} should be {code} and its summary {summary:?}"
        );
    }
}

#[test]
fn an_unknown_code_is_a_usage_error_that_suggests_and_lists_the_codes() {
    let ctx = TestContext::new();
    let output = ctx.run(&["explain", "disk_full"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown error code `disk_full`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `disk-full`?"), "{stderr}");
    // The help is wrapped, possibly after the hyphen of a code: join the lines back.
    let joined = regex::Regex::new(r"\n\s*")
        .unwrap()
        .replace_all(&stderr, "")
        .into_owned();
    for code in hfdl::explain::codes() {
        assert!(joined.contains(code), "{code} is not listed: {stderr}");
    }

    let output = ctx.run(&["--json", "explain", "no-such-code"]);
    assert_eq!(output.status.code(), Some(2), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["error"]["code"], "usage");
    assert_eq!(value["error"]["exit_code"], 2);
    assert!(
        value["error"]["help"]
            .as_str()
            .unwrap()
            .contains("lock-stale, lock-version"),
        "{value}"
    );
}

#[test]
fn json_gives_the_page_or_the_list() {
    let ctx = TestContext::new();
    let output = ctx.run(&["--json", "explain", "lock-stale"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "code": "lock-stale",
            "text": hfdl::explain::explain("lock-stale").unwrap(),
        })
    );

    let output = ctx.run(&["--json", "explain"]);
    assert_eq!(output.status.code(), Some(0), "{}", ctx.render(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let listed: Vec<(&str, &str)> = value["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["code"].as_str().unwrap(),
                entry["summary"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str)> = hfdl::explain::codes()
        .map(|code| (code, hfdl::explain::summary(code).unwrap()))
        .collect();
    assert_eq!(listed, expected);
}

/// The page of a real `--json` error states the exit code that error ended with.
fn assert_page_states_its_exit_code(ctx: &TestContext, args: &[&str], code: &str) {
    let output = ctx.run(args);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", ctx.render(&output)));
    assert_eq!(value["error"]["code"], code, "{}", ctx.render(&output));
    let exit = value["error"]["exit_code"].as_i64().unwrap();
    assert_eq!(output.status.code(), Some(i32::try_from(exit).unwrap()));
    let summary = hfdl::explain::summary(code).unwrap();
    assert!(
        summary.contains(&format!("exit code {exit}")),
        "the summary of {code} should state exit code {exit}: {summary}"
    );
}

#[test]
fn pages_state_the_exit_code_their_errors_end_with() {
    let ctx = TestContext::new();
    assert_page_states_its_exit_code(&ctx, &["--json", "status"], "manifest-not-found");
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\n");
    assert_page_states_its_exit_code(&ctx, &["--json", "sync", "--locked"], "lock-missing");
    assert_page_states_its_exit_code(&ctx, &["--json", "path", "nope"], "unknown-model");
    assert_page_states_its_exit_code(&ctx, &["--json", "path", "tiny"], "not-synced");
    assert_page_states_its_exit_code(&ctx, &["--json", "--offline", "lock"], "offline");
    assert_page_states_its_exit_code(&ctx, &["--json", "init"], "already-exists");
    ctx.write_manifest("[models.nope]\nrepo = \"acme/nope\"\n");
    assert_page_states_its_exit_code(&ctx, &["--json", "lock"], "repo-not-found");
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nrevision = \"v9\"\n");
    assert_page_states_its_exit_code(&ctx, &["--json", "lock"], "revision-not-found");
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nrepo_type = \"model\"\n");
    assert_page_states_its_exit_code(&ctx, &["--json", "lock"], "manifest-invalid");
}
