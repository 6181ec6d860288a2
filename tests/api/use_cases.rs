//! Each booking use case through every audience that offers it: the JSON API, the clients'
//! pages and the front desk reach the same outcome (one error code, shown as JSON, as a page
//! or as a flash message), and the desk's bookings and status changes are counted.

use std::net::SocketAddr;

use barberpro::domain::BookingStatus;
use barberpro::domain::staff::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{Browser, at_tuesday_ten, create_staff, get_booking};
use crate::helpers::{TUESDAY, TestApp, at, booking, phone, spawn_app, spawn_app_at};

const OWNER: &str = "duena@barberpro.test";

async fn desk(app: &TestApp) -> (Browser, String) {
    create_staff(app, OWNER, "Dueña", Role::Owner, None).await;
    let mut b = Browser::new(app);
    b.login_ok(OWNER).await;
    let csrf = b.get("/admin/agenda").await.csrf();
    (b, csrf)
}

/// The audit log's entries about booking `id`, newest first.
async fn audit_of(app: &TestApp, id: u64) -> Vec<barberpro::store::audit::AuditEntry> {
    app.store
        .read(move |tx| {
            let filter = barberpro::store::audit::Filter {
                entity: Some("booking".into()),
                entity_id: Some(id),
                ..Default::default()
            };
            barberpro::store::audit::list(tx, &filter, 10)
        })
        .await
        .expect("audit")
}

/// The flash message the desk shows after a redirect.
async fn flash(b: &mut Browser, location: &str) -> String {
    let page = b.get(location).await;
    let at = page
        .body
        .find("class=\"flash")
        .unwrap_or_else(|| panic!("no flash message: {}", page.body));
    let rest = &page.body[at..];
    let end = rest.find("</").unwrap_or(rest.len());
    rest[..end].to_owned()
}

#[tokio::test]
async fn cancelling_twice_is_the_same_refusal_through_the_api_the_pages_and_the_desk() {
    let app = spawn_app().await;
    let (mut b, csrf) = desk(&app).await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);

    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect_error(409, "invalid_transition");
    let page = b
        .post(&format!("/turnos/{id}/cancelar"), &[("token", &token)])
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("está cancelado"), "{}", page.body);
    let desk = b
        .post(
            &format!("/admin/bookings/{id}/cancel", id = id.n),
            &[("reason", "Otra vez"), ("csrf", &csrf)],
        )
        .await;
    desk.expect_redirect("/admin/agenda");
    let said = flash(&mut b, &desk.location).await;
    assert!(
        said.contains("flash-error") && said.contains("ya está «cancelado»"),
        "{said}"
    );
    // One cancellation, one audit entry and one count, whoever tried again.
    let entries = audit_of(&app, id.n).await;
    let cancels = entries
        .iter()
        .filter(|e| e.action == "booking.cancel")
        .count();
    assert_eq!(cancels, 1, "{entries:?}");
}

