//! Fixture generators for the binary: a repo of N large weight files plus small config files,
//! a repo of many small files, a Xet-backed repo with two revisions (the Xet benchmark), and the
//! demo repos `models.example.toml` refers to. Contents are streamed to disk, so a 10 GiB
//! fixture needs no more memory than a 10 KiB one (except the Xet repo: its second revision is
//! built in memory, one weight file at a time, and the CAS ingest reads each file whole).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::fixtures::{
    FileChange, FixtureError, Fixtures, Gated, RepoMeta, RepoOptions, RepoType, UserSpec,
    XetOptions,
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

/// What [`xet_upgrade`] made, from the mock CAS's own ingest: what a client that reuses every
/// chunk it already has must still fetch to go from `v1` to `v2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XetUpgrade {
    pub repo: String,
    /// The first revision's commit (tag `v1`).
    pub v1: String,
    /// The second revision's commit (tag `v2`, and `main`).
    pub v2: String,
    /// The weight files (Xet-backed), the same paths in both revisions.
    pub files: Vec<String>,
    /// Bytes of the weight files (each revision).
    pub weight_bytes: u64,
    /// Bytes the second revision overwrote (before chunking).
    pub overwritten_bytes: u64,
    /// Chunks of the weight files at `v2`.
    pub chunks: u64,
    /// Chunks of `v2` that `v1` does not have (stored in new xorbs).
    pub new_chunks: u64,
    /// Their uncompressed bytes.
    pub new_chunk_bytes: u64,
    /// The xorbs holding them.
    pub new_xorbs: usize,
    /// Their serialized bytes (chunk headers included): what a client that reuses every other
    /// chunk has to fetch.
    pub new_xorb_bytes: u64,
    /// Serialized bytes of every xorb range `v1` references: what a cold download fetches.
    pub v1_xorb_bytes: u64,
    /// Serialized bytes of every xorb range `v2` references: what an upgrade that reuses
    /// nothing fetches.
    pub v2_xorb_bytes: u64,
}

/// The length of the regions [`xet_upgrade`] overwrites (at most; fewer bytes when the change
/// is small): large against the chunks (64 KiB on average), so that the chunks a region cuts at
/// its edges add little to it.
const REGION: u64 = 4 << 20;

