//! Content digests and hashing while streaming.
//!
//! Every locked file carries exactly one content hash: the sha256 of the content for LFS/Xet
//! files, or the git blob sha1 (`sha1("blob {len}\0" + content)`) for regular files
//! (hub-protocol §3.2). Both are also the names of blobs in the Hugging Face cache.

use std::fmt;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Which algorithm a [`ContentHash`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashKind {
    /// sha256 of the content: LFS and Xet files.
    Sha256,
    /// git blob sha1: regular files.
    GitSha1,
}

impl HashKind {
    /// The key used in `models.lock` (`sha256`, `git-sha1`).
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Sha256 => "sha256",
            HashKind::GitSha1 => "git-sha1",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            HashKind::Sha256 => 64,
            HashKind::GitSha1 => 40,
        }
    }
}

/// A validated lowercase hex digest with its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash {
    kind: HashKindOrd,
    hex: String,
}

/// `HashKind` with a total order so hashes sort deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum HashKindOrd {
    GitSha1,
    Sha256,
}

impl ContentHash {
    /// Validates `hex` as a lowercase digest of `kind`.
    pub fn new(kind: HashKind, hex: &str) -> Result<ContentHash, String> {
        let valid = hex.len() == kind.hex_len()
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return Err(format!(
                "`{hex}` is not a {} digest ({} lowercase hex characters)",
                kind.as_str(),
                kind.hex_len()
            ));
        }
        let kind = match kind {
            HashKind::Sha256 => HashKindOrd::Sha256,
            HashKind::GitSha1 => HashKindOrd::GitSha1,
        };
        Ok(ContentHash {
            kind,
            hex: hex.to_owned(),
        })
    }

    /// Validates `hex` as a sha256 digest (64 lowercase hex characters).
    pub fn sha256(hex: &str) -> Result<ContentHash, String> {
        ContentHash::new(HashKind::Sha256, hex)
    }

    /// Validates `hex` as a git blob sha1 (40 lowercase hex characters).
    pub fn git_sha1(hex: &str) -> Result<ContentHash, String> {
        ContentHash::new(HashKind::GitSha1, hex)
    }

    /// The algorithm of the digest.
    pub fn kind(&self) -> HashKind {
        match self.kind {
            HashKindOrd::Sha256 => HashKind::Sha256,
            HashKindOrd::GitSha1 => HashKind::GitSha1,
        }
    }

    /// The lowercase hex digest; also the blob's file name in the cache.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind().as_str(), self.hex)
    }
}

/// An incremental hasher for one [`HashKind`].
///
/// The git blob hash needs the total length up front (`blob {len}\0`), which the lockfile
/// provides, so the expected size is part of construction.
#[derive(Clone)]
pub enum ContentHasher {
    /// sha256 of the content.
    Sha256(Sha256),
    /// sha1 of the git blob header (`blob {len}\0`) and the content.
    GitSha1(Sha1),
}

impl ContentHasher {
    /// A hasher of `kind` for content of `total_size` bytes (used only by the git blob
    /// header; the digest is wrong if a different number of bytes is fed).
    pub fn new(kind: HashKind, total_size: u64) -> ContentHasher {
        match kind {
            HashKind::Sha256 => ContentHasher::Sha256(Sha256::new()),
            HashKind::GitSha1 => {
                let mut hasher = Sha1::new();
                hasher.update(format!("blob {total_size}\0").as_bytes());
                ContentHasher::GitSha1(hasher)
            }
        }
    }

    /// Feeds the next bytes of the content.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            ContentHasher::Sha256(h) => h.update(bytes),
            ContentHasher::GitSha1(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> ContentHash {
        let (kind, hex) = match self {
            ContentHasher::Sha256(h) => (HashKindOrd::Sha256, hex::encode(h.finalize())),
            ContentHasher::GitSha1(h) => (HashKindOrd::GitSha1, hex::encode(h.finalize())),
        };
        ContentHash { kind, hex }
    }
}

/// Hashes everything `reader` yields with a large buffer; returns the digest and byte count.
pub fn hash_reader(
    mut reader: impl Read,
    kind: HashKind,
    size_hint: u64,
) -> std::io::Result<(ContentHash, u64)> {
    let mut hasher = ContentHasher::new(kind, size_hint);
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((hasher.finish(), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_sha1_matches_git_hash_object() {
        let (hash, len) = hash_reader(&b"Hello, World!"[..], HashKind::GitSha1, 13).unwrap();
        assert_eq!(len, 13);
        assert_eq!(hash.hex(), "b45ef6fec89518d314f546fd6c3025367b721684");
    }

    #[test]
    fn sha256_of_empty_content_is_the_known_value() {
        let (hash, _) = hash_reader(&b""[..], HashKind::Sha256, 0).unwrap();
        assert_eq!(
            hash.hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn malformed_digests_are_refused() {
        assert!(ContentHash::sha256("abc").is_err());
        assert!(ContentHash::git_sha1(&"A".repeat(40)).is_err());
        assert!(ContentHash::git_sha1(&"a".repeat(40)).is_ok());
    }
}
