//! `init` (being written).
