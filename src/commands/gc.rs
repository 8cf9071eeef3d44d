//! `hfdl gc`: delete what no lockfile known to hfdl references, and print what that frees.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::HumanBytes;

use super::Context;
use crate::cli::GcArgs;
use crate::error::{Error, Result};
use crate::report::count;
use crate::store::Store;
use crate::store::fsops::{FileLock, LockMode};
use crate::store::gc::{GcOptions, GcReport, collect_garbage};
use crate::store::registry::Registry;

pub fn run(ctx: &Context, project: &crate::ops::Project, args: &GcArgs) -> Result<()> {
    let store = Store::new(&project.settings().store);
    if !store.root().is_dir() {
        // Nothing to collect, and taking the lock would create the store (a typo in --store
        // would leave a new directory behind).
        let report = GcReport {
            dry_run: args.dry_run,
            store: store.root().to_path_buf(),
            ..GcReport::default()
        };
        ctx.status(&format!(
            "No store at {}: nothing to collect",
            store.root().display()
        ));
        return print_report(ctx, &report);
    }
    // Exclusive: no sync may scan or fill the store while gc decides and deletes. A dry run
    // changes nothing, so it only keeps gc out meanwhile.
    let mode = if args.dry_run {
        LockMode::Shared
    } else {
        LockMode::Exclusive
    };
    let lock_path = store.store_lock_path();
    let _store_lock =
        FileLock::acquire_within(&lock_path, mode, Duration::from_secs(args.wait), || {
            ctx.status("Waiting for a running hfdl sync on this store to finish…");
        })
        .map_err(Error::io(&lock_path))?
        .ok_or_else(|| Error::StoreBusy {
            store: store.root().to_path_buf(),
            waited_secs: args.wait,
        })?;

    let registry = Registry::new(&project.settings().state_dir);
    let partials_dir = project.settings().partials_dir();
    let project_lock = project
        .settings()
        .lock_path
        .exists()
        .then_some(&project.settings().lock_path);
    let report = collect_garbage(&GcOptions {
        store: &store,
        registry: &registry,
        partials_dir: &partials_dir,
        project_lock: project_lock.map(std::path::PathBuf::as_path),
        all: args.all,
        dry_run: args.dry_run,
    })?;
    if !args.dry_run {
        let mut verified =
            crate::store::VerifiedBlobs::load(project.settings().verified_blobs_file());
        verified.forget_missing();
        if let Err(error) = verified.save() {
            ctx.status(&format!("could not update hfdl's stat cache: {error}"));
        }
    }
    print_report(ctx, &report)
}

fn print_report(ctx: &Context, report: &GcReport) -> Result<()> {
    if ctx.json {
        let value = serde_json::to_value(report).map_err(|e| Error::Io {
            path: "<stdout>".into(),
            source: std::io::Error::other(e),
        })?;
        return ctx.print_json(&value);
    }
    ctx.print_data(&render(report))
}

fn render(report: &GcReport) -> String {
    let (verb, removed) = if report.dry_run {
        ("Would free", "would remove")
    } else {
        ("Freed", "removed")
    };
    let mut out = Vec::new();
    for repo in &report.repos {
        let whole = if repo.removed {
            format!(" ({removed} the whole repo)")
        } else {
            String::new()
        };
        out.push(format!(
            "{} {}: {}, {}{whole}",
            repo.repo_type,
            repo.repo,
            count(repo.files, "file"),
            HumanBytes(repo.bytes)
        ));
        for path in &repo.paths {
            out.push(format!("  {}", path.display()));
        }
    }
    let mut total = format!(
        "{verb} {} ({}) in {}",
        count(report.files, "file"),
        HumanBytes(report.bytes),
        count(report.repos.len(), "repo")
    );
    if !report.range_maps.is_empty() {
        let _ = write!(
            total,
            ", and {} of hfdl's",
            count(report.range_maps.len(), "stale range map")
        );
    }
    let _ = write!(
        total,
        "; {} kept what they reference",
        count(report.locks.len(), "lockfile")
    );
    out.push(total);
    if !report.forgotten_locks.is_empty() {
        let verb = if report.dry_run {
            "would forget"
        } else {
            "forgot"
        };
        out.push(format!(
            "{verb} {} that no longer exist: {}",
            count(report.forgotten_locks.len(), "lockfile"),
            report
                .forgotten_locks
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.join("\n")
}
