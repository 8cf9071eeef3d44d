//! A CycloneDX 1.6 ML-BOM (JSON) of a lock: `hfdl audit --format cyclonedx`.
//!
//! One component per locked entry: type `machine-learning-model` for a model (`data` for a
//! dataset, `application` for a Space), named by the repo (`group` is its namespace), with the
//! locked commit as `version`, the purl of the Hugging Face type
//! (`pkg:huggingface/<namespace>/<name>@<commit>`, models only: the purl type has no form for
//! datasets or Spaces), the card's licenses, links to the Hub, what the lock records about it as
//! `hfdl:*` properties, and its files as nested components of type `file`.
//!
//! Hashes: a file stored in LFS carries its SHA-256 (the lock's `sha256`, the hash of its
//! bytes). A regular file is locked by its git blob id, which is a SHA-1 of `blob <size>\0`
//! followed by the bytes, not of the bytes: calling it `SHA-1` would make every verifier fail,
//! so it goes into the property `hfdl:git-blob-sha1` instead, next to `hfdl:size`.
//!
//! Licenses: a Hub license id that is an SPDX id (`apache-2.0` is `Apache-2.0`) becomes
//! `{"license": {"id": …}}` with the SPDX spelling; any other (`llama3`, `openrail`) becomes
//! `{"license": {"name": …}}`, and `other` its `license_name` with its `license_link`. A model
//! whose card states no license has no `licenses`.
//!
//! The document is deterministic: it is a function of the lock (and the endpoint the links
//! point at), without a timestamp, and its `serialNumber` is a name-based (version 5) UUID of
//! its own content. The same lock gives the same BOM, byte for byte; any change gives a new
//! serial number.

use std::fmt::Write as _;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::hash::HashKind;
use crate::lock::{LockedModel, Lockfile};
use crate::repo::RepoType;

/// The CycloneDX version written.
pub const SPEC_VERSION: &str = "1.6";

/// Hub license ids that are SPDX ids, with the SPDX spelling (the Hub lists its ids in
/// lowercase). Ids outside this table are written as license names.
const SPDX: &[(&str, &str)] = &[
    ("afl-3.0", "AFL-3.0"),
    ("agpl-3.0", "AGPL-3.0"),
    ("apache-2.0", "Apache-2.0"),
    ("artistic-2.0", "Artistic-2.0"),
    ("bsd-2-clause", "BSD-2-Clause"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("bsd-3-clause-clear", "BSD-3-Clause-Clear"),
    ("bsl-1.0", "BSL-1.0"),
    ("c-uda", "C-UDA-1.0"),
    ("cc-by-2.0", "CC-BY-2.0"),
    ("cc-by-2.5", "CC-BY-2.5"),
    ("cc-by-3.0", "CC-BY-3.0"),
    ("cc-by-4.0", "CC-BY-4.0"),
    ("cc-by-nc-2.0", "CC-BY-NC-2.0"),
    ("cc-by-nc-3.0", "CC-BY-NC-3.0"),
    ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
    ("cc-by-nc-nd-3.0", "CC-BY-NC-ND-3.0"),
    ("cc-by-nc-nd-4.0", "CC-BY-NC-ND-4.0"),
    ("cc-by-nc-sa-2.0", "CC-BY-NC-SA-2.0"),
    ("cc-by-nc-sa-3.0", "CC-BY-NC-SA-3.0"),
    ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0"),
    ("cc-by-nd-4.0", "CC-BY-ND-4.0"),
    ("cc-by-sa-3.0", "CC-BY-SA-3.0"),
    ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
    ("cc0-1.0", "CC0-1.0"),
    ("cdla-permissive-1.0", "CDLA-Permissive-1.0"),
    ("cdla-permissive-2.0", "CDLA-Permissive-2.0"),
    ("cdla-sharing-1.0", "CDLA-Sharing-1.0"),
    ("ecl-2.0", "ECL-2.0"),
    ("epl-1.0", "EPL-1.0"),
    ("epl-2.0", "EPL-2.0"),
    ("etalab-2.0", "etalab-2.0"),
    ("eupl-1.1", "EUPL-1.1"),
    ("eupl-1.2", "EUPL-1.2"),
    ("gpl-2.0", "GPL-2.0"),
    ("gpl-3.0", "GPL-3.0"),
    ("isc", "ISC"),
    ("lgpl-2.1", "LGPL-2.1"),
    ("lgpl-3.0", "LGPL-3.0"),
    ("lppl-1.3c", "LPPL-1.3c"),
    ("mit", "MIT"),
    ("mpl-2.0", "MPL-2.0"),
    ("ms-pl", "MS-PL"),
    ("ncsa", "NCSA"),
    ("odbl", "ODbL-1.0"),
    ("odc-by", "ODC-By-1.0"),
    ("ofl-1.1", "OFL-1.1"),
    ("openmdw-1.0", "OpenMDW-1.0"),
    ("osl-3.0", "OSL-3.0"),
    ("pddl", "PDDL-1.0"),
    ("postgresql", "PostgreSQL"),
    ("unlicense", "Unlicense"),
    ("wtfpl", "WTFPL"),
    ("zlib", "Zlib"),
];

/// The SPDX id a Hub license id stands for (`apache-2.0` → `Apache-2.0`), matched
/// case-insensitively; `None` when it is not an SPDX license.
pub fn spdx_id(hub_id: &str) -> Option<&'static str> {
    SPDX.iter()
        .find(|(hub, spdx)| hub.eq_ignore_ascii_case(hub_id) || spdx.eq_ignore_ascii_case(hub_id))
        .map(|(_, spdx)| *spdx)
}

