//! The owner's reports on bookings over HTTP: occupancy, no-show and cancellation rates, new
//! and returning clients, each with its filters, SVG chart and CSV; owner only.

use barberpro::domain::staff::Role;
use barberpro::domain::{BookingId, BookingStatus};
use barberpro::store::{bookings, clients};
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{Browser, owner_app};
use crate::helpers::{TUESDAY, TestApp, at, booking, phone, ts};

async fn set(app: &TestApp, id: u64, status: BookingStatus, now: &str) {
    let now = ts(now);
    let rules = app.state.rules;
    app.store
        .write(move |txn| {
            if status == BookingStatus::Cancelled {
                bookings::cancel(
                    txn,
                    BookingId(id),
                    None,
                    bookings::Actor::Staff,
                    now,
                    &rules,
                )
            } else {
                bookings::set_status(txn, BookingId(id), status, None, now)
            }
        })
        .await
        .expect("status changed");
}

/// Tuesday at Palermo with Martín: 10:00 completed, 11:00 no-show, 12:00 cancelled, 14:00
/// still to come (a client first booked on Monday at Belgrano); the clock at 13:00. Returns
/// the Tuesday bookings' ids.
async fn tuesday(app: &TestApp) -> Vec<u64> {
    let (returning, _) = app
        .book_ok(&json!({
            "branch": "belgrano",
            "services": [1],
            "barber": 3,
            "start": at("2027-03-01", "15:00"),
            "client": {"name": "Ana Gómez", "phone": phone(4), "whatsapp_consent": false}
        }))
        .await;
    assert!(returning.n > 0);
    let mut ids = Vec::new();
    for (hhmm, n) in [("10:00", 1), ("11:00", 2), ("12:00", 3), ("14:00", 4)] {
        let (id, _) = app
            .book_ok(&booking(&[1], json!(1), &at(TUESDAY, hhmm), &phone(n)))
            .await;
        ids.push(id.n);
    }
    let noon = at(TUESDAY, "13:00");
    app.clock.set(ts(&noon));
    set(app, ids[0], BookingStatus::CheckedIn, &noon).await;
    set(app, ids[0], BookingStatus::Completed, &noon).await;
    set(app, ids[1], BookingStatus::NoShow, &noon).await;
    set(app, ids[2], BookingStatus::Cancelled, &noon).await;
    ids
}

