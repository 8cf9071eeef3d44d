//! Edits of `models.toml` that keep the user's comments and formatting.
//!
//! `hfdl add` and `hfdl remove` rewrite a file people also edit by hand, so they go through
//! `toml_edit::DocumentMut`: everything not touched (comments, blank lines, key order, quoting)
//! comes out byte for byte as it went in. A new entry goes right after the last existing entry,
//! so it never lands inside or after `[settings]`.

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::{DEFAULT_REVISION, ModelSpec, is_valid_name};
use crate::repo::{RepoId, RepoType};

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The text is not valid TOML.
    #[error("the manifest is not valid TOML: {message}")]
    Parse {
        /// The parser's explanation.
        message: String,
    },
    /// `[models.NAME]` already exists.
    #[error("the manifest already has an entry named `{name}` ([models.{name}])")]
    AlreadyExists {
        /// The entry name asked for.
        name: String,
    },
    /// There is no `[models.NAME]` to remove.
    #[error("the manifest has no entry named `{name}`{}", known_names(.known))]
    NotFound {
        /// The entry name asked for.
        name: String,
        /// The names that do exist, for the message.
        known: Vec<String>,
    },
    /// The name cannot be a manifest entry name.
    #[error("`{name}` is not a valid entry name: use letters, digits, `_`, `.` and `-`")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// `models` exists but is not a table.
    #[error("`models` in the manifest is not a table; write entries as [models.NAME]")]
    NotATable,
}

fn known_names(known: &[String]) -> String {
    if known.is_empty() {
        " (it has no entries)".to_owned()
    } else {
        format!(" (entries: {})", known.join(", "))
    }
}

/// The commented `models.toml` that `hfdl init` writes. It parses to a manifest with no entries.
pub fn init_template() -> String {
    r#"# models.toml: the Hugging Face Hub repositories this project needs.
#
# `hfdl sync` downloads them into the standard Hugging Face cache (so transformers and
# sentence-transformers find them, offline too) and pins the exact files in models.lock.
# Commit both files. Add an entry with `hfdl add REPO[@REVISION]`, or write one by hand:
#
# [models.minilm]                       # the entry's name: `hfdl path minilm`
# repo = "sentence-transformers/all-MiniLM-L6-v2"   # required: `namespace/name` on the Hub
# repo-type = "model"                   # model (default) | dataset | space
# revision = "main"                     # branch, tag, "refs/pr/N" or 40-hex commit; default "main"
# include = ["*.json", "*.safetensors"] # fnmatch patterns (`*` crosses `/`); default: every file
# exclude = ["onnx/*"]                  # exclude wins over include; a trailing `/` means a folder
# dir = "models/minilm"                 # also materialise as a plain directory of real files
#
# Optional project settings (same keys as config.toml; flags and HFDL_* variables win):
#
# [settings]
# store = "~/.cache/huggingface/hub"    # the Hugging Face cache to use
# endpoint = "https://huggingface.co"
# jobs = 8                              # files downloaded in parallel
# connections = 4                       # connections per large file
# limit-rate = "50M"                    # bytes per second (K, M, G)
# timeout = "30s"                       # stall timeout
# retries = 4
# progress = true
# log-level = "info"                    # off | error | warn | info | debug | trace
# log-format = "text"                   # text | json
"#
    .to_owned()
}