/// Every SPDX id of the table, for a test to check against the SPDX list.
pub fn spdx_ids() -> impl Iterator<Item = &'static str> {
    SPDX.iter().map(|(_, spdx)| *spdx)
}

/// The BOM of `models` (entries of `lock`), with links to the Hub at `endpoint`.
pub fn bom<'a>(models: impl IntoIterator<Item = &'a LockedModel>, endpoint: &str) -> Value {
    let components: Vec<Value> = models
        .into_iter()
        .map(|model| component(model, endpoint))
        .collect();
    let mut document = json!({
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": {
            "tools": {
                "components": [{
                    "type": "application",
                    "author": "hfdl",
                    "name": "hfdl",
                    "version": env!("CARGO_PKG_VERSION"),
                }],
            },
        },
        "components": components,
    });
    // serde_json's map is sorted: the text is canonical, and so is its UUID.
    let serial = uuid_v5(&document.to_string());
    document["serialNumber"] = format!("urn:uuid:{serial}").into();
    document
}

/// The BOM of every entry of `lock`.
pub fn bom_of_lock(lock: &Lockfile, endpoint: &str) -> Value {
    bom(&lock.models, endpoint)
}

fn component(model: &LockedModel, endpoint: &str) -> Value {
    let repo = &model.repo;
    let page = format!("{endpoint}/{}{repo}", model.repo_type.url_prefix());
    let mut component = json!({
        "type": match model.repo_type {
            RepoType::Model => "machine-learning-model",
            RepoType::Dataset => "data",
            RepoType::Space => "application",
        },
        "bom-ref": format!("hfdl:{}", model.name),
        "name": repo.name(),
        "version": model.commit,
        "description": format!("{} {repo} at {}, locked by hfdl as `{}`", model.repo_type, model.commit, model.name),
        "externalReferences": [
            { "type": "website", "url": page },
            { "type": "distribution", "url": format!("{page}/tree/{}", model.commit) },
        ],
    });
    if let Some(namespace) = repo.namespace() {
        component["group"] = namespace.into();
    }
    if model.repo_type == RepoType::Model {
        let mut purl = format!(
            "pkg:huggingface/{repo}@{}",
            model.commit.to_ascii_lowercase()
        );
        if endpoint.trim_end_matches('/') != crate::settings::DEFAULT_ENDPOINT {
            purl.push_str("?repository_url=");
            purl.push_str(&percent_encode(endpoint));
        }
        component["purl"] = purl.into();
    }
    let mut properties = vec![
        property("hfdl:entry", &model.name),
        property("hfdl:revision", &model.revision),
        property("hfdl:repo-type", model.repo_type.as_str()),
    ];
    if let Some(metadata) = &model.metadata {
        let licenses: Vec<Value> = metadata
            .license
            .iter()
            .map(|id| {
                license(
                    id,
                    metadata.license_name.as_deref(),
                    metadata.license_link.as_deref(),
                )
            })
            .collect();
        if !licenses.is_empty() {
            component["licenses"] = licenses.into();
        }
        properties.push(property("hfdl:gated", metadata.gated.as_str()));
        properties.push(property("hfdl:remote-code", metadata.remote_code.as_str()));
        for format in &metadata.formats {
            properties.push(property("hfdl:format", format.as_str()));
        }
        if let Some(library) = &metadata.library_name {
            properties.push(property("hfdl:library-name", library));
        }
        for base in &metadata.base_model {
            properties.push(property("hfdl:base-model", base));
        }
    }
    component["properties"] = properties.into();
    component["components"] = model
        .files
        .iter()
        .map(|file| {
            let mut properties = vec![property("hfdl:size", &file.size.to_string())];
            let mut entry = json!({
                "type": "file",
                "bom-ref": format!("hfdl:{}:{}", model.name, file.path),
                "name": file.path,
            });
            match file.hash.kind() {
                HashKind::Sha256 => {
                    entry["hashes"] = json!([{ "alg": "SHA-256", "content": file.hash.hex() }]);
                }
                HashKind::GitSha1 => {
                    properties.push(property("hfdl:git-blob-sha1", file.hash.hex()));
                }
            }
            entry["properties"] = properties.into();
            entry
        })
        .collect::<Vec<_>>()
        .into();
    component
}

