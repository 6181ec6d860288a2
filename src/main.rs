//! Boots: parse the command line, load the configuration, start telemetry, run the command.

use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use barberpro::cli::{Cli, Command, ConfigCommand, ServeArgs};
use barberpro::commands;
use barberpro::config::{Config, Overrides};
use barberpro::startup::{Application, Options, StartError};
use barberpro::store::StoreError;

/// mimalloc instead of glibc's malloc, whose bins (and their consolidation) took about a
/// third of the request threads' CPU when booking (see benches/RESULTS.md). Built without
/// transparent huge pages (`no_thp`): with them every arena touched took 2 MiB of memory, ~30 MB
/// more at start.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Everything a command creates (the database, journal, keys, snapshots, restores) holds
    // personal data or secrets: owner-only whatever umask the caller had.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Config(ConfigCommand::Check(file)) => commands::config_check(file),
        Command::Serve(args) => serve(args),
        Command::Snapshot(args) => commands::snapshot::snapshot(args),
        Command::Snapshots(barberpro::cli::SnapshotsCommand::List(args)) => {
            commands::snapshot::list(args)
        }
        Command::Restore(args) => commands::snapshot::restore(args),
        Command::Follow(args) => commands::standby::follow(args),
        Command::Promote(args) => commands::standby::promote(args),
        Command::Admin(barberpro::cli::AdminCommand::CreateUser(args)) => {
            commands::create_user(args)
        }
        Command::Client(command) => commands::privacy::client(command),
        Command::Audit(command) => commands::privacy::audit(command),
        Command::BenchData(args) => commands::bench_data(args),
    };
    // The log's last lines (a server's shutdown among them) are written before the exit.
    barberpro::telemetry::flush();
    code
}

fn serve(args: ServeArgs) -> ExitCode {
    let overrides = Overrides {
        data_dir: args.data_dir,
        listen: args.listen,
    };
    let config = match Config::load(args.file.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    barberpro::telemetry::init(&config.log);
    let runtime = match commands::runtime(tokio::runtime::Builder::new_multi_thread(), 6) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let options = Options {
        demo: args.demo,
        ..Options::default()
    };
    let result = runtime.block_on(async move {
        let app = Application::build(config, options).await?;
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        app.run_until_stopped(shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if matches!(e, StartError::Halted(_)) {
                tracing::error!(error = %e, "stopped: the database halted");
            } else {
                tracing::error!(error = %e, "cannot start");
            }
            eprintln!("error: {e}");
            ExitCode::from(match e {
                StartError::Store(StoreError::InUse { .. }) => 3,
                StartError::Store(StoreError::SchemaTooNew { .. }) => 4,
                // A standby is promoted by the operator, never by restarting.
                StartError::Store(StoreError::Standby { .. }) => 9,
                StartError::Bind { .. } => 5,
                // A damaged journal (or a database that cannot be rebuilt) waits for the
                // operator: restarting cannot heal it (systemd's RestartPreventExitStatus).
                StartError::Store(StoreError::Journal(_)) => 8,
                StartError::Halted(_) => 7,
                StartError::NoRoom(_) => 12,
                _ => 6,
            })
        }
    }
}

/// Registers the SIGTERM/SIGINT handlers now, before the server announces it is serving (a
/// signal arriving earlier would otherwise kill the process), and returns the future that
/// fires the shutdown token when one arrives.
fn stop_on_signal(shutdown: CancellationToken) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::error!("cannot listen for SIGTERM/SIGINT");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
        shutdown.cancel();
    }
}
