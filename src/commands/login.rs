//! `hfdl login`: reads a token (hidden prompt or `--token-stdin`, never a visible argument),
//! checks it with `whoami-v2`, then keeps it in the OS keyring, or in the HF token file with
//! `--no-keyring` or when no keyring answers. Nothing is stored when the Hub refuses the token.

use std::io::{IsTerminal as _, Read as _};

use super::Context;
use crate::cli::LoginArgs;
use crate::error::{Error, Result};
use crate::hub::auth::Token;
use crate::ops::Project;
use crate::ops::account::LoginOptions;
use crate::render;

/// Runs `hfdl login`.
pub async fn run(ctx: &Context, project: &Project, args: &LoginArgs) -> Result<()> {
    let options = LoginOptions {
        token: read_token(args)?,
        no_keyring: args.no_keyring,
    };
    // Warnings go to stderr as plain `warning: …` lines, also with --json; only -q silences
    // them. They are printed as they happen, so they show even when the login then fails.
    let warnings = render::progress::reporter_for(if ctx.quiet {
        render::progress::Output::Silent
    } else {
        render::progress::Output::Lines { every: None }
    });
    let report = project.login(&options, warnings.as_ref()).await?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.status(&render::account::login(&report));
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
