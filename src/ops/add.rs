//! `add`: a new entry in models.toml (its formatting kept), locked; the caller then syncs it
//! with the project [`Project::add`] returns. Nothing is written unless the new entry resolves.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{CancellationToken, PlannedDownloads, Project, check_cancel, until_cancelled};
use crate::error::{Error, Result};
use crate::manifest::policy::{Exceptions, Rule};
use crate::manifest::{self, ModelSpec, edit};
use crate::repo::RepoType;
use crate::repo::reference::Target;
use crate::report::Reporter;
use crate::resolve::{Change, Upgrade};

/// The entry to add.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// The repo as people name it: `namespace/name`, optionally `@REV` (a branch, tag,
    /// `refs/pr/N` or commit; default `main`), a Hub URL (`…/tree/REV/DIR`, `…/blob/REV/FILE`,
    /// `…/datasets/…`, on huggingface.co or the configured endpoint) or an `hf://` URI (see
    /// [`crate::repo::reference`]). The entry gets the canonical `namespace/name` with the
    /// revision, type and include pattern the name states.
    pub repo: String,
    /// The entry's name; derived from the repo name when `None`.
    pub name: Option<String>,
    /// The repo type, when `repo` does not say (a plain id); a model when neither does. A type
    /// that contradicts `repo` is a usage error.
    pub repo_type: Option<RepoType>,
    /// fnmatch patterns of the files to take (all when empty). Not with a `repo` that points at
    /// a folder or file, which selects already (`exclude` narrows it).
    pub include: Vec<String>,
    /// fnmatch patterns of files to leave out (they win over `include`).
    pub exclude: Vec<String>,
    /// Also materialise the files as a plain directory (relative to the project).
    pub dir: Option<PathBuf>,
    /// Rules of the project's `[policy]` this entry may break (`allow = [...]` in its table).
    pub allow: Vec<Rule>,
    /// Licenses this entry may have although `[policy] licenses` does not list them (`license =
    /// "ID"` in its table).
    pub allow_licenses: Vec<String>,
    /// Stops the addition when cancelled ([`Error::Cancelled`]) while it resolves: neither
    /// models.toml nor models.lock is written then. (The sync that follows takes its own token,
    /// [`super::SyncOptions::cancel`].)
    pub cancel: Option<CancellationToken>,
}

/// What `add` did.
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    /// The new entry's name.
    pub added: String,
    /// How the lock changed (the new entry, and nothing else moved).
    pub changes: Vec<Change>,
    /// What the policy warns about (`pickle = "warn"`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<crate::policy::Finding>,
    /// The entry's repo.
    #[serde(skip)]
    pub repo: String,
    /// models.toml did not exist and was created.
    #[serde(skip)]
    pub created: bool,
    /// The manifest written.
    #[serde(skip)]
    pub manifest: PathBuf,
}

impl Project {
    /// Adds an entry to models.toml (creating it if needed) and locks it, writing both files
    /// only once the entry resolved. Returns the report and the project as it now is, ready to
    /// [`Project::sync`] with `locked`.
    pub async fn add(
        &self,
        options: &AddOptions,
        reporter: &dyn Reporter,
    ) -> Result<(AddReport, Project)> {
        let manifest_path = self.manifest_path().to_path_buf();
        let (text, created) = match fs_err::read_to_string(&manifest_path) {
            Ok(text) => (text, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (edit::init_template(), true),
            Err(e) => return Err(Error::io(&manifest_path)(e)),
        };
        let current = manifest::parse(&manifest_path, &text)?;
        let existing: Vec<&str> = current.models.keys().map(String::as_str).collect();
        let target = self.target(&options.repo, options.repo_type, &options.include)?;
        let spec = spec_from(options, target, &existing)?;
        let new_text = edit::add_model(&text, &spec).map_err(|e| Error::Usage {
            message: e.to_string(),
            help: format!(
                "pick another name with --name, or edit {}",
                manifest_path.display()
            ),
        })?;
        let manifest = manifest::parse(&manifest_path, &new_text)?;
        let project = Project::with_manifest(self.options.clone(), Some(manifest))?;

        // Resolve before writing anything: a typo in the repo id leaves both files untouched.
        let manifest = project.require_manifest()?;
        let previous = project.load_lock()?;
        let resolve = project.resolve(manifest, previous.as_ref(), &Upgrade::None, reporter);
        let resolution = until_cancelled(
            options.cancel.as_ref(),
            &PlannedDownloads::default(),
            resolve,
        )
        .await?;
        // Both files or neither: the last point to stop is before the first write.
        check_cancel(options.cancel.as_ref())?;
        // Nor when the new lock breaks the policy: the entry's exceptions are flags here.
        let adding = crate::policy::Adding {
            name: spec.name.clone(),
            repo: options.repo.clone(),
        };
        let policy = project.enforce_policy(&resolution.lock, Some(&adding), reporter)?;
        crate::fsutil::write_file_atomic(&manifest_path, new_text.as_bytes())
            .map_err(Error::io(&manifest_path))?;
        project.write_lock(&resolution.lock)?;
        let report = AddReport {
            added: spec.name,
            changes: resolution.changes,
            policy,
            repo: spec.repo.to_string(),
            created,
            manifest: manifest_path,
        };
        Ok((report, project))
    }
}

/// Builds the new entry from the repo the name and flags point at, and the other options.
fn spec_from(options: &AddOptions, target: Target, existing: &[&str]) -> Result<ModelSpec> {
    let usage = |message: String, help: &str| Error::Usage {
        message,
        help: help.to_owned(),
    };
    let Target {
        repo,
        repo_type,
        revision,
        include,
    } = target;
    let name = match &options.name {
        Some(name) => name.clone(),
        None => edit::derive_name(&repo, existing),
    };
    if let Some(dir) = &options.dir
        && (dir.is_absolute()
            || dir
                .components()
                .any(|c| c == std::path::Component::ParentDir))
    {
        return Err(usage(
            format!(
                "--dir {} must be a relative path inside the project",
                dir.display()
            ),
            "use a path like `models/bert`",
        ));
    }
    Ok(ModelSpec {
        name,
        repo,
        repo_type,
        revision,
        include,
        exclude: options.exclude.clone(),
        dir: options.dir.as_deref().map(Path::to_path_buf),
        // The cooldown comes from the manifest, which is parsed again after the edit.
        exclude_newer: None,
        cooldown: None,
        exceptions: Exceptions {
            allow: options.allow.iter().copied().collect(),
            licenses: options.allow_licenses.clone(),
        },
    })
}
