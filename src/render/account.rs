//! The text of `hfdl account` (being written).
