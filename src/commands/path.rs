//! `hfdl path NAME`: prints the snapshot directory of a synced entry, for scripts.

use super::Context;
use crate::cli::PathArgs;
use crate::error::{Error, Result};
use crate::lock;
use crate::ops::unknown_model;
use crate::store::{RepoRef, Store};

pub fn run(ctx: &Context, project: &crate::ops::Project, args: &PathArgs) -> Result<()> {
    let manifest = project.require_manifest()?;
    let lock = lock::load(&project.settings().lock_path)?.unwrap_or_default();
    let Some(model) = lock.get(&args.name) else {
        if manifest.models.contains_key(&args.name) {
            return Err(Error::NotSynced {
                name: args.name.clone(),
                path: project.settings().lock_path.clone(),
            });
        }
        return Err(unknown_model(manifest, &args.name));
    };
    let store = Store::new(&project.settings().store);
    let dir = store.snapshot_dir(
        RepoRef {
            repo_type: model.repo_type,
            repo: &model.repo,
        },
        &model.commit,
    );
    if !dir.is_dir() {
        return Err(Error::NotSynced {
            name: args.name.clone(),
            path: dir,
        });
    }
    let absolute = std::path::absolute(&dir).unwrap_or(dir);
    if ctx.json {
        return ctx.print_json(
            &serde_json::json!({ "name": model.name, "path": absolute, "commit": model.commit }),
        );
    }
    ctx.print_data(&absolute.display().to_string())
}
