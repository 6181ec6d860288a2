//! Deposits through MercadoPago, end to end against the local fake: the production client
//! and worker pointed at `fake_mercadopago` by `payments.api_base_url`.

mod confirmation;
mod outages;
mod policy;
mod refunds;

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

/// Waits until the worker has handled every queued MercadoPago notification.
pub async fn drained(app: &TestApp) {
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
