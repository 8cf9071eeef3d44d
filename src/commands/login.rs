//! `hfdl login`: reads a token (hidden prompt or `--token-stdin`, never a visible argument),
//! checks it with `whoami-v2`, then keeps it in the OS keyring, or in the HF token file with
//! `--no-keyring` or when no keyring answers. Nothing is stored when the Hub refuses the token.

use std::io::{IsTerminal as _, Read as _};

use super::Context;
use crate::cli::LoginArgs;
use crate::error::{Error, Result};
use crate::hub::auth::{self, Token};
use crate::hub::keyring::Keyring;
use crate::render;

/// Where the token ended up.
enum Stored {
    Keyring(Keyring),
    File(std::path::PathBuf),
}

pub async fn run(ctx: &Context, project: &crate::ops::Project, args: &LoginArgs) -> Result<()> {
    let settings = &project.settings();
    let endpoint = &settings.endpoint;
    let token = read_token(args)?;
    if token.expose().starts_with("api_org") {
        return Err(Error::Usage {
            message: "organisation API tokens cannot be used to log in".into(),
            help: "create a user access token at https://huggingface.co/settings/tokens".into(),
        });
    }

    let me = settings
        .hub_client_with_token(Some(token.clone()))
        .whoami()
        .await?;

    let stored = if args.no_keyring {
        None
    } else {
        match Keyring::detect(&settings.env) {
            Ok(keyring) => match keyring.set(endpoint, &token) {
                Ok(()) => Some(Stored::Keyring(keyring)),
                Err(error) => {
                    warn(ctx, &format!("{error}; using the token file instead"));
                    None
                }
            },
            Err(reason) => {
                warn(
                    ctx,
                    &format!("no OS keyring ({reason}); using the token file instead"),
                );
                None
            }
        }
    };
    let stored = if let Some(stored) = stored {
        stored
    } else {
        let path = auth::token_file_path(&settings.env);
        auth::write_token_file(&path, &token).map_err(Error::io(&path))?;
        Stored::File(path)
    };

    if let Stored::Keyring(keyring) = &stored
        && keyring.backend() == crate::hub::keyring::Backend::Kernel
    {
        warn(
            ctx,
            "the kernel keyring keeps the token while it is used and forgets it at reboot; `hfdl login --no-keyring` keeps it in the token file instead",
        );
    }
    let overridden = [crate::env::HF_TOKEN, crate::env::HUGGING_FACE_HUB_TOKEN]
        .into_iter()
        .find(|name| settings.env.get(name).is_some());
    if let Some(name) = overridden {
        warn(
            ctx,
            &format!("{name} is set in the environment and is used before the stored token"),
        );
    }

    if ctx.json {
        let (store, backend, path) = match &stored {
            Stored::Keyring(keyring) => ("keyring", Some(keyring.backend().as_str()), None),
            Stored::File(path) => ("token-file", None, Some(path.clone())),
        };
        return ctx.print_json(&serde_json::json!({
            "endpoint": endpoint,
            "user": me.name,
            "orgs": me.org_names(),
            "token_name": me.token_name(),
            "role": me.token_role(),
            "stored_in": store,
            "keyring": backend,
            "path": path,
        }));
    }
    let place = match &stored {
        Stored::Keyring(keyring) => keyring.backend().to_string(),
        Stored::File(path) => format!("the token file {}", path.display()),
    };
    ctx.status(&format!(
        "Logged in to {endpoint} as {} (token `{}`, {}); the token is kept in {place}",
        me.name,
        me.token_name().unwrap_or("unnamed"),
        me.token_role().unwrap_or("unknown role"),
    ));
    Ok(())
}

/// The token from standard input or a hidden prompt on the terminal.
fn read_token(args: &LoginArgs) -> Result<Token> {
    let raw = if args.token_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(Error::io("<stdin>"))?;
        text
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(
            "Hugging Face access token (input hidden; create one at https://huggingface.co/settings/tokens): ",
        )
        .map_err(Error::io("<terminal>"))?
    } else {
        return Err(Error::Usage {
            message: "no terminal to ask for the token on".into(),
            help: "pipe it in: `printf %s \"$TOKEN\" | hfdl login --token-stdin`".into(),
        });
    };
    Token::new(&raw).ok_or_else(|| Error::Usage {
        message: "the token is empty".into(),
        help: "paste a token from https://huggingface.co/settings/tokens".into(),
    })
}

fn warn(ctx: &Context, text: &str) {
    if !ctx.quiet {
        render::progress::status_line(&format!("warning: {text}"));
    }
}
