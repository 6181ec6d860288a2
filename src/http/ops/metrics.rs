//! The metrics listener: `GET /metrics` (plain HTTP, optionally behind a bearer token) on an
//! address of its own, which refreshes the gauges sampled at scrape time and encodes
//! [`crate::metrics::Metrics`].

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::readiness_checks;
use crate::http::AppState;

/// What the metrics listener needs.
#[derive(Clone)]
pub struct Endpoint {
    /// The application whose metrics (and gauges sampled at scrape time) are served.
    pub state: AppState,
    /// The token scrapers must send (`metrics.bearer_token_file`); None: none asked.
    pub bearer_token: Option<Arc<str>>,
}

/// The metrics listener's router: `GET /metrics`, everything else 404.
pub fn router(endpoint: Endpoint) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(endpoint)
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
    refresh_metrics(&ep.state).await;
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
        ep.state.metrics.encode(openmetrics),
    )
        .into_response()
}

/// Refreshes the gauges sampled at scrape time: storage, readiness, certificate expiry.
pub async fn refresh_metrics(state: &AppState) {
    let m = &state.metrics;
    m.sample_storage(state.store.path());
    if let Some(data_dir) = state.store.path().parent() {
        m.sample_snapshots(&crate::snapshot::status::read(data_dir).figures());
    }
    m.sample_replication(&crate::snapshot::replicate::figures(
        &state.store.changelog().figures(),
    ));
    let ready = readiness_checks(state).await.iter().all(|c| c.1);
    m.ready.set(i64::from(ready));
    let expiry = state
        .readiness
        .certificate
        .as_ref()
        .and_then(|r| r.not_after_unix())
        .unwrap_or(0);
    m.tls_cert_expiry.set(expiry);
    let now = state.clock.now();
    match state
        .store
        .read(move |tx| crate::store::outbox::depth(tx, now))
        .await
    {
        Ok((depth, oldest)) => {
            m.whatsapp
                .depth
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
            m.whatsapp.oldest_due_age.set(oldest.as_secs());
        }
        Err(e) => tracing::warn!(error = %e, "cannot sample the outbox"),
    }
}
