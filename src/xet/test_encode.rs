//! Test-only writers of what the read path decodes: serialized chunks in each scheme (with
//! byte grouping) and whole xorbs with their chunk boundaries.

use std::io::Write;

use super::xorb::{ChunkHeader, CompressionScheme};

/// One LZ4 frame of `data`, as xet-core writes it (`FrameEncoder` with default settings).
pub(crate) fn lz4_frame(data: &[u8]) -> Vec<u8> {
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Byte grouping: the bytes at positions `0 mod 4`, then `1 mod 4`, `2 mod 4`, `3 mod 4`.
pub(crate) fn bg4_split(data: &[u8]) -> Vec<u8> {
    (0..4)
        .flat_map(|k| data.iter().skip(k).step_by(4).copied())
        .collect()
}

/// A serialized chunk (header and payload) in exactly `scheme`, even when that does not
/// shrink it.
pub(crate) fn encode_chunk_as(data: &[u8], scheme: CompressionScheme) -> Vec<u8> {
    let payload = match scheme {
        CompressionScheme::None => data.to_vec(),
        CompressionScheme::Lz4 => lz4_frame(data),
        CompressionScheme::ByteGrouping4Lz4 => lz4_frame(&bg4_split(data)),
    };
    let header = ChunkHeader {
        compressed_len: payload.len() as u32,
        scheme,
        uncompressed_len: data.len() as u32,
    };
    let mut out = header.to_bytes().to_vec();
    out.extend(payload);
    out
}

/// A serialized chunk as a writer stores it: the smallest of the three schemes, `None` when
/// compression does not shrink it.
pub(crate) fn encode_chunk(data: &[u8]) -> Vec<u8> {
    [
        CompressionScheme::Lz4,
        CompressionScheme::ByteGrouping4Lz4,
        CompressionScheme::None,
    ]
    .into_iter()
    .map(|scheme| encode_chunk_as(data, scheme))
    .filter(|bytes| bytes.len() < data.len() + 8 || bytes[4] == 0)
    .min_by_key(Vec::len)
    .unwrap()
}

/// A xorb's chunk bytes (no footer) and where each chunk ends in them (the footer's
/// `chunk_boundary_offsets`).
pub(crate) struct TestXorb {
    pub(crate) bytes: Vec<u8>,
    pub(crate) boundaries: Vec<u64>,
}

impl TestXorb {
    /// Serializes `chunks`, each in the scheme `scheme(index)`.
    pub(crate) fn new(chunks: &[&[u8]], scheme: impl Fn(usize) -> CompressionScheme) -> Self {
        let mut bytes = Vec::new();
        let mut boundaries = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            bytes.extend(encode_chunk_as(chunk, scheme(i)));
            boundaries.push(bytes.len() as u64);
        }
        TestXorb { bytes, boundaries }
    }

    /// The HTTP byte range (end inclusive) of chunks `[start, end)`.
    pub(crate) fn byte_range(&self, start: u32, end: u32) -> (u64, u64) {
        let first = if start == 0 {
            0
        } else {
            self.boundaries[start as usize - 1]
        };
        (first, self.boundaries[end as usize - 1] - 1)
    }

    /// The bytes of chunks `[start, end)`, as a transfer URL would serve them.
    pub(crate) fn fetch(&self, start: u32, end: u32) -> &[u8] {
        let (first, last) = self.byte_range(start, end);
        &self.bytes[first as usize..=last as usize]
    }
}
