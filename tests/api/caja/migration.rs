//! Schema 6 added la caja's tables: a database written by schema 5 (tests/fixtures/schema-v5,
//! migrated on start) gets them, and its booking can be charged, once; its schema-5 snapshot
//! restores.

use std::path::Path;

use barberpro::app::checkout::{self, ChargeRequest};
use barberpro::app::{Actor, AppError};
use barberpro::domain::caja::{CajaError, PaymentMethod};
use barberpro::domain::{BookingId, BranchId, DomainError, ServiceId};
use barberpro::http::Clock;
use barberpro::store::{SCHEMA_VERSION, ledger};

use super::{money, tender};
use crate::helpers::{spawn_app_with, test_config, ts};

const FIXTURE_V5: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v5");

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
