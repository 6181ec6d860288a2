//! Schema 7: the barber index carries status, branch and client. A file of schema 6 (the old
//! `idx_barber_bookings`) migrates at open and reads the same bookings; the change log ends
//! its generation then; a retired table's change-log rows replay into that table.

use std::path::Path;

use jiff::Timestamp;
use redb::{Database, ReadableDatabase, ReadableTable, TableHandle, Value};

use super::engine::changelog::{self, State};
use super::{SCHEMA_VERSION, Store, bookings::period, tables};
use crate::domain::{
    BarberId, BookedService, Booking, BookingId, BookingSource, BookingStatus, BranchId, ClientId,
    Money, ServiceId, Text,
};

const CACHE: usize = 1 << 20;

fn booking(barber: u64, branch: u64, client: u64, start: &str, status: BookingStatus) -> Booking {
    let at = |s: &str| s.parse::<Timestamp>().expect("timestamp");
    let start = at(start);
    Booking {
        id: BookingId(0),
        branch: BranchId(branch),
        barber: BarberId(barber),
        client: ClientId(client),
        services: vec![BookedService {
            id: ServiceId(1),
            name: Text::from_static("Corte clásico"),
            duration_minutes: 30,
            price: Money::from_centavos(800_000).expect("money"),
        }],
        start,
        end: start + jiff::SignedDuration::from_mins(30),
        busy_until: start + jiff::SignedDuration::from_mins(35),
        status,
        source: BookingSource::Online,
        notes: None,
        cancel_reason: None,
        total: Money::from_centavos(800_000).expect("money"),
        manage_token_hash: "ab".repeat(32),
        created_at: at("2026-11-29T13:00:00Z"),
        updated_at: at("2026-11-29T13:00:00Z"),
        undoable_until: None,
    }
}

/// (id, branch, barber, client, start, busy until, status) of every booking of barbers 1–2.
type Seen = Vec<(u64, u64, u64, u64, i64, i64, BookingStatus)>;

async fn period_of(store: &Store) -> Seen {
    store
        .read(|tx| period::in_period(tx, &[BarberId(1), BarberId(2)], 0, i64::MAX))
        .await
        .expect("period")
        .into_iter()
        .map(|b| {
            let (id, branch, barber, client) = (b.id.0, b.branch.0, b.barber.0, b.client.0);
            (id, branch, barber, client, b.start, b.busy_until, b.status)
        })
        .collect()
}

fn set_generation(dir: &Path, generation: Option<&str>) {
    let path = dir.join(changelog::DIR).join("state.json");
    let mut state: State =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
    state.generation = generation.map(str::to_owned);
    state.next_segment = 0;
    std::fs::write(&path, serde_json::to_vec(&state).expect("json")).expect("write state");
}

/// Turns the file back into schema 6: the barber index under its old name and value.
fn downgrade_to_6(path: &Path) {
    let db = Database::open(path).expect("reopen");
    let txn = db.begin_write().expect("write");
    {
        let new = txn.open_table(tables::BARBER_BOOKINGS).expect("new index");
        let mut old = txn
            .open_table(tables::retired::BARBER_BOOKINGS)
            .expect("old index");
        for row in new.iter().expect("iter") {
            let (k, v) = row.expect("row");
            let (until, active, ..) = v.value();
            old.insert(k.value(), (until, active)).expect("insert");
        }
    }
    txn.delete_table(tables::BARBER_BOOKINGS).expect("delete");
    txn.open_table(tables::META)
        .expect("meta")
        .insert("schema_version", 6)
        .expect("version");
    txn.commit().expect("commit");
}

#[tokio::test]
async fn a_schema_6_file_migrates_its_barber_index_and_reads_the_same_bookings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), CACHE).expect("store opens");
    let mut bulk = store.bulk_writer(100).expect("bulk");
    let made = [
        booking(1, 1, 10, "2027-03-02T13:00:00Z", BookingStatus::Completed),
        booking(1, 1, 11, "2027-03-02T14:00:00Z", BookingStatus::NoShow),
        booking(2, 2, 10, "2027-03-03T13:00:00Z", BookingStatus::Confirmed),
        booking(2, 2, 12, "2027-03-03T14:00:00Z", BookingStatus::Cancelled),
    ];
    for b in made {
        bulk.booking(b).expect("booking");
    }
    bulk.finish().expect("commit");
    let before = period_of(&store).await;
    assert_eq!(before.len(), 4);
    let path = store.path().to_path_buf();
    store.close().await;
    drop(store);

    downgrade_to_6(&path);
    set_generation(dir.path(), Some("before-the-upgrade"));
    let store = Store::open(dir.path(), CACHE).expect("the schema 6 file opens");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(
        period_of(&store).await,
        before,
        "the new index reads the bookings the rows hold"
    );
    let names: Vec<String> = store
        .read(|tx| Ok(tx.list_tables()?.map(|h| h.name().to_owned()).collect()))
        .await
        .expect("tables");
    assert!(
        !names.iter().any(|n| n == "idx_barber_bookings"),
        "the retired index is deleted: {names:?}"
    );
    assert_eq!(
        store.changelog().figures().state.generation,
        None,
        "segments after the upgrade must not extend the old schema's generation"
    );
    store.close().await;
    drop(store);

    // An open that migrates nothing keeps the generation.
    set_generation(dir.path(), Some("after-the-upgrade"));
    let store = Store::open(dir.path(), CACHE).expect("reopen");
    assert_eq!(
        store.changelog().figures().state.generation.as_deref(),
        Some("after-the-upgrade")
    );
    store.close().await;
}

#[test]
fn a_change_log_row_of_a_retired_table_replays_into_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::create(dir.path().join("x.redb")).expect("create");
    let key = (1u64, 1_800_000_000i64, 7u64);
    let key_bytes = <(u64, i64, u64)>::as_bytes(&key);
    let value = <(i64, bool)>::as_bytes(&(1_800_002_100, true));
    let txn = db.begin_write().expect("write");
    let name = tables::retired::BARBER_BOOKINGS.name();
    assert!(
        tables::apply_row(&txn, name, key_bytes.as_ref(), Some(value.as_ref())).expect("apply"),
        "a pre-upgrade generation's row of {name} is applied, not refused"
    );
    assert!(!tables::apply_row(&txn, "idx_nobody_knows", &key_bytes, None).expect("apply"));
    txn.commit().expect("commit");
    let read = db.begin_read().expect("read");
    let old = read
        .open_table(tables::retired::BARBER_BOOKINGS)
        .expect("retired table");
    let got = old.get(key).expect("get").map(|v| v.value());
    assert_eq!(got, Some((1_800_002_100, true)));

    let txn = db.begin_write().expect("write");
    assert!(tables::apply_row(&txn, name, &key_bytes, None).expect("remove"));
    txn.commit().expect("commit");
    let read = db.begin_read().expect("read");
    let old = read
        .open_table(tables::retired::BARBER_BOOKINGS)
        .expect("retired table");
    assert!(
        old.get(key).expect("get").is_none(),
        "a removal replays too"
    );
}
