//! The text of `hfdl gc` (being written).
