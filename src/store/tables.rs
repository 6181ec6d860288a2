//! Every table BarberPro keeps, in one place. Snapshots and restores copy exactly these;
//! a table missing here is a table they would lose, so add new ones to [`ALL`].
//!
//! Values are JSON (serde) so that adding a field is a `#[serde(default)]`, not a migration.
//! Index keys are tuples that sort the way they are scanned.

use redb::TableDefinition;

/// `"schema_version"` and id sequences (`"seq.booking"`, …).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub const BRANCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("branches");
/// Branch slug → branch id.
pub const BRANCH_SLUGS: TableDefinition<&str, u64> = TableDefinition::new("branch_slugs");
pub const BARBERS: TableDefinition<u64, &[u8]> = TableDefinition::new("barbers");
pub const SERVICES: TableDefinition<u64, &[u8]> = TableDefinition::new("services");
pub const CLOSURES: TableDefinition<u64, &[u8]> = TableDefinition::new("closures");

pub const CLIENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("clients");
/// E.164 phone → client id (one client per phone, chain-wide).
pub const CLIENT_PHONES: TableDefinition<&str, u64> = TableDefinition::new("client_phones");

pub const BOOKINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("bookings");
/// (barber, start, booking) → busy-until, for **active** bookings only. Because active
/// bookings of a barber never overlap, ordering by start also orders by end: the overlap
/// check is one reverse seek.
pub const BARBER_AGENDA: TableDefinition<(u64, i64, u64), i64> =
    TableDefinition::new("idx_barber_agenda");
/// (branch, local day number, booking) → (), every booking of a branch by day.
pub const BRANCH_DAY: TableDefinition<(u64, i32, u64), ()> = TableDefinition::new("idx_branch_day");
/// (client, start, booking) → (), a client's whole history.
pub const CLIENT_BOOKINGS: TableDefinition<(u64, i64, u64), ()> =
    TableDefinition::new("idx_client_bookings");
/// (client, start, booking) → busy-until, **active** bookings only (no double booking).
pub const CLIENT_AGENDA: TableDefinition<(u64, i64, u64), i64> =
    TableDefinition::new("idx_client_agenda");

/// Idempotency-Key → JSON record of the request hash and the booking it created.
pub const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency_keys");

/// The name of every table, for snapshot copiers and integrity checks.
pub const ALL: [&str; 14] = [
    "meta",
    "branches",
    "branch_slugs",
    "barbers",
    "services",
    "closures",
    "clients",
    "client_phones",
    "bookings",
    "idx_barber_agenda",
    "idx_branch_day",
    "idx_client_bookings",
    "idx_client_agenda",
    "idempotency_keys",
];
