//! La caja in a real headless Chromium: a walk-in charged with a product, a tip and a split
//! payment; the till closed with a difference; the owner sees the day in the reports; a
//! MercadoPago line's link and QR, paid through the fake MercadoPago's signed notification.
//! Screenshots go to `target/screenshots/` (`caja-*.png`, copied to `tests/screenshots/` for
//! the README).

use barberpro::domain::staff::Role;
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::json;

use crate::admin::{PASSWORD, create_staff};
use barberpro::domain::caja::{EntryId, MpLink};
use barberpro::http::Clock;

use crate::chromium::{
    Screen, body_text, click, connect, shot, start_driver, wait_for, wait_for_text,
};
use crate::fake_mercadopago::FakeMercadoPago;
use crate::helpers::{MONDAY_8AM, TestApp, spawn_app, spawn_app_configured, ts};
use crate::payments::{eventually, payments_config};

/// Sets an input's value as a person leaves it.
async fn fill(c: &Client, css: &str, value: &str) -> Result<(), CmdError> {
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(css), json!(value)],
    )
    .await?;
    Ok(())
}

async fn log_in(c: &Client, base: &str) -> Result<(), CmdError> {
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

async fn walk_through(c: &Client, base: &str) -> Result<(), CmdError> {
    log_in(c, base).await?;

    // A product with stock at Palermo.
    c.goto(&format!("{base}/admin/productos?branch=palermo"))
        .await?;
    fill(c, "#nombre", "Pomada mate").await?;
    fill(c, "#precio", "4.500").await?;
    click(c, "#new-product button[type=submit]").await?;
    wait_for(c, "tr[data-product='1']").await?;
    fill(c, "tr[data-product='1'] input[name=cantidad]", "6").await?;
    fill(
        c,
        "tr[data-product='1'] input[name=motivo]",
        "Compra al proveedor",
    )
    .await?;
    click(c, "tr[data-product='1'] button[type=submit]").await?;
    wait_for_text(c, ".flash-ok", "Stock ajustado: quedan 6.").await?;

    // The till opens with $ 10.000.
    c.goto(&format!("{base}/admin/caja?branch=palermo")).await?;
    fill(c, "#fondo", "10.000").await?;
    click(c, "#open-till button[type=submit]").await?;
    wait_for_text(c, "#till-state", "abierta").await?;

    // A walk-in: a haircut, a pomade, a tip, paid part cash and part debit.
    click(c, "#new-checkout").await?;
    wait_for(c, "#checkout").await?;
    click(c, "input[name=servicio][value='1']").await?;
    fill(c, "#producto_1", "1").await?;
    fill(c, "#propina", "1.500").await?;
    fill(c, "#pago_efectivo", "10.000").await?;
    fill(c, "#pago_debito", "4.000").await?;
    shot(c, "caja-cobrar").await;
    click(c, "#charge").await?;
    wait_for(c, "#receipt").await?;
    wait_for_text(c, "#receipt-total", "$ 14.000,00").await?;
    shot(c, "caja-comprobante").await;

    // The till is closed with $ 19.500 counted against $ 20.000 expected.
    c.goto(&format!("{base}/admin/caja?branch=palermo")).await?;
    wait_for_text(c, "#till-expected", "$ 20.000,00").await?;
    fill(c, "#contado", "19.500").await?;
    click(c, "#close-till button[type=submit]").await?;
    wait_for_text(c, "#till-state", "cerrada").await?;
    wait_for_text(c, "#till-difference", "-$ 500,00 (faltante)").await?;
    shot(c, "caja").await;

    // The owner sees the day in the reports.
    c.goto(&format!(
        "{base}/admin/reportes?desde=2027-03-01&hasta=2027-03-01"
    ))
    .await?;
    wait_for_text(c, "#report-tickets", "1").await?;
    wait_for_text(c, "#report-sales", "$ 12.500,00").await?;
    let text = body_text(c).await;
    assert!(
        text.contains("Débito") && text.contains("Pomada mate"),
        "{text}"
    );
    assert!(
        c.find(Locator::Css("#report-dia svg rect")).await.is_ok(),
        "no chart drawn"
    );
    shot(c, "reportes").await;
    Ok(())
}

#[tokio::test]
async fn a_walk_in_is_charged_the_till_closed_and_the_day_reported_in_chromium() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 1000,
        },
    )
    .await;
    let result = walk_through(&c, &app.base).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
}

