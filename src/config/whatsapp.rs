//! `[whatsapp]`: WhatsApp Business Cloud API messages (account, secrets, templates,
//! reminders, retries).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::values::{HttpUrl, Secret, optional};
use super::{ConfigError, invalid};

/// WhatsApp Business Cloud API messages (`[whatsapp]`): templates, reminders, retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppConfig {
    /// Off: nothing is queued or sent (the demo runs without an account).
    pub enabled: bool,
    /// The Graph API base URL, version included (tests point it at a local fake).
    pub base_url: HttpUrl,
    /// The sending phone number's id (from the WhatsApp Manager). Digits: an environment
    /// variable holding it reads as a number, which is accepted too. None (`""`): not set.
    #[serde(
        serialize_with = "optional::serialize",
        deserialize_with = "optional::deserialize_number_too"
    )]
    pub phone_number_id: Option<String>,
    /// Access token. Prefer `access_token_file` or `BARBERPRO_WHATSAPP__ACCESS_TOKEN`.
    #[serde(with = "optional")]
    pub access_token: Option<Secret>,
    pub access_token_file: Option<PathBuf>,
    /// The app secret that signs webhooks (`X-Hub-Signature-256`).
    #[serde(with = "optional")]
    pub app_secret: Option<Secret>,
    pub app_secret_file: Option<PathBuf>,
    /// The token Meta echoes in the webhook verification handshake.
    #[serde(
        serialize_with = "optional::serialize",
        deserialize_with = "optional::deserialize_number_too"
    )]
    pub verify_token: Option<Secret>,
    /// Template language code.
    pub language: String,
    /// Argentine mobiles are sent as `549…` (`with_9`, E.164) or `54…` (`without_9`).
    pub argentina_mobile: ArgentinaMobile,
    /// Reminders, in minutes before the start (0 to 4 of them).
    pub reminders_minutes_before: Vec<u32>,
    /// Seconds before an unanswered request to the API is given up (and retried).
    pub request_timeout_secs: u64,
    /// The worker looks at the queue at least this often (it is also woken by every commit
    /// that queues a message).
    pub poll_interval_secs: u64,
    pub retry: WhatsAppRetry,
    pub templates: WhatsAppTemplates,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: "https://graph.facebook.com/v21.0".parse().expect("a URL"),
            phone_number_id: None,
            access_token: None,
            access_token_file: None,
            app_secret: None,
            app_secret_file: None,
            verify_token: None,
            language: "es_AR".into(),
            argentina_mobile: ArgentinaMobile::With9,
            reminders_minutes_before: vec![24 * 60, 120],
            request_timeout_secs: 10,
            poll_interval_secs: 30,
            retry: WhatsAppRetry::default(),
            templates: WhatsAppTemplates::default(),
        }
    }
}

/// How Argentine mobile numbers are written for the API (see the reference: `54…` without
/// the 9 is reported to be needed by some accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgentinaMobile {
    #[serde(rename = "with_9")]
    With9,
    #[serde(rename = "without_9")]
    Without9,
}

/// Retries of retryable errors: exponential backoff with full jitter, `Retry-After` honoured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppRetry {
    /// Attempts before a message becomes a dead letter (at least 1).
    pub max_attempts: u32,
    /// The first backoff, in milliseconds; doubled at each attempt.
    pub initial_backoff_ms: u64,
    /// The longest backoff, in seconds.
    pub max_backoff_secs: u64,
}

impl Default for WhatsAppRetry {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff_ms: 2000,
            max_backoff_secs: 900,
        }
    }
}

/// The approved template names, one per message kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppTemplates {
    pub booking_confirmed: String,
    pub booking_cancelled: String,
    pub booking_rescheduled: String,
    pub reminder: String,
    /// Takes a sixth parameter: the deposit's amount (`$ 2.400,00`).
    pub deposit_received: String,
    /// Takes a sixth and a seventh parameter: the comprobante's number and total.
    pub receipt: String,
}

impl Default for WhatsAppTemplates {
    fn default() -> Self {
        Self {
            booking_confirmed: "turno_confirmado".into(),
            booking_cancelled: "turno_cancelado".into(),
            booking_rescheduled: "turno_reprogramado".into(),
            reminder: "recordatorio_turno".into(),
            deposit_received: "sena_recibida".into(),
            receipt: "comprobante".into(),
        }
    }
}

impl WhatsAppConfig {
    /// The template name for a message kind.
    pub fn template_name(&self, t: crate::domain::notice::Template) -> &str {
        use crate::domain::notice::Template::*;
        match t {
            BookingConfirmed => &self.templates.booking_confirmed,
            BookingCancelled => &self.templates.booking_cancelled,
            BookingRescheduled => &self.templates.booking_rescheduled,
            Reminder => &self.templates.reminder,
            DepositReceived => &self.templates.deposit_received,
            Receipt => &self.templates.receipt,
        }
    }

    /// A secret given inline (or by environment), else read from its file; empty if neither.
    pub fn read_secret(
        inline: Option<&Secret>,
        file: Option<&Path>,
    ) -> Result<Secret, ConfigError> {
        if let Some(secret) = inline {
            return Ok(secret.clone());
        }
        match file {
            Some(path) => std::fs::read_to_string(path)
                .map(|s| Secret::new(s.trim()))
                .map_err(|e| ConfigError::Missing {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }),
            None => Ok(Secret::default()),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.reminders_minutes_before.len() > 4
            || self
                .reminders_minutes_before
                .iter()
                .any(|m| *m == 0 || *m > 60 * 24 * 7)
        {
            return invalid(
                "whatsapp.reminders_minutes_before",
                "at most 4 reminders, each 1 to 10080 minutes before",
            );
        }
        let retry = &self.retry;
        if retry.max_attempts == 0 || retry.max_attempts > 100 {
            return invalid("whatsapp.retry.max_attempts", "must be between 1 and 100");
        }
        if retry.initial_backoff_ms == 0
            || retry.max_backoff_secs == 0
            || retry.initial_backoff_ms > retry.max_backoff_secs * 1000
        {
            return invalid(
                "whatsapp.retry",
                "backoffs must be positive, the initial one at most the maximum",
            );
        }
        if self.request_timeout_secs == 0 || self.poll_interval_secs == 0 {
            return invalid(
                "whatsapp.request_timeout_secs",
                "request_timeout_secs and poll_interval_secs must be at least 1",
            );
        }
        if self.enabled {
            if self.phone_number_id.is_none() {
                return invalid("whatsapp.phone_number_id", "needed when enabled");
            }
            if self.access_token.is_none() && self.access_token_file.is_none() {
                return invalid(
                    "whatsapp.access_token",
                    "needed when enabled (or access_token_file)",
                );
            }
            if self.app_secret.is_none() && self.app_secret_file.is_none() {
                return invalid(
                    "whatsapp.app_secret",
                    "needed when enabled (or app_secret_file)",
                );
            }
            if self.verify_token.is_none() {
                return invalid("whatsapp.verify_token", "needed when enabled");
            }
        }
        Ok(())
    }
}
