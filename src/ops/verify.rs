//! `verify` (being written).
