//! The one-shot commands (everything but `serve`): `config check`, `admin create-user` and
//! `bench-data` here; `snapshot`, `snapshots list`, `restore` in [`snapshot`]; `follow` and
//! `promote` in [`standby`]; `client` and `audit` in [`privacy`]. Each returns the process's exit code. They sit on top: they call
//! `app`, `snapshot`, `store` and the control socket's client, and nothing calls them but
//! `main`.

pub mod privacy;
pub mod snapshot;
pub mod standby;

use std::process::ExitCode;

use crate::cli::{BenchDataArgs, ConfigFile, CreateUserArgs};
use crate::config::{Config, Overrides};
use crate::store::StoreError;

/// Builds a command's tokio runtime (I/O and timers on), or says why not and gives the
/// command's exit code for it.
pub fn runtime(
    mut builder: tokio::runtime::Builder,
    failed: u8,
) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::from(failed)
    })
}

/// `barberpro config check`: loads the configuration as `serve` would and prints the effective
/// values, or names the bad key.
pub fn config_check(file: ConfigFile) -> ExitCode {
    match Config::load(file.config.as_deref(), &Overrides::default()) {
        Ok(config) => {
            println!(
                "# configuration is valid; effective values:\n{}",
                config.to_toml()
            );
            if config.server.tls.mode == crate::config::TlsMode::Acme {
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

/// Generates the load benchmark's database (see [`crate::bench_data`]).
pub fn bench_data(args: BenchDataArgs) -> ExitCode {
    let spec = crate::bench_data::Spec {
        branches: args.branches,
        barbers: args.barbers,
        clients: args.clients,
        bookings: args.bookings,
        future_days: args.future_days,
        rows_per_commit: args.rows_per_commit,
        seed: args.seed,
    };
    let started = std::time::Instant::now();
    let result = crate::store::Store::open(&args.data_dir, 1 << 30).and_then(|store| {
        let summary = crate::bench_data::generate(&store, &spec, jiff::Timestamp::now());
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
                 ({} checkouts; from {}) in {:.1} s",
                summary.branches,
                summary.barbers,
                summary.services,
                summary.closures,
                summary.clients,
                summary.bookings,
                summary.sales,
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
pub fn create_user(args: CreateUserArgs) -> ExitCode {
    use crate::app::staff::NewMember;
    use crate::app::{Actor, App, AppError};
    use crate::domain::staff::{NewPassword, Role, staff_email};
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
        crate::domain::Text::line("name", args.name.as_deref().unwrap_or(&default_name), 80)
    else {
        return invalid("--name must be 1 to 80 characters");
    };
    use std::io::IsTerminal;
    let generated = args.generate_password || !std::io::stdin().is_terminal();
    let password = if generated {
        crate::auth::generate_password()
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
    let store = match crate::store::Store::open(&config.storage.data_dir, 8 << 20) {
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
    let new = NewMember {
        email,
        name,
        role,
        barber: args.barber.map(crate::domain::BarberId),
        password: password.clone(),
    };
    let runtime = match runtime(tokio::runtime::Builder::new_current_thread(), 6) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let app = App::for_command(store, config.booking_rules());
        let created = crate::app::staff::create(&app, &Actor::Cli, new).await;
        app.store.close().await;
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
        Err(AppError::Rule(e)) => invalid(&format!(
            "{e} (is the e-mail taken, or the barber id unknown?)"
        )),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(6)
        }
    }
}
