//! The CAS answers of the read path, as serde types, and the assembly of a file from them
//! (xet-protocol.md §2.4, §3.2, §3.3, §3.6).
//!
//! A reconstruction lists the file's *terms* in order: each is a run of chunks `[start, end)`
//! of one xorb and the number of bytes they decode to. Separately, per xorb, it says which byte
//! ranges to fetch and which chunks each range holds. A download fetches those ranges, decodes
//! each into a [`DecodedRange`], and hands the terms one by one to an [`Assembler`], which
//! checks every term's length, skips `offset_into_first_range` and yields the file's bytes in
//! order. Nothing needs the whole file in memory: a decoded range can be dropped once no later
//! term uses it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::hash::XetHash;
use super::xorb::{XorbError, decode_range_into};

/// Chunk indices `[start, end)` within a xorb (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChunkRange {
    /// First chunk.
    pub start: u32,
    /// One past the last chunk.
    pub end: u32,
}

impl ChunkRange {
    /// Chunks `[start, end)`.
    pub fn new(start: u32, end: u32) -> ChunkRange {
        ChunkRange { start, end }
    }

    /// Number of chunks (zero for a backwards range).
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every chunk of `inner` is in this range.
    pub fn contains(&self, inner: ChunkRange) -> bool {
        self.start <= inner.start && inner.start <= inner.end && inner.end <= self.end
    }
}

impl fmt::Display for ChunkRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Bytes `[start, end]` of a xorb, end **inclusive**, as an HTTP `Range` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// Bytes `[start, end]`.
    pub fn new(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    /// Number of bytes (zero for a backwards range).
    pub fn len(&self) -> u64 {
        if self.end < self.start {
            0
        } else {
            self.end - self.start + 1
        }
    }

    /// Whether the range holds no byte (only a backwards range does).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of a `Range` header asking for this range: `bytes=START-END`.
    pub fn header_value(&self) -> String {
        format!("bytes={}-{}", self.start, self.end)
    }
}

/// One term of a reconstruction: chunks `range` of xorb `hash`, which decode to
/// `unpacked_length` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconstructionTerm {
    /// The xorb.
    pub hash: XetHash,
    /// Bytes the term's chunks decode to; a mismatch means a truncated or corrupt download.
    pub unpacked_length: u32,
    /// The term's chunks in the xorb.
    pub range: ChunkRange,
}

/// How to fetch one range of a xorb (v1): GET `url` with `Range: bytes=url_range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchInfo {
    /// The chunks the bytes hold.
    pub range: ChunkRange,
    /// A short-lived signed URL; sent without `Authorization`.
    pub url: String,
    /// The bytes to ask for.
    pub url_range: ByteRange,
}

/// `GET {cas}/v1/reconstructions/{file_id}` (deprecated, still served; §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconstructionV1 {
    /// Bytes to skip at the start of the first term (a `Range` request starting mid-chunk).
    pub offset_into_first_range: u64,
    /// The file's terms, in order.
    pub terms: Vec<ReconstructionTerm>,
    /// Per xorb used by a term, the ranges to fetch.
    pub fetch_info: BTreeMap<XetHash, Vec<FetchInfo>>,
}

/// One byte range of a [`XorbFetch`] and the chunks it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XorbRange {
    /// The chunks the bytes hold.
    pub chunks: ChunkRange,
    /// The bytes to ask for.
    pub bytes: ByteRange,
}

/// A signed URL covering some ranges of one xorb (v2). The ranges may be asked for in one
/// request (`Range: bytes=S1-E1,S2-E2`, answered `multipart/byteranges`) or one at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XorbFetch {
    /// A short-lived signed URL; sent without `Authorization`.
    pub url: String,
    /// The ranges the URL may serve, sorted by first chunk.
    pub ranges: Vec<XorbRange>,
}

