//! `hfdl-mock-hub`: serve a fixture directory as a local Hugging Face Hub, or generate one.
//!
//! ```text
//! hfdl-mock-hub generate --out DIR demo
//! hfdl-mock-hub generate --out DIR repo --id bench/big --files 4 --size 1GiB --small 6
//! hfdl-mock-hub generate --out DIR many-small --id bench/many --count 5000
//! hfdl-mock-hub generate --out DIR xet-upgrade --id bench/xet --size 2GiB --changed 10
//! hfdl-mock-hub serve --fixtures DIR [--port N] [--cdn-port N] [--page-size N]
//! hfdl-mock-hub --fixtures DIR [--port N]          # same as `serve`
//! hfdl-mock-hub static --dir DIR [--port N]         # a plain static file server (benchmarks)
//! ```
//!
//! `serve` prints `endpoint=URL` and `cdn=URL` on stdout once it listens (`static` prints
//! `endpoint=URL`), then runs until SIGINT or SIGTERM. `generate xet-upgrade` prints what the
//! second revision changed, as one JSON object (the benchmark's reference).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hfdl_mock_hub::{Fixtures, MockHub, RepoType, ServerOptions, StaticServer, generate};

#[derive(Parser)]
#[command(
    name = "hfdl-mock-hub",
    version,
    about = "A local Hugging Face Hub for tests and benchmarks"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a fixture directory.
    Serve(ServeArgs),
    /// Serve the files of a directory as a plain static server (`GET /path/in/dir`): the
    /// benchmark's baseline for the same bytes without the Hub protocol.
    Static {
        /// The directory to serve.
        #[arg(long)]
        dir: PathBuf,
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Write fixture repos into a directory (created if missing).
    Generate {
        /// The fixture directory.
        #[arg(long)]
        out: PathBuf,
        #[command(subcommand)]
        what: Generate,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// The fixture directory to serve.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Hub port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// CDN port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    cdn_port: u16,
    /// Tree listing page size.
    #[arg(long, default_value_t = 1000)]
    page_size: usize,
    /// Serve regular files directly instead of the Hub's 307 to /api/resolve-cache.
    #[arg(long)]
    no_regular_redirect: bool,
}

#[derive(Subcommand)]
enum Generate {
    /// The repos models.example.toml refers to.
    Demo,
    /// A repo with N large weight files and some small config files.
    Repo {
        #[arg(long)]
        id: String,
        /// model, dataset or space.
        #[arg(long, default_value = "model")]
        r#type: String,
        /// Number of weight files.
        #[arg(long, default_value_t = 1)]
        files: usize,
        /// Size of each weight file (e.g. 1GiB, 300MB).
        #[arg(long, default_value = "100MiB")]
        size: String,
        /// Number of small json/tokenizer files.
        #[arg(long, default_value_t = 5)]
        small: usize,
    },
    /// A repo of many small regular files.
    ManySmall {
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Approximate size of each file in bytes.
        #[arg(long, default_value_t = 2048)]
        file_size: usize,
    },
    /// A Xet-backed model repo with two revisions, tags v1 and v2 (= main): v2 overwrites
    /// --changed % of each weight file in evenly spaced regions. Prints, as JSON, the chunks and
    /// bytes v2 adds to the CAS (what an upgrade that reuses v1's chunks has to fetch).
    XetUpgrade {
        #[arg(long)]
        id: String,
        /// Number of weight files.
        #[arg(long, default_value_t = 2)]
        files: usize,
        /// Total size of the weight files (e.g. 2GiB), split evenly between them.
        #[arg(long, default_value = "2GiB")]
        size: String,
        /// Percent of each weight file that v2 overwrites.
        #[arg(long, default_value_t = 10.0)]
        changed: f64,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOCK_HUB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
        Some(Command::Static { dir, port }) => serve_static(&dir, port),
        Some(Command::Generate { out, what }) => generate_into(&out, what),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "hfdl-mock-hub: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let dir = args.fixtures.ok_or(
        "--fixtures DIR is required (create one with `hfdl-mock-hub generate --out DIR demo`)",
    )?;
    let fixtures = Fixtures::open(&dir).map_err(|e| e.to_string())?;
    let options = ServerOptions {
        page_size: args.page_size,
        port: args.port,
        cdn_port: args.cdn_port,
        regular_file_redirect: !args.no_regular_redirect,
        ..ServerOptions::default()
    };
    let hub = MockHub::start_with(fixtures, options).map_err(|e| format!("cannot listen: {e}"))?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "endpoint={}\ncdn={}",
        hub.endpoint(),
        hub.cdn_origin()
    )
    .and_then(|()| stdout.flush())
    .map_err(|e| e.to_string())?;
    hub.wait_for_signal().map_err(|e| e.to_string())
}

fn serve_static(dir: &std::path::Path, port: u16) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let server = StaticServer::start(dir, port).map_err(|e| format!("cannot listen: {e}"))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "endpoint={}", server.endpoint())
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())?;
    server.wait_for_signal().map_err(|e| e.to_string())
}

fn generate_into(out: &std::path::Path, what: Generate) -> Result<(), String> {
    let fixtures = Fixtures::create(out).map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout();
    let summary = match what {
        Generate::Demo => {
            generate::demo(&fixtures).map_err(|e| e.to_string())?;
            format!("demo repos written; demo token: {}", generate::DEMO_TOKEN)
        }
        Generate::Repo {
            id,
            r#type,
            files,
            size,
            small,
        } => {
            let repo_type = RepoType::ALL
                .into_iter()
                .find(|t| t.as_str() == r#type)
                .ok_or_else(|| {
                    format!(
                        "unknown repo type {:?} (use model, dataset or space)",
                        &r#type
                    )
                })?;
            let size = generate::parse_size(&size)?;
            let commit = generate::repo(&fixtures, repo_type, &id, files, size, small)
                .map_err(|e| e.to_string())?;
            format!("{id}: {files} × {size} bytes + {small} small files at {commit}")
        }
        Generate::ManySmall {
            id,
            count,
            file_size,
        } => {
            let commit = generate::many_small(&fixtures, &id, count, file_size)
                .map_err(|e| e.to_string())?;
            format!("{id}: {count} files at {commit}")
        }
        Generate::XetUpgrade {
            id,
            files,
            size,
            changed,
        } => {
            let size = generate::parse_size(&size)?;
            let made = generate::xet_upgrade(&fixtures, &id, files, size, changed)
                .map_err(|e| e.to_string())?;
            serde_json::to_string(&made).map_err(|e| e.to_string())?
        }
    };
    writeln!(stdout, "{summary}").map_err(|e| e.to_string())
}
