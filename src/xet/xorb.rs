//! Serialized xorb chunks: the 8-byte chunk header and the three payload encodings
//! (xet-protocol.md §4).
//!
//! A fetched xorb byte range is a run of `[header][payload]` chunks. The header is
//! `version: u8 = 0`, `compressed_len: u24 LE`, `scheme: u8`, `uncompressed_len: u24 LE`; the
//! payload is the chunk as is ([`CompressionScheme::None`]), an LZ4 frame
//! ([`CompressionScheme::Lz4`]), or an LZ4 frame of the chunk's bytes regrouped by their
//! position mod 4 ([`CompressionScheme::ByteGrouping4Lz4`]).
//!
//! The bytes come from the network, so nothing here trusts them: every length is checked
//! before it is used, decompression stops one byte past the length the header promised, and
//! any disagreement is a [`XorbError`], never a panic.

use std::io::Read;

/// Length of a chunk header.
pub const CHUNK_HEADER_LEN: usize = 8;

/// Largest decoded chunk the format allows (128 KiB).
pub const MAX_CHUNK_LEN: u32 = 128 * 1024;

/// Largest payload a chunk header may announce (twice [`MAX_CHUNK_LEN`], as xet-core allows).
pub const MAX_PAYLOAD_LEN: u32 = 2 * MAX_CHUNK_LEN;

/// The only chunk header version.
const CHUNK_VERSION: u8 = 0;

/// The first bytes of a xorb's footer (`XETBLOB`): a range that runs into it is not chunks.
const FOOTER_MAGIC: &[u8; 7] = b"XETBLOB";

/// How a chunk's payload encodes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionScheme {
    /// `0`: the payload is the chunk.
    None,
    /// `1`: the payload is one LZ4 frame of the chunk.
    Lz4,
    /// `2`: the payload is one LZ4 frame of the chunk's bytes grouped by position mod 4
    /// (all bytes `4j`, then `4j + 1`, `4j + 2`, `4j + 3`).
    ByteGrouping4Lz4,
}

impl CompressionScheme {
    /// The scheme of a header byte, if it is one of the three on-disk schemes.
    pub fn from_byte(byte: u8) -> Option<CompressionScheme> {
        match byte {
            0 => Some(CompressionScheme::None),
            1 => Some(CompressionScheme::Lz4),
            2 => Some(CompressionScheme::ByteGrouping4Lz4),
            _ => None,
        }
    }

    /// The header byte of the scheme.
    pub fn as_byte(self) -> u8 {
        match self {
            CompressionScheme::None => 0,
            CompressionScheme::Lz4 => 1,
            CompressionScheme::ByteGrouping4Lz4 => 2,
        }
    }
}

/// A parsed, validated chunk header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Bytes of payload that follow the header.
    pub compressed_len: u32,
    /// How the payload encodes the chunk.
    pub scheme: CompressionScheme,
    /// Bytes of the decoded chunk (at most [`MAX_CHUNK_LEN`]).
    pub uncompressed_len: u32,
}

