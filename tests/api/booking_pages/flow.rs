//! The walk-through, step by step, and what bad input gets.

use serde_json::json;

use super::*;
use crate::helpers::{booking as api_booking, phone, spawn_app};

#[tokio::test]
async fn every_step_leads_to_a_booking_made_by_the_store() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);

    let home = b.get("/").await;
    assert_html_page(&home, 200, "href=\"/reservar/palermo\"");
    assert!(home.body.contains("BarberPro Belgrano"), "{}", home.body);

    let services = b.get("/reservar/palermo").await;
    assert_html_page(&services, 200, "Corte clásico");
    assert!(
        services.body.contains("30 min · $\u{a0}8.000,00"),
        "prices are es-AR: {}",
        services.body
    );
    assert!(
        services
            .body
            .contains("action=\"/reservar/palermo/barbero\"")
    );

    let barber = b
        .get("/reservar/palermo/barbero?services=1&services=3")
        .await;
    assert_html_page(&barber, 200, "Cualquiera");
    assert!(barber.body.contains("Martín"), "Martín does both");
    assert!(
        !barber.body.contains("Lucía"),
        "Lucía does not shave beards, so she is not offered"
    );
    assert!(barber.body.contains("$\u{a0}13.000,00"), "the total");

    let slot = b
        .get(&format!(
            "/reservar/palermo/horario?services=1&barber=any&date={TUESDAY}"
        ))
        .await;
    assert_html_page(&slot, 200, "martes 02/03/2027");
    assert!(
        slot.body
            .contains(&format!("value=\"{}\"", at(TUESDAY, "10:00"))),
        "10:00 offered: {}",
        slot.body
    );
    assert!(
        !slot
            .body
            .contains(&format!("value=\"{}\"", at(TUESDAY, "13:00"))),
        "lunch is not offered"
    );

    let start = at(TUESDAY, "10:00");
    let details = b
        .get(&format!(
            "/reservar/palermo/datos?services=1&barber=any&start={}",
            start.replace('+', "%2B")
        ))
        .await;
    assert_html_page(&details, 200, "martes 02/03/2027 a las 10:00");
    assert!(
        details.body.contains("Ley N° 25.326"),
        "the data-protection notice"
    );
    assert!(
        details.body.contains("<label for=\"phone\">"),
        "labelled fields"
    );
    let key = field(&details.body, "key");
    assert!(key.len() >= 32, "a random form key: {key}");

    let before = count(&app).await;
    let mut fields = form(
        &key,
        &["1"],
        "any",
        "10:00",
        "Ana Gómez",
        "011 15-2345-6001",
    );
    fields.push(("email".into(), "ana@example.com".into()));
    let booked = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    assert!(
        booked.location.ends_with("&aviso=reservado"),
        "{}",
        booked.location
    );
    let (id, token) = manage_target(&app, &booked.location);
    assert_eq!(count(&app).await, before + 1);
    let stored = booking(&app, id.n).await.expect("the booking exists");
    assert_eq!(stored.source, barberpro::domain::BookingSource::Online);
    assert_eq!(stored.start, crate::helpers::ts(&start));

    // The confirmation: the booking and its private link, the API's manage_url.
    let confirmation = b.get(&booked.location).await;
    assert_html_page(&confirmation, 200, "¡Listo! Tu turno quedó reservado.");
    assert!(confirmation.body.contains("confirmado"));
    assert!(confirmation.body.contains("martes 02/03/2027 a las 10:00"));
    assert!(confirmation.body.contains("$\u{a0}8.000,00"));
    let api = app
        .get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    let manage_url = api["manage_url"].as_str().expect("manage_url");
    assert!(
        confirmation
            .body
            .contains(&format!("id=\"manage-link\">{manage_url}<")),
        "the page shows the API's manage link {manage_url}: {}",
        confirmation.body
    );
    assert_eq!(api["client_name"], "Ana Gómez");
}

#[tokio::test]
async fn without_a_date_the_slot_step_opens_the_first_day_with_free_slots() {
    // Monday: nobody works at palermo, so Tuesday is shown.
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let slot = b.get("/reservar/palermo/horario?services=1&barber=2").await;
    assert_html_page(&slot, 200, "martes 02/03/2027");
    assert!(slot.body.contains("aria-current=\"date\""));
}

#[tokio::test]
async fn a_double_submit_books_once() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let fields = form(
        "double-key",
        &["1"],
        "any",
        "11:00",
        "Beto",
        "011 15-2345-6002",
    );
    let before = count(&app).await;
    let (mut first, mut second) = (Browser::new(&app), Browser::new(&app));
    let (one, two) = tokio::join!(
        post_form(&mut first, "/reservar/palermo", &fields),
        post_form(&mut second, "/reservar/palermo", &fields),
    );
    let three = post_form(&mut b, "/reservar/palermo", &fields).await;
    for page in [&one, &two, &three] {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    assert_eq!(one.location, two.location, "both presses show one booking");
    assert_eq!(one.location, three.location);
    assert_eq!(count(&app).await, before + 1, "one booking, not two");
}

#[tokio::test]
async fn an_unknown_branch_is_a_spanish_404_page() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    for path in [
        "/reservar/no-existe",
        "/reservar/no-existe/barbero?services=1",
        "/reservar/no-existe/horario?services=1",
        "/reservar/no-existe/datos?services=1",
        // Not UTF-8 once decoded: no branch has that name either (not axum's plain 400).
        "/reservar/%ff",
        "/reservar/%ff/horario?services=1",
    ] {
        assert_html_page(&b.get(path).await, 404, "No encontramos");
    }
    let fields = form("k", &["1"], "any", "10:00", "Ana", "011 15-2345-6001");
    let page = post_form(&mut b, "/reservar/no-existe", &fields).await;
    assert_html_page(&page, 404, "No encontramos");
}

