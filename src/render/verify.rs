//! The text of `hfdl verify` (being written).
