//! Configuration in layers: built-in defaults → `barberpro.toml` → `BARBERPRO_SECTION__KEY`
//! environment variables → command-line flags. Unknown keys are errors that name the key.
//! No global: the loaded [`Config`] is passed to whoever needs it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::BookingRules;

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port of the HTTPS (or HTTP, with `tls.mode = "off"`) listener.
    pub listen: SocketAddr,
    /// The URL clients reach us at, used in links (manage links, redirects). Empty: derived
    /// from `listen`.
    pub public_url: String,
    pub tls: TlsConfig,
    pub timeouts: Timeouts,
    pub limits: ConnectionLimits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// Extra host names (and IPs) the self-signed certificate covers, besides localhost and
    /// 127.0.0.1 / ::1.
    pub hostnames: Vec<String>,
    /// PEM certificate chain, for `mode = "files"`.
    pub cert_path: Option<PathBuf>,
    /// PEM private key, for `mode = "files"`.
    pub key_path: Option<PathBuf>,
    /// For `mode = "acme"`.
    pub acme: AcmeSettings,
}

/// Certificates from an ACME CA (Let's Encrypt by default), TLS-ALPN-01 on the HTTPS port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeSettings {
    /// The names the certificate covers; each must resolve to this server.
    pub domains: Vec<String>,
    /// The e-mail the CA writes to about expiry and problems.
    pub contact: String,
    /// The CA's directory. Staging (untrusted certificates, generous limits):
    /// `https://acme-staging-v02.api.letsencrypt.org/directory`.
    pub directory_url: String,
    /// A PEM root to trust for the directory's own HTTPS (a private or test CA); None: the
    /// public web roots.
    pub directory_ca_file: Option<PathBuf>,
    /// Renew when the certificate has fewer days left than this.
    pub renew_before_days: u32,
    /// How often to look at the certificate's expiry, in seconds.
    pub check_interval_secs: u64,
    /// After a failed attempt, wait this long before the next (doubling up to 6 hours).
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// A certificate made and renewed by BarberPro itself (stored in the data folder).
    SelfSigned,
    /// A certificate chain and key from files, re-read on SIGHUP.
    Files,
    /// Plain HTTP, for running behind a TLS-terminating proxy.
    Off,
    /// A certificate from an ACME CA (Let's Encrypt), obtained and renewed in the background.
    Acme,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Time allowed to read a request's headers (slowloris guard).
    pub header_read_secs: u64,
    /// Time allowed for a whole request, handler included.
    pub request_secs: u64,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Idle keep-alive connections are closed after this long.
    pub idle_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    /// redb page cache, in MiB.
    pub cache_size_mb: usize,
    /// How long after a booking made durable by the journal redb's checkpoint is due (under
    /// load it waits for a moment when no request is queued, at most twice this). Each
    /// checkpoint pauses the writer while redb hands the pages dirtied since the last one to
    /// the kernel (their flush then runs in the background): longer means fewer but longer
    /// pauses, and a longer replay after a crash.
    pub checkpoint_interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingConfig {
    pub slot_step_minutes: u16,
    pub min_notice_minutes: u32,
    pub horizon_days: u16,
    pub cancel_cutoff_hours: u16,
    /// A repeated Idempotency-Key replays its booking for this many hours, then is forgotten.
    pub idempotency_ttl_hours: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocaleConfig {
    pub time_zone: String,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `auto` (readable on a terminal, JSON otherwise), `pretty` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `barberpro=debug,info`. `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Pretty,
    Json,
}

/// Snapshots: local copies, compression, encryption, upload and retention (`barberpro snapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// Folder of the local snapshot copies. Empty: `<data_dir>/snapshots`.
    pub local_dir: PathBuf,
    /// How many local copies to keep, newest first (at least 1).
    pub keep_local: usize,
    /// zstd compression level, 1 (fast) to 19 (small).
    pub zstd_level: i32,
    /// Host name written into snapshot names. Empty: the machine's host name.
    pub host: String,
    /// age recipient (`age1…` public key): snapshots are encrypted for it before leaving the
    /// machine. Empty: not encrypted.
    pub age_recipient: String,
    /// age identity file (private key) used to restore encrypted snapshots.
    pub age_identity_file: Option<PathBuf>,
    /// Remote snapshots older than this many days are deleted after a successful upload; the
    /// newest complete snapshot never is. 0: never delete.
    pub retention_days: u32,
    pub s3: S3Config,
}

/// An S3-compatible bucket (AWS, MinIO, Backblaze B2, Cloudflare R2, Wasabi…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// Bucket name. Empty: snapshots are only kept locally.
    pub bucket: String,
    /// Endpoint URL, e.g. `https://s3.us-west-004.backblazeb2.com`. Empty: AWS.
    pub endpoint: String,
    pub region: String,
    /// Key prefix (folder) of the snapshots inside the bucket.
    pub prefix: String,
    /// Path-style URLs (`endpoint/bucket/key`), as MinIO and B2 want; false: virtual-hosted.
    pub path_style: bool,
    /// Allow a plain `http://` endpoint (a local test server only).
    pub allow_http: bool,
    /// Empty: the `AWS_ACCESS_KEY_ID` environment variable.
    pub access_key_id: String,
    /// Empty: `secret_access_key_file`, else the `AWS_SECRET_ACCESS_KEY` variable.
    pub secret_access_key: Secret,
    /// A file holding the secret key (e.g. a systemd credential), read at upload time.
    pub secret_access_key_file: Option<PathBuf>,
    /// Multipart part size in MiB (equal parts; S3 needs at least 5).
    pub part_size_mb: usize,
    /// Retries of a failed request, with exponential backoff.
    pub max_retries: usize,
}

