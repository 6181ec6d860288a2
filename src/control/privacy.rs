//! The personal-data operations a command can ask for (`barberpro client export|erase`,
//! `barberpro audit export`), and [`execute`], which runs one as [`Actor::Cli`]: the server
//! does when a command asks over the socket, the command itself when no server holds the
//! database. Either way the work is `app::privacy`'s: an erase and its audit entries are one
//! write transaction; the exports are reads, not audited.

use serde::{Deserialize, Serialize};

use crate::app::privacy::{self, Person};
use crate::app::{Actor, App, AppError};
use crate::domain::{DomainError, Phone};
use crate::store::StoreError;

/// Exit codes of these commands.
pub mod exit {
    pub const CONFIG: u8 = 1;
    /// Bad phone, unknown client, already erased.
    pub const INVALID: u8 = 2;
    pub const IN_USE: u8 = 3;
    pub const FAILED: u8 = 6;
}

/// One personal-data operation, as sent over the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Op {
    /// Everything held on the person with this phone (E.164), pretty JSON.
    ClientExport { phone: String },
    /// Anonymise the person with this phone (E.164).
    ClientErase { phone: String },
    /// The whole audit log, one JSON object per line, oldest first.
    AuditExport,
}

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The caller's fault (exit 2): bad phone, unknown or erased client.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(StoreError),
}

impl PrivacyError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) => exit::INVALID,
            Self::Store(StoreError::InUse { .. }) => exit::IN_USE,
            Self::Store(_) => exit::FAILED,
        }
    }
}

impl From<AppError> for PrivacyError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Rule(DomainError::UnknownClient) => {
                Self::Invalid("no client has that phone number".into())
            }
            AppError::Rule(DomainError::ClientAnonymised) => {
                Self::Invalid("that client's personal data was already erased".into())
            }
            AppError::Rule(rule) => Self::Invalid(rule.to_string()),
            AppError::Forbidden => Self::Invalid("not allowed".into()),
            AppError::Store(other) => Self::Store(other),
        }
    }
}

/// The phone an operation names, or why it is not one (checked before anything is touched).
pub fn phone(raw: &str) -> Result<Phone, PrivacyError> {
    Phone::parse(raw).map_err(|_| {
        PrivacyError::Invalid(format!(
            "{raw:?} is not a valid phone number (e.g. \"011 15-2345-6789\" or \"+5491123456789\")"
        ))
    })
}

fn json_failed(e: serde_json::Error) -> PrivacyError {
    PrivacyError::Store(StoreError::BatchFailed(e.to_string()))
}

/// Runs `op` as the command line ([`Actor::Cli`]) with `app` (the server's, or the command's
/// own over the data folder it opened).
pub async fn execute(app: &App, op: &Op) -> Result<String, PrivacyError> {
    match op {
        Op::ClientExport { phone: raw } => {
            let data = privacy::person_data(app, Person::Phone(phone(raw)?)).await?;
            serde_json::to_string_pretty(&data).map_err(json_failed)
        }
        Op::ClientErase { phone: raw } => {
            let erased = privacy::erase(app, &Actor::Cli, Person::Phone(phone(raw)?)).await?;
            serde_json::to_string(&erased).map_err(json_failed)
        }
        Op::AuditExport => Ok(privacy::audit_log(app).await?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Request;

    #[test]
    fn privacy_requests_cross_the_socket_intact() {
        for op in [
            Op::ClientExport {
                phone: "+5491123456789".into(),
            },
            Op::ClientErase {
                phone: "+5491123456789".into(),
            },
            Op::AuditExport,
        ] {
            let line = serde_json::to_string(&Request::Privacy(op.clone())).unwrap();
            match serde_json::from_str::<Request>(&line).unwrap() {
                Request::Privacy(back) => assert_eq!(back, op, "{line}"),
                other => panic!("{line} came back as {other:?}"),
            }
        }
    }
}
