//! `barberpro client export|erase --phone …` and `barberpro audit export`.
//!
//! redb lets one process open the database, and `serve` holds it: a command first asks the
//! running server over its control socket (`snapshot::control`, the same one `barberpro
//! snapshot` uses), which runs [`execute`] with its own [`App`]; with no server listening,
//! the command opens the data folder itself. Either way the work is `app::privacy`'s, as
//! [`Actor::Cli`]: an erase and its audit entries are one write transaction; the exports are
//! reads, not audited.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use crate::app::privacy::{self, Person};
use crate::app::{Actor, App, AppError};
use crate::cli::{AuditCommand, ClientCommand, ConfigFile};
use crate::config::{Config, Overrides};
use crate::domain::{DomainError, Phone};
use crate::snapshot::control::{self, Request};
use crate::store::{Store, StoreError};

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

fn phone(raw: &str) -> Result<Phone, PrivacyError> {
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

fn load(file: Option<&std::path::Path>, data_dir: Option<PathBuf>) -> Result<Config, ExitCode> {
    let overrides = Overrides {
        data_dir,
        ..Overrides::default()
    };
    Config::load(file, &overrides).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(exit::CONFIG)
    })
}

/// `barberpro client export|erase`.
pub fn client(command: ClientCommand) -> ExitCode {
    let (args, op) = match command {
        ClientCommand::Export(a) => {
            let op = Op::ClientExport {
                phone: a.phone.clone(),
            };
            (a, op)
        }
        ClientCommand::Erase(a) => {
            let op = Op::ClientErase {
                phone: a.phone.clone(),
            };
            (a, op)
        }
    };
    run(args.file, args.data_dir, op)
}

/// `barberpro audit export`.
pub fn audit(command: AuditCommand) -> ExitCode {
    let AuditCommand::Export(args) = command;
    run(args.file, args.data_dir, Op::AuditExport)
}

fn run(file: ConfigFile, data_dir: Option<PathBuf>, op: Op) -> ExitCode {
    let config = match load(file.config.as_deref(), data_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Refuse a bad phone before touching anything.
    if let Op::ClientExport { phone: raw } | Op::ClientErase { phone: raw } = &op
        && let Err(e) = phone(raw)
    {
        eprintln!("error: {e}");
        return ExitCode::from(e.exit_code());
    }
    let runtime =
        match crate::commands::runtime(tokio::runtime::Builder::new_current_thread(), exit::FAILED)
        {
            Ok(r) => r,
            Err(code) => return code,
        };
    let data_dir = config.storage.data_dir.clone();
    let result = runtime.block_on(async {
        match control::ask(&data_dir, &Request::Privacy(op.clone())).await {
            Ok(Some(answer)) => {
                return match (answer.output, answer.error) {
                    (Some(output), _) => Ok(output),
                    (None, error) => Err((
                        answer.exit_code.max(1),
                        error.unwrap_or_else(|| "the server gave no answer".into()),
                    )),
                };
            }
            Ok(None) => {}
            Err(e) => return Err((exit::FAILED, e.to_string())),
        }
        let cache = config.storage.cache_size_mb * 1024 * 1024;
        let store = match Store::open_existing(&data_dir, cache) {
            Ok(s) => s,
            Err(e @ StoreError::InUse { .. }) => {
                return Err((
                    exit::IN_USE,
                    format!(
                        "{e}, and it does not answer on {}: is it an older BarberPro, or still \
                         starting? Try again, or stop the server",
                        control::socket_path(&data_dir).display()
                    ),
                ));
            }
            Err(e) => return Err((exit::FAILED, e.to_string())),
        };
        let app = App::for_command(store, config.booking_rules());
        let result = execute(&app, &op).await;
        app.store.close().await;
        result.map_err(|e| (e.exit_code(), e.to_string()))
    });
    match result {
        Ok(output) => {
            print!("{output}");
            if !output.is_empty() && !output.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
