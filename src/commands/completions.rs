//! `hfdl completions SHELL`: the shell's completion script.
//!
//! The script is clap_complete's dynamic registration: at each `<TAB>` the shell runs `hfdl` with
//! [`env::HFDL_COMPLETE`] set, and `main.rs` answers with the candidates before parsing
//! anything. So completions follow the installed binary (no stale script after an upgrade) and
//! can offer the model names of the current directory's models.toml.

use clap_complete::env::Shells;

use super::Context;
use crate::cli::CompletionsArgs;
use crate::env;
use crate::error::{Error, Result};

/// The program the script runs at each `<TAB>`: `hfdl` as found on `PATH`, so a script written
/// once (or shipped in a package) keeps working wherever hfdl is installed.
const COMPLETER: &str = "hfdl";

pub fn run(context: &Context, args: &CompletionsArgs) -> Result<()> {
    let shells = Shells::builtins();
    let shell = shells
        .completer(args.shell.name())
        .expect("clap_complete knows every shell of cli::Shell");
    let mut script = Vec::new();
    shell
        .write_registration(env::HFDL_COMPLETE, "hfdl", "hfdl", COMPLETER, &mut script)
        .map_err(Error::io("<completion script>"))?;
    context.print_data(&String::from_utf8_lossy(&script))
}
