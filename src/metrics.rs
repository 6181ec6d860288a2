//! Prometheus metrics (prometheus-client): one [`Metrics`] registry per application, passed
//! around in `AppState` (no global), served on its own listener by [`serve`].
//!
//! Names are `barberpro_*` for ours and the standard `process_*` for the process. Labels have
//! bounded values only: route templates (never raw paths), methods, statuses, branch slugs,
//! tiers. Scrapers asking for OpenMetrics get it; anyone else gets the Prometheus text format.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::domain::{BookingSource, BookingStatus};
use crate::store::engine::WriterEvent;

/// Latency buckets, seconds: fine around the 200 ms objective.
const LATENCY_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Write-batch commit buckets, seconds (one fsync each).
const COMMIT_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
/// Requests per write batch.
const BATCH_SIZE_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The rate-limit tiers, as labels.
pub const TIERS: [&str; 7] = [
    "global",
    "auth",
    "auth_account",
    "booking",
    "payments",
    "webhooks",
    "staff",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CreatedLabels {
    pub branch: String,
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    pub branch: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierLabels {
    pub tier: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every metric of the application, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistogramFamily<RouteLabels>,
    pub http_in_flight: Gauge,
    pub connections_open: Gauge,
    pub connections_max: Gauge,
    pub connections_refused: Counter,
    pub bookings_created: Family<CreatedLabels, Counter>,
    pub booking_transitions: Family<TransitionLabels, Counter>,
    pub clients_created: Counter,
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
    pub rate_limited: Family<TierLabels, Counter>,
    pub rate_limit_keys: Family<TierLabels, Gauge>,
    pub webhook_bad_signatures: Family<ProviderLabels, Counter>,
    pub login_failures: Counter,
    /// Deposits reaching each state, and their amounts in centavos.
    pub payments: Family<StatusLabels, Counter>,
    pub payments_amount: Family<StatusLabels, Counter>,
    /// Refunds by outcome (`requested`, `approved`, `failed`), and their amounts.
    pub refunds: Family<StatusLabels, Counter>,
    pub refunds_amount: Family<StatusLabels, Counter>,
    pub tls_cert_expiry: Gauge,
    pub acme: AcmeGauges,
    pub ready: Gauge,
    pub snapshot: SnapshotGauges,
    pub whatsapp: WhatsAppMetrics,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub template: &'static str,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub status: &'static str,
}

/// The outbox and WhatsApp messages.
pub struct WhatsAppMetrics {
    /// Send outcomes by template: `sent`, `retried`, `dead`, `skipped`.
    pub messages: Family<MessageLabels, Counter>,
    /// From the commit that queued an immediate message to WhatsApp accepting it.
    pub latency: Histogram,
    /// Messages queued or in flight (sampled at scrape time).
    pub depth: Gauge,
    /// How long the oldest due message has waited, seconds (sampled at scrape time).
    pub oldest_due_age: Gauge,
    /// Messages found in flight at start-up (after a crash; each may be sent twice).
    pub recovered: Counter,
    /// Delivery statuses applied from webhooks.
    pub statuses: Family<DeliveryLabels, Counter>,
}

impl WhatsAppMetrics {
    fn new() -> Self {
        let m = Self {
            messages: Family::default(),
            latency: Histogram::new(LATENCY_BUCKETS),
            depth: Gauge::default(),
            oldest_due_age: Gauge::default(),
            recovered: Counter::default(),
            statuses: Family::default(),
        };
        for template in crate::domain::notice::Template::ALL {
            for status in ["sent", "retried", "dead", "skipped"] {
                let _ = m.messages.get_or_create(&MessageLabels {
                    template: template.as_str(),
                    status,
                });
            }
        }
        for status in ["sent", "delivered", "read", "failed"] {
            let _ = m.statuses.get_or_create(&DeliveryLabels { status });
        }
        m
    }

    fn register(&self, r: &mut Registry) {
        r.register(
            "barberpro_whatsapp_messages",
            "WhatsApp send outcomes by template and status (sent, retried, dead, skipped)",
            self.messages.clone(),
        );
        r.register_with_unit(
            "barberpro_whatsapp_delivery_latency",
            "From the commit that queued a message (not reminders) to WhatsApp accepting it",
            Unit::Seconds,
            self.latency.clone(),
        );
        r.register(
            "barberpro_outbox_depth",
            "Outbox messages queued or in flight (future reminders included)",
            self.depth.clone(),
        );
        r.register_with_unit(
            "barberpro_outbox_oldest_due_age",
            "How long the oldest due outbox message has been waiting",
            Unit::Seconds,
            self.oldest_due_age.clone(),
        );
        r.register(
            "barberpro_outbox_recovered",
            "Messages found in flight at start-up after a crash (each may be sent twice)",
            self.recovered.clone(),
        );
        r.register(
            "barberpro_whatsapp_statuses",
            "Delivery statuses from WhatsApp webhooks applied to messages",
            self.statuses.clone(),
        );
    }

    /// One send outcome.
    pub fn outcome(&self, template: crate::domain::notice::Template, status: &'static str) {
        self.messages
            .get_or_create(&MessageLabels {
                template: template.as_str(),
                status,
            })
            .inc();
    }
}

/// Certificate orders and renewals (`tls.mode = "acme"`).
#[derive(Default)]
pub struct AcmeGauges {
    pub last_attempt: Gauge,
    pub last_attempt_ok: Gauge,
    pub last_success: Gauge,
    pub failures: Counter,
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
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Self {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            http_in_flight: Gauge::default(),
            connections_open: Gauge::default(),
            connections_max: Gauge::default(),
            connections_refused: Counter::default(),
            bookings_created: Family::default(),
            booking_transitions: Family::default(),
            clients_created: Counter::default(),
            database_size: Gauge::default(),
            disk_free: Gauge::default(),
            disk_total: Gauge::default(),
            write_batch_duration: Histogram::new(COMMIT_BUCKETS),
            write_batch_size: Histogram::new(BATCH_SIZE_BUCKETS),
            write_batch_failures: Counter::default(),
            write_batch_journaled: Counter::default(),
            checkpoint_duration: Histogram::new(COMMIT_BUCKETS),
            checkpoint_pause: Histogram::new(COMMIT_BUCKETS),
            checkpoint_failures: Counter::default(),
            rate_limited: Family::default(),
            rate_limit_keys: Family::default(),
            webhook_bad_signatures: Family::default(),
            login_failures: Counter::default(),
            payments: Family::default(),
            payments_amount: Family::default(),
            refunds: Family::default(),
            refunds_amount: Family::default(),
            tls_cert_expiry: Gauge::default(),
            acme: AcmeGauges::default(),
            ready: Gauge::default(),
            snapshot: SnapshotGauges::default(),
            whatsapp: WhatsAppMetrics::new(),
            registry: Registry::default(),
        };
        // Label sets known in advance exist from the start (at 0), so alerts and dashboards
        // never see a missing series.
        for tier in TIERS {
            let _ = m.rate_limited.get_or_create(&TierLabels { tier });
            let _ = m.rate_limit_keys.get_or_create(&TierLabels { tier });
        }
        for provider in ["mercadopago", "whatsapp"] {
            let _ = m
                .webhook_bad_signatures
                .get_or_create(&ProviderLabels { provider });
        }
        for state in crate::domain::PaymentState::ALL {
            let status = state.as_str();
            let _ = m.payments.get_or_create(&StatusLabels { status });
            let _ = m.payments_amount.get_or_create(&StatusLabels { status });
        }
        for status in ["requested", "approved", "failed"] {
            let _ = m.refunds.get_or_create(&StatusLabels { status });
            let _ = m.refunds_amount.get_or_create(&StatusLabels { status });
        }
        let build_info: Family<VersionLabels, Gauge> = Family::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);

        let r = &mut registry;
        r.register(
            "barberpro_build_info",
            "Version of the running binary",
            build_info,
        );
        r.register(
            "barberpro_http_requests",
            "HTTP requests answered, by route template, method and status",
            m.http_requests.clone(),
        );
        r.register_with_unit(
            "barberpro_http_request_duration",
            "Time to answer an HTTP request",
            Unit::Seconds,
            m.http_duration.clone(),
        );
        r.register(
            "barberpro_http_requests_in_flight",
            "HTTP requests being handled",
            m.http_in_flight.clone(),
        );
        r.register(
            "barberpro_connections_open",
            "Client connections open",
            m.connections_open.clone(),
        );
        r.register(
            "barberpro_connections_max",
            "Configured maximum of concurrent connections (server.limits.max_connections)",
            m.connections_max.clone(),
        );
        r.register(
            "barberpro_connections_refused",
            "Connections closed on accept because max_connections were open",
            m.connections_refused.clone(),
        );
        r.register(
            "barberpro_bookings_created",
            "Bookings created, by branch and source",
            m.bookings_created.clone(),
        );
        r.register(
            "barberpro_booking_transitions",
            "Booking status changes (cancelled, checked_in, completed, no_show), by branch",
            m.booking_transitions.clone(),
        );
        r.register(
            "barberpro_clients_created",
            "New clients (first booking with a phone number)",
            m.clients_created.clone(),
        );
        r.register_with_unit(
            "barberpro_database_size",
            "Size of the database file",
            Unit::Bytes,
            m.database_size.clone(),
        );
        r.register_with_unit(
            "barberpro_disk_free",
            "Free space on the data folder's file system (for unprivileged users)",
            Unit::Bytes,
            m.disk_free.clone(),
        );
        r.register_with_unit(
            "barberpro_disk_size",
            "Size of the data folder's file system",
            Unit::Bytes,
            m.disk_total.clone(),
        );
        r.register_with_unit(
            "barberpro_write_batch_duration",
            "Time to run and commit one group-commit write transaction",
            Unit::Seconds,
            m.write_batch_duration.clone(),
        );
        r.register(
            "barberpro_write_batch_requests",
            "Write requests committed together in one transaction",
            m.write_batch_size.clone(),
        );
        r.register(
            "barberpro_write_batch_failures",
            "Write transactions that failed or were rolled back",
            m.write_batch_failures.clone(),
        );
        r.register(
            "barberpro_write_batch_journaled",
            "Write transactions made durable by a journal record instead of flushing the database",
            m.write_batch_journaled.clone(),
        );
        r.register_with_unit(
            "barberpro_checkpoint_duration",
            "Time to flush the journaled transactions into the database file (a checkpoint)",
            Unit::Seconds,
            m.checkpoint_duration.clone(),
        );
        r.register_with_unit(
            "barberpro_checkpoint_pause",
            "Time the database writer spends on a checkpoint (its flush then runs in the background)",
            Unit::Seconds,
            m.checkpoint_pause.clone(),
        );
        r.register(
            "barberpro_checkpoint_failures",
            "Checkpoints that failed (the journal keeps its records and may fill)",
            m.checkpoint_failures.clone(),
        );
        r.register(
            "barberpro_rate_limited_requests",
            "Requests refused with 429, by rate-limit tier",
            m.rate_limited.clone(),
        );
        r.register(
            "barberpro_rate_limit_keys",
            "Clients (IPs or accounts) tracked by each rate-limit tier after the last sweep",
            m.rate_limit_keys.clone(),
        );
        r.register(
            "barberpro_webhook_bad_signatures",
            "Webhook calls refused for a bad signature, by provider",
            m.webhook_bad_signatures.clone(),
        );
        r.register(
            "barberpro_login_failures",
            "Failed staff logins (unknown account, wrong password or deactivated account)",
            m.login_failures.clone(),
        );
        r.register(
            "barberpro_payments",
            "Deposits (MercadoPago) reaching each state",
            m.payments.clone(),
        );
        r.register(
            "barberpro_payments_amount_centavos",
            "Sum of the deposits reaching each state, in ARS centavos",
            m.payments_amount.clone(),
        );
        r.register(
            "barberpro_refunds",
            "Deposit refunds by outcome (requested, approved, failed)",
            m.refunds.clone(),
        );
        r.register(
            "barberpro_refunds_amount_centavos",
            "Sum of the deposit refunds by outcome, in ARS centavos",
            m.refunds_amount.clone(),
        );
        r.register(
            "barberpro_tls_certificate_expiry_timestamp_seconds",
            "When the served TLS certificate expires (Unix time; 0 without TLS)",
            m.tls_cert_expiry.clone(),
        );
        r.register(
            "barberpro_acme_last_attempt_timestamp_seconds",
            "When a certificate was last ordered from the ACME CA (Unix time; 0 never)",
            m.acme.last_attempt.clone(),
        );
        r.register(
            "barberpro_acme_last_attempt_success",
            "Whether the last certificate order succeeded (1) or failed (0)",
            m.acme.last_attempt_ok.clone(),
        );
        r.register(
            "barberpro_acme_last_success_timestamp_seconds",
            "When a certificate order last succeeded (Unix time; 0 never)",
            m.acme.last_success.clone(),
        );
        r.register(
            "barberpro_acme_order_failures",
            "Certificate orders that failed",
            m.acme.failures.clone(),
        );
        let snap = &m.snapshot;
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
            m.ready.clone(),
        );
        m.whatsapp.register(r);
        registry.register_collector(Box::new(ProcessCollector));
        Self { registry, ..m }
    }

    /// One answered HTTP request. `route` is the route template or `"unmatched"`.
    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let (route, method) = (route.to_owned(), method.to_owned());
        self.http_duration
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method: method.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.http_requests
            .get_or_create(&HttpLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    pub fn booking_created(&self, branch: &str, source: BookingSource) {
        self.bookings_created
            .get_or_create(&CreatedLabels {
                branch: branch.to_owned(),
                source: source.as_str().to_owned(),
            })
            .inc();
    }

    /// A deposit reached `state` (counted after the change is committed).
    pub fn payment_state(&self, state: crate::domain::PaymentState, amount: crate::domain::Money) {
        let labels = StatusLabels {
            status: state.as_str(),
        };
        self.payments.get_or_create(&labels).inc();
        self.payments_amount
            .get_or_create(&labels)
            .inc_by(u64::try_from(amount.centavos()).unwrap_or(0));
    }

    fn refund(&self, status: &'static str, amount: crate::domain::Money) {
        let labels = StatusLabels { status };
        self.refunds.get_or_create(&labels).inc();
        self.refunds_amount
            .get_or_create(&labels)
            .inc_by(u64::try_from(amount.centavos()).unwrap_or(0));
    }

    /// A refund is sent to MercadoPago for the first time.
    pub fn refund_requested(&self, amount: crate::domain::Money) {
        self.refund("requested", amount);
    }

    /// MercadoPago accepted (or refused for good) a refund.
    pub fn refund_done(&self, approved: bool, amount: crate::domain::Money) {
        self.refund(if approved { "approved" } else { "failed" }, amount);
    }

    /// A booking moved to `status` (counted after the change is committed).
    pub fn booking_transition(&self, branch: &str, status: BookingStatus) {
        self.booking_transitions
            .get_or_create(&TransitionLabels {
                branch: branch.to_owned(),
                status: status.as_str().to_owned(),
            })
            .inc();
    }

    /// Makes a branch's series exist at 0 (called for every branch at start-up).
    pub fn init_branch(&self, branch: &str) {
        for source in [
            BookingSource::Online,
            BookingSource::WalkIn,
            BookingSource::Phone,
        ] {
            let _ = self.bookings_created.get_or_create(&CreatedLabels {
                branch: branch.to_owned(),
                source: source.as_str().to_owned(),
            });
        }
        for status in [
            BookingStatus::Cancelled,
            BookingStatus::CheckedIn,
            BookingStatus::Completed,
            BookingStatus::NoShow,
        ] {
            let _ = self.booking_transitions.get_or_create(&TransitionLabels {
                branch: branch.to_owned(),
                status: status.as_str().to_owned(),
            });
        }
    }

    /// One more open connection, until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections_open.inc();
        ConnectionGuard(self.connections_open.clone())
    }

    /// The store writer's observer: its batches and checkpoints.
    pub fn writer_event(&self, event: WriterEvent) {
        match event {
            WriterEvent::Batch(b) => {
                self.write_batch_duration.observe(b.elapsed.as_secs_f64());
                self.write_batch_size.observe(b.requests as f64);
                if !b.committed {
                    self.write_batch_failures.inc();
                }
                if b.journaled {
                    self.write_batch_journaled.inc();
                }
            }
            WriterEvent::Checkpoint {
                elapsed,
                paused,
                ok,
            } => {
                self.checkpoint_duration.observe(elapsed.as_secs_f64());
                self.checkpoint_pause.observe(paused.as_secs_f64());
                if !ok {
                    self.checkpoint_failures.inc();
                }
            }
        }
    }

    /// Reads the database file's size and the disk's free space.
    pub fn sample_storage(&self, db_file: &Path) {
        if let Ok(meta) = std::fs::metadata(db_file) {
            self.database_size
                .set(i64::try_from(meta.len()).unwrap_or(i64::MAX));
        }
        if let Some(dir) = db_file.parent()
            && let Some(space) = disk_space(dir)
        {
            self.disk_free
                .set(i64::try_from(space.free).unwrap_or(i64::MAX));
            self.disk_total
                .set(i64::try_from(space.total).unwrap_or(i64::MAX));
        }
    }

    /// Copies the snapshot status file's figures into the snapshot gauges.
    pub fn sample_snapshots(&self, status: &crate::snapshot::status::Status) {
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

/// Counts a connection as open while it lives.
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Space on a file system.
#[derive(Debug, Clone, Copy)]
pub struct DiskSpace {
    /// Bytes available to unprivileged users.
    pub free: u64,
    pub total: u64,
}

pub fn disk_space(dir: &Path) -> Option<DiskSpace> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(DiskSpace {
        free: st.f_bavail.saturating_mul(st.f_frsize),
        total: st.f_blocks.saturating_mul(st.f_frsize),
    })
}

