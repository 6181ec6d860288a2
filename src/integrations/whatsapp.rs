//! The WhatsApp Business Cloud API client: template messages, error classification (the
//! reference's retryable and non-retryable code lists), and the webhook signature.
//!
//! Wire format: `POST {base_url}/{phone_number_id}/messages` with a bearer token; errors are
//! `{"error":{"message","type","code","error_data","fbtrace_id"}}` and we branch on `code`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{ArgentinaMobile, ConfigError, Secret, WhatsAppConfig};
use crate::domain::Phone;

/// Errors worth retrying with backoff (rate limits, temporary trouble).
pub const RETRYABLE_CODES: [i64; 8] = [130429, 131056, 80007, 4, 131000, 131016, 1, 2];
/// Errors that no retry can fix (bad recipient, template, token…).
pub const PERMANENT_CODES: [i64; 9] = [
    131026, 131047, 131049, 131048, 132000, 132001, 100, 190, 131030,
];

/// A failed send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later: after `retry_after` if the API said so, else after a backoff.
    #[error("retryable: {message}")]
    Retryable {
        code: Option<i64>,
        retry_after: Option<Duration>,
        message: String,
    },
    /// Retrying cannot help: the message goes to the dead letters.
    #[error("permanent: {message}")]
    Permanent { code: Option<i64>, message: String },
}

/// The WhatsApp client (cheap to clone).
#[derive(Clone)]
pub struct WhatsApp {
    http: reqwest::Client,
    messages_url: String,
    token: Secret,
    language: String,
    argentina: ArgentinaMobile,
}

impl std::fmt::Debug for WhatsApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsApp")
            .field("messages_url", &self.messages_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    code: Option<i64>,
}

#[derive(Deserialize)]
struct SentBody {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

impl WhatsApp {
    /// A client for `[whatsapp]` (reads the token file).
    pub fn new(config: &WhatsAppConfig) -> Result<Self, ConfigError> {
        // reqwest is built without a bundled crypto provider: rustls uses ring, like the server.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let token = WhatsAppConfig::read_secret(
            config.access_token.as_ref(),
            config.access_token_file.as_deref(),
        )?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(config.request_timeout_secs))
            .build()
            .map_err(|e| ConfigError::Invalid {
                key: "whatsapp.base_url",
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            messages_url: format!(
                "{}/{}/messages",
                config.base_url.trim_end_matches('/'),
                config.phone_number_id.as_deref().unwrap_or_default()
            ),
            token,
            language: config.language.clone(),
            argentina: config.argentina_mobile,
        })
    }

    /// Sends a template message; returns WhatsApp's message id (`wamid.…`). `reference` is
    /// echoed back in status webhooks (`biz_opaque_callback_data`): our outbox id.
    pub async fn send_template(
        &self,
        to: &Phone,
        template: &str,
        params: &[String],
        reference: &str,
    ) -> Result<String, SendError> {
        let parameters: Vec<_> = params
            .iter()
            .map(|p| json!({"type": "text", "text": p}))
            .collect();
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": recipient(to, self.argentina),
            "type": "template",
            "biz_opaque_callback_data": reference,
            "template": {
                "name": template,
                "language": {"code": self.language},
                "components": [{"type": "body", "parameters": parameters}],
            },
        });
        let response = self
            .http
            .post(&self.messages_url)
            .bearer_auth(self.token.expose())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| SendError::Retryable {
                code: None,
                retry_after: None,
                message: format!("request failed: {e}"),
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(|e| SendError::Retryable {
            code: None,
            retry_after,
            message: format!("reading the answer failed: {e}"),
        })?;
        interpret(status, retry_after, &bytes)
    }
}