/// A secret (key, password): `Debug` and serialization print `[redacted]`, so it never
/// reaches a log or `barberpro config check`. Read it with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            local_dir: PathBuf::new(),
            keep_local: 3,
            zstd_level: 3,
            host: String::new(),
            age_recipient: String::new(),
            age_identity_file: None,
            retention_days: 30,
            s3: S3Config::default(),
        }
    }
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            endpoint: String::new(),
            region: "us-east-1".into(),
            prefix: "barberpro".into(),
            path_style: true,
            allow_http: false,
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            secret_access_key_file: None,
            part_size_mb: 16,
            max_retries: 5,
        }
    }
}

impl SnapshotConfig {
    /// The folder of local copies (`local_dir`, else `<data_dir>/snapshots`).
    pub fn local_dir(&self, data_dir: &Path) -> PathBuf {
        if self.local_dir.as_os_str().is_empty() {
            data_dir.join("snapshots")
        } else {
            self.local_dir.clone()
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if self.keep_local == 0 {
            return invalid(
                "snapshot.keep_local",
                "must be at least 1 (a local copy is always kept)",
            );
        }
        if !(1..=19).contains(&self.zstd_level) {
            return invalid("snapshot.zstd_level", "must be between 1 and 19");
        }
        if !self.host.is_empty()
            && !self
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return invalid("snapshot.host", "only letters, digits, '-' and '.'");
        }
        if !self.age_recipient.is_empty()
            && self
                .age_recipient
                .parse::<age::x25519::Recipient>()
                .is_err()
        {
            return invalid(
                "snapshot.age_recipient",
                "not an age X25519 recipient (age1…)",
            );
        }
        let s3 = &self.s3;
        if s3.prefix.starts_with('/') || s3.prefix.ends_with('/') {
            return invalid("snapshot.s3.prefix", "must not start or end with '/'");
        }
        if s3.part_size_mb < 5 {
            return invalid(
                "snapshot.s3.part_size_mb",
                "must be at least 5 (S3's smallest part)",
            );
        }
        if !(s3.endpoint.is_empty()
            || s3.endpoint.starts_with("https://")
            || s3.endpoint.starts_with("http://"))
        {
            return invalid(
                "snapshot.s3.endpoint",
                "must start with https:// or http://",
            );
        }
        if s3.endpoint.starts_with("http://") && !s3.allow_http {
            return invalid(
                "snapshot.s3.endpoint",
                "plain http:// needs snapshot.s3.allow_http = true",
            );
        }
        Ok(())
    }
}

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
    pub api_base_url: String,
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
    pub branches: std::collections::BTreeMap<String, DepositConfig>,
}

/// One deposit policy: `kind` is `none`, `percent` (of the booking's total) or `fixed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DepositConfig {
    pub kind: DepositKindConfig,
    /// For `percent`: 1 to 100.
    pub percent: u8,
    /// For `fixed`: whole pesos (capped at the booking's total).
    pub amount_pesos: u32,
    /// 0: every client pays; N: only clients with at least N past no-shows.
    pub after_no_shows: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepositKindConfig {
    None,
    Percent,
    Fixed,
}

impl Default for DepositConfig {
    fn default() -> Self {
        Self {
            kind: DepositKindConfig::None,
            percent: 0,
            amount_pesos: 0,
            after_no_shows: 0,
        }
    }
}

impl DepositConfig {
    /// The validated domain policy.
    pub fn policy(&self) -> Result<crate::domain::DepositPolicy, crate::domain::DomainError> {
        use crate::domain::{DepositKind, DepositPolicy, Money};
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

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            hold_minutes: 15,
            api_base_url: "https://api.mercadopago.com".into(),
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
            branches: Default::default(),
        }
    }
}

impl PaymentsConfig {
    /// The deposit policy of a branch (its override, else the default).
    pub fn policy_for(&self, slug: &str) -> crate::domain::DepositPolicy {
        self.branches
            .get(slug)
            .unwrap_or(&self.deposit)
            .policy()
            .unwrap_or_default()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: String| Err(ConfigError::Invalid { key, reason });
        if let Err(e) = self.deposit.policy() {
            return invalid("payments.deposit", policy_reason(&e));
        }
        for (slug, deposit) in &self.branches {
            if let Err(e) = deposit.policy() {
                return invalid(
                    "payments.branches",
                    format!("{slug}: {}", policy_reason(&e)),
                );
            }
        }
        if !(1..=24 * 60).contains(&self.hold_minutes) {
            return invalid("payments.hold_minutes", "must be between 1 and 1440".into());
        }
        let url = &self.api_base_url;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return invalid(
                "payments.api_base_url",
                "must start with https:// or http://".into(),
            );
        }
        if self.request_timeout_secs == 0 || self.worker_interval_ms == 0 {
            return invalid(
                "payments.request_timeout_secs",
                "timeouts and intervals must be at least 1".into(),
            );
        }
        if self.notification_max_attempts == 0 {
            return invalid(
                "payments.notification_max_attempts",
                "must be at least 1".into(),
            );
        }
        if self.enabled && self.access_token_file.is_none() {
            return invalid(
                "payments.access_token_file",
                "payments.enabled = true needs the access token file".into(),
            );
        }
        if self.enabled && self.webhook_secret_file.is_none() {
            return invalid(
                "payments.webhook_secret_file",
                "payments.enabled = true needs the webhook secret file".into(),
            );
        }
        Ok(())
    }
}

