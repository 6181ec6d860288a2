//! HTTP: shared state, the error type, extractors, request logging, and the routers split
//! by audience (`api` for clients' apps, `ops` for probes; the admin UI, booking pages and
//! webhooks join here as they arrive).

/// The front desk's admin UI under `/admin` (askama pages, sessions, CSRF).
pub mod admin;
pub mod api;
/// The clients' booking pages: `/`, `/reservar/…`, and the private `/turnos/{id}?token=…`.
pub mod booking;
pub mod client_ip;
pub mod connection;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod ops;
pub mod ratelimit;
pub mod security;
/// Provider callbacks: `POST /webhooks/mercadopago`, `GET`/`POST /webhooks/whatsapp`
/// (signature checked before anything).
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

pub use error::ApiError;

use crate::domain::BookingRules;
use crate::domain::token::TokenKey;
use crate::store::Store;

/// What every handler may use. Cloning it (axum does, per request and per middleware layer)
/// is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub rules: BookingRules,
    pub tokens: TokenKey,
    /// `server.public_url`, without a trailing slash.
    pub public_url: Arc<str>,
    /// The clock; tests may pin it.
    pub clock: Clock,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub limits: Arc<ratelimit::RateLimits>,
    pub security: Arc<security::Policy>,
    pub readiness: Arc<ops::Readiness>,
    /// Staff sessions and cookies (`[admin]`).
    pub admin: Arc<admin::Settings>,
    /// The WhatsApp webhook's secrets (`[whatsapp]`).
    pub whatsapp: Arc<webhooks::whatsapp::Settings>,
    /// Deposits through MercadoPago; `None` when `payments.enabled` is false.
    pub payments: Option<Arc<crate::jobs::payments::Deposits>>,
}

/// Where "now" comes from: the system clock, or a manual one that tests set and move.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<ManualClock>>);

#[derive(Debug)]
struct ManualClock {
    seconds: AtomicI64,
    /// Tells background tasks (the outbox sender) that time jumped.
    moved: tokio::sync::watch::Sender<i64>,
}

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock stopped at `at` until [`Clock::set`] moves it.
    pub fn manual(at: Timestamp) -> Self {
        let (moved, _) = tokio::sync::watch::channel(at.as_second());
        Self(Some(Arc::new(ManualClock {
            seconds: AtomicI64::new(at.as_second()),
            moved,
        })))
    }

    /// Moves a manual clock (no effect on the system clock).
    pub fn set(&self, at: Timestamp) {
        if let Some(t) = &self.0 {
            t.seconds.store(at.as_second(), Ordering::SeqCst);
            t.moved.send_replace(at.as_second());
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            None => Timestamp::now(),
            Some(t) => Timestamp::from_second(t.seconds.load(Ordering::SeqCst))
                .unwrap_or_else(|_| Timestamp::now()),
        }
    }

    /// For a manual clock, a receiver that sees every [`Clock::set`]; `None` for the system
    /// clock, which moves by itself.
    pub fn watch(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        self.0.as_ref().map(|t| t.moved.subscribe())
    }
}

/// A path no route knows. A browser (it asks for HTML) gets a page in Spanish: the admin's
/// under `/admin`, the booking pages' elsewhere; the API and every other client get the JSON
/// error.
async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let wants_html = !path.starts_with("/api/")
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        ApiError::NotFound.into_response()
    } else if path == "/admin" || path.starts_with("/admin/") {
        admin::AdminError::NotFound.into_response()
    } else {
        booking::PageError::NotFound.into_response()
    }
}

/// The whole application's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::router())
        .merge(ops::router())
        .merge(admin::router())
        .merge(booking::router())
        .merge(webhooks::router())
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(state.security.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.security.clone(),
            security::cors_for_api,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        // Outside the rate limiter: it counts logged-in staff per account.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admin::session::resolve,
        ))
        .layer(axum::middleware::from_fn(middleware::log_and_tag))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            middleware::track_metrics,
        ))
        .with_state(state)
}
