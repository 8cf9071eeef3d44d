//! Fixture generators for the binary: a repo of N large weight files plus small config files,
//! a repo of many small files, and the demo repos `models.example.toml` refers to. Contents are
//! streamed to disk, so a 10 GiB fixture needs no more memory than a 10 KiB one.

use crate::fixtures::{
    FileChange, FixtureError, Fixtures, Gated, RepoMeta, RepoOptions, RepoType, UserSpec,
};

/// The token of the demo user (who may read the demo's gated repo).
pub const DEMO_TOKEN: &str = "hf_demo_token_0123456789abcdefghij";

/// Parses `1GiB`, `300MB`, `64KiB`, `12345` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("invalid size {text:?}: expected a number with an optional unit like 1GiB")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "invalid size unit {other:?} in {text:?} (use B, KB, KiB, MB, MiB, GB or GiB)"
            ));
        }
    };
    Ok((number * multiplier as f64).round() as u64)
}

fn ensure_repo(
    fixtures: &Fixtures,
    repo_type: RepoType,
    id: &str,
    options: RepoOptions,
) -> Result<(), FixtureError> {
    match fixtures.create_repo(repo_type, id, options) {
        Ok(()) | Err(FixtureError::RepoExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Small text files every model repo has, with plausible contents.
fn small_files(count: usize, seed: u64) -> Vec<FileChange> {
    let names = [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
        "vocab.txt",
        "README.md",
    ];
    (0..count)
        .map(|i| {
            let name = names
                .get(i)
                .map_or_else(|| format!("extra/file-{i}.json"), |n| (*n).to_owned());
            let body = format!(
                "{{\"file\": \"{name}\", \"seed\": {seed}, \"padding\": \"{}\"}}\n",
                "x".repeat(200 + i * 37)
            );
            FileChange::regular(&name, body.into_bytes())
        })
        .collect()
}

/// A model repo with `files` weight files of `size` bytes (LFS) and `small` config files.
pub fn repo(
    fixtures: &Fixtures,
    repo_type: RepoType,
    id: &str,
    files: usize,
    size: u64,
    small: usize,
) -> Result<String, FixtureError> {
    ensure_repo(fixtures, repo_type, id, RepoOptions::default())?;
    let mut changes = small_files(small, 0);
    for i in 0..files {
        let name = if files == 1 {
            "model.safetensors".to_owned()
        } else {
            format!("model-{:05}-of-{files:05}.safetensors", i + 1)
        };
        changes.push(FileChange::generated(&name, size, 1000 + i as u64));
    }
    changes.push(FileChange::regular(
        ".gitattributes",
        b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n".to_vec(),
    ));
    fixtures.commit(
        repo_type,
        id,
        "main",
        &format!("add {files} weight files"),
        changes,
    )
}

/// A repo of `count` small regular files of about `size` bytes each.
pub fn many_small(
    fixtures: &Fixtures,
    id: &str,
    count: usize,
    size: usize,
) -> Result<String, FixtureError> {
    ensure_repo(fixtures, RepoType::Model, id, RepoOptions::default())?;
    let changes = (0..count)
        .map(|i| {
            let mut body = format!("{{\"index\": {i}, \"data\": \"");
            while body.len() + 3 < size {
                body.push(char::from(b'a' + (body.len() % 26) as u8));
            }
            body.push_str("\"}\n");
            FileChange::regular(
                &format!("shards/{:03}/part-{i:06}.json", i / 1000),
                body.into_bytes(),
            )
        })
        .collect();
    fixtures.commit(
        RepoType::Model,
        id,
        "main",
        &format!("add {count} small files"),
        changes,
    )
}

/// The repos of `models.example.toml`, at demo sizes, plus a gated repo and its user.
pub fn demo(fixtures: &Fixtures) -> Result<(), FixtureError> {
    let minilm = "sentence-transformers/all-MiniLM-L6-v2";
    ensure_repo(fixtures, RepoType::Model, minilm, RepoOptions::default())?;
    let first = fixtures.commit(
        RepoType::Model,
        minilm,
        "main",
        "Initial commit",
        vec![
            FileChange::regular(".gitattributes", b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.onnx filter=lfs diff=lfs merge=lfs -text\n".to_vec()),
            FileChange::regular("README.md", b"---\nlicense: apache-2.0\n---\n# all-MiniLM-L6-v2\n".to_vec()),
            FileChange::regular("config.json", br#"{"architectures": ["BertModel"], "hidden_size": 384, "num_hidden_layers": 6}"#.to_vec()),
            FileChange::regular("tokenizer.json", format!("{{\"version\": \"1.0\", \"model\": {{\"vocab\": \"{}\"}}}}", "t".repeat(40_000)).into_bytes()),
            FileChange::regular("tokenizer_config.json", br#"{"do_lower_case": true, "model_max_length": 512}"#.to_vec()),
            FileChange::regular("special_tokens_map.json", br#"{"cls_token": "[CLS]", "sep_token": "[SEP]"}"#.to_vec()),
            FileChange::regular("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n".repeat(2_000).into_bytes()),
            FileChange::regular("modules.json", br#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]"#.to_vec()),
            FileChange::regular("sentence_bert_config.json", br#"{"max_seq_length": 256, "do_lower_case": false}"#.to_vec()),
            FileChange::generated("model.safetensors", 22_700_000, 11),
            FileChange::generated("pytorch_model.bin", 22_700_000, 12),
            FileChange::generated("onnx/model.onnx", 22_900_000, 13),
        ],
    )?;
    fixtures.set_tag(RepoType::Model, minilm, "v1.0", &first)?;

    let squad = "rajpurkar/squad";
    ensure_repo(fixtures, RepoType::Dataset, squad, RepoOptions::default())?;
    fixtures.commit(
        RepoType::Dataset,
        squad,
        "main",
        "Convert dataset to Parquet",
        vec![
            FileChange::regular(
                "README.md",
                b"---\nlicense: cc-by-sa-4.0\n---\n# SQuAD\n".to_vec(),
            ),
            FileChange::generated("plain_text/train-00000-of-00001.parquet", 14_500_000, 21),
            FileChange::generated(
                "plain_text/validation-00000-of-00001.parquet",
                1_800_000,
                22,
            ),
        ],
    )?;

    let bert = "google-bert/bert-base-uncased";
    ensure_repo(fixtures, RepoType::Model, bert, RepoOptions::default())?;
    // The commit models.example.toml pins (the real repo's), so the example syncs as written.
    fixtures.commit_with_id(
        RepoType::Model,
        bert,
        "main",
        "Add safetensors",
        vec![
            FileChange::regular(
                "config.json",
                br#"{"architectures": ["BertForMaskedLM"], "hidden_size": 768}"#.to_vec(),
            ),
            FileChange::regular(
                "tokenizer.json",
                format!(
                    "{{\"version\": \"1.0\", \"vocab\": \"{}\"}}",
                    "b".repeat(60_000)
                )
                .into_bytes(),
            ),
            FileChange::regular(
                "tokenizer_config.json",
                br#"{"do_lower_case": true}"#.to_vec(),
            ),
            FileChange::regular(
                "vocab.txt",
                "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
                    .repeat(4_000)
                    .into_bytes(),
            ),
            FileChange::generated("model.safetensors", 44_000_000, 31),
            FileChange::generated("pytorch_model.bin", 44_000_000, 32),
            FileChange::generated("tf_model.h5", 44_000_000, 33),
        ],
        "86b5e0934494bd15c9632b12f734a8a67f723594",
    )?;

    let gated = "acme/gated-model";
    ensure_repo(
        fixtures,
        RepoType::Model,
        gated,
        RepoOptions {
            private: false,
            gated: Gated::Manual,
        },
    )?;
    fixtures.commit(
        RepoType::Model,
        gated,
        "main",
        "init",
        vec![FileChange::regular(
            "config.json",
            br#"{"gated": true}"#.to_vec(),
        )],
    )?;
    // What `hfdl search` and `hfdl info` show besides the cards (counters, computed tags).
    for (repo_type, id, downloads, likes, library, pipeline) in [
        (
            RepoType::Model,
            minilm,
            120_000_000,
            4_000,
            Some("sentence-transformers"),
            Some("sentence-similarity"),
        ),
        (RepoType::Dataset, squad, 90_000, 300, None, None),
        (
            RepoType::Model,
            bert,
            60_000_000,
            2_300,
            Some("transformers"),
            Some("fill-mask"),
        ),
        (RepoType::Model, gated, 10, 1, None, None),
    ] {
        fixtures.set_meta(
            repo_type,
            id,
            RepoMeta {
                downloads,
                likes,
                library_name: library.map(str::to_owned),
                pipeline_tag: pipeline.map(str::to_owned),
                ..RepoMeta::default()
            },
        )?;
    }
    fixtures.add_user(UserSpec {
        name: "demo".into(),
        token: DEMO_TOKEN.into(),
        orgs: vec![],
        token_name: "demo".into(),
        role: "read".into(),
        gated_access: vec![gated.into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("300MB"), Ok(300_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("GiB").is_err());
    }

    #[test]
    fn many_small_and_repo() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Fixtures::create(dir.path()).unwrap();
        many_small(&fixtures, "bench/many", 30, 100).unwrap();
        let info = fixtures
            .file_info(
                RepoType::Model,
                "bench/many",
                "main",
                "shards/000/part-000029.json",
            )
            .unwrap();
        assert!(info.size >= 100);
        repo(&fixtures, RepoType::Model, "bench/big", 2, 10_000, 3).unwrap();
        let weights = fixtures
            .file_info(
                RepoType::Model,
                "bench/big",
                "main",
                "model-00002-of-00002.safetensors",
            )
            .unwrap();
        assert_eq!(weights.size, 10_000);
        assert!(weights.is_lfs);
    }
}
