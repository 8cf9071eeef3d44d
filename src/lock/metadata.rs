//! What the lock records about each entry besides its files: the card's license, gating,
//! library and base model, the weight formats of the locked files, and whether loading the
//! model runs code from the repo. `hfdl lock` records it ([`crate::resolve`]); the policy
//! ([`crate::policy`]) and `hfdl audit` read it, offline.
//!
//! Formats are told by file name (the extension); the bytes are checked by `hfdl audit
//! --scan`, once downloaded.

use std::fmt;

use serde::Serialize;

use crate::hub::types::Gating;

/// A weight format hfdl tells apart, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightFormat {
    /// `.gguf` (llama.cpp).
    Gguf,
    /// `.onnx` and its external data (`.onnx_data`, `.onnx.data`).
    Onnx,
    /// Python pickle, or a PyTorch archive of pickles: `.bin`, `.pt`, `.pth`, `.ckpt`, `.pkl`,
    /// `.pickle`, `.joblib`. Loading one can run arbitrary code.
    Pickle,
    /// `.safetensors`: tensors and a JSON header, nothing to execute.
    Safetensors,
}

impl WeightFormat {
    /// Every format, in the lock's order.
    pub const ALL: [WeightFormat; 4] = [
        WeightFormat::Gguf,
        WeightFormat::Onnx,
        WeightFormat::Pickle,
        WeightFormat::Safetensors,
    ];

    /// The name as the lock writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightFormat::Gguf => "gguf",
            WeightFormat::Onnx => "onnx",
            WeightFormat::Pickle => "pickle",
            WeightFormat::Safetensors => "safetensors",
        }
    }

    /// The format a lock's name stands for.
    pub fn parse(name: &str) -> Option<WeightFormat> {
        WeightFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
    }

    /// The format of a file, by its name; `None` for anything else (JSON, text, tokenizers).
    pub fn of_path(path: &str) -> Option<WeightFormat> {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension);
        match extension {
            "safetensors" => Some(WeightFormat::Safetensors),
            "gguf" => Some(WeightFormat::Gguf),
            "onnx" | "onnx_data" => Some(WeightFormat::Onnx),
            "data" if name.ends_with(".onnx.data") => Some(WeightFormat::Onnx),
            "bin" | "pt" | "pth" | "ckpt" | "pkl" | "pickle" | "joblib" => {
                Some(WeightFormat::Pickle)
            }
            _ => None,
        }
    }

    /// The formats of `paths`, sorted, each once.
    pub fn of_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<WeightFormat> {
        let mut formats: Vec<WeightFormat> = paths
            .into_iter()
            .filter_map(WeightFormat::of_path)
            .collect();
        formats.sort_unstable();
        formats.dedup();
        formats
    }
}

impl fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a file is Python source (`.py`): code that a loader may import.
pub fn is_python(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".py")
}

/// The path of the config whose `auto_map` asks for `trust_remote_code`.
pub const CONFIG_JSON: &str = "config.json";

/// Whether loading the model runs code from the repo.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteCode {
    /// No: config.json (if locked) has no `auto_map`, and no Python file is locked.
    No,
    /// config.json maps Auto classes to code in the repo (`auto_map`): transformers loads it
    /// only with `trust_remote_code=True`, and runs it.
    AutoMap,
    /// No `auto_map`, but Python files are among the locked files.
    Python,
    /// config.json is locked but could not be read (too large, stored in LFS, not JSON, or not
    /// readable), and no Python file is locked.
    #[default]
    Unknown,
}

impl RemoteCode {
    /// The name as the lock writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteCode::No => "no",
            RemoteCode::AutoMap => "auto-map",
            RemoteCode::Python => "python",
            RemoteCode::Unknown => "unknown",
        }
    }

    /// The value a lock's name stands for.
    pub fn parse(name: &str) -> Option<RemoteCode> {
        [
            RemoteCode::No,
            RemoteCode::AutoMap,
            RemoteCode::Python,
            RemoteCode::Unknown,
        ]
        .into_iter()
        .find(|value| value.as_str() == name)
    }

    /// What the locked files and config.json's `auto_map` say: `auto_map` is `Some(found)`
    /// when config.json was read (or is not locked: `Some(false)`), `None` when it could not be.
    pub fn decide<'a>(
        paths: impl IntoIterator<Item = &'a str>,
        auto_map: Option<bool>,
    ) -> RemoteCode {
        let python = paths.into_iter().any(is_python);
        match (auto_map, python) {
            (Some(true), _) => RemoteCode::AutoMap,
            (_, true) => RemoteCode::Python,
            (Some(false), false) => RemoteCode::No,
            (None, false) => RemoteCode::Unknown,
        }
    }

    /// Whether loading may run code from the repo (`unknown` counts: it cannot be ruled out).
    pub fn may_run_code(self) -> bool {
        self != RemoteCode::No
    }
}

