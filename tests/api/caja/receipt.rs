//! The comprobante by WhatsApp: a box on Cobrar (ticked when the client already accepted
//! messages) queues it through the outbox; ticking it for a client who had not accepted
//! records their consent (Ley 25.326), audited.

use std::time::Duration;

use barberpro::domain::ClientId;
use barberpro::domain::staff::Role;
use barberpro::http::Clock;
use barberpro::store::{audit, clients};
use serde_json::json;

use crate::admin::Browser;
use crate::helpers::{MONDAY_8AM, TUESDAY, at, booking, phone, spawn_app_configured, ts};
use crate::whatsapp::whatsapp_config;
use crate::whatsapp_fake::FakeWhatsApp;

#[tokio::test]
async fn the_receipt_goes_by_whatsapp_when_the_client_agrees_and_their_consent_is_recorded() {
    let wa = FakeWhatsApp::start().await;
    let w = wa.clone();
    let app = spawn_app_configured(Clock::manual(ts(MONDAY_8AM)), move |c, dir| {
        c.whatsapp = whatsapp_config(dir, &w).whatsapp;
    })
    .await;
    let mut b = Browser::staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let mut body = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    body["client"]["whatsapp_consent"] = json!(false);
    let (first, _) = app.book_ok(&body).await;
    let mut body = booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(1));
    body["client"]["whatsapp_consent"] = json!(false);
    let (second, _) = app.book_ok(&body).await;
    wa.assert_quiet(0, "no consent, no confirmation").await;

    // Without consent the box starts unticked and says what ticking it records.
    let page = b
        .get(&format!("/admin/caja/cobrar?turno={}", first.n))
        .await;
    assert!(
        page.body.contains("id=\"comprobante_whatsapp\">"),
        "unticked: {}",
        page.body
    );
    assert!(page.body.contains("Ley 25.326"), "{}", page.body);
    let csrf = page.csrf();
    let charged = b
        .post(
            "/admin/caja/cobrar",
            &[
                ("csrf", csrf.as_str()),
                ("branch", "palermo"),
                ("turno", &first.n.to_string()),
                ("barber", "1"),
                ("servicio", "1"),
                ("pago_efectivo", "8000"),
                ("comprobante_whatsapp", "1"),
            ],
        )
        .await;
    charged.expect_redirect("/admin/caja/comprobante/1");
    assert!(
        b.get(&charged.location)
            .await
            .body
            .contains("El comprobante sale por WhatsApp."),
    );
    let sent = wa.wait_accepted(1, Duration::from_secs(10)).await;
    assert_eq!(sent[0].template, "comprobante");
    assert_eq!(sent[0].to, "5491123456701");
    assert_eq!(&sent[0].params[5..], ["1", "$\u{a0}8.000,00"]);

    let client = app
        .store
        .read(|tx| clients::get(tx, ClientId(1)))
        .await
        .unwrap()
        .unwrap();
    assert!(
        client.whatsapp_consent,
        "the consent given at the desk is kept"
    );
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 50))
        .await
        .unwrap();
    let opt_in = entries
        .iter()
        .find(|e| e.action == "client.whatsapp_opt_in")
        .expect("the consent is audited");
    assert_eq!(opt_in.actor_email, "duena@barberpro.test");
    assert_eq!(opt_in.entity_id, Some(1));

    // Now the box starts ticked; unticking it sends nothing.
    let page = b
        .get(&format!("/admin/caja/cobrar?turno={}", second.n))
        .await;
    assert!(
        page.body.contains("id=\"comprobante_whatsapp\" checked>"),
        "{}",
        page.body
    );
    b.post(
        "/admin/caja/cobrar",
        &[
            ("csrf", csrf.as_str()),
            ("branch", "palermo"),
            ("turno", &second.n.to_string()),
            ("barber", "1"),
            ("servicio", "1"),
            ("pago_efectivo", "8000"),
        ],
    )
    .await
    .expect_redirect("/admin/caja/comprobante/2");
    wa.assert_quiet(1, "a receipt the client did not ask for")
        .await;
}
