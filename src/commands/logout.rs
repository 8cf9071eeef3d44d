//! `hfdl logout`: removes the endpoint's keyring entry and the HF token file (which
//! `hf auth logout` also removes: the two tools share that login), then says what still
//! supplies a token, such as `HF_TOKEN` in the environment.

use super::Context;
use crate::cli::LogoutArgs;
use crate::env;
use crate::error::{Error, Result};
use crate::hub::auth;
use crate::hub::keyring::Keyring;

pub fn run(ctx: &Context, project: &crate::ops::Project, _args: &LogoutArgs) -> Result<()> {
    let settings = &project.settings();
    let endpoint = &settings.endpoint;
    let mut removed: Vec<(String, serde_json::Value)> = Vec::new();

    // Every back end: a token stored from another kind of session must go too.
    let mut keyring_error = None;
    match Keyring::available(&settings.env) {
        Ok(keyrings) => {
            for keyring in keyrings {
                match keyring.delete(endpoint) {
                    Ok(true) => removed.push((
                        format!("the token for {endpoint} from {}", keyring.backend()),
                        serde_json::json!({"store": "keyring", "keyring": keyring.backend().as_str()}),
                    )),
                    Ok(false) => {}
                    Err(error) => keyring_error = Some(error),
                }
            }
        }
        Err(reason) => tracing::debug!(%reason, "no keyring to log out of"),
    }
    let path = auth::token_file_path(&settings.env);
    if auth::remove_token_file(&path).map_err(Error::io(&path))? {
        removed.push((
            format!("the token file {}", path.display()),
            serde_json::json!({"store": "token-file", "path": path}),
        ));
    }
    let remaining: Vec<&str> = [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN]
        .into_iter()
        .filter(|name| settings.env.get(name).is_some())
        .collect();

    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "endpoint": endpoint,
            "removed": removed.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            "still_set": remaining,
        }))?;
        return keyring_error.map_or(Ok(()), |error| Err(error.into()));
    }
    if removed.is_empty() {
        ctx.status(&format!(
            "No stored token for {endpoint}: nothing to remove"
        ));
    }
    for (what, _) in &removed {
        ctx.status(&format!("Removed {what}"));
    }
    for name in remaining {
        ctx.status(&format!(
            "{name} is still set in the environment, so requests still carry that token; unset it to log out completely"
        ));
    }
    // Reported last: what could be removed was removed.
    keyring_error.map_or(Ok(()), |error| Err(error.into()))
}
