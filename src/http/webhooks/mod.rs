//! Provider callbacks under `/webhooks/`: each verifies its signature on the raw body before
//! parsing anything.

/// `GET`/`POST /webhooks/whatsapp`: the verification handshake and delivery statuses.
pub mod whatsapp;

use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(whatsapp::router())
}
