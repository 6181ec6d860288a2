//! The day picker at 390 px in headless Chromium: each of the fourteen days says what it
//! offers, the page opens on the first day with free slots, a day without slots links the
//! next free one, and the first slot is a few Tab stops from the top.

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::json;

use super::*;
use crate::chromium::{Screen, click, connect, shot, start_driver, wait_for};
use crate::helpers::{phone, spawn_app, spawn_app_at};

/// Martín (barber 1) fully booked on Tuesday with corte clásico, through the API.
async fn fill_tuesday_for_martin(app: &TestApp) -> usize {
    let mut n = 0;
    loop {
        let free = app.free_times("palermo", TUESDAY, "1", "1").await;
        let Some(first) = free.first() else {
            return n;
        };
        let body = crate::helpers::booking(&[1], json!(1), &at(TUESDAY, first), &phone(n as u32));
        app.book_ok(&body).await;
        n += 1;
        assert!(n < 40, "Tuesday never fills up: {free:?}");
    }
}

/// The text of every day of the strip, in order.
async fn strip(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for day in c
        .find_all(Locator::Css("#day-strip a.day"))
        .await
        .expect("days")
    {
        out.push(
            day.attr("aria-label")
                .await
                .expect("label")
                .unwrap_or_default(),
        );
    }
    out
}

#[tokio::test]
async fn days_say_what_they_offer_and_a_full_day_links_the_next_free_one() {
    let app = spawn_app().await;
    let booked = fill_tuesday_for_martin(&app).await;
    assert!(booked > 5, "Tuesday took {booked} bookings");
    let mut b = Browser::new(&app);
    let page = b
        .get("/reservar/palermo/horario?services=1&barber=1&date=2027-03-02")
        .await;
    assert_html_page(&page, 200, "No hay horarios libres ese día (completo).");
    assert!(
        page.body.contains("id=\"next-free\"")
            && page.body.contains("miércoles 03/03/2027")
            && page.body.contains("date=2027-03-03"),
        "the next free day is offered: {}",
        page.body
    );
    // Without a date: Monday (Martín does not work) and Tuesday (full) are skipped.
    let opened = b.get("/reservar/palermo/horario?services=1&barber=1").await;
    assert_html_page(&opened, 200, "miércoles 03/03/2027");
    for said in [
        "lunes 01/03/2027, cerrado",
        "martes 02/03/2027, completo",
        "miércoles 03/03/2027, ",
        "domingo 14/03/2027, cerrado",
    ] {
        assert!(
            opened.body.contains(said),
            "{said:?} missing from the strip"
        );
    }
    assert_eq!(
        opened.body.matches("data-date=").count(),
        14,
        "fourteen days listed"
    );
}

#[tokio::test]
async fn a_holiday_says_its_reason() {
    // The demo closes both branches on Christmas; seen from 20 December it is listed.
    let app = spawn_app_at("2027-12-20T08:00:00-03:00").await;
    let mut b = Browser::new(&app);
    let page = b
        .get("/reservar/palermo/horario?services=1&barber=any")
        .await;
    assert_html_page(&page, 200, "sábado 25/12/2027, feriado: Navidad");
}

#[tokio::test]
async fn at_390_px_sunday_is_closed_the_page_opens_on_monday_and_a_full_day_offers_the_next() {
    let Some(driver) = start_driver().await else {
        return;
    };
    // Sunday 28 February 2027: nobody works at palermo on Sundays; Nicolás does on Mondays.
    let app = spawn_app_at("2027-02-28T09:00:00-03:00").await;
    let c = connect(
        &driver,
        Screen::Phone {
            width: 390,
            height: 844,
        },
    )
    .await;
    let result = sunday_then_monday(&c, &app).await;
    let full = spawn_app().await;
    fill_tuesday_for_martin(&full).await;
    let result = match result {
        Ok(()) => full_tuesday(&c, &full).await,
        e => e,
    };
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("the picker in Chromium: {e}"));
}

/// Tuesday full for Martín: the page says so and its link leads to Wednesday's slots.
async fn full_tuesday(c: &Client, app: &TestApp) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&app.url("/reservar/palermo/horario?services=1&barber=1&date=2027-03-02"))
        .await?;
    wait_for(c, "#next-free").await?;
    let said = c.find(Locator::Css("#no-slots")).await?.text().await?;
    assert_eq!(said, "No hay horarios libres ese día (completo).");
    let tuesday = c
        .find(Locator::Css("#day-strip a[aria-current]"))
        .await?
        .text()
        .await?;
    assert!(tuesday.contains("completo"), "{tuesday}");
    shot(c, "booking-picker-full-390").await;
    click(c, "#next-free").await?;
    wait_for(c, "label.slot").await?;
    let date = c.find(Locator::Css("legend .date")).await?.text().await?;
    assert_eq!(date.to_lowercase(), "miércoles 03/03/2027");
    Ok(())
}

async fn sunday_then_monday(c: &Client, app: &TestApp) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&app.url("/reservar/palermo/horario?services=1&barber=any"))
        .await?;
    wait_for(c, "#day-strip").await?;
    let days = strip(c).await;
    assert_eq!(days.len(), 14, "{days:?}");
    assert_eq!(days[0], "domingo 28/02/2027, cerrado", "{days:?}");
    let current = c
        .find(Locator::Css("#day-strip a[aria-current]"))
        .await?
        .attr("aria-label")
        .await?
        .unwrap_or_default();
    assert!(
        current.starts_with("lunes 01/03/2027, ") && current.ends_with("horarios"),
        "the page opens on Monday: {current}"
    );
    let date = c.find(Locator::Css("legend .date")).await?.text().await?;
    assert_eq!(date.to_lowercase(), "lunes 01/03/2027");
    let fits = c
        .execute(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
            vec![],
        )
        .await?;
    assert_eq!(
        fits,
        serde_json::json!(true),
        "no sideways scroll at 390 px"
    );
    shot(c, "booking-picker-390").await;

    // The keyboard: the first slot within a few Tab stops (skip link, brand, branch, barber
    // change, the strip's one stop, the slot).
    c.find(Locator::Css("body")).await?.click().await?;
    let mut reached = None;
    for n in 1..=8 {
        c.active_element()
            .await?
            .send_keys(&Key::Tab.to_string())
            .await?;
        let name = c
            .execute(
                "const e = document.activeElement; return e.name + '|' + (e.closest('label.slot') !== null);",
                vec![],
            )
            .await?;
        if name == serde_json::json!("start|true") {
            reached = Some(n);
            break;
        }
    }
    let reached = reached.expect("the first slot is reached by Tab");
    assert!(reached <= 7, "the first slot took {reached} Tab stops");

    // Sunday itself: closed, and the next free day is offered.
    click(c, "#day-strip a.day").await?;
    wait_for(c, "#next-free").await?;
    let said = c.find(Locator::Css("#no-slots")).await?.text().await?;
    assert_eq!(said, "No hay horarios libres ese día (cerrado).");
    click(c, "#next-free").await?;
    wait_for(c, "label.slot").await?;
    let date = c.find(Locator::Css("legend .date")).await?.text().await?;
    assert_eq!(date.to_lowercase(), "lunes 01/03/2027");
    Ok(())
}
