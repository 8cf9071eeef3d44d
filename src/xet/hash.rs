//! Xet hashes: the 32-byte [`XetHash`] and its string form, the keyed-BLAKE3 chunk hash, the
//! Merkle aggregation shared by xorb and file hashes, and [`XetHasher`], which computes a file's
//! Xet hash from its decoded chunks while they stream by (xet-protocol.md §5).
//!
//! A file's Xet hash depends only on the hash and length of each of its chunks, in file order,
//! never on which xorbs hold them; so a download that knows where each chunk ends (the chunk
//! headers say so) can check the bytes it assembled against the `X-Xet-Hash` it was given.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The BLAKE3 key of chunk hashes (`DATA_KEY` of the Xet spec, `hashing.md`).
const DATA_KEY: [u8; 32] = [
    102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28, 157, 228, 33, 16,
    155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41,
];

/// The BLAKE3 key of Merkle nodes (`INTERNAL_NODE_KEY`).
const INTERNAL_NODE_KEY: [u8; 32] = [
    1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230, 93, 221, 83, 111, 55,
    199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63,
];

/// The BLAKE3 key of term verification ("range") hashes (`VERIFICATION_KEY`).
const VERIFICATION_KEY: [u8; 32] = [
    127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243, 164, 205, 38, 213,
    181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195,
];

/// The salt of file hashes on the Hub: 32 zero bytes.
const HUB_FILE_SALT: [u8; 32] = [0; 32];

/// Mean fan-out of the Merkle tree: a group ends after a hash whose last word is `0 mod 4`.
const BRANCHING_FACTOR: u64 = 4;

/// Most nodes in one Merkle group (`2 × BRANCHING_FACTOR + 1`).
const MAX_GROUP: usize = 2 * BRANCHING_FACTOR as usize + 1;

/// A 32-byte Xet hash: of a chunk, a xorb, a file (the `X-Xet-Hash` header) or a Merkle node.
///
/// Its string form is not plain hex of the bytes: each 8-byte word is read as a little-endian
/// `u64` and printed as 16 hex digits (so the bytes of each word appear reversed). `Display`,
/// `FromStr` and serde all use that form, as the Hub, the CAS API and the Merkle node strings do.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct XetHash([u8; 32]);

impl XetHash {
    /// The all-zero hash: the Xet hash of an empty file and of an empty Merkle list.
    pub const ZERO: XetHash = XetHash([0; 32]);

    /// The hash with these raw bytes (as BLAKE3 produced them).
    pub const fn from_bytes(bytes: [u8; 32]) -> XetHash {
        XetHash(bytes)
    }

    /// The raw bytes (as BLAKE3 produced them; not the order of the string form).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The four little-endian `u64` words of the hash.
    fn words(&self) -> [u64; 4] {
        std::array::from_fn(|i| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.0[8 * i..8 * i + 8]);
            u64::from_le_bytes(word)
        })
    }

    /// Whether a Merkle group ends after this node: its last word is a multiple of 4.
    fn is_cut(&self) -> bool {
        self.words()[3].is_multiple_of(BRANCHING_FACTOR)
    }
}

impl fmt::Display for XetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.words() {
            write!(f, "{word:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for XetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XetHash({self})")
    }
}

/// A string that is not a Xet hash (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a Xet hash (64 hex digits)")]
pub struct ParseXetHashError {
    /// The refused string, cut to its first 80 characters.
    pub input: String,
}

impl FromStr for XetHash {
    type Err = ParseXetHashError;

    /// Parses the string form; upper-case digits are accepted, as xet-core does.
    fn from_str(s: &str) -> Result<XetHash, ParseXetHashError> {
        let refuse = || ParseXetHashError {
            input: s.chars().take(80).collect(),
        };
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refuse());
        }
        let mut bytes = [0u8; 32];
        for (i, word) in bytes.chunks_exact_mut(8).enumerate() {
            let value = u64::from_str_radix(&s[16 * i..16 * i + 16], 16).map_err(|_| refuse())?;
            word.copy_from_slice(&value.to_le_bytes());
        }
        Ok(XetHash(bytes))
    }
}

impl Serialize for XetHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for XetHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<XetHash, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = XetHash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Xet hash (64 hex digits)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<XetHash, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The hash of one chunk: BLAKE3 keyed with `DATA_KEY` over the chunk's uncompressed bytes.
pub fn chunk_hash(chunk: &[u8]) -> XetHash {
    XetHash(*blake3::keyed_hash(&DATA_KEY, chunk).as_bytes())
}

