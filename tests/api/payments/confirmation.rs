//! How a deposit gets confirmed: the webhook (once, however often it comes), its signatures,
//! the legacy IPN form, wrong amounts or currencies, and statuses that never move a paid
//! deposit back.

use super::*;

#[tokio::test]
async fn a_booking_with_a_deposit_waits_for_payment_and_the_webhook_confirms_it() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "10:00", 1).await;
    let id = app.id_of(&created);
    assert_eq!(created["status"], "pending_payment", "{created}");
    let deposit = deposit_of(&created);
    assert_eq!(created["payment"]["amount_centavos"], deposit);
    assert_eq!(created["payment"]["status"], "awaiting_payment");
    assert_eq!(
        created["payment"]["expires_at"],
        "2027-03-01T08:15:00-03:00"
    );
    let init_point = created["payment"]["init_point"].as_str().unwrap();
    assert!(init_point.starts_with("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id="));

    // The preference as MercadoPago received it.
    let prefs = fake.seen(Op::Preference);
    assert_eq!(prefs.len(), 1);
    let p = &prefs[0];
    assert_eq!(
        p.authorization.as_deref(),
        Some(&*format!("Bearer {ACCESS_TOKEN}"))
    );
    assert!(p.idempotency_key.as_deref().is_some_and(|k| !k.is_empty()));
    assert_eq!(p.body["external_reference"], id.n.to_string());
    assert_eq!(p.body["items"][0]["currency_id"], "ARS");
    assert_eq!(
        p.body["items"][0]["unit_price"].as_f64().unwrap(),
        deposit as f64 / 100.0
    );
    assert_eq!(p.body["expires"], true);
    assert_eq!(
        p.body["expiration_date_to"],
        "2027-03-01T08:15:00.000-03:00"
    );
    assert_eq!(
        p.body["notification_url"],
        format!("{}/webhooks/mercadopago", app.state.public_url)
    );
    for which in ["success", "pending", "failure"] {
        let url = p.body["back_urls"][which].as_str().unwrap();
        assert!(
            url.contains(&format!("/turnos/{id}")) && !url.contains("token"),
            "{url}"
        );
    }

    // The slot is held meanwhile.
    let barber = created["barber_id"].as_u64().unwrap().to_string();
    let free = app.free_times("palermo", TUESDAY, "1", &barber).await;
    assert!(
        !free.contains(&"10:00".to_owned()),
        "the held slot is offered"
    );

    let mp = fake.pay(id.n, deposit, "approved");
    let started = Instant::now();
    fake.notify(&app, mp).await.expect(200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the webhook took {:?}",
        started.elapsed()
    );
    let b = wait_status(&app, &created, "confirmed").await;
    assert_eq!(b["payment"]["status"], "approved");
    assert_eq!(stored_payment(&app, id.n).await.mp_payment_id, Some(mp));
    assert_eq!(counter(&app, "approved"), 1);
    let fetches = fake.seen(Op::GetPayment);
    assert!(
        fetches
            .iter()
            .all(|s| s.path == format!("/v1/payments/{mp}"))
    );
    let entries = app
        .store
        .read(|tx| {
            barberpro::store::audit::list(tx, &barberpro::store::audit::Filter::default(), 200)
        })
        .await
        .unwrap();
    let paid = entries
        .iter()
        .find(|e| e.action == "booking.deposit_paid")
        .expect("the confirmation by payment is audited");
    assert_eq!(paid.actor_email, "system");
    assert_eq!(paid.before.as_ref().unwrap()["status"], "pending_payment");
    assert_eq!(paid.after.as_ref().unwrap()["status"], "confirmed");
}

#[tokio::test]
async fn the_same_webhook_five_times_confirms_once() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "11:00", 2).await;
    let id = app.id_of(&created);
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
    let before = stored_payment(&app, id.n).await;
    // Every replay is fetched (never trusted), and changes nothing.
    for _ in 0..5 {
        fake.notify(&app, mp).await.expect(200);
        eventually("the replay is handled", || async {
            let left = app
                .store
                .read(payments::pending_notifications)
                .await
                .unwrap();
            (left == 0).then_some(())
        })
        .await;
    }
    assert_eq!(fake.seen(Op::GetPayment).len(), 6);
    let after = stored_payment(&app, id.n).await;
    assert_eq!(before, after, "a replayed webhook changed the deposit");
    assert_eq!(counter(&app, "approved"), 1);
    assert_eq!(booking_view(&app, &created).await["status"], "confirmed");
}

