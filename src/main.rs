//! The `hfdl` binary: parse the command line, set up logging, run, and turn the outcome into an
//! exit code. Errors are rendered here, once.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use clap::{CommandFactory as _, Parser};
use hfdl::cli::{Cli, ColorChoice};
use hfdl::env::{self, Env};
use hfdl::error::{EXIT_BUG, Error};
use hfdl::manifest::Manifest;
use hfdl::ops::CancellationToken;

fn main() -> ExitCode {
    // A `<TAB>` in a shell set up by `hfdl completions`: print the candidates and exit, before
    // anything else reads the command line or writes to stdout.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(env::HFDL_COMPLETE)
        .completer("hfdl")
        .complete();
    let cli = Cli::parse();
    let env = Env::from_process();
    let color = match cli.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal() && env.get(env::NO_COLOR).is_none(),
    };
    let json = cli.global.json;
    // Read once: logging takes its level and format from `[settings]`, the command the rest.
    let options = hfdl::commands::open_options(&cli.global, &env);
    let manifest = hfdl::manifest::load(&options.manifest_path());
    if let Err(error) = init_tracing(&cli, &options, manifest.as_ref().ok()) {
        report_error(&error, json, color);
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1));
    }
    let is_terminal = std::io::stderr().is_terminal() && !env.flag(env::CI);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report_error(
                &Error::Io {
                    path: "<tokio runtime>".into(),
                    source: error,
                },
                json,
                color,
            );
            return ExitCode::from(EXIT_BUG as u8);
        }
    };
    let cancel = CancellationToken::new();
    // The exit code of the first SIGINT or SIGTERM; 0 until one arrives.
    let interrupted = Arc::new(AtomicI32::new(0));
    if hfdl::commands::stops_cleanly(&cli.command) {
        catch_signals(&runtime, &cancel, &interrupted);
    }
    let run = hfdl::commands::run(cli, &env, is_terminal, manifest, cancel);
    let result = runtime.block_on(run);
    // Do not wait for blocking tasks (e.g. a hash of a huge file) that lost their purpose.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let signal_exit = interrupted.load(Ordering::SeqCst);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if signal_exit != 0 && error.kept_on_cancel().is_some() => {
            report_interrupted(&error, signal_exit, json);
            ExitCode::from(u8::try_from(signal_exit).unwrap_or(1))
        }
        Err(error) => {
            report_error(&error, json, color);
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}

/// Catches SIGINT and SIGTERM (Ctrl-C where there are no Unix signals) for a command that
/// [`hfdl::commands::stops_cleanly`]: the first one cancels `cancel`, so the operation stops
/// between whole steps and says what it kept, and records its exit code (130 or 143) in
/// `first`; a second one ends the process at once, with the same code.
fn catch_signals(
    runtime: &tokio::runtime::Runtime,
    cancel: &CancellationToken,
    first: &Arc<AtomicI32>,
) {
    let (cancel, first) = (cancel.clone(), first.clone());
    // Installed now, not when the task first runs: a signal in between would be lost.
    let _entered = runtime.enter();
    let mut signals = Signals::install();
    runtime.spawn(async move {
        while let Some(code) = signals.next().await {
            if first
                .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                cancel.cancel();
            } else {
                std::process::exit(first.load(Ordering::SeqCst));
            }
        }
    });
}

/// The signals that stop a command cleanly, each with its exit code.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Handlers for SIGINT and SIGTERM; one that cannot be installed leaves that signal's
    /// default (the process ends).
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The exit code of the next signal; `None` when none can arrive any more.
    async fn next(&mut self) -> Option<i32> {
        #[cfg(unix)]
        {
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
                match signal {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            }
            if self.interrupt.is_none() && self.terminate.is_none() {
                return None;
            }
            tokio::select! {
                Some(()) = recv(&mut self.interrupt) => Some(hfdl::codes::EXIT_SIGINT),
                Some(()) = recv(&mut self.terminate) => Some(hfdl::codes::EXIT_SIGTERM),
                else => None,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| hfdl::codes::EXIT_SIGINT)
        }
    }
}

/// Says that a signal stopped the command, and what it kept: `interrupted: 2 partial files kept
/// (951.00 MiB); `hfdl sync` resumes` on stderr, or with `--json` the `cancelled` error with
/// the signal, the counts and the exit code on stdout.
fn report_interrupted(error: &Error, exit_code: i32, json: bool) {
    use std::io::Write;
    let message = format!("interrupted{}", error.kept_on_cancel().unwrap_or_default());
    if !json {
        let _ = writeln!(std::io::stderr().lock(), "{message}");
        return;
    }
    let (partial_files, partial_bytes) = match error {
        Error::Cancelled {
            partial_files,
            partial_bytes,
        } => (*partial_files, *partial_bytes),
        _ => (0, 0),
    };
    let signal = if exit_code == hfdl::codes::EXIT_SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    };
    let value = serde_json::json!({
        "error": {
            "code": error.error_code(),
            "message": message,
            "help": error.help_text(),
            "exit_code": exit_code,
            "signal": signal,
            "partial_files": partial_files,
            "partial_bytes": partial_bytes,
        }
    });
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// Writes the error: a JSON object on stdout with `--json`, a miette report on stderr otherwise.
fn report_error(error: &Error, json: bool, color: bool) {
    use std::io::Write;
    if json {
        if error.is_a_reported_verdict() {
            return;
        }
        let help = error.help_text();
        let value = serde_json::json!({
            "error": {
                "code": error.error_code(),
                "message": error.message_chain(),
                "help": help,
                "exit_code": error.exit_code(),
            }
        });
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return;
    }
    let handler = miette::GraphicalReportHandler::new_themed(if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    // Wrap for a person at a terminal; keep each message on one line for logs and grep.
    .with_width(if std::io::stderr().is_terminal() {
        100
    } else {
        1000
    });
    let mut out = String::new();
    if handler.render_report(&mut out, error).is_err() {
        out = format!("error: {error}");
    }
    let _ = writeln!(std::io::stderr().lock(), "{out}");
}

/// Logging (see [`hfdl::logging`]). `log-level`/`log-format` resolve like every setting
/// (`HFDL_*`, `[settings]`, config.toml); files that do not parse are the command's error to
/// report, not logging's.
fn init_tracing(
    cli: &Cli,
    options: &hfdl::ops::OpenOptions,
    manifest: Option<&Manifest>,
) -> Result<(), Error> {
    let env = &options.env;
    let settings = hfdl::settings::log_settings(
        &options.manifest_path(),
        &options.overrides,
        env,
        manifest.map(|manifest| &manifest.settings),
    );
    let logging = hfdl::logging::LogOptions {
        verbose: cli.global.verbose,
        format: cli.global.log_format,
        file: cli.global.log_file.clone(),
    };
    hfdl::logging::LogConfig::new(&logging, env, &settings)?.init()
}
