//! Boots: parse the command line, load the configuration, start telemetry, run the command.

use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use barberpro::cli::{BenchDataArgs, Cli, Command, ConfigCommand, ServeArgs};
use barberpro::config::{Config, Overrides};
use barberpro::startup::{Application, Options, StartError};
use barberpro::store::StoreError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(ConfigCommand::Check(file)) => {
            match Config::load(file.config.as_deref(), &Overrides::default()) {
                Ok(config) => {
                    println!(
                        "# configuration is valid; effective values:\n{}",
                        config.to_toml()
                    );
                    if config.server.tls.mode == barberpro::config::TlsMode::Acme {
                        eprintln!(
                            "note: tls.mode = \"acme\": whether {} reach this server on port 443 can only be known when the CA checks; `serve` logs the result (and the CA's problem document if it fails).",
                            config.server.tls.acme.domains.join(", ")
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Serve(args) => serve(args),
        Command::Snapshot(args) => barberpro::snapshot::commands::snapshot(args),
        Command::Snapshots(barberpro::cli::SnapshotsCommand::List(args)) => {
            barberpro::snapshot::commands::list(args)
        }
        Command::Restore(args) => barberpro::snapshot::commands::restore(args),
        Command::Admin(barberpro::cli::AdminCommand::CreateUser(args)) => create_user(args),
        Command::Client(command) => barberpro::privacy::client(command),
        Command::Audit(command) => barberpro::privacy::audit(command),
        Command::BenchData(args) => bench_data(args),
    }
}

/// Generates the load benchmark's database (see `barberpro::bench_data`).
fn bench_data(args: BenchDataArgs) -> ExitCode {
    let spec = barberpro::bench_data::Spec {
        branches: args.branches,
        barbers: args.barbers,
        clients: args.clients,
        bookings: args.bookings,
        future_days: args.future_days,
        rows_per_commit: args.rows_per_commit,
        seed: args.seed,
    };
    let started = std::time::Instant::now();
    let result = barberpro::store::Store::open(&args.data_dir, 1 << 30).and_then(|store| {
        let summary = barberpro::bench_data::generate(&store, &spec, jiff::Timestamp::now());
        // Stop the writer thread so the database closes cleanly (no repair at the next open).
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() {
            runtime.block_on(store.close());
        }
        summary
    });
    match result {
        Ok(summary) => {
            println!(
                "generated {} branches, {} barbers, {} services, {} closures, {} clients, {} bookings \
                 (from {}) in {:.1} s",
                summary.branches,
                summary.barbers,
                summary.services,
                summary.closures,
                summary.clients,
                summary.bookings,
                summary.first_day.map(|d| d.to_string()).unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(6)
        }
    }
}

/// `barberpro admin create-user`: opens the database (the server must be stopped), creates
/// the account, and prints a generated password once.
fn create_user(args: barberpro::cli::CreateUserArgs) -> ExitCode {
    use barberpro::domain::staff::{NewPassword, Role, staff_email};
    use barberpro::store::staff::{self, NewStaff};
    let overrides = Overrides {
        data_dir: args.data_dir,
        listen: None,
    };
    let config = match Config::load(args.file.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let invalid = |msg: &str| {
        eprintln!("error: {msg}");
        ExitCode::from(2)
    };
    let Some(role) = Role::parse(&args.role) else {
        return invalid("--role must be owner, recepcion or barbero");
    };
    let Ok(email) = staff_email(&args.email) else {
        return invalid("--email is not a valid e-mail address");
    };
    let default_name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("staff")
        .to_owned();
    let Ok(name) =
        barberpro::domain::Text::line("name", args.name.as_deref().unwrap_or(&default_name), 80)
    else {
        return invalid("--name must be 1 to 80 characters");
    };
    use std::io::IsTerminal;
    let generated = args.generate_password || !std::io::stdin().is_terminal();
    let password = if generated {
        barberpro::auth::generate_password()
    } else {
        let first =
            rpassword::prompt_password("Password (10 characters or more): ").unwrap_or_default();
        let again = rpassword::prompt_password("Repeat the password: ").unwrap_or_default();
        if first != again {
            return invalid("the passwords do not match");
        }
        match NewPassword::parse(&first) {
            Ok(p) => p,
            Err(_) => return invalid("the password must be 10 to 128 characters long"),
        }
    };
    let store = match barberpro::store::Store::open(&config.storage.data_dir, 8 << 20) {
        Ok(s) => s,
        Err(e @ StoreError::InUse { .. }) => {
            eprintln!("error: {e} (stop the server first)");
            return ExitCode::from(3);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(6);
        }
    };
    let new = NewStaff {
        email,
        name,
        role,
        barber: args.barber.map(barberpro::domain::BarberId),
        password_hash: barberpro::auth::hash_password(&password),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(6);
        }
    };
    let result = runtime.block_on(async {
        let now = jiff::Timestamp::now();
        let created = store
            .write(move |txn| {
                let user = staff::create(txn, new, now)?;
                barberpro::store::audit::record(
                    txn,
                    barberpro::store::audit::Change {
                        actor_email: "cli".into(),
                        action: "staff.create",
                        entity: "staff",
                        entity_id: Some(user.id.0),
                        after: Some(barberpro::http::admin::team::public_view(&user)),
                        ..Default::default()
                    },
                    now,
                )?;
                Ok(user)
            })
            .await;
        store.close().await;
        created
    });
    match result {
        Ok(user) => {
            println!(
                "created {} account {} ({})",
                user.role,
                user.email.as_str(),
                user.name
            );
            if generated {
                println!(
                    "password (shown once, write it down): {}",
                    password.expose()
                );
            }
            ExitCode::SUCCESS
        }
        Err(StoreError::Rule(e)) => invalid(&format!(
            "{e} (is the e-mail taken, or the barber id unknown?)"
        )),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(6)
        }
    }
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(6);
        }
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
            tracing::error!(error = %e, "cannot start");
            eprintln!("error: {e}");
            ExitCode::from(match e {
                StartError::Store(StoreError::InUse { .. }) => 3,
                StartError::Store(StoreError::SchemaTooNew { .. }) => 4,
                StartError::Bind { .. } => 5,
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
