//! `gc` (being written).
