//! One thin file per subcommand: arguments → [`Settings`] → library calls → output.
//!
//! Data goes to stdout (tables, paths, `--json` documents); progress, status and errors go to
//! stderr through the [`Reporter`] and `main.rs`.

use std::io::Write;
use std::sync::Arc;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::hub::HubError;
use crate::manifest::{self, Manifest};
use crate::report::Reporter;
use crate::report::render;
use crate::settings::Settings;

pub mod add;
pub mod config;
pub mod doctor;
pub mod gc;
pub mod init;
pub mod lock;
pub mod login;
pub mod logout;
pub mod outdated;
pub mod path;
pub mod remove;
pub mod status;
pub mod sync;
pub mod verify;
pub mod whoami;

/// What every command gets.
pub struct Context {
    pub settings: Settings,
    pub global: GlobalArgs,
    pub reporter: Arc<dyn Reporter>,
}

impl Context {
    /// Builds settings without reading a manifest (`init`).
    fn without_manifest(global: &GlobalArgs, env: &Env, is_terminal: bool) -> Result<Context> {
        let settings = Settings::new(global, env, None, is_terminal)?;
        Ok(Context::with_settings(global, settings))
    }

    /// Reads the manifest, then builds settings that include its `[settings]`.
    fn with_manifest(
        global: &GlobalArgs,
        env: &Env,
        is_terminal: bool,
    ) -> Result<(Context, Manifest)> {
        let mut manifest = manifest::load(&Settings::manifest_path(global))?;
        let settings = settings_for(global, env, &mut manifest, is_terminal)?;
        Ok((Context::with_settings(global, settings), manifest))
    }

