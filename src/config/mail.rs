//! `[mail]`: confirmation e-mails over SMTP, off by default.

use serde::{Deserialize, Serialize};

use super::values::{Secret, optional};
use super::{ConfigError, invalid};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// STARTTLS after connecting (submission, port 587): the usual choice.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network (and tests).
    None,
}

/// Confirmation e-mails (`[mail]`): when on, a booking made with an e-mail address queues its
/// confirmation in the booking's own transaction; a worker sends it through this server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Off: nothing is queued or sent.
    pub enabled: bool,
    /// The SMTP server's host name.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub security: SmtpSecurity,
    /// Login, when the server asks for one (`""`: none).
    #[serde(with = "optional")]
    pub username: Option<String>,
    /// Prefer `BARBERPRO_MAIL__PASSWORD`.
    #[serde(with = "optional")]
    pub password: Option<Secret>,
    /// The sender, e.g. `BarberPro <turnos@example.com.ar>`.
    pub from: String,
    /// Seconds before an unanswered SMTP exchange is given up (and retried).
    pub timeout_secs: u64,
    /// The worker looks at the queue this often.
    pub poll_interval_secs: u64,
    /// Attempts before an e-mail is given up.
    pub max_attempts: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            smtp_host: "localhost".into(),
            smtp_port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "BarberPro <turnos@localhost>".into(),
            timeout_secs: 20,
            poll_interval_secs: 5,
            max_attempts: 8,
        }
    }
}

impl MailConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        if self.smtp_host.trim().is_empty() {
            return invalid("mail.smtp_host", "must name the SMTP server");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(
                "mail.from",
                "must be an address, e.g. \"BarberPro <turnos@example.com.ar>\"",
            );
        }
        if self.timeout_secs == 0 || self.poll_interval_secs == 0 {
            return invalid(
                "mail",
                "timeout_secs and poll_interval_secs must be positive",
            );
        }
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return invalid("mail.max_attempts", "must be between 1 and 100");
        }
        if self.password.is_some() != self.username.is_some() {
            return invalid("mail.username", "username and password go together");
        }
        Ok(())
    }
}
