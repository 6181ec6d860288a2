//! HTTP: shared state, the error type, extractors, request logging, and the routers split
//! by audience (`api` for clients' apps, `ops` for probes; the admin UI, booking pages and
//! webhooks join here as they arrive).

/// The front desk's admin UI under `/admin` (askama pages, sessions, CSRF).
pub mod admin;
pub mod api;
/// Static files, embedded, at `/assets/…` with content-hashed URLs (admin and booking pages).
pub mod assets;
/// The clients' booking pages: `/`, `/reservar/…`, and the private `/turnos/{id}?token=…`.
pub mod booking;
pub mod client_ip;
pub mod connection;
/// HTTP/2: a body left unread by an early answer is read before the answer goes out.
pub mod early;
pub mod error;
pub mod extract;
/// es-AR formats of dates and times (admin and booking pages).
pub mod format;
/// The booking as an iCalendar file (confirmation page, confirmation e-mail).
pub mod ics;
pub mod middleware;
pub mod ops;
pub mod ratelimit;
pub mod security;
/// Provider callbacks: `POST /webhooks/mercadopago`, `GET`/`POST /webhooks/whatsapp`
/// (signature checked before anything).
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};

pub use crate::app::Clock;
pub use error::ApiError;

use crate::app::App;

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

/// The parts of [`AppState`]: the use cases' context (through `Deref`, `state.store`,
/// `state.clock`… read as before) and what only HTTP needs.
pub struct Shared {
    pub app: App,
    pub limits: Arc<ratelimit::RateLimits>,
    pub security: Arc<security::Policy>,
    pub readiness: Arc<ops::Readiness>,
    /// Staff sessions and cookies (`[admin]`).
    pub admin: Arc<admin::Settings>,
    /// The WhatsApp webhook's secrets (`[whatsapp]`).
    pub whatsapp: Arc<webhooks::whatsapp::Settings>,
}

impl std::ops::Deref for Shared {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
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
        .route("/assets/{*path}", axum::routing::get(assets::serve))
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
        .layer(axum::middleware::from_fn_with_state(
            state.security.clone(),
            early::drain_unread_body,
        ))
        .with_state(state)
}