/// `GET {cas}/v2/reconstructions/{file_id}` (§3.3); a v1 answer converts into it losslessly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconstructionV2 {
    /// Bytes to skip at the start of the first term (a `Range` request starting mid-chunk).
    pub offset_into_first_range: u64,
    /// The file's terms, in order.
    pub terms: Vec<ReconstructionTerm>,
    /// Per xorb used by a term, the signed URLs and their ranges (usually one URL per xorb).
    pub xorbs: BTreeMap<XetHash, Vec<XorbFetch>>,
}

impl From<ReconstructionV1> for ReconstructionV2 {
    /// Each v1 fetch becomes a v2 fetch with one range, as xet-core converts them.
    fn from(v1: ReconstructionV1) -> ReconstructionV2 {
        let xorbs = v1
            .fetch_info
            .into_iter()
            .map(|(hash, fetches)| {
                let fetches = fetches
                    .into_iter()
                    .map(|info| XorbFetch {
                        url: info.url,
                        ranges: vec![XorbRange {
                            chunks: info.range,
                            bytes: info.url_range,
                        }],
                    })
                    .collect();
                (hash, fetches)
            })
            .collect();
        ReconstructionV2 {
            offset_into_first_range: v1.offset_into_first_range,
            terms: v1.terms,
            xorbs,
        }
    }
}

impl ReconstructionV2 {
    /// Bytes the terms decode to, less `offset_into_first_range`: the file's length for a
    /// whole-file answer (a ranged answer may run past the requested end).
    pub fn unpacked_len(&self) -> u64 {
        let total: u64 = self
            .terms
            .iter()
            .map(|term| u64::from(term.unpacked_length))
            .sum();
        total.saturating_sub(self.offset_into_first_range)
    }

    /// The fetch and the range in it that hold every chunk of `term`, if the answer has one.
    pub fn source_of(&self, term: &ReconstructionTerm) -> Option<(&XorbFetch, &XorbRange)> {
        self.xorbs.get(&term.hash)?.iter().find_map(|fetch| {
            let range = fetch
                .ranges
                .iter()
                .find(|r| r.chunks.contains(term.range))?;
            Some((fetch, range))
        })
    }

    /// Checks that every term has a range to come from (see [`ReconstructionV2::source_of`]).
    pub fn check_sources(&self) -> Result<(), ReconstructionError> {
        for (index, term) in self.terms.iter().enumerate() {
            if self.source_of(term).is_none() {
                return Err(ReconstructionError::MissingRange {
                    term: index,
                    xorb: term.hash,
                    chunks: term.range,
                });
            }
        }
        Ok(())
    }
}

/// The answer of `GET {hub}/api/{type}s/{repo}/xet-read-token/{rev}` (§2.4).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XetToken {
    /// The CAS bearer token (`xet_…`).
    pub access_token: String,
    /// When the token expires, in Unix seconds.
    pub exp: u64,
    /// The CAS endpoint to use with it.
    pub cas_url: String,
}

impl fmt::Debug for XetToken {
    /// Never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XetToken")
            .field("access_token", &"<redacted>")
            .field("exp", &self.exp)
            .field("cas_url", &self.cas_url)
            .finish()
    }
}

/// Why a file could not be assembled from its reconstruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconstructionError {
    /// No fetched range holds the chunks of a term.
    #[error("term {term} needs chunks {chunks} of xorb {xorb}, which no fetched range holds")]
    MissingRange {
        /// The term's index.
        term: usize,
        /// Its xorb.
        xorb: XetHash,
        /// Its chunks.
        chunks: ChunkRange,
    },
    /// A term's chunks decode to another length than the reconstruction says.
    #[error(
        "term {term} (chunks {chunks} of xorb {xorb}) decodes to {actual} bytes, but the reconstruction says {expected}"
    )]
    TermLength {
        /// The term's index.
        term: usize,
        /// Its xorb.
        xorb: XetHash,
        /// Its chunks.
        chunks: ChunkRange,
        /// `unpacked_length`.
        expected: u32,
        /// What the chunks decode to.
        actual: u64,
    },
    /// `offset_into_first_range` is beyond the bytes of all terms.
    #[error("offset_into_first_range is {offset}, but the terms hold only {total} bytes")]
    OffsetPastEnd {
        /// `offset_into_first_range`.
        offset: u64,
        /// Bytes of all terms.
        total: u64,
    },
    /// A fetched range does not decode.
    #[error("chunks {chunks} of xorb {xorb}: {source}")]
    Decode {
        /// The xorb.
        xorb: XetHash,
        /// The chunks the range was fetched for.
        chunks: ChunkRange,
        /// What was wrong with the bytes.
        source: XorbError,
    },
}

