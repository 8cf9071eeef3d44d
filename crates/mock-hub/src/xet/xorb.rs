//! The xorb format (xet-protocol.md §4): `[8-byte header][payload]` per chunk, the payload
//! stored as is, as an LZ4 frame, or byte-grouped by 4 then LZ4-framed.

use std::io::{Read as _, Write as _};

use serde::{Deserialize, Serialize};

/// Largest uncompressed chunk a header may announce.
pub const MAX_CHUNK_BYTES: usize = 128 * 1024;
/// A xorb holds at most this many serialized bytes …
pub const MAX_XORB_BYTES: usize = 64 * 1024 * 1024;
/// … and at most this many chunks.
pub const MAX_XORB_CHUNKS: usize = 8192;

/// How a chunk's payload is encoded (header byte 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    None = 0,
    Lz4 = 1,
    ByteGrouping4Lz4 = 2,
}

/// Which encoding the writer picks for each chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// The smallest of LZ4 and BG4+LZ4, or none when neither shrinks the chunk (the default).
    #[default]
    Auto,
    /// Always store as is.
    None,
    /// LZ4 when it shrinks the chunk.
    Lz4,
    /// BG4+LZ4 when it shrinks the chunk.
    ByteGrouping4Lz4,
}

fn lz4_frame(data: &[u8]) -> Vec<u8> {
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// Byte grouping: byte `i` goes to group `i % 4`; groups concatenated.
pub fn bg4_split(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for lane in 0..4 {
        out.extend(data.iter().skip(lane).step_by(4));
    }
    out
}

/// The inverse of [`bg4_split`].
pub fn bg4_regroup(grouped: &[u8]) -> Vec<u8> {
    let n = grouped.len();
    let (split, rem) = (n / 4, n % 4);
    let sizes = [
        split + usize::from(rem >= 1),
        split + usize::from(rem >= 2),
        split + usize::from(rem >= 3),
        split,
    ];
    let mut starts = [0usize; 4];
    for lane in 1..4 {
        starts[lane] = starts[lane - 1] + sizes[lane - 1];
    }
    (0..n).map(|i| grouped[starts[i % 4] + i / 4]).collect()
}

/// The payload and scheme of one chunk under `compression`.
fn encode(data: &[u8], compression: Compression) -> (Scheme, Vec<u8>) {
    let candidates: Vec<(Scheme, Vec<u8>)> = match compression {
        Compression::None => Vec::new(),
        Compression::Lz4 => vec![(Scheme::Lz4, lz4_frame(data))],
        Compression::ByteGrouping4Lz4 => {
            vec![(Scheme::ByteGrouping4Lz4, lz4_frame(&bg4_split(data)))]
        }
        Compression::Auto => vec![
            (Scheme::Lz4, lz4_frame(data)),
            (Scheme::ByteGrouping4Lz4, lz4_frame(&bg4_split(data))),
        ],
    };
    candidates
        .into_iter()
        .filter(|(_, payload)| payload.len() < data.len())
        .min_by_key(|(_, payload)| payload.len())
        .unwrap_or_else(|| (Scheme::None, data.to_vec()))
}

/// Appends one serialized chunk (header and payload) to `out`; returns its scheme.
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8], compression: Compression) -> Scheme {
    let (scheme, payload) = encode(data, compression);
    let compressed = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let uncompressed = u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes();
    out.push(0); // version
    out.extend_from_slice(&compressed[..3]);
    out.push(scheme as u8);
    out.extend_from_slice(&uncompressed[..3]);
    out.extend_from_slice(&payload);
    scheme
}

/// A chunk header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    pub compressed: usize,
    pub scheme: u8,
    pub uncompressed: usize,
}

/// Parses an 8-byte chunk header.
pub fn parse_header(bytes: &[u8]) -> Result<ChunkHeader, String> {
    if bytes.len() < 8 {
        return Err("short chunk header".into());
    }
    if bytes[0] != 0 {
        return Err(format!("chunk header version {}", bytes[0]));
    }
    let u24 = |b: &[u8]| usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16;
    Ok(ChunkHeader {
        compressed: u24(&bytes[1..4]),
        scheme: bytes[4],
        uncompressed: u24(&bytes[5..8]),
    })
}

/// Decodes the serialized chunks of `bytes` (a reader's side, for tests and self-checks).
pub fn decode_chunks(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut chunks = Vec::new();
    while !bytes.is_empty() {
        let header = parse_header(bytes)?;
        let payload = bytes
            .get(8..8 + header.compressed)
            .ok_or("truncated chunk payload")?;
        let data = match header.scheme {
            0 => payload.to_vec(),
            1 | 2 => {
                let mut out = Vec::new();
                lz4_flex::frame::FrameDecoder::new(payload)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("lz4: {e}"))?;
                if header.scheme == 2 {
                    bg4_regroup(&out)
                } else {
                    out
                }
            }
            other => return Err(format!("unknown compression scheme {other}")),
        };
        if data.len() != header.uncompressed {
            return Err(format!(
                "chunk decodes to {} bytes, header says {}",
                data.len(),
                header.uncompressed
            ));
        }
        chunks.push(data);
        bytes = &bytes[8 + header.compressed..];
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bg4_example() {
        let data = [0xA1, 0xA2, 0xA3, 0xA4, 0xB1, 0xB2, 0xB3, 0xB4, 0xC1];
        let grouped = bg4_split(&data);
        assert_eq!(
            grouped,
            [0xA1, 0xB1, 0xC1, 0xA2, 0xB2, 0xA3, 0xB3, 0xA4, 0xB4]
        );
        assert_eq!(bg4_regroup(&grouped), data);
        for n in 0..20 {
            let data: Vec<u8> = (0..n).collect();
            assert_eq!(bg4_regroup(&bg4_split(&data)), data);
        }
    }

    #[test]
    fn hello_world_is_stored_as_is() {
        let mut out = Vec::new();
        assert_eq!(
            write_chunk(&mut out, b"hello world", Compression::Auto),
            Scheme::None
        );
        assert_eq!(hex::encode(&out), "000b0000000b000068656c6c6f20776f726c64");
    }

    #[test]
    fn the_three_schemes_round_trip() {
        let text: Vec<u8> = b"the quick brown fox ".repeat(3000);
        // Little-endian u32 counters: byte grouping makes the high lanes constant.
        let floats: Vec<u8> = (0..15_000u32)
            .flat_map(|i| (i * 7919).to_le_bytes())
            .collect();
        let mut out = Vec::new();
        assert_eq!(write_chunk(&mut out, &text, Compression::Lz4), Scheme::Lz4);
        assert_eq!(
            write_chunk(&mut out, &floats, Compression::ByteGrouping4Lz4),
            Scheme::ByteGrouping4Lz4
        );
        assert_eq!(&out[8..12], &[0x04, 0x22, 0x4D, 0x18], "an LZ4 frame");
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let random: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert_eq!(
            write_chunk(&mut out, &random, Compression::Auto),
            Scheme::None
        );
        let decoded = decode_chunks(&out).unwrap();
        assert_eq!(decoded, [text, floats, random]);
    }
}
