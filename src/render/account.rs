//! The text of `hfdl login`, `hfdl logout` and `hfdl whoami`.

use crate::ops::account::{LoginReport, LogoutReport, RemovedToken, WhoamiReport};

/// The line that ends a login (stderr).
pub fn login(report: &LoginReport) -> String {
    // Kept in the token file when no keyring kept it.
    let place = match (&report.keyring, &report.path) {
        (Some(keyring), _) => keyring.to_string(),
        (None, path) => format!(
            "the token file {}",
            path.clone().unwrap_or_default().display()
        ),
    };
    format!(
        "Logged in to {} as {} (token `{}`, {}); the token is kept in {place}",
        report.endpoint,
        report.user,
        report.token_name.as_deref().unwrap_or("unnamed"),
        report.role.as_deref().unwrap_or("unknown role"),
    )
}

/// What a logout removed, and what still carries a token (status lines).
pub fn logout(report: &LogoutReport) -> Vec<String> {
    let endpoint = &report.endpoint;
    let mut lines = Vec::new();
    if report.removed.is_empty() {
        lines.push(format!("No stored token for {endpoint}: nothing to remove"));
    }
    for removed in &report.removed {
        lines.push(match removed {
            RemovedToken::Keyring { keyring } => {
                format!("Removed the token for {endpoint} from {keyring}")
            }
            RemovedToken::TokenFile { path } => {
                format!("Removed the token file {}", path.display())
            }
        });
    }
    for name in &report.still_set {
        lines.push(format!(
            "{name} is still set in the environment, so requests still carry that token; unset it to log out completely"
        ));
    }
    lines
}

/// Who the token belongs to (stdout).
pub fn whoami(report: &WhoamiReport) -> String {
    let orgs = if report.orgs.is_empty() {
        "(none)".to_owned()
    } else {
        report.orgs.join(", ")
    };
    format!(
        "user: {}\norgs: {orgs}\ntoken: {} ({}), from {}\nendpoint: {}\n",
        report.user,
        report.token_name.as_deref().unwrap_or("unnamed"),
        report.role.as_deref().unwrap_or("unknown role"),
        report.source_detail,
        report.endpoint
    )
}
