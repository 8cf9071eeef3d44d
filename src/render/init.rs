//! The text of `hfdl init` (being written).
