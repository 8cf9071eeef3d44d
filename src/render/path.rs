//! The text of `hfdl path` (being written).
