//! Catálogo's week editor: a barber's whole week at a branch, pre-filled with the hours and
//! every break, saved in two steps (a preview naming the bookings the change would strand,
//! then the save), audited.

use barberpro::domain::{BarberId, Shift};

use super::*;

/// The fields a browser would send for form `#id` of `html` as it is: text, hidden and time
/// inputs, and the checked checkboxes and radios (no button).
pub fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form #{id}: {html}"));
    let end = html[start..].find("</form>").expect("the form ends") + start;
    let form = &html[start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let marker = format!(" {name}=\"");
        let at = tag.find(&marker)? + marker.len();
        let len = tag[at..].find('"')?;
        Some(
            tag[at..at + len]
                .replace("&#34;", "\"")
                .replace("&#39;", "'")
                .replace("&#60;", "<")
                .replace("&#62;", ">")
                .replace("&#38;", "&"),
        )
    };
    let mut fields = Vec::new();
    for piece in form.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').expect("tag ends")];
        let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        if (kind == "checkbox" || kind == "radio") && !tag.contains(" checked") {
            continue;
        }
        fields.push((name, attr(tag, "value").unwrap_or_default()));
    }
    fields
}

/// Replaces (or adds) field `name`'s first value.
pub fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

async fn post_fields(b: &mut Browser, path: &str, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(path, &pairs).await
}

/// Opens barber `barber`'s week editor at `branch`, lets `edit` change the fields, then
/// reviews and saves; the answer to the save.
pub async fn save_week(
    b: &mut Browser,
    barber: u64,
    branch: u64,
    edit: impl FnOnce(&mut Vec<(String, String)>),
) -> Page {
    let path = format!("/admin/catalogo/barberos/{barber}/semana");
    let editor = b.get(&format!("{path}?sucursal={branch}")).await;
    let mut fields = form_fields(&editor.body, "week");
    edit(&mut fields);
    let preview = post_fields(b, &path, &fields).await;
    let mut confirm = form_fields(&preview.body, "confirm-week");
    confirm.push(("guardar".into(), "1".into()));
    post_fields(b, &path, &confirm).await
}

async fn shifts_of(app: &TestApp, barber: u64) -> Vec<Shift> {
    app.store
        .read(move |tx| barberpro::store::catalog::barber(tx, BarberId(barber)))
        .await
        .expect("read")
        .expect("barber")
        .shifts
}

const MARTIN_AT_PALERMO: &str = "/admin/catalogo/barberos/1/semana?sucursal=1";
const MARTIN_POST: &str = "/admin/catalogo/barberos/1/semana";

