//! WhatsApp webhooks. `GET`: the verification handshake (`hub.mode=subscribe` and our verify
//! token → the raw `hub.challenge`, else 403). `POST`: delivery statuses, accepted only with
//! a valid `X-Hub-Signature-256` over the raw body (else 401 and a metric, nothing parsed),
//! applied monotonically to the outbox (`sent` → `delivered` → `read`; `failed` final).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::http::{ApiError, AppState};
use crate::integrations::whatsapp::verify_signature;
use crate::metrics::ProviderLabels;
use crate::store::outbox::Delivery;

/// The webhook's secrets (`[whatsapp]`); empty ones refuse everything.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub app_secret: Secret,
    pub verify_token: Secret,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/whatsapp", get(handshake).post(statuses))
}

/// `GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`.
async fn handshake(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let expected = state.whatsapp.verify_token.expose().as_bytes();
    let given = query.get("hub.verify_token").map(String::as_bytes);
    let ok = query.get("hub.mode").map(String::as_str) == Some("subscribe")
        && !expected.is_empty()
        && given.is_some_and(|g| bool::from(g.ct_eq(expected)));
    match (ok, query.get("hub.challenge")) {
        (true, Some(challenge)) => {
            Ok(([("content-type", "text/plain")], challenge.clone()).into_response())
        }
        _ => Err(ApiError::Forbidden),
    }
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    value: ChangeValue,
}

#[derive(Deserialize)]
struct ChangeValue {
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: Option<i64>,
    #[serde(default)]
    title: String,
}

/// `POST /webhooks/whatsapp`: delivery statuses.
async fn statuses(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !verify_signature(
        state.whatsapp.app_secret.expose().as_bytes(),
        &body,
        signature,
    ) {
        state
            .metrics
            .webhook_bad_signatures
            .get_or_create(&ProviderLabels {
                provider: "whatsapp",
            })
            .inc();
        tracing::warn!("WhatsApp webhook with a missing or bad signature refused");
        return Err(ApiError::InvalidSignature);
    }
    let notification: Notification =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            code: "invalid_body",
            message: "El cuerpo de la notificación no es JSON válido.".into(),
            detail: Some(e.to_string()),
        })?;
    let updates: Vec<(String, Delivery, Option<String>)> = notification
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .flat_map(|c| c.value.statuses)
        .filter_map(|s| {
            let delivery = Delivery::parse(&s.status)?;
            let error = s.errors.first().map(|e| match e.code {
                Some(code) => format!("{code}: {}", e.title),
                None => e.title.clone(),
            });
            Some((s.id, delivery, error))
        })
        .collect();
    crate::app::messages::delivery_statuses(&state, updates).await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
