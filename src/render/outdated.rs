//! The text of `hfdl outdated` (being written).
