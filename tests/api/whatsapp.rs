//! WhatsApp messages through the durable outbox, against the local fake of the Cloud API:
//! confirmations, cancellations, reschedules, reminders on the pinned clock, retries,
//! dead letters, webhooks and their signatures, and a SIGKILL in the middle.

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

#[tokio::test]
async fn a_booking_is_confirmed_on_whatsapp_with_the_template_parameters() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let sent = fake.wait_accepted(1, WAIT).await;
    let m = &sent[0];
    assert_eq!(m.template, "turno_confirmado");
    assert_eq!(m.language, "es_AR");
    assert_eq!(m.to, "5491123456701", "E.164 digits, with the 9 by default");
    assert_eq!(
        m.params,
        [
            "Juan Pérez",
            "Corte clásico",
            "BarberPro Palermo",
            "02/03/2027",
            "10:00"
        ]
    );
    let row = wait_state(&app, id.n, Template::BookingConfirmed, State::Sent).await;
    assert_eq!(m.reference, row.id.to_string());
    assert_eq!(row.wamid, m.accepted);
    assert_eq!(row.attempts, 1);
    // Two reminders wait for their time; nothing else was sent.
    let reminders: Vec<_> = messages(&app, id.n)
        .await
        .into_iter()
        .filter(|m| m.template == Template::Reminder)
        .collect();
    assert_eq!(reminders.len(), 2, "{reminders:#?}");
    assert!(reminders.iter().all(|r| r.state == State::Pending));
    // Counted once the worker's write returns, a moment after the row became visible.
    assert_eq!(
        metric_reaching(
            &app,
            "barberpro_whatsapp_messages_total{template=\"booking_confirmed\",status=\"sent\"}",
            1.0
        )
        .await,
        1.0
    );
    assert_eq!(
        metric_reaching(
            &app,
            "barberpro_whatsapp_delivery_latency_seconds_count",
            1.0
        )
        .await,
        1.0
    );
}

/// The metric once it reaches `want` (or when [`WAIT`] runs out, whatever it is then).
async fn metric_reaching(app: &TestApp, prefix: &str, want: f64) -> f64 {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let value = metric(app, prefix);
        if value >= want || std::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn commit_to_send_latency_is_well_under_a_second() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    let mut booked = 0;
    // Two barbers, one booking every 45 minutes each, across the day (lunch refuses some).
    for i in 0..20u32 {
        let minutes = 10 * 60 + (i / 2) * 45;
        let start = format!("{:02}:{:02}", minutes / 60, minutes % 60);
        let b = booking(
            &[1],
            json!(1 + i % 2),
            &at(TUESDAY, &start),
            &phone(100 + i),
        );
        if app.book(&b).await.status == 201 {
            booked += 1;
        }
    }
    assert!(booked >= 12, "only {booked} bookings were accepted");
    fake.wait_accepted(booked, WAIT).await;
    // Every message went out once; the histogram has one observation each (recorded just
    // after the fake answered).
    let count_line = "barberpro_whatsapp_delivery_latency_seconds_count";
    let count = metric_reaching(&app, count_line, booked as f64).await;
    assert_eq!(count, booked as f64);
    fake.assert_quiet(booked, "a confirmation sent twice").await;
    let under_1s = bucket(
        &app,
        "barberpro_whatsapp_delivery_latency_seconds_bucket",
        1.0,
    );
    let sum = metric(&app, "barberpro_whatsapp_delivery_latency_seconds_sum");
    let under_50ms = bucket(
        &app,
        "barberpro_whatsapp_delivery_latency_seconds_bucket",
        0.05,
    );
    eprintln!(
        "commit→send latency: {count} messages, mean {:.1} ms, {under_50ms} within 50 ms",
        sum / count * 1000.0
    );
    assert!(
        under_1s >= 0.95 * count,
        "p95 of commit→send latency is over 1 s: {under_1s} of {count} within 1 s"
    );
}

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
async fn cancel_and_reschedule_send_their_messages_and_move_the_reminders() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    let (moved, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let (cancelled, token2) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "11:00"), &phone(2)))
        .await;
    fake.wait_accepted(2, WAIT).await;

    app.post_auth(
        &format!("/api/v1/bookings/{moved}/reschedule"),
        &token,
        Some(&json!({"start": at("2027-03-03", "16:00")})),
    )
    .await
    .expect(200);
    app.post_auth(
        &format!("/api/v1/bookings/{cancelled}/cancel"),
        &token2,
        Some(&json!({"reason": "Viaje"})),
    )
    .await
    .expect(200);
    let sent = fake.wait_accepted(4, WAIT).await;
    let resched = sent
        .iter()
        .find(|r| r.template == "turno_reprogramado")
        .expect("a reschedule message");
    assert_eq!(resched.to, "5491123456701");
    assert_eq!(&resched.params[3..], ["03/03/2027", "16:00"]);
    let cancel = sent
        .iter()
        .find(|r| r.template == "turno_cancelado")
        .expect("a cancellation message");
    assert_eq!(cancel.to, "5491123456702");
    assert_eq!(&cancel.params[3..], ["02/03/2027", "11:00"]);

    // Monday 10:00 and 11:00 were the old 24 h reminders: neither goes out.
    app.clock.set(ts(&at("2027-03-01", "11:00")));
    fake.assert_quiet(4, "a reminder for a moved or cancelled booking")
        .await;
    let old = wait_state(&app, moved.n, Template::Reminder, State::Skipped).await;
    assert_eq!(old.reason.as_deref(), Some("booking_moved"));
    let gone = wait_state(&app, cancelled.n, Template::Reminder, State::Skipped).await;
    assert_eq!(gone.reason.as_deref(), Some("booking_cancelled"));

    // Tuesday 16:00: the moved booking's new 24 h reminder, for the new time.
    app.clock.set(ts(&at(TUESDAY, "16:00")));
    let sent = fake.wait_accepted(5, WAIT).await;
    assert_eq!(sent[4].template, "recordatorio_turno");
    assert_eq!(&sent[4].params[3..], ["03/03/2027", "16:00"]);
    fake.assert_quiet(5, "the cancelled booking's reminders stay unsent")
        .await;
}

