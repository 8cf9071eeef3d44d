//! `hfdl init`: creates a commented models.toml.

use super::Context;
use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::manifest::edit;
use crate::store::atomic::write_file_atomic;

pub fn run(ctx: &Context, _args: &InitArgs) -> Result<()> {
    let path = &ctx.settings.manifest_path;
    if path.exists() {
        return Err(Error::AlreadyExists { path: path.clone() });
    }
    write_file_atomic(path, edit::init_template().as_bytes()).map_err(Error::io(path))?;
    if ctx.settings.json {
        return ctx.print_json(&serde_json::json!({ "created": path }));
    }
    ctx.status(&format!(
        "Created {}; add a model with `hfdl add REPO`",
        path.display()
    ));
    Ok(())
}