#[tokio::test]
async fn forged_missing_and_stale_signatures_are_refused_and_counted() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "12:00", 3).await;
    let mp = fake.pay(app.id_of(&created).n, deposit_of(&created), "approved");
    let bad = || {
        app.state
            .metrics
            .webhook_bad_signatures
            .get_or_create(&ProviderLabels {
                provider: "mercadopago",
            })
            .get()
    };
    let (query, rid, sig) = fake.signed_webhook(mp);
    // Missing signature.
    send_webhook(&app, &query, Some(&rid), None, mp)
        .await
        .expect_error(401, "invalid_signature");
    // Signed with another secret.
    let ts_part = sig.split(',').next().unwrap().to_owned();
    let ts_value = ts_part.trim_start_matches("ts=");
    let forged = hmac_hex(
        "not-the-secret",
        &format!("id:{mp};request-id:{rid};ts:{ts_value};"),
    );
    send_webhook(
        &app,
        &query,
        Some(&rid),
        Some(&format!("{ts_part},v1={forged}")),
        mp,
    )
    .await
    .expect_error(401, "invalid_signature");
    // A valid signature replayed for another payment id.
    send_webhook(
        &app,
        &format!("?data.id={}&type=payment", mp + 1),
        Some(&rid),
        Some(&sig),
        mp,
    )
    .await
    .expect_error(401, "invalid_signature");
    // Another request id than the one signed.
    send_webhook(&app, &query, Some("another-request"), Some(&sig), mp)
        .await
        .expect_error(401, "invalid_signature");
    // Stale: our clock is 11 minutes past the signed timestamp.
    app.clock
        .set(ts(MONDAY_8AM) + SignedDuration::from_mins(11));
    send_webhook(&app, &query, Some(&rid), Some(&sig), mp)
        .await
        .expect_error(401, "invalid_signature");
    app.clock.set(ts(MONDAY_8AM));
    assert_eq!(bad(), 5);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        fake.seen(Op::GetPayment).is_empty(),
        "a refused webhook made us fetch the payment"
    );
    assert_eq!(
        booking_view(&app, &created).await["status"],
        "pending_payment"
    );
    // The genuine one still works.
    send_webhook(&app, &query, Some(&rid), Some(&sig), mp)
        .await
        .expect(200);
    wait_status(&app, &created, "confirmed").await;
    assert_eq!(bad(), 5);
}

#[tokio::test]
async fn a_wrong_amount_or_currency_confirms_nothing() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "18:30", 16).await;
    let id = app.id_of(&created);
    let short = fake.pay(id.n, deposit_of(&created) - 100, "approved");
    fake.notify(&app, short).await.expect(200);
    eventually("the short payment is fetched", || async {
        let p = stored_payment(&app, id.n).await;
        p.events
            .iter()
            .any(|e| e.what.contains("no coincide"))
            .then_some(())
    })
    .await;
    assert_eq!(
        booking_view(&app, &created).await["status"],
        "pending_payment"
    );
    // A rejected card is news, not a confirmation; the right payment then confirms.
    let rejected = fake.pay(id.n, deposit_of(&created), "rejected");
    fake.notify(&app, rejected).await.expect(200);
    eventually("the rejection is noted", || async {
        let p = stored_payment(&app, id.n).await;
        (p.mp_status.as_deref() == Some("rejected")).then_some(())
    })
    .await;
    assert_eq!(
        booking_view(&app, &created).await["status"],
        "pending_payment"
    );
    fake.set_status(rejected, "approved");
    fake.notify(&app, rejected).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
}

#[tokio::test]
async fn out_of_order_and_other_statuses_never_move_a_paid_deposit_back() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "16:30", 17).await;
    let id = app.id_of(&created);
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
    let paid = stored_payment(&app, id.n).await;

    // An older state of the same payment, fetched late.
    fake.set_status(mp, "in_process");
    fake.notify(&app, mp).await.expect(200);
    drained(&app).await;
    // A second attempt for the same booking, rejected.
    let other = fake.pay(id.n, deposit_of(&created), "rejected");
    fake.notify(&app, other).await.expect(200);
    drained(&app).await;
    assert_eq!(
        stored_payment(&app, id.n).await,
        paid,
        "old news moved the deposit"
    );
    assert_eq!(booking_view(&app, &created).await["status"], "confirmed");

    // A chargeback is real news: the deposit is recorded as returned.
    fake.set_status(mp, "charged_back");
    fake.notify(&app, mp).await.expect(200);
    let b = wait_payment(&app, &created, "refunded").await;
    assert_eq!(b["status"], "confirmed");
    assert!(fake.seen(Op::Refund).is_empty(), "we refunded a chargeback");
}

#[tokio::test]
async fn the_legacy_ipn_form_is_verified_and_applied_too() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "11:00", 19).await;
    let mp = fake.pay(app.id_of(&created).n, deposit_of(&created), "approved");
    // `?topic=payment&id=…`: the signed id is the query's `id`.
    let (_, rid, sig) = fake.signed_webhook(mp);
    send_webhook(
        &app,
        &format!("?topic=payment&id={mp}"),
        Some(&rid),
        Some(&sig),
        mp,
    )
    .await
    .expect(200);
    wait_status(&app, &created, "confirmed").await;
    // Signed, about something else (a merchant order): accepted and ignored.
    let (_, rid, sig) = fake.signed_webhook(77);
    send_webhook(
        &app,
        "?data.id=77&type=merchant_order",
        Some(&rid),
        Some(&sig),
        77,
    )
    .await
    .expect(200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        fake.seen(Op::GetPayment)
            .iter()
            .all(|s| s.path != "/v1/payments/77"),
        "a merchant order was fetched as a payment"
    );
}
