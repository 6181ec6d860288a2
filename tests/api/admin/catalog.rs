//! Catálogo: the front desk reads it, only the owner changes it, changes are audited, and
//! nothing is changed under a future booking.

use super::*;

async fn audit_actions(app: &TestApp, entity: &str) -> Vec<audit::AuditEntry> {
    let filter = audit::Filter {
        entity: Some(entity.into()),
        ..Default::default()
    };
    app.store
        .read(move |tx| audit::list(tx, &filter, 50))
        .await
        .expect("audit")
}

#[tokio::test]
async fn reception_reads_the_catalogue_and_a_barber_may_not() {
    let app = spawn_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    create_staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let mut desk = Browser::new(&app);
    desk.login_ok("ana@barberpro.test").await;
    let page = desk.get("/admin/catalogo").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "BarberPro Palermo",
        "Corte clásico",
        "$\u{a0}8.000,00",
        "mar 10:00–20:00 (pausa 13:00–14:00) · BarberPro Palermo",
        "Navidad",
        "id=\"read-only\"",
    ] {
        assert!(page.body.contains(text), "{text:?} missing: {}", page.body);
    }
    assert!(
        !page.body.contains("/admin/catalogo/servicios/"),
        "no edit forms"
    );
    let csrf = page.csrf();
    let refused = desk
        .post(
            "/admin/catalogo/servicios/1",
            &[
                ("csrf", &csrf),
                ("name", "Corte"),
                ("duration", "30"),
                ("buffer", "5"),
                ("price", "1"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut barber = Browser::new(&app);
    barber.login_ok("martin@barberpro.test").await;
    assert_eq!(
        barber.get("/admin/catalogo").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_owner_changes_a_price_and_the_change_is_audited_and_public() {
    let (app, mut b) = owner_app().await;
    let page = b.get("/admin/catalogo").await;
    let csrf = page.csrf();
    // Without the session's CSRF token nothing changes.
    for token in ["", "forged"] {
        let refused = b
            .post(
                "/admin/catalogo/servicios/1",
                &[
                    ("csrf", token),
                    ("name", "Corte"),
                    ("duration", "30"),
                    ("buffer", "5"),
                    ("price", "1"),
                    ("active", "1"),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "CSRF token {token:?}"
        );
    }
    let saved = b
        .post(
            "/admin/catalogo/servicios/1",
            &[
                ("csrf", &csrf),
                ("name", "Corte clásico"),
                ("duration", "30"),
                ("buffer", "5"),
                ("price", "9.500,50"),
                ("active", "1"),
            ],
        )
        .await;
    saved.expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert!(page.body.contains("Servicio actualizado."), "{}", page.body);
    assert!(page.body.contains("$\u{a0}9.500,50"));
    let entries = audit_actions(&app, "service").await;
    let entry = entries.first().expect("an audit entry");
    assert_eq!(entry.action, "service.update");
    assert_eq!(entry.actor_email, "duena@barberpro.test");
    assert_eq!(entry.before.as_ref().expect("before")["price"], 800_000);
    assert_eq!(entry.after.as_ref().expect("after")["price"], 950_050);
    // The clients' pages show the new price.
    let public = b.get("/reservar/palermo").await;
    assert!(public.body.contains("$\u{a0}9.500,50"), "{}", public.body);

    // Bad input is explained, not saved.
    let bad = b
        .post(
            "/admin/catalogo/servicios/1",
            &[
                ("csrf", &csrf),
                ("name", "Corte clásico"),
                ("duration", "2"),
                ("buffer", "5"),
                ("price", "9500"),
                ("active", "1"),
            ],
        )
        .await;
    bad.expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert!(page.body.contains("La duración va de 5 a 480 minutos"));
    assert_eq!(audit_actions(&app, "service").await.len(), 1);
}

#[tokio::test]
async fn a_booked_service_cannot_be_taken_off_until_its_bookings_are_gone() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[3], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let csrf = b.get("/admin/catalogo").await.csrf();
    let off = [
        ("csrf", csrf.as_str()),
        ("name", "Barba"),
        ("duration", "20"),
        ("buffer", "5"),
        ("price", "5000"),
    ];
    b.post("/admin/catalogo/servicios/3", &off)
        .await
        .expect_refused_for(
            "No se puede desactivar el servicio: tiene turnos por delante.",
            id.n,
            "02/03/2027 10:00 con Martín",
            "Juan Pérez",
        );
    assert!(
        audit_actions(&app, "service").await.is_empty(),
        "nothing changed"
    );

    // Once the booking is cancelled, the service can go.
    let booking_id = BookingId(id.n);
    let now = app.clock.now();
    app.store
        .write(move |txn| {
            bookings::set_status(txn, booking_id, BookingStatus::Cancelled, None, now)
        })
        .await
        .expect("cancelled");
    b.post("/admin/catalogo/servicios/3", &off)
        .await
        .expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert!(page.body.contains("Servicio actualizado."), "{}", page.body);
    let services = app
        .get("/api/v1/branches/palermo/services")
        .await
        .expect(200);
    assert!(
        !services.to_string().contains("Barba"),
        "the inactive service is no longer offered: {services}"
    );
}

#[tokio::test]
async fn closures_are_refused_over_bookings_and_close_the_day_otherwise() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "15:00"), &phone(2)))
        .await;
    let csrf = b.get("/admin/catalogo").await.csrf();
    // Lucía's day off on Tuesday: her booking is in the way.
    let off = |barber: &'static str, day: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("branch", "1".to_owned()),
            ("barber", barber.to_owned()),
            ("from", day.to_owned()),
            ("to", day.to_owned()),
            ("reason", "<b>Franco</b>".to_owned()),
        ]
    };
    let fields = off("2", TUESDAY);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/admin/catalogo/cierres", &pairs)
        .await
        .expect_refused_for(
            "No se puede cerrar: hay turnos en esas fechas.",
            id.n,
            "02/03/2027 15:00 con Lucía",
            "Juan Pérez",
        );
    assert!(
        !app.free_times("palermo", TUESDAY, "1", "2")
            .await
            .is_empty()
    );

    // Martín has nothing on Tuesday: his day off is accepted and his slots disappear.
    let fields = off("1", TUESDAY);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/admin/catalogo/cierres", &pairs)
        .await
        .expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert!(
        page.body
            .contains("Cierre agregado: 02/03/2027 (todo el día)."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Barbero Martín"));
    assert!(
        !page.body.contains("<b>Franco")
            && (page.body.contains("&#60;b&#62;Franco") || page.body.contains("&lt;b&gt;Franco")),
        "the reason is shown as text: {}",
        page.body
    );
    assert!(
        app.free_times("palermo", TUESDAY, "1", "1")
            .await
            .is_empty()
    );
    let entries = audit_actions(&app, "closure").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "closure.create");
    let closure = entries[0].entity_id.expect("closure id");

    // Taking it off again opens the day.
    let csrf = page.csrf();
    b.post(
        &format!("/admin/catalogo/cierres/{closure}/borrar"),
        &[("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/catalogo");
    assert!(
        !app.free_times("palermo", TUESDAY, "1", "1")
            .await
            .is_empty()
    );
    assert_eq!(
        audit_actions(&app, "closure").await[0].action,
        "closure.delete"
    );
    let gone = b
        .post(
            &format!("/admin/catalogo/cierres/{closure}/borrar"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_branch_closes_for_online_booking_only_without_bookings_ahead() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(4)))
        .await;
    let page = b.get("/admin/catalogo").await;
    let csrf = page.csrf();
    let phone_shown = {
        let marker = "id=\"b-phone-1\" name=\"phone\" type=\"tel\" value=\"";
        let start = page.body.find(marker).expect("the phone field") + marker.len();
        let end = page.body[start..].find('"').expect("quote") + start;
        page.body[start..end].to_owned()
    };
    // Without `active`, the form closes the branch. Palermo has a booking ahead: it stays open.
    let off = |name: &'static str, phone: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("address", "Av. Santa Fe 3500, CABA".to_owned()),
            ("phone", phone.to_owned()),
        ]
    };
    let fields = off("BarberPro Palermo", &phone_shown);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/admin/catalogo/sucursales/1", &pairs)
        .await
        .expect_refused_for(
            "No se puede desactivar la sucursal: tiene turnos por delante.",
            id.n,
            "02/03/2027 10:00 con Martín",
            "Juan Pérez",
        );
    // Belgrano has none: it closes, and the clients' pages stop offering it.
    let fields = off("BarberPro Belgrano", "");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/admin/catalogo/sucursales/2", &pairs)
        .await
        .expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert!(page.body.contains("Sucursal actualizada."), "{}", page.body);
    let home = b.get("/").await;
    assert!(!home.body.contains("BarberPro Belgrano"), "{}", home.body);
    assert_eq!(
        b.get("/reservar/belgrano").await.status,
        StatusCode::NOT_FOUND
    );
    let entries = audit_actions(&app, "branch").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].after.as_ref().expect("after")["active"], false);
}

