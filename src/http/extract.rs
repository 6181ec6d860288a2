//! Extractors that turn every malformed request into an [`ApiError`], never a panic or a 500.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{ApiError, AppState};
use crate::app::App;
use crate::domain::BookingId;

/// Largest request body accepted anywhere in the API.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `Json<T>` with our error mapping: 400 malformed, 413 too large, 415 not JSON, 422 wrong
/// shape. Keeps the body as sent for its [canonical hash](ApiJson::canonical_hash).
pub struct ApiJson<T> {
    pub value: T,
    /// The body, checked to be JSON.
    raw: Box<RawValue>,
}

impl<T> ApiJson<T> {
    /// SHA-256 of the body's canonical JSON (keys sorted), so that formatting does not matter:
    /// what a retry with the same Idempotency-Key must repeat. Worked out only when asked for
    /// (most requests carry no key).
    pub fn canonical_hash(&self) -> String {
        use sha2::Digest;
        let canonical = serde_json::from_str::<serde_json::Value>(self.raw.get())
            .map_or_else(|_| self.raw.get().to_owned(), |v| v.to_string());
        hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Checked as JSON (content type, size, syntax) without building a tree of it, then
        // read once into `T`.
        let axum::Json(raw) = axum::Json::<Box<RawValue>>::from_request(req, state)
            .await
            .map_err(map_rejection)?;
        let value = serde_json::from_str(raw.get()).map_err(|e| ApiError::InvalidBody {
            detail: e.to_string(),
        })?;
        Ok(Self { value, raw })
    }
}

/// Like [`ApiJson`], but an empty body (with or without a content type) means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v == "0")
            || (!req.headers().contains_key(axum::http::header::CONTENT_TYPE)
                && !req
                    .headers()
                    .contains_key(axum::http::header::TRANSFER_ENCODING)
                && !req
                    .headers()
                    .contains_key(axum::http::header::CONTENT_LENGTH));
        if empty {
            return Ok(Self(T::default()));
        }
        Ok(Self(ApiJson::<T>::from_request(req, state).await?.value))
    }
}

fn map_rejection(rejection: JsonRejection) -> ApiError {
    let detail = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::InvalidBody { detail },
        _ => ApiError::BadRequest {
            code: "malformed_json",
            message: "El cuerpo no es JSON válido.".into(),
            detail: Some(detail),
        },
    }
}

/// The manage token from `Authorization: Bearer <token>`.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::MissingToken)?;
        let (scheme, token) = header.split_once(' ').ok_or(ApiError::MissingToken)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 200 {
            return Err(ApiError::MissingToken);
        }
        Ok(Self(token.to_owned()))
    }
}

/// A branch slug from the path. A path segment that cannot be one (not UTF-8 once
/// percent-decoded) names no branch: 404 `unknown_branch`, as JSON like every API error.
pub struct PathSlug(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathSlug {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::Rule(crate::domain::DomainError::UnknownBranch))?;
        Ok(Self(raw))
    }
}

/// A numeric id from the path; anything else is a 404 (no such resource).
pub struct PathId(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        raw.parse().map(Self).map_err(|_| ApiError::NotFound)
    }
}

/// A booking a client's URL names (`{id}`): its public id, or a number while the migration
/// window is open (`booking.numeric_ids_until`). A segment that names none (forged,
/// undecodable, a number after the window) becomes [`NO_BOOKING`] and is looked up like any
/// other, so its answer, and what it costs, are a wrong token's.
pub struct PathBooking(pub BookingId);

/// No booking has it (sequences start at 1): what a segment that names none resolves to.
pub const NO_BOOKING: BookingId = BookingId(0);

/// The booking `raw` names for a client at the app's `now` (see [`PathBooking`]).
pub fn booking_in_path(app: &App, raw: &str) -> BookingId {
    app.ids.resolve(raw, app.clock.now()).unwrap_or(NO_BOOKING)
}

impl FromRequestParts<AppState> for PathBooking {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| p.0)
            .unwrap_or_default();
        Ok(Self(booking_in_path(state, &raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(body: &str) -> String {
        let raw = RawValue::from_string(body.to_owned()).expect("json");
        ApiJson { value: (), raw }.canonical_hash()
    }

    #[test]
    fn the_canonical_hash_ignores_formatting_and_key_order_and_keeps_its_value() {
        let compact = hash_of(r#"{"b":[1,{"y":"ñ","x":null}],"a":2}"#);
        let spaced = hash_of("{ \"a\" : 2,\n  \"b\": [1, {\"x\": null, \"y\": \"ñ\"}] }");
        assert_eq!(compact, spaced);
        // Idempotency records store it: the same as SHA-256 of the sorted, compact text.
        use sha2::Digest;
        let expected = hex::encode(sha2::Sha256::digest(
            r#"{"a":2,"b":[1,{"x":null,"y":"ñ"}]}"#.as_bytes(),
        ));
        assert_eq!(compact, expected);
        assert_ne!(compact, hash_of(r#"{"a":3,"b":[1,{"x":null,"y":"ñ"}]}"#));
    }
}
