//! `hfdl config list/get/set/unset/path`.
//!
//! `list` and `get` show the settings as every other command sees them (so an invalid
//! config.toml is reported); `path`, `set` and `unset` do not read the file's values, so that
//! they can repair a file the other commands refuse.

use std::fmt::Write as _;

use serde_json::json;

use super::Context;
use crate::cli::{ConfigArgs, ConfigCommand, GlobalArgs};
use crate::config;
use crate::error::Result;
use crate::ops::{OpenOptions, Project};
use crate::settings::Effective;

pub fn run(
    global: &GlobalArgs,
    options: OpenOptions,
    is_terminal: bool,
    args: &ConfigArgs,
) -> Result<()> {
    let env = options.env.clone();
    let open = |project: Result<Project>| -> Result<(Context, Project)> {
        let project = project?;
        Ok((
            Context::new(global, project.settings(), is_terminal),
            project,
        ))
    };
    match &args.command {
        ConfigCommand::List => {
            let (ctx, project) = open(Project::open_optional(options))?;
            list(&ctx, &project)
        }
        ConfigCommand::Get { key } => {
            // An unknown key is the error to report, even when the files are fine.
            config::known_key(key)?;
            let (ctx, project) = open(Project::open_optional(options))?;
            get(&ctx, &project, key)
        }
        ConfigCommand::Set { key, value } => {
            let (ctx, project) = open(Project::without_config_file(options))?;
            let path = &project.settings().config_path;
            // `hfdl config set store ./cache` means the directory here, as a shell user reads
            // it, not one relative to the config file: written as an absolute path.
            let value = if key == "store"
                && !value.starts_with("~/")
                && std::path::Path::new(value).is_relative()
            {
                std::path::absolute(value)
                    .map_err(crate::error::Error::io(value))?
                    .display()
                    .to_string()
            } else {
                value.clone()
            };
            config::set(
                path,
                key,
                &value,
                env.home().map(std::path::PathBuf::as_path),
            )?;
            if ctx.json {
                return ctx.print_json(&json!({ "key": key, "value": value, "path": path }));
            }
            ctx.status(&format!("Set {key} = {value} in {}", path.display()));
            Ok(())
        }
        ConfigCommand::Unset { key } => {
            let (ctx, project) = open(Project::without_config_file(options))?;
            let path = &project.settings().config_path;
            let removed = config::unset(path, key)?;
            if ctx.json {
                return ctx.print_json(&json!({ "key": key, "removed": removed, "path": path }));
            }
            if removed {
                ctx.status(&format!("Removed {key} from {}", path.display()));
            } else {
                ctx.status(&format!("{key} is not set in {}", path.display()));
            }
            Ok(())
        }
        ConfigCommand::Path => {
            let (ctx, project) = open(Project::without_config_file(options))?;
            let path = project.settings().config_path.display().to_string();
            if ctx.json {
                ctx.print_json(&json!({
                    "path": path,
                    "exists": project.settings().config_path.is_file(),
                }))
            } else {
                ctx.print_data(&path)
            }
        }
    }
}

fn to_json(setting: &Effective) -> serde_json::Value {
    json!({
        "key": setting.key,
        "value": setting.value,
        "source": setting.origin.to_string(),
    })
}

fn list(ctx: &Context, project: &Project) -> Result<()> {
    let effective = &project.settings().effective;
    if ctx.json {
        return ctx.print_json(&json!({
            "config_file": project.settings().config_path.display().to_string(),
            "settings": effective.iter().map(to_json).collect::<Vec<_>>(),
        }));
    }
    let width = effective.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let value_width = effective
        .iter()
        .map(|s| s.value.as_deref().unwrap_or("(unset)").len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for setting in effective {
        let _ = writeln!(
            out,
            "{:width$}  {:value_width$}  ({})",
            setting.key,
            setting.value.as_deref().unwrap_or("(unset)"),
            setting.origin,
        );
    }
    ctx.print_data(&out)
}

fn get(ctx: &Context, project: &Project, key: &str) -> Result<()> {
    let Some(setting) = project.settings().effective.iter().find(|s| s.key == key) else {
        // Every known key is in `effective`; `known_key` was checked.
        return Err(config::known_key(key).err().map_or_else(
            || crate::error::Error::Usage {
                message: format!("no effective value for `{key}`"),
                help: "report this as a bug".into(),
            },
            Into::into,
        ));
    };
    if ctx.json {
        ctx.print_json(&to_json(setting))
    } else {
        ctx.print_data(setting.value.as_deref().unwrap_or(""))
    }
}