/// Reads an answer: the message id on success, else a classified error.
pub fn interpret(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<String, SendError> {
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<SentBody>(body) {
            Ok(sent) if !sent.messages.is_empty() => Ok(sent.messages[0].id.clone()),
            _ => Err(SendError::Retryable {
                code: None,
                retry_after,
                message: format!("HTTP {status} without a message id"),
            }),
        };
    }
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => (e.error.code, e.error.message),
        Err(_) => (None, format!("HTTP {status}")),
    };
    let retryable = match code {
        Some(c) if PERMANENT_CODES.contains(&c) => false,
        Some(c) if RETRYABLE_CODES.contains(&c) => true,
        _ => status == 429 || status >= 500,
    };
    let message = match code {
        Some(c) => format!("HTTP {status}, code {c}: {message}"),
        None => format!("HTTP {status}: {message}"),
    };
    if retryable {
        Err(SendError::Retryable {
            code,
            retry_after,
            message,
        })
    } else {
        Err(SendError::Permanent { code, message })
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The `to` field: E.164 digits without `+`; an Argentine mobile (`+549…`) loses its 9 when
/// the account needs the `54…` form.
pub fn recipient(phone: &Phone, form: ArgentinaMobile) -> String {
    let digits = phone.as_e164().trim_start_matches('+');
    match (form, digits.strip_prefix("549")) {
        (ArgentinaMobile::Without9, Some(rest)) => format!("54{rest}"),
        _ => digits.to_owned(),
    }
}

/// `sha256=<hex HMAC-SHA256(app secret, raw body)>`, the `X-Hub-Signature-256` value.
pub fn signature(app_secret: &[u8], body: &[u8]) -> String {
    // HMAC-SHA256 takes a key of any length: new_from_slice cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is the body's signature, compared in constant time. An empty secret
/// verifies nothing.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header else {
        return false;
    };
    if app_secret.is_empty() {
        return false;
    }
    let expected = signature(app_secret, body);
    let given = given.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_signature_vector() {
        assert_eq!(
            signature(b"secret", b"test"),
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        );
        let good = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
        assert!(verify_signature(b"secret", b"test", Some(good)));
        assert!(verify_signature(
            b"secret",
            b"test",
            Some(&good.to_ascii_uppercase().replace("SHA256", "sha256"))
        ));
        assert!(
            !verify_signature(b"secret", b"test ", Some(good)),
            "body changed"
        );
        assert!(
            !verify_signature(b"other", b"test", Some(good)),
            "wrong secret"
        );
        assert!(!verify_signature(b"secret", b"test", None), "missing");
        assert!(
            !verify_signature(b"secret", b"test", Some(&good[7..])),
            "no prefix"
        );
        assert!(
            !verify_signature(b"", b"test", Some(good)),
            "no secret configured"
        );
    }

    #[test]
    fn errors_are_classified_by_the_reference_lists() {
        let err = |status, code: i64| {
            let body = format!(
                r#"{{"error":{{"message":"x","type":"OAuthException","code":{code},"fbtrace_id":"A"}}}}"#
            );
            interpret(status, None, body.as_bytes()).unwrap_err()
        };
        for code in RETRYABLE_CODES {
            assert!(
                matches!(err(400, code), SendError::Retryable { .. }),
                "{code}"
            );
        }
        for code in PERMANENT_CODES {
            assert!(
                matches!(err(400, code), SendError::Permanent { .. }),
                "{code}"
            );
        }
        assert!(matches!(
            interpret(503, None, b"oops"),
            Err(SendError::Retryable { .. })
        ));
        assert!(matches!(
            interpret(400, None, b"{}"),
            Err(SendError::Permanent { .. })
        ));
        let ok = br#"{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"wamid.X"}]}"#;
        assert_eq!(interpret(200, None, ok), Ok("wamid.X".to_owned()));
    }

    #[test]
    fn argentine_mobiles_in_either_form() {
        let mobile = Phone::parse("011 15-2345-6789").unwrap();
        assert_eq!(recipient(&mobile, ArgentinaMobile::With9), "5491123456789");
        assert_eq!(
            recipient(&mobile, ArgentinaMobile::Without9),
            "541123456789"
        );
        let landline = Phone::parse("(011) 4321-1234").unwrap();
        assert_eq!(
            recipient(&landline, ArgentinaMobile::Without9),
            "541143211234"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("30"), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