/// The decoded chunks of one fetched range of a xorb, held back to back with their ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRange {
    xorb: XetHash,
    chunks: ChunkRange,
    /// Shared, so the parts of the file it holds go to the disk writer without a copy.
    data: bytes::Bytes,
    /// Where each chunk ends in `data`.
    ends: Vec<u64>,
}

impl DecodedRange {
    /// Decodes the bytes fetched for `chunks` of `xorb`: they must be exactly those chunks.
    pub fn decode(
        xorb: XetHash,
        chunks: ChunkRange,
        serialized: &[u8],
    ) -> Result<DecodedRange, ReconstructionError> {
        let mut data = Vec::new();
        let ends = decode_range_into(serialized, u64::from(chunks.len()), &mut data).map_err(
            |source| ReconstructionError::Decode {
                xorb,
                chunks,
                source,
            },
        )?;
        Ok(DecodedRange::from_decoded(xorb, chunks, data, ends))
    }

    /// A range decoded elsewhere (by a [`super::xorb::RangeDecoder`]): chunks `chunks` of
    /// `xorb`, back to back in `data`, chunk `i` ending at `ends[i]`.
    pub fn from_decoded(
        xorb: XetHash,
        chunks: ChunkRange,
        data: Vec<u8>,
        ends: Vec<u64>,
    ) -> DecodedRange {
        DecodedRange {
            xorb,
            chunks,
            data: data.into(),
            ends,
        }
    }

    /// A range from chunks already decoded elsewhere (a copy kept from an earlier download),
    /// starting at chunk `first` of `xorb`.
    pub fn from_chunks<I>(xorb: XetHash, first: u32, chunks: I) -> DecodedRange
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        for chunk in chunks {
            data.extend_from_slice(chunk.as_ref());
            ends.push(data.len() as u64);
        }
        let count = u32::try_from(ends.len()).unwrap_or(u32::MAX);
        DecodedRange {
            xorb,
            chunks: ChunkRange::new(first, first.saturating_add(count)),
            data: data.into(),
            ends,
        }
    }

    /// The decoded bytes, back to back (slice them with [`bytes::Bytes::slice_ref`]).
    pub fn bytes(&self) -> &bytes::Bytes {
        &self.data
    }

    /// The decoded bytes, given back (a caller may reclaim the buffer once it is unshared).
    pub fn into_bytes(self) -> bytes::Bytes {
        self.data
    }

    /// The xorb.
    pub fn xorb(&self) -> XetHash {
        self.xorb
    }

    /// The chunks held.
    pub fn chunks(&self) -> ChunkRange {
        self.chunks
    }

    /// Decoded bytes held.
    pub fn byte_len(&self) -> u64 {
        self.data.len() as u64
    }

    /// Whether this range holds chunks `range` of `xorb`.
    pub fn covers(&self, xorb: &XetHash, range: ChunkRange) -> bool {
        self.xorb == *xorb && self.chunks.contains(range)
    }

    /// The decoded bytes of chunk `index` of the xorb, if held.
    pub fn chunk(&self, index: u32) -> Option<&[u8]> {
        if !self
            .chunks
            .contains(ChunkRange::new(index, index.saturating_add(1)))
        {
            return None;
        }
        let i = (index - self.chunks.start) as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start as usize..self.ends[i] as usize])
    }
}

