//! Closures and time off for part of a day: validated in Spanish, refused over bookings
//! (listed), the rest of the day stays bookable, and the agenda and Catálogo show the hours.

use super::*;

async fn closure_entries(app: &TestApp) -> Vec<audit::AuditEntry> {
    let filter = audit::Filter {
        entity: Some("closure".into()),
        ..Default::default()
    };
    app.store
        .read(move |tx| audit::list(tx, &filter, 50))
        .await
        .expect("audit")
}

/// The fields of a closure for part of a day at Palermo.
fn hours<'a>(
    csrf: &'a str,
    barber: &'a str,
    day: &'a str,
    start: &'a str,
    end: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("kind", "hours"),
        ("branch", "1"),
        ("barber", barber),
        ("day", day),
        ("start", start),
        ("end", end),
        ("reason", "Turno médico"),
    ]
}

/// Posts a closure form and returns the Catálogo page it redirects to.
async fn close(b: &mut Browser, fields: &[(&str, &str)]) -> String {
    b.post("/admin/catalogo/cierres", fields)
        .await
        .expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
}

/// The classes of the cells in the agenda row that starts at `hhmm`.
fn row_cells(body: &str, hhmm: &str) -> Vec<String> {
    let marker = format!("<th scope=\"row\">{hhmm}</th>");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {hhmm} row in {body}"))
        + marker.len();
    let end = body[start..].find("</tr>").expect("end of row") + start;
    body[start..end]
        .split("<td class=\"")
        .skip(1)
        .map(|cell| cell.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn bad_partial_closures_are_explained_and_save_nothing() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/catalogo").await.csrf();
    let t = TUESDAY;
    for (fields, want) in [
        (
            hours(&csrf, "2", "", "14:00", "16:00"),
            "Elegí el día del cierre (dd/mm/aaaa",
        ),
        (
            hours(&csrf, "2", "31/02/2027", "14:00", "16:00"),
            "Elegí el día del cierre",
        ),
        (
            hours(&csrf, "2", t, "14", "16:00"),
            "Escribí el horario del cierre como HH:MM (24 h)",
        ),
        (
            hours(&csrf, "2", t, "2:00 PM", "16:00"),
            "Escribí el horario del cierre como HH:MM (24 h)",
        ),
        (
            hours(&csrf, "2", t, "16:00", "14:00"),
            "La hora de fin del cierre tiene que ser posterior a la de inicio.",
        ),
        (
            hours(&csrf, "2", t, "14:00", "14:00"),
            "La hora de fin del cierre tiene que ser posterior a la de inicio.",
        ),
        (
            hours(&csrf, "99", t, "14:00", "16:00"),
            "La sucursal o el barbero no existe.",
        ),
        (
            vec![("csrf", csrf.as_str()), ("kind", "hours")],
            "Escribí el motivo del cierre",
        ),
    ] {
        let body = close(&mut b, &fields).await;
        assert!(
            body.contains(want),
            "{want:?} missing for {fields:?}: {body}"
        );
    }
    assert!(
        closure_entries(&app).await.is_empty(),
        "something was saved"
    );
}

#[tokio::test]
async fn a_closure_for_part_of_a_day_keeps_the_rest_bookable_and_shows_its_hours() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "15:00"), &phone(7)))
        .await;
    let csrf = b.get("/admin/catalogo").await.csrf();

    // Lucía (2) off from 14:00 to 16:00 runs into her 15:00: refused, the booking named.
    let fields = hours(&csrf, "2", "02/03/2027", "14:00", "16:00");
    b.post("/admin/catalogo/cierres", &fields)
        .await
        .expect_refused_for(
            "No se puede cerrar: hay turnos en ese horario.",
            id.n,
            "02/03/2027 15:00 con Lucía",
            "Juan Pérez",
        );
    assert!(closure_entries(&app).await.is_empty());

    // From 16:00 to 17:00 (typed dd/MM/yyyy) is clear of it.
    let body = close(&mut b, &hours(&csrf, "2", "02/03/2027", "16:00", "17:00")).await;
    assert!(
        body.contains("Cierre agregado: 02/03/2027 de 16:00 a 17:00."),
        "{body}"
    );
    assert!(
        body.contains("class=\"partial\"><td>Barbero Lucía</td><td class=\"when\">02/03/2027 de 16:00 a 17:00</td>"),
        "the Catálogo lists it with its times: {body}"
    );
    let entries = closure_entries(&app).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "closure.create");
    let after = entries[0].after.as_ref().expect("after");
    assert_eq!(after["start"], "2027-03-02T19:00:00Z", "{after}");
    assert_eq!(after["end"], "2027-03-02T20:00:00Z", "{after}");
    assert_eq!(after["scope"]["kind"], "barber");

    // Her slots: the hour is gone, the rest of the afternoon is not (30 min + 5 min margin).
    let free = app.free_times("palermo", TUESDAY, "1", "2").await;
    for open in ["10:00", "14:00", "17:00", "19:15"] {
        assert!(free.contains(&open.to_owned()), "{open} missing: {free:?}");
    }
    for closed in ["15:45", "16:00", "16:30", "16:45"] {
        assert!(
            !free.contains(&closed.to_owned()),
            "{closed} offered: {free:?}"
        );
    }
    let refused = app
        .book(&booking(&[1], json!(2), &at(TUESDAY, "16:15"), &phone(8)))
        .await;
    refused.expect_error(422, "closed");
    app.book_ok(&booking(&[1], json!(2), &at(TUESDAY, "17:00"), &phone(8)))
        .await;

    // The whole branch closed 10:00–11:30 (the HTML date input's format this time): Martín
    // (1) works again at 11:30.
    let body = close(&mut b, &hours(&csrf, "all", TUESDAY, "10:00", "11:30")).await;
    assert!(
        body.contains(
            "Sucursal BarberPro Palermo</td><td class=\"when\">02/03/2027 de 10:00 a 11:30"
        ),
        "{body}"
    );
    let free = app.free_times("palermo", TUESDAY, "1", "1").await;
    assert_eq!(free.first().map(String::as_str), Some("11:30"), "{free:?}");

    // The agenda names both and shades exactly their time.
    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert_eq!(agenda.status, StatusCode::OK, "{}", agenda.body);
    for text in [
        "Cerrado · Toda la sucursal: de 10:00 a 11:30 (Turno médico)",
        "Cerrado · Lucía: de 16:00 a 17:00 (Turno médico)",
    ] {
        assert!(
            agenda.body.contains(text),
            "{text:?} missing: {}",
            agenda.body
        );
    }
    let header = agenda.body.find("<thead>").expect("the grid");
    let names: Vec<&str> = agenda.body[header..]
        .split("<th scope=\"col\">")
        .skip(2)
        .map(|h| h.split('<').next().unwrap_or_default())
        .collect();
    let lucia = names
        .iter()
        .position(|n| *n == "Lucía")
        .expect("Lucía's column");
    let martin = names
        .iter()
        .position(|n| *n == "Martín")
        .expect("Martín's column");
    for (hhmm, who, want) in [
        ("10:00", martin, "closed"),
        ("11:15", lucia, "closed"),
        ("11:30", martin, "free"),
        ("15:45", lucia, "free"),
        ("16:00", lucia, "closed"),
        ("16:45", lucia, "closed"),
        ("16:00", martin, "free"),
    ] {
        let cells = row_cells(&agenda.body, hhmm);
        assert_eq!(
            cells.get(who).map(String::as_str),
            Some(want),
            "{hhmm}, column {who}: {cells:?}"
        );
    }

    // Removed, the hour is bookable again.
    let closure = entries[0].entity_id.expect("closure id");
    b.post(
        &format!("/admin/catalogo/cierres/{closure}/borrar"),
        &[("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/catalogo");
    let free = app.free_times("palermo", TUESDAY, "1", "2").await;
    assert!(free.contains(&"16:00".to_owned()), "{free:?}");
}