#[tokio::test]
async fn reminders_go_out_24_and_2_hours_before_and_only_then() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    fake.wait_accepted(1, WAIT).await;

    app.clock.set(ts(&at("2027-03-01", "09:59")));
    fake.assert_quiet(1, "a reminder before its time").await;
    app.clock.set(ts(&at("2027-03-01", "10:00")));
    let sent = fake.wait_accepted(2, WAIT).await;
    assert_eq!(sent[1].template, "recordatorio_turno");
    assert_eq!(&sent[1].params[3..], ["02/03/2027", "10:00"]);

    app.clock.set(ts(&at(TUESDAY, "07:59")));
    fake.assert_quiet(2, "the 2 h reminder before its time")
        .await;
    app.clock.set(ts(&at(TUESDAY, "08:00")));
    fake.wait_accepted(3, WAIT).await;
    fake.assert_quiet(3, "a reminder sent twice").await;
    let all = messages(&app, id.n).await;
    assert_eq!(
        all.iter().filter(|m| m.state == State::Sent).count(),
        3,
        "{all:#?}"
    );
}

#[tokio::test]
async fn retryable_errors_back_off_and_honour_retry_after_then_succeed() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    fake.script([
        Reply::Bare(500),
        Reply::Error {
            http: 429,
            code: 130429,
            retry_after: Some(30),
        },
    ]);
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let first = wait_retry_scheduled(&app, id.n, 1).await;
    let backoff = first.next_attempt_at.duration_since(app.clock.now());
    assert!(
        (SignedDuration::from_millis(500)..=SignedDuration::from_millis(1000)).contains(&backoff),
        "first backoff {backoff:?} is not 1 s with jitter"
    );
    fake.assert_quiet(1, "retried before the backoff passed")
        .await;

    let t0 = app.clock.now();
    app.clock.set(t0 + SignedDuration::from_secs(1));
    let second = wait_retry_scheduled(&app, id.n, 2).await;
    // 429 with Retry-After: 30 → not before 30 s, whatever the backoff says.
    let t1 = app.clock.now();
    assert_eq!(second.next_attempt_at, t1 + SignedDuration::from_secs(30));
    app.clock.set(t1 + SignedDuration::from_secs(29));
    fake.assert_quiet(2, "Retry-After was not honoured").await;
    app.clock.set(t1 + SignedDuration::from_secs(30));
    fake.wait_accepted(1, WAIT).await;
    let sent = wait_state(&app, id.n, Template::BookingConfirmed, State::Sent).await;
    assert_eq!(sent.attempts, 3);
    assert_eq!(
        metric(
            &app,
            "barberpro_whatsapp_messages_total{template=\"booking_confirmed\",status=\"retried\"}"
        ),
        2.0
    );
}

