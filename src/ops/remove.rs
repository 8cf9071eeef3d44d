//! `remove` (being written).
