//! New bookings from the front desk: walk-ins, and the same invariant as the API.

use super::*;

#[tokio::test]
async fn a_walk_in_is_booked_through_the_form_for_a_new_client() {
    let (app, mut b) = owner_app().await;
    let phone_typed = "011 15-3333-4444";
    // The search is a POST: the phone is personal data, kept out of URLs (logs, history).
    let empty = b.get("/admin/bookings/new").await;
    assert!(
        empty
            .body
            .contains("<form method=\"post\" action=\"/admin/bookings/new\""),
        "the search form does not post: {}",
        empty.body
    );
    let form = b
        .post(
            "/admin/bookings/new",
            &[
                ("csrf", &empty.csrf()),
                ("branch", "palermo"),
                ("date", TUESDAY),
                ("phone", phone_typed),
                ("services", "1"),
                ("services", "3"),
                ("barber", "any"),
            ],
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.location.is_empty(), "redirected to {}", form.location);
    assert!(form.body.contains("Horarios libres"), "{}", form.body);
    assert!(
        form.body
            .contains(&format!("value=\"{TUESDAY}T10:00:00-03:00\"")),
        "10:00 not offered"
    );
    assert!(
        !form.body.contains("Cliente existente"),
        "a new phone matched a client"
    );
    let csrf = form.csrf();
    let start = format!("{TUESDAY}T10:00:00-03:00");
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("date", TUESDAY),
                ("barber", "any"),
                ("services", "1"),
                ("services", "3"),
                ("start", &start),
                ("phone", phone_typed),
                ("name", "Carlos Gómez"),
                ("source", "walk_in"),
                ("notes", "Primera vez"),
            ],
        )
        .await;
    page.expect_redirect(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"));
    let agenda = b.get(&page.location).await;
    assert!(
        agenda.body.contains("Turno creado: 02/03/2027 10:00"),
        "{}",
        agenda.body
    );
    assert!(agenda.body.contains("Carlos Gómez"));
    let booking = get_booking(&app, 1).await;
    assert_eq!(booking.source, BookingSource::WalkIn);
    assert_eq!(booking.services.len(), 2);

    // The same phone now finds the client.
    let again = b
        .post(
            "/admin/bookings/new",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("phone", phone_typed),
            ],
        )
        .await;
    assert!(
        again
            .body
            .contains("Cliente existente: <strong>Carlos Gómez</strong>"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn a_slot_taken_through_the_api_is_refused_in_the_admin_and_vice_versa() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/bookings/new").await.csrf();
    // API first: Martín at 10:00.
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let start = format!("{TUESDAY}T10:00:00-03:00");
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("barber", "1"),
                ("services", "1"),
                ("start", &start),
                ("phone", &phone(2)),
                ("name", "Otro Cliente"),
                ("source", "phone"),
            ],
        )
        .await;
    // Refused: the form again, as typed, with the reason; nothing in the URL.
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body.contains("flash-error"),
        "no error shown: {}",
        page.body
    );
    let count = app.store.read(bookings::count).await.expect("count");
    assert_eq!(count, 1, "the admin double-booked Martín");

    // Admin first: Martín at 11:00; then the API is refused.
    let start = format!("{TUESDAY}T11:00:00-03:00");
    b.post(
        "/admin/bookings",
        &[
            ("csrf", &csrf),
            ("branch", "palermo"),
            ("barber", "1"),
            ("services", "1"),
            ("start", &start),
            ("phone", &phone(2)),
            ("name", "Otro Cliente"),
            ("source", "phone"),
        ],
    )
    .await
    .expect_redirect("/admin/agenda");
    app.book(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(3)))
        .await
        .expect_error(409, "slot_unavailable");
}

#[tokio::test]
async fn the_front_desk_books_a_walk_in_for_the_next_slot_which_the_api_offers_no_one() {
    let (app, mut b) = owner_app().await;
    // Monday 10:05 at palermo: Nicolás works from 10:00.
    app.clock.set(barberpro_ts("2027-03-01T10:05:00-03:00"));
    b.login_ok("duena@barberpro.test").await;
    let start = "2027-03-01T10:15:00-03:00";
    app.book(&booking(&[1], json!(5), start, &phone(1)))
        .await
        .expect_error(422, "too_soon");
    let form = b
        .get("/admin/bookings/new?branch=palermo&date=2027-03-01&services=1&barber=5")
        .await;
    assert!(
        form.body.contains(&format!("value=\"{start}\"")),
        "10:15 not offered: {}",
        form.body
    );
    let csrf = form.csrf();
    b.post(
        "/admin/bookings",
        &[
            ("csrf", &csrf),
            ("branch", "palermo"),
            ("barber", "5"),
            ("services", "1"),
            ("start", start),
            ("phone", &phone(2)),
            ("name", "Ya Llegó"),
            ("source", "walk_in"),
        ],
    )
    .await
    .expect_redirect("/admin/agenda?branch=palermo&date=2027-03-01");
    let past = "2027-03-01T10:00:00-03:00";
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("barber", "5"),
                ("services", "1"),
                ("start", past),
                ("phone", &phone(3)),
                ("name", "Tarde"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("flash-error"), "{}", page.body);
}
