//! The front desk's data in a real headless Chromium: a mobile written without 0 and 15
//! finds the client saved with them (and the search finds them as one types), and the week
//! editor keeps every break while hours change. Screenshots go to `target/screenshots/`
//! (`week-editor.png` is the README's `tests/screenshots/week-editor.png`).

use barberpro::domain::staff::Role;
use barberpro::domain::{BarberId, ClientId};
use barberpro::store::{catalog, clients};
use fantoccini::{Client, Locator};
use serde_json::json;

use super::{PASSWORD, create_staff, get_booking};
use crate::chromium::{Screen, body_text, click, connect, start_driver, wait_for, wait_for_text};
use crate::helpers::{TUESDAY, TestApp, at, spawn_app};

async fn log_in(c: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&format!("{base}/admin/login")).await?;
    c.find(Locator::Css("#email"))
        .await?
        .send_keys("duena@barberpro.test")
        .await?;
    c.find(Locator::Css("#password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    click(c, "button.primary").await?;
    wait_for(c, "#agenda-date").await?;
    Ok(())
}

/// Sets an input's value as a person would leave it (typing into date and time inputs
/// depends on the browser's locale).
async fn fill(c: &Client, css: &str, value: &str) -> Result<(), fantoccini::error::CmdError> {
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(css), json!(value)],
    )
    .await?;
    Ok(())
}

async fn value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"))
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

async fn owner_and_browser() -> Option<(crate::chromium::Driver, TestApp)> {
    let driver = start_driver().await?;
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    Some((driver, app))
}

#[tokio::test]
async fn a_mobile_typed_without_0_and_15_finds_the_client_in_chromium() {
    let Some((driver, app)) = owner_and_browser().await else {
        return;
    };
    app.book_ok(&json!({
        "branch": "palermo", "services": [1], "barber": 1, "start": at(TUESDAY, "10:00"),
        "client": {"name": "Ana Gómez", "phone": "011 15-2345-6789", "whatsapp_consent": true}
    }))
    .await;
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 900,
        },
    )
    .await;
    let result = walk_in_and_search(&c, &app.base).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
    let found = app
        .store
        .read(|tx| {
            Ok((
                clients::get(tx, ClientId(1))?,
                clients::get(tx, ClientId(2))?,
            ))
        })
        .await
        .expect("read");
    assert!(
        found.0.is_some() && found.1.is_none(),
        "a second client was made"
    );
    assert_eq!(get_booking(&app, 2).await.client, ClientId(1));
}

async fn walk_in_and_search(c: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    log_in(c, base).await?;
    click(c, "nav a[href='/admin/bookings/new']").await?;
    wait_for(c, "#search").await?;
    c.find(Locator::Css("#phone"))
        .await?
        .send_keys("11 2345-6789")
        .await?;
    fill(c, "#date", TUESDAY).await?;
    click(c, "input[name=services][value='1']").await?;
    click(c, "#find-slots").await?;
    wait_for(c, "#book").await?;
    let found = c.find(Locator::Css("#client-found")).await?.text().await?;
    assert_eq!(found, "Cliente existente: Ana Gómez");
    assert!(
        !body_text(c).await.contains("¿Es un celular?"),
        "a known number is not asked about"
    );
    crate::chromium::shot(c, "desk-1-client-found").await;
    // She has 10:00 already: 11:00 with whoever is free.
    click(
        c,
        &format!("input[name=start][value='{TUESDAY}T11:00:00-03:00']"),
    )
    .await?;
    click(c, "#confirm").await?;
    wait_for(c, ".flash-ok").await?;
    let flash = c.find(Locator::Css(".flash-ok")).await?.text().await?;
    assert!(
        flash.starts_with("Turno creado: 02/03/2027 11:00"),
        "{flash}"
    );

    // The search, as one types, with the number written a third way.
    click(c, "nav a[href='/admin/clientes']").await?;
    wait_for(c, "#q").await?;
    c.find(Locator::Css("#q"))
        .await?
        .send_keys("+54 9 11 2345 6789")
        .await?;
    wait_for(c, "#client-results").await?;
    let rows = c.find_all(Locator::Css("#client-results tbody tr")).await?;
    assert_eq!(rows.len(), 1, "one client for one mobile");
    wait_for_text(c, "#client-results tbody tr td a", "Ana Gómez").await?;
    let url = c.current_url().await?;
    assert_eq!(url.path(), "/admin/clientes");
    assert!(
        url.query().is_some_and(|q| q.contains("q=")),
        "the address follows the search: {url}"
    );
    // And by name, without the accent.
    let q = c.find(Locator::Css("#q")).await?;
    q.clear().await?;
    q.send_keys("gomez").await?;
    wait_for_text(c, "#client-results tbody tr td a", "Ana Gómez").await?;
    crate::chromium::shot(c, "desk-2-search").await;
    Ok(())
}

