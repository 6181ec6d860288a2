//! Probes for supervisors and load balancers.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::json;

use super::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// 200 while the server serves and its database answers a read.
async fn healthz(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    state
        .store
        .read(|tx| crate::store::catalog::is_empty(tx))
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Ok(axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})))
}