#[tokio::test]
async fn the_owner_adds_a_service_and_a_barber_who_then_takes_bookings() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/catalogo").await.csrf();
    b.post(
        "/admin/catalogo/servicios",
        &[
            ("csrf", &csrf),
            ("name", "Perfilado de cejas"),
            ("duration", "15"),
            ("buffer", "5"),
            ("price", "4.500"),
            ("active", "1"),
        ],
    )
    .await
    .expect_redirect("/admin/catalogo");
    let services = app
        .store
        .read(barberpro::store::catalog::services)
        .await
        .unwrap();
    let cejas = services
        .iter()
        .find(|s| s.name.as_str() == "Perfilado de cejas")
        .expect("the service exists");
    assert_eq!(cejas.price.centavos(), 450_000);
    let cejas_id = cejas.id.0.to_string();

    // A barber doing a haircut (1) and the new service; no hours yet, so no slots.
    b.post(
        "/admin/catalogo/barberos",
        &[
            ("csrf", &csrf),
            ("name", "Valentina"),
            ("services", "1"),
            ("services", &cejas_id),
        ],
    )
    .await
    .expect_redirect("/admin/catalogo");
    let barbers = app
        .store
        .read(barberpro::store::catalog::barbers)
        .await
        .unwrap();
    let vale = barbers
        .iter()
        .find(|b| b.name.as_str() == "Valentina")
        .expect("the barber exists");
    let vale_id = vale.id.0;
    assert_eq!(vale.services.len(), 2);
    assert!(vale.shifts.is_empty(), "no hours yet: nobody can book her");
    // Nobody does the new service at Palermo yet, so it is not offered there.
    let offered = app
        .get(&format!(
            "/api/v1/branches/palermo/availability?date={TUESDAY}&services={cejas_id}&barber=any"
        ))
        .await;
    assert_eq!(offered.status, 422, "{}", offered.body);
    // Her hours: Tuesdays 10:00–14:00 at Palermo, through the week editor.
    super::week::save_week(&mut b, vale_id, 1, |fields| {
        for (k, v) in [
            ("d2_works", "1"),
            ("d2_start", "10:00"),
            ("d2_end", "14:00"),
        ] {
            super::week::set(fields, k, v);
        }
    })
    .await
    .expect_redirect("/admin/catalogo");
    let free = app
        .free_times("palermo", TUESDAY, &cejas_id, &vale_id.to_string())
        .await;
    assert!(free.contains(&"10:00".to_owned()), "{free:?}");
    app.book_ok(&booking(
        &[cejas.id.0],
        json!(vale_id),
        &at(TUESDAY, "10:00"),
        &phone(5),
    ))
    .await;

    // Her booked service cannot be taken away; the other can.
    let page = b
        .post(
            &format!("/admin/catalogo/barberos/{vale_id}/servicios"),
            &[("csrf", &csrf), ("services", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(
        page.body.contains("No se puede quitar el servicio") && page.body.contains("/mover"),
        "{}",
        page.body
    );
    b.post(
        &format!("/admin/catalogo/barberos/{vale_id}/servicios"),
        &[("csrf", &csrf), ("services", &cejas_id)],
    )
    .await
    .expect_redirect("/admin/catalogo");
    let vale = app
        .store
        .read(move |tx| barberpro::store::catalog::barber(tx, barberpro::domain::BarberId(vale_id)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(vale.services, vec![cejas.id]);
    let actions: Vec<String> = audit_actions(&app, "barber")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for want in ["barber.create", "barber.services"] {
        assert!(actions.iter().any(|a| a == want), "{want}: {actions:?}");
    }
}