/// A Xet-backed model repo with two revisions for the Xet benchmark: `v1` (tag) has `files`
/// weight files of `total / files` pseudo-random bytes each, three small config files and
/// `.gitattributes`; `v2` (tag, and `main`) overwrites `changed_percent` % of each weight file
/// in evenly spaced regions (the rest of the repo unchanged), so that content-defined chunking
/// gives about that share of new chunks. Returns the CAS's view of the change.
pub fn xet_upgrade(
    fixtures: &Fixtures,
    id: &str,
    files: usize,
    total: u64,
    changed_percent: f64,
) -> Result<XetUpgrade, FixtureError> {
    if files == 0 || total < files as u64 || !(0.0..=100.0).contains(&changed_percent) {
        return Err(FixtureError::Invalid(format!(
            "xet-upgrade needs at least one weight file of one byte and a change of 0-100 % \
             (got {files} files, {total} bytes, {changed_percent} %)"
        )));
    }
    let repo_type = RepoType::Model;
    fixtures.create_repo(repo_type, id, RepoOptions::default())?;
    fixtures.enable_xet(repo_type, id, XetOptions::default())?;
    let size = total / files as u64;
    let names: Vec<String> = (0..files)
        .map(|i| {
            if files == 1 {
                "model.safetensors".to_owned()
            } else {
                format!("model-{:05}-of-{files:05}.safetensors", i + 1)
            }
        })
        .collect();
    let mut changes = small_files(3, 0);
    for (i, name) in names.iter().enumerate() {
        changes.push(FileChange::generated(name, size, 7000 + i as u64));
    }
    changes.push(FileChange::regular(
        ".gitattributes",
        b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n".to_vec(),
    ));
    let v1 = fixtures.commit(repo_type, id, "main", "add weights", changes)?;
    fixtures.set_tag(repo_type, id, "v1", &v1)?;

    // The second revision: each weight file with `regions` evenly spaced regions overwritten,
    // committed one file at a time (only one file's bytes in memory), then tagged.
    let changed = (size as f64 * changed_percent / 100.0).round() as u64;
    let regions = changed.div_ceil(REGION);
    let mut overwritten = 0;
    let mut v2 = v1.clone();
    for (i, name) in names.iter().enumerate() {
        let info = fixtures.file_info(repo_type, id, &v1, name)?;
        let mut bytes = fixtures.read_object(&info.content_sha256)?;
        let mut random = crate::fixtures::PseudoRandom::new(0xD1B5_4A32_D192_ED03 ^ (i as u64 + 1));
        for r in 0..regions {
            let start = (r * size / regions) as usize;
            let end = (start as u64 + changed / regions).min((r + 1) * size / regions) as usize;
            random.fill(&mut bytes[start..end]);
            overwritten += (end - start) as u64;
        }
        v2 = fixtures.commit(
            repo_type,
            id,
            "main",
            &format!("update {name}"),
            vec![FileChange::lfs(name, bytes)],
        )?;
    }
    fixtures.set_tag(repo_type, id, "v2", &v2)?;

    // What changed, as the CAS stored it: xorbs v2 references that v1 does not.
    let store = fixtures.xet_store();
    let terms = |revision: &str| -> Result<Vec<crate::xet::store::Term>, FixtureError> {
        let mut terms = Vec::new();
        for name in &names {
            let info = fixtures.file_info(repo_type, id, revision, name)?;
            let file = info
                .xet_hash
                .as_deref()
                .and_then(|hash| store.file(hash))
                .ok_or_else(|| {
                    FixtureError::Invalid(format!("{name}@{revision} is not in the Xet CAS"))
                })?;
            terms.extend(file.terms);
        }
        Ok(terms)
    };
    let (old, new) = (terms(&v1)?, terms(&v2)?);
    // Serialized bytes of the xorb ranges a set of terms references (per xorb, each chunk once).
    let xorb_bytes = |terms: &[crate::xet::store::Term]| -> Result<u64, FixtureError> {
        let mut chunks: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
        for term in terms {
            chunks
                .entry(&term.xorb)
                .or_default()
                .extend(term.start..term.end);
        }
        let mut bytes = 0;
        for (hash, indices) in chunks {
            let xorb = store
                .xorb(hash)
                .ok_or_else(|| FixtureError::Invalid(format!("xorb {hash} is missing")))?;
            bytes += indices
                .into_iter()
                .map(|i| xorb.byte_range(i, i + 1))
                .map(|(a, b)| b - a)
                .sum::<u64>();
        }
        Ok(bytes)
    };
    let old_xorbs: BTreeSet<&str> = old.iter().map(|t| t.xorb.as_str()).collect();
    let fresh: Vec<crate::xet::store::Term> = new
        .iter()
        .filter(|t| !old_xorbs.contains(t.xorb.as_str()))
        .cloned()
        .collect();
    Ok(XetUpgrade {
        repo: id.to_owned(),
        v1,
        v2,
        files: names,
        weight_bytes: size * files as u64,
        overwritten_bytes: overwritten,
        chunks: new.iter().map(|t| u64::from(t.end - t.start)).sum(),
        new_chunks: fresh.iter().map(|t| u64::from(t.end - t.start)).sum(),
        new_chunk_bytes: fresh.iter().map(|t| t.unpacked).sum(),
        new_xorbs: fresh.iter().map(|t| &t.xorb).collect::<BTreeSet<_>>().len(),
        new_xorb_bytes: xorb_bytes(&fresh)?,
        v1_xorb_bytes: xorb_bytes(&old)?,
        v2_xorb_bytes: xorb_bytes(&new)?,
    })
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

    #[test]
    fn xet_upgrade_changes_about_the_share_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Fixtures::create(dir.path()).unwrap();
        let made = xet_upgrade(&fixtures, "bench/xet", 2, 16 << 20, 10.0).unwrap();
        assert_eq!(made.files.len(), 2);
        assert_eq!(made.weight_bytes, 16 << 20);
        let v1 = fixtures
            .resolve_revision(RepoType::Model, "bench/xet", "v1")
            .unwrap();
        let v2 = fixtures
            .resolve_revision(RepoType::Model, "bench/xet", "v2")
            .unwrap();
        let main = fixtures
            .resolve_revision(RepoType::Model, "bench/xet", "main")
            .unwrap();
        assert_eq!(
            (v1.as_str(), v2.as_str()),
            (made.v1.as_str(), made.v2.as_str())
        );
        assert_eq!(main, v2);
        let share = made.new_chunk_bytes as f64 / made.weight_bytes as f64;
        assert!((0.09..0.2).contains(&share), "{made:?}");
        assert!(
            made.new_chunks > 0 && made.new_chunks < made.chunks / 4,
            "{made:?}"
        );
        assert!(made.new_xorb_bytes >= made.new_chunk_bytes, "{made:?}");
        assert!(made.v2_xorb_bytes >= made.weight_bytes, "{made:?}");
        assert!(made.v1_xorb_bytes >= made.weight_bytes, "{made:?}");
        // The config files are the same in both revisions; the weights are not.
        let info = |rev: &str, path: &str| {
            fixtures
                .file_info(RepoType::Model, "bench/xet", rev, path)
                .unwrap()
        };
        assert_eq!(info("v1", "config.json"), info("v2", "config.json"));
        assert_ne!(
            info("v1", &made.files[0]).sha256,
            info("v2", &made.files[0]).sha256
        );
    }
}
