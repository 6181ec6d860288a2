//! Prometheus metrics (prometheus-client): one [`Metrics`] registry per application, passed
//! around in `AppState` (no global). Every metric is declared here and registered, with its
//! name and help, in the file of its concern; those files also hold the methods that record
//! it. The HTTP middleware that feeds the request metrics is `http::middleware::track_metrics`;
//! the listener that serves them is `http::ops::metrics`.
//!
//! Names are `barberpro_*` for ours and the standard `process_*` for the process. Labels have
//! bounded values only: route templates (never raw paths), methods, statuses, branch slugs,
//! tiers. Scrapers asking for OpenMetrics get it; anyone else gets the Prometheus text format.

/// Bookings and clients, by branch.
mod bookings;
/// La caja: revenue by branch and method, checkouts and voids.
pub mod caja;
/// Readiness, the certificate and ACME, snapshots.
mod health;
/// Requests, connections, rate limits, webhook signatures, logins.
mod http;
/// The outbox and WhatsApp messages.
mod outbox;
/// Deposits and refunds.
mod payments;
/// Build info and `process_*` from `/proc`.
mod process;
/// Continuous backup: lag, what was shipped, failures.
mod replication;
/// The database file, the disk, the writer's batches and checkpoints.
mod storage;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use bookings::{CreatedLabels, TransitionLabels};
pub use health::{AcmeGauges, SnapshotFigures, SnapshotGauges};
pub use http::{ConnectionGuard, HttpLabels, ProviderLabels, RouteLabels, TIERS, TierLabels};
pub use outbox::{DeliveryLabels, MessageLabels, WhatsAppMetrics};
pub use payments::StatusLabels;
pub use process::VersionLabels;
pub use replication::{ReplicationFigures, ReplicationGauges};
pub use storage::{DiskSpace, disk_space};

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the application, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    // http.rs
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistogramFamily<RouteLabels>,
    pub http_in_flight: Gauge,
    pub connections_open: Gauge,
    pub connections_max: Gauge,
    pub connections_refused: Counter,
    pub rate_limited: Family<TierLabels, Counter>,
    pub rate_limit_keys: Family<TierLabels, Gauge>,
    pub webhook_bad_signatures: Family<ProviderLabels, Counter>,
    pub login_failures: Counter,
    // bookings.rs
    pub bookings_created: Family<CreatedLabels, Counter>,
    pub booking_transitions: Family<TransitionLabels, Counter>,
    pub clients_created: Counter,
    // storage.rs
    pub database_size: Gauge,
    pub disk_free: Gauge,
    pub disk_total: Gauge,
    pub write_batch_duration: Histogram,
    pub write_batch_size: Histogram,
    pub write_batch_failures: Counter,
    pub write_batch_journaled: Counter,
    pub checkpoint_duration: Histogram,
    pub checkpoint_pause: Histogram,
    pub checkpoint_failures: Counter,
    // payments.rs
    /// Deposits reaching each state, and their amounts in centavos.
    pub payments: Family<StatusLabels, Counter>,
    pub payments_amount: Family<StatusLabels, Counter>,
    /// Refunds by outcome (`requested`, `approved`, `failed`), and their amounts.
    pub refunds: Family<StatusLabels, Counter>,
    pub refunds_amount: Family<StatusLabels, Counter>,
    // health.rs
    pub tls_cert_expiry: Gauge,
    pub acme: AcmeGauges,
    pub ready: Gauge,
    pub snapshot: SnapshotGauges,
    // outbox.rs
    pub whatsapp: WhatsAppMetrics,
    // caja.rs
    pub caja: caja::CajaMetrics,
    // replication.rs
    pub replication: replication::ReplicationGauges,
}