#[tokio::test]
async fn changing_saturday_s_end_in_the_week_editor_keeps_its_lunch_break() {
    let (app, mut b) = owner_app().await;
    let catalog = b.get("/admin/catalogo").await;
    assert!(
        catalog
            .body
            .contains(&format!("href=\"{MARTIN_AT_PALERMO}\"")),
        "the Catálogo links to Martín's week at Palermo"
    );
    let editor = b.get(MARTIN_AT_PALERMO).await;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.body);
    let mut fields = form_fields(&editor.body, "week");
    let value = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    // Saturday is there as it is: 10:00–18:00 with lunch 13:00–14:00 (and a row to add one).
    assert_eq!(value(&fields, "d6_works"), vec!["1"]);
    assert_eq!(value(&fields, "d6_start"), vec!["10:00"]);
    assert_eq!(value(&fields, "d6_end"), vec!["18:00"]);
    assert_eq!(value(&fields, "d6_break_start"), vec!["13:00", ""]);
    assert_eq!(value(&fields, "d6_break_end"), vec!["14:00", ""]);
    assert!(
        value(&fields, "d1_works").is_empty(),
        "Martín is off on Mondays"
    );

    // Only Saturday's end changes.
    set(&mut fields, "d6_end", "19:00");
    let preview = post_fields(&mut b, MARTIN_POST, &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview
            .body
            .contains("<td>10:00–18:00 (pausa 13:00–14:00)</td><td>10:00–19:00 (pausa 13:00–14:00) <span class=\"badge\">cambia</span>"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("Ningún turno queda fuera del nuevo horario.")
    );
    assert_eq!(
        shifts_of(&app, 1)
            .await
            .iter()
            .find(|s| s.weekday == 6)
            .map(|s| s.end.to_string()),
        Some("18:00".to_owned()),
        "the preview saved nothing"
    );
    let mut confirm = form_fields(&preview.body, "confirm-week");
    confirm.push(("guardar".into(), "1".into()));
    let saved = post_fields(&mut b, MARTIN_POST, &confirm).await;
    saved.expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert!(
        page.body
            .contains("Horario semanal guardado: Martín en BarberPro Palermo."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("sáb 10:00–19:00 (pausa 13:00–14:00) · BarberPro Palermo"),
        "{}",
        page.body
    );
    let saturday = shifts_of(&app, 1)
        .await
        .into_iter()
        .find(|s| s.weekday == 6)
        .expect("Saturday");
    assert_eq!(
        saturday
            .breaks
            .iter()
            .map(|(a, z)| format!("{a}–{z}"))
            .collect::<Vec<_>>(),
        vec!["13:00–14:00"],
        "the lunch break was wiped"
    );
    // Saturday 6 March: lunch is still not bookable, and 18:00 now is.
    let free = app.free_times("palermo", "2027-03-06", "1", "1").await;
    assert!(!free.contains(&"13:00".to_owned()), "{free:?}");
    assert!(free.contains(&"18:00".to_owned()), "{free:?}");
    // The other days did not move.
    assert_eq!(shifts_of(&app, 1).await.len(), 5);
}

#[tokio::test]
async fn the_preview_names_the_bookings_a_change_would_strand_and_nothing_is_saved() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "15:00"), &phone(3)))
        .await;
    let client = get_booking(&app, id.n).await.client.0;
    let editor = b.get(MARTIN_AT_PALERMO).await;
    let mut fields = form_fields(&editor.body, "week");
    // Tuesday mornings only: the 15:00 booking would be left outside.
    set(&mut fields, "d2_end", "12:00");
    set(&mut fields, "d2_break_start", "");
    set(&mut fields, "d2_break_end", "");
    let preview = post_fields(&mut b, MARTIN_POST, &fields).await;
    assert!(
        preview
            .body
            .contains("Estos turnos quedarían fuera del horario"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains(&format!(
            "<li data-booking=\"{id}\">martes 02/03/2027 15:00 · <a href=\"/admin/clientes/{client}\">Juan Pérez</a> · Corte clásico · <a href=\"/admin/bookings/{id}/mover\" class=\"move-other\">Moverlo</a> · <a href=\"/admin/agenda?branch=palermo&#38;date=2027-03-02\">Cancelarlo desde la agenda</a></li>", id = id.n
        )),
        "{}",
        preview.body
    );
    assert!(
        !preview.body.contains("id=\"save\""),
        "no save while stranded"
    );
    // Saving anyway (a stale page, a forged form) is refused in the transaction.
    let mut forced = form_fields(&preview.body, "confirm-week");
    forced.push(("guardar".into(), "1".into()));
    let refused = post_fields(&mut b, MARTIN_POST, &forced).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.body.contains("No se guardó"), "{}", refused.body);
    let tuesday = shifts_of(&app, 1)
        .await
        .into_iter()
        .find(|s| s.weekday == 2)
        .expect("Tuesday");
    assert_eq!(tuesday.end.to_string(), "20:00");

    // Wednesday (nothing booked) becomes 12:00–16:00 without a break.
    let mut fields = form_fields(&b.get(MARTIN_AT_PALERMO).await.body, "week");
    set(&mut fields, "d3_start", "12:00");
    set(&mut fields, "d3_end", "16:00");
    set(&mut fields, "d3_break_start", "");
    set(&mut fields, "d3_break_end", "");
    let preview = post_fields(&mut b, MARTIN_POST, &fields).await;
    let mut confirm = form_fields(&preview.body, "confirm-week");
    confirm.push(("guardar".into(), "1".into()));
    post_fields(&mut b, MARTIN_POST, &confirm)
        .await
        .expect_redirect("/admin/catalogo");
    let times = app.free_times("palermo", "2027-03-03", "1", "1").await;
    assert_eq!(
        times.first().map(String::as_str),
        Some("12:00"),
        "{times:?}"
    );
    assert!(
        times.contains(&"13:00".to_owned()),
        "no lunch any more: {times:?}"
    );
    // 30 minutes plus a 5-minute margin must end by 16:00.
    assert_eq!(times.last().map(String::as_str), Some("15:15"), "{times:?}");
    let entries = app
        .store
        .read(|tx| {
            let filter = audit::Filter {
                entity: Some("barber".into()),
                ..Default::default()
            };
            audit::list(tx, &filter, 10)
        })
        .await
        .expect("audit");
    assert_eq!(entries.len(), 1, "one save, one entry");
    assert_eq!(entries[0].action, "barber.hours");
    assert_eq!(entries[0].actor_email, "duena@barberpro.test");
}