impl ChunkHeader {
    /// Parses and validates the 8 header bytes at the start of `bytes`; `offset` (where the
    /// header sits in the caller's range) only labels errors.
    pub fn parse(bytes: &[u8], offset: u64) -> Result<ChunkHeader, XorbError> {
        let Some(header) = bytes.first_chunk::<CHUNK_HEADER_LEN>() else {
            return Err(XorbError::TruncatedHeader {
                offset,
                available: bytes.len(),
            });
        };
        if header.starts_with(FOOTER_MAGIC) {
            return Err(XorbError::Footer { offset });
        }
        if header[0] != CHUNK_VERSION {
            return Err(XorbError::UnsupportedVersion {
                offset,
                version: header[0],
            });
        }
        let u24 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], 0]);
        let compressed_len = u24(&header[1..4]);
        let uncompressed_len = u24(&header[5..8]);
        let scheme = CompressionScheme::from_byte(header[4]).ok_or(XorbError::UnknownScheme {
            offset,
            scheme: header[4],
        })?;
        if uncompressed_len > MAX_CHUNK_LEN || compressed_len > MAX_PAYLOAD_LEN {
            return Err(XorbError::TooLarge {
                offset,
                compressed_len,
                uncompressed_len,
            });
        }
        Ok(ChunkHeader {
            compressed_len,
            scheme,
            uncompressed_len,
        })
    }

    /// The 8 bytes of this header.
    pub fn to_bytes(&self) -> [u8; CHUNK_HEADER_LEN] {
        let c = self.compressed_len.to_le_bytes();
        let u = self.uncompressed_len.to_le_bytes();
        [
            CHUNK_VERSION,
            c[0],
            c[1],
            c[2],
            self.scheme.as_byte(),
            u[0],
            u[1],
            u[2],
        ]
    }

    /// Header and payload: the bytes this chunk takes in a xorb.
    pub fn serialized_len(&self) -> u64 {
        CHUNK_HEADER_LEN as u64 + u64::from(self.compressed_len)
    }
}

/// Why serialized chunks could not be decoded. Offsets count from the start of the bytes
/// handed in (a fetched range, not the whole xorb).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XorbError {
    /// Fewer than 8 bytes where a chunk header should be.
    #[error("the chunk header at byte {offset} is cut short: {available} of 8 bytes")]
    TruncatedHeader {
        /// Where the header starts.
        offset: u64,
        /// Bytes there were.
        available: usize,
    },
    /// The xorb footer (`XETBLOB`) where a chunk header should be.
    #[error("byte {offset} starts the xorb footer, not a chunk")]
    Footer {
        /// Where the footer starts.
        offset: u64,
    },
    /// A header version other than 0.
    #[error("the chunk header at byte {offset} has version {version}; only version 0 is known")]
    UnsupportedVersion {
        /// Where the header starts.
        offset: u64,
        /// The version byte.
        version: u8,
    },
    /// A compression scheme byte other than 0, 1 or 2.
    #[error("the chunk at byte {offset} uses compression scheme {scheme}, which is unknown")]
    UnknownScheme {
        /// Where the header starts.
        offset: u64,
        /// The scheme byte.
        scheme: u8,
    },
    /// Lengths beyond what the format allows.
    #[error(
        "the chunk header at byte {offset} announces {uncompressed_len} bytes in a {compressed_len}-byte payload; chunks hold at most 131072 bytes"
    )]
    TooLarge {
        /// Where the header starts.
        offset: u64,
        /// The payload length of the header.
        compressed_len: u32,
        /// The decoded length of the header.
        uncompressed_len: u32,
    },
    /// The payload runs past the end of the bytes.
    #[error("the chunk at byte {offset} is cut short: {available} of {expected} payload bytes")]
    TruncatedPayload {
        /// Where the header starts.
        offset: u64,
        /// The payload length of the header.
        expected: u32,
        /// Payload bytes there were.
        available: usize,
    },
    /// The payload is not a valid LZ4 frame.
    #[error("the chunk at byte {offset} does not decompress: {reason}")]
    Corrupt {
        /// Where the header starts.
        offset: u64,
        /// What the LZ4 decoder said.
        reason: String,
    },
    /// The payload decodes to another length than the header says.
    #[error("the chunk at byte {offset} decodes to {actual} bytes, but its header says {expected}")]
    LengthMismatch {
        /// Where the header starts.
        offset: u64,
        /// The decoded length of the header.
        expected: u32,
        /// What the payload gave (at most one byte more than `expected` is decoded).
        actual: u64,
    },
    /// A range held another number of chunks than it was fetched for.
    #[error("the range holds {actual} chunks where {expected} were expected")]
    ChunkCount {
        /// Chunks the reconstruction said the range has.
        expected: u64,
        /// Chunks found (counting until the mismatch was certain).
        actual: u64,
    },
}

