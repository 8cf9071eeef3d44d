//! `hfdl version`: what this binary is (`hfdl --version` is the one-line form).

use super::Context;
use crate::build_info::build_info;
use crate::cli::VersionArgs;
use crate::error::Result;

pub fn run(context: &Context, _args: &VersionArgs) -> Result<()> {
    let info = build_info();
    if context.json {
        return context.print_report(&info);
    }
    let features = if info.features.is_empty() {
        "none".to_owned()
    } else {
        info.features.join(", ")
    };
    context.print_data(&format!(
        "hfdl {}\ncommit:   {}\ntarget:   {}\ncompiler: {}\nprofile:  {}\nfeatures: {}",
        info.version, info.commit, info.target, info.rustc, info.profile, features
    ))
}
