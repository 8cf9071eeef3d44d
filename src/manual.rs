//! Generated documentation: the man pages (`man/`) and the guide's reference pages
//! (`docs/src/reference/`), made from the clap command line and the JSON Schemas, so that
//! neither can drift from the binary. A test (tests/it/manual.rs) compares the committed files
//! with what this module generates, like the schemas.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::CommandFactory as _;
use serde_json::Value;

use crate::cli::Cli;
use crate::schema;

/// Where the man pages are committed (and where packaging takes them from).
pub const MAN_DIR: &str = "man";
/// Where the guide's generated reference pages are committed.
pub const REFERENCE_DIR: &str = "docs/src/reference";

/// The column width of generated help text (clap otherwise asks the terminal).
const WIDTH: usize = 100;

/// Every generated file: its path relative to the repository root and its exact text.
pub fn generated_files() -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = man_pages()
        .into_iter()
        .map(|(name, text)| (PathBuf::from(MAN_DIR).join(name), text))
        .collect();
    files.push((
        PathBuf::from(REFERENCE_DIR).join("commands.md"),
        command_reference(),
    ));
    files.push((
        PathBuf::from(REFERENCE_DIR).join("files.md"),
        file_reference(),
    ));
    files
}

/// The command line with every subcommand's globals and display names filled in.
fn built_command() -> clap::Command {
    let mut command = Cli::command()
        .disable_help_subcommand(true)
        .term_width(WIDTH);
    command.build();
    command
}

/// The visible commands, depth first, each with its name as typed (`hfdl config set`).
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(typed: &str, command: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        out.push((typed.to_owned(), command.clone()));
        for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            walk(&format!("{typed} {}", sub.get_name()), sub, out);
        }
    }
    let mut out = Vec::new();
    let command = built_command();
    walk(command.get_name(), &command, &mut out);
    out
}

/// One man page per command (`hfdl.1`, `hfdl-sync.1`, `hfdl-config-set.1`, …), in roff.
pub fn man_pages() -> Vec<(String, String)> {
    commands()
        .into_iter()
        .map(|(_, command)| {
            let man = clap_mangen::Man::new(command).manual("hfdl manual");
            let mut roff = Vec::new();
            man.render(&mut roff)
                .unwrap_or_else(|e| unreachable!("rendering into a Vec cannot fail: {e}"));
            (
                man.get_filename(),
                String::from_utf8_lossy(&roff).into_owned(),
            )
        })
        .collect()
}

/// The guide's command reference: every command's `--help`, as the binary prints it.
pub fn command_reference() -> String {
    let mut text = String::from(
        "<!-- Generated from the command line (src/cli.rs) by src/manual.rs: do not edit.\n     \
         Regenerate with `HFDL_UPDATE_GENERATED=1 cargo nextest run -E 'test(/manual/)'`. -->\n\n\
         # Commands\n\n\
         Every command's `--help`, exactly as `hfdl` prints it. `man hfdl-<command>` shows the \
         same as a man page.\n",
    );
    for (name, mut command) in commands() {
        let help = command.render_long_help().to_string();
        let _ = write!(text, "\n## `{name}`\n\n```text\n{}\n```\n", help.trim_end());
    }
    text
}

