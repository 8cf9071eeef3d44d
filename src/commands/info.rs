//! `hfdl info REPO[@REV]`: a repo's commit, last change, license, card metadata, gating, tags
//! and files by type, with `--files` every file, and with `--include`/`--exclude` what those
//! models.toml patterns would select. Reads the Hub, writes nothing.

use super::Context;
use crate::cli::InfoArgs;
use crate::error::Result;
use crate::ops::Project;
use crate::ops::info::InfoOptions;
use crate::render;

pub async fn run(ctx: &Context, project: &Project, args: &InfoArgs) -> Result<()> {
    let options = InfoOptions {
        repo: args.repo.clone(),
        repo_type: args.repo_type.map(Into::into),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        files: args.files,
    };
    let report = project.info(&options).await?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.print_data(&render::info::text(&report))
}
