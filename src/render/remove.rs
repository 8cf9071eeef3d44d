//! The text of `hfdl remove` (being written).
