//! `hfdl whoami`: the token's owner, organisations, token name and role (from `whoami-v2`),
//! and which source the token came from. Never the token itself.

use super::Context;
use crate::cli::WhoamiArgs;
use crate::error::Result;
use crate::hub::HubError;
use crate::hub::auth::TokenUse;

pub async fn run(ctx: &Context, project: &crate::ops::Project, _args: &WhoamiArgs) -> Result<()> {
    let settings = &project.settings();
    let Some((token, source)) = settings.token(TokenUse::Explicit) else {
        return Err(HubError::NotLoggedIn {
            endpoint: settings.endpoint.clone(),
        }
        .into());
    };
    // The token found above, not a second lookup (which may mean a keyring round trip).
    let me = settings.hub_client_with_token(Some(token)).whoami().await?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "endpoint": settings.endpoint,
            "user": me.name,
            "fullname": me.fullname,
            "orgs": me.org_names(),
            "token_name": me.token_name(),
            "role": me.token_role(),
            "source": source.kind(),
            "source_detail": source.to_string(),
        }));
    }
    let orgs = me.org_names();
    let orgs = if orgs.is_empty() {
        "(none)".to_owned()
    } else {
        orgs.join(", ")
    };
    let text = format!(
        "user: {}\norgs: {orgs}\ntoken: {} ({}), from {source}\nendpoint: {}\n",
        me.name,
        me.token_name().unwrap_or("unnamed"),
        me.token_role().unwrap_or("unknown role"),
        settings.endpoint
    );
    ctx.print_data(&text)
}
