//! `barberpro client export|erase --phone …` and `barberpro audit export`.
//!
//! redb lets one process open the database, and `serve` holds it: a command first asks the
//! running server over its control socket ([`control`], the same one `barberpro snapshot`
//! uses), which runs [`execute`] with its own [`App`]; with no server listening, the command
//! opens the data folder itself and runs [`execute`] as well.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::App;
use crate::cli::{AuditCommand, ClientCommand, ConfigFile};
use crate::config::{Config, Overrides};
use crate::control::privacy::{Op, execute, exit, phone};
use crate::control::{self, Request};
use crate::store::{Store, StoreError};

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
    let runtime = match super::runtime(tokio::runtime::Builder::new_current_thread(), exit::FAILED)
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
