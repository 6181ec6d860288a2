//! Databases written by older schema versions (tests/fixtures/schema-v1 … -v4; -v5 and -v6
//! in `caja/migration.rs`) are
//! migrated by the current binary on start, with nothing lost.

use std::path::Path;
use std::time::Duration;

use barberpro::housekeeping::Housekeeping;
use barberpro::http::Clock;
use barberpro::store::SCHEMA_VERSION;
use serde_json::{Value, json};

use crate::helpers::{TestApp, booking, phone, spawn_app_with, test_config, ts};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v1");
const FIXTURE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v2");
const FIXTURE_V3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v3");
const FIXTURE_V4: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v4");

fn fixture_booking() -> Value {
    json!({
        "branch": "palermo",
        "services": [1],
        "barber": "any",
        "start": "2026-12-01T10:00:00-03:00",
        "client": {"name": "Ana Fixture", "phone": "011 15-2345-6789", "whatsapp_consent": true},
    })
}

async fn post_with_key(app: &TestApp, key: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", key)
        .json(&fixture_booking())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Restores a fixture's snapshot `name` into `data` with `barberpro restore` (asserting it
/// succeeds), then puts the fixture's secret.key beside it: manage links keep working when the
/// old key comes back with the data. Returns the command's output.
pub(crate) async fn restore(fixture: &'static str, name: &str, data: &Path) -> String {
    let snapshot = Path::new(fixture).join(format!("snapshot/{name}.redb.zst"));
    let target = data.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_barberpro"))
            .arg("restore")
            .arg(&snapshot)
            .arg("--data-dir")
            .arg(&target)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(
        Path::new(fixture).join("secret.key"),
        data.join("secret.key"),
    )
    .unwrap();
    stdout
}

fn copy_fixture(to: &Path) {
    copy_fixture_from(FIXTURE, to);
}

fn copy_fixture_from(fixture: &str, to: &Path) {
    for file in ["barberpro.redb", "secret.key"] {
        std::fs::copy(Path::new(fixture).join(file), to.join(file)).unwrap();
    }
}

#[tokio::test]
async fn a_schema_1_database_is_migrated_on_start_and_keeps_its_bookings_and_keys() {
    assert_eq!(
        SCHEMA_VERSION, 7,
        "a new schema version needs a schema-v7 fixture and test"
    );
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture(tmp.path());
    // Sunday 2026-11-29, a day after the fixture's booking was made.
    let clock = Clock::manual(ts("2026-11-29T12:00:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock.clone()).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);

    // The booking and the client are there, readable with the token the old binary issued
    // (the same key replays the same booking: the idempotency record survived).
    let (status, replay) = post_with_key(&app, "fixture-v1-1").await;
    assert_eq!(status, 201, "{replay}");
    assert_eq!(app.id_of(&replay).n, 1, "{replay}");
    let token = replay["manage_token"].as_str().unwrap();
    let path = format!("/api/v1/bookings/{}", app.id_of(&replay));
    let booking = app.get_auth(&path, token).await.expect(200);
    assert_eq!(booking["status"], "confirmed", "{booking}");
    assert_eq!(booking["barber_name"], "Martín", "{booking}");
    assert_eq!(booking["start"], "2026-12-01T10:00:00-03:00", "{booking}");

    // Migration 1 → 2 indexed the old key by its age: 24 h after it was made, it is pruned.
    let upkeep = Housekeeping {
        store: app.store.clone(),
        clock: clock.clone(),
        idempotency_ttl: Duration::from_secs(24 * 3600),
    };
    assert_eq!(upkeep.run_once().await.unwrap(), 0, "not yet 24 h old");
    clock.set(ts("2026-11-29T18:00:00-03:00"));
    assert_eq!(
        upkeep.run_once().await.unwrap(),
        1,
        "the fixture's key expired"
    );
    // The key is forgotten: the same request is a new attempt, and the slot is taken.
    let (status, again) = post_with_key(&app, "fixture-v1-1").await;
    assert_eq!(status, 409, "{again}");
}

#[tokio::test]
async fn keys_made_now_are_pruned_after_their_ttl_and_only_then() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture(tmp.path());
    let clock = Clock::manual(ts("2026-11-29T12:00:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock.clone()).await;
    let upkeep = Housekeeping {
        store: app.store.clone(),
        clock: clock.clone(),
        idempotency_ttl: Duration::from_secs(3600),
    };
    // Prune the fixture's own key first, then make a fresh one on another slot.
    upkeep.run_once().await.unwrap();
    let mut body = fixture_booking();
    body["start"] = json!("2026-12-01T11:00:00-03:00");
    body["client"]["phone"] = json!("011 15-3456-7890");
    let send = || {
        app.client
            .post(app.url("/api/v1/bookings"))
            .header("Idempotency-Key", "fresh-key")
            .json(&body)
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    clock.set(ts("2026-11-29T12:59:00-03:00"));
    assert_eq!(upkeep.run_once().await.unwrap(), 0);
    let replay = send().await.unwrap();
    assert_eq!(replay.status().as_u16(), 201);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);
    clock.set(ts("2026-11-29T13:01:00-03:00"));
    assert_eq!(upkeep.run_once().await.unwrap(), 1);
}

#[tokio::test]
async fn a_snapshot_taken_by_schema_1_restores_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("restored");
    let stdout = restore(FIXTURE, "barberpro-20261128T204755Z-fixture-v1", &dir).await;
    assert!(stdout.contains("1 bookings"), "{stdout}");
    let clock = Clock::manual(ts("2026-11-29T12:00:00-03:00"));
    let app = spawn_app_with(test_config(&dir), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    let (status, replay) = post_with_key(&app, "fixture-v1-1").await;
    assert_eq!((status, app.id_of(&replay).n), (201, 1), "{replay}");
}

/// Row counts of the tables the database holds, by name.
pub(crate) async fn table_rows(app: &TestApp) -> std::collections::BTreeMap<&'static str, u64> {
    app.store
        .read(barberpro::store::table_counts)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn ids(bookings: &[barberpro::domain::Booking]) -> Vec<u64> {
    bookings.iter().map(|b| b.id.0).collect()
}

/// The schema-2 fixture (see its README): Ana's booking 1 (Martín, Wed 2 Dec 10:00), Beto's
/// booking 2 (Martín, 11:00, cancelled) and Ana's booking 3 (Lucía, Thu 3 Dec 10:00).
#[tokio::test]
async fn a_schema_2_database_gets_its_booking_indexes_rebuilt_and_keeps_every_rule() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture_from(FIXTURE_V2, tmp.path());
    let clock = Clock::manual(ts("2026-11-30T12:00:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);

    // The four old indexes are gone; the two new ones hold every booking.
    let rows = table_rows(&app).await;
    for retired in [
        "idx_barber_agenda",
        "idx_branch_day",
        "idx_client_agenda",
        "idx_client_bookings",
        "idx_barber_bookings",
    ] {
        assert!(!rows.contains_key(retired), "{retired} survived: {rows:?}");
    }
    assert_eq!(rows["idx_barber_timeline"], 3, "{rows:?}");
    assert_eq!(rows["idx_client_timeline"], 3, "{rows:?}");

    // Ana's active booking still holds Martín's 10:00; Beto's cancelled one frees 11:00.
    let free = app.free_times("palermo", "2026-12-02", "1", "1").await;
    assert!(!free.contains(&"10:00".to_owned()), "{free:?}");
    assert!(free.contains(&"11:00".to_owned()), "{free:?}");
    let taken = booking(&[1], json!(1), "2026-12-02T10:00:00-03:00", &phone(1));
    app.book(&taken).await.expect_error(409, "slot_unavailable");
    // Ana cannot be in two chairs at once: her booking 3 is in her migrated history.
    let mut twice = booking(
        &[1],
        json!("any"),
        "2026-12-03T10:00:00-03:00",
        "011 15-2345-6789",
    );
    twice["client"]["name"] = json!("Ana Fixture");
    app.book(&twice).await.expect_error(409, "client_overlap");
    let (new_id, _) = app
        .book_ok(&booking(
            &[1],
            json!(1),
            "2026-12-02T11:00:00-03:00",
            &phone(2),
        ))
        .await;

    // The front desk's day and the client's history see every booking, cancelled included.
    let day = app
        .store
        .read(|tx| {
            let branch = barberpro::store::catalog::branch_by_slug(tx, "palermo")?;
            let date = jiff::civil::date(2026, 12, 2);
            barberpro::store::bookings::for_branch_day(tx, &branch, date)
        })
        .await
        .unwrap();
    assert_eq!(ids(&day), vec![1, 2, new_id.n]);
    let history = app
        .store
        .read(|tx| {
            let ana = barberpro::store::clients::by_phone(
                tx,
                &barberpro::domain::Phone::parse("011 15-2345-6789").unwrap(),
            )?
            .expect("Ana");
            barberpro::store::clients::history(tx, ana.id)
        })
        .await
        .unwrap();
    assert_eq!(ids(&history), vec![3, 1], "newest first");
}

#[tokio::test]
async fn a_snapshot_taken_by_schema_2_restores_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let stdout = restore(FIXTURE_V2, "barberpro-20261129T132120Z-fixture-v2", &data).await;
    assert!(stdout.contains("3 bookings"), "{stdout}");
    let clock = Clock::manual(ts("2026-11-30T12:00:00-03:00"));
    let app = spawn_app_with(test_config(&data), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    let rows = table_rows(&app).await;
    assert_eq!(rows["idx_barber_timeline"], 3, "{rows:?}");
    assert!(
        !rows.contains_key("idx_barber_bookings"),
        "schema 7 retired it: {rows:?}"
    );
    assert!(!rows.contains_key("idx_branch_day"), "{rows:?}");
    let free = app.free_times("palermo", "2026-12-02", "1", "1").await;
    assert!(!free.contains(&"10:00".to_owned()) && free.contains(&"11:00".to_owned()));
}

/// The client search of a migrated schema-3 database: its index is built from the records.
async fn search(app: &TestApp, needle: &str) -> Vec<String> {
    let needle = needle.to_owned();
    app.store
        .read(move |tx| barberpro::store::clients::search(tx, &needle, 50))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.phone.as_e164().to_owned())
        .collect()
}

/// The schema-3 fixture (see its README): Ana saved as +5491123456789 and, by the bug this
/// schema fixes, again as +541123456789; José Pérez as +5491134567890.
#[tokio::test]
async fn a_schema_3_database_gets_its_client_search_index_and_finds_both_forms() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture_from(FIXTURE_V3, tmp.path());
    let clock = Clock::manual(ts("2026-12-08T09:00:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(table_rows(&app).await["idx_client_terms"], 3);
    assert_eq!(search(&app, "perez").await, vec!["+5491134567890"]);
    assert_eq!(
        search(&app, "011 15-2345-6789").await,
        vec!["+5491123456789", "+541123456789"],
        "both records of Ana, to merge"
    );
    // Bookings and rules survived: Ana's 10:00 with Martín is still taken.
    let free = app.free_times("palermo", "2026-12-09", "1", "1").await;
    assert!(!free.contains(&"10:00".to_owned()), "{free:?}");
}

#[tokio::test]
async fn a_snapshot_taken_by_schema_3_restores_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let stdout = restore(FIXTURE_V3, "barberpro-20261207T004446Z-fixture-v3", &data).await;
    assert!(stdout.contains("3 bookings"), "{stdout}");
    let clock = Clock::manual(ts("2026-12-08T09:00:00-03:00"));
    let app = spawn_app_with(test_config(&data), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(table_rows(&app).await["idx_client_terms"], 3);
    assert_eq!(search(&app, "jose").await, vec!["+5491134567890"]);
}

/// The schema-4 fixture (see its README): Ana (+5491123456789, two bookings) and José Pérez
/// (+5491134567890), indexed by name in `idx_client_search`, which schema 5 replaces.
#[tokio::test]
async fn a_schema_4_database_gets_its_search_terms_by_id_and_loses_the_old_index() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture_from(FIXTURE_V4, tmp.path());
    let clock = Clock::manual(ts("2026-12-08T09:00:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    let rows = table_rows(&app).await;
    assert_eq!(rows["idx_client_terms"], 2, "{rows:?}");
    assert!(!rows.contains_key("idx_client_search"), "{rows:?}");
    assert_eq!(search(&app, "JOSE perez").await, vec!["+5491134567890"]);
    assert_eq!(search(&app, "fixture 2345").await, vec!["+5491123456789"]);
    assert_eq!(
        search(&app, "e").await,
        vec!["+5491123456789", "+5491134567890"],
        "Ana and José, in name order"
    );
    let free = app.free_times("palermo", "2026-12-09", "1", "1").await;
    assert!(
        !free.contains(&"10:00".to_owned()) && !free.contains(&"11:00".to_owned()),
        "{free:?}"
    );
}

#[tokio::test]
async fn a_snapshot_taken_by_schema_4_restores_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let stdout = restore(FIXTURE_V4, "barberpro-20261207T031825Z-fixture-v4", &data).await;
    assert!(stdout.contains("3 bookings"), "{stdout}");
    let clock = Clock::manual(ts("2026-12-08T09:00:00-03:00"));
    let app = spawn_app_with(test_config(&data), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(table_rows(&app).await["idx_client_terms"], 2);
    assert_eq!(search(&app, "ana").await, vec!["+5491123456789"]);
}
