//! `[payments]`: deposits (señas) through MercadoPago Checkout Pro, and the deposit policies
//! (`[payments.deposit]`, `[payments.branches.<slug>]`), checked as they are read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::values::HttpUrl;
use super::{ConfigError, invalid};
use crate::domain::{DepositKind, DepositPolicy, DomainError, Money};

/// Deposits (señas) through MercadoPago Checkout Pro. Off by default: the demo runs without
/// MercadoPago and every booking is confirmed at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// false: no deposit is ever asked, whatever the policies say.
    pub enabled: bool,
    /// Minutes an unpaid booking holds its slot (and the Checkout Pro link stays valid).
    pub hold_minutes: u32,
    /// MercadoPago's API. Tests point it at a local fake.
    pub api_base_url: HttpUrl,
    /// A file holding the access token (`APP_USR-…`), e.g. a systemd credential.
    pub access_token_file: Option<PathBuf>,
    /// A file holding the webhook signing secret (from "Tus integraciones → Webhooks").
    pub webhook_secret_file: Option<PathBuf>,
    /// A webhook whose signed timestamp is further than this from our clock is refused.
    pub webhook_tolerance_secs: u64,
    /// Time allowed for one call to MercadoPago.
    pub request_timeout_secs: u64,
    /// Retries of one call on 429 and 5xx (never on other 4xx), with exponential backoff.
    pub max_retries: u32,
    /// First backoff delay, in milliseconds; doubles on each retry.
    pub retry_base_ms: u64,
    /// A `Retry-After` longer than this is not waited for inline: the job is rescheduled.
    pub max_retry_after_secs: u64,
    /// How often the payments worker looks for due work (expired holds, retries, refunds).
    pub worker_interval_ms: u64,
    /// Fetches of a notified payment (404 while not yet visible, or errors) before giving up.
    pub notification_max_attempts: u32,
    /// The deposit every branch asks for, unless overridden below.
    pub deposit: DepositConfig,
    /// Per-branch overrides, by branch slug: `[payments.branches.palermo]`.
    pub branches: BTreeMap<String, DepositConfig>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            hold_minutes: 15,
            api_base_url: "https://api.mercadopago.com".parse().expect("a URL"),
            access_token_file: None,
            webhook_secret_file: None,
            webhook_tolerance_secs: 600,
            request_timeout_secs: 10,
            max_retries: 3,
            retry_base_ms: 500,
            max_retry_after_secs: 10,
            worker_interval_ms: 1000,
            notification_max_attempts: 12,
            deposit: DepositConfig::default(),
            branches: BTreeMap::new(),
        }
    }
}

impl PaymentsConfig {
    /// The deposit policy of a branch (its override, else the default).
    pub fn policy_for(&self, slug: &str) -> DepositPolicy {
        self.branches
            .get(slug)
            .unwrap_or(&self.deposit)
            .policy()
            .unwrap_or_default()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=24 * 60).contains(&self.hold_minutes) {
            return invalid("payments.hold_minutes", "must be between 1 and 1440");
        }
        if self.request_timeout_secs == 0 || self.worker_interval_ms == 0 {
            return invalid(
                "payments.request_timeout_secs",
                "timeouts and intervals must be at least 1",
            );
        }
        if self.notification_max_attempts == 0 {
            return invalid("payments.notification_max_attempts", "must be at least 1");
        }
        if self.enabled && self.access_token_file.is_none() {
            return invalid(
                "payments.access_token_file",
                "payments.enabled = true needs the access token file",
            );
        }
        if self.enabled && self.webhook_secret_file.is_none() {
            return invalid(
                "payments.webhook_secret_file",
                "payments.enabled = true needs the webhook secret file",
            );
        }
        Ok(())
    }
}

/// One deposit policy: `kind` is `none`, `percent` (of the booking's total) or `fixed`. Read
/// from a file it is checked at once ([`DepositConfig::policy`] succeeds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DepositFields")]
pub struct DepositConfig {
    pub kind: DepositKindConfig,
    /// For `percent`: 1 to 100.
    pub percent: u8,
    /// For `fixed`: whole pesos (capped at the booking's total).
    pub amount_pesos: u32,
    /// 0: every client pays; N: only clients with at least N past no-shows.
    pub after_no_shows: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepositKindConfig {
    #[default]
    None,
    Percent,
    Fixed,
}

impl DepositConfig {
    /// The validated domain policy.
    pub fn policy(&self) -> Result<DepositPolicy, DomainError> {
        let kind = match self.kind {
            DepositKindConfig::None => DepositKind::None,
            DepositKindConfig::Percent => DepositKind::Percent {
                percent: self.percent,
            },
            DepositKindConfig::Fixed => DepositKind::Fixed {
                amount: Money::from_pesos(i64::from(self.amount_pesos))?,
            },
        };
        DepositPolicy::new(kind, self.after_no_shows)
    }
}

/// A deposit policy's keys as written, before they are checked together.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct DepositFields {
    kind: DepositKindConfig,
    percent: u8,
    amount_pesos: u32,
    after_no_shows: u32,
}

impl TryFrom<DepositFields> for DepositConfig {
    type Error = String;

    fn try_from(f: DepositFields) -> Result<Self, String> {
        let config = Self {
            kind: f.kind,
            percent: f.percent,
            amount_pesos: f.amount_pesos,
            after_no_shows: f.after_no_shows,
        };
        match config.policy() {
            Ok(_) => Ok(config),
            Err(e) => Err(format!(
                "{e}: percent must be 1-100 and amount_pesos above 0 for the kind chosen"
            )),
        }
    }
}
