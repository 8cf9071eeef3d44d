//! The user guide (`docs/`) says what hfdl does: every ```` ```console ```` block in
//! `docs/src/**/*.md` runs against the mock Hub with `trycmd`, and a changed output or exit code
//! fails the test. The Troubleshooting chapter includes every error code's explain page.
//!
//! Each page runs on its own: a fresh project directory, home, Hugging Face cache and hfdl state,
//! the commands of its blocks in order, as a reader would type them. trycmd needs the page next
//! to its `.in/` working directory, so the page is copied into a temp dir with one (rather than
//! leaving `.in/` folders inside the book); a failure names the copy, with the line numbers of
//! the page in `docs/src/`. `TRYCMD=overwrite` still works: the rewritten copy is written back
//! to `docs/src/`; review the diff (wildcards such as `[..]` are kept only on a best-effort
//! basis).
//!
//! In the pages, `[..]` stands for the part of a line that differs between runs (hashes,
//! timings, temp paths, ports) and `...` on a line of its own for lines that do (such as the
//! order in which parallel downloads finish).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hfdl_mock_hub::{FileChange, Fixtures, Gated, MockHub, RepoOptions, RepoType};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src")
}

/// The repos the guide's examples use, with their real names: the files of
/// `sentence-transformers/all-MiniLM-L6-v2` (the weights the guide downloads at a realistic
/// size, those its patterns leave out small, to keep the test fast), and a gated repo.
fn guide_fixtures(dir: &Path) -> Fixtures {
    let fixtures = Fixtures::create(dir).unwrap();
    let minilm = "sentence-transformers/all-MiniLM-L6-v2";
    fixtures
        .create_repo(RepoType::Model, minilm, RepoOptions::default())
        .unwrap();
    let regular = |path: &str, text: &str| FileChange::regular(path, text.as_bytes().to_vec());
    fixtures
        .commit(
            RepoType::Model,
            minilm,
            "main",
            "Initial commit",
            vec![
                regular(
                    ".gitattributes",
                    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
                ),
                regular("README.md", "---\nlicense: apache-2.0\n---\n# all-MiniLM-L6-v2\n"),
                regular(
                    "config.json",
                    r#"{"architectures": ["BertModel"], "hidden_size": 384, "num_hidden_layers": 6}"#,
                ),
                regular(
                    "tokenizer.json",
                    &format!(
                        "{{\"version\": \"1.0\", \"model\": {{\"vocab\": \"{}\"}}}}",
                        "t".repeat(40_000)
                    ),
                ),
                regular(
                    "tokenizer_config.json",
                    r#"{"do_lower_case": true, "model_max_length": 512}"#,
                ),
                regular(
                    "special_tokens_map.json",
                    r#"{"cls_token": "[CLS]", "sep_token": "[SEP]"}"#,
                ),
                regular("vocab.txt", &"[PAD]\n[UNK]\n[CLS]\n[SEP]\n".repeat(2_000)),
                regular(
                    "modules.json",
                    r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]"#,
                ),
                regular(
                    "sentence_bert_config.json",
                    r#"{"max_seq_length": 256, "do_lower_case": false}"#,
                ),
                regular(
                    "1_Pooling/config.json",
                    r#"{"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true}"#,
                ),
                FileChange::generated("model.safetensors", 22_700_000, 11),
                FileChange::generated("pytorch_model.bin", 100_000, 12),
                FileChange::generated("onnx/model.onnx", 100_000, 13),
            ],
        )
        .unwrap();
    let llama = "meta-llama/Llama-3.2-1B";
    fixtures
        .create_repo(
            RepoType::Model,
            llama,
            RepoOptions {
                private: false,
                gated: Gated::Manual,
            },
        )
        .unwrap();
    fixtures
        .commit(
            RepoType::Model,
            llama,
            "main",
            "Initial commit",
            vec![
                regular("config.json", r#"{"architectures": ["LlamaForCausalLM"]}"#),
                FileChange::generated("model.safetensors", 100_000, 21),
            ],
        )
        .unwrap();
    fixtures
}

/// The guide's pages (relative to `docs/src`) that have console blocks, sorted.
fn pages_with_console_blocks() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    let mut pending = vec![docs()];
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md")
                && fs_err::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .any(|line| line.trim_start().starts_with("```console"))
            {
                pages.push(path.strip_prefix(docs()).unwrap().to_path_buf());
            }
        }
    }
    pages.sort();
    pages
}

/// Variables of the test's own environment that the commands keep: how to find programs and
/// where coverage goes. Every other inherited variable is blanked (hfdl treats an empty
/// variable as unset), so a developer's `HF_TOKEN`, `HF_HUB_OFFLINE` or proxy cannot change an
/// example's output; trycmd has no way to clear the environment outright.
const KEPT: &[&str] = &["PATH", "LLVM_PROFILE_FILE", "RUST_BACKTRACE"];