fn fact(body: &str, id: &str) -> String {
    let key = format!("id=\"report-{id}\">");
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no {id} in {body}"))
        + key.len();
    body[at..].split('<').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_owner_sees_occupancy_rates_and_new_clients_with_charts_and_csv() {
    let (app, mut b) = owner_app().await;
    tuesday(&app).await;
    b.login_ok("duena@barberpro.test").await;
    let q = "desde=2027-03-02&hasta=2027-03-02&branch=palermo";

    // Martín 10–20 less lunch: 540 min available, 2 × 35 min booked (the cancelled and the
    // no-show do not hold him); Lucía the same hours, nothing booked.
    let page = b.get(&format!("/admin/reportes/ocupacion?{q}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"), "no chart: {}", page.body);
    assert_eq!(fact(&page.body, "occupancy"), "6,5 %", "70 of 1080 minutes");
    assert_eq!(fact(&page.body, "available"), "18,0 h");
    let csv = b
        .get(&format!("/admin/reportes/ocupacion/barbero.csv?{q}"))
        .await;
    assert!(csv.body.starts_with('\u{feff}'), "no BOM");
    assert!(csv.body.contains("Martín,540,70,13.0"), "{}", csv.body);
    assert!(csv.body.contains("Lucía,540,0,0.0"), "{}", csv.body);
    let one = b
        .get(&format!("/admin/reportes/ocupacion?{q}&barber=1"))
        .await;
    assert_eq!(fact(&one.body, "occupancy"), "13,0 %", "the barber filter");

    let page = b.get(&format!("/admin/reportes/asistencia?{q}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(fact(&page.body, "bookings"), "4");
    assert_eq!(fact(&page.body, "cancellation-rate"), "25,0 %", "1 of 4");
    assert_eq!(
        fact(&page.body, "no-show-rate"),
        "50,0 %",
        "1 of the 2 due: the cancelled and the one still to come are not"
    );
    for table in ["dia", "sucursal", "barbero"] {
        let csv = b
            .get(&format!("/admin/reportes/asistencia/{table}.csv?{q}"))
            .await;
        assert_eq!(csv.status, StatusCode::OK, "{table}");
        assert!(
            csv.body.contains(",4,1,25.0,2,1,50.0"),
            "{table}: {}",
            csv.body
        );
    }

    let page = b.get(&format!("/admin/reportes/clientes?{q}")).await;
    assert_eq!(fact(&page.body, "new"), "1", "the 10:00 client");
    assert_eq!(
        fact(&page.body, "returning"),
        "1",
        "the 14:00 client booked on Monday, at another branch"
    );
    let csv = b
        .get(&format!("/admin/reportes/clientes/dia.csv?{q}"))
        .await;
    assert!(csv.body.contains("2027-03-02,1,1"), "{}", csv.body);
    assert_eq!(
        b.get(&format!("/admin/reportes/clientes/nada.csv?{q}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Monday alone: the Belgrano booking makes its client new then.
    let monday = b
        .get("/admin/reportes/clientes?desde=2027-03-01&hasta=2027-03-01")
        .await;
    assert_eq!(fact(&monday.body, "new"), "1");
    assert_eq!(fact(&monday.body, "returning"), "0");

    let bad = b
        .get("/admin/reportes/asistencia?desde=2027-03-09&hasta=2027-03-01")
        .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a period ending before it starts"
    );
    let bad = b.get("/admin/reportes/ocupacion?desde=ayer").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "not a date");
}

#[tokio::test]
async fn a_merged_client_counts_once_in_the_clients_and_attendance_reports() {
    let (app, mut b) = owner_app().await;
    let ids = tuesday(&app).await;
    b.login_ok("duena@barberpro.test").await;
    let q = "desde=2027-03-02&hasta=2027-03-02&branch=palermo";
    let page = b.get(&format!("/admin/reportes/clientes?{q}")).await;
    assert_eq!(
        (fact(&page.body, "new"), fact(&page.body, "returning")),
        ("1".to_owned(), "1".to_owned())
    );

    // The 10:00 client (new) turns out to be the 14:00 one (booked on Monday already).
    let (gone, keep) = app
        .store
        .read(move |tx| {
            let client = |id| bookings::get(tx, BookingId(id)).map(|b| b.expect("booking").client);
            Ok((client(ids[0])?, client(ids[3])?))
        })
        .await
        .expect("clients");
    let now = ts(&at(TUESDAY, "13:00"));
    app.store
        .write(move |txn| clients::merge(txn, keep, gone, now))
        .await
        .expect("merge")
        .expect("no overlap");

    // Read from the barber index alone: its entries name the kept client now.
    let page = b.get(&format!("/admin/reportes/clientes?{q}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(fact(&page.body, "new"), "0", "the merged client is not new");
    assert_eq!(
        fact(&page.body, "returning"),
        "1",
        "one person, counted once"
    );
    let page = b.get(&format!("/admin/reportes/asistencia?{q}")).await;
    assert_eq!(
        fact(&page.body, "bookings"),
        "4",
        "the bookings themselves stay"
    );
    let page = b.get(&format!("/admin/reportes/ocupacion?{q}")).await;
    assert_eq!(fact(&page.body, "occupancy"), "6,5 %");
}

#[tokio::test]
async fn only_the_owner_sees_the_booking_reports() {
    let (app, _) = owner_app().await;
    let staff = [
        (
            "recepcion@barberpro.test",
            "Recepción",
            Role::Recepcion,
            None,
        ),
        ("martin@barberpro.test", "Martín", Role::Barbero, Some(1)),
    ];
    for (email, name, role, barber) in staff {
        let mut b = Browser::staff(&app, email, name, role, barber).await;
        for path in [
            "/admin/reportes/ocupacion",
            "/admin/reportes/asistencia",
            "/admin/reportes/clientes",
            "/admin/reportes/ocupacion/barbero.csv",
            "/admin/reportes/clientes/dia.csv",
        ] {
            assert_eq!(
                b.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{email} {path}"
            );
        }
    }
}
