//! The agenda one works in, over HTTP: free cells that book, moves among offered slots (and
//! the refusal that names who holds a slot), day totals, the live version, the week view,
//! local phone formats; roles and CSRF on each.

use super::*;

fn day_path() -> String {
    format!("/admin/agenda?branch=palermo&date={TUESDAY}")
}

#[tokio::test]
async fn a_free_cell_opens_nuevo_turno_with_its_barber_and_time_and_that_slot_is_chosen() {
    let (app, mut b) = owner_app().await;
    let agenda = b.get(&day_path()).await;
    let link = format!(
        "/admin/bookings/new?branch=palermo&amp;date={TUESDAY}&amp;barber=1&amp;hora=11:00"
    );
    assert!(
        agenda.body.contains(&link),
        "no link to book Martín at 11:00 from his free cell"
    );
    // Lunch (13:00) is not a free cell.
    assert!(!agenda.body.contains("barber=1&amp;hora=13:00"));

    let form = b.get(&link.replace("&amp;", "&")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains("id=\"chosen-time\">Horario elegido en la agenda: 11:00 con Martín"),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains("<option value=\"1\" selected>Martín</option>")
    );
    // With a service chosen, the slots list checks 11:00, not the first one.
    let slots = b
        .get(&format!("{}&services=1", link.replace("&amp;", "&")))
        .await;
    let checked = format!("value=\"{TUESDAY}T11:00:00-03:00\" required checked");
    assert!(
        slots.body.contains(&checked),
        "11:00 is not the chosen slot"
    );
    assert_eq!(
        slots.body.matches("required checked").count(),
        1,
        "one slot is chosen"
    );

    // A time taken meanwhile says so instead of silently offering another.
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(1)))
        .await;
    let taken = b
        .get(&format!("{}&services=1", link.replace("&amp;", "&")))
        .await;
    assert!(
        taken
            .body
            .contains("Las 11:00 no están libres para esos servicios"),
        "{}",
        taken.body
    );
}

