//! The HTTP layer's error type, mapped once to a status and the JSON error body
//! `{"error": {"code": "…", "message": "…"}}`: a stable English code, a Spanish message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::DomainError;
use crate::store::StoreError;

/// Everything a handler can answer with besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A broken booking rule: 404, 409 or 422 depending on the rule.
    #[error(transparent)]
    Rule(#[from] DomainError),
    /// 400: the request cannot be read (malformed JSON, bad query).
    #[error("bad request: {code}")]
    BadRequest {
        code: &'static str,
        message: String,
        detail: Option<String>,
    },
    /// 422: well-formed JSON of the wrong shape (types, unknown or missing fields).
    #[error("invalid body")]
    InvalidBody { detail: String },
    /// 401: no usable `Authorization: Bearer` token.
    #[error("missing token")]
    MissingToken,
    /// 401: a webhook without a valid provider signature.
    #[error("invalid webhook signature")]
    InvalidSignature,
    /// 404: no such route or resource.
    #[error("not found")]
    NotFound,
    /// 405: the route exists, not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429: a rate limit was reached; `Retry-After` says when to come back.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// 403: a webhook verification handshake with the wrong token.
    #[error("forbidden")]
    Forbidden,
    /// 503: shutting down, or the database writer is gone.
    #[error("unavailable")]
    Unavailable,
    /// 503 (code `unavailable`): the disk is full, nothing was saved.
    #[error("disk full")]
    DiskFull,
    /// 500: our fault. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(rule) => Self::Rule(rule),
            StoreError::WriterGone => Self::Unavailable,
            StoreError::DiskFull => Self::DiskFull,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::app::AppError> for ApiError {
    fn from(e: crate::app::AppError) -> Self {
        use crate::app::AppError;
        match e {
            AppError::Rule(rule) => Self::Rule(rule),
            AppError::Forbidden => Self::Forbidden,
            AppError::Store(e) => e.into(),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Rule(rule) => rule_status(rule),
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidBody { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MissingToken | Self::InvalidSignature => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Unavailable | Self::DiskFull => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Rule(rule) => rule.code(),
            Self::BadRequest { code, .. } => code,
            Self::InvalidBody { .. } => "invalid_body",
            Self::MissingToken => "missing_token",
            Self::InvalidSignature => "invalid_signature",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Forbidden => "forbidden",
            Self::Unavailable | Self::DiskFull => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Rule(rule) => rule.message_es(),
            Self::BadRequest { message, .. } => message.clone(),
            Self::InvalidBody { .. } => {
                "El cuerpo de la solicitud no tiene el formato esperado.".into()
            }
            Self::MissingToken => {
                "Falta el código del turno (encabezado Authorization: Bearer …).".into()
            }
            Self::InvalidSignature => "La firma de la notificación no es válida.".into(),
            Self::NotFound => "No encontramos lo que buscás.".into(),
            Self::MethodNotAllowed => "Método no permitido para esta dirección.".into(),
            Self::PayloadTooLarge => "La solicitud es demasiado grande.".into(),
            Self::UnsupportedMediaType => {
                "El cuerpo debe ser JSON (Content-Type: application/json).".into()
            }
            Self::RateLimited { retry_after_secs } => match retry_after_secs {
                1 => "Demasiadas solicitudes. Probá de nuevo en un segundo.".into(),
                n => format!("Demasiadas solicitudes. Probá de nuevo en {n} segundos."),
            },
            Self::Forbidden => "No tenés permiso para esta operación.".into(),
            Self::Unavailable => {
                "El servicio no está disponible en este momento; probá de nuevo en unos segundos."
                    .into()
            }
            Self::DiskFull => {
                "El servidor se quedó sin espacio en disco: no se guardó el cambio. Probá de \
                 nuevo más tarde."
                    .into()
            }
            Self::Internal(_) => "Ocurrió un error inesperado. Ya lo estamos revisando.".into(),
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::BadRequest { detail, .. } => detail.clone(),
            Self::InvalidBody { detail } => Some(detail.clone()),
            _ => None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            detail: None,
        }
    }
}

fn rule_status(rule: &DomainError) -> StatusCode {
    use DomainError::*;
    match rule {
        UnknownBranch | UnknownBooking | UnknownClient | UnknownMessage => StatusCode::NOT_FOUND,
        InvalidToken => StatusCode::UNAUTHORIZED,
        SlotUnavailable
        | ClientOverlap
        | InvalidTransition { .. }
        | CutoffPassed
        | TooEarly { .. }
        | NothingToUndo
        | ClientAnonymised
        | NotDeadLetter => StatusCode::CONFLICT,
        InvalidDate => StatusCode::BAD_REQUEST,
        Caja(e) if e.is_conflict() => StatusCode::CONFLICT,
        Caja(_) => StatusCode::UNPROCESSABLE_ENTITY,
        InvalidField { .. }
        | InvalidPhone
        | InvalidEmail
        | InvalidAmount
        | UnknownService(_)
        | UnknownBarber(_)
        | ServiceNotOffered
        | InvalidServiceSelection
        | InThePast
        | TooSoon
        | BeyondHorizon
        | Misaligned
        | Closed
        | OutsideHours
        | IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let status = self.status();
        let body = Body {
            error: Detail {
                code: self.code(),
                message: self.message(),
                detail: self.detail(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
