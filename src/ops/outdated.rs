//! `outdated` (being written).
