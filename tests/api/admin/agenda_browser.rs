//! The agenda one works in, in a real headless Chromium: booking from a free cell, moving a
//! booking to an offered slot (and by dragging it), and the grid updating by itself when a
//! booking arrives through the API. Writes the README's `tests/screenshots/agenda-day.png`
//! and `agenda-week.png`.

use barberpro::domain::BarberId;
use barberpro::domain::staff::Role;
use fantoccini::{Client, Locator};
use serde_json::json;

use super::{PASSWORD, create_staff, get_booking};
use crate::chromium::{
    Driver, Screen, click, connect, readme_shot, start_driver, wait_for, wait_for_text,
};
use crate::helpers::{TUESDAY, TestApp, at, booking, phone, spawn_app, ts};

type Step = Result<(), fantoccini::error::CmdError>;

async fn setup() -> Option<(Driver, TestApp, Client)> {
    let driver = start_driver().await?;
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 900,
        },
    )
    .await;
    Some((driver, app, c))
}

async fn log_in_to_tuesday(c: &Client, base: &str) -> Step {
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
    c.goto(&format!(
        "{base}/admin/agenda?branch=palermo&date={TUESDAY}"
    ))
    .await?;
    wait_for(c, "#agenda-day").await?;
    Ok(())
}

#[tokio::test]
async fn a_free_cell_books_there_in_chromium() {
    let Some((_driver, app, c)) = setup().await else {
        return;
    };
    let result = book_from_cell(&c, &app.base).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
    let b = get_booking(&app, 1).await;
    assert_eq!(b.start, ts(&at(TUESDAY, "11:00")));
    assert_eq!(b.barber, BarberId(2));
}

async fn book_from_cell(c: &Client, base: &str) -> Step {
    log_in_to_tuesday(c, base).await?;
    // Lucía's 11:00.
    click(c, "td.free[data-barber='2'][data-time='11:00'] a.book-here").await?;
    wait_for(c, "#chosen-time").await?;
    wait_for_text(
        c,
        "#chosen-time",
        "Horario elegido en la agenda: 11:00 con Lucía. Elegí los servicios y tocá «Ver horarios libres».",
    )
    .await?;
    c.find(Locator::Css("#phone"))
        .await?
        .send_keys("011 15-3456-7890")
        .await?;
    c.find(Locator::Css("#name"))
        .await?
        .send_keys("Rocío Díaz")
        .await?;
    click(c, "input[name=services][value='1']").await?;
    click(c, "#find-slots").await?;
    wait_for(c, "#book").await?;
    let chosen = c
        .find(Locator::Css("input[name=start]:checked"))
        .await?
        .attr("value")
        .await?;
    assert_eq!(
        chosen.as_deref(),
        Some(format!("{TUESDAY}T11:00:00-03:00").as_str()),
        "the cell's time is the chosen slot"
    );
    click(c, "#confirm").await?;
    wait_for(c, ".flash-ok").await?;
    let flash = c.find(Locator::Css(".flash-ok")).await?.text().await?;
    assert!(
        flash.starts_with("Turno creado: 02/03/2027 11:00 con Lucía"),
        "{flash}"
    );
    let client = c
        .find(Locator::Css("td[data-booking='1'] .client-link"))
        .await?
        .text()
        .await?;
    assert_eq!(client, "Rocío Díaz");
    let phone = c
        .find(Locator::Css("td[data-booking='1'] a.phone"))
        .await?
        .text()
        .await?;
    assert_eq!(phone, "011 15-3456-7890", "staff read the local format");
    Ok(())
}

#[tokio::test]
async fn a_booking_moves_to_an_offered_slot_and_by_dragging_in_chromium() {
    let Some((_driver, app, c)) = setup().await else {
        return;
    };
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let result = move_booking(&c, &app, id.n).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
}

