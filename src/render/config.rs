//! The text of `hfdl config` (being written).