#[tokio::test]
async fn after_the_cut_off_a_client_cannot_cancel_anywhere_but_the_desk_can() {
    // Tuesday 08:30: the 10:00 booking is inside the 2-hour cut-off.
    let app = spawn_app().await;
    let (first, t1) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let (mut b, _) = desk(&app).await;
    app.clock.set(crate::helpers::ts(&at(TUESDAY, "08:30")));
    b.login_ok(OWNER).await;
    let csrf = b.get("/admin/agenda").await.csrf();

    app.post_auth(&format!("/api/v1/bookings/{first}/cancel"), &t1, None)
        .await
        .expect_error(409, "cancel_cutoff_passed");
    let page = b
        .post(&format!("/turnos/{first}/cancelar"), &[("token", &t1)])
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("Ya es tarde"), "{}", page.body);
    assert_eq!(
        get_booking(&app, first.n).await.status,
        BookingStatus::Confirmed
    );
    // The front desk is not bound by the clients' cut-off.
    b.post(
        &format!("/admin/bookings/{first}/cancel", first = first.n),
        &[("reason", "Avisó por teléfono"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(
        get_booking(&app, first.n).await.status,
        BookingStatus::Cancelled
    );
}

#[tokio::test]
async fn rescheduling_into_a_taken_slot_is_refused_through_the_api_the_pages_and_the_desk() {
    let app = spawn_app().await;
    let (mut b, csrf) = desk(&app).await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(2)))
        .await;

    app.post_auth(
        &format!("/api/v1/bookings/{id}/reschedule"),
        &token,
        Some(&json!({"start": at(TUESDAY, "10:00")})),
    )
    .await
    .expect_error(409, "slot_unavailable");
    let page = b
        .post(
            &format!("/turnos/{id}/reprogramar"),
            &[
                ("token", &token),
                ("start", &at(TUESDAY, "10:00")),
                ("barber", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("ya no está disponible"), "{}", page.body);
    let moved = b
        .post(
            &format!("/admin/bookings/{id}/reschedule", id = id.n),
            &[
                ("date", TUESDAY),
                ("time", "10:00"),
                ("barber", "same"),
                ("csrf", &csrf),
            ],
        )
        .await;
    moved.expect_redirect("/admin/agenda");
    let said = flash(&mut b, &moved.location).await;
    assert!(
        said.contains("flash-error") && said.contains("ya no está disponible"),
        "{said}"
    );
    let kept = get_booking(&app, id.n).await;
    assert_eq!(kept.start, crate::helpers::ts(&at(TUESDAY, "11:00")));
}

/// The value of a labelled sample in a scrape (0 when absent).
fn sample(scrape: &str, name: &str, labels: &str) -> f64 {
    let prefix = format!("{name}{{{labels}}} ");
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(metrics: Option<SocketAddr>) -> String {
    let addr = metrics.expect("the metrics listener is on in tests");
    crate::helpers::plain_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body")
}

#[tokio::test]
async fn the_desks_walk_ins_phone_bookings_and_status_changes_are_counted_on_a_real_scrape() {
    // Tuesday 09:50 at palermo: a walk-in at 10:00, a phone booking for later.
    let app = spawn_app_at("2027-03-02T09:50:00-03:00").await;
    let (mut b, csrf) = desk(&app).await;
    let created = "barberpro_bookings_created_total";
    let moved = "barberpro_booking_transitions_total";
    let before = scrape(app.metrics).await;
    for (source, hhmm, n) in [("walk_in", "10:00", 1), ("phone", "12:00", 2)] {
        let answer = b
            .post(
                "/admin/bookings",
                &[
                    ("branch", "palermo"),
                    ("date", TUESDAY),
                    ("phone", &phone(n)),
                    ("name", "Cliente del Local"),
                    ("services", "1"),
                    ("barber", "1"),
                    ("source", source),
                    ("start", &at(TUESDAY, hhmm)),
                    ("csrf", &csrf),
                ],
            )
            .await;
        answer.expect_redirect("/admin/agenda");
    }
    let after = scrape(app.metrics).await;
    for source in ["walk_in", "phone"] {
        let labels = format!("branch=\"palermo\",source=\"{source}\"");
        assert_eq!(
            sample(&after, created, &labels) - sample(&before, created, &labels),
            1.0,
            "{source} bookings not counted:\n{after}"
        );
    }
    // The walk-in is in the shop already; completing it once it started is a counted
    // transition.
    app.clock.set(crate::helpers::ts(&at(TUESDAY, "10:30")));
    let count = app
        .store
        .read(barberpro::store::bookings::count)
        .await
        .expect("count");
    let mut walk_in_id = 0;
    for n in 1..=count {
        if get_booking(&app, n).await.source == barberpro::domain::BookingSource::WalkIn {
            walk_in_id = n;
        }
    }
    assert_eq!(
        get_booking(&app, walk_in_id).await.status,
        BookingStatus::CheckedIn,
        "a walk-in starts in the shop"
    );
    b.post(
        &format!("/admin/bookings/{walk_in_id}/status"),
        &[("to", "completed"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    let last = scrape(app.metrics).await;
    let labels = "branch=\"palermo\",status=\"completed\"";
    assert_eq!(
        sample(&last, moved, labels) - sample(&after, moved, labels),
        1.0,
        "the desk's completion is not counted:\n{last}"
    );
}

#[tokio::test]
async fn the_desk_marks_arrival_and_no_shows_only_on_time_confirms_a_no_show_and_can_undo_it() {
    let app = spawn_app().await;
    let (mut b, csrf) = desk(&app).await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let status = format!("/admin/bookings/{id}/status", id = id.n);

    // Monday: a day too early for any of them, and the agenda does not offer them.
    for to in ["checked_in", "completed", "no_show"] {
        let page = b
            .post(&status, &[("to", to), ("confirm", "1"), ("csrf", &csrf)])
            .await;
        page.expect_redirect("/admin/agenda");
        let said = flash(&mut b, &page.location).await;
        assert!(said.contains("flash-error"), "{to}: {said}");
    }
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::Confirmed
    );
    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert!(
        !agenda.body.contains("data-action=\"no_show\""),
        "a no-show offered a day ahead"
    );

    // At the start: a no-show must be confirmed.
    at_tuesday_ten(&app, &mut b, OWNER).await;
    let csrf = b.get("/admin/agenda").await.csrf();
    let unconfirmed = b.post(&status, &[("to", "no_show"), ("csrf", &csrf)]).await;
    let said = flash(&mut b, &unconfirmed.location).await;
    assert!(said.contains("Confirmá"), "{said}");
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::Confirmed
    );
    b.post(
        &status,
        &[("to", "no_show"), ("confirm", "1"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(get_booking(&app, id.n).await.status, BookingStatus::NoShow);

    // Undone within the window: the booking holds its slot again, audited.
    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert!(
        agenda.body.contains("data-action=\"undo\""),
        "no undo offered"
    );
    let undo = format!("/admin/bookings/{id}/undo", id = id.n);
    b.post(&undo, &[("csrf", &csrf)])
        .await
        .expect_redirect("/admin/agenda");
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::Confirmed
    );
    let actions: Vec<String> = audit_of(&app, id.n)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"booking.undo".to_owned()), "{actions:?}");
    // Nothing left to undo.
    let again = b.post(&undo, &[("csrf", &csrf)]).await;
    let said = flash(&mut b, &again.location).await;
    assert!(said.contains("No hay un cambio"), "{said}");

    // A no-show whose slot was taken meanwhile cannot be undone; past the window, none can.
    b.post(
        &status,
        &[("to", "no_show"), ("confirm", "1"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    // The freed slot goes to a walk-in.
    b.post(
        "/admin/bookings",
        &[
            ("branch", "palermo"),
            ("date", TUESDAY),
            ("phone", &phone(2)),
            ("name", "Otro Cliente"),
            ("services", "1"),
            ("barber", "1"),
            ("source", "walk_in"),
            ("start", &at(TUESDAY, "10:15")),
            ("csrf", &csrf),
        ],
    )
    .await
    .expect_redirect("/admin/agenda");
    let other = id.n + 1;
    let taken = b.post(&undo, &[("csrf", &csrf)]).await;
    let said = flash(&mut b, &taken.location).await;
    assert!(said.contains("ya no está disponible"), "{said}");
    assert_eq!(get_booking(&app, id.n).await.status, BookingStatus::NoShow);
    assert_eq!(
        get_booking(&app, other).await.status,
        BookingStatus::CheckedIn
    );
    // Past the window, nothing can be undone.
    app.clock.set(crate::helpers::ts(&at(TUESDAY, "10:20")));
    let late = b.post(&undo, &[("csrf", &csrf)]).await;
    let said = flash(&mut b, &late.location).await;
    assert!(said.contains("No hay un cambio"), "{said}");
}
