//! `hfdl doctor`'s checks: everything a sync depends on, each with a verdict (ok / warn /
//! fail), what was seen, and the next step when it is not ok.
//!
//! The probes live where their world is ([`crate::store::disk`] for the file system,
//! [`crate::hub::probe`] for the endpoint); this module runs them and turns what they saw into
//! verdicts. The verdict functions are pure, so the thresholds are unit-tested. Nothing here
//! changes the store, the project or the network's state: the lock's needs come from a scan and
//! a plan, as in `sync --dry-run`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use indicatif::HumanBytes;
use serde::Serialize;

use crate::hub::HubError;
use crate::hub::auth::{TokenSource, TokenUse};
use crate::hub::keyring::Keyring;
use crate::hub::probe::{EndpointProbe, probe_endpoint};
use crate::lock::{self, Freshness, Lockfile, StaleReason};
use crate::manifest::Manifest;
use crate::reconcile::{PlanOptions, plan};
use crate::report;
use crate::settings::Settings;
use crate::store::disk::{self, DiskUsage, Inodes};
use crate::store::{Store, VerifiedBlobs, scan};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing to do.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// A sync would fail (or the check could not run): `doctor` exits 1.
    Fail,
}

/// One check: its name, verdict, what was seen and, unless ok, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked (`store`, `disk`, `token`, …).
    #[serde(rename = "check")]
    pub name: &'static str,
    /// The outcome.
    #[serde(rename = "status")]
    pub verdict: Verdict,
    /// What was seen.
    pub detail: String,
    /// The next step, unless ok.
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            verdict: Verdict::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            verdict: Verdict::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn fail(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            verdict: Verdict::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// A warning is due when the clock is further off than this: signed URLs and token expiry
/// tolerate some drift, not minutes of it.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_mins(5);

/// The longest doctor waits for the endpoint: it reports, it does not retry.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every check, in a stable order: the store, the project, the keyring, the Hub.
pub async fn diagnose(settings: &Settings, manifest: Option<&Manifest>) -> Vec<Check> {
    let store = Store::new(&settings.store);
    let mut checks = Vec::new();
    let writable = store_check(&settings.store);
    let store_ok = writable.verdict != Verdict::Fail;
    checks.push(writable);
    checks.push(if store_ok {
        symlink_check(&settings.store)
    } else {
        Check::warn(
            "symlinks",
            "not checked: the store is not writable",
            "fix the store check first",
        )
    });

    let (lock, lock_check) = lock_check(settings, manifest);
    let needs = lock
        .as_ref()
        .map(|lock| LockNeeds::of(settings, &store, lock));
    match disk::usage(&settings.store) {
        Ok(usage) => {
            checks.push(disk_verdict(&usage, needs.as_ref().map(|n| n.bytes)));
            checks.push(inode_verdict(
                usage.inodes,
                needs.as_ref().map_or(0, |n| n.files),
            ));
        }
        Err(error) => {
            checks.push(Check::warn(
                "disk",
                format!("free space unknown: {error}"),
                "check that the store's disk is mounted",
            ));
        }
    }
    checks.push(partials_check(&store, needs.as_ref()));
    checks.push(lock_check);
    checks.push(keyring_check(settings));
    checks.extend(hub_checks(settings).await);
    if settings.blob_store.is_some() {
        checks.push(blob_store_check(settings).await);
    }
    checks
}

/// The shared blob store answers these credentials: the bucket can be listed, and written to
/// when this machine publishes. Only when `blob-store` is set.
async fn blob_store_check(settings: &Settings) -> Check {
    const NAME: &str = "blob-store";
    if settings.offline {
        return Check::warn(
            NAME,
            "not checked: offline",
            "run `hfdl doctor` without --offline",
        );
    }
    let store = match settings.blob_store_client() {
        Ok(Some(store)) => store,
        Ok(None) => return Check::ok(NAME, "not set"),
        Err(error) => {
            let fix = miette::Diagnostic::help(&error).map_or_else(String::new, |h| h.to_string());
            return Check::fail(NAME, error.to_string(), fix);
        }
    };
    let connection = store.connection();
    let at = format!(
        "{} at {} (region {}, {})",
        store.url(),
        connection.endpoint.as_deref().unwrap_or("AWS S3"),
        connection.region,
        connection.credentials.describe()
    );
    let probe = tokio::time::timeout(PROBE_TIMEOUT, store.check(settings.publish)).await;
    match probe {
        Ok(Ok(())) if settings.publish => Check::ok(NAME, format!("{at}: readable and writable")),
        Ok(Ok(())) => Check::ok(
            NAME,
            format!("{at}: readable (not publishing: write not checked)"),
        ),
        Ok(Err(error)) => {
            let fix = miette::Diagnostic::help(&error).map_or_else(String::new, |h| h.to_string());
            Check::fail(NAME, format!("{at}: {error}"), fix)
        }
        Err(_) => Check::fail(
            NAME,
            format!("{at}: no answer in {PROBE_TIMEOUT:?}"),
            "check AWS_ENDPOINT_URL and that the engine is up; syncs fall back to the Hub meanwhile",
        ),
    }
}

/// The store exists (or can be created) and a file can be written in it.
fn store_check(store: &std::path::Path) -> Check {
    let fix =
        "fix its permissions or mount, or point --store / HF_HUB_CACHE at a writable directory";
    let read_only = disk::usage(store).is_ok_and(|usage| usage.read_only);
    match disk::check_writable(store) {
        Ok(()) if !read_only && store.is_dir() => {
            Check::ok("store", format!("{} is writable", store.display()))
        }
        Ok(()) if !read_only => Check::ok(
            "store",
            format!(
                "{} does not exist yet; `hfdl sync` creates it",
                store.display()
            ),
        ),
        Ok(()) => Check::fail(
            "store",
            format!("{} is on a read-only file system", store.display()),
            fix,
        ),
        Err(error) => Check::fail(
            "store",
            format!("{} is not writable: {error}", store.display()),
            fix,
        ),
    }
}

fn symlink_check(store: &std::path::Path) -> Check {
    match disk::check_symlinks(store) {
        Ok(()) => Check::ok("symlinks", "the store's file system supports symlinks"),
        Err(error) => Check::fail(
            "symlinks",
            format!("cannot create a symlink in the store: {error}"),
            "the Hugging Face cache is made of symlinks: put the store on a file system that has them (not FAT/exFAT or a share without them)",
        ),
    }
}

/// The lock in the project, and whether it matches the manifest (no network: the fingerprints
/// `--locked` compares).
fn lock_check(settings: &Settings, manifest: Option<&Manifest>) -> (Option<Lockfile>, Check) {
    let path = &settings.lock_path;
    let Some(manifest) = manifest else {
        let check = Check::ok(
            "lock",
            "not in a project (no models.toml): nothing to compare",
        );
        return (None, check);
    };
    match lock::load(path) {
        Err(error) => (
            None,
            Check::fail(
                "lock",
                format!("{} cannot be read: {error}", path.display()),
                "fix it or delete it, then run `hfdl lock`",
            ),
        ),
        Ok(None) => (
            None,
            Check::warn(
                "lock",
                format!("{} does not exist", path.display()),
                "run `hfdl lock` and commit models.lock next to models.toml",
            ),
        ),
        Ok(Some(lock)) => {
            let check = match lock.freshness(manifest) {
                Freshness::Fresh => Check::ok(
                    "lock",
                    format!(
                        "{} matches models.toml ({})",
                        path.display(),
                        report::count(lock.models.len(), "model")
                    ),
                ),
                Freshness::Stale(reasons) => Check::warn(
                    "lock",
                    format!(
                        "{} is out of date with models.toml: {}",
                        path.display(),
                        reasons
                            .iter()
                            .map(|reason| match reason {
                                StaleReason::Added(name) => format!("`{name}` is not locked yet"),
                                StaleReason::Removed(name) => format!("`{name}` was removed"),
                                StaleReason::Changed(name) => format!("`{name}` changed"),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "run `hfdl lock` (`sync --locked` fails until then)",
                ),
            };
            (Some(lock), check)
        }
    }
}

/// What the lock still needs from the store: a scan and a plan, no network.
#[derive(Debug, Clone, Default)]
pub struct LockNeeds {
    /// Bytes the sync would add to the disk.
    pub bytes: u64,
    /// Files (blobs and links) the sync would create.
    pub files: u64,
    /// Partial files the sync would resume.
    pub resumable: BTreeSet<std::path::PathBuf>,
}

impl LockNeeds {
    fn of(settings: &Settings, store: &Store, lock: &Lockfile) -> LockNeeds {
        // The stat cache is read, never saved: doctor changes nothing.
        let verified = VerifiedBlobs::load(settings.verified_blobs_file());
        let state = scan(store, lock, &BTreeMap::new(), &verified);
        let plan = plan(
            store,
            lock,
            &state,
            &PlanOptions {
                prune: false,
                dirs: BTreeMap::new(),
            },
        );
        // Both kinds of partial a sync resumes: `<hex>.incomplete` (one connection) and
        // `<hex>.hfdl.incomplete` (byte ranges).
        let resumable = plan
            .blobs
            .iter()
            .flat_map(|step| {
                let ranged = step.fetch.blob.with_file_name(format!(
                    "{}{}",
                    step.fetch.hash.hex(),
                    crate::store::partials::RANGED_PARTIAL_SUFFIX
                ));
                [step.fetch.incomplete.clone(), ranged]
            })
            .collect();
        LockNeeds {
            bytes: plan.disk_bytes(),
            files: (plan.download_count() + plan.links.len()) as u64,
            resumable,
        }
    }
}

/// Free space against what the lock still needs plus the reserve a sync keeps free: fail when
/// it cannot fit, warn when less than a tenth of the disk (at most 10 GiB) would be left.
pub fn disk_verdict(usage: &DiskUsage, needed: Option<u64>) -> Check {
    let free = HumanBytes(usage.available);
    let fix_space = "free some space (`hfdl gc` removes what no lock uses), or point --store / HF_HUB_CACHE at a larger disk";
    let margin = (usage.total / 10).min(10 << 30);
    let Some(needed) = needed else {
        return if usage.available < margin {
            Check::warn(
                "disk",
                format!("only {free} free on the store's disk"),
                fix_space,
            )
        } else {
            Check::ok("disk", format!("{free} free on the store's disk"))
        };
    };
    let reserve = usage.reserve();
    let left = usage.available.saturating_sub(needed);
    if usage.available < needed.saturating_add(reserve) {
        Check::fail(
            "disk",
            format!(
                "the lock still needs {}, {free} free (a sync keeps {} free)",
                HumanBytes(needed),
                HumanBytes(reserve)
            ),
            fix_space,
        )
    } else if left < margin {
        Check::warn(
            "disk",
            format!(
                "the lock still needs {} of {free} free; {} would be left",
                HumanBytes(needed),
                HumanBytes(left)
            ),
            fix_space,
        )
    } else {
        Check::ok(
            "disk",
            format!("the lock still needs {}, {free} free", HumanBytes(needed)),
        )
    }
}

/// Inodes left against the files the sync creates: fail when they cannot fit, warn under 5% of
/// the file system's inodes (or fewer than 10 000) left afterwards.
pub fn inode_verdict(inodes: Option<Inodes>, needed: u64) -> Check {
    let Some(inodes) = inodes else {
        return Check::ok(
            "inodes",
            "the file system does not limit inodes (allocated as needed)",
        );
    };
    let fix = "delete files on the store's disk (`hfdl gc`), or use a file system with more inodes";
    let left = inodes.available.saturating_sub(needed);
    if inodes.available < needed {
        Check::fail(
            "inodes",
            format!(
                "{} free, the lock still needs {needed}",
                report::count(inodes.available as usize, "inode")
            ),
            fix,
        )
    } else if left < (inodes.total / 20).min(10_000) {
        Check::warn(
            "inodes",
            format!(
                "{} of {} inodes free; {left} would be left",
                inodes.available, inodes.total
            ),
            fix,
        )
    } else {
        Check::ok(
            "inodes",
            format!("{} of {} inodes free", inodes.available, inodes.total),
        )
    }
}

/// Partial downloads: those the lock needs are resumed by the next sync; the others are stale.
fn partials_check(store: &Store, needs: Option<&LockNeeds>) -> Check {
    let partials = disk::partial_files(store.root());
    if partials.is_empty() {
        return Check::ok("partials", "no partial downloads");
    }
    let (resumable, stale): (Vec<_>, Vec<_>) = partials
        .iter()
        .partition(|p| needs.is_some_and(|n| n.resumable.contains(&p.path)));
    let size = |files: &[&disk::PartialFile]| HumanBytes(files.iter().map(|p| p.size).sum());
    if stale.is_empty() {
        return Check::ok(
            "partials",
            format!(
                "{} ({}) that `hfdl sync` resumes",
                report::count(resumable.len(), "partial download"),
                size(&resumable)
            ),
        );
    }
    let mut detail = format!(
        "{} ({}) that the lock here does not need",
        report::count(stale.len(), "stale partial download"),
        size(&stale)
    );
    if !resumable.is_empty() {
        let _ = write!(
            detail,
            "; {} ({}) to resume",
            report::count(resumable.len(), "other"),
            size(&resumable)
        );
    }
    Check::warn(
        "partials",
        detail,
        "`hfdl gc` deletes those no known lock needs; `hfdl sync` resumes the others",
    )
}

fn keyring_check(settings: &Settings) -> Check {
    match Keyring::detect(&settings.env) {
        Ok(keyring) => Check::ok("keyring", format!("{} is available", keyring.backend())),
        Err(reason) => Check::warn(
            "keyring",
            format!("no OS keyring ({reason})"),
            "`hfdl login` stores the token in the HF token file instead; that works, unencrypted",
        ),
    }
}

/// Endpoint, TLS, clock and token. One anonymous probe, then (with a token) `whoami`.
async fn hub_checks(settings: &Settings) -> Vec<Check> {
    let endpoint = &settings.endpoint;
    let names = ["endpoint", "tls", "clock", "token"];
    if settings.offline {
        return names
            .iter()
            .map(|name| {
                Check::warn(
                    name,
                    "not checked: offline mode",
                    "run without --offline / HF_HUB_OFFLINE to check the Hub",
                )
            })
            .collect();
    }
    let token = settings.token(TokenUse::Explicit);
    let mut options = settings.hub_options();
    options.token = token.as_ref().map(|(token, _)| token.clone());
    options.timeout = options.timeout.min(PROBE_TIMEOUT);
    options.retries = 0;
    let hub = crate::hub::HubClient::new(options);

    let probe = match probe_endpoint(&hub).await {
        Ok(probe) => probe,
        Err(error) => {
            let endpoint_check = Check::fail(
                "endpoint",
                format!("{endpoint} is not reachable: {}", error.message),
                "check the network, a proxy (HTTPS_PROXY) and HF_ENDPOINT / `endpoint`",
            );
            let tls_check = if error.tls {
                Check::fail(
                    "tls",
                    format!("the TLS handshake with {endpoint} failed"),
                    "check the system clock and the CA certificates (a TLS-intercepting proxy needs its CA installed)",
                )
            } else {
                not_checked("tls")
            };
            return vec![
                endpoint_check,
                tls_check,
                not_checked("clock"),
                not_checked("token"),
            ];
        }
    };
    let mut checks = vec![
        endpoint_verdict(endpoint, &probe),
        tls_verdict(endpoint, &probe),
        clock_verdict(&probe),
    ];
    if probe.status >= 500 {
        checks.push(not_checked("token"));
        return checks;
    }
    checks.push(token_check(&hub, token.as_ref().map(|(_, source)| source)).await);
    checks
}

fn not_checked(name: &'static str) -> Check {
    Check::warn(
        name,
        "not checked: the endpoint did not answer",
        "fix the endpoint check first",
    )
}

fn endpoint_verdict(endpoint: &str, probe: &EndpointProbe) -> Check {
    let latency = report::elapsed(probe.latency);
    if probe.status >= 500 {
        Check::fail(
            "endpoint",
            format!("{endpoint} answered {} in {latency}", probe.status),
            "the Hub is having trouble; try again later",
        )
    } else {
        Check::ok("endpoint", format!("{endpoint} answered in {latency}"))
    }
}

/// `https` that answered had a good handshake; plain HTTP is fine on a local endpoint (a
/// mirror, the mock Hub) and a warning anywhere else: tokens would cross the network in clear.
pub fn tls_verdict(endpoint: &str, probe: &EndpointProbe) -> Check {
    if probe.https {
        return Check::ok("tls", "TLS handshake and certificate ok");
    }
    let local = url::Url::parse(endpoint).is_ok_and(|url| match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    });
    if local {
        Check::ok("tls", "plain HTTP to a local endpoint")
    } else {
        Check::warn(
            "tls",
            "plain HTTP: the token and files cross the network unencrypted",
            "use an https:// endpoint",
        )
    }
}

/// The local clock against the server's `Date`.
pub fn clock_verdict(probe: &EndpointProbe) -> Check {
    let Some(skew) = probe.clock_skew_secs() else {
        return Check::warn(
            "clock",
            "not checked: the endpoint sent no Date header",
            "nothing to do unless downloads fail with expired URLs or tokens",
        );
    };
    let off = Duration::from_secs(skew.unsigned_abs());
    let direction = if skew > 0 { "behind" } else { "ahead of" };
    if off > MAX_CLOCK_SKEW {
        Check::warn(
            "clock",
            format!(
                "the local clock is {} {direction} the server's",
                report::elapsed(off)
            ),
            "synchronise the clock (NTP: `timedatectl set-ntp true`); signed download URLs and tokens depend on it",
        )
    } else {
        Check::ok(
            "clock",
            format!(
                "within {} of the server's",
                report::elapsed(off.max(Duration::from_secs(1)))
            ),
        )
    }
}

async fn token_check(hub: &crate::hub::HubClient, source: Option<&TokenSource>) -> Check {
    let from = source.map(|s| format!(", from {s}")).unwrap_or_default();
    match hub.whoami().await {
        Ok(me) => Check::ok(
            "token",
            format!(
                "valid: user {} (token `{}`, role {}){from}",
                me.name,
                me.token_name().unwrap_or("unnamed"),
                me.token_role().unwrap_or("unknown")
            ),
        ),
        Err(HubError::NotLoggedIn { .. }) => Check::warn(
            "token",
            "not logged in: public repos only",
            "`hfdl login` for gated and private repos",
        ),
        Err(error @ HubError::InvalidToken { .. }) => {
            let fix = match source {
                Some(TokenSource::EnvHfToken) => "set HF_TOKEN to a valid token, or unset it",
                Some(TokenSource::EnvLegacy) => {
                    "set HUGGING_FACE_HUB_TOKEN to a valid token, or unset it"
                }
                _ => "run `hfdl login` with a new token",
            };
            Check::fail("token", format!("{error}{from}"), fix)
        }
        Err(error) => Check::fail(
            "token",
            format!("the token could not be checked: {error}"),
            "run `hfdl doctor` again; if it persists, check the endpoint",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn usage(available: u64, total: u64) -> DiskUsage {
        DiskUsage {
            available,
            total,
            inodes: None,
            read_only: false,
        }
    }

    #[test]
    fn disk_fails_when_the_lock_does_not_fit_with_the_reserve() {
        let gib = 1u64 << 30;
        // 100 GiB disk: reserve 100 MiB, margin 10 GiB.
        let disk = usage(20 * gib, 100 * gib);
        assert_eq!(disk_verdict(&disk, Some(gib)).verdict, Verdict::Ok);
        assert_eq!(disk_verdict(&disk, Some(15 * gib)).verdict, Verdict::Warn);
        assert_eq!(
            disk_verdict(&disk, Some(20 * gib - (50 << 20))).verdict,
            Verdict::Fail,
            "fits the disk but not the reserve"
        );
        assert_eq!(disk_verdict(&disk, Some(30 * gib)).verdict, Verdict::Fail);
        let fail = disk_verdict(&disk, Some(30 * gib));
        assert!(fail.fix.unwrap().contains("hfdl gc"));
        // Without a lock, only a nearly full disk is worth a word.
        assert_eq!(disk_verdict(&disk, None).verdict, Verdict::Ok);
        assert_eq!(
            disk_verdict(&usage(gib, 100 * gib), None).verdict,
            Verdict::Warn
        );
    }

    #[test]
    fn inodes_fail_when_the_files_do_not_fit_and_warn_when_few_are_left() {
        let inodes = |available| {
            Some(Inodes {
                available,
                total: 1_000_000,
            })
        };
        assert_eq!(inode_verdict(inodes(500_000), 100).verdict, Verdict::Ok);
        assert_eq!(inode_verdict(inodes(10_050), 100).verdict, Verdict::Warn);
        assert_eq!(inode_verdict(inodes(50), 100).verdict, Verdict::Fail);
        assert_eq!(inode_verdict(None, 100).verdict, Verdict::Ok);
    }

    fn probe(https: bool, skew_secs: i64) -> EndpointProbe {
        let local = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let server = if skew_secs >= 0 {
            local + Duration::from_secs(skew_secs.unsigned_abs())
        } else {
            local - Duration::from_secs(skew_secs.unsigned_abs())
        };
        EndpointProbe {
            url: String::new(),
            status: 200,
            latency: Duration::from_millis(20),
            https,
            server_date: Some(server),
            local_date: local,
        }
    }

    #[test]
    fn plain_http_is_fine_locally_and_a_warning_elsewhere() {
        let local = tls_verdict("http://127.0.0.1:8080", &probe(false, 0));
        assert_eq!(local.verdict, Verdict::Ok);
        assert!(local.detail.contains("plain HTTP"));
        assert_eq!(
            tls_verdict("http://localhost:1", &probe(false, 0)).verdict,
            Verdict::Ok
        );
        assert_eq!(
            tls_verdict("http://hub.example.com", &probe(false, 0)).verdict,
            Verdict::Warn
        );
        assert_eq!(
            tls_verdict("https://huggingface.co", &probe(true, 0)).verdict,
            Verdict::Ok
        );
    }

    #[test]
    fn a_clock_more_than_five_minutes_off_is_a_warning_either_way() {
        assert_eq!(clock_verdict(&probe(true, 2)).verdict, Verdict::Ok);
        assert_eq!(clock_verdict(&probe(true, 299)).verdict, Verdict::Ok);
        let behind = clock_verdict(&probe(true, 3600));
        assert_eq!(behind.verdict, Verdict::Warn);
        assert!(behind.detail.contains("behind"), "{}", behind.detail);
        let ahead = clock_verdict(&probe(true, -600));
        assert_eq!(ahead.verdict, Verdict::Warn);
        assert!(ahead.detail.contains("ahead of"), "{}", ahead.detail);
        let no_date = EndpointProbe {
            server_date: None,
            ..probe(true, 0)
        };
        assert_eq!(clock_verdict(&no_date).verdict, Verdict::Warn);
    }
}
