//! Xet storage, the read path's building blocks (xet-protocol.md): hashes, xorb chunks, and
//! reconstructions. No I/O here; the download engine drives the network and calls these.
//!
//! A Xet-backed file is named by its Xet hash (`X-Xet-Hash`). A CAS token
//! ([`reconstruction::XetToken`]) buys its reconstruction
//! ([`reconstruction::ReconstructionV2`]): the file's terms in order, and signed URLs for byte
//! ranges of the xorbs that hold them. Each fetched range is a run of serialized chunks
//! ([`xorb`]), decoded into a [`reconstruction::DecodedRange`]; an
//! [`reconstruction::Assembler`] turns the terms into the file's bytes, checking each term's
//! length, and a [`hash::XetHasher`] fed the same chunks proves the result is the file the Hub
//! named.
//!
//! | module | what |
//! | --- | --- |
//! | [`hash`] | [`XetHash`] and its string form, chunk/xorb/file hashes, the streaming [`XetHasher`] |
//! | [`xorb`] | chunk headers, the none / LZ4 / BG4+LZ4 encodings, ranges of chunks |
//! | [`reconstruction`] | the token and reconstruction JSON (v1, v2), assembly of terms |

pub mod hash;
pub mod reconstruction;
pub mod xorb;

#[cfg(test)]
mod test_encode;

pub use hash::{XetHash, XetHasher};