#[tokio::test]
async fn non_retryable_errors_and_too_many_attempts_make_dead_letters_the_front_desk_can_retry() {
    use barberpro::domain::staff::Role;
    let (app, fake, _dir) = app_with_whatsapp().await;
    // Undeliverable: no retry at all.
    fake.for_recipient("5491123456701", Reply::error(400, 131026));
    let (dead, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let m = wait_state(&app, dead.n, Template::BookingConfirmed, State::Dead).await;
    assert_eq!(m.attempts, 1);
    assert!(
        m.last_error.as_deref().unwrap_or("").contains("131026"),
        "{m:?}"
    );
    fake.assert_quiet(1, "a non-retryable error was retried")
        .await;

    // Always 503: four attempts (the configured maximum), then a dead letter.
    fake.for_recipient("5491123456702", Reply::Bare(503));
    let (tired, _) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "10:00"), &phone(2)))
        .await;
    for n in 1..=3 {
        wait_retry_scheduled(&app, tired.n, n).await;
        let now = app.clock.now();
        app.clock.set(now + SignedDuration::from_secs(120));
    }
    let m = wait_state(&app, tired.n, Template::BookingConfirmed, State::Dead).await;
    assert_eq!(m.attempts, 4);

    // The front desk sees both and retries one once the number works.
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
    let page = desk.get("/admin/mensajes.json").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let listed: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    let dead_ids: Vec<u64> = listed["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(dead_ids.len(), 2, "{listed}");
    let page = desk.get("/admin/mensajes").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"dead-letters\""), "{}", page.body);
    assert!(page.body.contains("Turno confirmado"));
    let csrf = desk.get("/admin/agenda").await.csrf();
    let without = desk
        .post(&format!("/admin/mensajes/{}/reintentar", m.id), &[])
        .await;
    assert_eq!(without.status, 403, "a retry without the CSRF token");
    fake.for_recipient("5491123456702", Reply::Accept);
    let retried = desk
        .post(
            &format!("/admin/mensajes/{}/reintentar", m.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    let accepted = fake.wait_accepted(1, WAIT).await;
    assert_eq!(accepted[0].to, "5491123456702");
    wait_state(&app, tired.n, Template::BookingConfirmed, State::Sent).await;
    let again = desk
        .post(
            &format!("/admin/mensajes/{}/reintentar", m.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 400, "only a dead letter can be retried");
    // The page's own form: back to the page with a message.
    let other = dead_ids.iter().find(|id| **id != m.id).unwrap();
    desk.post(
        &format!("/admin/mensajes/{other}/reintentar"),
        &[("csrf", &csrf), ("back", "page")],
    )
    .await
    .expect_redirect("/admin/mensajes");
    let page = desk.get("/admin/mensajes").await;
    assert!(
        page.body.contains("Se reintenta el envío ahora."),
        "{}",
        page.body
    );
}

fn signed(body: &[u8], secret: &str) -> String {
    barberpro::integrations::whatsapp::signature(secret.as_bytes(), body)
}

async fn post_webhook(app: &TestApp, body: &[u8], signature: Option<&str>) -> Answer {
    let mut req = app
        .client
        .post(app.url("/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("x-hub-signature-256", sig);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        headers: Default::default(),
    }
}

fn status_body(wamid: &str, status: &str) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491100000000", "phone_number_id": whatsapp_fake::PHONE_NUMBER_ID},
            "statuses": [{"id": wamid, "status": status, "timestamp": "1804000000",
                "recipient_id": "5491123456701",
                "errors": if status == "failed" { json!([{"code": 131026, "title": "Message undeliverable"}]) } else { json!([]) }}]}
    }]}]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn webhook_handshake_answers_the_challenge_only_with_our_token() {
    let (app, _fake, _dir) = app_with_whatsapp().await;
    let url = |mode: &str, token: &str| {
        format!(
            "/webhooks/whatsapp?hub.mode={mode}&hub.verify_token={token}&hub.challenge=1158201444"
        )
    };
    let ok = app
        .client
        .get(app.url(&url("subscribe", VERIFY_TOKEN)))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444", "the raw challenge");
    app.get(&url("subscribe", "wrong"))
        .await
        .expect_error(403, "forbidden");
    app.get(&url("unsubscribe", VERIFY_TOKEN))
        .await
        .expect_error(403, "forbidden");
    app.get("/webhooks/whatsapp")
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn webhook_signatures_are_checked_on_the_raw_body() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    // The reference vector: secret "secret", body "test". The signature passes, so the body
    // is parsed (and refused as not JSON): 400, not 401.
    let vector = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
    post_webhook(&app, b"test", Some(vector))
        .await
        .expect_error(400, "invalid_body");

    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let wamid = fake.wait_accepted(1, WAIT).await[0]
        .accepted
        .clone()
        .unwrap();
    wait_state(&app, id.n, Template::BookingConfirmed, State::Sent).await;
    let body = status_body(&wamid, "delivered");
    let good = signed(&body, APP_SECRET);
    let bad_before = metric(
        &app,
        "barberpro_webhook_bad_signatures_total{provider=\"whatsapp\"}",
    );
    let mut reserialized: serde_json::Value = serde_json::from_slice(&body).unwrap();
    reserialized["object"] = json!("whatsapp_business_account");
    let pretty = serde_json::to_vec_pretty(&reserialized).unwrap();
    for (what, body, sig) in [
        ("missing", body.clone(), None),
        (
            "forged with another secret",
            body.clone(),
            Some(signed(&body, "not-the-secret")),
        ),
        (
            "without the sha256= prefix",
            body.clone(),
            Some(good[7..].to_owned()),
        ),
        (
            "for the same JSON reformatted",
            pretty.clone(),
            Some(good.clone()),
        ),
        (
            "of another body",
            status_body(&wamid, "read"),
            Some(good.clone()),
        ),
        ("garbage", body.clone(), Some("sha256=zzzz".to_owned())),
    ] {
        let answer = post_webhook(&app, &body, sig.as_deref()).await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.body);
        assert_eq!(answer.code(), "invalid_signature", "{what}");
    }
    assert_eq!(
        metric(
            &app,
            "barberpro_webhook_bad_signatures_total{provider=\"whatsapp\"}"
        ),
        bad_before + 6.0
    );
    let row = wait_state(&app, id.n, Template::BookingConfirmed, State::Sent).await;
    assert_eq!(row.delivery, None, "a refused webhook changed nothing");

    post_webhook(&app, &body, Some(&good)).await.expect(200);
    let row = wait_state(&app, id.n, Template::BookingConfirmed, State::Sent).await;
    assert_eq!(row.delivery, Some(Delivery::Delivered));
}

