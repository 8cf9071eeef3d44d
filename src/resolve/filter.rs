//! include/exclude patterns with `fnmatch` semantics (CONTRACT STUB).