impl fmt::Display for RemoteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the lock records about an entry at its commit (all of it fixed by the commit, except
/// `gated`, which is the repo's setting when it was locked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelMetadata {
    /// The card's `license` (a Hub license id, as written; several when the card lists
    /// several). Empty: the card states none, or there is no readable card ("unknown").
    pub license: Vec<String>,
    /// The card's `license_name`, for a license `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_name: Option<String>,
    /// The card's `license_link`, for a license `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_link: Option<String>,
    /// Whether downloading needs the authors' approval.
    pub gated: Gating,
    /// The library that loads it (`transformers`, `sentence-transformers`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library_name: Option<String>,
    /// The models it was trained or quantised from (the card's `base_model`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub base_model: Vec<String>,
    /// The weight formats among the locked files, by name, sorted.
    pub formats: Vec<WeightFormat>,
    /// Whether loading it runs code from the repo.
    pub remote_code: RemoteCode,
}

impl ModelMetadata {
    /// The license ids a policy checks: the card's, or `unknown` when it states none.
    pub fn license_ids(&self) -> Vec<String> {
        if self.license.is_empty() {
            return vec!["unknown".to_owned()];
        }
        self.license.clone()
    }

    /// The license for people: `apache-2.0`, `other (llama3)`, `mit, apache-2.0` or `unknown`.
    pub fn license_display(&self) -> String {
        if self.license.is_empty() {
            return "unknown".to_owned();
        }
        self.license
            .iter()
            .map(|id| match &self.license_name {
                Some(name) if id.eq_ignore_ascii_case("other") => format!("other ({name})"),
                _ => id.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_name() {
        let of = WeightFormat::of_path;
        assert_eq!(of("model.safetensors"), Some(WeightFormat::Safetensors));
        assert_eq!(of("sub/Model.SafeTensors"), Some(WeightFormat::Safetensors));
        assert_eq!(of("pytorch_model.bin"), Some(WeightFormat::Pickle));
        assert_eq!(of("rng_state.pth"), Some(WeightFormat::Pickle));
        assert_eq!(of("optimizer.pt"), Some(WeightFormat::Pickle));
        assert_eq!(of("last.ckpt"), Some(WeightFormat::Pickle));
        assert_eq!(of("model.pkl"), Some(WeightFormat::Pickle));
        assert_eq!(of("model.joblib"), Some(WeightFormat::Pickle));
        assert_eq!(of("q4.gguf"), Some(WeightFormat::Gguf));
        assert_eq!(of("onnx/model.onnx"), Some(WeightFormat::Onnx));
        assert_eq!(of("onnx/model.onnx_data"), Some(WeightFormat::Onnx));
        assert_eq!(of("onnx/model.onnx.data"), Some(WeightFormat::Onnx));
        assert_eq!(of("pytorch_model.bin.index.json"), None);
        assert_eq!(of("train.data"), None);
        assert_eq!(of("bin"), None);
        assert_eq!(
            WeightFormat::of_paths(["b.safetensors", "a.bin", "c.safetensors", "README.md"]),
            [WeightFormat::Pickle, WeightFormat::Safetensors]
        );
        for format in WeightFormat::ALL {
            assert_eq!(WeightFormat::parse(format.as_str()), Some(format));
        }
    }

    #[test]
    fn remote_code_is_auto_map_first_then_python_files() {
        let decide =
            |paths: &[&'static str], auto_map| RemoteCode::decide(paths.iter().copied(), auto_map);
        assert_eq!(decide(&["config.json"], Some(true)), RemoteCode::AutoMap);
        assert_eq!(
            decide(&["config.json", "modeling.py"], Some(true)),
            RemoteCode::AutoMap
        );
        assert_eq!(decide(&["handler.py"], Some(false)), RemoteCode::Python);
        assert_eq!(decide(&["handler.py"], None), RemoteCode::Python);
        assert_eq!(decide(&["config.json"], Some(false)), RemoteCode::No);
        assert_eq!(decide(&["config.json"], None), RemoteCode::Unknown);
        for value in [
            RemoteCode::No,
            RemoteCode::AutoMap,
            RemoteCode::Python,
            RemoteCode::Unknown,
        ] {
            assert_eq!(RemoteCode::parse(value.as_str()), Some(value));
        }
    }

    #[test]
    fn licenses_read_as_people_and_policies_need_them() {
        let other = ModelMetadata {
            license: vec!["other".into()],
            license_name: Some("llama3".into()),
            ..ModelMetadata::default()
        };
        assert_eq!(other.license_display(), "other (llama3)");
        assert_eq!(other.license_ids(), ["other"]);
        assert_eq!(ModelMetadata::default().license_display(), "unknown");
        assert_eq!(ModelMetadata::default().license_ids(), ["unknown"]);
    }
}
