//! BarberPro: a barbershop chain's bookings in one binary.
//!
//! A tour, from the inside out:

/// Pure types and booking rules: phones, money, slots, the status machine, availability.
/// No I/O, no redb, no HTTP.
pub mod domain;

/// redb persistence: every table, group-committed writes, one file per aggregate.
/// The only module that imports redb.
pub mod store;

/// Clients of outside services (MercadoPago), pointed at fakes in tests.
pub mod integrations;

/// Staff credentials: argon2id password hashes, session and CSRF tokens.
pub mod auth;

/// Layered configuration (defaults → file → environment → flags), one file per section;
/// values are checked as they are read.
pub mod config;

/// TLS certificates: self-signed (with renewal) or from files (reloaded on SIGHUP).
pub mod tls;

/// Certificates from Let's Encrypt (or any ACME CA), TLS-ALPN-01, renewed in the background.
pub mod acme;

/// The use cases: one function per thing a person does, called by every audience.
pub mod app;

/// The HTTP layer: state, errors, extractors, and the routers by audience.
pub mod http;

/// Snapshots: a consistent copy, zstd (+ age), local copies, S3 upload and retention;
/// restore and the `verify` drill.
pub mod snapshot;

/// The control socket through which `barberpro snapshot`, `client` and `audit` ask the
/// running server (which holds the database); the personal-data operations it runs.
pub mod control;

/// Periodic database upkeep (expired Idempotency-Keys).
pub mod housekeeping;

/// The daily retention job: expired sessions, audit retention, inactive clients.
pub mod retention;

/// Background jobs: the deposits worker (MercadoPago notifications, holds, refunds) and the
/// WhatsApp outbox sender.
pub mod jobs;

/// Certificate upkeep while serving: self-signed renewal, reload on SIGHUP.
mod cert_upkeep;
/// Application start-up, the accept loop and graceful shutdown.
pub mod startup;

/// The demo chain for `serve --demo`.
pub mod demo;

/// Logging.
pub mod telemetry;

/// The load benchmark's data generator (`barberpro bench-data`).
pub mod bench_data;

/// Prometheus metrics: the registry (passed in `AppState`, no global) and every metric,
/// registered by concern (HTTP, bookings, storage, payments, outbox, health, process).
pub mod metrics;

/// The command line.
pub mod cli;

/// The commands besides `serve`: `config check`, `admin create-user`, `bench-data`,
/// `snapshot`/`restore`, and personal data (Ley 25.326: `client export|erase`, `audit
/// export`) through the running server's control socket when it holds the database.
pub mod commands;
