//! `doctor` (being written).
