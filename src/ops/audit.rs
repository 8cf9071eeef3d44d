//! `audit`: what each locked model is (license, gating, weight formats, remote code, size),
//! what the policies say about it, and, with `scan`, what its files in the store would import
//! when loaded ([`crate::scan`]: pickle opcodes walked, safetensors headers checked, nothing
//! ever executed). Also the lock as a CycloneDX ML-BOM ([`crate::cyclonedx`]).
//!
//! Everything comes from models.lock and the store: no request, so it works offline and in CI
//! before or after a sync. A file that a scan finds pickle-based by its bytes counts for the
//! `pickle` rule whatever its name.

use std::path::PathBuf;

use serde::Serialize;

use super::Project;
use crate::error::{Error, Result};
use crate::lock::metadata::WeightFormat;
use crate::lock::{LockedModel, Lockfile, ModelMetadata};
use crate::policy::{Finding, Severity};
use crate::repo::RepoType;
use crate::report::{Event, Reporter};
use crate::scan::ScanReport;
use crate::store::RepoRef;

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Only these locked entries (all when empty).
    pub names: Vec<String>,
    /// Also scan the files in the store.
    pub scan: bool,
}

/// Whether a locked file could be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanState {
    /// Read: the report says what it holds.
    Scanned,
    /// Not in the store (not synced yet).
    Missing,
    /// In the store, but it could not be read.
    Unreadable,
}

/// One scanned file: a weight file, or one whose bytes are of a format the scanner knows.
#[derive(Debug, Clone, Serialize)]
pub struct FileScan {
    /// The path in the repo.
    pub path: String,
    /// The format its name says.
    pub named: Option<WeightFormat>,
    /// Scanned, missing or unreadable.
    pub state: ScanState,
    /// What the scan found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ScanReport>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileScan {
    /// Whether a pickle of the file imports something dangerous.
    pub fn is_dangerous(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|report| report.dangerous().next().is_some())
    }

    /// Whether the file is not valid as its format, or could not be scanned to its end.
    pub fn is_invalid(&self) -> bool {
        self.state == ScanState::Unreadable
            || self
                .report
                .as_ref()
                .is_some_and(|report| !report.problems.is_empty())
    }

    /// Whether its bytes are pickle-based (whatever its name says).
    pub fn is_pickle_based(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|report| report.format.is_pickle_based())
    }
}

/// One locked entry.
#[derive(Debug, Clone, Serialize)]
pub struct ModelAudit {
    /// The entry's name.
    pub name: String,
    /// `namespace/name`.
    pub repo: String,
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// The revision the manifest asks for.
    pub revision: String,
    /// The locked commit.
    pub commit: String,
    /// The license for people (`apache-2.0`, `other (llama3)`, `unknown`).
    pub license: String,
    /// What the lock records about it; `None` in a lock of an older hfdl (`hfdl lock` records
    /// it).
    pub metadata: Option<ModelMetadata>,
    /// Locked files.
    pub files: usize,
    /// Their size in bytes.
    pub bytes: u64,
    /// What the policies say (violations and warnings).
    pub policy: Vec<Finding>,
    /// With `scan`: the weight files and the files whose bytes the scanner recognises.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<Vec<FileScan>>,
}

/// The audit of the selected entries.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The lockfile audited.
    pub lock: PathBuf,
    /// Whether the files were scanned.
    pub scanned: bool,
    /// Policy violations.
    pub violations: usize,
    /// Policy warnings (`pickle = "warn"`).
    pub warnings: usize,
    /// Files whose pickles import something dangerous.
    pub dangerous_files: usize,
    /// Files not valid as their format, or not fully scanned.
    pub invalid_files: usize,
    /// Locked files that are not in the store, so were not scanned.
    pub missing_files: usize,
    /// The entries, by name.
    pub models: Vec<ModelAudit>,
}

impl AuditReport {
    /// The verdict: [`Error::AuditFailed`] when a policy is violated or a scan found a
    /// dangerous import or an invalid file.
    pub fn verdict(&self) -> Result<()> {
        if self.violations == 0 && self.dangerous_files == 0 && self.invalid_files == 0 {
            return Ok(());
        }
        Err(Error::AuditFailed {
            violations: self.violations,
            dangerous: self.dangerous_files,
            invalid: self.invalid_files,
        })
    }
}

