//! The text of `hfdl sync`: the plan of a dry run (stdout) and the summary line (stderr).

use indicatif::HumanBytes;

use super::{count, elapsed, short};
use crate::hub::metrics::RequestCounts;
use crate::ops::{SyncPlan, SyncReport};
use crate::reconcile::plan::BlobAction;
use crate::resolve::describe_changes;

/// A dry run: the lock changes, then one line per step.
pub fn plan(report: &SyncPlan) -> String {
    let plan = &report.plan;
    let mut out = describe_changes(&report.lock_changes);
    if plan.is_empty() {
        out.push(format!(
            "Nothing to do: {} already in place",
            count(plan.files_total, "file")
        ));
        return out.join("\n");
    }
    // Over Xet, what crosses the network can be much less than the files' bytes.
    let fetched = if report.xet_reused_bytes > 0 {
        format!(
            "; fetching {}, with {} of Xet chunks copied from the store",
            HumanBytes(report.fetch_bytes),
            HumanBytes(report.xet_reused_bytes)
        )
    } else {
        String::new()
    };
    out.push(format!(
        "Would download {} ({}{fetched}), verify {}, link {}, write {}, prune {}",
        count(plan.download_count(), "file"),
        HumanBytes(plan.download_bytes()),
        plan.blobs
            .iter()
            .filter(|s| s.action == BlobAction::Verify)
            .count(),
        plan.links.len(),
        count(plan.refs.len(), "ref"),
        plan.prunes.len() + plan.dir_prunes.len(),
    ));
    for step in &plan.blobs {
        let (verb, note) = match &step.action {
            BlobAction::Download { resume_from: 0 } => ("download", String::new()),
            BlobAction::Download { resume_from } => {
                ("resume", format!(" (from {})", HumanBytes(*resume_from)))
            }
            BlobAction::Verify => ("verify", " (already in the cache)".to_owned()),
            BlobAction::Replace { actual_size } => (
                "replace",
                format!(" (damaged: {actual_size} bytes on disk)"),
            ),
            BlobAction::Copy { .. } => ("copy", " (from another repo in the store)".to_owned()),
        };
        out.push(format!(
            "  {verb:<8} {:<12} {} {}{note}",
            step.models.join("+"),
            step.path,
            HumanBytes(step.size)
        ));
    }
    for link in &plan.links {
        out.push(format!(
            "  {:<8} {:<12} {} ({})",
            "link", link.model, link.path, link.reason
        ));
    }
    for step in &plan.refs {
        out.push(format!(
            "  {:<8} {:<12} {} -> {}",
            "ref",
            step.model,
            step.revision,
            short(&step.commit)
        ));
    }
    for prune in &plan.prunes {
        out.push(format!("  {:<8} {:<12} {}", "prune", "", prune.path));
    }
    for step in &plan.dir_files {
        out.push(format!(
            "  {:<8} {:<12} {}",
            "dir",
            step.model,
            step.dest.display()
        ));
    }
    for step in &plan.dir_prunes {
        out.push(format!(
            "  {:<8} {:<12} {}",
            "prune",
            step.model,
            step.file.display()
        ));
    }
    out.join("\n")
}

/// The line that ends a sync.
pub fn summary(report: &SyncReport) -> String {
    let summary = &report.summary;
    if report.already_in_sync {
        return format!(
            "Already in sync: {}, {}",
            count(report.models, "model"),
            count(summary.files_total, "file")
        );
    }
    let mut parts = vec![format!(
        "{} downloaded ({}) in {}",
        count(summary.downloaded_files, "file"),
        HumanBytes(summary.downloaded_bytes),
        elapsed(summary.elapsed)
    )];
    if summary.downloaded_bytes > 0 {
        parts.push(format!("{}/s", HumanBytes(summary.throughput() as u64)));
    }
    for (count, what) in [
        (summary.files_in_place, "already in place"),
        (summary.adopted_files, "adopted from the cache"),
        (summary.copied_files, "copied within the store"),
        (summary.pruned, "pruned"),
        (summary.dir_files, "placed in plain directories"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    if let Some(store) = &summary.blob_store {
        parts.push(format!(
            "{} from the blob store ({})",
            count(store.files, "file"),
            HumanBytes(store.bytes)
        ));
        for (n, what) in [
            (store.published_files, "published"),
            (store.already_published, "already published"),
            (
                store.bad_objects.len() as u64,
                "bad blob-store objects replaced by the Hub",
            ),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
    }
    if summary.resumed_bytes > 0 {
        parts.push(format!("{} resumed", HumanBytes(summary.resumed_bytes)));
    }
    if summary.xet_reused_bytes > 0 {
        parts.push(format!(
            "{} of Xet chunks reused from the store",
            HumanBytes(summary.xet_reused_bytes)
        ));
    }
    if summary.retries > 0 {
        parts.push(count(summary.retries as usize, "retry"));
    }
    let store_requests = summary
        .blob_store
        .as_ref()
        .map_or_else(String::new, |store| {
            format!(
                ", {} to the blob store",
                count(store.requests.requests() as usize, "request")
            )
        });
    format!(
        "Synced {}, {}: {}; {}{store_requests}",
        count(report.models, "model"),
        count(summary.files_total, "file"),
        parts.join(", "),
        requests(&summary.requests)
    )
}

/// `7 requests (3 api, 2 resolve, 2 cdn)`: what the command sent, by kind.
pub fn requests(requests: &RequestCounts) -> String {
    let kinds: Vec<String> = [
        (requests.api, "api"),
        (requests.resolve_get + requests.resolve_head, "resolve"),
        (requests.cdn, "cdn"),
        (requests.xet, "xet"),
        (requests.other, "other"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, kind)| format!("{n} {kind}"))
    .collect();
    let total = count(requests.total as usize, "request");
    if kinds.is_empty() {
        total
    } else {
        format!("{total} ({})", kinds.join(", "))
    }
}

/// `Pushed 3 of 5 blobs (1.2 GB) to s3://…; 2 already there; 7 requests`.
pub fn push_summary(report: &crate::ops::push::PushReport) -> String {
    format!(
        "Pushed {} of {} ({}) to {}; {} already there; {} to the blob store",
        report.uploaded_files,
        count(report.blobs, "blob"),
        HumanBytes(report.uploaded_bytes),
        report.blob_store,
        report.already_there,
        count(report.requests.requests() as usize, "request")
    )
}
