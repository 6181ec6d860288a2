//! The clients' booking pages: `/` lists the branches, then `/reservar/{branch}` walks through
//! services → barber (or "cualquiera") → day and free slot → name and phone → confirmation;
//! `/turnos/{id}?token=…` is the private manage page (see, cancel, reschedule).
//!
//! Server-rendered askama pages with plain HTML forms: every step works without JavaScript
//! (`assets/public.js` only enhances) and each step's state travels in the query string, so a
//! step can be bookmarked, reloaded or gone back to. Availability, creation, reschedule and
//! cancellation are `store::bookings`' functions, the ones the JSON API calls (same rules,
//! same invariant, same idempotency: the booking form carries a hidden random key, so a
//! double submit gets the same booking back).
//!
//! The manage token sits in the URL (that is the link clients get), so those pages answer
//! with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`, and the request log
//! records route templates only, never a query string (`http::middleware`).

mod branch;
mod confirm;
mod details;
mod flow;
mod manage;
mod pick;
mod selection;
mod view;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use crate::domain::DomainError;
use crate::store::StoreError;

/// The route whose POST creates a booking (the rate limiter's `booking` tier counts it).
pub const CREATE_ROUTE: &str = "/reservar/{slug}";

/// The booking pages' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(flow::branches))
        .route(CREATE_ROUTE, get(flow::services).post(flow::create))
        .route("/reservar/{slug}/barbero", get(flow::barber))
        .route("/reservar/{slug}/horario", get(flow::slot))
        .route("/reservar/{slug}/datos", get(flow::details))
        .route("/fotos/{id}", get(branch::photo))
        .route("/turnos/{id}", get(manage::page))
        .route("/turnos/{id}/calendario.ics", get(confirm::calendar_file))
        .route("/turnos/{id}/cancelar", post(manage::cancel))
        .route(
            "/turnos/{id}/reprogramar",
            get(manage::reschedule_page_get).post(manage::reschedule),
        )
}

/// What a booking page can answer besides itself: always an HTML page in Spanish.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 404: no such branch, or no booking for that id and token (the two look the same, so
    /// a guessed id reveals nothing).
    #[error("not found")]
    NotFound,
    /// 400: a request the pages never make (a hand-edited URL, a form of another shape).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 503: shutting down.
    #[error("unavailable")]
    Unavailable,
    /// 503: the disk is full, the turno was not saved.
    #[error("disk full")]
    DiskFull,
    /// 500: our fault; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(
                DomainError::UnknownBooking
                | DomainError::UnknownBranch
                | DomainError::InvalidToken,
            ) => Self::NotFound,
            StoreError::Rule(rule) => Self::BadRequest(rule.message_es()),
            StoreError::WriterGone => Self::Unavailable,
            StoreError::DiskFull => Self::DiskFull,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::app::AppError> for PageError {
    fn from(e: crate::app::AppError) -> Self {
        use crate::app::AppError;
        match e {
            AppError::Rule(rule) => StoreError::Rule(rule).into(),
            // The pages act only with a manage token: nothing there is staff-only.
            AppError::Forbidden => Self::NotFound,
            AppError::Store(e) => e.into(),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable | Self::DiskFull => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::NotFound => {
                "No encontramos esta página. Si llegaste desde el enlace de tu turno, \
                               revisá que esté completo."
                    .into()
            }
            Self::BadRequest(message) => message.clone(),
            Self::Unavailable => {
                "El sistema no está disponible en este momento. Probá de nuevo en unos minutos."
                    .into()
            }
            Self::DiskFull => {
                "No pudimos registrar tu turno por un problema del servidor; probá más tarde."
                    .into()
            }
            Self::Internal(_) => "Ocurrió un error inesperado. Probá de nuevo más tarde.".into(),
        }
    }
}

/// A path segment (a branch slug, a booking id) as text. One that is not UTF-8 once
/// percent-decoded names nothing: the pages' own 404, not axum's plain-text 400.
pub struct PagePath(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PagePath {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| PageError::NotFound)?;
        Ok(Self(raw))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "booking pages: internal error");
        }
        let page = view::ErrorPage {
            l: view::Layout::new("Error"),
            status: self.status().as_u16(),
            message: self.message(),
        };
        view::html(self.status(), &page, view::Private::No)
            .unwrap_or_else(|_| (self.status(), self.message()).into_response())
    }
}
