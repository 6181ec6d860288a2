//! The messages that go out: confirmations with their template parameters, commit-to-send
//! latency, cancellations and reschedules, reminders on the pinned clock, a paid deposit.

use super::*;

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
