//! Deposits through MercadoPago, end to end against the local fake: the production client
//! and worker pointed at `fake_mercadopago` by `payments.api_base_url`.

use std::future::Future;
use std::time::{Duration, Instant};

use barberpro::config::{DepositConfig, DepositKindConfig, PaymentsConfig};
use barberpro::domain::{BookingId, BookingStatus, PaymentState};
use barberpro::http::Clock;
use barberpro::metrics::{ProviderLabels, StatusLabels};
use barberpro::store::{bookings, payments};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::fake_mercadopago::{
    ACCESS_TOKEN, FakeMercadoPago, Op, WEBHOOK_SECRET, hmac_hex, send_webhook,
};
use crate::helpers::{
    MONDAY_8AM, TUESDAY, TestApp, at, booking, phone, spawn_app_configured, spawn_app_with,
    test_config, ts,
};

pub fn payments_config(fake: &FakeMercadoPago, dir: &std::path::Path) -> PaymentsConfig {
    let token = dir.join("mp-token");
    let secret = dir.join("mp-webhook-secret");
    std::fs::write(&token, format!("{ACCESS_TOKEN}\n")).unwrap();
    std::fs::write(&secret, WEBHOOK_SECRET).unwrap();
    PaymentsConfig {
        enabled: true,
        api_base_url: fake.base.parse().expect("the fake's URL"),
        access_token_file: Some(token),
        webhook_secret_file: Some(secret),
        retry_base_ms: 20,
        max_retry_after_secs: 3,
        worker_interval_ms: 50,
        deposit: DepositConfig {
            kind: DepositKindConfig::Percent,
            percent: 30,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The demo chain with 30 % deposits, talking to a fresh fake on the same manual clock.
pub async fn spawn_with_deposits() -> (TestApp, FakeMercadoPago) {
    let clock = Clock::manual(ts(MONDAY_8AM));
    let fake = FakeMercadoPago::start(clock.clone()).await;
    let f = fake.clone();
    let app =
        spawn_app_configured(clock, move |c, dir| c.payments = payments_config(&f, dir)).await;
    (app, fake)
}

/// Polls `check` until it yields a value or 5 s pass.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Books Tuesday at `hhmm` with service 1 and returns the created body.
async fn book(app: &TestApp, hhmm: &str, n: u32) -> Value {
    app.book(&booking(&[1], json!("any"), &at(TUESDAY, hhmm), &phone(n)))
        .await
        .expect(201)
}

async fn booking_view(app: &TestApp, created: &Value) -> Value {
    let id = app.id_of(created);
    let token = created["manage_token"].as_str().unwrap();
    app.get_auth(&format!("/api/v1/bookings/{id}"), token)
        .await
        .expect(200)
}

async fn wait_status(app: &TestApp, created: &Value, status: &str) -> Value {
    eventually(&format!("booking {status}"), || async {
        let b = booking_view(app, created).await;
        (b["status"] == status).then_some(b)
    })
    .await
}

async fn wait_payment(app: &TestApp, created: &Value, state: &str) -> Value {
    eventually(&format!("deposit {state}"), || async {
        let b = booking_view(app, created).await;
        (b["payment"]["status"] == state).then_some(b)
    })
    .await
}

fn counter(app: &TestApp, status: &'static str) -> u64 {
    app.state
        .metrics
        .payments
        .get_or_create(&StatusLabels { status })
        .get()
}

pub fn deposit_of(created: &Value) -> i64 {
    (created["total_centavos"].as_i64().unwrap() * 30 + 50) / 100
}

pub async fn stored_payment(app: &TestApp, booking: u64) -> barberpro::domain::Payment {
    app.store
        .read(move |tx| payments::by_booking(tx, BookingId(booking)))
        .await
        .unwrap()
        .expect("the booking has a deposit")
}

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

async fn drained(app: &TestApp) {
    eventually("the notification queue drains", || async {
        let left = app
            .store
            .read(payments::pending_notifications)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
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
