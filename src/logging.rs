//! Logging set-up for the binary (CLI side, like [`crate::render`]):
//! `tracing` to stderr and, with `--log-file`, to a file; text or JSON lines.
//!
//! The level: `-v`/`-vv`/`-vvv`, else `HFDL_LOG` (env-filter syntax), else `log-level` in the
//! manifest's `[settings]`. Without any of them stderr shows warnings only, while a log file
//! gets debug: a file is asked for to be read later (a CI artifact), so it should hold the
//! requests and spans without making the console noisy. The format: `--log-format`, else
//! `log-format` in `[settings]`, else text; it applies to both. Logs never go to stdout (data),
//! and progress bars never reach the file (they are not log events).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;

use crate::env::{self, Env};
use crate::error::{Error, Result};
use crate::settings::LogSettings;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the spans each line happened in.
    Json,
}

/// What the command line asks of logging (`-v`, `--log-format`, `--log-file`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// `-v` count: 1 info, 2 debug, 3 or more trace.
    pub verbose: u8,
    /// The format, above `log-format` in the settings.
    pub format: Option<LogFormat>,
    /// Also append logs to this file.
    pub file: Option<PathBuf>,
}

/// What a log file holds when no level was chosen.
const FILE_DEFAULT: &str = "warn,hfdl=debug";
/// What stderr shows when no level was chosen.
const STDERR_DEFAULT: &str = "warn";

/// Where and how to log, decided from the flags, the environment and `[settings]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// The chosen filter (env-filter syntax), if any was chosen.
    pub filter: Option<String>,
    /// The log file's filter: `warn,hfdl=debug`, unless `-vv`/`-vvv` or `HFDL_LOG` chose
    /// one explicitly. A file someone asked for never gets less than debug from `-v` or a
    /// quiet `log-level`.
    pub file_filter: Option<String>,
    /// Text or JSON, for stderr and the log file alike.
    pub format: LogFormat,
    /// The file to append logs to (`--log-file`); `None` logs to stderr only.
    pub file: Option<PathBuf>,
}

impl LogConfig {
    /// `settings` is the manifest's `[settings]`, peeked at (a manifest that does not parse is
    /// the command's error to report, not logging's).
    ///
    /// An `HFDL_LOG` that is not a valid filter is an error (exit 2), like every other
    /// variable hfdl reads.
    pub fn new(options: &LogOptions, env: &Env, settings: &LogSettings) -> Result<LogConfig> {
        let from_env = match env.get(env::HFDL_LOG) {
            Some(filter) => match EnvFilter::try_new(filter) {
                Ok(_) => Some(filter.to_owned()),
                Err(error) => {
                    return Err(Error::Usage {
                        message: format!("HFDL_LOG={filter} is not a log filter: {error}"),
                        help: "use a level (`debug`) or directives like `hfdl=debug,reqwest=info`, or unset HFDL_LOG".to_owned(),
                    });
                }
            },
            None => None,
        };
        let verbosity = match options.verbose {
            0 => None,
            1 => Some("hfdl=info".to_owned()),
            2 => Some("hfdl=debug".to_owned()),
            _ => Some("hfdl=trace".to_owned()),
        };
        let file_filter = verbosity
            .clone()
            .filter(|_| options.verbose >= 2)
            .or_else(|| from_env.clone());
        let filter = verbosity.or(from_env).or_else(|| {
            settings.log_level.as_deref().map(|level| {
                if level == "off" {
                    "off".to_owned()
                } else {
                    format!("hfdl={level}")
                }
            })
        });
        let format = options.format.unwrap_or_else(|| {
            if settings.log_format.as_deref() == Some("json") {
                LogFormat::Json
            } else {
                LogFormat::Text
            }
        });
        Ok(LogConfig {
            filter,
            file_filter,
            format,
            file: options.file.clone(),
        })
    }

