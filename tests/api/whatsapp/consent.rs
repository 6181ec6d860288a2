//! Consent: clients without it get nothing, and an opt-out (by the client or recorded by the
//! front desk) drops queued messages and stops new ones.

use super::*;

#[tokio::test]
async fn clients_without_consent_get_nothing_and_an_opt_out_drops_queued_messages() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    let mut no_consent = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    no_consent["client"]["whatsapp_consent"] = json!(false);
    let (silent, _) = app.book_ok(&no_consent).await;
    assert!(
        messages(&app, silent.n).await.is_empty(),
        "nothing is queued without consent"
    );

    // A consented client opts out after booking: the queued reminders are dropped.
    let (id, _) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "10:00"), &phone(2)))
        .await;
    fake.wait_accepted(1, WAIT).await;
    let client = app
        .store
        .read(move |tx| barberpro::store::bookings::get(tx, BookingId(id.n)))
        .await
        .unwrap()
        .unwrap()
        .client;
    let now = app.clock.now();
    app.store
        .write(move |txn| barberpro::store::clients::set_whatsapp_consent(txn, client, false, now))
        .await
        .unwrap();
    app.clock.set(ts(&at(TUESDAY, "09:00")));
    let skipped = wait_state(&app, id.n, Template::Reminder, State::Skipped).await;
    assert_eq!(skipped.reason.as_deref(), Some("no_consent"));
    fake.assert_quiet(1, "an opted-out client got a reminder")
        .await;
}

#[tokio::test]
async fn the_front_desk_records_an_opt_out_and_nothing_more_is_queued() {
    use barberpro::domain::staff::Role;
    let (app, fake, _dir) = app_with_whatsapp().await;
    let (first, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    fake.wait_accepted(1, WAIT).await;
    let client = crate::admin::get_booking(&app, first.n).await.client;
    crate::admin::create_staff(
        &app,
        "recepcion@barberpro.test",
        "Recepción",
        Role::Recepcion,
        None,
    )
    .await;
    let mut desk = crate::admin::Browser::new(&app);
    desk.login_ok("recepcion@barberpro.test").await;
    let page = desk.get(&format!("/admin/clientes/{}", client.0)).await;
    assert!(
        page.body.contains("Dar de baja de WhatsApp"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    desk.post(
        &format!("/admin/clientes/{}/whatsapp", client.0),
        &[("csrf", &csrf), ("consent", "false")],
    )
    .await
    .expect_redirect(&format!("/admin/clientes/{}", client.0));
    let page = desk.get(&format!("/admin/clientes/{}", client.0)).await;
    assert!(page.body.contains("no aceptó mensajes"), "{}", page.body);

    // A later booking by phone (without consent this time) queues nothing at all.
    let mut again = booking(&[1], json!(1), &at(TUESDAY, "16:00"), &phone(1));
    again["client"]["whatsapp_consent"] = json!(false);
    let (second, _) = app.book_ok(&again).await;
    assert!(messages(&app, second.n).await.is_empty());
    fake.assert_quiet(1, "a message to a client who opted out")
        .await;
}
