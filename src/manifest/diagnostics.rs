//! Manifest errors as miette diagnostics pointing into the file (CONTRACT STUB).

/// Everything that can be wrong with a manifest.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ManifestError {
    #[error("placeholder")]
    Placeholder,
}
