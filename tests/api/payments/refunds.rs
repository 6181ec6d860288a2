//! Holds, cancellations and refunds: an unpaid hold expires, cancelling before the cutoff
//! refunds once, after it or on a no-show the deposit is kept, a refused refund is shown.

use super::*;

#[tokio::test]
async fn an_unpaid_hold_expires_frees_the_slot_and_a_late_approval_is_refunded() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "15:00", 4).await;
    let id = app.id_of(&created);
    let barber = created["barber_id"].as_u64().unwrap().to_string();
    let free = app.free_times("palermo", TUESDAY, "1", &barber).await;
    assert!(
        !free.contains(&"15:00".to_owned()),
        "the held slot is offered"
    );

    app.clock
        .set(ts(MONDAY_8AM) + SignedDuration::from_mins(14));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        booking_view(&app, &created).await["status"],
        "pending_payment"
    );

    app.clock
        .set(ts(MONDAY_8AM) + SignedDuration::from_mins(16));
    let b = wait_status(&app, &created, "cancelled").await;
    assert_eq!(b["cancel_reason"], "payment_expired");
    assert_eq!(b["payment"]["status"], "expired");
    let free = app.free_times("palermo", TUESDAY, "1", &barber).await;
    assert!(
        free.contains(&"15:00".to_owned()),
        "the expired hold still blocks 15:00"
    );

    // The client paid anyway, late: the money goes back, the booking stays cancelled.
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    let b = wait_payment(&app, &created, "refunded").await;
    assert_eq!(b["status"], "cancelled");
    let refunds = fake.seen(Op::Refund);
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].path, format!("/v1/payments/{mp}/refunds"));
    assert!(refunds[0].idempotency_key.is_some());
    assert_eq!(fake.payment(mp)["status"], "refunded");

    // Every step is in the audit log, by `system`: the expiry, and each deposit state.
    let entries = app
        .store
        .read(|tx| {
            barberpro::store::audit::list(tx, &barberpro::store::audit::Filter::default(), 200)
        })
        .await
        .unwrap();
    let expired = entries
        .iter()
        .find(|e| e.action == "booking.payment_expired")
        .expect("the expiry is audited");
    assert_eq!(expired.actor_email, "system");
    assert_eq!(expired.after.as_ref().unwrap()["status"], "cancelled");
    let states: Vec<String> = entries
        .iter()
        .filter(|e| e.action == "payment.state")
        .map(|e| {
            e.after.as_ref().unwrap()["state"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for state in ["expired", "refund_pending", "refunded"] {
        assert!(
            states.iter().any(|s| s == state),
            "{state} not audited: {states:?}"
        );
    }
}

#[tokio::test]
async fn cancelling_before_the_cutoff_refunds_the_deposit_once() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "16:00", 5).await;
    let id = app.id_of(&created);
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
    // The first refund attempt meets a 503: retried with the same idempotency key.
    fake.fail_next(Op::Refund, 503, None);
    let token = created["manage_token"].as_str().unwrap();
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), token, None)
        .await
        .expect(200);
    let b = wait_payment(&app, &created, "refunded").await;
    assert_eq!(b["status"], "cancelled");
    let calls = fake.seen(Op::Refund);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].status, 503);
    assert_eq!(calls[0].idempotency_key, calls[1].idempotency_key);
    assert_eq!(fake.refunds().len(), 1);
    assert_eq!(
        fake.refunds()[0]["amount"].as_f64().unwrap(),
        deposit_of(&created) as f64 / 100.0
    );
    let p = stored_payment(&app, id.n).await;
    assert_eq!(p.state, PaymentState::Refunded);
    assert!(p.refund_id.is_some());
    let refunds = |status: &'static str| {
        app.state
            .metrics
            .refunds
            .get_or_create(&StatusLabels { status })
            .get()
    };
    assert_eq!(
        (refunds("requested"), refunds("approved"), refunds("failed")),
        (1, 1, 0)
    );
    assert_eq!(counter(&app, "refund_pending"), 1);
    assert_eq!(counter(&app, "refunded"), 1);
    let amount = app
        .state
        .metrics
        .refunds_amount
        .get_or_create(&StatusLabels { status: "approved" })
        .get();
    assert_eq!(amount, deposit_of(&created) as u64);
}