/// Runs one page's console blocks against `hub`, in a directory of its own under `root`.
fn run_page(page: &Path, hub: &MockHub, root: &Path) {
    let name = page.to_string_lossy().replace('/', "--");
    let work = root.join(&name).with_extension("");
    let copy = work.join(&name);
    fs_err::create_dir_all(&work).unwrap();
    fs_err::copy(docs().join(page), &copy).unwrap();
    // The working directory of the page's commands: the reader's project.
    fs_err::create_dir_all(copy.with_extension("in")).unwrap();
    let home = work.join("home");
    let cases = trycmd::TestCases::new();
    cases
        .register_bin("hfdl", Path::new(env!("CARGO_BIN_EXE_hfdl")))
        .register_bin("cat", Path::new("/bin/cat"))
        .timeout(Duration::from_mins(1));
    #[allow(clippy::disallowed_methods)] // The test's own environment, to keep it out.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if !KEPT.contains(&key.as_str()) && !key.starts_with("CARGO_LLVM_COV") {
            cases.env(key, "");
        }
    }
    let path = |relative: &str| home.join(relative).display().to_string();
    cases
        .env("HOME", home.display().to_string())
        .env("HF_ENDPOINT", hub.endpoint())
        // The defaults under HOME, spelled out so that no other variable can move them.
        .env("HF_HOME", path(".cache/huggingface"))
        .env("HF_HUB_CACHE", path(".cache/huggingface/hub"))
        .env("HFDL_CACHE_DIR", path(".cache/hfdl"))
        .env("HFDL_CONFIG", path(".config/hfdl/config.toml"))
        // Examples never touch the developer's keyring.
        .env("HFDL_KEYRING", "none")
        .env("NO_COLOR", "1")
        .case(&copy);
    cases.run();
    #[allow(clippy::disallowed_methods)] // trycmd's own switch, read the way trycmd reads it.
    let overwrite = std::env::var_os("TRYCMD").is_some_and(|mode| mode == "overwrite");
    if overwrite {
        fs_err::copy(&copy, docs().join(page)).unwrap();
    }
}

#[test]
fn the_guides_console_examples_print_what_hfdl_prints() {
    let pages = pages_with_console_blocks();
    // The pages this test exists for; without them it would check nothing.
    for page in ["getting-started.md", "exit-codes.md"] {
        assert!(
            pages.contains(&PathBuf::from(page)),
            "docs/src/{page} has no console block: {pages:?}"
        );
    }
    let root = tempfile::tempdir().unwrap();
    let hub = MockHub::start(guide_fixtures(&root.path().join("fixtures"))).unwrap();
    // Every page runs, so one failure does not hide the next; trycmd has printed each diff.
    let failed: Vec<&PathBuf> = pages
        .iter()
        .filter(|page| std::panic::catch_unwind(|| run_page(page, &hub, root.path())).is_err())
        .collect();
    assert!(failed.is_empty(), "examples that differ: {failed:?}");
}

/// mdbook only logs a missing include and still exits 0 (scripts/docs fails on the log; this
/// test needs no mdbook).
#[test]
fn every_include_in_the_guide_names_a_file_that_exists() {
    let include = regex::Regex::new(r"\{\{#include ([^}:]+)(:[^}]*)?\}\}").unwrap();
    let mut pending = vec![docs()];
    let mut checked = 0;
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = fs_err::read_to_string(&path).unwrap();
            for found in include.captures_iter(&text) {
                let target = path.parent().unwrap().join(&found[1]);
                assert!(
                    target.is_file(),
                    "{}: {{{{#include {}}}}} does not exist",
                    path.display(),
                    &found[1]
                );
                checked += 1;
            }
        }
    }
    // The explain pages and the CI and Docker examples.
    assert!(
        checked > hfdl::explain::codes().count(),
        "{checked} includes"
    );
}

#[test]
fn troubleshooting_includes_the_explain_page_of_every_code() {
    let text = fs_err::read_to_string(docs().join("troubleshooting.md")).unwrap();
    let include =
        regex::Regex::new(r"\{\{#include \.\./\.\./src/explain/([a-z-]+)\.md(:\d*:?\d*)?\}\}")
            .unwrap();
    let included: Vec<&str> = include
        .captures_iter(&text)
        .map(|found| found.get(1).unwrap().as_str())
        .collect();
    let mut sorted = included.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), included.len(), "a code is included twice");
    let codes: Vec<&str> = hfdl::explain::codes().collect();
    assert_eq!(sorted, codes, "docs/src/troubleshooting.md vs hfdl explain");
    // Each section is headed by its code, so `#disk-full` links to it.
    for code in codes {
        assert!(
            text.contains(&format!("\n### {code}\n")),
            "docs/src/troubleshooting.md has no `### {code}` heading"
        );
    }
}