#[tokio::test]
async fn several_breaks_copied_to_every_working_day_without_javascript() {
    let (app, mut b) = owner_app().await;
    let editor = b.get(MARTIN_AT_PALERMO).await;
    let mut fields = form_fields(&editor.body, "week");
    // Tuesday gets a second break (the empty row), then is copied to the other days.
    let second = fields
        .iter()
        .position(|(k, v)| k == "d2_break_start" && v.is_empty())
        .expect("an empty break row");
    fields[second].1 = "17:00".into();
    let end = fields
        .iter()
        .position(|(k, v)| k == "d2_break_end" && v.is_empty())
        .expect("an empty break row");
    fields[end].1 = "17:15".into();
    fields.push(("copiar".into(), "2".into()));
    let copied = post_fields(&mut b, MARTIN_POST, &fields).await;
    assert_eq!(copied.status, StatusCode::OK, "{}", copied.body);
    let fields = form_fields(&copied.body, "week");
    let breaks = |fields: &[(String, String)], day: u8| {
        fields
            .iter()
            .filter(|(k, v)| k == &format!("d{day}_break_start") && !v.is_empty())
            .count()
    };
    assert_eq!(breaks(&fields, 6), 2, "Saturday got both breaks");
    assert_eq!(breaks(&fields, 1), 0, "Monday is off and stays so");
    let preview = post_fields(&mut b, MARTIN_POST, &fields).await;
    let mut confirm = form_fields(&preview.body, "confirm-week");
    confirm.push(("guardar".into(), "1".into()));
    post_fields(&mut b, MARTIN_POST, &confirm)
        .await
        .expect_redirect("/admin/catalogo");
    let shifts = shifts_of(&app, 1).await;
    assert_eq!(shifts.len(), 5);
    for s in &shifts {
        assert_eq!(s.end.to_string(), "20:00", "{s:?}");
        assert_eq!(s.breaks.len(), 2, "{s:?}");
    }
}

#[tokio::test]
async fn a_day_over_another_branch_s_hours_and_a_barbero_are_refused() {
    let (app, mut b) = owner_app().await;
    // Nicolás (5) works Thursdays at Belgrano: Thursday at Palermo too would overlap.
    let editor = b.get("/admin/catalogo/barberos/5/semana?sucursal=1").await;
    assert!(
        editor
            .body
            .contains("También trabaja en BarberPro Belgrano de 10:00 a 20:00."),
        "{}",
        editor.body
    );
    let mut fields = form_fields(&editor.body, "week");
    set(&mut fields, "d4_works", "1");
    set(&mut fields, "d4_start", "09:00");
    set(&mut fields, "d4_end", "12:00");
    let page = post_fields(&mut b, "/admin/catalogo/barberos/5/semana", &fields).await;
    assert!(
        page.body
            .contains("El jueves se superpone con su horario en BarberPro Belgrano."),
        "{}",
        page.body
    );
    // A day typed wrong is shown back with its message.
    set(&mut fields, "d4_end", "08:00");
    let page = post_fields(&mut b, "/admin/catalogo/barberos/5/semana", &fields).await;
    assert!(page.body.contains("El horario termina antes de empezar."));
    assert!(
        page.body.contains("value=\"08:00\""),
        "what was typed stays"
    );

    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut ana = Browser::new(&app);
    ana.login_ok("ana@barberpro.test").await;
    assert_eq!(
        ana.get(MARTIN_AT_PALERMO).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.get("/admin/catalogo/barberos/99/semana?sucursal=1")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