impl Metrics {
    pub fn new() -> Self {
        let m = Self {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(
                http::latency_histogram as fn() -> Histogram,
            ),
            http_in_flight: Gauge::default(),
            connections_open: Gauge::default(),
            connections_max: Gauge::default(),
            connections_refused: Counter::default(),
            rate_limited: Family::default(),
            rate_limit_keys: Family::default(),
            webhook_bad_signatures: Family::default(),
            login_failures: Counter::default(),
            bookings_created: Family::default(),
            booking_transitions: Family::default(),
            clients_created: Counter::default(),
            database_size: Gauge::default(),
            disk_free: Gauge::default(),
            disk_total: Gauge::default(),
            write_batch_duration: Histogram::new(storage::COMMIT_BUCKETS),
            write_batch_size: Histogram::new(storage::BATCH_SIZE_BUCKETS),
            write_batch_failures: Counter::default(),
            write_batch_journaled: Counter::default(),
            checkpoint_duration: Histogram::new(storage::COMMIT_BUCKETS),
            checkpoint_pause: Histogram::new(storage::COMMIT_BUCKETS),
            checkpoint_failures: Counter::default(),
            payments: Family::default(),
            payments_amount: Family::default(),
            refunds: Family::default(),
            refunds_amount: Family::default(),
            tls_cert_expiry: Gauge::default(),
            acme: AcmeGauges::default(),
            ready: Gauge::default(),
            snapshot: SnapshotGauges::default(),
            whatsapp: WhatsAppMetrics::new(),
            caja: caja::CajaMetrics::default(),
            replication: replication::ReplicationGauges::default(),
        };
        // Label sets known in advance exist from the start (at 0), so alerts and dashboards
        // never see a missing series: each concern's `register` makes its own.
        let mut registry = Registry::default();
        let r = &mut registry;
        process::register_build_info(r);
        m.register_http(r);
        m.register_bookings(r);
        m.register_storage(r);
        m.register_guards(r);
        m.register_payments(r);
        m.register_replication(r);
        m.caja.register(r);
        m.register_health(r);
        m.whatsapp.register(r);
        registry.register_collector(Box::new(process::ProcessCollector));
        Self { registry, ..m }
    }

    /// The registry in the Prometheus text format (0.0.4), or OpenMetrics.
    pub fn encode(&self, openmetrics: bool) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let result = if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn snapshot_gauges_follow_the_status_file() {
        let m = Metrics::new();
        let before = m.encode(false);
        assert!(
            before.contains("barberpro_snapshot_last_success_timestamp_seconds 0"),
            "never succeeded reads 0: {before}"
        );
        let at: jiff::Timestamp = "2026-11-28T05:00:00Z".parse().unwrap();
        let status = SnapshotFigures {
            last_success_at: Some(at),
            last_success_duration_ms: Some(42_001),
            last_success_stored_bytes: Some(104_000_000),
            failures_total: 2,
            last_verified_at: Some(at),
            verify_failures_total: 1,
        };
        m.sample_snapshots(&status);
        let text = m.encode(false);
        for line in [
            format!(
                "barberpro_snapshot_last_success_timestamp_seconds {}",
                at.as_second()
            ),
            "barberpro_snapshot_last_duration_seconds 43".to_owned(),
            "barberpro_snapshot_last_size_bytes 104000000".to_owned(),
            "barberpro_snapshot_failures 2".to_owned(),
            format!(
                "barberpro_snapshot_last_verified_timestamp_seconds {}",
                at.as_second()
            ),
            "barberpro_snapshot_verify_failures 1".to_owned(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
    }

    #[test]
    fn the_scrape_names_route_templates_and_has_preset_series() {
        let m = Metrics::new();
        m.http_request(
            "/api/v1/bookings/{id}",
            "GET",
            200,
            Duration::from_millis(12),
        );
        m.init_branch("palermo");
        let text = m.encode(false);
        assert!(
            text.contains(
                "barberpro_http_requests_total{route=\"/api/v1/bookings/{id}\",method=\"GET\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("barberpro_http_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("barberpro_rate_limited_requests_total{tier=\"auth\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "barberpro_booking_transitions_total{branch=\"palermo\",status=\"no_show\"} 0"
            ),
            "{text}"
        );
        assert!(text.contains("process_cpu_seconds_total"), "{text}");
        let om = m.encode(true);
        assert!(om.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    }
}