/// A license entry: an SPDX id, or a name (with the card's link for `other`).
fn license(id: &str, name: Option<&str>, link: Option<&str>) -> Value {
    if let Some(spdx) = spdx_id(id) {
        return json!({ "license": { "id": spdx } });
    }
    let mut license = match name {
        Some(name) if id.eq_ignore_ascii_case("other") => json!({ "name": name }),
        _ => json!({ "name": id }),
    };
    if let Some(link) = link.filter(|_| id.eq_ignore_ascii_case("other")) {
        license["url"] = link.into();
    }
    json!({ "license": license })
}

fn property(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

/// `text` with what a purl qualifier value may not hold percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/' | b':') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A name-based UUID (RFC 4122 version 5, SHA-1) of `name` in the URL namespace.
fn uuid_v5(name: &str) -> String {
    // The URL namespace of RFC 4122, appendix C.
    const NAMESPACE_URL: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    let mut hasher = Sha1::new();
    hasher.update(NAMESPACE_URL);
    hasher.update(b"hfdl:cyclonedx:");
    hasher.update(name.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_license_ids_map_to_spdx_spelling() {
        assert_eq!(spdx_id("apache-2.0"), Some("Apache-2.0"));
        assert_eq!(spdx_id("MIT"), Some("MIT"));
        assert_eq!(spdx_id("odbl"), Some("ODbL-1.0"));
        assert_eq!(spdx_id("llama3"), None);
        assert_eq!(
            license(
                "other",
                Some("llama3"),
                Some("https://llama.meta.com/llama3/license")
            ),
            json!({"license": {"name": "llama3", "url": "https://llama.meta.com/llama3/license"}})
        );
        assert_eq!(
            license("openrail", None, None),
            json!({"license": {"name": "openrail"}})
        );
    }

    #[test]
    fn serial_numbers_are_version_5_uuids_of_the_content() {
        let a = uuid_v5("a");
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_eq!(a, uuid_v5("a"));
        assert_ne!(a, uuid_v5("b"));
    }
}