/// One Merkle node from a group of consecutive nodes: the keyed hash of the lines
/// `"{hash} : {size}\n"`, and the sum of the sizes.
fn merge_group(group: &[(XetHash, u64)]) -> (XetHash, u64) {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(group.len() * 88);
    let mut total = 0u64;
    for (hash, size) in group {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{hash} : {size}");
        total = total.wrapping_add(*size);
    }
    let hash = blake3::keyed_hash(&INTERNAL_NODE_KEY, text.as_bytes());
    (XetHash(*hash.as_bytes()), total)
}

/// How many nodes from the start of `nodes` form the next group, when `nodes` runs to the end
/// of its level: all of them when at most 2; else up to and including the first node from the
/// third on whose hash is a cut, and at most [`MAX_GROUP`].
fn next_cut(nodes: &[(XetHash, u64)]) -> usize {
    if nodes.len() <= 2 {
        return nodes.len();
    }
    let end = MAX_GROUP.min(nodes.len());
    (2..end)
        .find(|&i| nodes[i].0.is_cut())
        .map_or(end, |i| i + 1)
}

/// The root of the Xet Merkle aggregation over `(hash, size)` leaves, in order (§5.3).
///
/// Each level is cut into groups of at most 9 nodes (a group ends after a node, from its third
/// on, whose hash's last little-endian word is a multiple of 4) and each group becomes one node
/// of the next level, until one node is left. An empty list gives [`XetHash::ZERO`]; a
/// single leaf is its own root (it is not hashed again).
pub fn merkle_root(leaves: &[(XetHash, u64)]) -> XetHash {
    if leaves.is_empty() {
        return XetHash::ZERO;
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len() / 2 + 1);
        let mut start = 0;
        while start < level.len() {
            let end = start + next_cut(&level[start..]);
            next.push(merge_group(&level[start..end]));
            start = end;
        }
        level = next;
    }
    level[0].0
}

/// The hash of a xorb: the Merkle root over its chunks' `(hash, length)`.
pub fn xorb_hash(chunks: &[(XetHash, u64)]) -> XetHash {
    merkle_root(chunks)
}

/// The Xet hash of a file (its `X-Xet-Hash`) from its chunks' `(hash, length)` in file order:
/// the Merkle root, hashed again with the Hub's all-zero salt as the key. An empty file's hash
/// is [`XetHash::ZERO`].
pub fn file_hash(chunks: &[(XetHash, u64)]) -> XetHash {
    file_hash_with_salt(chunks, &HUB_FILE_SALT)
}

/// [`file_hash`] with another salt (the Hub always uses 32 zero bytes).
pub fn file_hash_with_salt(chunks: &[(XetHash, u64)], salt: &[u8; 32]) -> XetHash {
    salted(merkle_root(chunks), chunks.is_empty(), salt)
}

/// The root keyed with `salt`, except for an empty list (whose hash stays zero).
fn salted(root: XetHash, empty: bool, salt: &[u8; 32]) -> XetHash {
    if empty {
        return XetHash::ZERO;
    }
    XetHash(*blake3::keyed_hash(salt, root.as_bytes()).as_bytes())
}

/// The verification ("range") hash of a term, as upload shards carry it: BLAKE3 keyed with
/// `VERIFICATION_KEY` over the raw bytes of the term's chunk hashes. A reader never needs it;
/// it is here so the reference vectors of the spec can be checked in one place.
pub fn range_hash(chunk_hashes: &[XetHash]) -> XetHash {
    let mut hasher = blake3::Hasher::new_keyed(&VERIFICATION_KEY);
    for hash in chunk_hashes {
        hasher.update(hash.as_bytes());
    }
    XetHash(*hasher.finalize().as_bytes())
}

/// Computes a file's Xet hash from its decoded chunks as they arrive, in file order.
///
/// Memory stays small however long the file: the Merkle levels are reduced as soon as a group
/// is known (a group never looks more than 9 nodes ahead), so the hasher holds at most a few
/// nodes per level, not one entry per chunk. The result equals [`file_hash`] over all chunks.
///
/// Chunk boundaries matter: feed each chunk exactly as the xorb's chunk headers delimit it
/// (what [`super::reconstruction::Assembler`] yields for a whole-file reconstruction), never
/// arbitrary slices of the byte stream.
#[derive(Debug, Clone, Default)]
pub struct XetHasher {
    /// Level 0 holds chunk leaves; level `k + 1` the groups closed on level `k`.
    levels: Vec<Level>,
    /// Chunks fed.
    chunks: u64,
    /// Bytes fed.
    bytes: u64,
}

