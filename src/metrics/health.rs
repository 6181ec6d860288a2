//! Whether the service is in shape: readiness, the served certificate and its ACME orders,
//! and the last snapshot and restore drill (sampled at scrape time).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::Metrics;

/// Certificate orders and renewals (`tls.mode = "acme"`).
#[derive(Default)]
pub struct AcmeGauges {
    pub last_attempt: Gauge,
    pub last_attempt_ok: Gauge,
    pub last_success: Gauge,
    pub failures: Counter,
}

/// The figures of the snapshot status file the gauges show, as the file's reader
/// (`snapshot::status::Status::figures`) hands them over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotFigures {
    pub last_success_at: Option<jiff::Timestamp>,
    pub last_success_duration_ms: Option<u64>,
    pub last_success_stored_bytes: Option<u64>,
    pub failures_total: u64,
    pub last_verified_at: Option<jiff::Timestamp>,
    pub verify_failures_total: u64,
}

/// The last snapshot and verify results, read from `<data>/snapshot-status.json` at scrape
/// time (the `snapshot` command may run in another process).
#[derive(Default)]
pub struct SnapshotGauges {
    pub last_success: Gauge,
    pub last_duration: Gauge,
    pub last_size: Gauge,
    pub failures: Gauge,
    pub last_verified: Gauge,
    pub verify_failures: Gauge,
}

impl Metrics {
    pub(super) fn register_health(&self, r: &mut Registry) {
        r.register(
            "barberpro_tls_certificate_expiry_timestamp_seconds",
            "When the served TLS certificate expires (Unix time; 0 without TLS)",
            self.tls_cert_expiry.clone(),
        );
        r.register(
            "barberpro_acme_last_attempt_timestamp_seconds",
            "When a certificate was last ordered from the ACME CA (Unix time; 0 never)",
            self.acme.last_attempt.clone(),
        );
        r.register(
            "barberpro_acme_last_attempt_success",
            "Whether the last certificate order succeeded (1) or failed (0)",
            self.acme.last_attempt_ok.clone(),
        );
        r.register(
            "barberpro_acme_last_success_timestamp_seconds",
            "When a certificate order last succeeded (Unix time; 0 never)",
            self.acme.last_success.clone(),
        );
        r.register(
            "barberpro_acme_order_failures",
            "Certificate orders that failed",
            self.acme.failures.clone(),
        );
        let snap = &self.snapshot;
        r.register(
            "barberpro_snapshot_last_success_timestamp_seconds",
            "When the last snapshot succeeded: taken, verified and, if configured, uploaded (Unix time; 0 never)",
            snap.last_success.clone(),
        );
        r.register_with_unit(
            "barberpro_snapshot_last_duration",
            "How long the last successful snapshot took (whole seconds, rounded up)",
            Unit::Seconds,
            snap.last_duration.clone(),
        );
        r.register_with_unit(
            "barberpro_snapshot_last_size",
            "Stored (compressed) size of the last successful snapshot",
            Unit::Bytes,
            snap.last_size.clone(),
        );
        r.register(
            "barberpro_snapshot_failures",
            "Failed snapshot attempts recorded in the status file (only grows)",
            snap.failures.clone(),
        );
        r.register(
            "barberpro_snapshot_last_verified_timestamp_seconds",
            "When a restore drill (snapshot verify) last succeeded (Unix time; 0 never)",
            snap.last_verified.clone(),
        );
        r.register(
            "barberpro_snapshot_verify_failures",
            "Failed restore drills recorded in the status file (only grows)",
            snap.verify_failures.clone(),
        );
        r.register(
            "barberpro_ready",
            "1 when /readyz would answer 200, else 0 (evaluated at scrape time)",
            self.ready.clone(),
        );
    }

    /// Copies the snapshot status file's figures into the snapshot gauges.
    pub fn sample_snapshots(&self, status: &SnapshotFigures) {
        let g = &self.snapshot;
        let seconds = |t: Option<jiff::Timestamp>| t.map_or(0, |t| t.as_second());
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        g.last_success.set(seconds(status.last_success_at));
        let ms = status.last_success_duration_ms.unwrap_or(0);
        g.last_duration.set(clamp(ms.div_ceil(1000)));
        g.last_size
            .set(clamp(status.last_success_stored_bytes.unwrap_or(0)));
        g.failures.set(clamp(status.failures_total));
        g.last_verified.set(seconds(status.last_verified_at));
        g.verify_failures.set(clamp(status.verify_failures_total));
    }
}
