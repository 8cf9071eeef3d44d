//! Where the blob store is and who hfdl is to it: the AWS conventions, read from hfdl's
//! [`Env`] snapshot (never the process environment directly) and `~/.aws`.
//!
//! The order is the AWS CLI's: `AWS_*` variables, then the profile (`AWS_PROFILE`, else
//! `default`) in the shared credentials file and the config file. Without credentials, requests
//! to a self-hosted endpoint go unsigned (a public bucket); on AWS itself the ambient chain
//! (web identity, container, instance profile) is left to `object_store`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::env::Env;

/// Default region when nothing names one (the AWS CLI's).
pub const DEFAULT_REGION: &str = "us-east-1";

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An access key (and optional session token).
    Static {
        /// `AWS_ACCESS_KEY_ID` or `aws_access_key_id`.
        key_id: String,
        /// `AWS_SECRET_ACCESS_KEY`; never printed (see the `Debug` impl).
        secret: String,
        /// `AWS_SESSION_TOKEN`; never printed.
        token: Option<String>,
        /// Where they came from, for messages.
        origin: CredentialOrigin,
    },
    /// Unsigned requests: a public bucket.
    Anonymous {
        /// Why hfdl does not sign, for messages.
        reason: &'static str,
    },
    /// The AWS ambient chain (web identity token, ECS/EKS container credentials, EC2 instance
    /// profile), resolved by `object_store` at the first request.
    Ambient,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key id identifies the key in the engine's logs; the secret and token stay out.
        match self {
            Credentials::Static { key_id, origin, .. } => f
                .debug_struct("Static")
                .field("key_id", key_id)
                .field("origin", origin)
                .finish_non_exhaustive(),
            Credentials::Anonymous { reason } => {
                f.debug_struct("Anonymous").field("reason", reason).finish()
            }
            Credentials::Ambient => f.write_str("Ambient"),
        }
    }
}

impl Credentials {
    /// Names the setting the credentials come from, for an error about them.
    pub fn describe(&self) -> String {
        match self {
            Credentials::Static { key_id, origin, .. } => {
                format!("access key `{key_id}` from {origin}")
            }
            Credentials::Anonymous { reason } => format!("no credentials ({reason})"),
            Credentials::Ambient => {
                "the AWS ambient credentials (web identity, container or instance profile)".into()
            }
        }
    }
}

/// Where static credentials were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOrigin {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// A profile of a file in `~/.aws`.
    Profile {
        /// The profile's name.
        name: String,
        /// The file that held the keys.
        file: PathBuf,
    },
}

impl fmt::Display for CredentialOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialOrigin::Environment => {
                f.write_str("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment")
            }
            CredentialOrigin::Profile { name, file } => {
                write!(f, "profile `{name}` in {}", file.display())
            }
        }
    }
}

/// Everything needed to talk to the engine, besides the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// A self-hosted engine's URL (`AWS_ENDPOINT_URL`), or `None` for AWS S3.
    pub endpoint: Option<String>,
    /// The region requests are signed for.
    pub region: String,
    /// How requests are signed.
    pub credentials: Credentials,
    /// `https://BUCKET.host/KEY` instead of `https://host/BUCKET/KEY`: AWS S3's own form; a
    /// self-hosted engine gets path-style unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`.
    pub virtual_hosted: bool,
}

impl Connection {
    /// Reads the connection from the environment and the profile files.
    pub fn from_env(env: &Env) -> Result<Connection, String> {
        let profile_name = env
            .get("AWS_PROFILE")
            .or_else(|| env.get("AWS_DEFAULT_PROFILE"))
            .unwrap_or("default")
            .to_owned();
        let explicit_profile = env.get("AWS_PROFILE").is_some();
        let home = env.home().cloned().unwrap_or_default();
        let credentials_file = env
            .path("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or_else(|| home.join(".aws/credentials"));
        let config_file = env
            .path("AWS_CONFIG_FILE")
            .unwrap_or_else(|| home.join(".aws/config"));
        let from_credentials = read_profile(&credentials_file, &profile_name, false)?;
        let from_config = read_profile(&config_file, &profile_name, true)?;
        if explicit_profile && from_credentials.is_none() && from_config.is_none() {
            return Err(format!(
                "AWS_PROFILE={profile_name:?} names a profile that is in neither {} nor {}",
                credentials_file.display(),
                config_file.display()
            ));
        }
        let profile_value = |key: &str| {
            from_credentials
                .as_ref()
                .and_then(|p| p.get(key).map(|v| (v.clone(), credentials_file.clone())))
                .or_else(|| {
                    from_config
                        .as_ref()
                        .and_then(|p| p.get(key).map(|v| (v.clone(), config_file.clone())))
                })
        };

        let endpoint = env
            .get("AWS_ENDPOINT_URL_S3")
            .or_else(|| env.get("AWS_ENDPOINT_URL"))
            .map(str::to_owned)
            .or_else(|| profile_value("endpoint_url").map(|(v, _)| v));
        if let Some(endpoint) = &endpoint {
            let ok = url::Url::parse(endpoint)
                .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
            if !ok {
                return Err(format!(
                    "the S3 endpoint {endpoint:?} (AWS_ENDPOINT_URL) is not an http(s) URL"
                ));
            }
        }
        let region = env
            .get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .map(str::to_owned)
            .or_else(|| profile_value("region").map(|(v, _)| v))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());

        let credentials = match (
            env.get("AWS_ACCESS_KEY_ID"),
            env.get("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(key_id), Some(secret)) => Credentials::Static {
                key_id: key_id.to_owned(),
                secret: secret.to_owned(),
                token: env.get("AWS_SESSION_TOKEN").map(str::to_owned),
                origin: CredentialOrigin::Environment,
            },
            (Some(_), None) | (None, Some(_)) => {
                return Err(
                    "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; set both, or neither to use a profile"
                        .into(),
                );
            }
            (None, None) => match (
                profile_value("aws_access_key_id"),
                profile_value("aws_secret_access_key"),
            ) {
                (Some((key_id, file)), Some((secret, _))) => Credentials::Static {
                    key_id,
                    secret,
                    token: profile_value("aws_session_token").map(|(v, _)| v),
                    origin: CredentialOrigin::Profile {
                        name: profile_name.clone(),
                        file,
                    },
                },
                _ if env.flag("AWS_SKIP_SIGNATURE") => Credentials::Anonymous {
                    reason: "AWS_SKIP_SIGNATURE is set",
                },
                _ if env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
                    || env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
                    || env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some() =>
                {
                    Credentials::Ambient
                }
                _ if endpoint.is_some() => Credentials::Anonymous {
                    reason: "no AWS_ACCESS_KEY_ID or profile: a public bucket",
                },
                _ => Credentials::Ambient,
            },
        };
        let virtual_hosted = match env.get("AWS_VIRTUAL_HOSTED_STYLE_REQUEST") {
            Some(_) => env.flag("AWS_VIRTUAL_HOSTED_STYLE_REQUEST"),
            None => endpoint.is_none(),
        };
        Ok(Connection {
            endpoint,
            region,
            credentials,
            virtual_hosted,
        })
    }
}

