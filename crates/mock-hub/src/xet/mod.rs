//! The Xet storage side of the mock Hub (xet-protocol.md): hashes, content-defined chunking,
//! the xorb format, the CAS store fixtures are ingested into, and the CAS HTTP origin.

pub mod cas;
pub mod chunking;
pub mod hash;
pub mod store;
pub mod xorb;
