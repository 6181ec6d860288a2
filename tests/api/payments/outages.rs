//! MercadoPago misbehaving or away: payments not visible yet, server errors and rate limits
//! retried, the API down, a webhook queued across a restart.

use super::*;

#[tokio::test]
async fn a_payment_not_visible_yet_is_fetched_again_later() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "10:30", 8).await;
    let mp = fake.pay(app.id_of(&created).n, deposit_of(&created), "approved");
    fake.hide(mp, 1);
    fake.notify(&app, mp).await.expect(200);
    eventually("the first fetch", || async {
        (fake.seen(Op::GetPayment).len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.seen(Op::GetPayment)[0].status, 404);
    assert_eq!(
        booking_view(&app, &created).await["status"],
        "pending_payment"
    );
    assert_eq!(
        fake.seen(Op::GetPayment).len(),
        1,
        "retried before its backoff"
    );
    // The retry is due 5 s later on the application's clock.
    app.clock.set(ts(MONDAY_8AM) + SignedDuration::from_secs(6));
    wait_status(&app, &created, "confirmed").await;
    assert_eq!(fake.seen(Op::GetPayment).len(), 2);
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_honouring_retry_after() {
    let (app, fake) = spawn_with_deposits().await;
    // Creating the preference: one 500, then success (inline retry).
    fake.fail_next(Op::Preference, 500, None);
    let created = book(&app, "11:30", 9).await;
    assert_eq!(created["payment"]["status"], "awaiting_payment");
    assert_eq!(fake.seen(Op::Preference).len(), 2);
    let keys: Vec<_> = fake
        .seen(Op::Preference)
        .into_iter()
        .map(|s| s.idempotency_key)
        .collect();
    assert_eq!(keys[0], keys[1], "a retry must reuse the idempotency key");

    // Fetching the payment: 500, then 429 asking for 1 s, then the payment.
    let mp = fake.pay(app.id_of(&created).n, deposit_of(&created), "approved");
    fake.fail_next(Op::GetPayment, 500, None);
    fake.fail_next(Op::GetPayment, 429, Some(1));
    fake.notify(&app, mp).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
    let calls = fake.seen(Op::GetPayment);
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![500, 429, 200]);
}

#[tokio::test]
async fn when_mercadopago_is_down_the_booking_holds_and_the_link_comes_later() {
    let (app, fake) = spawn_with_deposits().await;
    for _ in 0..4 {
        fake.fail_next(Op::Preference, 503, None);
    }
    let created = book(&app, "19:00", 11).await;
    assert_eq!(created["status"], "pending_payment");
    assert_eq!(created["payment"]["status"], "awaiting_preference");
    assert!(created["payment"]["init_point"].is_null());
    app.clock.set(ts(MONDAY_8AM) + SignedDuration::from_secs(6));
    let b = wait_payment(&app, &created, "awaiting_payment").await;
    assert!(b["payment"]["init_point"].as_str().is_some());
}

#[tokio::test]
async fn a_webhook_queued_before_a_restart_is_applied_after_it() {
    let clock = Clock::manual(ts(MONDAY_8AM));
    let fake = FakeMercadoPago::start(clock.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut config = test_config(tmp.path());
    config.payments = payments_config(&fake, tmp.path());
    let mut app = spawn_app_with(config.clone(), clock.clone()).await;
    let created = book(&app, "14:00", 12).await;
    let unpaid = book(&app, "15:30", 18).await;
    let mp = fake.pay(app.id_of(&created).n, deposit_of(&created), "approved");
    // Not visible for a while: the notification waits in the database.
    fake.hide(mp, 1);
    fake.notify(&app, mp).await.expect(200);
    eventually("the first fetch", || async {
        (!fake.seen(Op::GetPayment).is_empty()).then_some(())
    })
    .await;
    app.stop().await;
    drop(app);
    // The worker lets go of the database as soon as it sees the shutdown.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let app = spawn_app_with(config, clock.clone()).await;
    assert_eq!(
        app.store
            .read(payments::pending_notifications)
            .await
            .unwrap(),
        1
    );
    clock.set(ts(MONDAY_8AM) + SignedDuration::from_secs(6));
    wait_status(&app, &created, "confirmed").await;
    // The other hold, never paid, still expires on time after the restart.
    assert_eq!(
        booking_view(&app, &unpaid).await["status"],
        "pending_payment"
    );
    clock.set(ts(MONDAY_8AM) + SignedDuration::from_mins(16));
    let b = wait_status(&app, &unpaid, "cancelled").await;
    assert_eq!(b["cancel_reason"], "payment_expired");
    drop(tmp);
}