/// A walk-in's $ 8.000 haircut, $ 3.000 cash and $ 5.000 by MercadoPago: the comprobante makes
/// its link and QR (the README's screenshot); once the client pays, MercadoPago's signed
/// notification (sent by the test, as MercadoPago would) shows it paid on the Caja page.
async fn mercadopago_through(
    c: &Client,
    app: &TestApp,
    fake: &FakeMercadoPago,
) -> Result<(), CmdError> {
    let base = &app.base;
    log_in(c, base).await?;
    c.goto(&format!("{base}/admin/caja/cobrar?branch=palermo"))
        .await?;
    wait_for(c, "#checkout").await?;
    click(c, "input[name=servicio][value='1']").await?;
    fill(c, "#pago_efectivo", "3.000").await?;
    fill(c, "#pago_mercado_pago", "5.000").await?;
    click(c, "#charge").await?;
    wait_for_text(c, "#receipt-total", "$ 8.000,00").await?;
    wait_for_text(c, "#mp-state", "Sin link de pago").await?;
    click(c, "#mp-create button[type=submit]").await?;
    wait_for_text(c, "#mp-state", "Pendiente de pago").await?;
    wait_for(c, "#mp-qr svg path").await?;
    let href = c
        .find(Locator::Css("#mp-link"))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    let link = app
        .store
        .read(|tx| barberpro::store::mp_links::get(tx, EntryId(1)))
        .await
        .unwrap()
        .expect("the link is stored");
    assert_eq!(href, link.url, "the page links MercadoPago's checkout");
    c.execute(
        "document.getElementById('mp').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await?;
    // The QR differs each run (a new preference id): copied to tests/screenshots by hand.
    shot(c, "caja-mercadopago").await;

    let mp = fake.pay_reference("caja-1", 500_000, "approved");
    fake.notify(app, mp).await.expect(200);
    eventually("the link is paid", || async {
        app.store
            .read(|tx| barberpro::store::mp_links::get(tx, EntryId(1)))
            .await
            .unwrap()
            .filter(MpLink::is_paid)
    })
    .await;
    c.goto(&format!("{base}/admin/caja?branch=palermo")).await?;
    wait_for_text(c, "#till-mp-paid", "$ 5.000,00").await?;
    wait_for_text(c, "#till-mp-pending", "$ 0,00").await?;
    shot(c, "caja-mercadopago-pagado").await;
    c.goto(&format!("{base}/admin/caja/comprobante/1")).await?;
    wait_for_text(
        c,
        "#mp-state",
        &format!("Pagado por MercadoPago (pago N.º {mp})"),
    )
    .await?;
    let text = body_text(c).await;
    assert!(
        text.contains("MercadoPago (pagado el 01/03/2027 08:00)"),
        "{text}"
    );
    assert!(c.find(Locator::Css("#mp-qr")).await.is_err(), "paid: no QR");
    Ok(())
}

#[tokio::test]
async fn a_mercadopago_line_shows_its_link_and_qr_and_is_paid_in_chromium() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let clock = Clock::manual(ts(MONDAY_8AM));
    let fake = FakeMercadoPago::start(clock.clone()).await;
    let f = fake.clone();
    let app =
        spawn_app_configured(clock, move |c, dir| c.payments = payments_config(&f, dir)).await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 1000,
        },
    )
    .await;
    let result = mercadopago_through(&c, &app, &fake).await;
    let _ = c.close().await;
    result.expect("the MercadoPago walk-through");
}
