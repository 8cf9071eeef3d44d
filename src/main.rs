//! The `hfdl` binary: parse the command line, set up logging, run, and turn the outcome into an
//! exit code. Errors are rendered here, once.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser};
use hfdl::cli::{Cli, ColorChoice};
use hfdl::env::{self, Env};
use hfdl::error::{EXIT_BUG, Error};
use hfdl::manifest::Manifest;

fn main() -> ExitCode {
    // A <TAB> in a shell set up by `hfdl completions`: print the candidates and exit, before
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
    let result = runtime.block_on(hfdl::commands::run(cli, &env, is_terminal, manifest));
    // Do not wait for blocking tasks (e.g. a hash of a huge file) that lost their purpose.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(&error, json, color);
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}

/// The help of the error or, when it has none, of the first error it wraps that has one (the
/// miette report shows those too).
fn first_help(diagnostic: &dyn miette::Diagnostic) -> Option<String> {
    diagnostic
        .help()
        .map(|help| help.to_string())
        .or_else(|| diagnostic.diagnostic_source().and_then(first_help))
}

/// Writes the error: a JSON object on stdout with `--json`, a miette report on stderr otherwise.
fn report_error(error: &Error, json: bool, color: bool) {
    use std::io::Write;
    if json {
        if error.is_a_reported_verdict() {
            return;
        }
        let help = first_help(error);
        let value = serde_json::json!({
            "error": {
                "code": error.error_code(),
                "message": error_chain(error),
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

/// The error and its causes on one line.
fn error_chain(error: &Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
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
