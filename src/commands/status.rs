//! `hfdl status`: each locked model: present, partial, missing or modified. Never uses the
//! network.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use indicatif::HumanBytes;
use serde::Serialize;

use super::Context;
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::lock;
use crate::render::short;
use crate::store::scan::dir_file;
use crate::store::{BlobState, LinkState, RepoRef, Store, VerifiedBlobs, scan};

/// The state of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelState {
    Present,
    Partial,
    Missing,
    Modified,
    NotLocked,
}

impl ModelState {
    fn as_str(self) -> &'static str {
        match self {
            ModelState::Present => "present",
            ModelState::Partial => "partial",
            ModelState::Missing => "missing",
            ModelState::Modified => "modified",
            ModelState::NotLocked => "not locked",
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    repo: String,
    repo_type: String,
    state: ModelState,
    files: usize,
    files_present: usize,
    bytes: u64,
    bytes_on_disk: u64,
    commit: Option<String>,
    /// The plain directory (`dir = "…"`), if the entry has one.
    dir: Option<std::path::PathBuf>,
    /// Its files that are missing, or not as hfdl placed them.
    dir_state: Option<DirState>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct DirState {
    missing: usize,
    unverified: usize,
}

impl std::fmt::Display for DirState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.missing, self.unverified) {
            (0, 0) => write!(f, "ok"),
            (missing, 0) => write!(f, "{missing} missing"),
            (0, unverified) => write!(f, "{unverified} unverified"),
            (missing, unverified) => write!(f, "{missing} missing, {unverified} unverified"),
        }
    }
}

pub fn run(ctx: &Context, project: &crate::ops::Project, _args: &StatusArgs) -> Result<()> {
    let manifest = project.require_manifest()?;
    let lock = lock::load(&project.settings().lock_path)?.unwrap_or_default();
    let store = Store::new(&project.settings().store);
    let verified = VerifiedBlobs::load(project.settings().verified_blobs_file());
    let dirs = project.plain_dirs(&lock);
    let state = scan(&store, &lock, &dirs, &verified);

    let mut rows = Vec::new();
    let mut counted = BTreeSet::new();
    for model in &lock.models {
        let repo = RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        };
        let (mut present, mut partial, mut modified, mut on_disk) = (0, 0, 0, 0);
        for file in &model.files {
            let blob = store.blob_path(repo, &file.hash);
            let link = store.snapshot_file(repo, &model.commit, &file.path);
            let link_state = state
                .links
                .get(&link)
                .copied()
                .unwrap_or(LinkState::Missing);
            match state
                .blobs
                .get(&blob)
                .copied()
                .unwrap_or(BlobState::Missing { partial: 0 })
            {
                BlobState::Verified | BlobState::Unverified => {
                    if counted.insert(blob.clone()) {
                        on_disk += file.size;
                    }
                    match link_state {
                        LinkState::Correct => present += 1,
                        LinkState::Wrong => modified += 1,
                        LinkState::Missing => partial += 1,
                    }
                }
                BlobState::WrongSize { .. } => modified += 1,
                BlobState::Missing { partial: bytes } if bytes > 0 => partial += 1,
                BlobState::Missing { .. } => {}
            }
        }
        let dir_state = dirs.get(&model.name).map(|dir| {
            let (mut missing, mut changed) = (0, 0);
            for file in &model.files {
                let dest = dir_file(dir, &file.path);
                if state.dir_files.get(&dest) != Some(&true) {
                    if dest.symlink_metadata().is_ok() {
                        changed += 1;
                    } else {
                        missing += 1;
                    }
                }
            }
            DirState {
                missing,
                unverified: changed,
            }
        });
        let total = model.files.len();
        let state = if modified > 0 {
            ModelState::Modified
        } else if present == total {
            ModelState::Present
        } else if present == 0 && partial == 0 {
            ModelState::Missing
        } else {
            ModelState::Partial
        };
        rows.push(Row {
            name: model.name.clone(),
            repo: model.repo.to_string(),
            repo_type: model.repo_type.to_string(),
            state,
            files: total,
            files_present: present,
            bytes: model.files.iter().map(|f| f.size).sum(),
            bytes_on_disk: on_disk,
            commit: Some(model.commit.clone()),
            dir: dirs.get(&model.name).cloned(),
            dir_state,
        });
    }
    for spec in manifest.models.values() {
        if lock.get(&spec.name).is_none() {
            rows.push(Row {
                name: spec.name.clone(),
                repo: spec.repo.to_string(),
                repo_type: spec.repo_type.to_string(),
                state: ModelState::NotLocked,
                files: 0,
                files_present: 0,
                bytes: 0,
                bytes_on_disk: 0,
                commit: None,
                dir: spec.dir.clone(),
                dir_state: None,
            });
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));

    if ctx.json {
        return ctx
            .print_json(&serde_json::json!({ "store": project.settings().store, "models": rows }));
    }
    if rows.is_empty() {
        ctx.status("No models in the manifest; add one with `hfdl add REPO`");
        return Ok(());
    }
    if rows.iter().any(|row| row.dir.is_some()) {
        let table: Vec<[String; 7]> = rows
            .iter()
            .map(|row| {
                let [name, state, files, on_disk, commit, repo] = cells(row);
                let dir = match (&row.dir, &row.dir_state) {
                    (Some(dir), Some(state)) => format!("{} ({state})", dir.display()),
                    (Some(dir), None) => dir.display().to_string(),
                    _ => "-".to_owned(),
                };
                [name, state, files, on_disk, commit, dir, repo]
            })
            .collect();
        return ctx.print_data(&format_table(
            &["NAME", "STATE", "FILES", "ON DISK", "COMMIT", "DIR", "REPO"],
            &table,
        ));
    }
    let table: Vec<[String; 6]> = rows.iter().map(cells).collect();
    ctx.print_data(&format_table(
        &["NAME", "STATE", "FILES", "ON DISK", "COMMIT", "REPO"],
        &table,
    ))
}

/// The columns every status table has.
fn cells(row: &Row) -> [String; 6] {
    [
        row.name.clone(),
        row.state.as_str().to_owned(),
        format!("{}/{}", row.files_present, row.files),
        HumanBytes(row.bytes_on_disk).to_string(),
        row.commit
            .as_deref()
            .map_or_else(|| "-".to_owned(), |c| short(c).to_owned()),
        row.repo.clone(),
    ]
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn format_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(header.as_slice()).chain(rows.iter().map(<[String; N]>::as_slice)) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
