//! `hfdl remove NAME…`: removes entries from models.toml (keeping its formatting) and their pins
//! from models.lock. No network: the other entries keep their pins as they are.
//!
//! The files stay in the store, where other projects may share them; `hfdl gc` reclaims what no
//! remembered lockfile references any more.

use serde_json::json;

use super::Context;
use crate::cli::RemoveArgs;
use crate::error::{Error, Result};
use crate::fsutil::write_file_atomic;
use crate::lock;
use crate::manifest::{self, edit};
use crate::ops::unknown_model;

pub fn run(ctx: &Context, project: &crate::ops::Project, args: &RemoveArgs) -> Result<()> {
    let manifest = project.require_manifest()?;
    let mut names: Vec<&str> = Vec::new();
    for name in &args.names {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    // Check every name before touching anything, so a typo in the second name changes nothing.
    for &name in &names {
        if !manifest.models.contains_key(name) {
            return Err(unknown_model(manifest, name));
        }
    }
    let text = fs_err::read_to_string(&manifest.path).map_err(Error::io(&manifest.path))?;
    let mut new_text = text.clone();
    for &name in &names {
        new_text = edit::remove_model(&new_text, name).map_err(|e| Error::Usage {
            message: e.to_string(),
            help: format!("edit {} by hand", manifest.path.display()),
        })?;
    }
    // The result must still be a valid manifest (it is, unless the edit has a bug); checking
    // before writing keeps a bad edit off the disk.
    manifest::parse(&manifest.path, &new_text)?;

    // The lock first: if writing the manifest then fails, the lock lists fewer entries than the
    // manifest, which `hfdl lock` repairs; the other order would leave pins without entries.
    let previous = lock::load(&project.settings().lock_path)?;
    let mut unlocked = Vec::new();
    let mut lock_written = false;
    if let Some(mut lock) = previous {
        lock.models.retain(|model| {
            let removed = names.contains(&model.name.as_str());
            if removed {
                unlocked.push(model.clone());
            }
            !removed
        });
        lock_written = project.write_lock(&lock)?;
    }
    write_file_atomic(&manifest.path, new_text.as_bytes()).map_err(Error::io(&manifest.path))?;

    let freed: u64 = unlocked.iter().map(lock::LockedModel::total_size).sum();
    if ctx.json {
        return ctx.print_json(&json!({
            "removed": names,
            "manifest": manifest.path,
            "lock": project.settings().lock_path,
            "lock_written": lock_written,
            "unlocked_bytes": freed,
        }));
    }
    for &name in &names {
        let spec = &manifest.models[name];
        ctx.status(&format!(
            "Removed `{name}` ({}) from {}",
            spec.repo,
            manifest.path.display()
        ));
        if let Some(dir) = &spec.dir {
            ctx.status(&format!(
                "Left its plain directory {} in place; delete it if nothing else uses it",
                dir.display()
            ));
        }
    }
    if !unlocked.is_empty() {
        ctx.status(&format!(
            "Its files stay in the store, where other projects may share them; `hfdl gc` frees \
             what no remembered lockfile uses (up to {})",
            indicatif::HumanBytes(freed)
        ));
    }
    Ok(())
}
