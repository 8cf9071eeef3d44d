//! Progress where stderr is not a terminal (CI logs, `docker build`, a pipe): a line at a
//! steady interval and at each file's end with bytes done of the total, percent, speed and ETA,
//! and never an escape code; the `progress` setting and `-q` choose.

use crate::support::TestContext;

const MANIFEST: &str = "[models.tiny]\nrepo = \"acme/tiny\"\n";

/// A sync of acme/tiny (~400 KB) capped at 200 KB/s: about two seconds of transfer.
fn slow_sync(ctx: &TestContext, extra_env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    ctx.write_manifest(MANIFEST);
    let mut command = ctx.hfdl();
    command.env("HFDL_PROGRESS_INTERVAL", "200ms");
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command
        .args(["sync", "--limit-rate", "200K", "-j", "1"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("progress: "))
        .collect()
}

#[test]
fn without_a_terminal_progress_lines_come_at_the_interval_with_totals_and_no_escape_codes() {
    let ctx = TestContext::new();
    let (ok, stderr) = slow_sync(&ctx, &[], &[]);
    assert!(ok, "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "escape codes in a log: {stderr:?}"
    );
    let lines = progress_lines(&stderr);
    // ~2 s of transfer at a 200 ms interval; allow for a slow machine's scheduling.
    assert!(lines.len() >= 3, "too few progress lines:\n{stderr}");
    let shape = regex::Regex::new(
        r"^progress: [0-9.]+ (B|KiB|MiB)/[0-9.]+ (KiB|MiB) \((\d+)%\), [0-9.]+ (B|KiB|MiB)/s, eta [0-9.]+(ms|s)$",
    )
    .unwrap();
    let mut last_percent = 0;
    for line in &lines {
        let captures = shape
            .captures(line)
            .unwrap_or_else(|| panic!("unexpected progress line {line:?}"));
        let percent: u32 = captures[3].parse().unwrap();
        assert!(percent >= last_percent && percent <= 100, "{lines:?}");
        last_percent = percent;
    }
    // Each file's end carries the totals too; the last one is at 100%.
    let file_ends: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("downloaded "))
        .collect();
    assert!(
        file_ends.iter().all(|line| line.contains("%)")),
        "{file_ends:?}"
    );
    assert!(
        stderr
            .lines()
            .rfind(|line| line.starts_with("downloaded "))
            .is_some_and(|line| line.contains("(100%)")),
        "{stderr}"
    );
}

#[test]
fn progress_off_keeps_the_file_lines_and_quiet_prints_nothing() {
    let ctx = TestContext::new();
    let (ok, stderr) = slow_sync(&ctx, &[("HFDL_PROGRESS", "off")], &[]);
    assert!(ok, "{stderr}");
    assert!(progress_lines(&stderr).is_empty(), "{stderr}");
    assert!(stderr.contains("downloaded model.safetensors"), "{stderr}");
    assert!(!stderr.contains("%)"), "{stderr}");

    let ctx = TestContext::new();
    let (ok, stderr) = slow_sync(&ctx, &[], &["-q"]);
    assert!(ok, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn the_progress_setting_takes_names_and_booleans_and_refuses_others() {
    let ctx = TestContext::new();
    ctx.write_manifest(&format!("{MANIFEST}[settings]\nprogress = \"lines\"\n"));
    let output = ctx.run(&["config", "get", "progress"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "lines");
    ctx.write_manifest(&format!("{MANIFEST}[settings]\nprogress = false\n"));
    let output = ctx.run(&["config", "get", "progress"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "off");

    ctx.write_manifest(&format!("{MANIFEST}[settings]\nprogress = \"line\"\n"));
    let output = ctx.run(&["sync", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("did you mean \"lines\""), "{stderr}");

    ctx.write_manifest(MANIFEST);
    let output = ctx
        .hfdl()
        .env("HFDL_PROGRESS_INTERVAL", "soon")
        .args(["sync", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HFDL_PROGRESS_INTERVAL"), "{stderr}");
}