#[tokio::test]
async fn a_barbero_gets_no_booking_links_and_no_move_page() {
    let app = spawn_app().await;
    create_staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let mut b = Browser::new(&app);
    b.login_ok("martin@barberpro.test").await;
    let agenda = b.get(&day_path()).await;
    assert!(!agenda.body.contains("class=\"book-here\""));
    assert!(!agenda.body.contains("/mover"));
    assert!(
        !agenda.body.contains("href=\"/admin/clientes/"),
        "a barbero cannot open a client's page"
    );
    let status = b
        .get(&format!("/admin/bookings/{id}/mover", id = id.n))
        .await
        .status;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // His own week, not Lucía's.
    let week = b.get("/admin/agenda/semana?branch=palermo&barber=1").await;
    assert_eq!(week.status, StatusCode::OK);
    let other = b.get("/admin/agenda/semana?branch=palermo&barber=2").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_move_page_offers_the_free_slots_and_moves_to_the_one_chosen() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let mut other = booking(&[1], json!(1), &at(TUESDAY, "12:00"), &phone(2));
    other["client"]["name"] = json!("Carla Ríos");
    let (other_id, _) = app.book_ok(&other).await;

    let agenda = b.get(&day_path()).await;
    assert!(
        agenda
            .body
            .contains(&format!("/admin/bookings/{id}/mover", id = id.n))
    );
    let page = b
        .get(&format!("/admin/bookings/{id}/mover", id = id.n))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Its own time is free for it; the other booking's is not; neither is lunch.
    for (slot, offered) in [
        ("10:00/1", true),
        ("16:30/1", true),
        ("12:00/1", false),
        ("13:00/1", false),
    ] {
        assert_eq!(
            page.body.contains(&format!("value=\"{slot}\"")),
            offered,
            "{slot} offered: {offered}"
        );
    }
    assert!(page.body.contains("Se le avisa a Juan Pérez por WhatsApp"));
    // Another barber, or any.
    let lucia = b
        .get(&format!(
            "/admin/bookings/{id}/mover?date={TUESDAY}&barber=2",
            id = id.n
        ))
        .await;
    assert!(lucia.body.contains("value=\"12:00/2\""));

    let csrf = page.csrf();
    let path = format!("/admin/bookings/{id}/reschedule", id = id.n);
    // Without the CSRF token: refused, nothing moves.
    let forged = b
        .post(
            &path,
            &[("date", TUESDAY), ("slot", "16:30/1"), ("from", "mover")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let moved = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("date", TUESDAY),
                ("slot", "16:30/1"),
                ("from", "mover"),
            ],
        )
        .await;
    moved.expect_redirect("/admin/agenda");
    let after = get_booking(&app, id.n).await;
    assert_eq!(after.start, barberpro_ts(&at(TUESDAY, "16:30")));
    let shown = b.get(&moved.location).await;
    assert!(
        shown
            .body
            .contains("Le avisamos a Juan Pérez por WhatsApp."),
        "the desk is told the client hears of it: {}",
        shown.body
    );
    // To another barber's offered slot.
    b.post(
        &path,
        &[
            ("csrf", &csrf),
            ("date", TUESDAY),
            ("slot", "12:00/2"),
            ("from", "mover"),
        ],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(get_booking(&app, id.n).await.barber, BarberId(2));

    // A slot taken meanwhile: the page again (409) naming who holds it, with links.
    let refused = b
        .post(
            &format!(
                "/admin/bookings/{other_id}/reschedule",
                other_id = other_id.n
            ),
            &[
                ("csrf", &csrf),
                ("date", TUESDAY),
                ("slot", "12:00/2"),
                ("from", "mover"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"in-the-way\""),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(">Juan Pérez</a> · 12:00–12:30 con Lucía")
    );
    assert!(
        refused
            .body
            .contains(&format!("href=\"/admin/bookings/{id}/mover\"", id = id.n))
    );
    assert!(
        refused
            .body
            .contains(&format!("#booking-{id}\"", id = id.n))
    );
    assert_eq!(
        get_booking(&app, other_id.n).await.start,
        barberpro_ts(&at(TUESDAY, "12:00"))
    );
}

#[tokio::test]
async fn the_day_shows_its_totals_local_phones_and_links_to_clients() {
    let (app, mut b) = owner_app().await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let (gone, token) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "12:00"), &phone(2)))
        .await;
    app.book_ok(&booking(&[2], json!(2), &at(TUESDAY, "15:00"), &phone(3)))
        .await;
    app.post_auth(&format!("/api/v1/bookings/{gone}/cancel"), &token, None)
        .await
        .expect(200);
    let page = b.get(&day_path()).await;
    let text = &page.body;
    assert!(
        text.contains("id=\"total-bookings\">2<"),
        "cancelled ones do not count"
    );
    // 30 + 45 booked minutes of 2 × 9 open hours.
    assert!(
        text.contains("id=\"total-occupancy\">7 % <span class=\"muted\">(1 h 15 min de 18 h)"),
        "{text}"
    );
    assert!(text.contains("id=\"total-revenue\">$\u{a0}18.500,00<"));
    // Local format for reading, E.164 only in the links.
    assert!(text.contains("href=\"tel:+5491123456701\">011 15-2345-6701</a>"));
    assert!(text.contains("href=\"https://wa.me/5491123456701\""));
    assert!(!text.contains(">+549"), "an E.164 number is shown as text");
    assert!(text.contains("<a href=\"/admin/clientes/1\" class=\"client-link\">Juan Pérez</a>"));
}

