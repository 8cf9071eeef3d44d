//! `account` (being written).