/// Appends a `[models.NAME]` table for `spec` to `text`, keeping everything else as it is.
///
/// Only what differs from the defaults is written: `repo-type` unless it is a model, `revision`
/// unless it is `main`, `include`/`exclude` when non-empty, `dir` when set, the policy
/// exceptions (`allow`, `license`) when there are some.
pub fn add_model(text: &str, spec: &ModelSpec) -> Result<String, EditError> {
    if !is_valid_name(&spec.name) {
        return Err(EditError::InvalidName {
            name: spec.name.clone(),
        });
    }
    let mut document = parse(text)?;
    let mut entry = Table::new();
    entry.insert("repo", Item::Value(spec.repo.as_str().into()));
    if spec.repo_type != RepoType::Model {
        entry.insert("repo-type", Item::Value(spec.repo_type.as_str().into()));
    }
    if spec.revision != DEFAULT_REVISION {
        entry.insert("revision", Item::Value(spec.revision.as_str().into()));
    }
    for (key, patterns) in [("include", &spec.include), ("exclude", &spec.exclude)] {
        if !patterns.is_empty() {
            let array: Array = patterns.iter().map(String::as_str).collect();
            entry.insert(key, Item::Value(Value::Array(array)));
        }
    }
    if let Some(dir) = &spec.dir {
        // Forward slashes, so the file means the same on every platform.
        let dir = dir.to_string_lossy().replace('\\', "/");
        entry.insert("dir", Item::Value(dir.into()));
    }
    if !spec.exceptions.allow.is_empty() {
        let array: Array = spec.exceptions.allow.iter().map(|r| r.as_str()).collect();
        entry.insert("allow", Item::Value(Value::Array(array)));
    }
    match spec.exceptions.licenses.as_slice() {
        [] => {}
        [one] => {
            entry.insert("license", Item::Value(one.as_str().into()));
        }
        several => {
            let array: Array = several.iter().map(String::as_str).collect();
            entry.insert("license", Item::Value(Value::Array(array)));
        }
    }

    // Where the new table goes: right after the last table of the document that belongs to
    // `models`; for the first model, just before `[settings]` (settings stay last); else at the
    // end.
    let last_model_position = document
        .get("models")
        .and_then(Item::as_table)
        .and_then(max_position);
    let settings_position = document
        .get("settings")
        .and_then(Item::as_table)
        .and_then(Table::position);
    let end_position = max_position(document.as_table()).unwrap_or(0);
    let position = match (last_model_position, settings_position) {
        (Some(last), _) => last + 1,
        (None, Some(settings)) => settings,
        (None, None) => end_position + 1,
    };
    let at_end = position > end_position;
    shift_positions(document.as_table_mut(), position);
    entry.set_position(Some(position));

    let trailing = document.trailing().as_str().unwrap_or_default().to_owned();
    if let (None, Some(settings_at)) = (last_model_position, settings_position) {
        // The first model goes before `[settings]`. Comments above `[settings]` that are
        // separated from it by a blank line are the file's header and stay on top; the ones
        // right above it stay with it, under a blank line.
        let root = document.as_table();
        let anything_before = root.iter().any(|(key, item)| {
            key != "settings"
                && (item.is_value()
                    || item
                        .as_table()
                        .and_then(max_position)
                        .is_some_and(|p| p < settings_at))
        });
        if let Some(settings) = document.get_mut("settings").and_then(Item::as_table_mut) {
            let prefix = settings
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or_default()
                .to_owned();
            let (header, attached) = match prefix.rfind("\n\n") {
                Some(blank) if !anything_before => prefix.split_at(blank + 2),
                _ => ("", prefix.as_str()),
            };
            entry.decor_mut().set_prefix(if anything_before {
                "\n".to_owned()
            } else {
                header.to_owned()
            });
            let attached = attached.trim_start_matches('\n');
            settings.decor_mut().set_prefix(format!("\n{attached}"));
        }
    } else if at_end && !trailing.trim().is_empty() {
        // Comments at the end of the file come before the new table, as in the text.
        let mut prefix = trailing;
        if !prefix.ends_with('\n') {
            prefix.push('\n');
        }
        prefix.push('\n');
        entry.decor_mut().set_prefix(prefix);
        document.set_trailing("");
    } else if !document.as_table().is_empty() || !trailing.trim().is_empty() {
        entry.decor_mut().set_prefix("\n");
    }

    let models = document.entry("models").or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    match models {
        Item::Table(models) => {
            if models.contains_key(&spec.name) {
                return Err(EditError::AlreadyExists {
                    name: spec.name.clone(),
                });
            }
            models.insert(&spec.name, Item::Table(entry));
        }
        Item::Value(Value::InlineTable(models)) => {
            if models.contains_key(&spec.name) {
                return Err(EditError::AlreadyExists {
                    name: spec.name.clone(),
                });
            }
            models.insert(&spec.name, Value::InlineTable(entry.into_inline_table()));
        }
        _ => return Err(EditError::NotATable),
    }
    let mut out = document.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// Removes `[models.NAME]` (and the comments right above its header) from `text`.
pub fn remove_model(text: &str, name: &str) -> Result<String, EditError> {
    let mut document = parse(text)?;
    let models = document
        .get_mut("models")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::NotFound {
            name: name.to_owned(),
            known: Vec::new(),
        })?;
    if models.remove(name).is_none() {
        return Err(EditError::NotFound {
            name: name.to_owned(),
            known: models.iter().map(|(key, _)| key.to_owned()).collect(),
        });
    }
    Ok(document.to_string())
}

/// A short entry name for `repo`: its name lower-cased (`all-minilm-l6-v2`); when that is taken,
/// `namespace-name`; when that is taken too, `-2`, `-3`, … appended.
pub fn derive_name(repo: &RepoId, existing: &[&str]) -> String {
    let taken = |candidate: &str| existing.contains(&candidate);
    let short = repo.name().to_lowercase();
    if !taken(&short) {
        return short;
    }
    let base = match repo.namespace() {
        Some(namespace) => format!("{}-{short}", namespace.to_lowercase()),
        None => short,
    };
    if !taken(&base) {
        return base;
    }
    // Among existing.len() + 1 suffixes at least one is free.
    (2..existing.len() + 3)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or(base)
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>().map_err(|e| EditError::Parse {
        message: e
            .message()
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("cannot parse the file")
            .to_owned(),
    })
}

