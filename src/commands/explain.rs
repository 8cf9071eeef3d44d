//! `hfdl explain [CODE]`: the help page of an error code (the `code` of a `--json` error), like
//! `rustc --explain`; without a code, every code with its one-line summary.

use super::Context;
use crate::cli::ExplainArgs;
use crate::error::{Error, Result};
use crate::explain;

/// Prints the page of `args.code` (Markdown, as written in `src/explain/`), or the list.
pub fn run(ctx: &Context, args: &ExplainArgs) -> Result<()> {
    let Some(code) = &args.code else {
        return list(ctx);
    };
    let Some(text) = explain::explain(code) else {
        return Err(unknown(code));
    };
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "code": code, "text": text }));
    }
    ctx.print_data(text)
}

/// Every code and its summary: a table for people, `{"codes": [{code, summary}]}` for programs.
fn list(ctx: &Context) -> Result<()> {
    let summaries: Vec<(&str, &str)> = explain::codes()
        .map(|code| (code, explain::summary(code).unwrap_or_default()))
        .collect();
    if ctx.json {
        let codes: Vec<serde_json::Value> = summaries
            .iter()
            .map(|(code, summary)| serde_json::json!({ "code": code, "summary": summary }))
            .collect();
        return ctx.print_json(&serde_json::json!({ "codes": codes }));
    }
    let width = summaries
        .iter()
        .map(|(code, _)| code.len())
        .max()
        .unwrap_or(0);
    let lines: Vec<String> = summaries
        .iter()
        .map(|(code, summary)| format!("{code:width$}  {summary}"))
        .collect();
    ctx.print_data(&lines.join("\n"))
}

/// A code hfdl does not have: a usage error that suggests the closest code (`disk_full` →
/// `disk-full`) and lists them all, so the next try is the right one.
fn unknown(code: &str) -> Error {
    let codes: Vec<&str> = explain::codes().collect();
    let codes_are = match crate::manifest::diagnostics::suggest(code, &codes) {
        Some(close) => format!("did you mean `{close}`? The codes are"),
        None => "the codes are".to_owned(),
    };
    Error::Usage {
        message: format!("unknown error code `{code}`"),
        help: format!(
            "{codes_are}: {} (`hfdl explain` lists them with a summary)",
            codes.join(", ")
        ),
    }
}