fn policy_reason(e: &crate::domain::DomainError) -> String {
    format!("{e}: percent must be 1-100 and amount_pesos above 0 for the kind chosen")
}

/// The staff admin UI (`/admin`): session lifetimes and the first-owner setup link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// A session unused for this many minutes is over (idle timeout).
    pub session_idle_minutes: u32,
    /// A session is over this many hours after login, however busy (absolute lifetime).
    pub session_lifetime_hours: u32,
    /// Hours the one-time setup link (logged when there is no owner) stays valid.
    pub setup_link_hours: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 60,
            session_lifetime_hours: 12,
            setup_link_hours: 24,
        }
    }
}

/// The audit log (`/admin/auditoria`, `barberpro audit export`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Entries older than this many days are deleted by the daily retention job; 0 keeps
    /// them forever.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 1825,
        }
    }
}

impl AuditConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.retention_days > 36_500 {
            return Err(ConfigError::Invalid {
                key: "audit.retention_days",
                reason: "must be at most 36500 (0 keeps entries forever)".into(),
            });
        }
        Ok(())
    }
}

/// Personal data (Ley 25.326): automatic anonymisation of clients who stopped coming.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Clients with no booking and no change for this many years are anonymised by the
    /// daily retention job (their bookings stay, without name, phone, e-mail or notes);
    /// 0 turns it off.
    pub anonymise_inactive_after_years: u32,
}

impl PrivacyConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.anonymise_inactive_after_years > 100 {
            return Err(ConfigError::Invalid {
                key: "privacy.anonymise_inactive_after_years",
                reason: "must be at most 100 (0 turns it off)".into(),
            });
        }
        Ok(())
    }
}

impl AdminConfig {
    pub fn session_limits(&self) -> crate::domain::staff::SessionLimits {
        crate::domain::staff::SessionLimits {
            idle: jiff::SignedDuration::from_mins(i64::from(self.session_idle_minutes)),
            absolute: jiff::SignedDuration::from_hours(i64::from(self.session_lifetime_hours)),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            return invalid("admin.session_idle_minutes", "must be between 1 and 1440");
        }
        if !(1..=24 * 30).contains(&self.session_lifetime_hours) {
            return invalid("admin.session_lifetime_hours", "must be between 1 and 720");
        }
        if !(1..=24 * 7).contains(&self.setup_link_hours) {
            return invalid("admin.setup_link_hours", "must be between 1 and 168");
        }
        Ok(())
    }
}

/// WhatsApp Business Cloud API messages (`[whatsapp]`): templates, reminders, retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppConfig {
    /// Off: nothing is queued or sent (the demo runs without an account).
    pub enabled: bool,
    /// The Graph API base URL, version included (tests point it at a local fake).
    pub base_url: String,
    /// The sending phone number's id (from the WhatsApp Manager). Digits: an environment
    /// variable holding it reads as a number, which is accepted too.
    #[serde(deserialize_with = "string_or_number")]
    pub phone_number_id: String,
    /// Access token. Prefer `access_token_file` or `BARBERPRO_WHATSAPP__ACCESS_TOKEN`.
    pub access_token: Secret,
    pub access_token_file: Option<PathBuf>,
    /// The app secret that signs webhooks (`X-Hub-Signature-256`).
    pub app_secret: Secret,
    pub app_secret_file: Option<PathBuf>,
    /// The token Meta echoes in the webhook verification handshake.
    #[serde(deserialize_with = "secret_string_or_number")]
    pub verify_token: Secret,
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
}

/// A string, or a number given where a string was meant (figment reads `BARBERPRO_…=123`
/// as a number).
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        U(u64),
        I(i64),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::S(s) => s,
        Raw::U(n) => n.to_string(),
        Raw::I(n) => n.to_string(),
    })
}

fn secret_string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    string_or_number(d).map(Secret::new)
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: "https://graph.facebook.com/v21.0".into(),
            phone_number_id: String::new(),
            access_token: Secret::default(),
            access_token_file: None,
            app_secret: Secret::default(),
            app_secret_file: None,
            verify_token: Secret::default(),
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

impl Default for WhatsAppRetry {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff_ms: 2000,
            max_backoff_secs: 900,
        }
    }
}

impl Default for WhatsAppTemplates {
    fn default() -> Self {
        Self {
            booking_confirmed: "turno_confirmado".into(),
            booking_cancelled: "turno_cancelado".into(),
            booking_rescheduled: "turno_reprogramado".into(),
            reminder: "recordatorio_turno".into(),
            deposit_received: "sena_recibida".into(),
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
        }
    }

