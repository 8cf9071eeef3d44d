//! What this binary is: version, git commit, target, compiler, profile and cargo features, as
//! recorded by `build.rs`. `hfdl version --json` prints it for bug reports.

use serde::Serialize;

/// The facts of this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    /// The crate version, e.g. `0.1.0`.
    pub version: &'static str,
    /// The git commit it was built from (`unknown` outside a git checkout).
    pub commit: &'static str,
    /// The target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub target: &'static str,
    /// `rustc --version` of the compiler that built it.
    pub rustc: &'static str,
    /// The cargo profile: `debug`/`release` (custom profiles report the one they inherit).
    pub profile: &'static str,
    /// The enabled cargo features of the `hfdl` package.
    pub features: Vec<&'static str>,
}

/// This build's facts.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("HFDL_BUILD_COMMIT"),
        target: env!("HFDL_BUILD_TARGET"),
        rustc: env!("HFDL_BUILD_RUSTC"),
        profile: env!("HFDL_BUILD_PROFILE"),
        features: env!("HFDL_BUILD_FEATURES")
            .split(',')
            .filter(|feature| !feature.is_empty())
            .collect(),
    }
}

impl BuildInfo {
    /// The commit shortened for a line of text (the full id is in the JSON).
    pub fn short_commit(&self) -> &'static str {
        self.commit.get(..12).unwrap_or(self.commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_facts_are_recorded() {
        let info = build_info();
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(!info.target.is_empty());
        assert!(info.rustc.starts_with("rustc "), "{}", info.rustc);
        assert!(!info.commit.is_empty());
    }
}