#[tokio::test]
async fn delivery_statuses_only_move_forward() {
    let (app, fake, _dir) = app_with_whatsapp().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let wamid = fake.wait_accepted(1, WAIT).await[0]
        .accepted
        .clone()
        .unwrap();
    wait_state(&app, id.n, Template::BookingConfirmed, State::Sent).await;
    let deliver = |status: &str| {
        let body = status_body(&wamid, status);
        let sig = signed(&body, APP_SECRET);
        (body, sig)
    };
    let delivery = || async {
        wait_state(&app, id.n, Template::BookingConfirmed, State::Sent)
            .await
            .delivery
    };
    // Out of order: read arrives before delivered (delivered may also never come).
    for (status, expect) in [
        ("sent", Delivery::Sent),
        ("read", Delivery::Read),
        ("delivered", Delivery::Read),
        ("sent", Delivery::Read),
        ("failed", Delivery::Read),
    ] {
        let (body, sig) = deliver(status);
        post_webhook(&app, &body, Some(&sig)).await.expect(200);
        assert_eq!(delivery().await, Some(expect), "after {status}");
    }
    // An unknown message id is acknowledged (Meta would retry otherwise) and ignored.
    let body = status_body("wamid.unknown", "delivered");
    let sig = signed(&body, APP_SECRET);
    post_webhook(&app, &body, Some(&sig)).await.expect(200);
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

#[tokio::test]
async fn a_paid_deposit_confirms_the_booking_and_both_messages_go_out() {
    let clock = Clock::manual(ts(MONDAY_8AM));
    let mp = crate::fake_mercadopago::FakeMercadoPago::start(clock.clone()).await;
    let wa = FakeWhatsApp::start().await;
    let (m, w) = (mp.clone(), wa.clone());
    let app = spawn_app_configured(clock, move |c, dir| {
        c.payments = crate::payments::payments_config(&m, dir);
        c.whatsapp = whatsapp_config(dir, &w).whatsapp;
    })
    .await;
    let created = app
        .book(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, "10:00"),
            &phone(1),
        ))
        .await
        .expect(201);
    let id = app.id_of(&created);
    assert_eq!(created["status"], "pending_payment");
    wa.assert_quiet(0, "a message before the deposit was paid")
        .await;

    let deposit = crate::payments::deposit_of(&created);
    let paid = mp.pay(id.n, deposit, "approved");
    mp.notify(&app, paid).await.expect(200);
    let sent = wa.wait_accepted(2, WAIT).await;
    let confirmed = sent
        .iter()
        .find(|r| r.template == "turno_confirmado")
        .expect("the confirmation");
    assert_eq!(&confirmed.params[3..], ["02/03/2027", "10:00"]);
    let receipt = sent
        .iter()
        .find(|r| r.template == "sena_recibida")
        .expect("the deposit receipt");
    let amount = barberpro::domain::Money::from_centavos(deposit).unwrap();
    assert_eq!(receipt.params.len(), 6, "{receipt:?}");
    assert_eq!(receipt.params[5], amount.to_string());
    assert!(receipt.params[5].starts_with('$'), "{}", receipt.params[5]);
    // The notification again changes nothing: no second message.
    mp.notify(&app, paid).await.expect(200);
    wa.assert_quiet(2, "a replayed payment webhook sent messages again")
        .await;
    let reminders = messages(&app, id.n)
        .await
        .into_iter()
        .filter(|m| m.template == Template::Reminder)
        .count();
    assert_eq!(
        reminders, 2,
        "reminders are scheduled once the booking is confirmed"
    );
}