    /// Installs the global subscriber. Fails (a usage error, exit 2) when the log file cannot
    /// be opened for appending; nothing else can fail.
    pub fn init(&self) -> Result<()> {
        let stderr_filter = self.env_filter(STDERR_DEFAULT);
        let mut layers = vec![self.layer(std::io::stderr, true, stderr_filter)];
        if let Some(path) = &self.file {
            let file = open_log_file(path)?;
            let filter = self
                .file_filter
                .as_deref()
                .and_then(|filter| EnvFilter::try_new(filter).ok())
                .unwrap_or_else(|| EnvFilter::new(FILE_DEFAULT));
            layers.push(self.layer(Mutex::new(file), false, filter));
        }
        // Only fails when a subscriber is already set (tests that call this twice).
        let _ = tracing_subscriber::registry().with(layers).try_init();
        Ok(())
    }

    fn env_filter(&self, default: &str) -> EnvFilter {
        self.filter
            .as_deref()
            .and_then(|filter| EnvFilter::try_new(filter).ok())
            .unwrap_or_else(|| EnvFilter::new(default))
    }

    fn layer<W>(
        &self,
        writer: W,
        ansi: bool,
        filter: EnvFilter,
    ) -> Box<dyn Layer<Registry> + Send + Sync>
    where
        W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
    {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_target(false);
        match self.format {
            LogFormat::Text => layer.with_ansi(ansi).with_filter(filter).boxed(),
            LogFormat::Json => layer
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_filter(filter)
                .boxed(),
        }
    }
}

/// Opens `path` for appending, creating it and its directory.
fn open_log_file(path: &Path) -> Result<fs_err::File> {
    let fail = |error: std::io::Error| Error::Usage {
        message: format!("cannot open the log file {}: {error}", path.display()),
        help: "pass --log-file a path to a file in a writable directory".into(),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent).map_err(fail)?;
    }
    fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_beats_hfdl_log_beats_the_manifest_and_the_flag_beats_its_format() {
        let env = Env::from_pairs([(env::HFDL_LOG, "hfdl=trace,reqwest=debug")], None);
        let settings = LogSettings {
            log_level: Some("info".into()),
            log_format: Some("json".into()),
        };
        let config = LogConfig::new(&LogOptions::default(), &env, &settings).unwrap();
        assert_eq!(config.filter.as_deref(), Some("hfdl=trace,reqwest=debug"));
        assert_eq!(config.format, LogFormat::Json);

        let options = LogOptions {
            verbose: 2,
            format: Some(LogFormat::Text),
            ..Default::default()
        };
        let config = LogConfig::new(&options, &env, &settings).unwrap();
        assert_eq!(config.filter.as_deref(), Some("hfdl=debug"));
        assert_eq!(config.format, LogFormat::Text);

        let bare = Env::from_pairs([], None);
        let config = LogConfig::new(&LogOptions::default(), &bare, &settings).unwrap();
        assert_eq!(config.filter.as_deref(), Some("hfdl=info"));
        let config =
            LogConfig::new(&LogOptions::default(), &bare, &LogSettings::default()).unwrap();
        assert_eq!(config.filter, None);
        assert_eq!(config.format, LogFormat::Text);
    }

    #[test]
    fn an_invalid_hfdl_log_is_a_usage_error_and_the_file_gets_debug_under_v() {
        let env = Env::from_pairs([(env::HFDL_LOG, "hfdl=loud")], None);
        let error =
            LogConfig::new(&LogOptions::default(), &env, &LogSettings::default()).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE);
        assert!(error.to_string().contains("HFDL_LOG=hfdl=loud"), "{error}");

        let bare = Env::from_pairs([], None);
        let verbose = LogOptions {
            verbose: 1,
            ..LogOptions::default()
        };
        let config = LogConfig::new(&verbose, &bare, &LogSettings::default()).unwrap();
        assert_eq!(config.filter.as_deref(), Some("hfdl=info"));
        assert_eq!(config.file_filter, None, "the file keeps its debug default");
        let very = LogOptions {
            verbose: 3,
            ..LogOptions::default()
        };
        let config = LogConfig::new(&very, &bare, &LogSettings::default()).unwrap();
        assert_eq!(config.file_filter.as_deref(), Some("hfdl=trace"));
    }

    #[test]
    fn a_log_file_that_cannot_be_created_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        fs_err::write(&blocker, "").unwrap();
        let error = open_log_file(&blocker.join("hfdl.log")).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE);
        assert!(error.to_string().contains("not-a-dir"), "{error}");
    }
}
