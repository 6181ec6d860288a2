//! The MercadoPago line at Cobrar, through the desk's pages and the MercadoPago fake: the
//! comprobante creates its payment link (a link and a QR), MercadoPago's signed webhook marks
//! it paid once, and la caja shows it apart from the cash.

use barberpro::domain::caja::{EntryId, MpLink};
use barberpro::domain::staff::Role;
use barberpro::http::Clock;
use barberpro::store::{audit, ledger, mp_links};
use reqwest::StatusCode;

use super::forms::{ledger_len, walk_in};
use crate::admin::{Browser, owner_app};
use crate::fake_mercadopago::{FakeMercadoPago, Op, send_webhook};
use crate::helpers::{MONDAY_8AM, TestApp, spawn_app_configured, ts};
use crate::payments::{drained, eventually, payments_config};

/// The demo chain with MercadoPago configured (the fake), the owner logged in at the desk.
pub(super) async fn desk_with_mercadopago() -> (TestApp, FakeMercadoPago, Browser) {
    let clock = Clock::manual(ts(MONDAY_8AM));
    let fake = FakeMercadoPago::start(clock.clone()).await;
    let f = fake.clone();
    let app =
        spawn_app_configured(clock, move |c, dir| c.payments = payments_config(&f, dir)).await;
    let b = Browser::staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    (app, fake, b)
}

/// A walk-in's $ 8.000 haircut: $ 3.000 in cash, $ 5.000 by MercadoPago. Sale N.º 1.
pub(super) async fn charge_split(b: &mut Browser) {
    walk_in(
        b,
        &[
            ("servicio", "1"),
            ("pago_efectivo", "3.000"),
            ("pago_mercado_pago", "5.000"),
        ],
    )
    .await
    .expect_redirect("/admin/caja/comprobante/1");
}

pub(super) fn fact(body: &str, id: &str) -> String {
    let key = format!("id=\"{id}\">");
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no #{id} in {body}"))
        + key.len();
    body[at..].split('<').next().unwrap_or_default().to_owned()
}

pub(super) async fn link_of(app: &TestApp) -> Option<MpLink> {
    app.store
        .read(|tx| mp_links::get(tx, EntryId(1)))
        .await
        .unwrap()
}

pub(super) async fn create_link(b: &mut Browser) -> crate::admin::Page {
    let csrf = b.get("/admin/caja/comprobante/1").await.csrf();
    b.post(
        "/admin/caja/comprobante/1/mercadopago",
        &[("csrf", csrf.as_str())],
    )
    .await
}

/// Voids sale 1 of palermo from the Caja page's form.
pub(super) async fn void_sale_1(b: &mut Browser) -> crate::admin::Page {
    let csrf = b.get("/admin/caja?branch=palermo").await.csrf();
    b.post(
        "/admin/caja/anular/1",
        &[
            ("csrf", csrf.as_str()),
            ("branch", "palermo"),
            ("motivo", "Error de carga"),
        ],
    )
    .await
}

#[tokio::test]
async fn the_mercadopago_line_gets_a_link_and_qr_and_its_webhook_marks_it_paid_once() {
    let (app, fake, mut b) = desk_with_mercadopago().await;
    charge_split(&mut b).await;
    let sale = app.store.read(ledger::all).await.unwrap();

    // Before a link: the comprobante offers one; la caja counts the MercadoPago line as
    // pending and only the cash as expected cash.
    let page = b.get("/admin/caja/comprobante/1").await;
    assert!(page.body.contains("id=\"mp-create\""), "{}", page.body);
    assert_eq!(fact(&page.body, "mp-state"), "Sin link de pago");
    assert!(!page.body.contains("id=\"mp-qr\""));
    let till = b.get("/admin/caja?branch=palermo").await;
    assert!(
        fact(&till.body, "till-mp-pending").contains("5.000,00"),
        "{}",
        till.body
    );
    assert!(
        fact(&till.body, "till-expected").contains("3.000,00"),
        "{}",
        till.body
    );

    // The desk creates the link: one preference for the line's amount, named by the sale.
    let created = create_link(&mut b).await;
    created.expect_redirect("/admin/caja/comprobante/1");
    let prefs = fake.seen(Op::Preference);
    assert_eq!(prefs.len(), 1);
    let body = &prefs[0].body;
    assert_eq!(body["external_reference"], "caja-1");
    assert_eq!(body["items"][0]["unit_price"], 5000.0);
    assert_eq!(body["items"][0]["currency_id"], "ARS");
    assert_eq!(
        body["notification_url"],
        format!("{}/webhooks/mercadopago", app.state.public_url)
    );
    assert!(prefs[0].idempotency_key.is_some());
    let page = b.get(&created.location).await;
    assert!(
        page.body.contains("Link de MercadoPago por"),
        "{}",
        page.body
    );
    assert_eq!(fact(&page.body, "mp-state"), "Pendiente de pago");
    let link = link_of(&app).await.expect("the link is stored");
    assert!(
        page.body.contains(&format!(
            "id=\"mp-link\" href=\"{}\"",
            link.url.replace('&', "&amp;")
        )),
        "{}",
        page.body
    );
    let qr = page.body.split("id=\"mp-qr\">").nth(1).expect("a QR");
    assert!(qr.starts_with("<svg role=\"img\""), "{qr}");
    assert!(
        !page.body.contains("id=\"mp-create\""),
        "one live link per sale"
    );

    // Asking again shows the same link: MercadoPago is not asked twice.
    create_link(&mut b)
        .await
        .expect_redirect("/admin/caja/comprobante/1");
    assert_eq!(fake.seen(Op::Preference).len(), 1);
    assert_eq!(link_of(&app).await.as_ref(), Some(&link));

    // The client pays; MercadoPago's signed webhook marks the line paid.
    let mp = fake.pay_reference("caja-1", 500_000, "approved");
    fake.notify(&app, mp).await.expect(200);
    let paid = eventually("the link is paid", || async {
        link_of(&app).await.filter(MpLink::is_paid)
    })
    .await;
    assert_eq!(paid.paid.as_ref().map(|p| p.mp_payment_id), Some(mp));

    // Replays change nothing: each is fetched again (never trusted) and applied as a no-op.
    for _ in 0..3 {
        fake.notify(&app, mp).await.expect(200);
        // One at a time: a replay queued while the last is pending joins it.
        drained(&app).await;
    }
    assert_eq!(fake.seen(Op::GetPayment).len(), 4);
    assert_eq!(link_of(&app).await, Some(paid), "a replay changed the link");
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 50))
        .await
        .unwrap();
    let count = |action: &str| entries.iter().filter(|e| e.action == action).count();
    assert_eq!(count("ledger.mp_paid"), 1, "paid once");
    assert_eq!(count("ledger.mp_link"), 1);
    let paid_entry = entries
        .iter()
        .find(|e| e.action == "ledger.mp_paid")
        .unwrap();
    assert_eq!(paid_entry.actor_email, "system");
    assert_eq!(paid_entry.entity_id, Some(1));

    // The comprobante and la caja show it paid; the cash and the ledger are as they were.
    let page = b.get("/admin/caja/comprobante/1").await;
    assert_eq!(
        fact(&page.body, "mp-state"),
        format!("Pagado por MercadoPago (pago N.º {mp})")
    );
    assert!(
        !page.body.contains("id=\"mp-qr\""),
        "a paid link is not offered"
    );
    let till = b.get("/admin/caja?branch=palermo").await;
    assert!(
        fact(&till.body, "till-mp-paid").contains("5.000,00"),
        "{}",
        till.body
    );
    assert!(
        !fact(&till.body, "till-mp-pending").contains("5.000"),
        "{}",
        till.body
    );
    assert!(
        fact(&till.body, "till-expected").contains("3.000,00"),
        "{}",
        till.body
    );
    assert_eq!(
        app.store.read(ledger::all).await.unwrap(),
        sale,
        "the ledger was rewritten"
    );
}

