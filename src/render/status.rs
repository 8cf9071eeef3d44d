//! The text of `hfdl status` (being written).
