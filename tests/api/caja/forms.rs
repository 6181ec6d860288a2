//! La caja's forms over HTTP: a walk-in charged with a product, a tip and a split payment;
//! bad amounts; the till's day from open to close; a booking charged once.

use barberpro::domain::caja::EntryKind;
use barberpro::domain::staff::Role;
use barberpro::store::ledger;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{Browser, at_tuesday_ten, owner_app};
use crate::helpers::{TUESDAY, TestApp, at, booking, phone};

/// The sales and voids in the ledger.
pub async fn ledger_len(app: &TestApp) -> usize {
    app.store.read(ledger::all).await.unwrap().len()
}

/// Adds a product through the owner's form, with `units` in stock at Palermo.
pub async fn product(b: &mut Browser, name: &str, price: &str, units: &str) {
    let csrf = b.get("/admin/productos?branch=palermo").await.csrf();
    b.post(
        "/admin/productos/nuevo",
        &[
            ("csrf", &csrf),
            ("branch", "palermo"),
            ("nombre", name),
            ("precio", price),
            ("minimo", "3"),
        ],
    )
    .await
    .expect_redirect("/admin/productos?branch=palermo");
    let page = b.get("/admin/productos?branch=palermo").await;
    assert!(page.body.contains(name), "{}", page.body);
    let id = page
        .body
        .split("data-product=\"")
        .last()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let done = b
        .post(
            &format!("/admin/productos/{id}/stock"),
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("cantidad", units),
                ("motivo", "compra"),
            ],
        )
        .await;
    done.expect_redirect("/admin/productos?branch=palermo");
}

/// Posts the walk-in checkout form with `extra` fields; returns the answer.
pub async fn walk_in(b: &mut Browser, extra: &[(&str, &str)]) -> crate::admin::Page {
    let csrf = b.get("/admin/caja/cobrar?branch=palermo").await.csrf();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("branch", "palermo"),
        ("barber", "1"),
    ];
    form.extend_from_slice(extra);
    b.post("/admin/caja/cobrar", &form).await
}

#[tokio::test]
async fn a_walk_in_is_charged_with_a_product_a_tip_and_a_split_payment() {
    let (app, mut b) = owner_app().await;
    product(&mut b, "Pomada mate", "4.500", "5").await;
    let page = walk_in(
        &mut b,
        &[
            ("servicio", "1"),
            ("producto_1", "1"),
            ("propina", "1.500"),
            ("pago_efectivo", "10.000"),
            ("pago_debito", "4000,00"),
        ],
    )
    .await;
    page.expect_redirect("/admin/caja/comprobante/1");
    let receipt = b.get(&page.location).await;
    assert_eq!(receipt.status, StatusCode::OK);
    for want in [
        "Cobro registrado: $\u{a0}14.000,00.",
        "Comprobante N.º 1",
        "Corte clásico",
        "Pomada mate × 1",
        "Propina",
        "Pago: Efectivo",
        "Pago: Débito",
        "Comprobante no válido como factura.",
    ] {
        assert!(
            receipt.body.contains(want),
            "the receipt lacks {want:?}: {}",
            receipt.body
        );
    }
    let entries = app.store.read(ledger::all).await.unwrap();
    let EntryKind::Sale(sale) = &entries[0].kind else {
        panic!("not a sale: {entries:?}")
    };
    assert_eq!(sale.checkout.total.centavos(), 1_400_000);
    assert_eq!(sale.checkout.cash(), 1_000_000);
    // Prometheus counts the money by branch and method (the Grafana panels' series).
    let addr = app.metrics.expect("the metrics listener is on in tests");
    let scrape = crate::helpers::plain_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "barberpro_revenue_centavos_total{branch=\"palermo\",method=\"efectivo\"} 1000000\n",
        "barberpro_revenue_centavos_total{branch=\"palermo\",method=\"debito\"} 400000\n",
        "barberpro_checkouts_total{branch=\"palermo\"} 1\n",
        "barberpro_checkout_voids_total{branch=\"palermo\"} 0\n",
    ] {
        assert!(
            scrape.contains(want),
            "the scrape lacks {want:?}:\n{scrape}"
        );
    }
    let stock = b.get("/admin/productos?branch=palermo").await;
    assert!(
        stock.body.contains("<td>4</td>") || stock.body.contains("<td>4 "),
        "the sale took one unit: {}",
        stock.body
    );
}

