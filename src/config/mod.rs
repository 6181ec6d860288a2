//! Configuration in layers: built-in defaults → `barberpro.toml` → `BARBERPRO_SECTION__KEY`
//! environment variables → command-line flags. No global: the loaded [`Config`] is passed to
//! whoever needs it.
//!
//! One file per section, each struct beside its `Default`. Values parse while they are read:
//! URLs, time zones, networks, origins and the like are types that refuse a bad value, and a
//! key whose `""` means "not set" is an `Option`. What only a whole section can judge (ranges,
//! keys that go together) is its small `validate`. Every error names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::BookingRules;

/// `[admin]`: staff sessions and the setup link.
mod admin;
/// `[audit]`: the audit log's retention.
mod audit;
/// `[booking]`: the booking rules.
mod booking;
/// `[health]`: readiness thresholds.
mod health;
/// `[locale]`: time zone and language.
mod locale;
/// `[log]`: format and filter.
mod log;
/// `[mail]`: confirmation e-mails over SMTP.
mod mail;
/// `[metrics]`: the Prometheus listener.
mod metrics;
/// `[payments]`: MercadoPago deposits and their policies.
mod payments;
/// `[privacy]`: anonymising inactive clients.
mod privacy;
/// `[rate_limit]`: tiers and trusted proxies.
mod ratelimit;
/// `[security]`: HSTS and CORS origins.
mod security;
/// `[server]`: listener, public URL, timeouts, connection limits.
mod server;
/// `[snapshot]`: local copies, encryption, S3.
mod snapshot;
/// `[storage]`: data folder, cache, checkpoints.
mod storage;
/// `[server.tls]`: self-signed, files, off or ACME.
mod tls;
/// Checked strings, secrets, and "empty means not set".
mod values;
/// `[whatsapp]`: the Cloud API, templates, reminders, retries.
mod whatsapp;

pub use admin::AdminConfig;
pub use audit::AuditConfig;
pub use booking::BookingConfig;
pub use health::HealthConfig;
pub use locale::{Language, LocaleConfig, TimeZoneName};
pub use log::{LogConfig, LogFilter, LogFormat};
pub use mail::{MailConfig, SmtpSecurity};
pub use metrics::MetricsConfig;
pub use payments::{DepositConfig, DepositKindConfig, PaymentsConfig};
pub use privacy::PrivacyConfig;
pub use ratelimit::{IpNet, RateLimitConfig, RateTier};
pub use security::{CorsOrigin, SecurityConfig};
pub use server::{ConnectionLimits, ServerConfig, Timeouts};
pub use snapshot::{AgeRecipient, ObjectPrefix, S3Config, SnapshotConfig, SnapshotHost};
pub use storage::StorageConfig;
pub use tls::{AcmeSettings, Contact, DnsName, LETS_ENCRYPT, TlsConfig, TlsMode};
pub use values::{HttpUrl, Secret};
pub use whatsapp::{ArgentinaMobile, WhatsAppConfig, WhatsAppRetry, WhatsAppTemplates};

/// The file read when `--config` is not given, if it exists.
pub const SYSTEM_CONFIG: &str = "/etc/barberpro/barberpro.toml";
/// Prefix of environment overrides: `BARBERPRO_SERVER__LISTEN=127.0.0.1:9443`.
pub const ENV_PREFIX: &str = "BARBERPRO_";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub booking: BookingConfig,
    pub locale: LocaleConfig,
    pub log: LogConfig,
    pub rate_limit: RateLimitConfig,
    pub security: SecurityConfig,
    pub metrics: MetricsConfig,
    pub health: HealthConfig,
    pub snapshot: SnapshotConfig,
    pub admin: AdminConfig,
    pub audit: AuditConfig,
    pub privacy: PrivacyConfig,
    pub payments: PaymentsConfig,
    pub whatsapp: WhatsAppConfig,
    pub mail: MailConfig,
}

