//! Provider callbacks. Each verifies its signature before reading anything else, answers
//! within a second, and leaves the slow work to a background job.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use super::{ApiError, AppState};
use crate::metrics::ProviderLabels;

/// `GET`/`POST /webhooks/whatsapp`: the verification handshake and delivery statuses.
pub mod whatsapp;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/mercadopago", post(mercadopago))
        .merge(whatsapp::router())
}

/// `POST /webhooks/mercadopago?data.id=…&type=payment` (or the legacy `?topic=payment&id=…`).
///
/// 1. `X-Signature` over the manifest `id:<data.id>;request-id:<X-Request-Id>;ts:<ts>;`,
///    constant-time, with a timestamp tolerance: missing or bad → 401 and
///    `barberpro_webhook_bad_signatures{provider="mercadopago"}`, nothing else happens.
/// 2. The body is never trusted (nor read): the payment id from the signed query is queued
///    durably (`mp_notifications`), the worker is woken, and we answer 200. The worker
///    fetches `GET /v1/payments/{id}` and applies it.
async fn mercadopago(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let Some(deposits) = state.payments.clone() else {
        return Err(ApiError::NotFound);
    };
    let data_id = query
        .get("data.id")
        .or_else(|| query.get("id"))
        .map(String::as_str);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = state.clock.now();
    if let Err(why) =
        deposits.verify_webhook(header("x-signature"), data_id, header("x-request-id"), now)
    {
        state
            .metrics
            .webhook_bad_signatures
            .get_or_create(&ProviderLabels {
                provider: "mercadopago",
            })
            .inc();
        tracing::warn!(reason = %why, "MercadoPago webhook refused: bad signature");
        return Err(ApiError::InvalidSignature);
    }
    let kind = query
        .get("type")
        .or_else(|| query.get("topic"))
        .map(String::as_str);
    if kind != Some("payment") {
        // Signed, but about something we do not act on (merchant orders, plans…).
        return Ok(StatusCode::OK);
    }
    let Some(mp_id) = data_id.and_then(|id| id.trim().parse::<u64>().ok()) else {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "«data.id» debe ser el número de un pago.",
        ));
    };
    crate::app::deposits::notification_received(&state, &deposits, mp_id).await?;
    Ok(StatusCode::OK)
}
