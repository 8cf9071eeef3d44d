//! `hfdl add REPO[@REV]`: adds an entry to models.toml (keeping its formatting), locks it and
//! syncs it. Nothing is written unless the new entry resolves.

use std::path::Path;

use super::Context;
use super::lock::{describe_changes, resolve_project, write_lock};
use crate::cli::{AddArgs, GlobalArgs, SyncArgs};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::lock;
use crate::manifest::{self, ModelSpec, edit};
use crate::repo::{RepoId, RepoType, validate_revision};
use crate::resolve::Upgrade;
use crate::settings::Settings;
use crate::fsutil::write_file_atomic;

pub async fn run(global: &GlobalArgs, env: &Env, is_terminal: bool, args: &AddArgs) -> Result<()> {
    let manifest_path = Settings::manifest_path(global);
    let (text, created) = match fs_err::read_to_string(&manifest_path) {
        Ok(text) => (text, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (edit::init_template(), true),
        Err(e) => return Err(Error::io(&manifest_path)(e)),
    };
    let current = manifest::parse(&manifest_path, &text)?;
    let spec = spec_from_args(
        args,
        &current
            .models
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )?;
    let new_text = edit::add_model(&text, &spec).map_err(|e| Error::Usage {
        message: e.to_string(),
        help: format!(
            "pick another name with --name, or edit {}",
            manifest_path.display()
        ),
    })?;
    let mut manifest = manifest::parse(&manifest_path, &new_text)?;
    let settings = super::settings_for(global, env, &mut manifest, is_terminal)?;
    let ctx = Context::with_settings(global, settings);

    // Resolve before writing anything: a typo in the repo id leaves both files untouched.
    let previous = lock::load(&ctx.settings.lock_path)?;
    let resolution = resolve_project(&ctx, &manifest, previous.as_ref(), &Upgrade::None).await?;
    write_file_atomic(&manifest_path, new_text.as_bytes()).map_err(Error::io(&manifest_path))?;
    write_lock(&ctx, &resolution.lock)?;
    if created {
        ctx.status(&format!("Created {}", manifest_path.display()));
    }
    ctx.status(&format!(
        "Added `{}` ({}) to {}",
        spec.name,
        spec.repo,
        manifest_path.display()
    ));
    if !ctx.settings.json {
        for line in describe_changes(&resolution.changes) {
            ctx.status(&line);
        }
    }
    if args.no_sync {
        if ctx.settings.json {
            return ctx.print_json(
                &serde_json::json!({ "added": spec.name, "changes": resolution.changes }),
            );
        }
        return Ok(());
    }
    let sync_args = SyncArgs {
        locked: true,
        frozen: false,
        dry_run: false,
        no_prune: false,
        jobs: None,
        limit_rate: None,
        connections: None,
        metrics_file: args.metrics_file.clone(),
    };
    super::sync::run(&ctx, Some(&manifest), &sync_args).await
}

/// Builds the new entry from `REPO[@REV]` and the flags.
fn spec_from_args(args: &AddArgs, existing: &[&str]) -> Result<ModelSpec> {
    let usage = |message: String, help: &str| Error::Usage {
        message,
        help: help.to_owned(),
    };
    let (repo_text, revision) = match args.repo.split_once('@') {
        Some((repo, revision)) => (repo, revision.to_owned()),
        None => (args.repo.as_str(), "main".to_owned()),
    };
    let repo = RepoId::parse(repo_text).map_err(|m| {
        usage(
            format!("invalid repo id: {m}"),
            "use `namespace/name`, e.g. `sentence-transformers/all-MiniLM-L6-v2`",
        )
    })?;
    validate_revision(&revision).map_err(|m| {
        usage(
            format!("invalid revision: {m}"),
            "use a branch, a tag, `refs/pr/N` or a 40-hex commit after `@`",
        )
    })?;
    let repo_type = RepoType::parse(&args.repo_type).ok_or_else(|| {
        usage(
            format!("unknown repo type `{}`", args.repo_type),
            "use model, dataset or space",
        )
    })?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => edit::derive_name(&repo, existing),
    };
    if let Some(dir) = &args.dir
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
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        dir: args.dir.as_deref().map(Path::to_path_buf),
        // The cooldown comes from the manifest, which is parsed again after the edit.
        exclude_newer: None,
        cooldown: None,
    })
}