/// The standard `process_*` metrics, read from `/proc/self` at each scrape, and the log lines
/// dropped so far (see [`crate::telemetry`]).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let dropped = ConstCounter::new(crate::telemetry::dropped_lines());
        dropped.encode(encoder.encode_descriptor(
            "barberpro_log_lines_dropped",
            "Log lines dropped because the log writer was too far behind (journald or disk slow)",
            None,
            dropped.metric_type(),
        )?)?;
        let Some(p) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(p.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, f64); 4] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                p.rss_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                p.vsize_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                p.open_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                p.start_time,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

struct ProcessStats {
    cpu_seconds: f64,
    rss_bytes: f64,
    vsize_bytes: f64,
    open_fds: f64,
    start_time: f64,
}

impl ProcessStats {
    /// Linux only; `None` elsewhere. Clock ticks are 100 per second on every Linux we run on.
    fn read() -> Option<Self> {
        const TICKS: f64 = 100.0;
        const PAGE: f64 = 4096.0;
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        // Field numbers from proc(5), minus 3 (pid, comm and state come first).
        let (utime, stime, start_ticks) = (num(11)?, num(12)?, num(19)?);
        let vsize = num(20)?;
        let rss_pages = num(21)?;
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })?;
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count())
            .unwrap_or(0);
        Some(Self {
            cpu_seconds: (utime + stime) / TICKS,
            rss_bytes: rss_pages * PAGE,
            vsize_bytes: vsize,
            open_fds: open_fds as f64,
            start_time: boot + start_ticks / TICKS,
        })
    }
}

