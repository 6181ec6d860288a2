//! The admin UI in a real headless Chromium (Debian's `chromium` + `chromium-driver`), driven
//! through chromedriver with fantoccini: an owner logs in, opens the agenda, books a walk-in
//! through the form, checks it in and completes it. A screenshot of each step is written to
//! `target/screenshots/`. Without Chromium the test is skipped, except in CI (`CI=true`),
//! where it fails.

use barberpro::domain::staff::Role;
use fantoccini::{Client, Locator};
use serde_json::json;

use super::{PASSWORD, create_staff};
use crate::chromium::{
    Screen, body_text, click, connect, navigating, start_driver, wait_for, wait_for_text,
};
use crate::helpers::TUESDAY;

async fn shot(c: &Client, name: &str) {
    crate::chromium::shot(c, &format!("admin-{name}")).await;
}

#[tokio::test]
async fn an_owner_logs_in_books_a_walk_in_already_in_the_shop_completes_and_undoes_it_in_chromium()
{
    let Some(driver) = start_driver().await else {
        return;
    };
    // Tuesday just before opening: the walk-in is served at 10:00.
    let app = crate::helpers::spawn_app_at("2027-03-02T09:50:00-03:00").await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 900,
        },
    )
    .await;
    let result = run(&c, &app.base, &app.clock).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
}

async fn run(
    c: &Client,
    base: &str,
    clock: &barberpro::http::Clock,
) -> Result<(), fantoccini::error::CmdError> {
    // Log in.
    c.goto(&format!("{base}/admin/login")).await?;
    shot(c, "1-login").await;
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
    assert!(c.current_url().await?.path().ends_with("/admin/agenda"));
    let text = body_text(c).await;
    assert!(text.contains("Agenda"), "{text}");

    // The agenda of Tuesday, through the day navigation.
    c.goto(&format!(
        "{base}/admin/agenda?branch=palermo&date={TUESDAY}"
    ))
    .await?;
    let date = c.find(Locator::Css("#agenda-date")).await?.text().await?;
    assert_eq!(date.to_lowercase(), "martes 02/03/2027");
    shot(c, "2-agenda").await;

    // A walk-in: phone, services, barber "cualquiera", find the free slots, book the first.
    click(c, "nav a[href='/admin/bookings/new']").await?;
    wait_for(c, "#search").await?;
    c.find(Locator::Css("#phone"))
        .await?
        .send_keys("011 15-4444-5555")
        .await?;
    c.find(Locator::Css("#name"))
        .await?
        .send_keys("Walter Ingreso")
        .await?;
    // Typing into a date input depends on the browser's locale; set the value directly.
    c.execute(
        "document.getElementById('date').value = arguments[0];",
        vec![json!(TUESDAY)],
    )
    .await?;
    click(c, "input[name=services][value='1']").await?;
    click(c, "#find-slots").await?;
    wait_for(c, "#book").await?;
    shot(c, "3-new-booking").await;
    click(c, "#confirm").await?;
    wait_for(c, ".flash-ok").await?;
    let flash = c.find(Locator::Css(".flash-ok")).await?.text().await?;
    assert!(
        flash.starts_with("Turno creado: 02/03/2027 10:00"),
        "{flash}"
    );
    shot(c, "4-booked").await;

    // A walk-in is in the shop already; once the service started, complete it, undo that,
    // complete it again.
    wait_for_text(c, "td.booking .badge", "en el local").await?;
    clock.set(crate::helpers::ts("2027-03-02T10:20:00-03:00"));
    c.refresh().await?;
    wait_for(c, "#agenda-date").await?;
    for (action, status) in [
        ("completed", "realizado"),
        ("undo", "en el local"),
        ("completed", "realizado"),
    ] {
        let cell = c.find(Locator::Css("td.booking")).await?;
        cell.find(Locator::Css("summary")).await?.click().await?;
        let button = cell
            .find(Locator::Css(&format!("button[data-action='{action}']")))
            .await?;
        navigating(button.click().await.map(drop))?;
        wait_for_text(c, "td.booking .badge", status).await?;
        shot(c, &format!("5-{action}")).await;
    }
    Ok(())
}
