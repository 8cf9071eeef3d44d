//! One thin file per subcommand: arguments → options → an operation of [`crate::ops`] → the
//! report rendered ([`crate::render`]) as text or JSON.
//!
//! Data goes to stdout (tables, paths, `--json` documents); progress, status and errors go to
//! stderr through the [`Reporter`] and `main.rs`.

use std::io::Write;
use std::sync::Arc;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::manifest::diagnostics::ManifestError;
use crate::ops::{CancellationToken, ManifestNeed, OpenOptions, Project};
use crate::render;
use crate::report::Reporter;
use crate::settings::{Settings, SettingsOverrides};

pub mod add;
pub mod audit;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod explain;
pub mod export;
pub mod gc;
pub mod import;
pub mod info;
pub mod init;
pub mod lock;
pub mod login;
pub mod logout;
pub mod outdated;
pub mod path;
pub mod push;
pub mod remove;
pub mod search;
pub mod status;
pub mod sync;
pub mod ui;
pub mod verify;
pub mod version;
pub mod whoami;

/// What every command gets: how to show its output.
pub struct Context {
    /// `--json`: data and errors as JSON on stdout.
    pub json: bool,
    /// `-q`: nothing but data and errors.
    pub quiet: bool,
    /// Where the operation's progress goes (bars, lines, JSON lines or nowhere).
    pub reporter: Arc<dyn Reporter>,
    /// GitHub Actions or GitLab CI conventions (groups, annotations, the job summary), when
    /// hfdl runs there ([`Context::in_ci`]).
    pub ci: Option<Arc<render::ci::Ci>>,
    /// Cancelled on SIGINT or SIGTERM (`main.rs`): the long operations take it in their options
    /// and stop cleanly ([`stops_cleanly`]).
    pub cancel: CancellationToken,
}

impl Context {
    /// The output for a project's settings: bars only on a terminal, when `progress` is on.
    pub fn new(global: &GlobalArgs, settings: &Settings, is_terminal: bool) -> Context {
        let output = render::progress::Output::choose(
            global.quiet,
            global.json,
            settings.progress,
            is_terminal,
            settings.progress_interval,
        );
        Context {
            json: global.json,
            quiet: global.quiet,
            reporter: render::progress::reporter_for(output),
            ci: None,
            cancel: CancellationToken::new(),
        }
    }

    /// This output under `ci`'s conventions: progress lines grouped and warnings annotated
    /// (a machine output, `--json`, and `-q` stay as they are), and a job summary.
    #[must_use]
    pub fn in_ci(mut self, ci: Option<&Arc<render::ci::Ci>>) -> Context {
        if let Some(ci) = ci {
            if !self.json && !self.quiet {
                self.reporter = Arc::new(render::ci::Grouped::new(self.reporter, ci.clone()));
            }
            self.ci = Some(ci.clone());
        }
        self
    }

    /// Appends `markdown()` to the CI job summary, when there is one (a failure to write it is
    /// a warning, not the command's error).
    pub fn job_summary(&self, markdown: impl FnOnce() -> String) {
        let Some(ci) = self.ci.as_ref().filter(|ci| ci.summary_file().is_some()) else {
            return;
        };
        if let Err(message) = ci.append_summary(&markdown()) {
            self.reporter
                .report(crate::report::Event::Warning { message });
        }
    }

    /// The command's own output stands outside the progress groups.
    fn end_group(&self) {
        if let Some(ci) = &self.ci {
            ci.end_group();
        }
    }