/// The largest document position among `table` and the tables nested in it.
fn max_position(table: &Table) -> Option<isize> {
    let mut max = table.position();
    for (_, item) in table {
        let nested = match item {
            Item::Table(child) => max_position(child),
            Item::ArrayOfTables(array) => array.iter().filter_map(max_position).max(),
            _ => None,
        };
        max = max.max(nested);
    }
    max
}

/// Moves every table at `from` or later one position down, to make room at `from`.
fn shift_positions(table: &mut Table, from: isize) {
    if let Some(position) = table.position()
        && position >= from
    {
        table.set_position(Some(position + 1));
    }
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(child) => shift_positions(child, from),
            Item::ArrayOfTables(array) => {
                for child in array.iter_mut() {
                    shift_positions(child, from);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn spec(name: &str, repo: &str) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            repo: RepoId::parse(repo).unwrap(),
            repo_type: RepoType::Model,
            revision: "main".into(),
            include: vec![],
            exclude: vec![],
            dir: None,
            exclude_newer: None,
            cooldown: None,
            exceptions: crate::manifest::policy::Exceptions::default(),
        }
    }

    fn parsed(text: &str) -> manifest::Manifest {
        manifest::parse(std::path::Path::new("models.toml"), text)
            .unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
    }

    #[test]
    fn the_template_parses_to_an_empty_manifest() {
        let manifest = parsed(&init_template());
        assert!(manifest.models.is_empty());
        assert_eq!(manifest.settings, manifest::ManifestSettings::default());
    }

    #[test]
    fn every_commented_key_of_the_template_is_valid() {
        // Uncommenting the example must give a valid manifest.
        let mut uncommented = String::new();
        for line in init_template().lines().filter_map(|l| l.strip_prefix("# ")) {
            let is_key = line
                .split_once(" = ")
                .is_some_and(|(key, _)| !key.contains(' '));
            if line.starts_with('[') || is_key {
                uncommented.push_str(line);
                uncommented.push('\n');
            }
        }
        let manifest = parsed(&uncommented);
        assert_eq!(manifest.models.len(), 1);
        assert_eq!(manifest.settings.jobs, Some(8));
        assert_eq!(manifest.settings.log_format.as_deref(), Some("text"));
    }

    #[test]
    fn adding_to_the_template_keeps_its_comments_first() {
        let text = add_model(&init_template(), &spec("gpt2", "openai-community/gpt2")).unwrap();
        assert!(text.starts_with(&init_template()), "{text}");
        assert!(
            text.ends_with("\n[models.gpt2]\nrepo = \"openai-community/gpt2\"\n"),
            "{text}"
        );
        assert_eq!(
            parsed(&text).models["gpt2"].repo.as_str(),
            "openai-community/gpt2"
        );
    }

    #[test]
    fn adding_writes_only_non_default_keys() {
        let mut full = spec("squad", "rajpurkar/squad");
        full.repo_type = RepoType::Dataset;
        full.revision = "refs/pr/1".into();
        full.include = vec!["*.json".into(), "data/".into()];
        full.exclude = vec!["*.bin".into()];
        full.dir = Some("data/squad".into());
        let text = add_model("", &full).unwrap();
        assert_eq!(
            text,
            "[models.squad]\nrepo = \"rajpurkar/squad\"\nrepo-type = \"dataset\"\n\
             revision = \"refs/pr/1\"\ninclude = [\"*.json\", \"data/\"]\nexclude = [\"*.bin\"]\n\
             dir = \"data/squad\"\n"
        );
        let manifest = parsed(&text);
        assert_eq!(manifest.models["squad"], full);
    }

    #[test]
    fn adding_keeps_comments_and_goes_before_settings() {
        let text = "\
# my models
[models.a]   # first
repo = 'org/a'  # single quotes stay

# settings below
[settings]
jobs = 2 # two
";
        let out = add_model(text, &spec("b", "org/b")).unwrap();
        assert_eq!(
            out,
            "\
# my models
[models.a]   # first
repo = 'org/a'  # single quotes stay

[models.b]
repo = \"org/b\"

# settings below
[settings]
jobs = 2 # two
"
        );
        let manifest = parsed(&out);
        assert_eq!(manifest.models.len(), 2);
        assert_eq!(manifest.settings.jobs, Some(2));
    }

    #[test]
    fn the_first_model_goes_before_settings_which_keep_their_comments() {
        let text = "[settings]\njobs = 2\n# trailing note\n";
        let out = add_model(text, &spec("a", "org/a")).unwrap();
        assert_eq!(
            out,
            "[models.a]\nrepo = \"org/a\"\n\n[settings]\njobs = 2\n# trailing note\n"
        );
        parsed(&out);
        let commented = "# my project\n\n# tuning\n[settings]\njobs = 2\n";
        let out = add_model(commented, &spec("a", "org/a")).unwrap();
        assert_eq!(
            out,
            "# my project\n\n[models.a]\nrepo = \"org/a\"\n\n# tuning\n[settings]\njobs = 2\n"
        );
        let then = add_model(&out, &spec("b", "org/b")).unwrap();
        assert!(
            then.find("[models.b]").unwrap() < then.find("[settings]").unwrap(),
            "{then}"
        );
        assert_eq!(parsed(&then).settings.jobs, Some(2));
    }

    #[test]
    fn adding_an_existing_name_fails() {
        let text = "[models.a]\nrepo = \"org/a\"\n";
        let error = add_model(text, &spec("a", "org/other")).unwrap_err();
        assert_eq!(error, EditError::AlreadyExists { name: "a".into() });
        assert!(error.to_string().contains("`a`"));
        let inline = "models = { a = { repo = \"org/a\" } }\n";
        assert!(matches!(
            add_model(inline, &spec("a", "org/a")),
            Err(EditError::AlreadyExists { .. })
        ));
        let added = add_model(inline, &spec("b", "org/b")).unwrap();
        assert_eq!(parsed(&added).models.len(), 2);
    }

    #[test]
    fn adding_a_dotted_name_quotes_it() {
        let out = add_model("", &spec("bert.v1", "org/bert")).unwrap();
        assert!(out.starts_with("[models.\"bert.v1\"]\n"), "{out}");
        assert!(parsed(&out).models.contains_key("bert.v1"));
        assert!(matches!(
            add_model("", &spec("a b", "org/bert")),
            Err(EditError::InvalidName { .. })
        ));
    }

    #[test]
    fn removing_keeps_everything_else() {
        let text = "\
# header comment
[models.a]
repo = \"org/a\" # keep me

[models.b]
repo = \"org/b\"

[settings]
jobs = 3
";
        let out = remove_model(text, "b").unwrap();
        assert_eq!(
            out,
            "# header comment\n[models.a]\nrepo = \"org/a\" # keep me\n\n[settings]\njobs = 3\n"
        );
        let out = remove_model(&out, "a").unwrap();
        assert_eq!(parsed(&out).models.len(), 0);
        assert!(out.contains("[settings]\njobs = 3"));
    }

    #[test]
    fn removing_an_unknown_name_lists_the_known_ones() {
        let text = "[models.a]\nrepo = \"org/a\"\n[models.b]\nrepo = \"org/b\"\n";
        let error = remove_model(text, "c").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the manifest has no entry named `c` (entries: a, b)"
        );
        let error = remove_model("", "c").unwrap_err();
        assert!(error.to_string().contains("no entries"), "{error}");
    }

    #[test]
    fn edits_refuse_invalid_toml() {
        assert!(matches!(
            add_model("[models.a\n", &spec("b", "org/b")),
            Err(EditError::Parse { .. })
        ));
        assert!(matches!(
            remove_model("= 1", "a"),
            Err(EditError::Parse { .. })
        ));
    }

    #[test]
    fn derived_names() {
        let repo = RepoId::parse("sentence-transformers/all-MiniLM-L6-v2").unwrap();
        assert_eq!(derive_name(&repo, &[]), "all-minilm-l6-v2");
        assert_eq!(
            derive_name(&repo, &["all-minilm-l6-v2"]),
            "sentence-transformers-all-minilm-l6-v2"
        );
        assert_eq!(
            derive_name(
                &repo,
                &["all-minilm-l6-v2", "sentence-transformers-all-minilm-l6-v2"]
            ),
            "sentence-transformers-all-minilm-l6-v2-2"
        );
        assert_eq!(
            derive_name(
                &repo,
                &[
                    "all-minilm-l6-v2",
                    "sentence-transformers-all-minilm-l6-v2",
                    "sentence-transformers-all-minilm-l6-v2-2"
                ]
            ),
            "sentence-transformers-all-minilm-l6-v2-3"
        );
        let bare = RepoId::parse("GPT2").unwrap();
        assert_eq!(derive_name(&bare, &[]), "gpt2");
        assert_eq!(derive_name(&bare, &["gpt2"]), "gpt2-2");
        assert!(is_valid_name(&derive_name(&repo, &[])));
    }
}
