//! Every table BarberPro keeps, in one place. Snapshots and restores copy exactly these;
//! a table missing here is a table they would lose, so define new ones inside [`tables!`]:
//! that one listing produces the definitions, [`ALL`], [`create_all`] and [`copy_all`]. A test (and every
//! snapshot) fails on a table in the database that is not listed here.
//!
//! Values are JSON (serde) so that adding a field is a `#[serde(default)]`, not a migration.
//! Index keys are tuples that sort the way they are scanned.

use redb::{
    Database, Key, MultimapTableHandle, ReadTransaction, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError, TableHandle, Value,
};

use super::engine::WriteTransaction;

use super::StoreError;

/// Declares every table once and derives from that one list the name list [`ALL`] and the
/// typed copier [`copy_all`] used by snapshots.
macro_rules! tables {
    ($(
        $(#[$doc:meta])*
        pub const $name:ident: TableDefinition<$k:ty, $v:ty> = TableDefinition::new($table:literal);
    )*) => {
        $(
            $(#[$doc])*
            pub const $name: TableDefinition<$k, $v> = TableDefinition::new($table);
        )*

        /// The name of every table, for snapshot copiers and integrity checks.
        pub const ALL: &[&str] = &[$($table),*];

        /// Copies every table's entries from `from` (one consistent read transaction) into
        /// the database `to`, creating each table even when it is empty; one write
        /// transaction per table keeps memory bounded. Returns `(table, rows)` in [`ALL`]
        /// order.
        pub(crate) fn copy_all(
            from: &ReadTransaction,
            to: &Database,
        ) -> Result<Vec<(&'static str, u64)>, StoreError> {
            Ok(vec![$(($table, copy_table($name, from, to)?)),*])
        }

        /// Applies one row change of the change log (`engine::capture`) to the table named
        /// `table`, decoding the bytes with that table's types; a [`retired`] table's rows
        /// (a generation older than its migration) go to that table. False: no such table.
        pub(crate) fn apply_row(
            txn: &redb::WriteTransaction,
            table: &str,
            key: &[u8],
            value: Option<&[u8]>,
        ) -> Result<bool, StoreError> {
            match table {
                $($table => apply_one($name, txn, key, value)?,)*
                _ => return retired::apply_row(txn, table, key, value),
            }
            Ok(true)
        }

        /// Creates every table a database lacks (opening a table in a write transaction
        /// creates it), so that readers never miss one.
        pub(crate) fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
            $(txn.open_table($name)?;)*
            Ok(())
        }

        /// Whether the file has every table.
        pub(crate) fn all_exist(txn: &ReadTransaction) -> bool {
            $(txn.open_table($name).is_ok())&&*
        }

        /// Row counts of every table (0 for a table the file does not have), then of the
        /// [`retired`] tables an older file still holds.
        pub(crate) fn count_all(txn: &ReadTransaction) -> Result<Vec<(&'static str, u64)>, StoreError> {
            let mut counts = vec![$(($table, count_table($name, txn)?)),*];
            counts.extend(retired::count(txn)?);
            Ok(counts)
        }
    };
}

tables! {
    /// `"schema_version"` and id sequences (`"seq.booking"`, …).
    pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

    pub const BRANCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("branches");
    /// Branch slug → branch id.
    pub const BRANCH_SLUGS: TableDefinition<&str, u64> = TableDefinition::new("branch_slugs");
    pub const BARBERS: TableDefinition<u64, &[u8]> = TableDefinition::new("barbers");
    pub const SERVICES: TableDefinition<u64, &[u8]> = TableDefinition::new("services");
    pub const CLOSURES: TableDefinition<u64, &[u8]> = TableDefinition::new("closures");

    pub const CLIENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("clients");
    /// E.164 phone → client id (one client per phone, chain-wide; both forms of an Argentine
    /// line, `+549…` and `+54…`, lead to one client: `clients::by_phone` looks up both).
    pub const CLIENT_PHONES: TableDefinition<&str, u64> = TableDefinition::new("client_phones");
    /// Client id → (folded name, the phone's digits): what client search reads, without
    /// decoding a record (schema 5). Keyed by id so that a new client appends to the last
    /// leaf instead of landing on a random one. Anonymised clients have no entry.
    pub const CLIENT_TERMS: TableDefinition<u64, (&str, &str)> =
        TableDefinition::new("idx_client_terms");

    pub const BOOKINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("bookings");
    /// (barber, start, booking) → [`BarberEntry`]: every booking of a barber (schema 7; the
    /// same keys as schema 3's `idx_barber_bookings`, whose value was only (busy until,
    /// active)). Because active bookings of a barber never overlap, ordering by start also
    /// orders the active ones by end: the overlap check is one reverse seek past inactive
    /// entries. A branch's day is the union of its barbers' ranges for that day; the owner's
    /// reports read a period from here alone, without the rows.
    pub const BARBER_BOOKINGS: TableDefinition<(u64, i64, u64), BarberEntry> =
        TableDefinition::new("idx_barber_timeline");
    /// (client, start, booking) → (end, active): a client's whole history, whose active
    /// entries never overlap either (no double booking; schema 3).
    pub const CLIENT_BOOKINGS: TableDefinition<(u64, i64, u64), (i64, bool)> =
        TableDefinition::new("idx_client_timeline");

    /// Idempotency-Key → JSON record of the request hash and the booking it created.
    pub const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency_keys");
    /// (created at, Idempotency-Key) → (): the keys by age, so that old ones are pruned
    /// without a scan (schema 2).
    pub const IDEMPOTENCY_BY_TIME: TableDefinition<(i64, &str), ()> =
        TableDefinition::new("idx_idempotency_time");

    /// Staff accounts (JSON `StaffUser`).
    pub const STAFF: TableDefinition<u64, &[u8]> = TableDefinition::new("staff");
    /// Lowercased e-mail → staff id (unique).
    pub const STAFF_EMAILS: TableDefinition<&str, u64> = TableDefinition::new("staff_emails");
    /// SHA-256 of a session cookie's token → JSON `Session`. The token itself is never stored.
    pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("staff_sessions");
    /// (staff id, session hash) → (), to end every session of one account.
    pub const STAFF_SESSIONS: TableDefinition<(u64, &str), ()> = TableDefinition::new("idx_staff_sessions");
    /// SHA-256 of a one-time setup link's token → expiry (Unix seconds).
    pub const SETUP_TOKENS: TableDefinition<&str, i64> = TableDefinition::new("setup_tokens");
    /// The audit log: sequence number → JSON `AuditEntry`, in the order of the changes.
    pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_log");

    /// Deposits: payment id → JSON `Payment` (see `store::payments`).
    pub const PAYMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("payments");
    /// Booking id → its deposit's payment id.
    pub const PAYMENT_BY_BOOKING: TableDefinition<u64, u64> = TableDefinition::new("idx_payment_by_booking");
    /// Payment id → when (Unix seconds) the payments worker must next look at it: unpaid
    /// deposits (hold expiry, preference retries) and pending refunds only.
    pub const PAYMENT_WORK: TableDefinition<u64, i64> = TableDefinition::new("idx_payment_work");
    /// MercadoPago payment id → JSON `Notification`: webhooks received whose payment is still
    /// to be fetched and applied (survives restarts).
    pub const MP_NOTIFICATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("mp_notifications");

    /// Small settings the store itself follows, by name → JSON (`"outbox_policy"`).
    pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
    /// The outbox: message id → JSON `outbox::Message`, every message ever queued.
    pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
    /// (next attempt, Unix ms; message id) → (), messages waiting to be sent.
    pub const OUTBOX_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("idx_outbox_due");
    /// Message id → (), messages handed to the sender and not yet answered. Non-empty at
    /// start-up only after a crash: those go back to the due queue (maybe a duplicate).
    pub const OUTBOX_IN_FLIGHT: TableDefinition<u64, ()> = TableDefinition::new("idx_outbox_in_flight");
    /// Message id → (), dead letters the front desk should look at.
    pub const OUTBOX_DEAD: TableDefinition<u64, ()> = TableDefinition::new("idx_outbox_dead");
    /// WhatsApp message id (`wamid.…`) → message id, for delivery status webhooks.
    pub const OUTBOX_WAMID: TableDefinition<&str, u64> = TableDefinition::new("idx_outbox_wamid");

    /// La caja's ledger (schema 6): entry id → JSON `caja::Entry`. Append-only: a row is
    /// inserted once and never changed or deleted (`store::ledger::append`); a void is a new row.
    pub const LEDGER: TableDefinition<u64, &[u8]> = TableDefinition::new("ledger");
    /// (branch, till day `yyyymmdd`, entry) → (): a branch's day of entries.
    pub const LEDGER_BY_DAY: TableDefinition<(u64, u32, u64), ()> =
        TableDefinition::new("idx_ledger_day");
    /// (barber, till day, entry) → (): the entries that touch a barber's earnings.
    pub const LEDGER_BY_BARBER: TableDefinition<(u64, u32, u64), ()> =
        TableDefinition::new("idx_ledger_barber");
    /// Booking id → its sale's entry, while that sale stands: a booking is charged once.
    pub const LEDGER_BY_BOOKING: TableDefinition<u64, u64> = TableDefinition::new("idx_ledger_booking");
    /// Sale entry → the void entry that undid it.
    pub const LEDGER_VOIDS: TableDefinition<u64, u64> = TableDefinition::new("idx_ledger_voids");
    /// (till day, branch, barber) → JSON `caja::DayTotals`, changed with every sale and void.
    pub const LEDGER_DAILY: TableDefinition<(u32, u64, u64), &[u8]> =
        TableDefinition::new("ledger_daily");
    /// (branch, till day) → JSON `caja::Till`: la caja diaria.
    pub const TILLS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("tills");
    /// Product id → JSON `caja::Product`.
    pub const PRODUCTS: TableDefinition<u64, &[u8]> = TableDefinition::new("products");
    /// (product, branch) → units in stock (never negative).
    pub const STOCK: TableDefinition<(u64, u64), u64> = TableDefinition::new("stock");
    /// Adjustment id → JSON `products::Adjustment`: every stock change that was not a sale.
    pub const STOCK_ADJUSTMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("stock_adjustments");
    /// Barber id → JSON `caja::CommissionRules`.
    pub const COMMISSION_RULES: TableDefinition<u64, &[u8]> = TableDefinition::new("commission_rules");
    /// (barber, first day, last day) → JSON `commissions::ClosedPeriod`: pay periods closed.
    pub const PAY_PERIODS: TableDefinition<(u64, u32, u32), &[u8]> = TableDefinition::new("pay_periods");
    /// Sale entry → JSON `caja::MpLink` (schema 7): the MercadoPago link of a sale's
    /// MercadoPago line and whether it was paid. Beside the ledger, which never changes.
    pub const CAJA_MP_LINKS: TableDefinition<u64, &[u8]> = TableDefinition::new("caja_mp_links");
    /// Confirmation e-mails (`store::mail`): id → JSON `Mail`.
    pub const MAIL: TableDefinition<u64, &[u8]> = TableDefinition::new("mail");
    /// E-mails waiting, by next attempt: (unix ms, mail id).
    pub const MAIL_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("idx_mail_due");
    /// The e-mail queued for a booking: booking id → mail id.
    pub const MAIL_BY_BOOKING: TableDefinition<u64, u64> = TableDefinition::new("idx_mail_by_booking");

    /// Photos of branches and barbers (`store::photos`): id → JPEG bytes, resized on upload.
    pub const PHOTOS: TableDefinition<u64, &[u8]> = TableDefinition::new("photos");
    /// Whose photo: (owner kind, owner id, photo id), kind 1 a branch, 2 a barber.
    pub const PHOTOS_BY_OWNER: TableDefinition<(u8, u64, u64), ()> = TableDefinition::new("idx_photos_by_owner");
}

/// A barber index entry (schema 7): (busy until, active, status code, branch, client), the
/// status as `BookingStatus::code`. Every field matches the booking's row.
pub type BarberEntry = (i64, bool, u8, u64, u64);

/// The barber index's entry for `b`: every field from the row (its key is
/// `(b.barber, b.start, b.id)`).
pub(crate) fn barber_entry(b: &crate::domain::Booking) -> BarberEntry {
    (
        b.busy_until.as_second(),
        b.status.is_active(),
        b.status.code(),
        b.branch.0,
        b.client.0,
    )
}

/// Tables of older schemas that a migration deletes: a file from before it (a snapshot being
/// restored, or checked before its migration) still holds them. Known, so such a file is not
/// refused; counted, so its rows are compared with its manifest; written only by a restore
/// replaying a change log older than the migration (`apply_row`).
pub(crate) mod retired {
    use redb::TableDefinition;

    /// Schema ≤ 2: (barber, start, booking) → busy-until, active bookings only.
    pub const BARBER_AGENDA: TableDefinition<(u64, i64, u64), i64> =
        TableDefinition::new("idx_barber_agenda");
    /// Schema ≤ 2: (branch, local day number, booking) → ().
    pub const BRANCH_DAY: TableDefinition<(u64, i32, u64), ()> =
        TableDefinition::new("idx_branch_day");
    /// Schema ≤ 2: (client, start, booking) → ().
    pub const CLIENT_BOOKINGS: TableDefinition<(u64, i64, u64), ()> =
        TableDefinition::new("idx_client_bookings");
    /// Schema ≤ 2: (client, start, booking) → end, active bookings only.
    pub const CLIENT_AGENDA: TableDefinition<(u64, i64, u64), i64> =
        TableDefinition::new("idx_client_agenda");

    /// Schema 4: (folded name, client id) → phone digits; random keys cost a leaf copy per
    /// new client, so schema 5 keys the same terms by id (`idx_client_terms`).
    pub const CLIENT_SEARCH: TableDefinition<(&str, u64), &str> =
        TableDefinition::new("idx_client_search");

    /// Schema 3–6: (barber, start, booking) → (busy until, active); schema 7 added the
    /// status, branch and client (`idx_barber_timeline`) so that reports skip the rows.
    pub const BARBER_BOOKINGS: TableDefinition<(u64, i64, u64), (i64, bool)> =
        TableDefinition::new("idx_barber_bookings");

    pub const NAMES: &[&str] = &[
        "idx_barber_bookings",
        "idx_barber_agenda",
        "idx_branch_day",
        "idx_client_bookings",
        "idx_client_agenda",
        "idx_client_search",
    ];

    /// Row counts of the retired tables the file still holds.
    pub(crate) fn count(
        txn: &redb::ReadTransaction,
    ) -> Result<Vec<(&'static str, u64)>, super::StoreError> {
        let counts = [
            (
                "idx_barber_bookings",
                super::count_table(BARBER_BOOKINGS, txn)?,
            ),
            ("idx_barber_agenda", super::count_table(BARBER_AGENDA, txn)?),
            ("idx_branch_day", super::count_table(BRANCH_DAY, txn)?),
            (
                "idx_client_bookings",
                super::count_table(CLIENT_BOOKINGS, txn)?,
            ),
            ("idx_client_agenda", super::count_table(CLIENT_AGENDA, txn)?),
            ("idx_client_search", super::count_table(CLIENT_SEARCH, txn)?),
        ];
        let present = super::present(txn)?;
        Ok(counts
            .into_iter()
            .filter(|(name, _)| present.iter().any(|p| p == name))
            .collect())
    }

    /// Deletes the retired tables (a migration's last step).
    pub(crate) fn delete_all(txn: &super::WriteTransaction) -> Result<(), super::StoreError> {
        txn.delete_table(BARBER_BOOKINGS)?;
        txn.delete_table(BARBER_AGENDA)?;
        txn.delete_table(BRANCH_DAY)?;
        txn.delete_table(CLIENT_BOOKINGS)?;
        txn.delete_table(CLIENT_AGENDA)?;
        txn.delete_table(CLIENT_SEARCH)?;
        Ok(())
    }

    /// Applies a change-log row of a retired table (a generation written before the
    /// migration that retired it) with the table's old types: the restored file keeps its
    /// old schema version, so its next open migrates it. False: not a retired table.
    pub(crate) fn apply_row(
        txn: &redb::WriteTransaction,
        table: &str,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<bool, super::StoreError> {
        match table {
            "idx_barber_bookings" => super::apply_one(BARBER_BOOKINGS, txn, key, value)?,
            "idx_barber_agenda" => super::apply_one(BARBER_AGENDA, txn, key, value)?,
            "idx_branch_day" => super::apply_one(BRANCH_DAY, txn, key, value)?,
            "idx_client_bookings" => super::apply_one(CLIENT_BOOKINGS, txn, key, value)?,
            "idx_client_agenda" => super::apply_one(CLIENT_AGENDA, txn, key, value)?,
            "idx_client_search" => super::apply_one(CLIENT_SEARCH, txn, key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Names of the tables the file holds.
fn present(txn: &ReadTransaction) -> Result<Vec<String>, StoreError> {
    Ok(txn.list_tables()?.map(|h| h.name().to_owned()).collect())
}

/// Copies one typed table entry by entry; a table the source never created copies as empty.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    def: TableDefinition<K, V>,
    from: &ReadTransaction,
    to: &Database,
) -> Result<u64, StoreError> {
    let txn = to.begin_write()?;
    let mut rows = 0;
    {
        let mut target = txn.open_table(def)?;
        match from.open_table(def) {
            Ok(source) => {
                for entry in source.iter()? {
                    let (k, v) = entry?;
                    target.insert(k.value(), v.value())?;
                    rows += 1;
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    txn.commit()?;
    Ok(rows)
}

fn apply_one<K: Key + 'static, V: Value + 'static>(
    def: TableDefinition<K, V>,
    txn: &redb::WriteTransaction,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(def)?;
    match value {
        Some(v) => {
            table.insert(K::from_bytes(key), V::from_bytes(v))?;
        }
        None => {
            table.remove(K::from_bytes(key))?;
        }
    }
    Ok(())
}

fn count_table<K: Key + 'static, V: Value + 'static>(
    def: TableDefinition<K, V>,
    txn: &ReadTransaction,
) -> Result<u64, StoreError> {
    match txn.open_table(def) {
        Ok(t) => Ok(t.len()?),
        Err(TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Tables (plain or multimap) present in the file that [`ALL`] does not list: a snapshot
/// would silently lose them, so callers refuse to go on.
pub(crate) fn unknown_tables(txn: &ReadTransaction) -> Result<Vec<String>, StoreError> {
    let mut unknown = Vec::new();
    for handle in txn.list_tables()? {
        let name = handle.name().to_owned();
        if !ALL.contains(&name.as_str()) && !retired::NAMES.contains(&name.as_str()) {
            unknown.push(name);
        }
    }
    for handle in txn.list_multimap_tables()? {
        unknown.push(format!("{} (multimap)", handle.name()));
    }
    Ok(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableDatabase;

    #[test]
    fn the_engine_names_the_listed_meta_table() {
        assert_eq!(META.name(), crate::store::engine::META.name());
    }

    #[tokio::test]
    async fn every_table_the_store_creates_is_known_to_the_copier() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::Store::open(dir.path(), 1 << 20).expect("store opens");
        let path = store.path().to_path_buf();
        store.close().await;
        drop(store);
        let db = Database::open(path).expect("reopen");
        let txn = db.begin_read().expect("read txn");
        let unknown = unknown_tables(&txn).expect("list tables");
        assert!(
            unknown.is_empty(),
            "the database holds tables that tables! does not list (snapshots would lose them): {unknown:?}"
        );
        let created: Vec<String> = txn
            .list_tables()
            .expect("list")
            .map(|h| h.name().to_owned())
            .collect();
        for name in ALL {
            assert!(
                created.iter().any(|c| c == name),
                "Store::open does not create table {name}"
            );
        }
    }

    #[test]
    fn a_table_outside_the_list_is_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::create(dir.path().join("x.redb")).expect("create");
        let txn = db.begin_write().expect("write");
        txn.open_table(TableDefinition::<u64, u64>::new("rogue"))
            .expect("table");
        txn.open_table(META).expect("meta");
        txn.commit().expect("commit");
        let unknown = unknown_tables(&db.begin_read().expect("read")).expect("list");
        assert_eq!(unknown, vec!["rogue".to_owned()]);
    }

    #[test]
    fn table_names_are_unique() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "two tables share a name");
    }
}