/// Assembles a file from its terms, one term at a time, in order.
///
/// Feed every term of the reconstruction, in order, with a [`DecodedRange`] that covers it;
/// each call checks the term's length against `unpacked_length` and returns the term's part of
/// the file as slices. For a whole-file reconstruction (offset 0, no limit) each slice is
/// exactly one chunk, so [`super::hash::XetHasher::update_chunk`] can verify the file as it is
/// written. Call [`Assembler::finish`] after the last term.
#[derive(Debug, Clone)]
pub struct Assembler {
    /// Bytes still to skip (`offset_into_first_range`, which may span chunks and terms).
    skip: u64,
    /// Bytes still to yield, for a `Range` request (`None`: everything).
    limit: Option<u64>,
    /// The initial offset, for the error of an offset past the end.
    offset: u64,
    /// Terms seen.
    terms: usize,
    /// Bytes of all terms seen.
    total: u64,
    /// Bytes yielded.
    written: u64,
}

impl Assembler {
    /// An assembler for a reconstruction with this `offset_into_first_range`.
    pub fn new(offset_into_first_range: u64) -> Assembler {
        Assembler {
            skip: offset_into_first_range,
            limit: None,
            offset: offset_into_first_range,
            terms: 0,
            total: 0,
            written: 0,
        }
    }

    /// Yields at most `len` bytes: the length asked for by a `Range` request (the terms of a
    /// ranged answer end on a chunk boundary past the requested end).
    #[must_use]
    pub fn with_limit(mut self, len: u64) -> Assembler {
        self.limit = Some(len);
        self
    }

    /// Bytes yielded so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The next term's part of the file, from `source` (which must hold the term's chunks).
    /// Checks the term's decoded length first, so nothing of a bad term is yielded.
    pub fn term<'a>(
        &mut self,
        term: &ReconstructionTerm,
        source: &'a DecodedRange,
    ) -> Result<Vec<&'a [u8]>, ReconstructionError> {
        let index = self.terms;
        self.terms += 1;
        if !source.covers(&term.hash, term.range) {
            return Err(ReconstructionError::MissingRange {
                term: index,
                xorb: term.hash,
                chunks: term.range,
            });
        }
        let chunks: Vec<&[u8]> = (term.range.start..term.range.end)
            .filter_map(|i| source.chunk(i))
            .collect();
        let actual: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        if actual != u64::from(term.unpacked_length) {
            return Err(ReconstructionError::TermLength {
                term: index,
                xorb: term.hash,
                chunks: term.range,
                expected: term.unpacked_length,
                actual,
            });
        }
        self.total += actual;
        let mut pieces = Vec::with_capacity(chunks.len());
        for mut chunk in chunks {
            if self.skip > 0 {
                // A chunk exactly as long as what is left to skip is skipped whole (§3.6).
                if self.skip >= chunk.len() as u64 {
                    self.skip -= chunk.len() as u64;
                    continue;
                }
                chunk = &chunk[self.skip as usize..];
                self.skip = 0;
            }
            if let Some(limit) = &mut self.limit {
                if *limit == 0 {
                    break;
                }
                let keep = chunk
                    .len()
                    .min(usize::try_from(*limit).unwrap_or(usize::MAX));
                chunk = &chunk[..keep];
                *limit -= keep as u64;
            }
            self.written += chunk.len() as u64;
            pieces.push(chunk);
        }
        Ok(pieces)
    }

    /// Ends the assembly; returns the bytes yielded. Fails when the offset to skip went past
    /// every term (a reconstruction that does not reach its own start).
    pub fn finish(self) -> Result<u64, ReconstructionError> {
        if self.skip > 0 {
            return Err(ReconstructionError::OffsetPastEnd {
                offset: self.offset,
                total: self.total,
            });
        }
        Ok(self.written)
    }
}

