//! WhatsApp messages through the durable outbox, against the local fake of the Cloud API:
//! confirmations, cancellations, reschedules, reminders on the pinned clock, retries,
//! dead letters, webhooks and their signatures, and a SIGKILL in the middle.

mod consent;
mod outgoing;
mod retries;
mod webhooks;

use std::time::Duration;

use barberpro::config::{Config, Secret};
use barberpro::domain::BookingId;
use barberpro::domain::notice::Template;
use barberpro::http::Clock;
use barberpro::store::outbox::{self, Delivery, Message, State};
use jiff::SignedDuration;
use serde_json::json;
use tempfile::TempDir;

use crate::helpers::*;
use crate::whatsapp_fake::{self, FakeWhatsApp, Reply};

const WAIT: Duration = Duration::from_secs(10);
pub const APP_SECRET: &str = "secret";
const VERIFY_TOKEN: &str = "verify-me-please";

pub fn whatsapp_config(dir: &std::path::Path, fake: &FakeWhatsApp) -> Config {
    let mut c = test_config(dir);
    let w = &mut c.whatsapp;
    w.enabled = true;
    w.base_url = fake.base_url.parse().expect("the fake's URL");
    w.phone_number_id = Some(whatsapp_fake::PHONE_NUMBER_ID.into());
    w.access_token = Some(Secret::new(whatsapp_fake::TOKEN));
    w.app_secret = Some(Secret::new(APP_SECRET));
    w.verify_token = Some(Secret::new(VERIFY_TOKEN));
    w.retry.max_attempts = 4;
    w.retry.initial_backoff_ms = 1000;
    w.retry.max_backoff_secs = 60;
    w.request_timeout_secs = 5;
    c
}

async fn app_with_whatsapp() -> (TestApp, FakeWhatsApp, TempDir) {
    let fake = FakeWhatsApp::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let app = spawn_app_with(
        whatsapp_config(tmp.path(), &fake),
        Clock::manual(ts(MONDAY_8AM)),
    )
    .await;
    (app, fake, tmp)
}

async fn messages(app: &TestApp, booking: u64) -> Vec<Message> {
    app.store
        .read(move |tx| outbox::for_booking(tx, BookingId(booking)))
        .await
        .unwrap()
}

/// Waits until the outbox row reaches a state (the sender records after the fake answers).
async fn wait_state(app: &TestApp, booking: u64, template: Template, state: State) -> Message {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all = messages(app, booking).await;
        if let Some(m) = all
            .iter()
            .find(|m| m.template == template && m.state == state)
        {
            return m.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {template:?} message in state {state:?}: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until a message of `template` for `booking` satisfies `done`.
async fn wait_message(
    app: &TestApp,
    booking: u64,
    template: Template,
    what: &str,
    done: impl Fn(&Message) -> bool,
) -> Message {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all = messages(app, booking).await;
        if let Some(m) = all.iter().find(|m| m.template == template && done(m)) {
            return m.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {all:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until attempt `n` failed and its retry is scheduled (in the clock's future).
async fn wait_retry_scheduled(app: &TestApp, booking: u64, n: u32) -> Message {
    let now = app.clock.now();
    wait_message(
        app,
        booking,
        Template::BookingConfirmed,
        "a scheduled retry",
        |m| m.state == State::Pending && m.attempts == n && m.next_attempt_at > now,
    )
    .await
}

/// The cumulative count of a histogram's bucket `le`, however the bound is written.
fn bucket(app: &TestApp, name: &str, le: f64) -> f64 {
    let text = app.state.metrics.encode(false);
    text.lines()
        .filter(|l| l.starts_with(name))
        .find(|l| {
            l.split("le=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|bound| bound.parse::<f64>().ok())
                == Some(le)
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no bucket le={le} for {name} in:\n{text}"))
}

fn metric(app: &TestApp, prefix: &str) -> f64 {
    let text = app.state.metrics.encode(false);
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metric line starting with {prefix}"))
}
