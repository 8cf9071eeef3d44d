//! Xet hashes (xet-protocol.md §5): keyed BLAKE3 chunk hashes, the Merkle aggregation shared by
//! xorb and file hashes, and the string form with its little-endian 64-bit word order.

use std::fmt;

/// The key of chunk hashes (`DATA_KEY`).
const DATA_KEY: [u8; 32] = [
    102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28, 157, 228, 33, 16,
    155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41,
];

/// The key of Merkle internal nodes (`INTERNAL_NODE_KEY`).
const INTERNAL_NODE_KEY: [u8; 32] = [
    1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230, 93, 221, 83, 111, 55,
    199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63,
];

/// Mean branching factor of the aggregation tree.
const BRANCHING: usize = 4;

/// A 32-byte Xet hash. Its string form reads each 8-byte group as a little-endian `u64`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct XetHash(pub [u8; 32]);

impl XetHash {
    /// Parses the 64-character string form.
    pub fn parse(text: &str) -> Option<XetHash> {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (word, out) in bytes.chunks_mut(8).enumerate() {
            let value = u64::from_str_radix(&text[word * 16..word * 16 + 16], 16).ok()?;
            out.copy_from_slice(&value.to_le_bytes());
        }
        Some(XetHash(bytes))
    }

    /// The last 64-bit word, little-endian (`MerkleHash % n` uses it).
    fn last_word(&self) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[24..32]);
        u64::from_le_bytes(word)
    }

    /// `BLAKE3 keyed_hash(key = self, data)`: `DataHash::hmac`.
    #[must_use]
    pub fn keyed(&self, data: &[u8]) -> XetHash {
        XetHash(*blake3::keyed_hash(&self.0, data).as_bytes())
    }
}

impl fmt::Display for XetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.0.chunks(8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            write!(f, "{:016x}", u64::from_le_bytes(bytes))?;
        }
        Ok(())
    }
}

impl fmt::Debug for XetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The hash of one chunk's (uncompressed) bytes.
pub fn chunk_hash(data: &[u8]) -> XetHash {
    XetHash(*blake3::keyed_hash(&DATA_KEY, data).as_bytes())
}

/// Where the next group of a level ends: after 2..=9 nodes, at the first node from the third on
/// whose last word is a multiple of 4.
fn next_cut(nodes: &[(XetHash, u64)]) -> usize {
    if nodes.len() <= 2 {
        return nodes.len();
    }
    let end = (2 * BRANCHING + 1).min(nodes.len());
    (2..end)
        .find(|&i| nodes[i].0.last_word().is_multiple_of(BRANCHING as u64))
        .map_or(end, |i| i + 1)
}

fn merge(group: &[(XetHash, u64)]) -> (XetHash, u64) {
    use std::fmt::Write as _;
    let mut text = String::new();
    let mut total = 0;
    for (hash, size) in group {
        let _ = writeln!(text, "{hash} : {size}");
        total += size;
    }
    (
        XetHash(*blake3::keyed_hash(&INTERNAL_NODE_KEY, text.as_bytes()).as_bytes()),
        total,
    )
}

/// The root of the aggregation tree over `(hash, size)` leaves; zeros when empty.
fn aggregate(leaves: &[(XetHash, u64)]) -> XetHash {
    if leaves.is_empty() {
        return XetHash::default();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len() / 2 + 1);
        let mut start = 0;
        while start < level.len() {
            let end = start + next_cut(&level[start..]);
            next.push(merge(&level[start..end]));
            start = end;
        }
        level = next;
    }
    level[0].0
}

/// The hash of a xorb holding these chunks, in order.
pub fn xorb_hash(chunks: &[(XetHash, u64)]) -> XetHash {
    aggregate(chunks)
}

/// The Xet file hash (the Hub's salt is 32 zero bytes); zeros for an empty file.
pub fn file_hash(chunks: &[(XetHash, u64)]) -> XetHash {
    file_hash_with_salt(chunks, &[0; 32])
}