#[tokio::test]
async fn bad_amounts_go_back_to_the_form_with_their_reason_and_charge_nothing() {
    let (app, mut b) = owner_app().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("propina", "-100"), ("pago_efectivo", "8000")],
            "no puede ser negativo",
        ),
        (
            &[("propina", "12,345"), ("pago_efectivo", "8000")],
            "más de dos decimales",
        ),
        (
            &[("propina", "doce mil"), ("pago_efectivo", "8000")],
            "no es un número de pesos",
        ),
        (&[("pago_efectivo", "99999999999")], "demasiado grande"),
        (
            &[("pago_efectivo", "<script>alert(1)</script>")],
            "no es un número de pesos",
        ),
        (
            &[("pago_efectivo", "9000")],
            "Los pagos suman $\u{a0}9.000,00 y hay que cobrar $\u{a0}8.000,00",
        ),
        (
            &[("pago_efectivo", "5000"), ("pago_credito", "5000")],
            "Los pagos suman",
        ),
        (
            &[("descuento", "9000"), ("motivo_descuento", "amigo")],
            "El descuento supera el total",
        ),
        (
            &[("descuento", "1000"), ("pago_efectivo", "7000")],
            "Indicá el motivo del descuento",
        ),
        (
            &[("producto_1", "2"), ("pago_efectivo", "8000")],
            "El producto no existe",
        ),
        (
            &[("producto_1", "-2"), ("pago_efectivo", "8000")],
            "La cantidad debe ser",
        ),
    ];
    for (fields, want) in cases {
        let mut form = vec![("servicio", "1")];
        form.extend_from_slice(fields);
        let page = walk_in(&mut b, &form).await;
        page.expect_redirect("/admin/caja/cobrar?branch=palermo");
        let back = b.get(&page.location).await;
        assert!(
            back.body.contains("flash flash-error") && back.body.contains(want),
            "{fields:?}: expected {want:?}: {}",
            back.body
        );
    }
    let nothing = walk_in(&mut b, &[("pago_efectivo", "100")]).await;
    let back = b.get(&nothing.location).await;
    assert!(
        back.body.contains("Agregá al menos un servicio"),
        "{}",
        back.body
    );
    assert_eq!(
        ledger_len(&app).await,
        0,
        "a refused checkout wrote to the ledger"
    );
}

