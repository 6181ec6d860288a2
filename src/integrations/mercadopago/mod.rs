//! The MercadoPago API client: Checkout Pro preferences, `GET /v1/payments/{id}` and refunds.
//!
//! Every call sends `Authorization: Bearer <token>`; every non-GET call an
//! `X-Idempotency-Key` chosen by the caller (so a retried refund is the same refund).
//! 429 and 5xx (and transport errors) are retried with exponential backoff, honouring
//! `Retry-After` up to a limit; any other 4xx fails at once with MercadoPago's error code.

pub mod signature;

use std::time::Duration;

use jiff::Timestamp;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::config::{PaymentsConfig, Secret};
use crate::domain::Money;

/// What the client needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub access_token: Secret,
    pub timeout: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub max_retry_after: Duration,
}

impl Settings {
    pub fn from_config(c: &PaymentsConfig, access_token: Secret) -> Self {
        Self {
            base_url: c.api_base_url.trim_end_matches('/').to_owned(),
            access_token,
            timeout: Duration::from_secs(c.request_timeout_secs),
            max_retries: c.max_retries,
            retry_base: Duration::from_millis(c.retry_base_ms),
            max_retry_after: Duration::from_secs(c.max_retry_after_secs),
        }
    }
}

/// A failed call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MpError {
    /// 429, 5xx or no answer, still failing after the inline retries: try again later
    /// (`retry_after` when the server said when).
    #[error("MercadoPago unavailable ({status:?}): {message}")]
    Retryable {
        status: Option<u16>,
        retry_after: Option<Duration>,
        message: String,
    },
    /// Any other 4xx: retrying will not help. `code` is `cause[0].code` (2000 not found,
    /// 2063 refund not valid for the payment's state, …).
    #[error("MercadoPago refused ({status}, code {code:?}): {message}")]
    Rejected {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// A 2xx answer we cannot read.
    #[error("unreadable MercadoPago answer: {0}")]
    Decode(String),
}

impl MpError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Rejected { status: 404, .. })
    }
}

/// MercadoPago's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    cause: Vec<Cause>,
}

#[derive(Debug, Deserialize)]
struct Cause {
    code: Option<serde_json::Value>,
}

