//! Who is asked for a deposit and what the front desk sees: no payments configured, the
//! policies and client history on the desk, deposits only after a past no-show.

use super::*;

#[tokio::test]
async fn without_payments_the_webhook_does_not_exist_and_bookings_confirm_at_once() {
    let app = crate::helpers::spawn_app().await;
    let created = book(&app, "10:00", 13).await;
    assert_eq!(created["status"], "confirmed");
    assert!(created.get("payment").is_none());
    app.post_raw("/webhooks/mercadopago?data.id=1&type=payment", None, vec![])
        .await
        .expect_error(404, "not_found");
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    assert!(
        doc["components"]["schemas"]["PaymentDto"]["properties"]["init_point"].is_object(),
        "the deposit is not documented: {}",
        doc["components"]["schemas"]
    );
}

#[tokio::test]
async fn the_front_desk_sees_deposits_policies_and_the_clients_history() {
    use barberpro::domain::staff::Role;
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "10:00", 14).await;
    let id = app.id_of(&created);
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
    let client = stored_payment(&app, id.n).await.client.0;

    crate::admin::create_staff(
        &app,
        "recepcion@barberpro.test",
        "Recepción",
        Role::Recepcion,
        None,
    )
    .await;
    let mut browser = crate::admin::Browser::new(&app);
    browser.login_ok("recepcion@barberpro.test").await;
    let page = browser.get("/admin/pagos").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("30 % del precio, a todos los clientes"),
        "{}",
        page.body
    );
    let row = format!("data-booking=\"{id}\"", id = id.n);
    let at = page.body.find(&row).expect("the deposit is listed");
    let tr = &page.body[at..at + page.body[at..].find("</tr>").unwrap()];
    assert!(
        tr.contains("pagada") && tr.contains(&mp.to_string()),
        "{tr}"
    );
    assert!(tr.contains("seña de"), "the history is missing: {tr}");

    let history = browser.get(&format!("/admin/clientes/{client}")).await;
    assert_eq!(history.status, 200);
    let amount = created["payment"]["amount_display"].as_str().unwrap();
    assert!(
        history.body.contains(&format!("{amount} · pagada")),
        "{}",
        history.body
    );
    // The catalogue shows each branch's deposit too.
    let catalog = browser.get("/admin/catalogo").await;
    assert!(
        catalog
            .body
            .contains("<td class=\"deposit\">30 % del precio, a todos los clientes</td>"),
        "{}",
        catalog.body
    );
}

/// `payments.deposit.after_no_shows = 1`: only a client who once did not come pays a deposit.
/// The count comes from the client's own bookings (those that are no longer active and
/// ended as `no_show`); a cancellation does not count.
#[tokio::test]
async fn a_deposit_is_asked_only_of_clients_with_a_past_no_show() {
    let clock = Clock::manual(ts(MONDAY_8AM));
    let fake = FakeMercadoPago::start(clock.clone()).await;
    let f = fake.clone();
    let app = spawn_app_configured(clock, move |c, dir| {
        c.payments = payments_config(&f, dir);
        c.payments.deposit.after_no_shows = 1;
    })
    .await;
    let set = |id: u64, status: BookingStatus| {
        let now = ts(&at(TUESDAY, "20:00"));
        app.store
            .write(move |txn| bookings::set_status(txn, BookingId(id), status, None, now))
    };
    // Client 1 comes once and misses once; client 2 cancels once.
    let first = book(&app, "10:00", 1).await;
    assert_eq!(
        first["status"], "confirmed",
        "no deposit without a past no-show"
    );
    let missed = book(&app, "11:00", 1).await;
    let cancelled = book(&app, "12:00", 2).await;
    assert_eq!(cancelled["status"], "confirmed");
    set(app.id_of(&missed).n, BookingStatus::NoShow)
        .await
        .unwrap();
    set(app.id_of(&cancelled).n, BookingStatus::Cancelled)
        .await
        .unwrap();

    let again = book(&app, "15:00", 1).await;
    assert_eq!(again["status"], "pending_payment", "{again}");
    assert!(deposit_of(&again) > 0);
    let other = book(&app, "16:00", 2).await;
    assert_eq!(
        other["status"], "confirmed",
        "a cancellation is not a no-show: {other}"
    );
}
