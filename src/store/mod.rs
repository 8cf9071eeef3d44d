//! The store: the Hugging Face cache layout (hub-protocol §6). The only code that writes model
//! files: layout, atomic writes, links and refs, locks, the scan, the stat cache, the registry of
//! known lockfiles, garbage collection, air-gapped bundles and the chunk maps of Xet blobs.

pub mod bundle;
pub mod chunk_maps;
pub mod disk;
pub mod error;
pub mod fsops;
pub mod gc;
pub mod inventory;
pub mod layout;
pub mod partials;
pub mod registry;
pub mod scan;
pub mod verified;
pub mod verify;

pub use layout::{RepoRef, Store, relative_blob_target};
pub use scan::{BlobState, LinkState, StoreState, scan};
pub use verified::VerifiedBlobs;
