//! `hfdl export -o FILE`: the project's models.lock and exactly the files it pins, as one tar
//! file for a machine without network access.

use std::io::IsTerminal as _;
use std::path::Path;

use super::Context;
use crate::cli::ExportArgs;
use crate::error::{Error, Result};
use crate::ops::Project;
use crate::ops::bundle::ExportOptions;
use crate::render;

/// Writes the bundle (to a file, or to stdout with `-o -`) and says what it holds.
pub fn run(ctx: &Context, project: &Project, args: &ExportArgs) -> Result<()> {
    let options = ExportOptions {
        cancel: Some(ctx.cancel.clone()),
    };
    let report = if args.output == Path::new("-") {
        if ctx.json {
            return Err(Error::Usage {
                message: "--json and `-o -` both write to standard output".into(),
                help: "write the bundle to a file (`-o models.tar`), or leave out --json".into(),
            });
        }
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            return Err(Error::Usage {
                message: "refusing to write a tar archive to a terminal".into(),
                help: "redirect standard output (`hfdl export -o - > models.tar`, or into a pipe), or use `-o models.tar`".into(),
            });
        }
        project.export_to(
            stdout.lock(),
            Path::new("<stdout>"),
            &options,
            ctx.reporter.as_ref(),
        )?
    } else {
        project.export(&args.output, &options, ctx.reporter.as_ref())?
    };
    if ctx.json {
        return ctx.print_report(&report);
    }
    ctx.status(&render::bundle::export(&report));
    Ok(())
}