/// A configuration that cannot be used, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer does not read: a bad value, an unknown key, a wrong type (each figment error,
    /// with its key and where it came from).
    #[error("{0}")]
    Parse(String),
    /// Values that read but do not go together, or are out of range.
    #[error("invalid value for `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    /// A file named by the configuration cannot be read.
    #[error("cannot read the configuration file {path}: {reason}")]
    Missing { path: String, reason: String },
}

/// The error of a section's `validate`.
fn invalid<T>(key: &'static str, reason: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        key,
        reason: reason.into(),
    })
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        let all: Vec<String> = e.into_iter().map(|e| describe(&e)).collect();
        Self::Parse(all.join("; "))
    }
}

/// One figment error, naming the key as the file spells it (`booking.horizon_dayz`) and where
/// it came from: the file, or the environment variable itself (`BARBERPRO_SERVER__LISTN`).
/// figment's own text prefixes the key with its profile (`default.booking.horizon_dayz`),
/// which is no section of ours. A value its type refused reads like a section's complaint:
/// "invalid value for `key`: reason".
fn describe(e: &figment::Error) -> String {
    let key = e.path.join(".");
    let mut text = match &e.kind {
        figment::error::Kind::Message(reason) if !key.is_empty() => {
            format!("invalid value for `{key}`: {reason}")
        }
        kind if !key.is_empty() => format!("{kind} for key `{key}`"),
        kind => kind.to_string(),
    };
    let from_env = e
        .metadata
        .as_ref()
        .is_some_and(|md| md.source.is_none() && md.name.contains("environment"));
    if from_env && !e.path.is_empty() {
        let parts: Vec<String> = e.path.iter().map(|p| p.to_ascii_uppercase()).collect();
        text.push_str(&format!(
            " in the environment variable {ENV_PREFIX}{}",
            parts.join("__")
        ));
        return text;
    }
    let source = match e.metadata.as_ref().and_then(|md| md.source.as_ref()) {
        Some(figment::Source::File(path)) => Some(path.display().to_string()),
        Some(other) => Some(other.to_string()),
        None => e.metadata.as_ref().map(|md| md.name.to_string()),
    };
    if let Some(source) = source {
        text.push_str(&format!(" in {source}"));
    }
    text
}

/// Flags from the command line; they win over every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Loads the layers. `file` is `--config`; without it the system file is read if present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_with_system_file(file, Path::new(SYSTEM_CONFIG), overrides)
    }

    /// As [`Config::load`], naming the fallback file (tests point it elsewhere).
    pub fn load_with_system_file(
        file: Option<&Path>,
        system_file: &Path,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::Missing {
                        path: path.display().to_string(),
                        reason: "no such file".into(),
                    });
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if system_file.is_file() => {
                figment = figment.merge(Toml::file_exact(system_file));
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
        let mut config: Config = figment.extract()?;
        if let Some(dir) = &overrides.data_dir {
            config.storage.data_dir = dir.clone();
        }
        if let Some(listen) = overrides.listen {
            config.server.listen = listen;
        }
        config.validate()?;
        Ok(config)
    }

    /// What the types cannot say: ranges, and keys that go together, section by section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.booking.validate()?;
        self.storage.validate()?;
        self.server.validate()?;
        self.rate_limit.validate()?;
        self.health.validate()?;
        self.snapshot.validate()?;
        self.admin.validate()?;
        self.audit.validate()?;
        self.privacy.validate()?;
        self.payments.validate()?;
        self.whatsapp.validate()?;
        self.mail.validate()?;
        Ok(())
    }

    pub fn booking_rules(&self) -> BookingRules {
        self.booking.rules()
    }

    /// `server.public_url` without a trailing slash, or one derived from the listener.
    pub fn public_url(&self) -> String {
        if let Some(url) = &self.server.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let scheme = if self.server.tls.mode == TlsMode::Off {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", self.server.listen)
    }

    /// The effective configuration as TOML, secrets redacted (every secret is a [`Secret`],
    /// which serializes as `[redacted]`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

#[cfg(test)]
mod tests;