#[tokio::test]
async fn the_week_editor_keeps_every_break_in_chromium() {
    let Some((driver, app)) = owner_and_browser().await else {
        return;
    };
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 1250,
        },
    )
    .await;
    let result = edit_the_week(&c, &app.base).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
    let martin = app
        .store
        .read(|tx| catalog::barber(tx, BarberId(1)))
        .await
        .expect("read")
        .expect("Martín");
    assert_eq!(martin.shifts.len(), 5, "{:?}", martin.shifts);
    for s in &martin.shifts {
        let breaks: Vec<String> = s.breaks.iter().map(|(a, z)| format!("{a}–{z}")).collect();
        assert_eq!(breaks, vec!["13:00–14:00", "17:00–17:15"], "{s:?}");
        let end = if s.weekday == 6 { "19:00" } else { "20:00" };
        assert_eq!(s.end.to_string(), end, "{s:?}");
    }

    // The editor fits a phone's width.
    let phone = connect(
        &driver,
        Screen::Phone {
            width: 360,
            height: 800,
        },
    )
    .await;
    let result = fits_a_phone(&phone, &app.base).await;
    let _ = phone.close().await;
    result.expect("the editor on a phone");
}

async fn edit_the_week(c: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    log_in(c, base).await?;
    c.goto(&format!("{base}/admin/catalogo")).await?;
    click(
        c,
        "#barber-1 a[href='/admin/catalogo/barberos/1/semana?sucursal=1']",
    )
    .await?;
    wait_for(c, "#week").await?;
    // Saturday as it is: 10:00–18:00, lunch 13:00–14:00.
    assert_eq!(value(c, "#d6-start").await, "10:00");
    assert_eq!(value(c, "#d6-end").await, "18:00");
    assert_eq!(value(c, "#d6-bs-1").await, "13:00");
    assert_eq!(value(c, "#d6-be-1").await, "14:00");
    // Tuesday gets a second break (its empty row), then a third row to spare.
    fill(c, "#d2-bs-2", "17:00").await?;
    fill(c, "#d2-be-2", "17:15").await?;
    click(c, "#day-2 button.add-break").await?;
    wait_for(c, "#d2-bs-3").await?;
    // Copied to every working day, in place.
    click(c, "#day-2 button.copy").await?;
    wait_for_text(c, "#week-status", "Copiado a 4 días.").await?;
    assert_eq!(value(c, "#d6-bs-2").await, "17:00");
    assert_eq!(value(c, "#d6-end").await, "20:00");
    assert_eq!(
        value(c, "#d1-start").await,
        "",
        "Monday is off and stays empty"
    );
    // Saturday closes at 19:00; only its end changes.
    fill(c, "#d6-end", "19:00").await?;
    c.execute("window.scrollTo(0, 0)", vec![]).await?;
    crate::chromium::shot(c, "week-editor").await;
    click(c, "#preview").await?;
    wait_for(c, "#changes").await?;
    let text = body_text(c).await;
    assert!(
        text.contains("Ningún turno queda fuera del nuevo horario."),
        "{text}"
    );
    assert!(
        text.contains("10:00–19:00 (pausas 13:00–14:00, 17:00–17:15)"),
        "{text}"
    );
    crate::chromium::shot(c, "week-preview").await;
    click(c, "#save").await?;
    wait_for(c, ".flash-ok").await?;
    let flash = c.find(Locator::Css(".flash-ok")).await?.text().await?;
    assert_eq!(
        flash,
        "Horario semanal guardado: Martín en BarberPro Palermo."
    );
    Ok(())
}

async fn fits_a_phone(c: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    log_in(c, base).await?;
    c.goto(&format!(
        "{base}/admin/catalogo/barberos/1/semana?sucursal=1"
    ))
    .await?;
    wait_for(c, "#week").await?;
    let sizes = c
        .execute(
            "const e = document.documentElement; return [e.clientWidth, e.scrollWidth];",
            vec![],
        )
        .await?;
    let n = |i: usize| sizes[i].as_u64().expect("a number");
    assert!(
        n(1) <= n(0),
        "the week editor scrolls sideways on a phone ({} px of content in {} px)",
        n(1),
        n(0)
    );
    crate::chromium::shot(c, "week-editor-phone").await;
    Ok(())
}