    /// Writes human or JSON data to stdout.
    pub fn print_data(&self, text: &str) -> Result<()> {
        self.end_group();
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

    /// Writes a report as a JSON document to stdout.
    pub fn print_report(&self, report: &impl serde::Serialize) -> Result<()> {
        let value = serde_json::to_value(report).map_err(|e| Error::Io {
            path: "<stdout>".into(),
            source: std::io::Error::other(e),
        })?;
        self.print_json(&value)
    }

    /// A status line on stderr (not with `-q` or `--json`).
    pub fn status(&self, text: &str) {
        self.end_group();
        if !self.quiet && !self.json {
            render::progress::status_line(text);
        }
    }

    /// Status lines on stderr (not with `-q` or `--json`).
    pub fn statuses(&self, lines: &[String]) {
        for line in lines {
            self.status(line);
        }
    }
}

/// How the global flags and the environment open a project.
pub fn open_options(global: &GlobalArgs, env: &Env) -> OpenOptions {
    OpenOptions {
        manifest: global.manifest.clone(),
        overrides: SettingsOverrides {
            store: global.store.clone(),
            offline: global.offline,
            no_progress: global.no_progress,
        },
        env: env.clone(),
    }
}

/// Whether `command` watches the cancellation token and stops cleanly with
/// [`Error::Cancelled`]: the long ones. `main.rs` catches SIGINT and SIGTERM only for these;
/// the others end on a signal as any program does.
pub fn stops_cleanly(command: &Command) -> bool {
    matches!(
        command,
        Command::Sync(_)
            | Command::Add(_)
            | Command::Lock(_)
            | Command::Verify(_)
            | Command::Gc(_)
            | Command::Export(_)
            | Command::Import(_)
            | Command::Push(_)
            | Command::Ui(_)
    )
}

/// Runs the parsed command line.
///
/// `manifest` is what [`crate::manifest::load`] returned for the manifest the flags point at
/// (`main.rs` read it once, for the logging set-up). `cancel` stops the commands that
/// [`stops_cleanly`].
pub async fn run(
    cli: Cli,
    env: &Env,
    is_terminal: bool,
    manifest: std::result::Result<Manifest, ManifestError>,
    cancel: CancellationToken,
) -> Result<()> {
    let global = cli.global.clone();
    let command = cli.command.name();
    let mut result = dispatch(cli, env, is_terminal, manifest, cancel).await;
    if let Err(error) = &mut result {
        name_the_account(error, &global, env).await;
        // After dispatch, so every progress group is closed before the annotation.
        if let Some(ci) = render::ci::Ci::detect(env) {
            ci.failed(command, error);
        }
    }
    result
}

/// A signed-in user refused by a gated repo needs to know which account must accept its
/// conditions: ask the Hub whose token it is and put the name in the help.
async fn name_the_account(error: &mut Error, global: &GlobalArgs, env: &Env) {
    let signed_in_refusal = matches!(
        error.hub_error_mut(),
        Some(crate::hub::HubError::GatedRepo {
            authenticated: true,
            ..
        })
    );
    // Only then is the project (manifest, config, settings) read again.
    if signed_in_refusal && let Ok(project) = Project::open_optional(open_options(global, env)) {
        project.name_the_account(error).await;
    }
}

async fn dispatch(
    cli: Cli,
    env: &Env,
    is_terminal: bool,
    manifest: std::result::Result<Manifest, ManifestError>,
    cancel: CancellationToken,
) -> Result<()> {
    let global = &cli.global;
    let options = open_options(global, env);
    let open = |need| Project::from_loaded(options.clone(), manifest, need);
    // Shared by the command's contexts; dropped (closing any open group) when it returns.
    let ci = render::ci::Ci::detect(env).map(Arc::new);
    let context = |project: &Project| Context {
        cancel: cancel.clone(),
        ..Context::new(global, project.settings(), is_terminal).in_ci(ci.as_ref())
    };
    // Commands about the binary itself read no project files.
    let bare = || Context {
        json: global.json,
        quiet: global.quiet,
        reporter: render::progress::reporter_for(render::progress::Output::Silent),
        ci: None,
        cancel: cancel.clone(),
    };
    match cli.command {
        Command::Completions(args) => completions::run(&bare(), &args),
        Command::Version(args) => version::run(&bare(), &args),
        Command::Explain(args) => explain::run(&bare(), &args),
        Command::Init(args) => {
            let project = Project::without_manifest(options)?;
            init::run(&context(&project), &project, &args)
        }
        Command::Add(args) => {
            let project = open(ManifestNeed::Optional)?;
            add::run(&context(&project), &project, &args).await
        }
        Command::Search(args) => {
            let project = open(ManifestNeed::Optional)?;
            search::run(&context(&project), &project, &args).await
        }
        Command::Info(args) => {
            let project = open(ManifestNeed::Optional)?;
            info::run(&context(&project), &project, &args).await
        }
        Command::Remove(args) => {
            let project = open(ManifestNeed::Required)?;
            remove::run(&context(&project), &project, &args)
        }
        Command::Lock(args) => {
            let project = open(ManifestNeed::Required)?;
            lock::run(&context(&project), &project, &args).await
        }
        Command::Sync(args) => {
            // --frozen needs only the lock; the manifest (for `dir` and [settings]) is optional.
            let project = if args.frozen {
                open(ManifestNeed::Optional)?
            } else {
                open(ManifestNeed::Required)?
            };
            sync::run(&context(&project), &project, &args).await
        }
        Command::Outdated(args) => {
            let project = open(ManifestNeed::Required)?;
            outdated::run(&context(&project), &project, &args).await
        }
        Command::Audit(args) => {
            // The lock is what is audited; the manifest adds its policy and exceptions.
            let project = open(ManifestNeed::Optional)?;
            audit::run(&context(&project), &project, &args)
        }
        Command::Status(args) => {
            let project = open(ManifestNeed::Required)?;
            status::run(&context(&project), &project, &args)
        }
        Command::Path(args) => {
            let project = open(ManifestNeed::Required)?;
            path::run(&context(&project), &project, &args)
        }
        Command::Login(args) => {
            let project = open(ManifestNeed::Optional)?;
            login::run(&context(&project), &project, &args).await
        }
        Command::Logout(args) => {
            let project = open(ManifestNeed::Optional)?;
            logout::run(&context(&project), &project, &args)
        }
        Command::Whoami(args) => {
            let project = open(ManifestNeed::Optional)?;
            whoami::run(&context(&project), &project, &args).await
        }
        Command::Doctor(args) => {
            // A broken config.toml is what doctor is for: report it as a failed check and run
            // the others without the file.
            let (project, config_error) = match open(ManifestNeed::Optional) {
                Ok(project) => (project, None),
                Err(error) if error.error_code() == "config-invalid" => {
                    (Project::without_config_file(options)?, Some(error))
                }
                Err(error) => return Err(error),
            };
            doctor::run(&context(&project), &project, &args, config_error.as_ref()).await
        }
        Command::Verify(args) => {
            let project = open(ManifestNeed::Required)?;
            verify::run(&context(&project), &project, &args).await
        }
        Command::Gc(args) => {
            let project = open(ManifestNeed::Optional)?;
            gc::run(&context(&project), &project, &args)
        }
        // A bundle is the lock and the store; the manifest adds its settings when there is one.
        Command::Push(args) => {
            // The lock says what to push; the manifest may hold `blob-store`.
            let project = open(ManifestNeed::Optional)?;
            push::run(&context(&project), &project, &args).await
        }
        Command::Export(args) => {
            let project = open(ManifestNeed::Optional)?;
            export::run(&context(&project), &project, &args)
        }
        Command::Import(args) => {
            let project = open(ManifestNeed::Optional)?;
            import::run(&context(&project), &project, &args)
        }
        // Opens the project at each request: the web app may create models.toml, and sees
        // edits made elsewhere.
        Command::Ui(args) => ui::run(&bare(), options, env, &args).await,
        Command::Config(args) => {
            let open_optional = || open(ManifestNeed::Optional);
            config::run(global, options.clone(), open_optional, is_terminal, &args)
        }
    }
}