    /// Uses the manifest's `[settings]` (endpoint, store) when there is a manifest; account and
    /// health commands also work outside a project.
    fn with_optional_manifest(
        global: &GlobalArgs,
        env: &Env,
        is_terminal: bool,
    ) -> Result<Context> {
        match manifest::load(&Settings::manifest_path(global)) {
            Ok(mut manifest) => {
                let settings = settings_for(global, env, &mut manifest, is_terminal)?;
                Ok(Context::with_settings(global, settings))
            }
            Err(error) if error.error_code() == "manifest-not-found" => {
                Context::without_manifest(global, env, is_terminal)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Builds settings without reading config.toml: for `hfdl config path/set/unset`, which
    /// must work to repair an invalid one.
    fn without_config_file(global: &GlobalArgs, env: &Env, is_terminal: bool) -> Result<Context> {
        let config = crate::config::ConfigFile {
            path: env.hfdl_config_file(),
            ..Default::default()
        };
        let settings = Settings::resolve(global, env, None, &config, is_terminal)?;
        Ok(Context::with_settings(global, settings))
    }

    fn with_settings(global: &GlobalArgs, settings: Settings) -> Context {
        let reporter = render::reporter_for(&settings);
        Context {
            settings,
            global: global.clone(),
            reporter,
        }
    }

    /// Writes human or JSON data to stdout.
    pub fn print_data(&self, text: &str) -> Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| {
                if text.ends_with('\n') || text.is_empty() {
                    Ok(())
                } else {
                    stdout.write_all(b"\n")
                }
            })
            .and_then(|()| stdout.flush())
            .map_err(Error::io("<stdout>"))
    }

    /// Writes a JSON document to stdout.
    pub fn print_json(&self, value: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        self.print_data(&text)
    }

    /// A status line on stderr (not with `-q` or `--json`).
    pub fn status(&self, text: &str) {
        if !self.settings.quiet && !self.settings.json {
            render::status_line(text);
        }
    }
}

/// Settings for a project, and the cooldown they decide on given to the manifest's entries.
pub(crate) fn settings_for(
    global: &GlobalArgs,
    env: &Env,
    manifest: &mut Manifest,
    is_terminal: bool,
) -> Result<Settings> {
    let settings = Settings::new(global, env, Some(&manifest.settings), is_terminal)?;
    manifest.set_default_cooldown(settings.exclude_newer.as_ref());
    Ok(settings)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli, env: &Env, is_terminal: bool) -> Result<()> {
    let global = cli.global.clone();
    let mut result = dispatch(cli, env, is_terminal).await;
    if let Err(error) = &mut result {
        name_the_account(error, &global, env).await;
    }
    result
}

/// A signed-in user refused by a gated repo needs to know which account must accept its
/// conditions: ask the Hub whose token it is and put the name in the help.
async fn name_the_account(error: &mut Error, global: &GlobalArgs, env: &Env) {
    let Some(HubError::GatedRepo {
        authenticated: true,
        repo,
        repo_type,
        help,
        ..
    }) = error.hub_error_mut()
    else {
        return;
    };
    let Ok(ctx) = Context::with_optional_manifest(global, env, false) else {
        return;
    };
    // One quick attempt: this only improves a message, it must not hold the error back.
    let mut options = ctx.settings.hub_options();
    options.token = ctx
        .settings
        .token(crate::hub::auth::TokenUse::Implicit)
        .map(|(token, _)| token);
    options.timeout = std::time::Duration::from_secs(5);
    options.retries = 0;
    if let Ok(me) = crate::hub::HubClient::new(options).whoami().await {
        *help = format!(
            "accept the conditions at {}/{}{repo} while logged in as {}, then run again",
            ctx.settings.endpoint,
            repo_type.url_prefix(),
            me.name
        );
    }
}

async fn dispatch(cli: Cli, env: &Env, is_terminal: bool) -> Result<()> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => {
            init::run(&Context::without_manifest(global, env, is_terminal)?, &args)
        }
        Command::Add(args) => add::run(global, env, is_terminal, &args).await,
        Command::Remove(args) => {
            let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
            remove::run(&ctx, &manifest, &args)
        }
        Command::Lock(args) => {
            let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
            lock::run(&ctx, &manifest, &args).await
        }
        Command::Sync(args) => {
            let (ctx, manifest) = if args.frozen {
                // --frozen needs only the lock; the manifest (for `dir` and [settings]) is optional.
                match manifest::load(&Settings::manifest_path(global)) {
                    Ok(mut manifest) => {
                        let settings = settings_for(global, env, &mut manifest, is_terminal)?;
                        (Context::with_settings(global, settings), Some(manifest))
                    }
                    Err(error) if error.error_code() == "manifest-not-found" => {
                        (Context::without_manifest(global, env, is_terminal)?, None)
                    }
                    Err(error) => return Err(error.into()),
                }
            } else {
                let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
                (ctx, Some(manifest))
            };
            sync::run(&ctx, manifest.as_ref(), &args).await
        }
        Command::Outdated(args) => {
            let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
            outdated::run(&ctx, &manifest, &args).await
        }
        Command::Status(args) => {
            let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
            status::run(&ctx, &manifest, &args)
        }
        Command::Path(args) => {
            let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
            path::run(&ctx, &manifest, &args)
        }
        Command::Login(args) => {
            let ctx = Context::with_optional_manifest(global, env, is_terminal)?;
            login::run(&ctx, &args).await
        }
        Command::Logout(args) => {
            let ctx = Context::with_optional_manifest(global, env, is_terminal)?;
            logout::run(&ctx, &args)
        }
        Command::Whoami(args) => {
            let ctx = Context::with_optional_manifest(global, env, is_terminal)?;
            whoami::run(&ctx, &args).await
        }
        Command::Doctor(args) => {
            // A broken config.toml is what doctor is for: report it as a failed check and run
            // the others without the file.
            let (ctx, config_error) =
                match Context::with_optional_manifest(global, env, is_terminal) {
                    Ok(ctx) => (ctx, None),
                    Err(error) if error.error_code() == "config-invalid" => (
                        Context::without_config_file(global, env, is_terminal)?,
                        Some(error),
                    ),
                    Err(error) => return Err(error),
                };
            doctor::run(&ctx, &args, config_error.as_ref()).await
        }
        Command::Verify(args) => {
            let (ctx, manifest) = Context::with_manifest(global, env, is_terminal)?;
            verify::run(&ctx, &manifest, &args).await
        }
        Command::Gc(args) => {
            let ctx = Context::with_optional_manifest(global, env, is_terminal)?;
            gc::run(&ctx, &args)
        }
        Command::Config(args) => config::dispatch(global, env, is_terminal, &args),
    }
}