#[tokio::test]
async fn a_dead_letter_names_the_client_its_booking_went_to_in_a_merge() {
    use barberpro::domain::staff::Role;
    let (app, fake, _dir) = app_with_whatsapp().await;
    fake.for_recipient("5491123456701", Reply::error(400, 131026));
    let (dead, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    wait_state(&app, dead.n, Template::BookingConfirmed, State::Dead).await;
    let mut other = booking(&[1], json!(2), &at(TUESDAY, "12:00"), &phone(2));
    other["client"]["name"] = json!("Juana Pérez");
    app.book_ok(&other).await;

    crate::admin::create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let mut owner = crate::admin::Browser::new(&app);
    owner.login_ok("duena@barberpro.test").await;
    let csrf = owner.get("/admin/clientes/2/unificar?con=1").await.csrf();
    owner
        .post(
            "/admin/clientes/2/unificar",
            &[("csrf", &csrf), ("con", "1"), ("keep", "2")],
        )
        .await
        .expect_redirect("/admin/clientes/2");
    // The message was queued for client 1, who is gone: the row names its booking's client.
    let page = owner.get("/admin/mensajes").await;
    assert!(
        page.body.contains(&format!(
            "<td>#{dead}</td><td>Juana Pérez</td>",
            dead = dead.n
        )),
        "{}",
        page.body
    );
}