    /// A secret given inline (or by environment), else read from its file; empty if neither.
    pub fn read_secret(inline: &Secret, file: Option<&Path>) -> Result<Secret, ConfigError> {
        if !inline.is_empty() {
            return Ok(inline.clone());
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

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if !self.base_url.starts_with("https://") && !self.base_url.starts_with("http://") {
            return invalid("whatsapp.base_url", "must start with https:// or http://");
        }
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
        if self.retry.max_attempts == 0 || self.retry.max_attempts > 100 {
            return invalid("whatsapp.retry.max_attempts", "must be between 1 and 100");
        }
        if self.retry.initial_backoff_ms == 0
            || self.retry.max_backoff_secs == 0
            || self.retry.initial_backoff_ms > self.retry.max_backoff_secs * 1000
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
            if self.phone_number_id.is_empty() {
                return invalid("whatsapp.phone_number_id", "needed when enabled");
            }
            if self.access_token.is_empty() && self.access_token_file.is_none() {
                return invalid(
                    "whatsapp.access_token",
                    "needed when enabled (or access_token_file)",
                );
            }
            if self.app_secret.is_empty() && self.app_secret_file.is_none() {
                return invalid(
                    "whatsapp.app_secret",
                    "needed when enabled (or app_secret_file)",
                );
            }
            if self.verify_token.is_empty() {
                return invalid("whatsapp.verify_token", "needed when enabled");
            }
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public_url: String::new(),
            tls: TlsConfig::default(),
            timeouts: Timeouts::default(),
            limits: ConnectionLimits::default(),
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            mode: TlsMode::SelfSigned,
            hostnames: Vec::new(),
            cert_path: None,
            key_path: None,
            acme: AcmeSettings::default(),
        }
    }
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

impl Default for AcmeSettings {
    fn default() -> Self {
        Self {
            domains: Vec::new(),
            contact: String::new(),
            directory_url: LETS_ENCRYPT.into(),
            directory_ca_file: None,
            renew_before_days: 30,
            check_interval_secs: 12 * 3600,
            retry_after_secs: 60,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read_secs: 10,
            request_secs: 30,
            shutdown_grace_secs: 10,
            idle_secs: 75,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            cache_size_mb: 64,
            checkpoint_interval_ms: 50,
        }
    }
}

impl Default for BookingConfig {
    fn default() -> Self {
        let r = BookingRules::default();
        Self {
            slot_step_minutes: r.slot_step_minutes,
            min_notice_minutes: r.min_notice_minutes,
            horizon_days: r.horizon_days,
            cancel_cutoff_hours: r.cancel_cutoff_hours,
            idempotency_ttl_hours: 24,
        }
    }
}

impl Default for LocaleConfig {
    fn default() -> Self {
        Self {
            time_zone: crate::domain::catalog::DEFAULT_TZ.into(),
            language: "es-AR".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: "info".into(),
        }
    }
}

/// Connection-level limits: guards below the HTTP layer against floods and slow clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Connections served at once; a connection beyond this is closed as soon as accepted.
    pub max_connections: usize,
    /// Largest request body, in KiB (413 beyond, without reading the rest).
    pub max_body_kib: usize,
    /// Most header lines in an HTTP/1 request.
    pub http1_max_headers: usize,
    /// Requests one HTTP/2 connection may have in flight at once.
    pub http2_max_concurrent_streams: u32,
    /// Largest HTTP/2 header block, in KiB.
    pub http2_max_header_list_kib: u32,
    /// HTTP/2 streams the client may reset before we answer them ("rapid reset" guard).
    pub http2_max_pending_accept_reset_streams: usize,
}

/// Request rate limits, per client IP (and per account for logins). Each tier allows a burst
/// of `requests` and refills completely in `per_secs` (GCRA: one request every
/// `per_secs / requests` seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// false: no request is rate-limited (connection limits still apply).
    pub enabled: bool,
    /// Reverse proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` / `Forwarded`
    /// headers are believed. Requests from anyone else are keyed by their socket address.
    pub trusted_proxies: Vec<String>,
    /// Seconds between sweeps that forget clients back at a full quota (bounded memory).
    pub prune_interval_secs: u64,
    /// Every anonymous request except probes, static assets and webhooks.
    pub global: RateTier,
    /// Login attempts, per IP and separately per account.
    pub auth: RateTier,
    /// Booking creation (on top of the global tier).
    pub booking: RateTier,
    /// Payment endpoints (on top of the global tier).
    pub payments: RateTier,
    /// Webhooks from payment and messaging providers, instead of the global tier.
    pub webhooks: RateTier,
    /// Logged-in staff, per account, instead of the global tier.
    pub staff: RateTier,
}

/// A burst of `requests`, refilled completely in `per_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateTier {
    pub requests: u32,
    pub per_secs: u64,
}

/// Response headers and CORS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Origins (`https://host[:port]`) whose pages may call `/api/` from a browser.
    pub cors_allowed_origins: Vec<String>,
    /// `Strict-Transport-Security` max-age, sent when clients reach us over HTTPS. 0: never.
    pub hsts_max_age_secs: u64,
    pub hsts_include_subdomains: bool,
}

/// The Prometheus (OpenMetrics) endpoint, on its own listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Address of the plain-HTTP metrics listener; keep it on loopback or a private network.
    pub listen: SocketAddr,
    /// A file holding a bearer token that scrapers must send. None: no token asked.
    pub bearer_token_file: Option<PathBuf>,
}

