//! Every booking rule, through the API.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn hours_breaks_grid_and_time_rules() {
    let app = spawn_app().await;
    let try_at = |hhmm: &str, n: u32| booking(&[1], json!(1), &at(TUESDAY, hhmm), &phone(n));
    app.book(&try_at("09:00", 1))
        .await
        .expect_error(422, "outside_working_hours");
    app.book(&try_at("19:45", 1))
        .await
        .expect_error(422, "outside_working_hours");
    app.book(&try_at("12:45", 1))
        .await
        .expect_error(422, "outside_working_hours");
    app.book(&try_at("13:15", 1))
        .await
        .expect_error(422, "outside_working_hours");
    app.book(&try_at("10:05", 1))
        .await
        .expect_error(422, "slot_misaligned");
    app.book(&booking(
        &[1],
        json!(1),
        "2027-02-23T10:00:00-03:00",
        &phone(1),
    ))
    .await
    .expect_error(422, "in_the_past");
    app.book(&booking(
        &[1],
        json!(1),
        "2027-05-04T10:00:00-03:00",
        &phone(1),
    ))
    .await
    .expect_error(422, "beyond_horizon");
    // Martín does not work Mondays.
    app.book(&booking(
        &[1],
        json!(1),
        "2027-03-08T10:00:00-03:00",
        &phone(1),
    ))
    .await
    .expect_error(422, "outside_working_hours");
    // UTC input is the same instant: 13:00Z is 10:00 in Buenos Aires.
    let b = app
        .book(&booking(&[1], json!(1), "2027-03-02T13:00:00Z", &phone(1)))
        .await
        .expect(201);
    assert_eq!(b["start"], at(TUESDAY, "10:00"));
}

#[tokio::test]
async fn minimum_notice() {
    // Monday 09:30: Nicolás starts at 10:00, less than an hour away.
    let app = spawn_app_at("2027-03-01T09:30:00-03:00").await;
    app.book(&booking(
        &[1],
        json!(5),
        &at("2027-03-01", "10:00"),
        &phone(1),
    ))
    .await
    .expect_error(422, "too_soon");
    app.book(&booking(
        &[1],
        json!(5),
        &at("2027-03-01", "10:30"),
        &phone(1),
    ))
    .await
    .expect(201);
}

#[tokio::test]
async fn taken_slots_and_buffers() {
    let app = spawn_app().await;
    // Corte clásico: 30 min + 5 min buffer → Martín is busy 10:00–10:35.
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.book(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(2)))
        .await
        .expect_error(409, "slot_unavailable");
    app.book(&booking(&[1], json!(1), &at(TUESDAY, "10:30"), &phone(2)))
        .await
        .expect_error(409, "slot_unavailable");
    app.book(&booking(&[1], json!(1), &at(TUESDAY, "09:45"), &phone(2)))
        .await
        .expect_error(422, "outside_working_hours");
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:45"), &phone(2)))
        .await;
    // A booking ending right where the next starts needs its own buffer too.
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "11:30"), &phone(3)))
        .await;
    app.book(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(4)))
        .await
        .expect_error(409, "slot_unavailable");
}

#[tokio::test]
async fn a_client_cannot_hold_two_overlapping_bookings() {
    let app = spawn_app().await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    // Same person (the phone written differently), another barber, overlapping time.
    app.book(&booking(
        &[1],
        json!(2),
        &at(TUESDAY, "10:15"),
        "+54 9 11 2345-6701",
    ))
    .await
    .expect_error(409, "client_overlap");
    // Right after is fine (the barber's buffer is not the client's).
    app.book_ok(&booking(&[1], json!(2), &at(TUESDAY, "10:30"), &phone(1)))
        .await;
}

#[tokio::test]
async fn barbers_must_work_there_and_do_the_services() {
    let app = spawn_app().await;
    // Martín (1) does not do Colour (5).
    app.book(&booking(&[5], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await
        .expect_error(422, "service_not_offered");
    // Diego (3) works at belgrano only.
    app.book(&booking(&[1], json!(3), &at(TUESDAY, "10:00"), &phone(1)))
        .await
        .expect_error(422, "unknown_barber");
    app.book(&booking(&[1], json!(99), &at(TUESDAY, "10:00"), &phone(1)))
        .await
        .expect_error(422, "unknown_barber");
    app.book(&booking(&[99], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await
        .expect_error(422, "unknown_service");
    let mut b = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    b["branch"] = json!("nowhere");
    app.book(&b).await.expect_error(404, "unknown_branch");
}

#[tokio::test]
async fn any_barber_spreads_the_work() {
    let app = spawn_app().await;
    let b1 = app
        .book(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, "10:00"),
            &phone(1),
        ))
        .await
        .expect(201);
    let b2 = app
        .book(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, "15:00"),
            &phone(2),
        ))
        .await
        .expect(201);
    let b3 = app
        .book(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, "10:00"),
            &phone(3),
        ))
        .await
        .expect(201);
    assert_ne!(
        b1["barber_id"], b2["barber_id"],
        "the second booking goes to the idle barber"
    );
    assert_ne!(b1["barber_id"], b3["barber_id"]);
    // Both palermo Tuesday barbers are now busy at 10:00.
    app.book(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(4),
    ))
    .await
    .expect_error(409, "slot_unavailable");
}

#[tokio::test]
async fn clients_change_bookings_only_before_the_cutoff() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    // 2 h cut-off: at 08:01 on Tuesday it is too late to cancel a 10:00 booking.
    app.clock.set(ts("2027-03-02T08:01:00-03:00"));
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect_error(409, "cancel_cutoff_passed");
    app.post_auth(
        &format!("/api/v1/bookings/{id}/reschedule"),
        &token,
        Some(&json!({"start": at(TUESDAY, "16:00")})),
    )
    .await
    .expect_error(409, "cancel_cutoff_passed");
    // At 08:00 exactly it is still allowed.
    app.clock.set(ts("2027-03-02T08:00:00-03:00"));
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);
}

#[tokio::test]
async fn reschedule_follows_the_same_rules() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(2)))
        .await;
    let path = format!("/api/v1/bookings/{id}/reschedule");
    let move_to =
        |start: &str, barber: serde_json::Value| json!({"start": start, "barber": barber});
    app.post_auth(
        &path,
        &token,
        Some(&move_to(&at(TUESDAY, "11:00"), json!(1))),
    )
    .await
    .expect_error(409, "slot_unavailable");
    app.post_auth(
        &path,
        &token,
        Some(&move_to(&at(TUESDAY, "13:00"), json!(1))),
    )
    .await
    .expect_error(422, "outside_working_hours");
    app.post_auth(
        &path,
        &token,
        Some(&move_to(&at(TUESDAY, "10:10"), json!(1))),
    )
    .await
    .expect_error(422, "slot_misaligned");
    // Moving by 15 minutes overlaps only itself: allowed.
    app.post_auth(
        &path,
        &token,
        Some(&move_to(&at(TUESDAY, "10:15"), json!(1))),
    )
    .await
    .expect(200);
    // To another barber, or to whoever is free.
    let b = app
        .post_auth(
            &path,
            &token,
            Some(&move_to(&at(TUESDAY, "11:00"), json!("any"))),
        )
        .await
        .expect(200);
    assert_eq!(b["barber_id"], 2, "Martín is busy at 11:00, Lucía is not");
}
