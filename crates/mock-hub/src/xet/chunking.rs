//! Content-defined chunking as the Hub's uploader does it (xet-protocol.md §6): a gear rolling
//! hash, a boundary where its top 16 bits are zero, no boundary before 8 KiB (the hash only
//! starts 65 bytes before the minimum, so it sees a full 64-byte window), a forced cut at
//! 128 KiB, the hash reset after every cut.

/// The target chunk size (a power of two).
pub const TARGET_CHUNK: usize = 64 * 1024;
/// No boundary before this many bytes.
pub const MIN_CHUNK: usize = TARGET_CHUNK / 8;
/// A chunk is cut here at the latest.
pub const MAX_CHUNK: usize = TARGET_CHUNK * 2;
const WINDOW: usize = 64;

/// The boundary mask: `(target - 1)` shifted all the way left.
fn mask() -> u64 {
    let mask = (TARGET_CHUNK - 1) as u64;
    mask << mask.leading_zeros()
}

/// The end offsets of the chunks of `data` (the last is `data.len()`; none for empty data).
pub fn chunk_ends(data: &[u8]) -> Vec<usize> {
    let mask = mask();
    let mut ends = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let rest = &data[start..];
        let mut hasher = gearhash::Hasher::default();
        let mut index = MIN_CHUNK - WINDOW - 1;
        let read_end = rest.len().min(MAX_CHUNK);
        let mut cut = None;
        while index < read_end {
            match hasher.next_match(&rest[index..read_end], mask) {
                Some(found) => {
                    index += found;
                    if index >= MIN_CHUNK {
                        cut = Some(index);
                        break;
                    }
                }
                None => break,
            }
        }
        let len = match cut {
            Some(len) => len,
            None if rest.len() >= MAX_CHUNK => MAX_CHUNK,
            None => rest.len(),
        };
        start += len;
        ends.push(start);
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(seed: u64, len: usize) -> Vec<u8> {
        crate::fixtures::PseudoRandom::bytes(seed, len)
    }

    #[test]
    fn sizes_stay_within_bounds_and_edits_stay_local() {
        let data = random(7, 3_000_000);
        let ends = chunk_ends(&data);
        assert_eq!(*ends.last().unwrap(), data.len());
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let len = end - start;
            assert!(len <= MAX_CHUNK);
            assert!(len >= MIN_CHUNK || i == ends.len() - 1);
            start = end;
        }
        // ~64 KiB on average on random data.
        let mean = data.len() / ends.len();
        assert!((40_000..100_000).contains(&mean), "{mean}");
        // Change 1000 bytes in the middle: chunks far from it are unchanged.
        let mut edited = data.clone();
        for b in &mut edited[1_500_000..1_501_000] {
            *b = !*b;
        }
        let edited_ends = chunk_ends(&edited);
        let same = ends.iter().filter(|e| edited_ends.contains(e)).count();
        assert!(same + 4 >= ends.len(), "{same} of {}", ends.len());
        assert_eq!(chunk_ends(&data[..100]), [100]);
        assert!(chunk_ends(&[]).is_empty());
    }

    #[test]
    fn constant_data_is_cut_at_the_maximum() {
        let data = vec![0u8; 300_000];
        assert_eq!(chunk_ends(&data), [MAX_CHUNK, 2 * MAX_CHUNK, 300_000]);
    }
}