/// Readiness thresholds (`/readyz`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Not ready when the data folder's disk has less free space than this many MiB.
    pub min_free_disk_mib: u64,
    /// Not ready when the last successful snapshot is older than this many hours, or when
    /// snapshots were tried and none ever succeeded. 0: not checked.
    pub max_snapshot_age_hours: u32,
    /// Not ready when a WhatsApp message has been due this many minutes without the sender
    /// taking it (the sender is stuck; a failing API reschedules, it does not age). 0: off.
    pub max_outbox_delay_minutes: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_body_kib: 64,
            http1_max_headers: 100,
            http2_max_concurrent_streams: 128,
            http2_max_header_list_kib: 16,
            http2_max_pending_accept_reset_streams: 20,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let tier = |requests, per_secs| RateTier { requests, per_secs };
        Self {
            enabled: true,
            trusted_proxies: Vec::new(),
            prune_interval_secs: 60,
            global: tier(200, 15 * 60),
            auth: tier(10, 15 * 60),
            booking: tier(30, 15 * 60),
            payments: tier(20, 60 * 60),
            webhooks: tier(300, 60),
            staff: tier(3000, 15 * 60),
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            cors_allowed_origins: Vec::new(),
            hsts_max_age_secs: 365 * 24 * 3600,
            hsts_include_subdomains: false,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            bearer_token_file: None,
        }
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            min_free_disk_mib: 512,
            max_snapshot_age_hours: 26,
            max_outbox_delay_minutes: 15,
        }
    }
}

impl AcmeSettings {
    /// What `tls.mode = "acme"` needs. Whether the domains really reach this server can only
    /// be learned at run time (the first order says so in the log).
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if self.domains.is_empty() {
            return invalid(
                "server.tls.acme.domains",
                "tls.mode = \"acme\" needs the domain names that point at this server, e.g. [\"turnos.example.com\"]",
            );
        }
        for domain in &self.domains {
            let ok = domain.len() <= 253
                && domain.contains('.')
                && domain.parse::<std::net::IpAddr>().is_err()
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !ok {
                return invalid(
                    "server.tls.acme.domains",
                    &format!("`{domain}` is not a DNS name (no IP addresses, no wildcards)"),
                );
            }
        }
        if !self.contact.contains('@') {
            return invalid(
                "server.tls.acme.contact",
                "an e-mail address the CA can write to about this certificate",
            );
        }
        if !self.directory_url.starts_with("https://") {
            return invalid("server.tls.acme.directory_url", "must be an https:// URL");
        }
        if self.renew_before_days == 0
            || self.check_interval_secs == 0
            || self.retry_after_secs == 0
        {
            return invalid(
                "server.tls.acme.renew_before_days",
                "renew_before_days, check_interval_secs and retry_after_secs must be above 0",
            );
        }
        Ok(())
    }
}

/// A configuration that cannot be used, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Parse(String),
    #[error("invalid value for `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("cannot read the configuration file {path}: {reason}")]
    Missing { path: String, reason: String },
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        let all: Vec<String> = e.into_iter().map(|e| describe(&e)).collect();
        Self::Parse(all.join("; "))
    }
}

