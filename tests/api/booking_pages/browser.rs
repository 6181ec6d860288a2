//! A client books on a 375 px wide phone screen in headless Chromium, then cancels through the
//! manage link; then again at 360 px, the narrowest screen the pages are made for. Every page
//! is checked for horizontal scrolling; screenshots of each step go to
//! `target/screenshots/booking-{width}-*.png`.

use barberpro::domain::BookingStatus;
use fantoccini::{Client, Locator};

use super::*;
use crate::chromium::{
    Screen, click, connect, navigating, shot, start_driver, wait_for, wait_for_text,
};
use crate::helpers::spawn_app;

/// The page is laid out `width` px wide (the viewport tag works) and does not scroll sideways.
async fn assert_fits(c: &Client, width: i64, step: &str) {
    let sizes = c
        .execute(
            "const e = document.documentElement; \
             return [e.clientWidth, e.scrollWidth, document.body.scrollWidth];",
            vec![],
        )
        .await
        .expect("page sizes");
    let n = |i: usize| sizes[i].as_i64().expect("a number");
    let (client, scroll, body) = (n(0), n(1), n(2));
    assert_eq!(
        client, width,
        "{step}: the page is not laid out {width} px wide"
    );
    assert!(
        scroll <= client && body <= client,
        "{step}: horizontal scroll ({scroll} / {body} px of content in {client} px)"
    );
    shot(c, &format!("booking-{width}-{step}")).await;
}

#[tokio::test]
async fn a_client_books_on_a_phone_and_cancels_through_the_manage_link_in_chromium() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    for width in [375u32, 360] {
        let c = connect(&driver, Screen::Phone { width, height: 800 }).await;
        let result = run(&c, &app, i64::from(width)).await;
        let _ = c.close().await;
        let id = result.unwrap_or_else(|e| panic!("the walk-through at {width} px: {e}"));
        let stored = booking(&app, id).await.expect("the booking exists");
        assert_eq!(
            stored.status,
            BookingStatus::Cancelled,
            "cancelled in the store"
        );
    }
}

/// Books and cancels; returns the booking's id.
async fn run(c: &Client, app: &TestApp, w: i64) -> Result<u64, fantoccini::error::CmdError> {
    c.goto(&app.url("/")).await?;
    assert_fits(c, w, "1-branches").await;
    click(c, "#branch-palermo").await?;

    wait_for(c, "#services-form").await?;
    click(c, "input[name=services][value='1']").await?;
    assert_fits(c, w, "2-services").await;
    click(c, "#next").await?;

    wait_for(c, "#barber-form").await?;
    assert_fits(c, w, "3-barber").await;
    click(c, "#next").await?; // "Cualquiera" is the default.

    // The first day with free slots opens (Monday: Nicolás works at palermo from 10:00).
    wait_for(c, "#slot-form").await?;
    assert_fits(c, w, "4-slot").await;
    let date = c.find(Locator::Css("legend .date")).await?.text().await?;
    assert_eq!(date.to_lowercase(), "lunes 01/03/2027");
    click(c, "label.slot").await?;
    click(c, "#next").await?;

    wait_for(c, "#details-form").await?;
    c.find(Locator::Css("#name"))
        .await?
        .send_keys("Paula Móvil")
        .await?;
    c.find(Locator::Css("#phone"))
        .await?
        .send_keys("011 15-4444-7777")
        .await?;
    click(c, "#whatsapp").await?;
    assert_fits(c, w, "5-details").await;
    click(c, "#confirm").await?;

    wait_for(c, "#notice").await?;
    wait_for_text(c, "#notice", "¡Listo! Tu turno quedó reservado.").await?;
    let when = c.find(Locator::Css("#when")).await?.text().await?;
    assert!(when.starts_with("lunes 01/03/2027 a las 10:00"), "{when}");
    assert_fits(c, w, "6-confirmation").await;
    let link = c.find(Locator::Css("#manage-link")).await?.text().await?;
    let at = link.find("/turnos/").expect("a manage link");
    let (id, _) = manage_target(app, &link[at..]);

    // Later, from the link (the test server's own address, since public_url is another).
    c.goto(&app.url(&link[at..])).await?;
    wait_for(c, "#cancel-form").await?;
    assert_fits(c, w, "7-manage").await;
    // The enhancement asks first; the form is sent once accepted (and the page navigates,
    // which may abort the command that accepted).
    click(c, "#cancel").await?;
    navigating(c.accept_alert().await)?;
    wait_for_text(c, "#notice", "Tu turno quedó cancelado.").await?;
    wait_for_text(c, "#status", "cancelado").await?;
    assert_fits(c, w, "8-cancelled").await;
    Ok(id.n)
}