/// The file hash with a salt.
pub fn file_hash_with_salt(chunks: &[(XetHash, u64)], salt: &[u8; 32]) -> XetHash {
    if chunks.is_empty() {
        return XetHash::default();
    }
    XetHash(*salt).keyed(&aggregate(chunks).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> XetHash {
        XetHash::parse(text).unwrap()
    }

    #[test]
    fn string_form_reverses_each_word() {
        let bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
        let text = XetHash(bytes).to_string();
        assert_eq!(
            text,
            "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
        );
        assert_eq!(XetHash::parse(&text), Some(XetHash(bytes)));
        let bytes = [
            22, 175, 58, 132, 4, 75, 131, 214, 190, 153, 138, 66, 226, 3, 153, 242, 204, 86, 80,
            234, 249, 153, 80, 99, 159, 80, 65, 138, 236, 231, 149, 78,
        ];
        assert_eq!(
            XetHash(bytes).to_string(),
            "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f"
        );
    }

    /// Leaves, xorb hash, file hash.
    type Case<'a> = (Vec<(XetHash, u64)>, &'a str, &'a str);

    #[test]
    fn merkle_reference_vectors() {
        let a = h("cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6");
        let b = h("c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72");
        let c = h("0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37");
        let d = h("adf8773496a9b7319b2e50dc98093f344053b17d8ad37100b9c07d9805988784");
        let zero = XetHash::default();
        let zeros = "0".repeat(64);
        let zeros = zeros.as_str();
        let cases: Vec<Case> = vec![
            (vec![], zeros, zeros),
            (
                vec![(zero, 0)],
                zeros,
                "638a6bc391964a85939d48f008e8bdbae6a7975e7ca2d87a3ce2492f4e4d8a4c",
            ),
            (
                vec![(a, 100)],
                "cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6",
                "8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661",
            ),
            (
                vec![(a, 100), (b, 200), (c, 300)],
                "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc",
                "54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715",
            ),
            (
                vec![(a, 100); 4],
                "89f2ada89ff8c96763c6b25010e6dd76a4c05b1466207633ea559acf2093211b",
                "2cdba690d0e09563596e0cda626d43eb4c96ef1e994fe72d9b2f5a83cfcd36dd",
            ),
            (
                vec![(a, 100), (b, 200), (a, 100), (b, 200)],
                "90f8313ef12df385d237a067aded02562c35ded12116e32eba401dbc86c38031",
                "284ea045e5a579e99c21ec597c20de1fc0c09e7168162aac00db8f61b3d82dbb",
            ),
            (
                vec![(a, 100), (b, 200), (a, 100), (b, 200), (c, 300), (d, 400)],
                "52c826f99507aa05d0b45e9837fa1709e0485425cfbcb1e80db3905cf98b3ee9",
                "91d21684db364c8883ab8209fa5eb2e781cf07f37e1fa43e731c30839afe422f",
            ),
            (
                vec![(zero, 0), (a, 100), (zero, 0), (a, 100)],
                "e1755c85be07fd6b7a8d7becc85e6d8c5f507f2a3d38b316bcb6f97855e72188",
                "207caf24fce045ac6d873b4c6186a5a435d600d103e1ae345e55ddf1f4b7f7ef",
            ),
        ];
        for (leaves, xorb, file) in cases {
            assert_eq!(xorb_hash(&leaves).to_string(), xorb, "{leaves:?}");
            assert_eq!(file_hash(&leaves).to_string(), file, "{leaves:?}");
        }
        // A salted file hash (salt given in string form).
        let salt = h("285371a6a3c8c4e561469c97766c46f0b9799bd8ea51a4ad27a082df8c28b7da");
        assert_eq!(
            file_hash_with_salt(&[(a, 100)], &salt.0).to_string(),
            "6c18994ed5e6a223aeff68a6e386dbba7b3c25de076245dc77892b4ad49ac978"
        );
    }

    #[test]
    fn hello_world_vector() {
        let chunk = chunk_hash(b"hello world");
        assert_eq!(
            hex::encode(chunk.0),
            "119f359d8b37394e0213441f7a559081d97ba0cf5f4ea519b151e66f460bf56c"
        );
        assert_eq!(
            chunk.to_string(),
            "4e39378b9d359f118190557a1f44130219a54e5fcfa07bd96cf50b466fe651b1"
        );
        assert_eq!(xorb_hash(&[(chunk, 11)]), chunk);
        assert_eq!(
            file_hash(&[(chunk, 11)]).to_string(),
            "f15edd43b7e85cfd25e2758ffe13b99fdd09dfa817e8d9f6548722a7a126db7f"
        );
    }

    #[test]
    fn fixed_cut_vectors_b_and_c() {
        let mut data: Vec<u8> = (0..200_000u32).map(|i| ((7 * i + 3) % 251) as u8).collect();
        let leaves = |data: &[u8]| -> Vec<(XetHash, u64)> {
            [0..65_536, 65_536..131_072, 131_072..200_000]
                .into_iter()
                .map(|r| (chunk_hash(&data[r.clone()]), r.len() as u64))
                .collect()
        };
        let b = leaves(&data);
        let strings: Vec<String> = b.iter().map(|(h, _)| h.to_string()).collect();
        assert_eq!(
            strings,
            [
                "bf9176f0b9da6a5cda6e22968d915ed72a39061306da66980e93afc658be49b7",
                "c67d1af4680265835d0a0206dfc7074c1145adf668cfd04e7afc56fefd54fcfc",
                "8553819ccd02d45003e6a1e920d0ae77480cce0b8ef7d1d72e433a70c892a56f",
            ]
        );
        assert_eq!(
            xorb_hash(&b).to_string(),
            "507a234b93222162fab071b261a440b6383de370843ea428b4362cbfe6163e54"
        );
        assert_eq!(
            file_hash(&b).to_string(),
            "fa0038fcfcfbcf7a4f7be5d5a6d14a8e1ae9e87e02a932fdd8f03a964588fd56"
        );
        data[70_000..70_010].fill(0xFF);
        let c = leaves(&data);
        assert_eq!(
            c[1].0.to_string(),
            "a32df00eed02d9d75a0614b2bfeb992985ec8dc75d6c73840a9c522ef381864c"
        );
        assert_eq!(
            file_hash(&c).to_string(),
            "3f39bbfce6e7473d2705fd5d75b3bb30352b7b2336ee3a78386971d2692def7c"
        );
    }
}
