//! Continuous backup (issue 30): how far the bucket is behind, what was shipped, failures.
//! Sampled at scrape time from the change log's figures.

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

use super::Metrics;

/// What the gauges show, as `http::ops::metrics` reads it from the store's change log.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReplicationFigures {
    /// Commit time of the newest transaction in the bucket (Unix ms).
    pub last_replicated_ms: Option<i64>,
    pub lag_seconds: f64,
    pub shipped_bytes: u64,
    pub shipped_objects: u64,
    pub failures: u64,
    /// When the current run of failed rounds began (Unix ms).
    pub failing_since_ms: Option<i64>,
    pub waiting_bytes: u64,
    /// The generation stopped keeping transactions (backlog bound, or a gap).
    pub behind: bool,
}

#[derive(Default)]
pub struct ReplicationGauges {
    pub last_replicated: Gauge,
    pub lag: Gauge<f64, AtomicU64>,
    pub shipped_bytes: Gauge,
    pub shipped_objects: Gauge,
    pub failures: Gauge,
    pub failing_since: Gauge,
    pub waiting_bytes: Gauge,
    pub behind: Gauge,
}

impl Metrics {
    pub(super) fn register_replication(&self, r: &mut Registry) {
        let g = &self.replication;
        r.register(
            "barberpro_replication_last_replicated_timestamp_seconds",
            "Commit time of the newest transaction shipped to the bucket (Unix time; 0 none yet)",
            g.last_replicated.clone(),
        );
        r.register_with_unit(
            "barberpro_replication_lag",
            "Age of the oldest committed transaction not yet in the bucket (0 when all are shipped)",
            Unit::Seconds,
            g.lag.clone(),
        );
        r.register_with_unit(
            "barberpro_replication_shipped",
            "Bytes of change-log segments uploaded since the start (compressed, encrypted)",
            Unit::Bytes,
            g.shipped_bytes.clone(),
        );
        r.register(
            "barberpro_replication_shipped_objects",
            "Change-log segments uploaded since the start",
            g.shipped_objects.clone(),
        );
        r.register(
            "barberpro_replication_failures",
            "Shipping rounds that failed since the start",
            g.failures.clone(),
        );
        r.register(
            "barberpro_replication_failing_since_timestamp_seconds",
            "When the current run of failed shipping rounds began (Unix time; 0 when the last round succeeded)",
            g.failing_since.clone(),
        );
        r.register_with_unit(
            "barberpro_replication_waiting",
            "Bytes of sealed change-log segments waiting on disk to be shipped",
            Unit::Bytes,
            g.waiting_bytes.clone(),
        );
        r.register(
            "barberpro_replication_behind",
            "1 when the change log stopped keeping transactions for the bucket (backlog bound or a gap) until the next snapshot",
            g.behind.clone(),
        );
    }

    pub fn sample_replication(&self, f: &ReplicationFigures) {
        let g = &self.replication;
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        g.last_replicated
            .set(f.last_replicated_ms.map_or(0, |ms| ms / 1000));
        g.lag.set(if f.lag_seconds.is_finite() {
            f.lag_seconds
        } else {
            0.0
        });
        g.shipped_bytes.set(clamp(f.shipped_bytes));
        g.shipped_objects.set(clamp(f.shipped_objects));
        g.failures.set(clamp(f.failures));
        g.failing_since
            .set(f.failing_since_ms.map_or(0, |ms| ms / 1000));
        g.waiting_bytes.set(clamp(f.waiting_bytes));
        g.behind.set(i64::from(f.behind));
    }
}