#[tokio::test]
async fn after_the_cutoff_or_on_a_no_show_the_deposit_is_kept() {
    let (app, fake) = spawn_with_deposits().await;
    let late = book(&app, "17:00", 6).await;
    let absent = book(&app, "18:00", 7).await;
    for b in [&late, &absent] {
        let mp = fake.pay(app.id_of(b).n, deposit_of(b), "approved");
        fake.notify(&app, mp).await.expect(200);
        wait_status(&app, b, "confirmed").await;
    }
    // Tuesday 16:00: one hour before 17:00, inside the 2-hour cut-off.
    let now = ts(&at(TUESDAY, "16:00"));
    app.clock.set(now);
    let token = late["manage_token"].as_str().unwrap();
    let late_id = app.id_of(&late);
    app.post_auth(&format!("/api/v1/bookings/{late_id}/cancel"), token, None)
        .await
        .expect_error(409, "cancel_cutoff_passed");
    // The front desk may still cancel; the deposit stays.
    let rules = app.state.rules;
    app.store
        .write(move |txn| {
            bookings::cancel(
                txn,
                BookingId(late_id.n),
                None,
                bookings::Actor::Staff,
                now,
                &rules,
            )
        })
        .await
        .unwrap();
    let absent_id = app.id_of(&absent);
    let after = ts(&at(TUESDAY, "18:30"));
    app.clock.set(after);
    app.store
        .write(move |txn| {
            bookings::set_status(
                txn,
                BookingId(absent_id.n),
                BookingStatus::NoShow,
                None,
                after,
            )
        })
        .await
        .unwrap();
    assert_eq!(
        stored_payment(&app, late_id.n).await.state,
        PaymentState::Kept
    );
    assert_eq!(
        stored_payment(&app, absent_id.n).await.state,
        PaymentState::Kept
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        fake.seen(Op::Refund).is_empty(),
        "a kept deposit was refunded"
    );
}

#[tokio::test]
async fn a_refund_refused_with_a_4xx_is_not_retried_and_shows_for_the_front_desk() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "14:30", 10).await;
    let id = app.id_of(&created);
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    wait_status(&app, &created, "confirmed").await;
    // MercadoPago sees it refunded already (e.g. from its dashboard): 400 code 2063.
    fake.set_status(mp, "in_mediation");
    let token = created["manage_token"].as_str().unwrap();
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), token, None)
        .await
        .expect(200);
    wait_payment(&app, &created, "refund_failed").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.seen(Op::Refund).len(), 1, "a 4xx was retried");
    let p = stored_payment(&app, id.n).await;
    assert!(p.last_error.unwrap_or_default().contains("2063"));

    // The front desk sorts it out at MercadoPago, then retries from the payments page.
    fake.set_status(mp, "approved");
    crate::admin::create_staff(
        &app,
        "recepcion@barberpro.test",
        "Recepción",
        barberpro::domain::staff::Role::Recepcion,
        None,
    )
    .await;
    let mut browser = crate::admin::Browser::new(&app);
    browser.login_ok("recepcion@barberpro.test").await;
    let page = browser.get("/admin/pagos").await;
    assert!(page.body.contains("Reintentar devolución"), "{}", page.body);
    let csrf = page.csrf();
    let done = browser
        .post(
            &format!("/admin/pagos/{}/reintentar", p.id),
            &[("csrf", &csrf)],
        )
        .await;
    done.expect_redirect("/admin/pagos");
    wait_payment(&app, &created, "refunded").await;
    let calls = fake.seen(Op::Refund);
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0].idempotency_key, calls[1].idempotency_key);
    // Without the CSRF token nothing happens.
    let refused = browser
        .post(&format!("/admin/pagos/{}/reintentar", p.id), &[])
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn a_client_who_cancels_before_paying_frees_the_slot_and_a_later_payment_goes_back() {
    let (app, fake) = spawn_with_deposits().await;
    let created = book(&app, "17:30", 15).await;
    let id = app.id_of(&created);
    let token = created["manage_token"].as_str().unwrap();
    let b = app
        .post_auth(&format!("/api/v1/bookings/{id}/cancel"), token, None)
        .await
        .expect(200);
    assert_eq!(b["payment"]["status"], "expired");
    let mp = fake.pay(id.n, deposit_of(&created), "approved");
    fake.notify(&app, mp).await.expect(200);
    wait_payment(&app, &created, "refunded").await;
    assert_eq!(fake.refunds().len(), 1);
    assert_eq!(booking_view(&app, &created).await["status"], "cancelled");
}