/// HTTP middleware: counts requests by route template, method and status, times them, and
/// tracks the requests in flight (a guard, so a panicking handler still decrements it).
pub async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    struct InFlight(Gauge);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.dec();
        }
    }
    metrics.http_in_flight.inc();
    let _in_flight = InFlight(metrics.http_in_flight.clone());
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    // A fixed set of values: a client cannot create label values of its own.
    let method = match *req.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let response = next.run(req).await;
    metrics.http_request(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Refreshes the gauges sampled at scrape time (storage, readiness).
pub type Refresh = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What the metrics listener needs.
#[derive(Clone)]
pub struct Endpoint {
    pub metrics: Arc<Metrics>,
    /// Run before each scrape.
    pub refresh: Refresh,
    pub bearer_token: Option<Arc<str>>,
}

/// The metrics listener's router: `GET /metrics`, everything else 404.
pub fn router(endpoint: Endpoint) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(endpoint)
}

async fn scrape(State(ep): State<Endpoint>, headers: HeaderMap) -> Response {
    if let Some(expected) = &ep.bearer_token {
        use subtle::ConstantTimeEq;
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let ok: bool = given.as_bytes().ct_eq(expected.as_bytes()).into();
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong bearer token\n",
            )
                .into_response();
        }
    }
    (ep.refresh)().await;
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let content_type = if openmetrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        ep.metrics.encode(openmetrics),
    )
        .into_response()
}

/// Serves the metrics listener until `shutdown` fires.
pub fn spawn(listener: TcpListener, endpoint: Endpoint, shutdown: CancellationToken) {
    tokio::spawn(async move {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(%addr, "metrics listener serving /metrics"),
            Err(error) => tracing::info!(%error, "metrics listener serving /metrics"),
        }
        let served = axum::serve(listener, router(endpoint))
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_gauges_follow_the_status_file() {
        let m = Metrics::new();
        let before = m.encode(false);
        assert!(
            before.contains("barberpro_snapshot_last_success_timestamp_seconds 0"),
            "never succeeded reads 0: {before}"
        );
        let at: jiff::Timestamp = "2026-11-28T05:00:00Z".parse().unwrap();
        let status = crate::snapshot::status::Status {
            last_success_at: Some(at),
            last_success_duration_ms: Some(42_001),
            last_success_stored_bytes: Some(104_000_000),
            failures_total: 2,
            last_verified_at: Some(at),
            verify_failures_total: 1,
            ..Default::default()
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
