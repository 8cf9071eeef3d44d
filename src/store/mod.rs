//! The store: the Hugging Face cache layout (hub-protocol §6). The only code that writes model files.

pub mod atomic;
