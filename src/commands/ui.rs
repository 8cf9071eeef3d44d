//! `hfdl ui`: serves the local web app ([`crate::ui`]) on 127.0.0.1 until SIGINT or SIGTERM,
//! printing its secret URL as the first line on stdout and opening the browser there.

use std::net::{IpAddr, SocketAddr};

use super::Context;
use crate::cli::UiArgs;
use crate::env::{self, Env};
use crate::error::{Error, Result};
use crate::ops::OpenOptions;
use crate::render;
use crate::ui::{Server, UiOptions};

/// Binds, prints the URL, opens the browser (unless `--no-open` or there is no display) and
/// serves until the context's token is cancelled; then the running job is cancelled and the
/// error is [`Error::Cancelled`] (exit 130/143).
pub async fn run(ctx: &Context, project: OpenOptions, env: &Env, args: &UiArgs) -> Result<()> {
    let (listen, port) = listen_address(args)?;
    let server = Server::bind(UiOptions {
        project,
        listen,
        port,
    })
    .await?;
    // First, so a script (or a test) reads it from the first line.
    ctx.print_data(server.url())?;
    let speak = !ctx.quiet && !ctx.json;
    if listen.is_some_and(|ip| !ip.is_loopback()) {
        render::progress::status_line(&format!(
            "warning: listening on {}: other machines can reach hfdl ui there, over plain HTTP; \
             whoever has the URL's token controls hfdl on this machine",
            server
                .local_addr()
                .map_or_else(|| "--listen".to_owned(), |address| address.to_string())
        ));
    }
    let opened = !args.no_open && open_browser(server.url(), env);
    if speak {
        render::progress::status_line(if opened {
            "Opened the hfdl web app in your browser; Ctrl-C stops it"
        } else {
            "Open the URL above in a browser to use the hfdl web app; Ctrl-C stops it"
        });
    }
    server.serve(ctx.cancel.clone()).await
}

/// `--listen` and `--port` as an address and a port.
fn listen_address(args: &UiArgs) -> Result<(Option<IpAddr>, Option<u16>)> {
    let Some(text) = &args.listen else {
        return Ok((None, args.port));
    };
    if let Ok(address) = text.parse::<SocketAddr>() {
        if args.port.is_some_and(|port| port != address.port()) {
            return Err(Error::Usage {
                message: format!(
                    "--listen {text} and --port {} disagree",
                    args.port.unwrap_or(0)
                ),
                help: "give the port once: --listen IP --port N, or --listen IP:N".into(),
            });
        }
        return Ok((Some(address.ip()), Some(address.port())));
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok((Some(ip), args.port)),
        Err(_) => Err(Error::Usage {
            message: format!("--listen {text}: not an IP address or IP:PORT"),
            help: "e.g. --listen 192.168.1.10, --listen 0.0.0.0:8080 or --listen [::1]".into(),
        }),
    }
}

/// Opens `url` in the default browser (`open` on macOS, `xdg-open` elsewhere when there is a
/// display); whether a browser was started. Never fails the command.
fn open_browser(url: &str, env: &Env) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(unix) {
        if env.get(env::DISPLAY).is_none() && env.get(env::WAYLAND_DISPLAY).is_none() {
            return false;
        }
        "xdg-open"
    } else {
        return false;
    };
    let child = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            // Reaped in the background: the opener returns at once, or with the browser.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}