/// Posts owned field values.
async fn post(b: &mut Browser, path: &str, f: Vec<(&'static str, String)>) -> crate::admin::Page {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &pairs).await
}

#[tokio::test]
async fn the_till_opens_moves_cash_and_closes_with_its_difference_and_then_takes_nothing_more() {
    let (app, mut b) = owner_app().await;
    let page = b.get("/admin/caja?branch=palermo").await;
    assert!(page.body.contains("sin abrir"), "{}", page.body);
    let csrf = page.csrf();
    let day = "2027-03-01";
    let form = |importe: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("branch", "palermo".into()),
            ("fecha", day.into()),
            ("importe", importe.into()),
        ]
    };
    post(&mut b, "/admin/caja/abrir", form("10.000"))
        .await
        .expect_redirect("/admin/caja?branch=palermo");
    walk_in(&mut b, &[("servicio", "1"), ("pago_efectivo", "8.000")])
        .await
        .expect_redirect("/admin/caja/comprobante/");
    let mut retiro = form("5000");
    retiro.extend([("tipo", "retiro".into()), ("motivo", "al banco".into())]);
    post(&mut b, "/admin/caja/movimiento", retiro)
        .await
        .expect_redirect("/admin/caja");
    // A bad amount is refused with its reason, and nothing moves.
    let mut bad = form("-5");
    bad.extend([("tipo", "gasto".into()), ("motivo", "x".into())]);
    let refused = post(&mut b, "/admin/caja/movimiento", bad).await;
    assert!(
        b.get(&refused.location)
            .await
            .body
            .contains("no puede ser negativo")
    );
    let open = b.get("/admin/caja?branch=palermo").await;
    assert!(
        open.body.contains("$\u{a0}13.000,00"),
        "expected 10.000 + 8.000 − 5.000: {}",
        open.body
    );
    post(&mut b, "/admin/caja/cerrar", form("12.500"))
        .await
        .expect_redirect("/admin/caja");
    let closed = b
        .get(&format!("/admin/caja?branch=palermo&fecha={day}"))
        .await;
    assert!(closed.body.contains("cerrada"), "{}", closed.body);
    assert!(
        closed.body.contains("-$\u{a0}500,00 (faltante)"),
        "the difference is shown: {}",
        closed.body
    );
    // Closed: closing or opening it again is refused; new cash goes to the next day.
    let again = post(&mut b, "/admin/caja/cerrar", form("12.500")).await;
    assert!(
        b.get(&again.location)
            .await
            .body
            .contains("La caja de ese día está cerrada.")
    );
    let reopen = post(&mut b, "/admin/caja/abrir", form("1")).await;
    assert!(
        b.get(&reopen.location)
            .await
            .body
            .contains("La caja de ese día está cerrada.")
    );
    let mut gasto = form("1.000");
    gasto.extend([("tipo", "gasto".into()), ("motivo", "café".into())]);
    post(&mut b, "/admin/caja/movimiento", gasto)
        .await
        .expect_redirect("/admin/caja");
    let entries = app.store.read(ledger::all).await.unwrap();
    assert_eq!(
        entries.last().unwrap().day.to_string(),
        "2027-03-02",
        "a closed day took an entry"
    );
    let still = b
        .get(&format!("/admin/caja?branch=palermo&fecha={day}"))
        .await;
    assert!(
        still.body.contains("-$\u{a0}500,00 (faltante)"),
        "the closed day changed: {}",
        still.body
    );
}

#[tokio::test]
async fn a_completed_booking_offers_its_checkout_and_is_charged_once() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(
            &[1, 3],
            json!(1),
            &at(TUESDAY, "10:00"),
            &phone(1),
        ))
        .await;
    at_tuesday_ten(&app, &mut b, "duena@barberpro.test").await;
    let csrf = b.get("/admin/agenda").await.csrf();
    let path = format!("/admin/bookings/{id}/status", id = id.n);
    b.post(&path, &[("to", "checked_in"), ("csrf", &csrf)])
        .await;
    b.post(&path, &[("to", "completed"), ("csrf", &csrf)]).await;
    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    let link = format!("/admin/caja/cobrar?turno={id}", id = id.n);
    assert!(
        agenda.body.contains(&link),
        "completing does not offer the checkout: {}",
        agenda.body
    );
    let form = b.get(&link).await;
    assert!(form.body.contains("Juan Pérez"), "{}", form.body);
    assert!(form.body.contains("value=\"1\" checked") && form.body.contains("value=\"3\" checked"));
    let csrf = form.csrf();
    let id_s = id.n.to_string();
    let fields = [
        ("csrf", csrf.as_str()),
        ("turno", id_s.as_str()),
        ("barber", "1"),
        ("servicio", "1"),
        ("servicio", "3"),
        ("pago_transferencia", "13000"),
    ];
    b.post("/admin/caja/cobrar", &fields)
        .await
        .expect_redirect("/admin/caja/comprobante/");
    let twice = b.post("/admin/caja/cobrar", &fields).await;
    twice.expect_redirect(&link);
    assert!(
        b.get(&twice.location)
            .await
            .body
            .contains("Este turno ya está cobrado.")
    );
    assert_eq!(ledger_len(&app).await, 1);
    // A barbero sees the agenda without the checkout.
    let mut m = Browser::staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let theirs = m
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert!(
        !theirs.body.contains(&link),
        "a barbero is offered the checkout"
    );
}
