//! The metrics document of a sync (`--metrics-file PATH`): one JSON object for CI dashboards,
//! written also when the sync fails, so a failed build still says what it sent and how long
//! it took.
//!
//! Fields that only a finished sync knows (files, downloaded bytes) are `null` after a failure;
//! what the Hub client counted (requests by kind, retries, bytes received) is always there.

use std::time::Duration;

use serde::Serialize;

use crate::hub::metrics::{HubMetrics, RequestCounts};
use crate::reconcile::Summary;

/// The document's format version; bumped when a field changes meaning or disappears.
pub const METRICS_VERSION: u32 = 1;

/// What `--metrics-file` holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    /// The document's format version ([`METRICS_VERSION`]).
    pub version: u32,
    /// Whether the sync succeeded.
    pub ok: bool,
    /// Why the sync failed (`null` when it succeeded).
    pub error: Option<MetricsError>,
    /// From the start of the command's sync (lock phase included) to its end.
    pub wall_time_secs: f64,
    /// What happened to the locked files (`null` after a failure).
    pub files: Option<FileMetrics>,
    /// Byte counts.
    pub bytes: ByteMetrics,
    /// Downloaded bytes per second of the download phase (`null` after a failure).
    pub throughput_bytes_per_sec: Option<f64>,
    /// Retries of API calls and downloads.
    pub retries: u64,
    /// HTTP requests sent to the Hub, by kind.
    pub requests: RequestCounts,
    /// What the shared blob store served (files, bytes, requests) and received, when one is set
    /// (`null` after a failure, or without a store).
    pub blob_store: Option<crate::reconcile::execute::BlobStoreSummary>,
}

/// Why the sync failed: the `--json` error's code, exit code and message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MetricsError {
    /// The stable machine code, as in `--json` errors.
    pub code: String,
    /// The process exit code.
    pub exit_code: i32,
    /// The error's message.
    pub message: String,
}

/// What happened to the locked files.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct FileMetrics {
    /// Locked files in all entries.
    pub total: usize,
    /// Files fetched from the network by this sync.
    pub downloaded: usize,
    /// Found in the cache unverified, hashed and adopted.
    pub adopted: usize,
    /// Copied or hard-linked from another repo of the store.
    pub copied: usize,
    /// Already correct: nothing to do.
    pub in_place: usize,
    /// `adopted + copied + in_place`: bytes that did not cross the network.
    pub reused: usize,
}

/// Byte counts.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ByteMetrics {
    /// Verified file bytes received (`null` after a failure).
    pub downloaded: Option<u64>,
    /// Bytes of partial downloads that were continued instead of fetched again.
    pub resumed: Option<u64>,
    /// Bytes of Xet chunks copied from blobs already in the store instead of fetched.
    pub xet_reused: Option<u64>,
    /// File-body bytes received from the Hub, failed attempts included (the blob store's are
    /// in `blob_store`).
    pub received: u64,
}

impl Metrics {
    /// The document for a sync that ended with `outcome` after `wall_time`; `hub` is the
    /// counters its Hub clients shared.
    pub fn new(
        outcome: Result<&Summary, MetricsError>,
        hub: &HubMetrics,
        wall_time: Duration,
    ) -> Metrics {
        let (summary, error) = match outcome {
            Ok(summary) => (Some(summary), None),
            Err(error) => (None, Some(error)),
        };
        Metrics {
            version: METRICS_VERSION,
            ok: error.is_none(),
            error,
            wall_time_secs: (wall_time.as_secs_f64() * 1000.0).round() / 1000.0,
            files: summary.map(|s| FileMetrics {
                total: s.files_total,
                downloaded: s.downloaded_files,
                adopted: s.adopted_files,
                copied: s.copied_files,
                in_place: s.files_in_place,
                reused: s.reused_files,
            }),
            bytes: ByteMetrics {
                downloaded: summary.map(|s| s.downloaded_bytes),
                resumed: summary.map(|s| s.resumed_bytes),
                xet_reused: summary.map(|s| s.xet_reused_bytes),
                received: hub.body_bytes(),
            },
            throughput_bytes_per_sec: summary.map(|s| s.throughput().round()),
            retries: hub.retries(),
            requests: hub.snapshot(),
            blob_store: summary.and_then(|s| s.blob_store.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::metrics::RequestKind;

    #[test]
    fn a_failed_sync_keeps_the_hub_counts_and_leaves_unknowns_null() {
        let hub = HubMetrics::default();
        hub.count_request(RequestKind::Api);
        hub.count_request(RequestKind::Api);
        hub.count_retry();
        hub.count_body_bytes(10);
        let error = MetricsError {
            code: "server-error".into(),
            exit_code: 3,
            message: "the Hub answered 500".into(),
        };
        let metrics = Metrics::new(Err(error), &hub, Duration::from_millis(1234));
        let value = serde_json::to_value(&metrics).unwrap();
        assert_eq!(value["ok"], false);
        assert_eq!(value["error"]["code"], "server-error");
        assert_eq!(value["error"]["exit_code"], 3);
        assert_eq!(value["files"], serde_json::Value::Null);
        assert_eq!(value["bytes"]["downloaded"], serde_json::Value::Null);
        assert_eq!(value["bytes"]["received"], 10);
        assert_eq!(value["retries"], 1);
        assert_eq!(value["requests"]["api"], 2);
        assert_eq!(value["requests"]["total"], 2);
        assert_eq!(value["wall_time_secs"], 1.234);
    }

    #[test]
    fn a_finished_sync_reports_its_summary() {
        let hub = HubMetrics::default();
        let summary = Summary {
            files_total: 5,
            downloaded_files: 2,
            downloaded_bytes: 1000,
            resumed_bytes: 10,
            adopted_files: 1,
            files_in_place: 2,
            reused_files: 3,
            elapsed: Duration::from_secs(2),
            ..Summary::default()
        };
        let metrics = Metrics::new(Ok(&summary), &hub, Duration::from_secs(3));
        assert!(metrics.ok);
        assert_eq!(
            metrics.files,
            Some(FileMetrics {
                total: 5,
                downloaded: 2,
                adopted: 1,
                copied: 0,
                in_place: 2,
                reused: 3,
            })
        );
        assert_eq!(metrics.bytes.downloaded, Some(1000));
        assert_eq!(metrics.bytes.resumed, Some(10));
        assert_eq!(metrics.throughput_bytes_per_sec, Some(500.0));
    }
}
