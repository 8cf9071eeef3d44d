//! `path` (being written).