#[tokio::test]
async fn forged_webhooks_wrong_amounts_and_rejections_pay_no_link() {
    let (app, fake, mut b) = desk_with_mercadopago().await;
    charge_split(&mut b).await;
    create_link(&mut b)
        .await
        .expect_redirect("/admin/caja/comprobante/1");

    // A payment of the right amount, but the webhook's signature is forged: refused unread.
    let mp = fake.pay_reference("caja-1", 500_000, "approved");
    let (query, rid, _) = fake.signed_webhook(mp);
    let forged = send_webhook(&app, &query, Some(&rid), Some("ts=1,v1=00"), mp).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(
        fake.seen(Op::GetPayment).is_empty(),
        "a forged webhook was acted on"
    );

    // Approved for less than the line, then a rejection: neither pays it.
    let short = fake.pay_reference("caja-1", 400_000, "approved");
    fake.notify(&app, short).await.expect(200);
    let rejected = fake.pay_reference("caja-1", 500_000, "rejected");
    fake.notify(&app, rejected).await.expect(200);
    drained(&app).await;
    let link = link_of(&app).await.expect("the link");
    assert!(!link.is_paid(), "{link:?}");
    let page = b.get("/admin/caja/comprobante/1").await;
    assert_eq!(
        fact(&page.body, "mp-state"),
        "Pago rechazado: el cliente puede intentar de nuevo"
    );
    assert!(
        page.body.contains("id=\"mp-qr\""),
        "the link can still be paid"
    );
    let till = b.get("/admin/caja?branch=palermo").await;
    assert!(
        fact(&till.body, "till-mp-pending").contains("5.000,00"),
        "{}",
        till.body
    );

    // A voided sale gets no link; a barbero cannot ask for one.
    let voided = void_sale_1(&mut b).await;
    assert_eq!(voided.status, StatusCode::SEE_OTHER);
    assert!(
        b.get("/admin/caja/comprobante/1")
            .await
            .body
            .contains("ANULADO")
    );
    let refused = create_link(&mut b).await;
    let page = b.get(&refused.location).await;
    assert!(
        page.body.contains("Ese cobro ya está anulado."),
        "{}",
        page.body
    );
    let mut barber = Browser::staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let csrf = barber.get("/admin/agenda").await.csrf();
    let refused = barber
        .post(
            "/admin/caja/comprobante/1/mercadopago",
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(fake.seen(Op::Preference).len(), 1);
}

#[tokio::test]
async fn without_mercadopago_the_line_is_recorded_without_a_link() {
    let (app, mut b) = owner_app().await;
    charge_split(&mut b).await;
    let page = b.get("/admin/caja/comprobante/1").await;
    assert!(page.body.contains("Pago: MercadoPago"), "{}", page.body);
    assert!(!page.body.contains("id=\"mp\""), "{}", page.body);
    let answer = create_link(&mut b).await;
    answer.expect_redirect("/admin/caja/comprobante/1");
    let page = b.get(&answer.location).await;
    assert!(
        page.body.contains("MercadoPago no está configurado"),
        "{}",
        page.body
    );
    assert!(link_of(&app).await.is_none());
    assert_eq!(ledger_len(&app).await, 1);
}