/// A Checkout Pro preference: a booking's deposit, or a sale's MercadoPago line at the desk.
#[derive(Debug, Clone)]
pub struct PreferenceRequest {
    /// The item's id (`booking-7`, `caja-12`).
    pub item_id: String,
    /// `external_reference`, echoed in the payment: how a notification finds what it pays
    /// (a deposit's booking number, or `caja-<sale>`).
    pub reference: String,
    pub title: String,
    pub amount: Money,
    pub payer_name: String,
    pub notification_url: String,
    /// Where MercadoPago sends the client back: success, pending, failure.
    pub back_url: String,
    pub expires_from: Timestamp,
    pub expires_to: Timestamp,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PreferenceCreated {
    pub id: String,
    pub init_point: String,
    #[serde(default)]
    pub sandbox_init_point: Option<String>,
}

/// `GET /v1/payments/{id}`: the fields we act on.
#[derive(Debug, Clone, Deserialize)]
pub struct RemotePayment {
    pub id: u64,
    pub status: String,
    #[serde(default)]
    pub status_detail: Option<String>,
    #[serde(default)]
    pub external_reference: Option<String>,
    #[serde(default)]
    pub transaction_amount: f64,
    #[serde(default)]
    pub currency_id: String,
}

impl RemotePayment {
    /// The amount in centavos (MercadoPago sends pesos as a JSON number).
    pub fn amount_centavos(&self) -> i64 {
        (self.transaction_amount * 100.0).round() as i64
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefundCreated {
    pub id: u64,
    #[serde(default)]
    pub status: String,
}

/// MercadoPago's date format: `2026-02-01T12:00:00.000-03:00`, in Buenos Aires time.
pub fn mp_date(at: Timestamp) -> String {
    let tz = crate::domain::time::time_zone(crate::domain::catalog::DEFAULT_TZ)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(tz)
        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// The API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    settings: std::sync::Arc<Settings>,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Self, String> {
        // reqwest is built without a bundled crypto provider: rustls uses ring, like the server.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .tls_backend_rustls()
            .timeout(settings.timeout)
            .user_agent(concat!("barberpro/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            settings: std::sync::Arc::new(settings),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url)
    }

    /// `POST /checkout/preferences`.
    pub async fn create_preference(
        &self,
        p: &PreferenceRequest,
        idempotency_key: &str,
    ) -> Result<PreferenceCreated, MpError> {
        let back = |result: &str| format!("{}?pago={result}", p.back_url);
        let body = serde_json::json!({
            "items": [{
                "id": p.item_id,
                "title": p.title,
                "quantity": 1,
                "unit_price": p.amount.centavos() as f64 / 100.0,
                "currency_id": "ARS",
            }],
            "payer": {"name": p.payer_name},
            "back_urls": {
                "success": back("aprobado"),
                "pending": back("pendiente"),
                "failure": back("rechazado"),
            },
            "auto_return": "approved",
            "external_reference": p.reference,
            "notification_url": p.notification_url,
            "expires": true,
            "expiration_date_from": mp_date(p.expires_from),
            "expiration_date_to": mp_date(p.expires_to),
        });
        self.call(
            reqwest::Method::POST,
            "/checkout/preferences",
            Some((&body, idempotency_key)),
        )
        .await
    }

    /// `GET /v1/payments/{id}`.
    pub async fn get_payment(&self, id: u64) -> Result<RemotePayment, MpError> {
        self.call::<RemotePayment, ()>(reqwest::Method::GET, &format!("/v1/payments/{id}"), None)
            .await
    }

    /// `POST /v1/payments/{id}/refunds`: the whole payment (`amount: None`) or part of it.
    pub async fn refund(
        &self,
        payment_id: u64,
        amount: Option<Money>,
        idempotency_key: &str,
    ) -> Result<RefundCreated, MpError> {
        let body = match amount {
            Some(a) => serde_json::json!({"amount": a.centavos() as f64 / 100.0}),
            None => serde_json::json!({}),
        };
        self.call(
            reqwest::Method::POST,
            &format!("/v1/payments/{payment_id}/refunds"),
            Some((&body, idempotency_key)),
        )
        .await
    }

    /// One call with the retry policy.
    async fn call<T: for<'de> Deserialize<'de>, B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&B, &str)>,
    ) -> Result<T, MpError> {
        let s = &self.settings;
        let mut attempt = 0u32;
        loop {
            let mut req = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(s.access_token.expose());
            if let Some((body, key)) = body {
                req = req.header("X-Idempotency-Key", key).json(body);
            }
            let failure = match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    return resp
                        .json::<T>()
                        .await
                        .map_err(|e| MpError::Decode(e.to_string()));
                }
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    let text = resp.text().await.unwrap_or_default();
                    let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
                    let message = parsed
                        .as_ref()
                        .map(|b| b.message.clone())
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| status.to_string());
                    if !is_retryable(status) {
                        let code = parsed
                            .and_then(|b| b.cause.into_iter().next())
                            .and_then(|c| c.code)
                            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
                        return Err(MpError::Rejected {
                            status: status.as_u16(),
                            code,
                            message,
                        });
                    }
                    MpError::Retryable {
                        status: Some(status.as_u16()),
                        retry_after,
                        message,
                    }
                }
                Err(e) => MpError::Retryable {
                    status: None,
                    retry_after: None,
                    message: e.to_string(),
                },
            };
            let MpError::Retryable { retry_after, .. } = &failure else {
                return Err(failure);
            };
            if attempt >= s.max_retries {
                return Err(failure);
            }
            let backoff = s.retry_base.saturating_mul(1 << attempt.min(16));
            let wait = retry_after.unwrap_or(backoff);
            if wait > s.max_retry_after {
                // Not worth holding a worker for: the caller reschedules durably.
                return Err(failure);
            }
            tracing::warn!(%path, attempt, wait_ms = wait.as_millis() as u64, error = %failure,
                "MercadoPago call failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs; treated as absent).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_in_mercadopagos_format() {
        let at: Timestamp = "2026-02-01T15:00:00Z".parse().unwrap();
        assert_eq!(mp_date(at), "2026-02-01T12:00:00.000-03:00");
    }
}