async fn move_booking(c: &Client, app: &TestApp, id: u64) -> Step {
    log_in_to_tuesday(c, &app.base).await?;
    let cell = c
        .find(Locator::Css(&format!("td[data-booking='{id}']")))
        .await?;
    cell.find(Locator::Css("summary")).await?.click().await?;
    click(c, &format!("td[data-booking='{id}'] a[data-action='move']")).await?;
    wait_for(c, "#move").await?;
    click(c, "input[name=slot][value='16:30/1']").await?;
    click(c, "#move-confirm").await?;
    wait_for(c, ".flash-ok").await?;
    let flash = c.find(Locator::Css(".flash-ok")).await?.text().await?;
    assert!(
        flash.starts_with("Turno reprogramado para el 02/03/2027 a las 16:30."),
        "{flash}"
    );
    assert!(
        flash.ends_with("Le avisamos a Juan Pérez por WhatsApp."),
        "{flash}"
    );
    assert_eq!(get_booking(app, id).await.start, ts(&at(TUESDAY, "16:30")));

    // Dragged onto Lucía's 12:00: the same reschedule, sent by admin.js.
    c.execute(
        "const from = document.querySelector(arguments[0]);
         const to = document.querySelector(arguments[1]);
         const data = new DataTransfer();
         from.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
         to.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: data}));
         to.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));",
        vec![
            json!(format!("td[data-booking='{id}']")),
            json!("td.free[data-barber='2'][data-time='12:00']"),
        ],
    )
    .await
    .map(drop)
    .or_else(|e| crate::chromium::navigating(Err(e)))?;
    wait_for_text(
        c,
        ".flash-ok",
        "Turno reprogramado para el 02/03/2027 a las 12:00. Le avisamos a Juan Pérez por WhatsApp.",
    )
    .await?;
    let moved = get_booking(app, id).await;
    assert_eq!(moved.start, ts(&at(TUESDAY, "12:00")));
    assert_eq!(moved.barber, BarberId(2));
    Ok(())
}

#[tokio::test]
async fn the_agenda_shows_a_booking_made_through_the_api_without_a_reload_in_chromium() {
    let Some((_driver, app, c)) = setup().await else {
        return;
    };
    app.book_ok(&booking(&[2], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let result = live(&c, &app).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
}

async fn live(c: &Client, app: &TestApp) -> Step {
    log_in_to_tuesday(c, &app.base).await?;
    // A mark on this page: a reload would lose it.
    c.execute("window.notReloaded = true;", vec![]).await?;
    let mut body = booking(&[5], json!(2), &at(TUESDAY, "15:00"), &phone(2));
    body["client"]["name"] = json!("Llegó por la API");
    let (id, _) = app.book_ok(&body).await;
    let css = format!("td[data-booking='{id}'] .client-link", id = id.n);
    wait_for_text(c, &css, "Llegó por la API").await?;
    let kept = c
        .execute("return window.notReloaded === true;", vec![])
        .await?;
    assert_eq!(kept, json!(true), "the page reloaded instead of updating");
    wait_for_text(c, "#total-bookings", "2").await?;

    // While someone types a cancellation reason, the grid is left alone and says it changed.
    let first = c.find(Locator::Css("td[data-booking='1']")).await?;
    first.find(Locator::Css("summary")).await?.click().await?;
    c.find(Locator::Css("#reason-1"))
        .await?
        .send_keys("Avisó que llega tarde")
        .await?;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "17:00"), &phone(3)))
        .await;
    let stale = c
        .wait()
        .for_element(Locator::Css("#agenda-stale:not([hidden])"))
        .await?;
    assert!(stale.text().await?.starts_with("Hay cambios en la agenda."));
    let typed = c
        .find(Locator::Css("#reason-1"))
        .await?
        .prop("value")
        .await?;
    assert_eq!(
        typed.as_deref(),
        Some("Avisó que llega tarde"),
        "what was typed is kept"
    );
    c.execute(
        "document.getElementById('reason-1').value = ''; \
         document.querySelector('td[data-booking=\"1\"] details').open = false;",
        vec![],
    )
    .await?;
    readme_shot(c, "agenda-day").await;
    click(c, "#agenda-refresh").await?;
    wait_for(c, "td[data-booking='3']").await?;

    c.goto(&format!(
        "{}/admin/agenda/semana?branch=palermo&barber=1&date={TUESDAY}",
        app.base
    ))
    .await?;
    wait_for(c, "#week-grid").await?;
    readme_shot(c, "agenda-week").await;
    Ok(())
}
