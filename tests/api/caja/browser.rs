//! La caja in a real headless Chromium: a walk-in charged with a product, a tip and a split
//! payment; the till closed with a difference; the owner sees the day in the reports.
//! Screenshots go to `target/screenshots/` (`caja-*.png`, copied to `tests/screenshots/` for
//! the README).

use barberpro::domain::staff::Role;
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::json;

use crate::admin::{PASSWORD, create_staff};
use crate::chromium::{
    Screen, body_text, click, connect, shot, start_driver, wait_for, wait_for_text,
};
use crate::helpers::spawn_app;

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

async fn walk_through(c: &Client, base: &str) -> Result<(), CmdError> {
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