/// One figment error, naming the key as the file spells it (`booking.horizon_dayz`) and where
/// it came from, or the environment variable itself (`BARBERPRO_SERVER__LISTN`). figment's own
/// text prefixes the key with its profile (`default.booking.horizon_dayz`), which is no
/// section of ours.
fn describe(e: &figment::Error) -> String {
    let mut text = e.kind.to_string();
    let from_env = e
        .metadata
        .as_ref()
        .is_some_and(|md| md.source.is_none() && md.name.contains("environment"));
    let source = match e.metadata.as_ref().and_then(|md| md.source.as_ref()) {
        Some(figment::Source::File(path)) => Some(path.display().to_string()),
        Some(other) => Some(other.to_string()),
        None => e.metadata.as_ref().map(|md| md.name.to_string()),
    };
    if from_env && !e.path.is_empty() {
        let parts: Vec<String> = e.path.iter().map(|p| p.to_ascii_uppercase()).collect();
        text.push_str(&format!(
            " in the environment variable {ENV_PREFIX}{}",
            parts.join("__")
        ));
        return text;
    }
    if !e.path.is_empty() {
        text.push_str(&format!(" for key `{}`", e.path.join(".")));
    }
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

    /// Checks what serde cannot: ranges, paths that go together, time zones.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        let b = &self.booking;
        if !(5..=120).contains(&b.slot_step_minutes)
            || !(60 % b.slot_step_minutes == 0 || b.slot_step_minutes.is_multiple_of(60))
        {
            return invalid(
                "booking.slot_step_minutes",
                "must divide an hour (5, 10, 15, 20, 30, 60)",
            );
        }
        if b.horizon_days == 0 || b.horizon_days > 366 {
            return invalid("booking.horizon_days", "must be between 1 and 366");
        }
        if b.min_notice_minutes > 60 * 24 * 30 {
            return invalid("booking.min_notice_minutes", "must be at most 30 days");
        }
        if b.cancel_cutoff_hours > 24 * 30 {
            return invalid("booking.cancel_cutoff_hours", "must be at most 720");
        }
        if !(1..=24 * 30).contains(&b.idempotency_ttl_hours) {
            return invalid("booking.idempotency_ttl_hours", "must be between 1 and 720");
        }
        if crate::domain::time::time_zone(&self.locale.time_zone).is_err() {
            return invalid("locale.time_zone", "not a time zone of the tz database");
        }
        if self.locale.language != "es-AR" {
            return invalid("locale.language", "only es-AR is available");
        }
        if !(10..=60_000).contains(&self.storage.checkpoint_interval_ms) {
            return invalid(
                "storage.checkpoint_interval_ms",
                "must be between 10 and 60000",
            );
        }
        if self.storage.cache_size_mb == 0 {
            return invalid("storage.cache_size_mb", "must be at least 1");
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return invalid("storage.data_dir", "must not be empty");
        }
        let t = &self.server.timeouts;
        if t.header_read_secs == 0 || t.request_secs == 0 || t.idle_secs == 0 {
            return invalid("server.timeouts", "timeouts must be at least 1 second");
        }
        if self.server.tls.mode == TlsMode::Files
            && (self.server.tls.cert_path.is_none() || self.server.tls.key_path.is_none())
        {
            return invalid(
                "server.tls.cert_path",
                "tls.mode = \"files\" needs both server.tls.cert_path and server.tls.key_path",
            );
        }
        if self.server.tls.mode == TlsMode::Acme {
            self.server.tls.acme.check()?;
        }
        let url = &self.server.public_url;
        if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
            return invalid("server.public_url", "must start with https:// or http://");
        }
        self.validate_hardening()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return invalid(
                "log.level",
                "not a valid filter (e.g. info, barberpro=debug)",
            );
        }
        self.snapshot.validate()?;
        self.admin.validate()?;
        self.audit.validate()?;
        self.privacy.validate()?;
        self.payments.validate()?;
        self.whatsapp.validate()?;
        Ok(())
    }

    /// Limits, rate-limit tiers, trusted proxies, CORS origins and health thresholds.
    fn validate_hardening(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: String| Err(ConfigError::Invalid { key, reason });
        let l = &self.server.limits;
        if l.max_connections == 0 || l.max_body_kib == 0 || l.http1_max_headers == 0 {
            return invalid("server.limits", "limits must be at least 1".into());
        }
        if l.http2_max_concurrent_streams == 0 || l.http2_max_header_list_kib == 0 {
            return invalid("server.limits", "HTTP/2 limits must be at least 1".into());
        }
        let r = &self.rate_limit;
        let tiers = [
            ("rate_limit.global", r.global),
            ("rate_limit.auth", r.auth),
            ("rate_limit.booking", r.booking),
            ("rate_limit.payments", r.payments),
            ("rate_limit.webhooks", r.webhooks),
            ("rate_limit.staff", r.staff),
        ];
        for (key, tier) in tiers {
            if tier.requests == 0 || tier.per_secs == 0 {
                return invalid(key, "requests and per_secs must be at least 1".into());
            }
        }
        if r.prune_interval_secs == 0 {
            let key = "rate_limit.prune_interval_secs";
            return invalid(key, "must be at least 1".into());
        }
        if let Err(reason) = crate::http::client_ip::TrustedProxies::parse(&r.trusted_proxies) {
            return invalid("rate_limit.trusted_proxies", reason);
        }
        for origin in &self.security.cors_allowed_origins {
            if let Err(reason) = crate::http::security::check_origin(origin) {
                return invalid("security.cors_allowed_origins", reason);
            }
        }
        if self.health.min_free_disk_mib > 1 << 30 {
            let key = "health.min_free_disk_mib";
            return invalid(key, "must be at most 1073741824 (1 PiB)".into());
        }
        Ok(())
    }

    pub fn booking_rules(&self) -> BookingRules {
        BookingRules {
            slot_step_minutes: self.booking.slot_step_minutes,
            min_notice_minutes: self.booking.min_notice_minutes,
            horizon_days: self.booking.horizon_days,
            cancel_cutoff_hours: self.booking.cancel_cutoff_hours,
        }
    }

    /// `server.public_url` without a trailing slash, or one derived from the listener.
    pub fn public_url(&self) -> String {
        if !self.server.public_url.is_empty() {
            return self.server.public_url.trim_end_matches('/').to_owned();
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
mod tests {
    use super::*;

    /// Loads `toml` (if any) and `env` inside a figment jail: a private working directory and
    /// environment, so tests do not see each other's variables.
    #[allow(clippy::result_large_err)] // figment's Jail wants its own error type
    fn load(toml: Option<&str>, env: &[(&str, &str)]) -> Result<Config, String> {
        let mut out = Err(String::new());
        figment::Jail::expect_with(|jail| {
            if let Some(t) = toml {
                jail.create_file("barberpro.toml", t)?;
            }
            for (k, v) in env {
                jail.set_env(k, v);
            }
            let file = toml.map(|_| Path::new("barberpro.toml"));
            out = Config::load_with_system_file(
                file,
                Path::new("/nonexistent"),
                &Overrides::default(),
            )
            .map_err(|e| e.to_string());
            Ok(())
        });
        out
    }

    #[test]
    fn defaults_need_no_file() {
        let c = load(None, &[]).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(c.booking.slot_step_minutes, 15);
        assert_eq!(c.booking.min_notice_minutes, 60);
        assert_eq!(c.booking.horizon_days, 60);
        assert_eq!(c.booking.cancel_cutoff_hours, 2);
        assert_eq!(c.locale.time_zone, "America/Argentina/Buenos_Aires");
        assert_eq!(c.public_url(), "https://127.0.0.1:8443");
    }

    #[test]
    fn layers_apply_in_order() {
        let c = load(
            Some("[server]\nlisten = \"127.0.0.1:1111\"\n[booking]\nhorizon_days = 30\n"),
            &[("BARBERPRO_SERVER__LISTEN", "127.0.0.1:9443")],
        )
        .unwrap();
        assert_eq!(
            c.server.listen.to_string(),
            "127.0.0.1:9443",
            "env beats file"
        );
        assert_eq!(c.booking.horizon_days, 30, "file beats defaults");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail wants its own error type
    fn flags_beat_the_environment_and_the_system_file_is_the_fallback() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("system.toml", "[booking]\nhorizon_days = 20\n")?;
            jail.create_file("mine.toml", "[booking]\ncancel_cutoff_hours = 5\n")?;
            jail.set_env("BARBERPRO_SERVER__LISTEN", "127.0.0.1:9443");
            jail.set_env("BARBERPRO_STORAGE__DATA_DIR", "/from/env");
            let system = Path::new("system.toml");
            let flags = Overrides {
                data_dir: Some("/from/flag".into()),
                listen: Some("127.0.0.1:7443".parse().expect("addr")),
            };
            let c = Config::load_with_system_file(None, system, &flags).expect("valid");
            assert_eq!(
                c.server.listen.to_string(),
                "127.0.0.1:7443",
                "flag beats env"
            );
            assert_eq!(
                c.storage.data_dir,
                Path::new("/from/flag"),
                "flag beats env"
            );
            assert_eq!(
                c.booking.horizon_days, 20,
                "no --config: the system file is read"
            );
            let c =
                Config::load_with_system_file(None, system, &Overrides::default()).expect("valid");
            assert_eq!(
                c.server.listen.to_string(),
                "127.0.0.1:9443",
                "env beats files"
            );
            assert_eq!(c.storage.data_dir, Path::new("/from/env"));
            let mine = Path::new("mine.toml");
            let c = Config::load_with_system_file(Some(mine), system, &Overrides::default())
                .expect("valid");
            assert_eq!(c.booking.cancel_cutoff_hours, 5);
            assert_eq!(
                c.booking.horizon_days,
                Config::default().booking.horizon_days,
                "--config replaces the system file, it is not layered on it"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load(Some("[booking]\nhorizon_dayz = 3\n"), &[]).unwrap_err();
        assert!(err.contains("horizon_dayz"), "{err}");
        assert!(err.contains("key `booking.horizon_dayz`"), "{err}");
        assert!(!err.contains("default."), "figment's profile leaks: {err}");
        let err = load(None, &[("BARBERPRO_SERVER__LISTN", "x")]).unwrap_err();
        assert!(err.contains("listn"), "{err}");
        assert!(err.contains("BARBERPRO_SERVER__LISTN"), "{err}");
        let err = load(None, &[("BARBERPRO_BOOKING__HORIZON_DAYS", "many")]).unwrap_err();
        assert!(err.contains("BARBERPRO_BOOKING__HORIZON_DAYS"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load(Some("[booking]\nslot_step_minutes = 7\n"), &[]).unwrap_err();
        assert!(err.contains("booking.slot_step_minutes"), "{err}");
        let err = load(Some("[locale]\ntime_zone = \"Mars/Olympus\"\n"), &[]).unwrap_err();
        assert!(err.contains("locale.time_zone"), "{err}");
        let err = load(Some("[server.tls]\nmode = \"files\"\n"), &[]).unwrap_err();
        assert!(err.contains("cert_path"), "{err}");
    }

    #[test]
    fn snapshot_secrets_never_print() {
        let c = load(
            Some("[snapshot.s3]\nbucket = \"b\"\nsecret_access_key = \"hunter2-very-secret\"\n"),
            &[],
        )
        .expect("valid");
        assert_eq!(
            c.snapshot.s3.secret_access_key.expose(),
            "hunter2-very-secret"
        );
        assert!(
            !c.to_toml().contains("hunter2"),
            "config check prints the secret"
        );
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "Debug prints the secret"
        );
        let c = load(
            None,
            &[("BARBERPRO_SNAPSHOT__S3__SECRET_ACCESS_KEY", "from-env")],
        )
        .expect("valid");
        assert_eq!(c.snapshot.s3.secret_access_key.expose(), "from-env");
        let err =
            load(Some("[snapshot]\nage_recipient = \"age1nope\"\n"), &[]).expect_err("invalid");
        assert!(err.contains("snapshot.age_recipient"), "{err}");
        let err = load(
            Some("[snapshot.s3]\nendpoint = \"http://127.0.0.1:9000\"\n"),
            &[],
        )
        .expect_err("invalid");
        assert!(err.contains("allow_http"), "{err}");
    }

    #[test]
    fn deposit_policies_per_branch_validate_and_name_their_key() {
        let c = load(
            Some(
                "[payments.deposit]\nkind = \"fixed\"\namount_pesos = 2000\n\
                 [payments.branches.palermo]\nkind = \"percent\"\npercent = 30\nafter_no_shows = 2\n",
            ),
            &[],
        )
        .expect("valid");
        assert!(!c.payments.enabled, "payments are off unless enabled");
        assert_eq!(c.payments.hold_minutes, 15);
        let palermo = c.payments.policy_for("palermo");
        assert_eq!(
            palermo.kind(),
            crate::domain::DepositKind::Percent { percent: 30 }
        );
        assert_eq!(palermo.after_no_shows(), 2);
        let other = c.payments.policy_for("belgrano");
        assert_eq!(
            other.kind(),
            crate::domain::DepositKind::Fixed {
                amount: crate::domain::Money::from_pesos(2000).unwrap()
            }
        );
        let err = load(
            Some("[payments.branches.palermo]\nkind = \"percent\"\npercent = 130\n"),
            &[],
        )
        .unwrap_err();
        assert!(
            err.contains("payments.branches") && err.contains("palermo"),
            "{err}"
        );
        let err = load(Some("[payments.deposit]\nkind = \"fixed\"\n"), &[]).unwrap_err();
        assert!(err.contains("payments.deposit"), "{err}");
        let err = load(Some("[payments]\nenabled = true\n"), &[]).unwrap_err();
        assert!(err.contains("payments.access_token_file"), "{err}");
        let err = load(Some("[payments]\nhold_minutes = 0\n"), &[]).unwrap_err();
        assert!(err.contains("payments.hold_minutes"), "{err}");
    }

    #[test]
    fn whatsapp_ids_from_the_environment_may_look_like_numbers() {
        let c = load(
            None,
            &[
                ("BARBERPRO_WHATSAPP__PHONE_NUMBER_ID", "109876543210"),
                ("BARBERPRO_WHATSAPP__VERIFY_TOKEN", "123456"),
                ("BARBERPRO_WHATSAPP__ACCESS_TOKEN", "EAAG-secret-token"),
                ("BARBERPRO_WHATSAPP__ARGENTINA_MOBILE", "without_9"),
            ],
        )
        .expect("valid");
        assert_eq!(c.whatsapp.argentina_mobile, ArgentinaMobile::Without9);
        assert_eq!(c.whatsapp.phone_number_id, "109876543210");
        assert_eq!(c.whatsapp.verify_token.expose(), "123456");
        assert!(
            !c.to_toml().contains("EAAG-secret-token"),
            "the token printed"
        );
        let err = load(Some("[whatsapp]\nenabled = true\n"), &[]).expect_err("incomplete");
        assert!(err.contains("whatsapp.phone_number_id"), "{err}");
        let err =
            load(Some("[whatsapp]\nreminders_minutes_before = [0]\n"), &[]).expect_err("invalid");
        assert!(err.contains("whatsapp.reminders_minutes_before"), "{err}");
    }

    /// Every key path of a TOML table (`server.tls.mode`, …); an empty table is a key too.
    fn key_paths(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(t) if !t.is_empty() => key_paths(t, &path, out),
                _ => out.push(path),
            }
        }
    }

    /// Loading equal to the defaults is not enough: a key left out of the file loads its
    /// default too. Both shipped files must spell out every key the defaults have.
    #[test]
    fn the_shipped_files_name_every_key() {
        let mut defaults = Vec::new();
        key_paths(
            &toml::Table::try_from(Config::default()).unwrap(),
            "",
            &mut defaults,
        );
        assert!(defaults.len() > 50, "{defaults:?}");
        for (name, text) in [
            ("barberpro.toml", include_str!("../barberpro.toml")),
            (
                "packaging/barberpro.production.toml",
                include_str!("../packaging/barberpro.production.toml"),
            ),
        ] {
            let mut keys = Vec::new();
            key_paths(&text.parse::<toml::Table>().unwrap(), "", &mut keys);
            let missing: Vec<_> = defaults.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{name} does not name {missing:?}");
        }
    }

    #[test]
    fn the_documented_file_is_the_defaults() {
        let c = load(Some(include_str!("../barberpro.toml")), &[]).unwrap();
        assert_eq!(c, Config::default());
    }

    /// The .deb's conffile must load as it ships (the package's scripts run the binary on it).
    #[test]
    fn the_production_file_loads_and_validates() {
        let c = load(
            Some(include_str!("../packaging/barberpro.production.toml")),
            &[],
        )
        .unwrap();
        assert_eq!(c.server.tls, Config::default().server.tls);
    }

    #[test]
    fn acme_mode_says_what_is_missing() {
        let acme = |f: fn(&mut AcmeSettings)| {
            let mut c = Config::default();
            c.server.tls.mode = TlsMode::Acme;
            c.server.tls.acme.domains = vec!["turnos.example.com".into()];
            c.server.tls.acme.contact = "dueno@example.com".into();
            f(&mut c.server.tls.acme);
            c.validate().err().map(|e| e.to_string())
        };
        assert_eq!(acme(|_| {}), None, "domains and contact are enough");
        let no_domain = acme(|a| a.domains.clear()).expect("refused");
        assert!(no_domain.contains("server.tls.acme.domains"), "{no_domain}");
        for bad in [
            "203.0.113.7",
            "*.example.com",
            "localhost",
            "-a.example.com",
        ] {
            let err = acme(|a| a.domains = vec![String::new()]).expect("empty refused");
            assert!(err.contains("server.tls.acme.domains"), "{err}");
            let mut c = Config::default();
            c.server.tls.mode = TlsMode::Acme;
            c.server.tls.acme.domains = vec![bad.into()];
            c.server.tls.acme.contact = "dueno@example.com".into();
            let err = c.validate().expect_err(bad).to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        let no_contact = acme(|a| a.contact.clear()).expect("refused");
        assert!(
            no_contact.contains("server.tls.acme.contact"),
            "{no_contact}"
        );
        let http = acme(|a| a.directory_url = "http://ca.example/dir".into()).expect("refused");
        assert!(http.contains("server.tls.acme.directory_url"), "{http}");
    }
}