/// The `key = value` pairs of `profile` in an AWS INI file (`[name]` in the credentials file,
/// `[profile name]` or `[default]` in the config file); `None` when the file or section is
/// absent.
fn read_profile(
    path: &Path,
    profile: &str,
    config_file: bool,
) -> Result<Option<BTreeMap<String, String>>, String> {
    let text = match fs_err::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    let wanted = if config_file && profile != "default" {
        format!("profile {profile}")
    } else {
        profile.to_owned()
    };
    Ok(parse_section(&text, &wanted))
}

/// One section of an INI text. Nested values (indented lines under `s3 =`) are skipped: hfdl
/// reads top-level keys only.
fn parse_section(text: &str, wanted: &str) -> Option<BTreeMap<String, String>> {
    let mut section: Option<BTreeMap<String, String>> = None;
    let mut in_wanted = false;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_wanted = name.split_whitespace().collect::<Vec<_>>().join(" ") == wanted;
            if in_wanted {
                section.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if in_wanted && let Some((key, value)) = line.split_once('=') {
            let value = value.trim();
            if !value.is_empty() {
                section
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key.trim().to_ascii_lowercase(), value.to_owned());
            }
        }
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(pairs: &[(&str, &str)], home: Option<PathBuf>) -> Result<Connection, String> {
        Connection::from_env(&Env::from_pairs(pairs.iter().copied(), home))
    }

    #[test]
    fn environment_keys_win_and_are_never_printed() {
        let connection = connect(
            &[
                ("AWS_ACCESS_KEY_ID", "GK123"),
                ("AWS_SECRET_ACCESS_KEY", "very-secret"),
                ("AWS_SESSION_TOKEN", "token-secret"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900"),
                ("AWS_REGION", "garage"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(connection.region, "garage");
        assert!(
            !connection.virtual_hosted,
            "self-hosted engines get path-style"
        );
        let shown = format!("{connection:?} {}", connection.credentials.describe());
        assert!(shown.contains("GK123"), "{shown}");
        assert!(!shown.contains("very-secret") && !shown.contains("token-secret"));
    }

    #[test]
    fn profiles_come_from_both_files() {
        let home = tempfile::tempdir().unwrap();
        let aws = home.path().join(".aws");
        fs_err::create_dir_all(&aws).unwrap();
        fs_err::write(
            aws.join("credentials"),
            "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[fleet]\naws_access_key_id=FLEET\naws_secret_access_key=S\n",
        )
        .unwrap();
        fs_err::write(
            aws.join("config"),
            "[profile fleet]\nregion = garage\nendpoint_url = http://127.0.0.1:9000\ns3 =\n  addressing_style = path\n",
        )
        .unwrap();
        let connection =
            connect(&[("AWS_PROFILE", "fleet")], Some(home.path().to_path_buf())).unwrap();
        assert_eq!(connection.region, "garage");
        assert_eq!(
            connection.endpoint.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        match &connection.credentials {
            Credentials::Static { key_id, origin, .. } => {
                assert_eq!(key_id, "FLEET");
                assert!(origin.to_string().contains("profile `fleet`"), "{origin}");
            }
            other => panic!("{other:?}"),
        }
        let missing =
            connect(&[("AWS_PROFILE", "nope")], Some(home.path().to_path_buf())).unwrap_err();
        assert!(missing.contains("\"nope\""), "{missing}");
    }

    #[test]
    fn without_keys_a_self_hosted_store_is_read_anonymously() {
        let connection = connect(&[("AWS_ENDPOINT_URL", "https://s3.example.org")], None).unwrap();
        assert!(matches!(
            connection.credentials,
            Credentials::Anonymous { .. }
        ));
        let aws = connect(&[], None).unwrap();
        assert_eq!(aws.credentials, Credentials::Ambient);
        assert!(aws.virtual_hosted);
        assert_eq!(aws.region, DEFAULT_REGION);
        let half = connect(&[("AWS_ACCESS_KEY_ID", "A")], None).unwrap_err();
        assert!(half.contains("AWS_SECRET_ACCESS_KEY"), "{half}");
        let bad = connect(&[("AWS_ENDPOINT_URL", "localhost:9000")], None).unwrap_err();
        assert!(bad.contains("AWS_ENDPOINT_URL"), "{bad}");
    }
}
