//! The agenda: role limits, content, status changes, reschedule, assets.

use super::*;

#[tokio::test]
async fn a_barbero_sees_only_their_own_agenda_and_no_front_desk_or_owner_page() {
    let app = spawn_app().await;
    create_staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let (mine, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let mut other_body = booking(&[1], json!(2), &at(TUESDAY, "11:00"), &phone(2));
    other_body["client"]["name"] = json!("Cliente De Lucía");
    let (theirs, _) = app.book_ok(&other_body).await;
    let mut b = Browser::new(&app);
    b.login_ok("martin@barberpro.test").await;

    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert_eq!(agenda.status, StatusCode::OK);
    assert!(
        agenda.body.contains("<th scope=\"col\">Martín</th>"),
        "own column missing"
    );
    assert!(
        !agenda.body.contains("Lucía"),
        "a barbero sees another barber's column"
    );
    assert!(
        !agenda.body.contains("Cliente De Lucía"),
        "a barbero sees another barber's client"
    );
    assert!(
        agenda
            .body
            .contains(&format!("data-booking=\"{mine}\"", mine = mine.n))
    );

    for path in ["/admin/equipo", "/admin/auditoria", "/admin/bookings/new"] {
        assert_eq!(b.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    at_tuesday_ten(&app, &mut b, "martin@barberpro.test").await;
    let csrf = b.get("/admin/agenda").await.csrf();
    let page = b
        .post(
            &format!("/admin/bookings/{theirs}/status", theirs = theirs.n),
            &[("to", "checked_in"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "changed another barber's booking"
    );
    assert_eq!(
        get_booking(&app, theirs.n).await.status,
        BookingStatus::Confirmed
    );
    let page = b
        .post(
            &format!("/admin/bookings/{mine}/cancel", mine = mine.n),
            &[("reason", "x"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "a barbero cancelled a booking"
    );
    b.post(
        &format!("/admin/bookings/{mine}/status", mine = mine.n),
        &[("to", "checked_in"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(
        get_booking(&app, mine.n).await.status,
        BookingStatus::CheckedIn
    );
}

#[tokio::test]
async fn the_agenda_shows_the_day_with_bookings_breaks_and_escaped_names() {
    let (app, mut b) = owner_app().await;
    let mut body = booking(&[1, 3], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    body["client"]["name"] = json!("<script>alert(1)</script>");
    let (id, _) = app.book_ok(&body).await;
    let page = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    for want in [
        "martes 02/03/2027",
        "<th scope=\"col\">Martín</th>",
        "<th scope=\"col\">Lucía</th>",
        "<th scope=\"row\">10:00</th>",
        "<th scope=\"row\">19:45</th>",
        "10:00–10:50",
        "Corte clásico, Barba",
        "$\u{a0}13.000,00",
        "class=\"booking status-confirmed\" rowspan=\"4\"",
        "class=\"break\"",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "date=2027-03-01",
        "date=2027-03-03",
        "type=\"date\"",
    ] {
        assert!(html.contains(want), "the agenda lacks {want:?}:\n{html}");
    }
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "a client's name is not escaped"
    );
    assert!(html.contains(&format!("data-booking=\"{id}\"", id = id.n)));
    // Monday at palermo: Nicolás works; at 10:05 the "now" line is on the 10:00 row.
    app.clock.set(barberpro_ts("2027-03-01T10:05:00-03:00"));
    b.login_ok("duena@barberpro.test").await;
    let monday = b.get("/admin/agenda?branch=palermo&date=2027-03-01").await;
    assert!(monday.body.contains("Nicolás"), "{}", monday.body);
    assert!(
        monday.body.contains("class=\"now\""),
        "no 'now' line on today's agenda"
    );
}

#[tokio::test]
async fn status_changes_and_cancellations_go_through_the_store_and_the_audit_log() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    at_tuesday_ten(&app, &mut b, "duena@barberpro.test").await;
    let csrf = b.get("/admin/agenda").await.csrf();
    let path = format!("/admin/bookings/{id}/status", id = id.n);
    b.post(&path, &[("to", "checked_in"), ("csrf", &csrf)])
        .await;
    b.post(&path, &[("to", "completed"), ("csrf", &csrf)]).await;
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::Completed
    );
    // An illegal transition is a flash message, not a change.
    let page = b.post(&path, &[("to", "no_show"), ("csrf", &csrf)]).await;
    page.expect_redirect("/admin/agenda");
    let agenda = b.get(&page.location).await;
    assert!(
        agenda.body.contains("flash-error"),
        "no error shown: {}",
        agenda.body
    );
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::Completed
    );

    let (other, _) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "12:00"), &phone(2)))
        .await;
    b.post(
        &format!("/admin/bookings/{other}/cancel", other = other.n),
        &[("reason", "Llamó para avisar"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    let cancelled = get_booking(&app, other.n).await;
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(
        cancelled
            .cancel_reason
            .map(|r| r.as_str().to_owned())
            .as_deref(),
        Some("Llamó para avisar")
    );
    // The freed slot can be booked again, through the API.
    app.book_ok(&booking(&[1], json!(2), &at(TUESDAY, "12:00"), &phone(3)))
        .await;

    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 100))
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for want in [
        "booking.check_in",
        "booking.complete",
        "booking.cancel",
        "session.login",
    ] {
        assert!(
            actions.contains(&want),
            "no audit entry {want}: {actions:?}"
        );
    }
    let cancel = entries
        .iter()
        .find(|e| e.action == "booking.cancel")
        .expect("cancel entry");
    assert_eq!(cancel.actor_email, "duena@barberpro.test");
    assert!(cancel.ip.is_some(), "no IP in the audit log");
    assert_eq!(
        cancel.before.as_ref().expect("before")["status"],
        "confirmed"
    );
    assert_eq!(cancel.after.as_ref().expect("after")["status"], "cancelled");
    assert!(
        cancel
            .after
            .as_ref()
            .expect("after")
            .get("manage_token_hash")
            .is_none()
    );

    let page = b.get("/admin/auditoria?entity=booking").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("booking.cancel") && !page.body.contains("session.login"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn assets_are_served_with_their_content_hash_and_cached_forever() {
    let (app, mut b) = owner_app().await;
    let page = b.get("/admin/agenda").await;
    let marker = "href=\"/assets/admin.css?v=";
    let start = page.body.find(marker).expect("stylesheet link") + "href=\"".len();
    let end = page.body[start..].find('"').expect("quote") + start;
    let url = &page.body[start..end];
    let resp = app.client.get(app.url(url)).send().await.expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("immutable")
    );
    let stale = app
        .client
        .get(app.url("/assets/admin.css?v=old"))
        .send()
        .await
        .expect("request");
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    for path in ["/assets/nope.css", "/assets/%ff"] {
        let missing = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(missing.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_front_desk_reschedules_a_booking_under_the_same_rules() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "12:00"), &phone(2)))
        .await;
    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert!(
        agenda
            .body
            .contains(&format!("/admin/bookings/{id}/mover", id = id.n))
    );
    let csrf = agenda.csrf();
    let path = format!("/admin/bookings/{id}/reschedule", id = id.n);
    // Onto the other booking of the same barber: refused, nothing moves.
    let page = b
        .post(
            &path,
            &[("csrf", &csrf), ("date", TUESDAY), ("time", "12:00")],
        )
        .await;
    page.expect_redirect("/admin/agenda");
    assert!(b.get(&page.location).await.body.contains("flash-error"));
    assert_eq!(
        get_booking(&app, id.n).await.start,
        barberpro_ts(&at(TUESDAY, "10:00"))
    );
    // Onto a free time: moved, and the old time is free again for the API.
    b.post(
        &path,
        &[("csrf", &csrf), ("date", TUESDAY), ("time", "16:30")],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(
        get_booking(&app, id.n).await.start,
        barberpro_ts(&at(TUESDAY, "16:30"))
    );
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(3)))
        .await;
}

#[tokio::test]
async fn notes_are_saved_escaped_audited_and_limited_to_the_barbers_own_bookings() {
    let (app, mut owner) = owner_app().await;
    create_staff(
        &app,
        "lucia@barberpro.test",
        "Lucía",
        Role::Barbero,
        Some(2),
    )
    .await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let agenda_path = format!("/admin/agenda?branch=palermo&date={TUESDAY}");
    let csrf = owner.get(&agenda_path).await.csrf();
    let note = "Prefiere tijera <b>sin</b> máquina";
    owner
        .post(
            &format!("/admin/bookings/{id}/notes", id = id.n),
            &[("notes", note), ("csrf", &csrf)],
        )
        .await
        .expect_redirect("/admin/agenda");
    let saved = get_booking(&app, id.n).await;
    assert_eq!(saved.notes.as_ref().map(|n| n.as_str()), Some(note));
    let agenda = owner.get(&agenda_path).await;
    assert!(
        agenda
            .body
            .contains("Prefiere tijera &#60;b&#62;sin&#60;/b&#62; máquina")
    );
    assert!(
        !agenda.body.contains("<b>sin</b>"),
        "the note is shown as text"
    );

    // Another barber cannot write on Martín's booking.
    let mut lucia = Browser::new(&app);
    lucia.login_ok("lucia@barberpro.test").await;
    let csrf = lucia.get(&agenda_path).await.csrf();
    let page = lucia
        .post(
            &format!("/admin/bookings/{id}/notes", id = id.n),
            &[("notes", "otra cosa"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get_booking(&app, id.n)
            .await
            .notes
            .as_ref()
            .map(|n| n.as_str()),
        Some(note)
    );

    // Clearing it is a change too, and both are in the audit log with before → after.
    let csrf = owner.get(&agenda_path).await.csrf();
    owner
        .post(
            &format!("/admin/bookings/{id}/notes", id = id.n),
            &[("notes", "  "), ("csrf", &csrf)],
        )
        .await
        .expect_redirect("/admin/agenda");
    assert!(get_booking(&app, id.n).await.notes.is_none());
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 100))
        .await
        .unwrap();
    let notes: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "booking.notes")
        .collect();
    assert_eq!(notes.len(), 2, "two note changes audited");
    assert!(
        notes
            .iter()
            .all(|e| e.actor_email == "duena@barberpro.test")
    );
}