#[tokio::test]
async fn bad_choices_go_back_a_step_with_the_reason() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let cases = [
        ("/reservar/palermo/barbero", "Elegí al menos un servicio."),
        (
            "/reservar/palermo/barbero?services=999",
            "no existe en esta sucursal",
        ),
        (
            "/reservar/palermo/barbero?services=abc",
            "no existe en esta sucursal",
        ),
        (
            "/reservar/palermo/horario?services=1&services=1",
            "Elegí entre uno y cinco servicios distintos.",
        ),
        (
            "/reservar/palermo/horario?services=1&barber=99",
            "Elegí un barbero de la lista",
        ),
        (
            "/reservar/palermo/horario?services=1&barber=any&date=2027-02-30",
            "La fecha no es válida",
        ),
        (
            "/reservar/palermo/horario?services=1&barber=any&date=2027-02-01",
            "El horario elegido ya pasó.",
        ),
        (
            "/reservar/palermo/horario?services=1&barber=any&date=2028-01-01",
            "Todavía no se puede reservar tan adelante.",
        ),
        (
            "/reservar/palermo/datos?services=1&barber=any&start=mañana",
            "Elegí uno de los horarios libres.",
        ),
    ];
    for (path, message) in cases {
        let page = b.get(path).await;
        assert_html_page(&page, 422, message);
    }
}

#[tokio::test]
async fn bad_details_are_shown_next_to_their_field_and_book_nothing() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let before = count(&app).await;
    let mut fields = form("k1", &["1"], "any", "10:00", "", "123");
    fields.push(("email".into(), "no-es-un-correo".into()));
    let page = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_html_page(&page, 422, "Escribí tu nombre.");
    assert!(
        page.body
            .contains("id=\"phone-error\">El teléfono no es válido")
    );
    assert!(
        page.body
            .contains("id=\"email-error\">El correo electrónico no es válido")
    );
    assert!(
        page.body
            .contains("aria-describedby=\"name-hint name-error\" aria-invalid=\"true\""),
        "the field is marked for screen readers"
    );
    assert!(page.body.contains("value=\"123\""), "what was typed stays");
    assert_eq!(count(&app).await, before, "nothing was booked");

    // A form that is not a form is a 400 page, not a 500.
    let resp = app
        .client
        .post(app.url("/reservar/palermo"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .expect("body")
            .contains("El formulario no llegó completo")
    );
}

#[tokio::test]
async fn a_slot_taken_meanwhile_offers_the_others_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let key = "taken-key";
    let fields = form(key, &["1"], "1", "10:00", "Carla Díaz", "011 15-2345-6003");
    // Someone else takes Martín's 10:00 through the API in the meantime.
    app.book_ok(&api_booking(
        &[1],
        json!(1),
        &at(TUESDAY, "10:00"),
        &phone(9),
    ))
    .await;
    let before = count(&app).await;
    let page = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_html_page(&page, 409, "El horario elegido ya no está disponible.");
    assert!(page.body.contains("id=\"alternatives\""), "{}", page.body);
    assert!(
        !page
            .body
            .contains(&format!("value=\"{}\"", at(TUESDAY, "10:00"))),
        "the taken slot is not offered again"
    );
    assert!(
        page.body
            .contains(&format!("value=\"{}\"", at(TUESDAY, "10:45"))),
        "Martín's next free slot is offered: {}",
        page.body
    );
    assert!(page.body.contains("value=\"Carla Díaz\""), "the name stays");
    assert_eq!(field(&page.body, "key"), key, "the same form key");
    assert_eq!(count(&app).await, before);

    // Choosing an alternative with the same form books it.
    let mut again: Vec<(String, String)> =
        fields.into_iter().filter(|(k, _)| k != "start").collect();
    again.push(("start".into(), at(TUESDAY, "10:45")));
    let booked = post_form(&mut b, "/reservar/palermo", &again).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let (id, _) = manage_target(&app, &booked.location);
    let stored = booking(&app, id.n).await.expect("booked");
    assert_eq!(stored.start, crate::helpers::ts(&at(TUESDAY, "10:45")));
}

#[tokio::test]
async fn names_are_shown_as_text() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let fields = form(
        "xss",
        &["1"],
        "any",
        "12:00",
        "<script>alert(1)</script>",
        "011 15-2345-6004",
    );
    let booked = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let page = b.get(&booked.location).await;
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_number_without_15_and_without_whatsapp_is_asked_about_once() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let mut fields = form("k-cel", &["1"], "1", "10:00", "Beto Ruiz", "11 3456 7890");
    fields.retain(|(k, _)| k != "whatsapp");
    let page = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_html_page(&page, 422, "¿Es un celular?");
    assert!(page.body.contains("name=\"celular\" value=\"si\""));
    assert_eq!(count(&app).await, 0, "nothing was booked");
    fields.push(("celular".into(), "si".into()));
    let booked = post_form(&mut b, "/reservar/palermo", &fields).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let (id, _) = manage_target(&app, &booked.location);
    let client = booking(&app, id.n).await.expect("booked").client;
    let phone = app
        .store
        .read(move |tx| barberpro::store::clients::get(tx, client))
        .await
        .expect("read")
        .expect("client")
        .phone;
    assert_eq!(phone.as_e164(), "+5491134567890");
}
