//! The command line: `serve` and `config check` (snapshot, restore and admin commands join
//! here as they arrive).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// BarberPro: bookings for a barbershop chain, in one binary.
///
/// Exit codes: 0 success · 1 invalid configuration · 2 bad command line · 3 data folder in use
/// · 4 database from a newer version · 5 cannot listen · 6 other start-up failure.
#[derive(Debug, Parser)]
#[command(name = "barberpro", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the booking site, the API and the admin over HTTPS.
    Serve(ServeArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
pub struct ConfigFile {
    /// Configuration file (default: /etc/barberpro/barberpro.toml if it exists, else built-in
    /// defaults). Environment variables BARBERPRO_SECTION__KEY override it.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder (database, certificates, keys). Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8443. Overrides server.listen.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Create a demo chain (branches, barbers, services, hours) if the database is empty.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective result (secrets redacted).
    Check(ConfigFile),
}
