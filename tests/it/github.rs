//! CI conventions (issue #19, item 3): under `GITHUB_ACTIONS=true`, errors and warnings become
//! workflow commands (annotations, on the file and line for a manifest error), progress lines
//! sit in `::group::`s, and `sync`, `outdated` and a failed command append Markdown to
//! `GITHUB_STEP_SUMMARY`; under `GITLAB_CI=true`, groups are collapsible sections; with neither,
//! nothing of it (the `TestContext` clears the environment, so the real CI's variables do not
//! leak into these runs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::TestContext;

const TWO_MODELS: &str = r#"[models.tiny]
repo = "acme/tiny"

[models.squad]
repo = "acme/squad"
repo-type = "dataset"
"#;

/// `hfdl` as a GitHub Actions step runs it, with its job summary file.
fn github(ctx: &TestContext, summary: &Path) -> Command {
    let mut command = ctx.hfdl();
    command
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary);
    command
}

fn summary_path(ctx: &TestContext) -> PathBuf {
    ctx.root.path().join("step_summary.md")
}

fn stderr_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that the workflow's groups are well-nested (never one inside another, each closed)
/// and returns their titles.
fn balanced_groups(stderr: &str) -> Vec<String> {
    let mut open = false;
    let mut titles = Vec::new();
    for line in stderr.lines() {
        if let Some(title) = line.strip_prefix("::group::") {
            assert!(!open, "a group opened inside another:\n{stderr}");
            open = true;
            titles.push(title.to_owned());
        } else if line == "::endgroup::" {
            assert!(open, "a group closed that was not open:\n{stderr}");
            open = false;
        }
    }
    assert!(!open, "a group was left open:\n{stderr}");
    titles
}

#[test]
fn a_manifest_error_is_annotated_on_its_file_line_and_column() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nrevison = \"main\"\n");
    let summary = summary_path(&ctx);
    let output = github(&ctx, &summary).arg("sync").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_text(&output);
    let annotation = regex::Regex::new(
        r"(?m)^::error file=/[^,]*/models\.toml,line=3,col=1,title=hfdl manifest-invalid::[^\n]*unknown key[^\n]*%0Ahelp: did you mean `revision`\?",
    )
    .unwrap();
    assert!(annotation.is_match(&stderr), "{stderr}");
    // The human report is still there, and stdout carries no workflow command.
    assert!(stderr.contains("× "), "{stderr}");
    assert!(output.stdout.is_empty());
    let text = fs_err::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("### hfdl sync failed: manifest-invalid (exit 2)\n"),
        "{text}"
    );
    assert!(
        text.contains("**help:** did you mean `revision`?"),
        "{text}"
    );
}

#[test]
fn a_hub_error_is_annotated_with_its_code() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.ghost]\nrepo = \"acme/does-not-exist\"\n");
    let summary = summary_path(&ctx);
    let output = github(&ctx, &summary).arg("sync").output().unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", ctx.render(&output));
    let stderr = stderr_text(&output);
    let annotation = stderr
        .lines()
        .find(|line| line.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation:\n{stderr}"));
    assert!(
        annotation.starts_with("::error title=hfdl repo-not-found::"),
        "{annotation}"
    );
    assert!(annotation.contains("acme/does-not-exist"), "{annotation}");
    balanced_groups(&stderr);
    let text = fs_err::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("### hfdl sync failed: repo-not-found (exit 4)"),
        "{text}"
    );
}

#[test]
fn a_sync_groups_its_lines_and_appends_a_summary_at_each_run() {
    let ctx = TestContext::new();
    ctx.write_manifest(TWO_MODELS);
    let summary = summary_path(&ctx);
    let output = github(&ctx, &summary).arg("sync").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = stderr_text(&output);
    let titles = balanced_groups(&stderr);
    assert_eq!(
        titles,
        ["Resolving models", "Downloading 7 files (439.51 KiB)"],
        "{stderr}"
    );
    // Each file's line is inside the download group; the verdict is outside every group.
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("::group::Downloading"))
        .unwrap();
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == "::endgroup::")
            .unwrap();
    assert_eq!(
        lines[start..end]
            .iter()
            .filter(|l| l.starts_with("downloaded "))
            .count(),
        7,
        "{stderr}"
    );
    assert!(
        lines[end + 1..]
            .iter()
            .any(|l| l.starts_with("Synced 2 models"))
    );

    let lock = ctx.read("models.lock");
    let commit = |name: &str| -> String {
        let at = lock.find(&format!("name = \"{name}\"")).unwrap();
        let rest = &lock[at..];
        let commit = rest.find("commit = \"").unwrap() + "commit = \"".len();
        rest[commit..commit + 12].to_owned()
    };
    let first = fs_err::read_to_string(&summary).unwrap();
    assert_eq!(first.matches("### hfdl sync\n").count(), 1, "{first}");
    for row in [
        format!("| squad | acme/squad@main | `{}` | 2 |", commit("squad")),
        format!("| tiny | acme/tiny@main | `{}` | 5 |", commit("tiny")),
        // Models, files, downloaded, reused.
        "| 2 | 7 | 7 | 0 | 439.51 KiB |".to_owned(),
    ] {
        assert!(first.contains(&row), "{row} in:\n{first}");
    }

    // Again: nothing to download, everything reused, and the file keeps the first summary.
    let output = github(&ctx, &summary).arg("sync").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    balanced_groups(&stderr_text(&output));
    let second = fs_err::read_to_string(&summary).unwrap();
    assert!(second.starts_with(&first), "appended, not overwritten");
    assert_eq!(second.matches("### hfdl sync\n").count(), 2, "{second}");
    let added = &second[first.len()..];
    assert!(added.contains("Already in sync"), "{added}");
    assert!(
        added.contains("| 2 | 7 | 0 | 7 | 0 B |") && added.contains("| 0 requests |"),
        "{added}"
    );
}

