//! `hfdl config list/get/set/unset/path`.
//!
//! `list` and `get` show the settings as every other command sees them (so an invalid
//! config.toml is reported); `path`, `set` and `unset` do not read the file's values, so that
//! they can repair a file the other commands refuse.

use super::Context;
use crate::cli::{ConfigArgs, ConfigCommand, GlobalArgs};
use crate::error::Result;
use crate::ops::config::{ConfigSetOptions, check_key};
use crate::ops::{OpenOptions, Project};
use crate::render;

/// Runs `hfdl config SUBCOMMAND`, opening the project as the subcommand needs it: `open_optional`
/// opens it with its manifest when there is one.
pub fn run(
    global: &GlobalArgs,
    options: OpenOptions,
    open_optional: impl FnOnce() -> Result<Project>,
    is_terminal: bool,
    args: &ConfigArgs,
) -> Result<()> {
    let open = |project: Result<Project>| -> Result<(Context, Project)> {
        let project = project?;
        Ok((
            Context::new(global, project.settings(), is_terminal),
            project,
        ))
    };
    match &args.command {
        ConfigCommand::List => {
            let (ctx, project) = open(open_optional())?;
            let report = project.config_list();
            if ctx.json {
                return ctx.print_report(&report);
            }
            ctx.print_data(&render::config::list(&report))
        }
        ConfigCommand::Get { key } => {
            // An unknown key is the error to report, even when the files are fine.
            check_key(key)?;
            let (ctx, project) = open(open_optional())?;
            let setting = project.config_get(key)?;
            if ctx.json {
                return ctx.print_report(&setting);
            }
            ctx.print_data(setting.value.as_deref().unwrap_or(""))
        }
        ConfigCommand::Set { key, value } => {
            let (ctx, project) = open(Project::without_config_file(options))?;
            let options = ConfigSetOptions {
                key: key.clone(),
                value: value.clone(),
            };
            let report = project.config_set(&options)?;
            if ctx.json {
                return ctx.print_report(&report);
            }
            ctx.status(&render::config::set(&report));
            Ok(())
        }
        ConfigCommand::Unset { key } => {
            let (ctx, project) = open(Project::without_config_file(options))?;
            let report = project.config_unset(key)?;
            if ctx.json {
                return ctx.print_report(&report);
            }
            ctx.status(&render::config::unset(&report));
            Ok(())
        }
        ConfigCommand::Path => {
            let (ctx, project) = open(Project::without_config_file(options))?;
            let report = project.config_path();
            if ctx.json {
                return ctx.print_report(&report);
            }
            ctx.print_data(&report.path)
        }
    }
}