/// The guide's file format reference: every key of models.toml, models.lock and config.toml,
/// from the JSON Schemas in `schemas/`.
pub fn file_reference() -> String {
    let mut text = String::from(
        "<!-- Generated from the JSON Schemas (src/schema.rs) by src/manual.rs: do not edit.\n     \
         Regenerate with `HFDL_UPDATE_GENERATED=1 cargo nextest run -E 'test(/manual/)'`. -->\n\n\
         # File formats\n\n\
         The three files hfdl reads, key by key. The same descriptions are in the JSON Schemas \
         in `schemas/` (editors that know Taplo or `#:schema` complete and check the keys).\n",
    );
    let files = [
        (
            "models.toml",
            schema::MANIFEST_SCHEMA_FILE,
            schema::manifest_schema(),
        ),
        (
            "models.lock",
            schema::LOCK_SCHEMA_FILE,
            schema::lock_schema(),
        ),
        (
            "config.toml",
            schema::CONFIG_SCHEMA_FILE,
            schema::config_schema(),
        ),
    ];
    for (title, schema_file, schema) in files {
        let _ = write!(
            text,
            "\n## `{title}`\n\n{}\n\nSchema: `schemas/{schema_file}`.\n\n\
             | key | type | description |\n| --- | --- | --- |\n",
            description(&schema)
        );
        let mut rows = Vec::new();
        key_rows(&schema, "", &mut rows);
        for (key, kind, about) in rows {
            let _ = writeln!(text, "| `{key}` | {kind} | {} |", table_cell(&about));
        }
    }
    text
}

fn description(schema: &Value) -> String {
    schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The rows of an object schema's keys, nested keys with a dotted path (`models.<name>.repo`,
/// `model[].files[].path`).
fn key_rows(schema: &Value, prefix: &str, rows: &mut Vec<(String, String, String)>) {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (key, property) in properties {
            let path = format!("{prefix}{key}");
            let mut about = description(property);
            if required.contains(&key.as_str()) && !about.starts_with("Required") {
                about = format!("Required. {about}");
            }
            if let Some(default) = property.get("default") {
                if !about.is_empty() && !about.ends_with('.') {
                    about.push('.');
                }
                let _ = write!(about, " Default: `{default}`.");
            }
            rows.push((path.clone(), type_of(property), about.trim().to_owned()));
            nested_rows(property, &path, rows);
        }
    }
}

/// Recurses into a table of tables (`additionalProperties`) or an array of tables (`items`).
fn nested_rows(property: &Value, path: &str, rows: &mut Vec<(String, String, String)>) {
    if let Some(entry) = property
        .get("additionalProperties")
        .filter(|entry| entry.is_object())
    {
        key_rows(entry, &format!("{path}.<name>."), rows);
    }
    if let Some(items) = property
        .get("items")
        .filter(|items| items.get("properties").is_some())
    {
        key_rows(items, &format!("{path}[]."), rows);
    }
}

/// A short type: `string`, `integer`, `array of string`, `table`, `"model" \| "dataset"`.
fn type_of(schema: &Value) -> String {
    if let Some(choices) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        let consts: Vec<String> = choices
            .iter()
            .filter_map(|choice| choice.get("const"))
            .map(|value| format!("`{value}`"))
            .collect();
        if consts.len() == choices.len() && !consts.is_empty() {
            return consts.join(" \\| ");
        }
        let kinds: Vec<String> = choices
            .iter()
            .map(type_of)
            .filter(|kind| !kind.is_empty())
            .collect();
        if !kinds.is_empty() {
            return kinds.join(" or ");
        }
    }
    match schema.get("type") {
        Some(Value::String(kind)) => match kind.as_str() {
            "object" => "table".to_owned(),
            "array" => match schema.get("items").map(type_of) {
                Some(items) if items == "table" => "array of tables".to_owned(),
                Some(items) if !items.is_empty() => format!("array of {items}"),
                _ => "array".to_owned(),
            },
            other => other.to_owned(),
        },
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    }
}

/// Text made safe for one cell of a Markdown table.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_has_a_man_page() {
        let names: Vec<String> = man_pages().into_iter().map(|(name, _)| name).collect();
        for expected in [
            "hfdl.1",
            "hfdl-sync.1",
            "hfdl-config-set.1",
            "hfdl-completions.1",
        ] {
            assert!(
                names.contains(&expected.to_owned()),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|name| name.starts_with("hfdl-help")));
    }

    #[test]
    fn nested_keys_get_dotted_paths() {
        let reference = file_reference();
        assert!(
            reference.contains("| `models.<name>.repo` | string |"),
            "{reference}"
        );
        assert!(
            reference.contains("| `model[].files[].path` | string |"),
            "{reference}"
        );
    }
}