/// One level of the streaming Merkle reduction.
#[derive(Debug, Clone, Default)]
struct Level {
    /// Nodes not yet in a closed group (fewer than [`MAX_GROUP`] after each push).
    pending: Vec<(XetHash, u64)>,
    /// Nodes ever pushed to this level.
    total: u64,
}

impl XetHasher {
    /// A hasher that has seen no chunk.
    pub fn new() -> XetHasher {
        XetHasher::default()
    }

    /// Hashes the next chunk (its decoded bytes) and adds it; returns the chunk's hash.
    pub fn update_chunk(&mut self, chunk: &[u8]) -> XetHash {
        let hash = chunk_hash(chunk);
        self.add_chunk_hash(hash, chunk.len() as u64);
        hash
    }

    /// Adds the next chunk by its hash and length (for a chunk hashed elsewhere).
    pub fn add_chunk_hash(&mut self, hash: XetHash, len: u64) {
        self.chunks += 1;
        self.bytes += len;
        self.push(0, (hash, len));
    }

    /// Chunks added so far.
    pub fn chunk_count(&self) -> u64 {
        self.chunks
    }

    /// Bytes added so far (the file's length once all chunks are in).
    pub fn byte_count(&self) -> u64 {
        self.bytes
    }

    /// The file's Xet hash (zero salt, as on the Hub) over every chunk added.
    pub fn finish(self) -> XetHash {
        let empty = self.chunks == 0;
        salted(self.finish_root(), empty, &HUB_FILE_SALT)
    }

    /// The unsalted Merkle root over every chunk added: the xorb hash, when the chunks are
    /// those of one xorb.
    pub fn finish_root(mut self) -> XetHash {
        let mut level = 0;
        loop {
            let top = level + 1 == self.levels.len();
            let Some(current) = self.levels.get_mut(level) else {
                return XetHash::ZERO;
            };
            if top && current.total <= 1 {
                return current.pending.first().map_or(XetHash::ZERO, |node| node.0);
            }
            // The level is complete: close its last groups with the end-of-level rule.
            let pending = std::mem::take(&mut current.pending);
            let mut start = 0;
            while start < pending.len() {
                let end = start + next_cut(&pending[start..]);
                self.push(level + 1, merge_group(&pending[start..end]));
                start = end;
            }
            level += 1;
        }
    }

