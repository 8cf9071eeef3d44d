//! include/exclude patterns with `fnmatch` semantics (CONTRACT STUB — being implemented).

/// Placeholder until the real filter lands.
pub struct PathFilter;

#[derive(Debug, thiserror::Error)]
#[error("bad pattern")]
pub struct PatternError;

impl PathFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<PathFilter, PatternError> {
        let _ = (include, exclude);
        todo!()
    }
    pub fn matches(&self, path: &str) -> bool {
        let _ = path;
        todo!()
    }
}