/// Assembles a whole reconstruction in memory from its decoded ranges (any order): a
/// convenience for small files and tests; a download feeds an [`Assembler`] term by term.
pub fn assemble(
    response: &ReconstructionV2,
    ranges: &[DecodedRange],
) -> Result<Vec<u8>, ReconstructionError> {
    let mut assembler = Assembler::new(response.offset_into_first_range);
    let mut out = Vec::new();
    for (index, term) in response.terms.iter().enumerate() {
        let source = ranges
            .iter()
            .find(|range| range.covers(&term.hash, term.range))
            .ok_or(ReconstructionError::MissingRange {
                term: index,
                xorb: term.hash,
                chunks: term.range,
            })?;
        for piece in assembler.term(term, source)? {
            out.extend_from_slice(piece);
        }
    }
    assembler.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xet::hash::{XetHasher, chunk_hash};
    use crate::xet::test_encode::TestXorb;
    use crate::xet::xorb::CompressionScheme;

    fn h(s: &str) -> XetHash {
        s.parse().unwrap()
    }

    const XB: &str = "507a234b93222162fab071b261a440b6383de370843ea428b4362cbfe6163e54";
    const XC: &str = "a32df00eed02d9d75a0614b2bfeb992985ec8dc75d6c73840a9c522ef381864c";

    /// §9.2 B: 200 000 bytes, `byte[i] = (7i + 3) % 251`.
    fn file_b() -> Vec<u8> {
        (0..200_000u32).map(|i| ((7 * i + 3) % 251) as u8).collect()
    }

    fn chunks_of(data: &[u8]) -> Vec<&[u8]> {
        vec![&data[..65_536], &data[65_536..131_072], &data[131_072..]]
    }

    fn term(xorb: &str, unpacked_length: u32, start: u32, end: u32) -> ReconstructionTerm {
        ReconstructionTerm {
            hash: h(xorb),
            unpacked_length,
            range: ChunkRange::new(start, end),
        }
    }

    /// Fetches and decodes every range of the answer from the xorbs, as a download would.
    fn fetch_all(
        response: &ReconstructionV2,
        xorbs: &BTreeMap<XetHash, TestXorb>,
    ) -> Vec<DecodedRange> {
        let mut out = Vec::new();
        for (hash, fetches) in &response.xorbs {
            for range in fetches.iter().flat_map(|f| &f.ranges) {
                let xorb = &xorbs[hash];
                let (start, end) = xorb.byte_range(range.chunks.start, range.chunks.end);
                assert_eq!(range.bytes, ByteRange::new(start, end));
                let bytes = xorb.fetch(range.chunks.start, range.chunks.end);
                out.push(DecodedRange::decode(*hash, range.chunks, bytes).unwrap());
            }
        }
        out
    }

    #[test]
    fn v2_json_reads_and_writes_the_documented_field_names() {
        let json = format!(
            r#"{{"offset_into_first_range": 0,
                "terms": [{{"hash": "{XB}", "unpacked_length": 200000, "range": {{"start": 0, "end": 3}}}}],
                "xorbs": {{"{XB}": [{{"url": "https://transfer.example/xorb/default/{XB}",
                    "ranges": [{{"chunks": {{"start": 0, "end": 3}}, "bytes": {{"start": 0, "end": 200023}}}}]}}]}}}}"#
        );
        let v2: ReconstructionV2 = serde_json::from_str(&json).unwrap();
        assert_eq!(v2.terms, [term(XB, 200_000, 0, 3)]);
        let fetch = &v2.xorbs[&h(XB)][0];
        assert_eq!(fetch.ranges[0].bytes, ByteRange::new(0, 200_023));
        assert_eq!(fetch.ranges[0].bytes.len(), 200_024);
        assert_eq!(fetch.ranges[0].bytes.header_value(), "bytes=0-200023");
        assert_eq!(v2.unpacked_len(), 200_000);
        v2.check_sources().unwrap();
        let back: serde_json::Value = serde_json::to_value(&v2).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        );
    }

    #[test]
    fn v1_json_reads_and_converts_to_v2() {
        // The openapi example of §3.2.
        let x = "0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37";
        let json = format!(
            r#"{{ "offset_into_first_range": 0,
                 "terms": [ {{ "hash": "{x}", "unpacked_length": 263873, "range": {{"start": 0, "end": 4}} }} ],
                 "fetch_info": {{ "{x}": [ {{ "range": {{"start": 0, "end": 4}},
                     "url": "https://transfer.xethub.hf.co/xorb/default/{x}",
                     "url_range": {{"start": 0, "end": 131071}} }} ] }} }}"#
        );
        let v1: ReconstructionV1 = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v1.fetch_info[&h(x)][0].url_range,
            ByteRange::new(0, 131_071)
        );
        let back: serde_json::Value = serde_json::to_value(&v1).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        );
        let v2 = ReconstructionV2::from(v1);
        assert_eq!(
            v2.xorbs[&h(x)],
            [XorbFetch {
                url: format!("https://transfer.xethub.hf.co/xorb/default/{x}"),
                ranges: vec![XorbRange {
                    chunks: ChunkRange::new(0, 4),
                    bytes: ByteRange::new(0, 131_071)
                }],
            }]
        );
        assert_eq!(v2.terms[0].unpacked_length, 263_873);
    }

    #[test]
    fn malformed_json_is_refused() {
        let bad_hash = r#"{"offset_into_first_range":0,"terms":[{"hash":"xyz","unpacked_length":1,"range":{"start":0,"end":1}}],"xorbs":{}}"#;
        assert!(serde_json::from_str::<ReconstructionV2>(bad_hash).is_err());
        let negative =
            format!(r#"{{"offset_into_first_range":-1,"terms":[],"xorbs":{{"{XB}":[]}}}}"#);
        assert!(serde_json::from_str::<ReconstructionV2>(&negative).is_err());
        let missing = r#"{"terms":[],"xorbs":{}}"#;
        assert!(serde_json::from_str::<ReconstructionV2>(missing).is_err());
    }

    #[test]
    fn token_json_is_camel_case_and_debug_hides_the_token() {
        let json = r#"{"accessToken": "xet_secret", "exp": 1848535668, "casUrl": "https://cas-server.xethub.hf.co"}"#;
        let token: XetToken = serde_json::from_str(json).unwrap();
        assert_eq!(token.access_token, "xet_secret");
        assert_eq!(token.exp, 1_848_535_668);
        assert_eq!(token.cas_url, "https://cas-server.xethub.hf.co");
        assert!(!format!("{token:?}").contains("secret"));
        let back: serde_json::Value = serde_json::to_value(&token).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    /// §9.2 B in full: one xorb, three chunks, stored uncompressed; verified while assembled.
    #[test]
    fn whole_file_b_assembles_and_verifies_while_streaming() {
        let data = file_b();
        let xorb = TestXorb::new(&chunks_of(&data), |_| CompressionScheme::None);
        assert_eq!(xorb.boundaries, [65_544, 131_088, 200_024]);
        // §4.4: the byte ranges of chunk ranges.
        assert_eq!(xorb.byte_range(0, 1), (0, 65_543));
        assert_eq!(xorb.byte_range(1, 3), (65_544, 200_023));
        assert_eq!(xorb.byte_range(2, 3), (131_088, 200_023));
        let xorbs = BTreeMap::from([(h(XB), xorb)]);
        let response = ReconstructionV2 {
            offset_into_first_range: 0,
            terms: vec![term(XB, 200_000, 0, 3)],
            xorbs: BTreeMap::from([(
                h(XB),
                vec![XorbFetch {
                    url: "u".into(),
                    ranges: vec![XorbRange {
                        chunks: ChunkRange::new(0, 3),
                        bytes: ByteRange::new(0, 200_023),
                    }],
                }],
            )]),
        };
        let ranges = fetch_all(&response, &xorbs);
        let mut assembler = Assembler::new(0);
        let mut hasher = XetHasher::new();
        let mut out = Vec::new();
        for term in &response.terms {
            let (_, range) = response.source_of(term).unwrap();
            let source = ranges.iter().find(|r| r.chunks() == range.chunks).unwrap();
            for piece in assembler.term(term, source).unwrap() {
                hasher.update_chunk(piece);
                out.extend_from_slice(piece);
            }
        }
        assert_eq!(assembler.finish().unwrap(), 200_000);
        assert!(out == data);
        assert_eq!(
            hasher.finish(),
            h("fa0038fcfcfbcf7a4f7be5d5a6d14a8e1ae9e87e02a932fdd8f03a964588fd56")
        );
    }

    /// §9.2 B with `Range: bytes=100000-150000`: chunks 1..3, offset 34 464, 50 001 bytes kept.
    #[test]
    fn ranged_answer_skips_the_offset_and_keeps_the_asked_length() {
        let data = file_b();
        let xorb = TestXorb::new(&chunks_of(&data), |i| match i {
            0 => CompressionScheme::None,
            1 => CompressionScheme::Lz4,
            _ => CompressionScheme::ByteGrouping4Lz4,
        });
        let xorbs = BTreeMap::from([(h(XB), xorb)]);
        let (start, end) = xorbs[&h(XB)].byte_range(1, 3);
        let response = ReconstructionV2 {
            offset_into_first_range: 34_464,
            terms: vec![term(XB, 134_464, 1, 3)],
            xorbs: BTreeMap::from([(
                h(XB),
                vec![XorbFetch {
                    url: "u".into(),
                    ranges: vec![XorbRange {
                        chunks: ChunkRange::new(1, 3),
                        bytes: ByteRange::new(start, end),
                    }],
                }],
            )]),
        };
        let ranges = fetch_all(&response, &xorbs);
        let mut assembler = Assembler::new(34_464).with_limit(50_001);
        let mut out = Vec::new();
        for piece in assembler.term(&response.terms[0], &ranges[0]).unwrap() {
            out.extend_from_slice(piece);
        }
        assert_eq!(assembler.finish().unwrap(), 50_001);
        assert!(out == data[100_000..=150_000]);
        // Without the limit the answer runs to the end of the last chunk.
        let whole = assemble(&response, &ranges).unwrap();
        assert_eq!(whole.len() as u64, response.unpacked_len());
        assert!(whole == data[100_000..]);
    }

    /// §9.2 C: revision 2 of B reuses chunks 0 and 2 of XB around a new one-chunk xorb XC;
    /// three terms, XB's two ranges not merged; then an offset that spans a whole term.
    #[test]
    fn deduplicated_multi_term_file_c() {
        let b = file_b();
        let mut c = b.clone();
        c[70_000..70_010].fill(0xFF);
        let xb = TestXorb::new(&chunks_of(&b), |_| CompressionScheme::Lz4);
        let xc = TestXorb::new(&[&c[65_536..131_072]], |_| {
            CompressionScheme::ByteGrouping4Lz4
        });
        assert_eq!(chunk_hash(&c[65_536..131_072]), h(XC));
        let ranges_of = |xorb: &TestXorb, chunks: &[(u32, u32)]| -> Vec<XorbRange> {
            chunks
                .iter()
                .map(|&(s, e)| {
                    let (start, end) = xorb.byte_range(s, e);
                    XorbRange {
                        chunks: ChunkRange::new(s, e),
                        bytes: ByteRange::new(start, end),
                    }
                })
                .collect()
        };
        let mut response = ReconstructionV2 {
            offset_into_first_range: 0,
            terms: vec![
                term(XB, 65_536, 0, 1),
                term(XC, 65_536, 0, 1),
                term(XB, 68_928, 2, 3),
            ],
            xorbs: BTreeMap::from([
                (
                    h(XB),
                    vec![XorbFetch {
                        url: "b".into(),
                        ranges: ranges_of(&xb, &[(0, 1), (2, 3)]),
                    }],
                ),
                (
                    h(XC),
                    vec![XorbFetch {
                        url: "c".into(),
                        ranges: ranges_of(&xc, &[(0, 1)]),
                    }],
                ),
            ]),
        };
        response.check_sources().unwrap();
        let xorbs = BTreeMap::from([(h(XB), xb), (h(XC), xc)]);
        let ranges = fetch_all(&response, &xorbs);
        assert_eq!(ranges.len(), 3);
        // Ranges in any order; the terms decide the order of the bytes.
        let mut shuffled = ranges.clone();
        shuffled.reverse();
        let out = assemble(&response, &shuffled).unwrap();
        assert!(out == c);
        let mut hasher = XetHasher::new();
        let mut assembler = Assembler::new(0);
        for term in &response.terms {
            let source = ranges
                .iter()
                .find(|r| r.covers(&term.hash, term.range))
                .unwrap();
            for piece in assembler.term(term, source).unwrap() {
                hasher.update_chunk(piece);
            }
        }
        assert_eq!(
            hasher.finish(),
            h("3f39bbfce6e7473d2705fd5d75b3bb30352b7b2336ee3a78386971d2692def7c")
        );

        // An offset equal to the first term skips it whole; one beyond skips into the second.
        for offset in [65_536u64, 65_537, 131_072, 140_000] {
            response.offset_into_first_range = offset;
            let out = assemble(&response, &ranges).unwrap();
            assert!(out == c[offset as usize..], "{offset}");
        }
        response.offset_into_first_range = 200_001;
        assert_eq!(
            assemble(&response, &ranges).unwrap_err(),
            ReconstructionError::OffsetPastEnd {
                offset: 200_001,
                total: 200_000
            }
        );
    }

    #[test]
    fn a_wrong_unpacked_length_or_a_missing_range_fails_the_term() {
        let chunks: [&[u8]; 3] = [b"abc", b"defg", b"hi"];
        let range = DecodedRange::from_chunks(h(XB), 4, chunks);
        assert_eq!(range.chunks(), ChunkRange::new(4, 7));
        assert_eq!(range.chunk(5), Some(&b"defg"[..]));
        assert_eq!((range.chunk(3), range.chunk(7)), (None, None));
        let mut assembler = Assembler::new(0);
        assert_eq!(
            assembler.term(&term(XB, 7, 4, 6), &range).unwrap(),
            [&b"abc"[..], b"defg"]
        );
        assert_eq!(
            assembler.term(&term(XB, 3, 5, 7), &range).unwrap_err(),
            ReconstructionError::TermLength {
                term: 1,
                xorb: h(XB),
                chunks: ChunkRange::new(5, 7),
                expected: 3,
                actual: 6
            }
        );
        for bad in [term(XB, 2, 6, 8), term(XC, 2, 6, 7), term(XB, 0, 6, 5)] {
            assert!(matches!(
                assembler.term(&bad, &range),
                Err(ReconstructionError::MissingRange { .. })
            ));
        }
        let response = ReconstructionV2 {
            offset_into_first_range: 0,
            terms: vec![term(XB, 2, 6, 7)],
            xorbs: BTreeMap::new(),
        };
        assert!(matches!(
            response.check_sources(),
            Err(ReconstructionError::MissingRange { term: 0, .. })
        ));
        assert!(matches!(
            assemble(&response, &[]),
            Err(ReconstructionError::MissingRange { term: 0, .. })
        ));
        assert_eq!(assemble(&response, &[range]).unwrap(), b"hi");
    }

    #[test]
    fn a_range_with_wrong_bytes_fails_to_decode() {
        let data = file_b();
        let xorb = TestXorb::new(&chunks_of(&data), |_| CompressionScheme::Lz4);
        // Fetched for chunks 0..2 but holding only chunk 0.
        let err = DecodedRange::decode(h(XB), ChunkRange::new(0, 2), xorb.fetch(0, 1));
        assert!(matches!(
            err,
            Err(ReconstructionError::Decode {
                source: XorbError::ChunkCount {
                    expected: 2,
                    actual: 1
                },
                ..
            })
        ));
        // Cut short inside the last chunk.
        let bytes = xorb.fetch(0, 3);
        let err = DecodedRange::decode(h(XB), ChunkRange::new(0, 3), &bytes[..bytes.len() - 1]);
        assert!(matches!(err, Err(ReconstructionError::Decode { .. })));
        let empty = DecodedRange::decode(h(XB), ChunkRange::new(0, 0), &[]).unwrap();
        assert_eq!(empty.byte_len(), 0);
    }

    #[test]
    fn an_empty_file_has_no_terms() {
        let response = ReconstructionV2 {
            offset_into_first_range: 0,
            terms: vec![],
            xorbs: BTreeMap::new(),
        };
        assert_eq!(assemble(&response, &[]).unwrap(), b"");
        assert_eq!(XetHasher::new().finish(), XetHash::ZERO);
    }
}
