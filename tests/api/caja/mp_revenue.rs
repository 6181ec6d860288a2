//! A MercadoPago line is money received when MercadoPago pays it, not when it is charged:
//! the revenue counters (on a real scrape) count it on the approved notification, the
//! owner's report shows it pending apart, and the comprobante (printed and by WhatsApp)
//! says «pendiente de pago» or «pagado el …». Without MercadoPago configured the desk only
//! records a payment taken by other means: received at the sale.

use std::time::Duration;

use barberpro::domain::caja::MpLink;
use barberpro::domain::staff::Role;
use barberpro::http::Clock;
use serde_json::json;

use super::mercadopago::{
    charge_split, create_link, desk_with_mercadopago, fact, link_of, void_sale_1,
};
use crate::admin::{Browser, owner_app};
use crate::helpers::{MONDAY_8AM, TUESDAY, TestApp, at, booking, phone, spawn_app_configured, ts};
use crate::payments::{eventually, payments_config};

async fn scrape(app: &TestApp) -> String {
    let addr = app.metrics.expect("the metrics listener is on in tests");
    crate::helpers::plain_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn revenue(scrape: &str, family: &str, method: &str) -> String {
    let key = format!("{family}{{branch=\"palermo\",method=\"{method}\"}} ");
    let at = scrape
        .find(&key)
        .unwrap_or_else(|| panic!("no {key} in:\n{scrape}"))
        + key.len();
    scrape[at..].lines().next().unwrap_or_default().to_owned()
}

const REVENUE: &str = "barberpro_revenue_centavos_total";
const VOIDED: &str = "barberpro_revenue_voided_centavos_total";

/// The report's «Cobrado por medio de pago» row `label`, as shown.
fn method_row(body: &str, label: &str) -> String {
    let key = format!("<tr><td>{label}</td><td>");
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no row {label:?} in {body}"))
        + key.len();
    body[at..].split('<').next().unwrap_or_default().to_owned()
}

const REPORT: &str = "/admin/reportes?desde=2027-03-01&hasta=2027-03-01";

#[tokio::test]
async fn a_mercadopago_line_counts_as_revenue_when_paid_and_is_pending_until_then() {
    let (app, fake, mut b) = desk_with_mercadopago().await;
    charge_split(&mut b).await;

    // Charged, not paid: the cash counts, the MercadoPago line does not yet.
    let s = scrape(&app).await;
    assert_eq!(revenue(&s, REVENUE, "efectivo"), "300000", "{s}");
    assert_eq!(revenue(&s, REVENUE, "mercado_pago"), "0", "{s}");
    let report = b.get(REPORT).await;
    assert!(
        fact(&report.body, "report-mp-pending").contains("5.000,00"),
        "{}",
        report.body
    );
    assert!(method_row(&report.body, "MercadoPago").contains("0,00"));
    assert!(method_row(&report.body, "MercadoPago pendiente de pago").contains("5.000,00"));
    assert!(
        fact(&report.body, "report-sales").contains("8.000,00"),
        "the sale counts in full: {}",
        report.body
    );
    let receipt = b.get("/admin/caja/comprobante/1").await;
    assert!(
        receipt
            .body
            .contains("Pago: MercadoPago (pendiente de pago)"),
        "{}",
        receipt.body
    );

    // The client pays through the link ten minutes later; MercadoPago's notification marks it.
    create_link(&mut b)
        .await
        .expect_redirect("/admin/caja/comprobante/1");
    app.clock.set(ts("2027-03-01T08:10:00-03:00"));
    let mp = fake.pay_reference("caja-1", 500_000, "approved");
    fake.notify(&app, mp).await.expect(200);
    eventually("the link is paid", || async {
        link_of(&app).await.filter(MpLink::is_paid)
    })
    .await;
    let s = eventually("the counter moves", || async {
        let s = scrape(&app).await;
        (revenue(&s, REVENUE, "mercado_pago") != "0").then_some(s)
    })
    .await;
    assert_eq!(revenue(&s, REVENUE, "mercado_pago"), "500000", "{s}");
    assert_eq!(revenue(&s, REVENUE, "efectivo"), "300000", "{s}");
    let report = b.get(REPORT).await;
    assert!(
        fact(&report.body, "report-mp-pending").contains("0,00")
            && !fact(&report.body, "report-mp-pending").contains("5.000"),
        "{}",
        report.body
    );
    assert!(method_row(&report.body, "MercadoPago").contains("5.000,00"));
    let receipt = b.get("/admin/caja/comprobante/1").await;
    assert!(
        receipt
            .body
            .contains("Pago: MercadoPago (pagado el 01/03/2027 08:10)"),
        "{}",
        receipt.body
    );

    // Voided: what had counted is counted back, the MercadoPago line included.
    void_sale_1(&mut b).await;
    let s = scrape(&app).await;
    assert_eq!(revenue(&s, VOIDED, "mercado_pago"), "500000", "{s}");
    assert_eq!(revenue(&s, VOIDED, "efectivo"), "300000", "{s}");
}

#[tokio::test]
async fn a_voided_sale_whose_line_was_never_paid_takes_back_only_what_counted() {
    let (app, _fake, mut b) = desk_with_mercadopago().await;
    charge_split(&mut b).await;
    void_sale_1(&mut b).await;
    let s = scrape(&app).await;
    assert_eq!(revenue(&s, VOIDED, "efectivo"), "300000", "{s}");
    assert_eq!(revenue(&s, VOIDED, "mercado_pago"), "0", "{s}");
    let report = b.get(REPORT).await;
    assert!(
        !fact(&report.body, "report-mp-pending").contains("5.000"),
        "a voided line is not pending: {}",
        report.body
    );
}

#[tokio::test]
async fn without_mercadopago_the_line_is_received_at_the_sale() {
    let (app, mut b) = owner_app().await;
    charge_split(&mut b).await;
    let s = scrape(&app).await;
    assert_eq!(revenue(&s, REVENUE, "mercado_pago"), "500000", "{s}");
    let receipt = b.get("/admin/caja/comprobante/1").await;
    assert!(
        receipt
            .body
            .contains("Pago: MercadoPago (pagado el 01/03/2027 08:00)"),
        "{}",
        receipt.body
    );
    let report = b.get(REPORT).await;
    assert!(method_row(&report.body, "MercadoPago").contains("5.000,00"));
    assert!(
        !fact(&report.body, "report-mp-pending").contains("5.000"),
        "{}",
        report.body
    );
}

#[tokio::test]
async fn the_whatsapp_receipt_says_the_mercadopago_line_is_pending() {
    let clock = Clock::manual(ts(MONDAY_8AM));
    let fake = crate::fake_mercadopago::FakeMercadoPago::start(clock.clone()).await;
    let wa = crate::whatsapp_fake::FakeWhatsApp::start().await;
    let (f, w) = (fake.clone(), wa.clone());
    let app = spawn_app_configured(clock, move |c, dir| {
        c.payments = payments_config(&f, dir);
        c.whatsapp = crate::whatsapp::whatsapp_config(dir, &w).whatsapp;
    })
    .await;
    let mut b = Browser::staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let csrf = b.get("/admin/caja?branch=palermo").await.csrf();
    b.post(
        "/admin/caja/cobrar",
        &[
            ("csrf", csrf.as_str()),
            ("branch", "palermo"),
            ("turno", &id.n.to_string()),
            ("barber", "1"),
            ("servicio", "1"),
            ("pago_efectivo", "3.000"),
            ("pago_mercado_pago", "5.000"),
            ("comprobante_whatsapp", "1"),
        ],
    )
    .await
    .expect_redirect("/admin/caja/comprobante/1");
    let sent = wa.wait_accepted(1, Duration::from_secs(10)).await;
    let receipt = sent
        .iter()
        .find(|m| m.template == "comprobante")
        .expect("the receipt went out");
    assert_eq!(
        &receipt.params[5..],
        [
            "1",
            "$\u{a0}8.000,00 (MercadoPago $\u{a0}5.000,00 pendiente de pago)"
        ]
    );
}

#[tokio::test]
async fn a_link_paid_after_its_sale_was_voided_is_owed_back_not_revenue() {
    let (app, fake, mut b) = desk_with_mercadopago().await;
    charge_split(&mut b).await;
    create_link(&mut b)
        .await
        .expect_redirect("/admin/caja/comprobante/1");
    void_sale_1(&mut b).await;
    // The client still had the link open and pays it after the void.
    app.clock.set(ts("2027-03-01T08:10:00-03:00"));
    let mp = fake.pay_reference("caja-1", 500_000, "approved");
    fake.notify(&app, mp).await.expect(200);
    eventually("the link is paid", || async {
        link_of(&app).await.filter(MpLink::is_paid)
    })
    .await;
    let s = scrape(&app).await;
    assert_eq!(
        revenue(&s, REVENUE, "mercado_pago"),
        "0",
        "money owed back is not revenue: {s}"
    );
    let till = b.get("/admin/caja?branch=palermo").await;
    assert!(
        fact(&till.body, "till-mp-refund").contains("5.000,00"),
        "the desk sees what to give back: {}",
        till.body
    );
    let audit = app
        .store
        .read(|tx| {
            barberpro::store::audit::list(tx, &barberpro::store::audit::Filter::default(), 50)
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.action == "ledger.mp_paid"
            && e.after.as_ref().is_some_and(|a| a["refund_due"] == true)),
        "{audit:?}"
    );
}