impl Project {
    /// Audits the locked entries (all, or `options.names`): metadata from the lock, the
    /// policies' verdict, and with `options.scan` the files in the store. Reads the lock and
    /// the store only; writes nothing.
    pub fn audit(&self, options: &AuditOptions, reporter: &dyn Reporter) -> Result<AuditReport> {
        let lock = self.require_lock()?;
        let selected = self.select(&lock, &options.names)?;
        let store = self.store();
        let policies = self.policies();
        let mut models = Vec::new();
        for model in selected {
            let scan = options.scan.then(|| {
                reporter.report(Event::Status {
                    message: format!(
                        "Scanning {} ({})",
                        model.name,
                        crate::report::count(model.files.len(), "file")
                    ),
                });
                scan_model(&store, model)
            });
            let pickles: Vec<String> = scan
                .iter()
                .flatten()
                .filter(|file| file.is_pickle_based())
                .map(|file| file.path.clone())
                .collect();
            models.push(ModelAudit {
                name: model.name.clone(),
                repo: model.repo.to_string(),
                repo_type: model.repo_type,
                revision: model.revision.clone(),
                commit: model.commit.clone(),
                license: model
                    .metadata
                    .as_ref()
                    .map_or_else(|| "not recorded".to_owned(), ModelMetadata::license_display),
                metadata: model.metadata.clone(),
                files: model.files.len(),
                bytes: model.total_size(),
                policy: policies.check_with(model, &pickles),
                scan,
            });
        }
        let findings = || models.iter().flat_map(|m| &m.policy);
        let files = || models.iter().flat_map(|m| m.scan.iter().flatten());
        Ok(AuditReport {
            lock: self.lock_path().to_path_buf(),
            scanned: options.scan,
            violations: findings()
                .filter(|f| f.severity == Severity::Violation)
                .count(),
            warnings: findings()
                .filter(|f| f.severity == Severity::Warning)
                .count(),
            dangerous_files: files().filter(|f| f.is_dangerous()).count(),
            invalid_files: files().filter(|f| f.is_invalid()).count(),
            missing_files: files().filter(|f| f.state == ScanState::Missing).count(),
            models,
        })
    }

    /// The lock as a CycloneDX 1.6 ML-BOM (JSON), of every entry or of `names`.
    pub fn bom(&self, names: &[String]) -> Result<serde_json::Value> {
        let lock = self.require_lock()?;
        let selected = self.select(&lock, names)?;
        Ok(crate::cyclonedx::bom(selected, &self.settings.endpoint))
    }

    /// The locked entries named (all when `names` is empty), in the lock's order.
    fn select<'l>(&self, lock: &'l Lockfile, names: &[String]) -> Result<Vec<&'l LockedModel>> {
        for name in names {
            if lock.get(name).is_none() {
                return Err(Error::UnknownModel {
                    name: name.clone(),
                    manifest: self.lock_path().to_path_buf(),
                    known: lock.models.iter().map(|m| m.name.clone()).collect(),
                });
            }
        }
        Ok(lock
            .models
            .iter()
            .filter(|model| names.is_empty() || names.contains(&model.name))
            .collect())
    }
}

/// Scans the locked files of `model` that are in the store. Every file is looked at (reading
/// its first bytes costs little), so a pickle under another name is found; the report lists
/// the weight files and the files the scanner recognised or found something in.
fn scan_model(store: &crate::store::Store, model: &LockedModel) -> Vec<FileScan> {
    let repo = RepoRef {
        repo_type: model.repo_type,
        repo: &model.repo,
    };
    let mut scans = Vec::new();
    for file in &model.files {
        let named = WeightFormat::of_path(&file.path);
        let path = store.snapshot_file(repo, &model.commit, &file.path);
        if !path.exists() {
            if named.is_some() {
                scans.push(FileScan {
                    path: file.path.clone(),
                    named,
                    state: ScanState::Missing,
                    report: None,
                    error: None,
                });
            }
            continue;
        }
        match crate::scan::scan_file(&path) {
            Ok(report) => {
                let notable = named.is_some()
                    || report.format != crate::scan::Format::Unknown
                    || !report.findings.is_empty()
                    || !report.problems.is_empty();
                if notable {
                    scans.push(FileScan {
                        path: file.path.clone(),
                        named,
                        state: ScanState::Scanned,
                        report: Some(report),
                        error: None,
                    });
                }
            }
            Err(error) => scans.push(FileScan {
                path: file.path.clone(),
                named,
                state: ScanState::Unreadable,
                report: None,
                error: Some(error.to_string()),
            }),
        }
    }
    scans
}