#[tokio::test]
async fn the_version_changes_when_a_booking_arrives_and_the_partial_is_the_grid_alone() {
    let (app, mut b) = owner_app().await;
    let path = format!("/admin/agenda/version?branch=palermo&date={TUESDAY}");
    let version = |p: &Page| -> String {
        let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON");
        v["version"].as_str().expect("a version").to_owned()
    };
    let before = b.get(&path).await;
    assert_eq!(before.status, StatusCode::OK);
    let same = b.get(&path).await;
    assert_eq!(version(&before), version(&same), "nothing changed");
    let page = b.get(&day_path()).await;
    assert!(
        page.body
            .contains(&format!("data-version=\"{}\"", version(&before)))
    );

    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let after = b.get(&path).await;
    assert_ne!(
        version(&before),
        version(&after),
        "a new booking changes the day"
    );
    // Another day is not this one.
    let wednesday = b
        .get("/admin/agenda/version?branch=palermo&date=2027-03-03")
        .await;
    assert_ne!(version(&wednesday), version(&after));

    let partial = b.get(&format!("{}&parcial=1", day_path())).await;
    assert_eq!(partial.status, StatusCode::OK);
    assert!(
        partial
            .body
            .trim_start()
            .starts_with("<div id=\"agenda-day\"")
    );
    assert!(!partial.body.contains("<html"), "the partial is not a page");
    assert!(
        partial
            .body
            .contains(&format!("data-version=\"{}\"", version(&after)))
    );
    assert!(partial.body.contains("Juan Pérez"));

    // Logged out: no version.
    let mut stranger = Browser::new(&app);
    stranger.get(&path).await.expect_redirect("/admin/login");
    let unknown = b.get("/admin/agenda/version?branch=nada").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_barbers_week_shows_each_day_and_books_from_its_free_cells() {
    let (app, mut b) = owner_app().await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.book_ok(&booking(
        &[1],
        json!(1),
        &at("2027-03-04", "15:00"),
        &phone(2),
    ))
    .await;
    let agenda = b.get(&day_path()).await;
    assert!(agenda.body.contains(&format!(
        "href=\"/admin/agenda/semana?branch=palermo&amp;barber=1&amp;date={TUESDAY}\""
    )));
    let week = b
        .get(&format!(
            "/admin/agenda/semana?branch=palermo&barber=1&date={TUESDAY}"
        ))
        .await;
    assert_eq!(week.status, StatusCode::OK, "{}", week.body);
    assert!(week.body.contains("Semana de Martín · BarberPro Palermo"));
    assert!(week.body.contains("lunes 01/03"));
    assert!(week.body.contains("domingo 07/03"));
    assert!(
        week.body
            .contains("<strong>10:00–10:30</strong> Juan Pérez")
    );
    assert!(
        week.body
            .contains("<strong>15:00–15:30</strong> Juan Pérez")
    );
    assert!(week.body.contains(
        "/admin/bookings/new?branch=palermo&amp;date=2027-03-05&amp;barber=1&amp;hora=11:00"
    ));
    assert!(week.body.contains("<dt>Turnos</dt><dd>2</dd>"));
}

#[tokio::test]
async fn a_desk_booking_refused_for_a_taken_time_names_who_holds_it_with_links() {
    let (app, mut b) = owner_app().await;
    let mut holder = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    holder["client"]["name"] = json!("Carla Ríos");
    let (held, _) = app.book_ok(&holder).await;
    let csrf = b.get(&day_path()).await.csrf();
    let start = at(TUESDAY, "10:00");
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("date", TUESDAY),
                ("barber", "1"),
                ("services", "1"),
                ("start", &start),
                ("phone", "011 15-4444-5555"),
                ("name", "Pedro Sosa"),
                ("source", "phone"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let listed = page
        .body
        .split("id=\"in-the-way\"")
        .nth(1)
        .expect("the holder is named");
    assert!(
        listed.contains(">Carla Ríos</a> · 10:00–10:30 con Martín"),
        "{listed}"
    );
    assert!(listed.contains(&format!(
        "href=\"/admin/bookings/{held}/mover\"",
        held = held.n
    )));
    assert!(listed.contains(&format!(
        "#booking-{held}\" class=\"cancel-other\"",
        held = held.n
    )));
    assert_eq!(get_booking(&app, held.n).await.start, barberpro_ts(&start));
}
