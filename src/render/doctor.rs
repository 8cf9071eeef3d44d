//! The text of `hfdl doctor` (being written).
