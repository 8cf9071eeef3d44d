//! `hfdl doctor`: checks what a sync depends on and says what to fix: the store (writable, free
//! space, stale partial downloads), the keyring, the token (source and validity, never the value)
//! and the endpoint (reachable, latency). Exits 1 when a check fails.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use super::Context;
use crate::cli::DoctorArgs;
use crate::error::{Error, Result};
use crate::hub::HubError;
use crate::hub::auth::{TokenSource, TokenUse};
use crate::hub::keyring::Keyring;
use crate::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

struct Check {
    name: &'static str,
    verdict: Verdict,
    detail: String,
}

pub async fn run(ctx: &Context, _args: &DoctorArgs) -> Result<()> {
    let mut checks = store_checks(&ctx.settings.store);
    checks.push(keyring_check(ctx));
    checks.extend(hub_checks(ctx).await);

    let failed = checks.iter().any(|c| c.verdict == Verdict::Fail);
    if ctx.settings.json {
        let list: Vec<_> = checks
            .iter()
            .map(|c| serde_json::json!({"check": c.name, "status": c.verdict, "detail": c.detail}))
            .collect();
        ctx.print_json(&serde_json::json!({ "ok": !failed, "checks": list }))?;
    } else {
        let mut text = String::new();
        for check in &checks {
            let mark = match check.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            let _ = writeln!(text, "{mark} {:<9} {}", check.name, check.detail);
        }
        ctx.print_data(&text)?;
    }
    if failed {
        let failures = checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.name.to_owned())
            .collect();
        return Err(Error::ChecksFailed { failures });
    }
    Ok(())
}

fn check(name: &'static str, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check {
        name,
        verdict,
        detail: detail.into(),
    }
}

fn store_checks(store: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let existing = store.ancestors().find(|p| p.exists()).unwrap_or(store);
    let writable = tempfile::tempfile_in(existing).is_ok();
    checks.push(if writable {
        check(
            "store",
            Verdict::Ok,
            format!("{} is writable", store.display()),
        )
    } else {
        check(
            "store",
            Verdict::Fail,
            format!(
                "{} is not writable; fix its permissions or point --store / HF_HUB_CACHE elsewhere",
                existing.display()
            ),
        )
    });
    checks.push(match fs4::available_space(existing) {
        Ok(free) if free < 1 << 30 => check(
            "disk",
            Verdict::Warn,
            format!(
                "only {} free on the store's disk",
                indicatif::HumanBytes(free)
            ),
        ),
        Ok(free) => check(
            "disk",
            Verdict::Ok,
            format!("{} free on the store's disk", indicatif::HumanBytes(free)),
        ),
        Err(error) => check(
            "disk",
            Verdict::Warn,
            format!("free space unknown: {error}"),
        ),
    });
    let (count, bytes) = partial_downloads(store);
    checks.push(if count == 0 {
        check("partials", Verdict::Ok, "no partial downloads")
    } else {
        check(
            "partials",
            Verdict::Warn,
            format!(
                "{} ({}) of partial downloads; `hfdl sync` resumes them",
                report::count(count, "file"),
                indicatif::HumanBytes(bytes)
            ),
        )
    });
    checks
}

/// `.incomplete` files under `<store>/<repo>/blobs/`.
fn partial_downloads(store: &Path) -> (usize, u64) {
    let mut count = 0;
    let mut bytes = 0;
    let Ok(repos) = fs_err::read_dir(store) else {
        return (0, 0);
    };
    for repo in repos.flatten() {
        let Ok(blobs) = fs_err::read_dir(repo.path().join("blobs")) else {
            continue;
        };
        for blob in blobs.flatten() {
            if blob.file_name().to_string_lossy().ends_with(".incomplete") {
                count += 1;
                bytes += blob.metadata().map_or(0, |m| m.len());
            }
        }
    }
    (count, bytes)
}

fn keyring_check(ctx: &Context) -> Check {
    match Keyring::detect(&ctx.settings.env) {
        Ok(keyring) => check(
            "keyring",
            Verdict::Ok,
            format!("{} is available", keyring.backend()),
        ),
        Err(reason) => check(
            "keyring",
            Verdict::Warn,
            format!("no OS keyring ({reason}); `hfdl login` will use the HF token file"),
        ),
    }
}

async fn hub_checks(ctx: &Context) -> Vec<Check> {
    let settings = &ctx.settings;
    let endpoint = &settings.endpoint;
    let token = settings.token(TokenUse::Explicit);
    if settings.offline {
        return vec![check(
            "endpoint",
            Verdict::Warn,
            format!("{endpoint} not checked: offline mode"),
        )];
    }
    let hub = settings.hub_client_with_token(token.as_ref().map(|(token, _)| token.clone()));
    let started = Instant::now();
    let result = hub.whoami().await;
    let answered = || {
        check(
            "endpoint",
            Verdict::Ok,
            format!(
                "{endpoint} answered in {}",
                report::elapsed(started.elapsed())
            ),
        )
    };
    let source = token
        .as_ref()
        .map(|(_, source)| format!(", from {source}"))
        .unwrap_or_default();
    let (endpoint_check, token_check) = match result {
        Ok(me) => (
            answered(),
            check(
                "token",
                Verdict::Ok,
                format!(
                    "valid: user {} (token `{}`, {}){source}",
                    me.name,
                    me.token_name().unwrap_or("unnamed"),
                    me.token_role().unwrap_or("unknown role")
                ),
            ),
        ),
        Err(HubError::NotLoggedIn { .. }) => {
            // No token: reachability from an anonymous request instead.
            let url = format!("{endpoint}/api/whoami-v2");
            let endpoint_check = match hub.send(reqwest::Method::GET, &url, None).await {
                Ok(response) if response.status().is_server_error() => check(
                    "endpoint",
                    Verdict::Fail,
                    format!(
                        "{endpoint} answered {}: the Hub is having trouble; try again later",
                        response.status().as_u16()
                    ),
                ),
                Ok(_) => answered(),
                Err(error) => check("endpoint", Verdict::Fail, error.to_string()),
            };
            let token_check = check(
                "token",
                Verdict::Warn,
                "not logged in: public repos only (`hfdl login` for gated and private ones)",
            );
            (endpoint_check, token_check)
        }
        Err(error @ HubError::InvalidToken { .. }) => {
            let fix = match token.as_ref().map(|(_, source)| source) {
                Some(TokenSource::EnvHfToken) => "set HF_TOKEN to a valid token, or unset it",
                Some(TokenSource::EnvLegacy) => {
                    "set HUGGING_FACE_HUB_TOKEN to a valid token, or unset it"
                }
                _ => "run `hfdl login` with a new token",
            };
            (
                answered(),
                check("token", Verdict::Fail, format!("{error}{source}; {fix}")),
            )
        }
        Err(error) => (
            check("endpoint", Verdict::Fail, error.to_string()),
            check(
                "token",
                Verdict::Warn,
                "not checked: the endpoint did not answer",
            ),
        ),
    };
    vec![endpoint_check, token_check]
}
