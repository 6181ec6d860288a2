//! HTTP metrics: requests by route template, method and status, their latency, requests in
//! flight and open connections; and the guards in front of the handlers (rate-limit tiers,
//! webhook signatures, staff logins). The middleware that records requests is
//! `http::middleware::track_metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::Metrics;

/// Latency buckets, seconds: fine around the 200 ms objective.
pub(super) const LATENCY_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub(super) fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

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
pub struct TierLabels {
    pub tier: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: &'static str,
}

impl Metrics {
    /// Requests, their latency, and connections.
    pub(super) fn register_http(&self, r: &mut Registry) {
        r.register(
            "barberpro_http_requests",
            "HTTP requests answered, by route template, method and status",
            self.http_requests.clone(),
        );
        r.register_with_unit(
            "barberpro_http_request_duration",
            "Time to answer an HTTP request",
            Unit::Seconds,
            self.http_duration.clone(),
        );
        r.register(
            "barberpro_http_requests_in_flight",
            "HTTP requests being handled",
            self.http_in_flight.clone(),
        );
        r.register(
            "barberpro_connections_open",
            "Client connections open",
            self.connections_open.clone(),
        );
        r.register(
            "barberpro_connections_max",
            "Configured maximum of concurrent connections (server.limits.max_connections)",
            self.connections_max.clone(),
        );
        r.register(
            "barberpro_connections_refused",
            "Connections closed on accept because max_connections were open",
            self.connections_refused.clone(),
        );
    }

    /// Rate limits, webhook signatures and logins; every tier and provider exists from the
    /// start (at 0).
    pub(super) fn register_guards(&self, r: &mut Registry) {
        for tier in TIERS {
            let _ = self.rate_limited.get_or_create(&TierLabels { tier });
            let _ = self.rate_limit_keys.get_or_create(&TierLabels { tier });
        }
        for provider in ["mercadopago", "whatsapp"] {
            let _ = self
                .webhook_bad_signatures
                .get_or_create(&ProviderLabels { provider });
        }
        r.register(
            "barberpro_rate_limited_requests",
            "Requests refused with 429, by rate-limit tier",
            self.rate_limited.clone(),
        );
        r.register(
            "barberpro_rate_limit_keys",
            "Clients (IPs or accounts) tracked by each rate-limit tier after the last sweep",
            self.rate_limit_keys.clone(),
        );
        r.register(
            "barberpro_webhook_bad_signatures",
            "Webhook calls refused for a bad signature, by provider",
            self.webhook_bad_signatures.clone(),
        );
        r.register(
            "barberpro_login_failures",
            "Failed staff logins (unknown account, wrong password or deactivated account)",
            self.login_failures.clone(),
        );
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

    /// One more open connection, until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections_open.inc();
        ConnectionGuard(self.connections_open.clone())
    }
}

/// Counts a connection as open while it lives.
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
