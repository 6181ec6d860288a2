//! Failures: retryable errors back off and honour Retry-After, the rest become dead letters
//! the front desk can retry, naming the right client after a merge.

use super::*;

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