#[test]
fn outdated_appends_its_drift_table() {
    let ctx = TestContext::new();
    ctx.write_manifest(TWO_MODELS);
    assert!(ctx.run(&["lock"]).status.success());
    let summary = summary_path(&ctx);
    let output = github(&ctx, &summary).arg("outdated").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let text = fs_err::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("### hfdl outdated\n") && text.contains("up to date with upstream"),
        "{text}"
    );

    let moved = ctx
        .hub
        .fixtures()
        .commit(
            hfdl_mock_hub::RepoType::Model,
            "acme/tiny",
            "main",
            "bigger config",
            vec![hfdl_mock_hub::FileChange::regular(
                "config.json",
                br#"{"hidden_size": 16}"#.to_vec(),
            )],
        )
        .unwrap();
    let output = github(&ctx, &summary)
        .args(["outdated", "--exit-code"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", ctx.render(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("::error title=hfdl outdated::")),
        "{stderr}"
    );
    let text = fs_err::read_to_string(&summary).unwrap();
    assert_eq!(text.matches("### hfdl outdated\n").count(), 2, "{text}");
    assert!(
        text.contains("| Model | State | Locked | Latest | Date | Files | Download | Revision |"),
        "{text}"
    );
    let row_at = text
        .find("| tiny | outdated | `")
        .unwrap_or_else(|| panic!("{text}"));
    let row_line = text[row_at..].lines().next().unwrap();
    assert!(
        row_line.contains(&format!("`{}`", &moved[..12]))
            && row_line.contains("| +0 -0 ~1 |")
            && row_line.ends_with("| acme/tiny@main |"),
        "{row_line}"
    );
    // --exit-code's failure follows the table.
    assert!(
        text.contains("### hfdl outdated failed: outdated (exit 1)"),
        "{text}"
    );
}

#[test]
fn a_warning_becomes_a_warning_annotation() {
    let ctx = TestContext::new();
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\ninclude = [\"*.nothing\"]\n");
    let summary = summary_path(&ctx);
    let output = github(&ctx, &summary).arg("lock").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("\nwarning: `tiny`: no file of acme/tiny@"),
        "the log line stays: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("::warning::`tiny`: no file of acme/tiny@")),
        "{stderr}"
    );
}

#[test]
fn a_summary_that_cannot_be_written_is_a_warning() {
    let ctx = TestContext::new();
    ctx.write_manifest(TWO_MODELS);
    // A directory: it cannot be opened for appending.
    let summary = ctx.root.path().join("summary-dir");
    fs_err::create_dir_all(&summary).unwrap();
    let output = github(&ctx, &summary).arg("sync").output().unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("warning: could not append the job summary")
            && stderr
                .lines()
                .any(|l| l.starts_with("::warning::could not append the job summary")),
        "{stderr}"
    );
}

#[test]
fn gitlab_gets_collapsible_sections_and_no_workflow_commands() {
    let ctx = TestContext::new();
    ctx.write_manifest(TWO_MODELS);
    let output = ctx
        .hfdl()
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .arg("sync")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", ctx.render(&output));
    let stderr = stderr_text(&output);
    let start = regex::Regex::new(
        r"\x1b\[0Ksection_start:\d+:(hfdl_\d+_[a-z0-9_]+)\[collapsed=true\]\r\x1b\[0K([^\n]+)",
    )
    .unwrap();
    let sections: Vec<(String, String)> = start
        .captures_iter(&stderr)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect();
    assert_eq!(
        sections
            .iter()
            .map(|(_, header)| header.as_str())
            .collect::<Vec<_>>(),
        ["Resolving models", "Downloading 7 files (439.51 KiB)"],
        "{stderr:?}"
    );
    for (name, _) in &sections {
        let end = regex::Regex::new(&format!(r"\x1b\[0Ksection_end:\d+:{name}\r\x1b\[0K")).unwrap();
        assert_eq!(end.find_iter(&stderr).count(), 1, "{name} ends: {stderr:?}");
    }
    assert!(
        !stderr.contains("::group") && !stderr.contains("::warning"),
        "{stderr}"
    );
}

#[test]
fn nothing_of_it_outside_ci() {
    let ctx = TestContext::new();
    ctx.write_manifest(TWO_MODELS);
    let summary = summary_path(&ctx);
    // A summary path alone does not turn anything on: only GITHUB_ACTIONS does.
    let runs = [
        ctx.hfdl()
            .env("GITHUB_STEP_SUMMARY", &summary)
            .arg("sync")
            .output()
            .unwrap(),
        ctx.hfdl().arg("outdated").output().unwrap(),
        ctx.hfdl()
            .env("CI", "true")
            .args(["sync", "--locked"])
            .output()
            .unwrap(),
    ];
    ctx.write_manifest("[models.tiny]\nrepo = \"acme/tiny\"\nrevison = \"main\"\n");
    let failed = ctx
        .hfdl()
        .env("GITHUB_ACTIONS", "false")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    for output in runs.iter().chain([&failed]) {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr_text(output)
        );
        for marker in [
            "::error",
            "::warning",
            "::group",
            "::endgroup",
            "section_start",
            "\x1b",
        ] {
            assert!(!all.contains(marker), "{marker:?} in:\n{all}");
        }
    }
    assert!(!summary.exists(), "no job summary outside GitHub Actions");
}
