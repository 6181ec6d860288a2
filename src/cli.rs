//! The command line: `serve`, `config check`, snapshots and restore, staff accounts, and the
//! personal-data commands (`client export|erase`, `audit export`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// BarberPro: bookings for a barbershop chain, in one binary.
///
/// Exit codes: 0 success · 1 invalid configuration · 2 bad command line · 3 data folder in use
/// · 4 database from a newer version · 5 cannot listen · 6 other start-up failure · 7 halted
/// (an I/O error or a full disk; a restart heals it) · 8 damaged journal · 9 the data folder is
/// a standby (`barberpro promote` it first) · 12 no room on the disk to open the database.
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
    /// Take a snapshot (asks the running server, else opens the database), or `verify` one.
    ///
    /// Exit codes: 0 taken, checked and (if configured) uploaded · 1 invalid configuration ·
    /// 3 data folder in use · 7 failed · 8 upload failed (the local copy is kept) · 9 uploaded
    /// but retention could not delete old snapshots.
    Snapshot(SnapshotArgs),
    /// List snapshots.
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
    /// Restore a snapshot into the data folder (the server must be stopped).
    ///
    /// Downloads, verifies the SHA-256, decompresses, runs redb's integrity check, compares
    /// the row counts with the manifest, refuses a newer schema, keeps the current database as
    /// barberpro.redb.pre-restore and swaps atomically. Exit codes: 0 restored · 1 invalid
    /// configuration · 3 data folder in use · 4 snapshot from a newer schema · 7 failed.
    Restore(RestoreArgs),
    /// Keep this data folder a standby, current from the bucket (read-only, never serving).
    ///
    /// Restores the newest generation (snapshot, keys, change log), then every
    /// snapshot.replicate_interval_secs applies the new segments, and rebuilds when the
    /// primary starts a newer generation. `serve` refuses the folder until `promote`. SIGTERM
    /// stops it between rounds. Exit codes: 0 stopped · 1 invalid configuration · 3 data
    /// folder in use · 7 failed · 11 the folder holds a primary's database (or follows
    /// another bucket), or with --status is not a standby.
    Follow(FollowArgs),
    /// Make a standby the primary, once the old primary is stopped for good.
    ///
    /// Refuses while the follower runs; applies what the bucket holds (unless --offline);
    /// gives the folder a new server id, so that `serve`'s first snapshot starts a new
    /// generation and takes the bucket over. Exit codes: 0 promoted · 1 invalid configuration
    /// · 3 data folder in use (stop barberpro-follow) · 7 the last catch-up failed (nothing
    /// changed) · 11 not a standby.
    Promote(PromoteArgs),
    /// Staff accounts of the admin UI.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Personal data of a client (Ley 25.326): export all we hold, or erase it.
    ///
    /// Works while the server runs (it asks it over <data_dir>/control/snapshot.sock) or
    /// with the server stopped (it opens the database). Exit codes: 0 done · 1 invalid
    /// configuration · 2 invalid phone, unknown or already erased client · 3 data folder in
    /// use by a server that does not answer · 6 other failure.
    #[command(subcommand)]
    Client(ClientCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Fill an empty data folder with a large generated chain, for the load benchmark
    /// (benches/run.sh). Not for production data folders.
    #[command(hide = true)]
    BenchData(BenchDataArgs),
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

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub action: Option<SnapshotAction>,
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Upload (the default whenever snapshot.s3.bucket is set).
    #[arg(long, conflicts_with = "no_upload")]
    pub upload: bool,
    /// Keep the snapshot local only.
    #[arg(long)]
    pub no_upload: bool,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Restore drill: fetch a snapshot (from the bucket when configured) and check everything
    /// a restore checks, in a temporary folder, without touching the live data. The result is
    /// recorded in <data_dir>/snapshot-status.json. Exit codes: 0 verified · 1 configuration ·
    /// 4 newer schema · 7 failed.
    Verify(SourceArgs),
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// `latest`, a snapshot name (barberpro-YYYYMMDDTHHMMSSZ-HOST) or a file path.
    #[arg(default_value = "latest", value_name = "latest|NAME|PATH")]
    pub source: String,
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// Local and remote snapshots, newest first: time, name, size, schema, completeness.
    List(DataDirArgs),
}

#[derive(Debug, Args)]
pub struct DataDirArgs {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Continuous backup: restore the newest snapshot taken at or before this time, then
    /// replay the change log up to this second ("2026-12-06T19:00:00-03:00"). With `latest`
    /// and a bucket, the change log is replayed to its end.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Debug, Args)]
pub struct FollowArgs {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder of the standby. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print the standby's status (newest applied transaction, its lag, the last round) and
    /// exit; works while the follower runs.
    #[arg(long)]
    pub status: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder of the standby. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Skip the last catch-up (the bucket is unreachable): what the old primary shipped
    /// after the standby's last round is lost.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a staff account (the server must be stopped: the command opens the database).
    ///
    /// The password is asked on the terminal, or generated and printed once with
    /// --generate-password (or when there is no terminal). Exit codes: 0 created · 1 invalid
    /// configuration · 2 invalid value (e-mail taken, unknown barber, …) · 3 data folder in use.
    CreateUser(CreateUserArgs),
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// owner, recepcion or barbero.
    #[arg(long)]
    pub role: String,
    /// The login e-mail (kept lowercase).
    #[arg(long)]
    pub email: String,
    /// The person's name (default: the part of the e-mail before the @).
    #[arg(long)]
    pub name: Option<String>,
    /// For --role barbero: the barber's id in the catalogue.
    #[arg(long, value_name = "ID")]
    pub barber: Option<u64>,
    /// Generate a password and print it once instead of asking for one.
    #[arg(long)]
    pub generate_password: bool,
}

#[derive(Debug, Args)]
pub struct BenchDataArgs {
    /// Data folder to fill (its database must have no catalogue yet).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub branches: usize,
    #[arg(long, default_value_t = 60)]
    pub barbers: usize,
    #[arg(long, default_value_t = 200_000)]
    pub clients: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub bookings: u64,
    /// Days after today that already have bookings; later days stay free for the benchmark.
    #[arg(long, default_value_t = 45)]
    pub future_days: i64,
    /// Rows per write transaction.
    #[arg(long, default_value_t = 100_000)]
    pub rows_per_commit: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Print, as JSON, everything held on the person with this phone: the client record,
    /// every booking and every audit entry about them (a right-of-access answer).
    Export(PersonArgs),
    /// Anonymise the person with this phone: name, phone, e-mail and notes are replaced, their
    /// upcoming bookings cancelled, past bookings kept for the accounts; the phone can book
    /// again as a new client. Audited; cannot be undone.
    Erase(PersonArgs),
}

#[derive(Debug, Args)]
pub struct PersonArgs {
    #[command(flatten)]
    pub file: ConfigFile,
    /// Data folder. Overrides storage.data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The client's phone, in any usual form ("011 15-2345-6789", "+5491123456789").
    #[arg(long)]
    pub phone: String,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the whole audit log as JSON lines, oldest first (same exit codes as `client`).
    Export(DataDirArgs),
}
