//! Schema 6 added la caja's tables: a database written by schema 5 (tests/fixtures/schema-v5,
//! migrated on start) gets them, and its booking can be charged, once; its schema-5 snapshot
//! restores. Schema 7 added `caja_mp_links`: a database written by schema 6, with its
//! checkouts (tests/fixtures/schema-v6), is migrated and keeps them, and so is its snapshot.

use std::path::Path;

use barberpro::app::checkout::{self, ChargeRequest};
use barberpro::app::{Actor, AppError};
use barberpro::domain::caja::{CajaError, EntryKind, PaymentMethod};
use barberpro::domain::{BookingId, BranchId, DomainError, ServiceId};
use barberpro::http::Clock;
use barberpro::store::{SCHEMA_VERSION, ledger};

use super::{money, tender};
use crate::helpers::{TestApp, spawn_app_with, test_config, ts};
use crate::migrations::{restore, table_rows};

const FIXTURE_V5: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v5");
const FIXTURE_V6: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v6");

#[tokio::test]
async fn a_database_from_before_la_caja_gets_its_tables_and_charges_a_booking_once() {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["barberpro.redb", "secret.key"] {
        std::fs::copy(Path::new(FIXTURE_V5).join(file), tmp.path().join(file)).unwrap();
    }
    let clock = Clock::manual(ts("2026-12-09T10:40:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    let req = ChargeRequest {
        branch: BranchId(1),
        booking: Some(BookingId(1)),
        barber: None,
        client: None,
        services: vec![ServiceId(1)],
        products: Vec::new(),
        discount: None,
        tip: money(0),
        tenders: vec![tender(PaymentMethod::Efectivo, 800_000)],
        send_receipt: false,
    };
    let sale = checkout::charge(&app.state, &Actor::Cli, req.clone()).await;
    assert!(
        sale.is_ok(),
        "the fixture's booking 1 could not be charged: {sale:?}"
    );
    let again = checkout::charge(&app.state, &Actor::Cli, req).await;
    assert!(
        matches!(
            again,
            Err(AppError::Rule(DomainError::Caja(CajaError::AlreadyCharged)))
        ),
        "charged twice: {again:?}"
    );
    assert_eq!(app.store.read(ledger::all).await.unwrap().len(), 1);
    let link = app
        .store
        .read(|tx| barberpro::store::mp_links::get(tx, barberpro::domain::caja::EntryId(1)))
        .await;
    assert!(matches!(link, Ok(None)), "caja_mp_links missing: {link:?}");
}

#[tokio::test]
async fn a_snapshot_taken_by_schema_5_restores_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let snapshot =
        Path::new(FIXTURE_V5).join("snapshot/barberpro-20261207T041358Z-fixture-v5.redb.zst");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_barberpro"))
        .arg("restore")
        .arg(&snapshot)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 bookings"), "{stdout}");
    std::fs::copy(
        Path::new(FIXTURE_V5).join("secret.key"),
        data.join("secret.key"),
    )
    .unwrap();
    let clock = Clock::manual(ts("2026-12-09T10:40:00-03:00"));
    let app = spawn_app_with(test_config(&data), clock).await;
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(app.store.read(ledger::all).await.unwrap().is_empty());
}

/// What the schema-6 fixture holds (see its README): Ana's booking 1 (Martín, Wed 9 Dec
/// 10:00) charged as sale 1 ($ 9.000: $ 4.000 cash, $ 5.000 MercadoPago, $ 1.000 tip), her
/// booking 3 (11:00) and José's booking 2 (Lucía, Thu 10:00) not charged, a walk-in's
/// beard as sale 2 ($ 5.000 by debit).
async fn assert_v6_kept(app: &TestApp) {
    assert_eq!(app.store.schema_version().unwrap(), SCHEMA_VERSION);
    let rows = table_rows(app).await;
    assert_eq!(rows.get("caja_mp_links"), Some(&0), "{rows:?}");
    assert_eq!((rows["bookings"], rows["clients"]), (3, 2), "{rows:?}");
    let entries = app.store.read(ledger::all).await.unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let EntryKind::Sale(sale) = &entries[0].kind else {
        panic!("not a sale: {entries:?}")
    };
    assert_eq!(sale.booking, Some(BookingId(1)));
    assert_eq!(sale.checkout.total.centavos(), 900_000);
    assert_eq!(sale.checkout.tip.centavos(), 100_000);
    assert_eq!(sale.checkout.paid_by(PaymentMethod::MercadoPago), 500_000);
    // Booking 1 was charged by the old binary: not twice.
    let again = checkout::charge(&app.state, &Actor::Cli, charge(1, 800_000)).await;
    assert!(
        matches!(
            again,
            Err(AppError::Rule(DomainError::Caja(CajaError::AlreadyCharged)))
        ),
        "charged twice: {again:?}"
    );
}

fn charge(booking: u64, cash: i64) -> ChargeRequest {
    ChargeRequest {
        branch: BranchId(1),
        booking: Some(BookingId(booking)),
        barber: None,
        client: None,
        services: vec![ServiceId(1)],
        products: Vec::new(),
        discount: None,
        tip: money(0),
        tenders: vec![tender(PaymentMethod::Efectivo, cash)],
        send_receipt: false,
    }
}

#[tokio::test]
async fn a_schema_6_database_gets_the_mercadopago_links_and_keeps_its_checkouts_and_links() {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["barberpro.redb", "secret.key"] {
        std::fs::copy(Path::new(FIXTURE_V6).join(file), tmp.path().join(file)).unwrap();
    }
    let clock = Clock::manual(ts("2026-12-09T11:40:00-03:00"));
    let app = spawn_app_with(test_config(tmp.path()), clock).await;
    assert_v6_kept(&app).await;

    // Ana's manage link, issued by the schema-6 binary, still opens her booking.
    let booking = app
        .get_auth(
            "/api/v1/bookings/57hW5aYnPQCXRkPTzwHrFg",
            "Iyb-LBEaduQv7fBn3rrouHsYPvl5Ya7olFHwanrRnC4",
        )
        .await
        .expect(200);
    assert_eq!(booking["client_name"], "Ana Fixture", "{booking}");
    assert_eq!(booking["start"], "2026-12-09T10:00:00-03:00", "{booking}");
    // Her other booking is charged now; the old sales' numbering goes on.
    let sale = checkout::charge(&app.state, &Actor::Cli, charge(3, 800_000))
        .await
        .expect("booking 3 is charged");
    assert_eq!(sale.id.0, 3);
}

#[tokio::test]
async fn a_snapshot_taken_by_schema_6_restores_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let stdout = restore(FIXTURE_V6, "barberpro-20261207T142644Z-fixture-v6", &data).await;
    assert!(stdout.contains("3 bookings"), "{stdout}");
    let clock = Clock::manual(ts("2026-12-09T11:40:00-03:00"));
    let app = spawn_app_with(test_config(&data), clock).await;
    assert_v6_kept(&app).await;
}