/// One serialized chunk: its header and its still-encoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawChunk<'a> {
    /// Where the chunk's header starts in the bytes being read.
    pub offset: u64,
    /// The parsed header.
    pub header: ChunkHeader,
    /// Exactly `header.compressed_len` bytes.
    pub payload: &'a [u8],
}

impl RawChunk<'_> {
    /// Decodes the payload, appending the chunk's bytes to `out`.
    pub fn decode_into(&self, out: &mut Vec<u8>) -> Result<(), XorbError> {
        decode_payload(&self.header, self.payload, self.offset, out)
    }

    /// Decodes the payload into a new buffer.
    pub fn decode(&self) -> Result<Vec<u8>, XorbError> {
        let mut out = Vec::with_capacity(self.header.uncompressed_len as usize);
        self.decode_into(&mut out)?;
        Ok(out)
    }
}

/// Iterates over the serialized chunks of a byte range, without decoding them.
///
/// Stops after the last complete chunk; a partial header or payload at the end, or a bad
/// header, is an error item (after which the iterator ends).
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    bytes: &'a [u8],
    position: usize,
    failed: bool,
}

impl<'a> Chunks<'a> {
    /// The chunks of `bytes`, which must start on a chunk header.
    pub fn new(bytes: &'a [u8]) -> Chunks<'a> {
        Chunks {
            bytes,
            position: 0,
            failed: false,
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        &self.bytes[self.position..]
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<RawChunk<'a>, XorbError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.remaining();
        if self.failed || rest.is_empty() {
            return None;
        }
        let offset = self.position as u64;
        let result = ChunkHeader::parse(rest, offset).and_then(|header| {
            let payload = &rest[CHUNK_HEADER_LEN..];
            let len = header.compressed_len as usize;
            let payload = payload.get(..len).ok_or(XorbError::TruncatedPayload {
                offset,
                expected: header.compressed_len,
                available: payload.len(),
            })?;
            Ok(RawChunk {
                offset,
                header,
                payload,
            })
        });
        match &result {
            Ok(chunk) => self.position += CHUNK_HEADER_LEN + chunk.payload.len(),
            Err(_) => self.failed = true,
        }
        Some(result)
    }
}

/// Decodes one chunk from the start of `bytes`; returns its bytes and the serialized length it
/// took (header and payload), so the next chunk starts there.
pub fn decode_chunk(bytes: &[u8]) -> Result<(Vec<u8>, usize), XorbError> {
    match Chunks::new(bytes).next() {
        Some(Ok(chunk)) => Ok((chunk.decode()?, CHUNK_HEADER_LEN + chunk.payload.len())),
        Some(Err(err)) => Err(err),
        None => Err(XorbError::TruncatedHeader {
            offset: 0,
            available: 0,
        }),
    }
}

/// Decodes a fetched range that must hold exactly `expected` chunks and nothing else: appends
/// every chunk's bytes to `out` and returns where each chunk ends in `out`, relative to the
/// length `out` had on entry (so chunk `i` is `out[base + ends[i-1]..base + ends[i]]`). On an
/// error `out` is left as it was.
pub fn decode_range_into(
    bytes: &[u8],
    expected: u64,
    out: &mut Vec<u8>,
) -> Result<Vec<u64>, XorbError> {
    let base = out.len();
    let result = decode_range_at(bytes, expected, out, base);
    if result.is_err() {
        out.truncate(base);
    }
    result
}

/// [`decode_range_into`] without the clean-up on error.
fn decode_range_at(
    bytes: &[u8],
    expected: u64,
    out: &mut Vec<u8>,
    base: usize,
) -> Result<Vec<u64>, XorbError> {
    // Never trust the count for an allocation: each chunk takes at least 8 bytes.
    let mut ends = Vec::with_capacity((expected as usize).min(bytes.len() / CHUNK_HEADER_LEN));
    for chunk in Chunks::new(bytes) {
        let chunk = chunk?;
        if ends.len() as u64 == expected {
            return Err(XorbError::ChunkCount {
                expected,
                actual: expected + 1,
            });
        }
        chunk.decode_into(out)?;
        ends.push((out.len() - base) as u64);
    }
    if ends.len() as u64 != expected {
        return Err(XorbError::ChunkCount {
            expected,
            actual: ends.len() as u64,
        });
    }
    Ok(ends)
}

/// Decodes a range of serialized chunks as its bytes arrive, piece by piece, into one buffer:
/// whole chunks are decoded straight from each piece, and only a chunk cut by a piece's end is
/// gathered (at most one chunk, ≤ 128 KiB plus its header). The range is never held serialized.
#[derive(Debug)]
pub struct RangeDecoder {
    /// The chunks the range must hold.
    expected: u64,
    /// The start of a chunk the pieces so far cut short.
    pending: Vec<u8>,
    /// Serialized bytes before `pending` (for error offsets).
    offset: u64,
    out: Vec<u8>,
    ends: Vec<u64>,
}

impl RangeDecoder {
    /// A decoder for a range of `expected` chunks, decoding into `out` (cleared; a reused
    /// buffer keeps its capacity).
    pub fn new(expected: u64, mut out: Vec<u8>) -> RangeDecoder {
        out.clear();
        RangeDecoder {
            expected,
            pending: Vec::new(),
            offset: 0,
            out,
            ends: Vec::new(),
        }
    }

    /// Decodes what `piece`, the next bytes of the range, completes.
    pub fn feed(&mut self, mut piece: &[u8]) -> Result<(), XorbError> {
        while !piece.is_empty() {
            if self.pending.is_empty() {
                let consumed = self.decode_whole(piece)?;
                piece = &piece[consumed..];
                if piece.is_empty() {
                    break;
                }
            }
            // A chunk cut short: gather its header, then the rest of it.
            let need = if self.pending.len() < CHUNK_HEADER_LEN {
                CHUNK_HEADER_LEN - self.pending.len()
            } else {
                let header = ChunkHeader::parse(&self.pending, self.offset)?;
                header.serialized_len() as usize - self.pending.len()
            };
            let take = need.min(piece.len());
            self.pending.extend_from_slice(&piece[..take]);
            piece = &piece[take..];
            if self.pending.len() >= CHUNK_HEADER_LEN {
                let header = ChunkHeader::parse(&self.pending, self.offset)?;
                if self.pending.len() as u64 == header.serialized_len() {
                    let pending = std::mem::take(&mut self.pending);
                    let consumed = self.decode_whole(&pending)?;
                    debug_assert_eq!(consumed, pending.len());
                    self.pending = pending;
                    self.pending.clear();
                }
            }
        }
        Ok(())
    }

    /// Decodes the whole chunks at the start of `bytes`; the bytes they took.
    fn decode_whole(&mut self, bytes: &[u8]) -> Result<usize, XorbError> {
        let mut position = 0usize;
        while bytes.len() - position >= CHUNK_HEADER_LEN {
            let offset = self.offset;
            let header = ChunkHeader::parse(&bytes[position..], offset)?;
            let len = header.serialized_len() as usize;
            if bytes.len() - position < len {
                break;
            }
            if self.ends.len() as u64 == self.expected {
                return Err(XorbError::ChunkCount {
                    expected: self.expected,
                    actual: self.expected + 1,
                });
            }
            let payload = &bytes[position + CHUNK_HEADER_LEN..position + len];
            decode_payload(&header, payload, offset, &mut self.out)?;
            self.ends.push(self.out.len() as u64);
            position += len;
            self.offset += len as u64;
        }
        Ok(position)
    }

    /// The decoded chunks back to back and where each ends, once the range is whole.
    pub fn finish(self) -> Result<(Vec<u8>, Vec<u64>), XorbError> {
        if !self.pending.is_empty() {
            return Err(match ChunkHeader::parse(&self.pending, self.offset) {
                Err(error) => error,
                Ok(header) => XorbError::TruncatedPayload {
                    offset: self.offset,
                    expected: header.compressed_len,
                    available: self.pending.len() - CHUNK_HEADER_LEN,
                },
            });
        }
        if self.ends.len() as u64 != self.expected {
            return Err(XorbError::ChunkCount {
                expected: self.expected,
                actual: self.ends.len() as u64,
            });
        }
        Ok((self.out, self.ends))
    }
}

/// Decodes a payload per its header, appending exactly `header.uncompressed_len` bytes to
/// `out` on success (and leaving `out` as it was on error).
fn decode_payload(
    header: &ChunkHeader,
    payload: &[u8],
    offset: u64,
    out: &mut Vec<u8>,
) -> Result<(), XorbError> {
    let expected = header.uncompressed_len;
    let mismatch = |actual: u64| XorbError::LengthMismatch {
        offset,
        expected,
        actual,
    };
    match header.scheme {
        CompressionScheme::None => {
            if payload.len() as u64 != u64::from(expected) {
                return Err(mismatch(payload.len() as u64));
            }
            out.extend_from_slice(payload);
        }
        CompressionScheme::Lz4 => {
            let start = out.len();
            if let Err(err) = lz4_frame_into(payload, expected, offset, out) {
                out.truncate(start);
                return Err(err);
            }
        }
        CompressionScheme::ByteGrouping4Lz4 => {
            let mut grouped = Vec::with_capacity(expected as usize);
            lz4_frame_into(payload, expected, offset, &mut grouped)?;
            bg4_regroup_into(&grouped, out);
        }
    }
    Ok(())
}

/// Decodes one LZ4 frame, appending exactly `expected` bytes to `out` or failing. Decoding
/// stops one byte past `expected`, so a frame that inflates further costs nothing.
fn lz4_frame_into(
    payload: &[u8],
    expected: u32,
    offset: u64,
    out: &mut Vec<u8>,
) -> Result<(), XorbError> {
    let start = out.len();
    out.reserve(expected as usize);
    let decoder = lz4_flex::frame::FrameDecoder::new(payload);
    decoder
        .take(u64::from(expected) + 1)
        .read_to_end(out)
        .map_err(|err| XorbError::Corrupt {
            offset,
            reason: err.to_string(),
        })?;
    let actual = (out.len() - start) as u64;
    if actual != u64::from(expected) {
        return Err(XorbError::LengthMismatch {
            offset,
            expected,
            actual,
        });
    }
    Ok(())
}

/// Undoes byte grouping: `grouped` is the 4 groups back to back (group `k` holds the bytes at
/// positions `k mod 4`, the first `len % 4` groups one byte longer); appends the original
/// order to `out`.
pub fn bg4_regroup_into(grouped: &[u8], out: &mut Vec<u8>) {
    let n = grouped.len();
    let (split, rem) = (n / 4, n % 4);
    let mut starts = [0usize; 4];
    for k in 1..4 {
        starts[k] = starts[k - 1] + split + usize::from(k - 1 < rem);
    }
    out.reserve(n);
    out.extend((0..n).map(|i| grouped[starts[i % 4] + i / 4]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xet::test_encode::{bg4_split, encode_chunk, encode_chunk_as, lz4_frame};

    fn sample(len: usize) -> Vec<u8> {
        // Compressible and byte-grouping-friendly: small little-endian u32s.
        (0..len)
            .map(|i| if i % 4 == 0 { (i / 64) as u8 } else { 0 })
            .collect()
    }

    #[test]
    fn header_round_trips_and_reads_little_endian_u24s() {
        let bytes = [0, 0x0b, 0, 0, 0, 0x0b, 0, 0];
        let header = ChunkHeader::parse(&bytes, 0).unwrap();
        assert_eq!(
            header,
            ChunkHeader {
                compressed_len: 11,
                scheme: CompressionScheme::None,
                uncompressed_len: 11
            }
        );
        assert_eq!(header.to_bytes(), bytes);
        let big = ChunkHeader {
            compressed_len: 0x01_02_03,
            scheme: CompressionScheme::ByteGrouping4Lz4,
            uncompressed_len: 0x02_00_00,
        };
        assert_eq!(big.to_bytes(), [0, 3, 2, 1, 2, 0, 0, 2]);
        assert_eq!(ChunkHeader::parse(&big.to_bytes(), 0).unwrap(), big);
        assert_eq!(big.serialized_len(), 8 + 0x01_02_03);
    }

    #[test]
    fn bad_headers_are_named() {
        let ok = [0, 1, 0, 0, 0, 1, 0, 0];
        let err = |bytes: &[u8]| ChunkHeader::parse(bytes, 5).unwrap_err();
        assert_eq!(
            err(&ok[..7]),
            XorbError::TruncatedHeader {
                offset: 5,
                available: 7
            }
        );
        assert_eq!(
            err(&[1, 1, 0, 0, 0, 1, 0, 0]),
            XorbError::UnsupportedVersion {
                offset: 5,
                version: 1
            }
        );
        assert_eq!(
            err(&[0, 1, 0, 0, 99, 1, 0, 0]),
            XorbError::UnknownScheme {
                offset: 5,
                scheme: 99
            }
        );
        assert!(matches!(
            err(&[0, 1, 0, 0, 0, 1, 0, 0x10]),
            XorbError::TooLarge { .. }
        ));
        assert!(matches!(
            err(&[0, 1, 0, 0x10, 1, 1, 0, 0]),
            XorbError::TooLarge { .. }
        ));
        assert_eq!(err(b"XETBLOB\x01"), XorbError::Footer { offset: 5 });
        // 128 KiB exactly is allowed.
        let max = ChunkHeader {
            compressed_len: MAX_PAYLOAD_LEN,
            scheme: CompressionScheme::Lz4,
            uncompressed_len: MAX_CHUNK_LEN,
        };
        assert_eq!(ChunkHeader::parse(&max.to_bytes(), 0).unwrap(), max);
    }

    #[test]
    fn hello_world_chunk_from_the_protocol_note() {
        // §9.2 A: `000b0000000b0000` + `hello world`.
        let bytes = hex::decode("000b0000000b000068656c6c6f20776f726c64").unwrap();
        let (chunk, used) = decode_chunk(&bytes).unwrap();
        assert_eq!((chunk.as_slice(), used), (&b"hello world"[..], 19));
        assert_eq!(
            encode_chunk_as(b"hello world", CompressionScheme::None),
            bytes
        );
    }

    #[test]
    fn every_scheme_decodes_to_the_original() {
        for len in [0, 1, 2, 3, 4, 5, 9, 1000, 4097, 65_536, 131_071, 131_072] {
            let data = sample(len);
            for scheme in [
                CompressionScheme::None,
                CompressionScheme::Lz4,
                CompressionScheme::ByteGrouping4Lz4,
            ] {
                let bytes = encode_chunk_as(&data, scheme);
                assert_eq!(bytes[4], scheme.as_byte());
                let (decoded, used) = decode_chunk(&bytes).unwrap();
                assert_eq!(used, bytes.len());
                assert!(decoded == data, "{scheme:?} {len}");
            }
        }
    }

    #[test]
    fn bg4_regroup_inverts_the_split() {
        // The protocol note's 9-byte example (it is the split): the elements A, B and C of
        // 4 bytes, the last one cut short, group as A1 B1 C1 | A2 B2 | A3 B3 | A4 B4.
        let original = [0xA1, 0xA2, 0xA3, 0xA4, 0xB1, 0xB2, 0xB3, 0xB4, 0xC1];
        let grouped = [0xA1, 0xB1, 0xC1, 0xA2, 0xB2, 0xA3, 0xB3, 0xA4, 0xB4];
        assert_eq!(bg4_split(&original), grouped);
        let mut out = Vec::new();
        bg4_regroup_into(&grouped, &mut out);
        assert_eq!(out, original);
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut out = Vec::new();
            bg4_regroup_into(&bg4_split(&data), &mut out);
            assert_eq!(out, data);
        }
    }

    #[test]
    fn ranges_decode_with_exact_chunk_counts() {
        let chunks = [sample(100), sample(70_000), b"tail".to_vec()];
        let mut bytes = Vec::new();
        for chunk in &chunks {
            bytes.extend(encode_chunk(chunk));
        }
        let mut out = b"prefix".to_vec();
        let ends = decode_range_into(&bytes, 3, &mut out).unwrap();
        assert_eq!(ends, [100, 70_100, 70_104]);
        assert_eq!(&out[6 + 100..6 + 70_100], chunks[1].as_slice());
        for expected in [0, 2, 4] {
            assert!(matches!(
                decode_range_into(&bytes, expected, &mut Vec::new()),
                Err(XorbError::ChunkCount { .. })
            ));
        }
        assert_eq!(
            decode_range_into(&[], 0, &mut out).unwrap(),
            Vec::<u64>::new()
        );
        let offsets: Vec<u64> = Chunks::new(&bytes).map(|c| c.unwrap().offset).collect();
        assert_eq!(offsets[0], 0);
        assert_eq!(offsets.len(), 3);
    }

    #[test]
    fn a_range_fed_in_any_pieces_decodes_as_a_whole() {
        let chunks = [sample(100), sample(70_000), b"tail".to_vec(), sample(9)];
        let mut bytes = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let scheme = [
                CompressionScheme::None,
                CompressionScheme::Lz4,
                CompressionScheme::ByteGrouping4Lz4,
            ][i % 3];
            bytes.extend(encode_chunk_as(chunk, scheme));
        }
        let mut whole = Vec::new();
        let whole_ends = decode_range_into(&bytes, 4, &mut whole).unwrap();
        for piece in [1, 3, 7, 8, 9, 100, 4096, bytes.len()] {
            let mut decoder = RangeDecoder::new(4, b"old bytes".to_vec());
            for part in bytes.chunks(piece) {
                decoder.feed(part).unwrap();
            }
            let (out, ends) = decoder.finish().unwrap();
            assert_eq!(out, whole, "pieces of {piece}");
            assert_eq!(ends, whole_ends, "pieces of {piece}");
        }
        // Cut short, one chunk too many, one too few.
        let mut decoder = RangeDecoder::new(4, Vec::new());
        decoder.feed(&bytes[..bytes.len() - 2]).unwrap();
        assert!(matches!(
            decoder.finish(),
            Err(XorbError::TruncatedPayload { .. })
        ));
        let mut decoder = RangeDecoder::new(3, Vec::new());
        assert!(matches!(
            decoder.feed(&bytes),
            Err(XorbError::ChunkCount { .. })
        ));
        let mut decoder = RangeDecoder::new(5, Vec::new());
        decoder.feed(&bytes).unwrap();
        assert!(matches!(
            decoder.finish(),
            Err(XorbError::ChunkCount { .. })
        ));
        // A bad header is caught as soon as its 8 bytes are in.
        let mut bad = bytes.clone();
        bad[0] = 7;
        let mut decoder = RangeDecoder::new(4, Vec::new());
        assert!(matches!(
            decoder.feed(&bad[..8]),
            Err(XorbError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn wrong_lengths_are_caught_for_every_scheme() {
        let data = sample(1000);
        for scheme in [
            CompressionScheme::None,
            CompressionScheme::Lz4,
            CompressionScheme::ByteGrouping4Lz4,
        ] {
            let mut bytes = encode_chunk_as(&data, scheme);
            // Claim one byte more, then one byte less, than the payload decodes to.
            for claimed in [1001u32, 999] {
                bytes[5..8].copy_from_slice(&claimed.to_le_bytes()[..3]);
                assert_eq!(
                    decode_chunk(&bytes).unwrap_err(),
                    XorbError::LengthMismatch {
                        offset: 0,
                        expected: claimed,
                        actual: if scheme == CompressionScheme::None || claimed > 1000 {
                            1000
                        } else {
                            u64::from(claimed) + 1
                        },
                    },
                    "{scheme:?}"
                );
            }
        }
    }

    #[test]
    fn a_frame_that_inflates_past_the_header_stops_early() {
        // 128 KiB of zeros in a tiny frame, announced as 10 bytes.
        let frame = lz4_frame(&vec![0u8; 131_072]);
        let header = ChunkHeader {
            compressed_len: frame.len() as u32,
            scheme: CompressionScheme::Lz4,
            uncompressed_len: 10,
        };
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend(&frame);
        let mut out = Vec::new();
        let err = Chunks::new(&bytes)
            .next()
            .unwrap()
            .unwrap()
            .decode_into(&mut out);
        assert!(matches!(
            err,
            Err(XorbError::LengthMismatch { actual: 11, .. })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn truncated_input_is_an_error_at_every_cut() {
        let mut bytes = Vec::new();
        for (data, scheme) in [
            (sample(3000), CompressionScheme::Lz4),
            (sample(2001), CompressionScheme::ByteGrouping4Lz4),
            (sample(50), CompressionScheme::None),
        ] {
            bytes.extend(encode_chunk_as(&data, scheme));
        }
        let full = decode_range_into(&bytes, 3, &mut Vec::new()).unwrap();
        assert_eq!(full.len(), 3);
        for cut in 0..bytes.len() {
            let result = decode_range_into(&bytes[..cut], 3, &mut Vec::new());
            assert!(result.is_err(), "cut at {cut}");
        }
    }

    /// Garbage, bit flips and random headers: every outcome is a value, never a panic, and a
    /// success always has the announced length.
    #[test]
    fn hostile_bytes_never_panic() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut valid = Vec::new();
        for (data, scheme) in [
            (sample(5000), CompressionScheme::Lz4),
            (sample(4099), CompressionScheme::ByteGrouping4Lz4),
            (sample(64), CompressionScheme::None),
        ] {
            valid.extend(encode_chunk_as(&data, scheme));
        }
        let check = |bytes: &[u8]| {
            let mut out = Vec::new();
            if let Ok(ends) = decode_range_into(bytes, 3, &mut out) {
                assert_eq!(ends.last().copied(), Some(out.len() as u64));
            }
            for chunk in Chunks::new(bytes).flatten() {
                if let Ok(data) = chunk.decode() {
                    assert_eq!(data.len() as u32, chunk.header.uncompressed_len);
                }
            }
        };
        for round in 0..3000 {
            let mut bytes = valid.clone();
            match round % 3 {
                // Flip a few bytes anywhere (headers, frame descriptors, block lengths).
                0 => {
                    for _ in 0..=next() % 4 {
                        let i = (next() as usize) % bytes.len();
                        bytes[i] ^= 1 << (next() % 8);
                    }
                }
                // A plausible header over random payload.
                1 => {
                    let len = (next() % 600) as usize;
                    let scheme = (next() % 3) as u8;
                    let header = ChunkHeader {
                        compressed_len: len as u32,
                        scheme: CompressionScheme::from_byte(scheme).unwrap(),
                        uncompressed_len: (next() % 2000) as u32,
                    };
                    bytes = header.to_bytes().to_vec();
                    let mut payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                    if scheme > 0 && len >= 4 {
                        payload[..4].copy_from_slice(&[0x04, 0x22, 0x4D, 0x18]);
                    }
                    bytes.extend(payload);
                }
                // Pure noise.
                _ => bytes = (0..next() % 300).map(|_| next() as u8).collect(),
            }
            check(&bytes);
        }
    }
}
