//! The text of `hfdl audit`: a table of the locked models (license, gating, formats, remote
//! code, size, policy), then per model what the policies say and, with `--scan`, what each
//! file would import.

use std::fmt::Write as _;

use indicatif::HumanBytes;

use super::format_table;
use crate::lock::metadata::WeightFormat;
use crate::ops::audit::{AuditReport, FileScan, ModelAudit, ScanState};
use crate::policy::Severity;
use crate::scan::Severity as ImportSeverity;

/// The table and the details below it.
pub fn report(report: &AuditReport) -> String {
    let rows: Vec<[String; 8]> = report.models.iter().map(cells).collect();
    let mut out = format_table(
        &[
            "NAME",
            "LICENSE",
            "GATED",
            "FORMATS",
            "REMOTE CODE",
            "FILES",
            "SIZE",
            "POLICY",
        ],
        &rows,
    );
    for model in &report.models {
        let details = details(model);
        if !details.is_empty() {
            let _ = write!(out, "\n{}:\n{details}", model.name);
        }
    }
    out
}

/// The verdict line (stderr): what was found, or that all is well.
pub fn summary(report: &AuditReport) -> String {
    let models = crate::report::count(report.models.len(), "model");
    let mut found = Vec::new();
    if report.violations > 0 {
        found.push(crate::report::count(report.violations, "policy violation"));
    }
    if report.warnings > 0 {
        found.push(crate::report::count(report.warnings, "policy warning"));
    }
    if report.dangerous_files > 0 {
        found.push(format!(
            "{} with dangerous imports",
            crate::report::count(report.dangerous_files, "file")
        ));
    }
    if report.invalid_files > 0 {
        found.push(format!(
            "{} not valid as its format",
            crate::report::count(report.invalid_files, "file")
        ));
    }
    let mut line = if found.is_empty() {
        format!("Audited {models}: nothing to report")
    } else {
        format!("Audited {models}: {}", found.join(", "))
    };
    if report.missing_files > 0 {
        let _ = write!(
            line,
            "; {} not in the store, not scanned (`hfdl sync` first)",
            crate::report::count(report.missing_files, "weight file")
        );
    }
    line
}

fn cells(model: &ModelAudit) -> [String; 8] {
    let (gated, formats, remote_code) = match &model.metadata {
        Some(metadata) => (
            metadata.gated.as_str().to_owned(),
            if metadata.formats.is_empty() {
                "-".to_owned()
            } else {
                metadata
                    .formats
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            metadata.remote_code.as_str().to_owned(),
        ),
        None => ("?".to_owned(), "?".to_owned(), "?".to_owned()),
    };
    let violations = model
        .policy
        .iter()
        .filter(|f| f.severity == Severity::Violation)
        .count();
    let warnings = model.policy.len() - violations;
    let policy = match (violations, warnings) {
        (0, 0) => "ok".to_owned(),
        (0, w) => crate::report::count(w, "warning"),
        (v, 0) => crate::report::count(v, "violation"),
        (v, w) => format!(
            "{}, {}",
            crate::report::count(v, "violation"),
            crate::report::count(w, "warning")
        ),
    };
    [
        model.name.clone(),
        model.license.clone(),
        gated,
        formats,
        remote_code,
        model.files.to_string(),
        HumanBytes(model.bytes).to_string(),
        policy,
    ]
}

/// What the policies say about one model, and its scan.
fn details(model: &ModelAudit) -> String {
    let mut out = String::new();
    if model.metadata.is_none() {
        out.push_str(
            "  its license, formats and remote code are not recorded: models.lock was written by an older hfdl; `hfdl lock` records them\n",
        );
    }
    for finding in &model.policy {
        let mark = match finding.severity {
            Severity::Violation => "violation",
            Severity::Warning => "warning",
        };
        let sources: Vec<&str> = finding.set_by.iter().map(|s| s.file()).collect();
        let _ = writeln!(
            out,
            "  {mark}: {}: {} ({} [policy])",
            finding.rule,
            finding.message,
            sources.join(" and ")
        );
        if let Some(exception) = &finding.exception {
            let _ = writeln!(
                out,
                "    to accept it, write in [models.{}]: {exception}",
                model.name
            );
        }
    }
    for file in model.scan.iter().flatten() {
        let _ = writeln!(out, "  {}", scan_line(file));
    }
    out
}

/// `pytorch_model.bin: zip, dangerous: posix.system (called, archive/data.pkl at byte 42)`.
fn scan_line(file: &FileScan) -> String {
    let Some(report) = &file.report else {
        return match file.state {
            ScanState::Missing => format!("{}: not in the store, not scanned", file.path),
            _ => format!(
                "{}: unreadable: {}",
                file.path,
                file.error.as_deref().unwrap_or("unknown error")
            ),
        };
    };
    let mut parts = Vec::new();
    let dangerous: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == ImportSeverity::Dangerous)
        .map(|f| {
            let mut where_ = Vec::new();
            if f.called {
                where_.push("called".to_owned());
            }
            if let Some(member) = &f.member {
                where_.push(member.clone());
            }
            where_.push(format!("byte {}", f.offset));
            format!("{}.{} ({})", f.module, f.name, where_.join(", "))
        })
        .collect();
    if !dangerous.is_empty() {
        parts.push(format!("DANGEROUS imports: {}", dangerous.join(", ")));
    }
    let unknown: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == ImportSeverity::Unknown)
        .map(|f| format!("{}.{}", f.module, f.name))
        .collect();
    if !unknown.is_empty() {
        parts.push(format!("imports to review: {}", unknown.join(", ")));
    }
    for problem in &report.problems {
        parts.push(format!("invalid: {}", problem.message));
    }
    let unrecognised = report.format == crate::scan::Format::Unknown;
    if parts.is_empty() && unrecognised {
        return format!("{}: not recognised by its bytes", file.path);
    }
    if parts.is_empty() {
        let safe = report.findings.len();
        parts.push(if safe > 0 {
            format!("ok ({} only)", crate::report::count(safe, "safe import"))
        } else if let Some(header) = &report.safetensors {
            format!("ok ({})", crate::report::count(header.tensors, "tensor"))
        } else {
            "ok".to_owned()
        });
    }
    let format = if unrecognised {
        "not recognised by its bytes".to_owned()
    } else if report.format.is_pickle_based() && file.named != Some(WeightFormat::Pickle) {
        format!(
            "{} (pickle-based, though its name does not say so)",
            report.format.as_str()
        )
    } else {
        report.format.as_str().to_owned()
    };
    format!("{}: {format}: {}", file.path, parts.join("; "))
}