    /// Pushes a node onto `level` and closes every group that no later node can change.
    fn push(&mut self, level: usize, node: (XetHash, u64)) {
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Level::default);
        }
        let current = &mut self.levels[level];
        current.pending.push(node);
        current.total += 1;
        let mut closed = Vec::new();
        loop {
            let pending = &self.levels[level].pending;
            // A group is settled once a cut appears at its third node or later, or once it
            // reaches the largest size; before that, more nodes could still join it.
            let end = MAX_GROUP.min(pending.len());
            let Some(size) = (2..end)
                .find(|&i| pending[i].0.is_cut())
                .map(|i| i + 1)
                .or((pending.len() >= MAX_GROUP).then_some(MAX_GROUP))
            else {
                break;
            };
            closed.push(merge_group(&pending[..size]));
            self.levels[level].pending.drain(..size);
        }
        for node in closed {
            self.push(level + 1, node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> XetHash {
        s.parse().unwrap()
    }

    /// Bytes from plain (raw byte order) hex.
    fn raw(s: &str) -> XetHash {
        XetHash::from_bytes(hex::decode(s).unwrap().try_into().unwrap())
    }

    #[test]
    fn string_form_reverses_each_eight_byte_word() {
        // Spec `api.md`: bytes 00 01 … 1f. (xet-protocol.md §5.1 quotes it with the `10` of
        // the third word missing: 62 digits.)
        let bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
        let hash = XetHash::from_bytes(bytes);
        let text = "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918";
        assert_eq!(hash.to_string(), text);
        assert_eq!(h(text), hash);
        // xet-core `data_hash.rs` test_hash_hex_string_endianness.
        let bytes = [
            22, 175, 58, 132, 4, 75, 131, 214, 190, 153, 138, 66, 226, 3, 153, 242, 204, 86, 80,
            234, 249, 153, 80, 99, 159, 80, 65, 138, 236, 231, 149, 78,
        ];
        let text = "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f";
        assert_eq!(XetHash::from_bytes(bytes).to_string(), text);
        assert_eq!(h(text).as_bytes(), &bytes);
        assert_eq!(h(&text.to_uppercase()), h(text));
    }

    #[test]
    fn malformed_strings_are_refused() {
        for bad in [
            "",
            "abc",
            &"g".repeat(64),
            &"0".repeat(63),
            &"0".repeat(65),
            &"é".repeat(32),
        ] {
            assert!(bad.parse::<XetHash>().is_err(), "{bad:?}");
        }
        let err = "x".repeat(200).parse::<XetHash>().unwrap_err();
        assert_eq!(err.input.len(), 80);
    }

    #[test]
    fn serde_uses_the_string_form_also_as_a_map_key() {
        let hash = h("4e39378b9d359f118190557a1f44130219a54e5fcfa07bd96cf50b466fe651b1");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{hash}\""));
        assert_eq!(serde_json::from_str::<XetHash>(&json).unwrap(), hash);
        let map: std::collections::BTreeMap<XetHash, u32> =
            serde_json::from_str(&format!("{{\"{hash}\": 1}}")).unwrap();
        assert_eq!(map[&hash], 1);
        assert!(serde_json::from_str::<XetHash>("\"00\"").is_err());
        assert!(serde_json::from_str::<XetHash>("7").is_err());
    }

    /// The 18 cases of xet-core's `aggregated_hashes.rs` test_correctness (0 to 100 leaves,
    /// three salts each), through the batch functions and the streaming hasher.
    #[test]
    fn merkle_and_file_hashes_match_xet_core_reference() {
        let text = include_str!("testdata/merkle_reference.txt");
        let mut leaves = Vec::new();
        let mut cases = 0;
        let mut salts = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields[..] {
                ["leaf", hash, size] => leaves.push((h(hash), size.parse::<u64>().unwrap())),
                ["xorb", root] => {
                    cases += 1;
                    assert_eq!(xorb_hash(&leaves), h(root), "{leaves:?}");
                    let mut hasher = XetHasher::new();
                    for &(hash, size) in &leaves {
                        hasher.add_chunk_hash(hash, size);
                    }
                    assert_eq!(hasher.clone().finish_root(), h(root), "{leaves:?}");
                    assert_eq!(hasher.finish(), file_hash(&leaves), "{leaves:?}");
                }
                ["file", salt, hash] => {
                    salts += 1;
                    let salt = *h(salt).as_bytes();
                    assert_eq!(file_hash_with_salt(&leaves, &salt), h(hash), "{leaves:?}");
                }
                [""] => leaves.clear(),
                _ => panic!("bad line {line:?}"),
            }
        }
        assert_eq!((cases, salts), (18, 54));
    }

    /// §9.1: the cases the protocol note quotes, with the zero salt of the Hub.
    #[test]
    fn protocol_note_merkle_vectors() {
        let a = h("cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6");
        let b = h("c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72");
        let c = h("0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37");
        assert_eq!(xorb_hash(&[(a, 100)]), a);
        assert_eq!(
            file_hash(&[(a, 100)]),
            h("8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661")
        );
        let three = [(a, 100), (b, 200), (c, 300)];
        assert_eq!(
            xorb_hash(&three),
            h("71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc")
        );
        assert_eq!(
            file_hash(&three),
            h("54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715")
        );
        let four = [(a, 100); 4];
        assert_eq!(
            xorb_hash(&four),
            h("89f2ada89ff8c96763c6b25010e6dd76a4c05b1466207633ea559acf2093211b")
        );
        assert_eq!(
            file_hash(&four),
            h("2cdba690d0e09563596e0cda626d43eb4c96ef1e994fe72d9b2f5a83cfcd36dd")
        );
        assert_eq!(xorb_hash(&[]), XetHash::ZERO);
        assert_eq!(file_hash(&[]), XetHash::ZERO);
        assert_eq!(XetHasher::new().finish(), XetHash::ZERO);
        assert_eq!(XetHasher::new().finish_root(), XetHash::ZERO);
    }

    /// §9.2 A: `hello world` as one chunk.
    #[test]
    fn hello_world_vector() {
        let chunk = chunk_hash(b"hello world");
        assert_eq!(
            chunk,
            raw("119f359d8b37394e0213441f7a559081d97ba0cf5f4ea519b151e66f460bf56c")
        );
        assert_eq!(
            chunk.to_string(),
            "4e39378b9d359f118190557a1f44130219a54e5fcfa07bd96cf50b466fe651b1"
        );
        assert_eq!(xorb_hash(&[(chunk, 11)]), chunk);
        let file = h("f15edd43b7e85cfd25e2758ffe13b99fdd09dfa817e8d9f6548722a7a126db7f");
        assert_eq!(file_hash(&[(chunk, 11)]), file);
        let mut hasher = XetHasher::new();
        assert_eq!(hasher.update_chunk(b"hello world"), chunk);
        assert_eq!((hasher.chunk_count(), hasher.byte_count()), (1, 11));
        assert_eq!(hasher.finish(), file);
        assert_eq!(
            range_hash(&[chunk]),
            h("22ef2fdcff5cea306e42ad7e15ed8a0c5e789e7d2ec34658c10d2758946847da")
        );
    }

    /// §9.2 B and C: 200 000 bytes cut at 65 536 and 131 072, and a revision with ten bytes
    /// changed in the second chunk.
    #[test]
    fn three_chunk_file_vectors() {
        let mut data: Vec<u8> = (0..200_000u32).map(|i| ((7 * i + 3) % 251) as u8).collect();
        let hashes = |data: &[u8]| -> Vec<(XetHash, u64)> {
            [0..65_536, 65_536..131_072, 131_072..200_000]
                .into_iter()
                .map(|r| (chunk_hash(&data[r.clone()]), r.len() as u64))
                .collect()
        };
        let b = hashes(&data);
        let expected = [
            "bf9176f0b9da6a5cda6e22968d915ed72a39061306da66980e93afc658be49b7",
            "c67d1af4680265835d0a0206dfc7074c1145adf668cfd04e7afc56fefd54fcfc",
            "8553819ccd02d45003e6a1e920d0ae77480cce0b8ef7d1d72e433a70c892a56f",
        ];
        for ((hash, _), want) in b.iter().zip(expected) {
            assert_eq!(hash.to_string(), want);
        }
        assert_eq!(
            xorb_hash(&b),
            h("507a234b93222162fab071b261a440b6383de370843ea428b4362cbfe6163e54")
        );
        assert_eq!(
            file_hash(&b),
            h("fa0038fcfcfbcf7a4f7be5d5a6d14a8e1ae9e87e02a932fdd8f03a964588fd56")
        );
        data[70_000..70_010].fill(0xFF);
        let c = hashes(&data);
        assert_eq!((c[0], c[2]), (b[0], b[2]));
        let c1 = h("a32df00eed02d9d75a0614b2bfeb992985ec8dc75d6c73840a9c522ef381864c");
        assert_eq!(c[1].0, c1);
        assert_eq!(xorb_hash(&[c[1]]), c1);
        assert_eq!(
            file_hash(&c),
            h("3f39bbfce6e7473d2705fd5d75b3bb30352b7b2336ee3a78386971d2692def7c")
        );
    }

    /// A deterministic pseudo-random hash (splitmix64 words).
    fn pseudo_hash(seed: u64) -> XetHash {
        let mut state = seed;
        let mut bytes = [0u8; 32];
        for word in bytes.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            word.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        XetHash::from_bytes(bytes)
    }

    /// The streaming reduction equals the level-by-level one for every length up to a few
    /// thousand leaves (several tree levels, every end-of-level case).
    #[test]
    fn streaming_hasher_equals_batch_aggregation() {
        let leaves: Vec<(XetHash, u64)> = (0..2_500u64)
            .map(|i| (pseudo_hash(i), i * 7 % 1000))
            .collect();
        let mut hasher = XetHasher::new();
        for n in 0..=leaves.len() {
            if n > 0 {
                let (hash, size) = leaves[n - 1];
                hasher.add_chunk_hash(hash, size);
            }
            if n < 300 || n % 97 == 0 || n == leaves.len() {
                assert_eq!(
                    hasher.clone().finish_root(),
                    merkle_root(&leaves[..n]),
                    "{n}"
                );
                assert_eq!(hasher.clone().finish(), file_hash(&leaves[..n]), "{n}");
            }
        }
        // Hashes that are all cuts, and none: the shortest and the longest groups.
        for hash in [XetHash::ZERO, XetHash::from_bytes([0xFF; 32])] {
            for n in 0..40 {
                let leaves = vec![(hash, 1); n];
                let mut hasher = XetHasher::new();
                for &(h, s) in &leaves {
                    hasher.add_chunk_hash(h, s);
                }
                assert_eq!(hasher.finish_root(), merkle_root(&leaves), "{n}");
            }
        }
        // A level never keeps more than a group's worth of nodes.
        assert!(
            hasher
                .levels
                .iter()
                .all(|level| level.pending.len() < MAX_GROUP)
        );
    }
}
