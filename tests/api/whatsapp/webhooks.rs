//! The webhook: the verification handshake, signatures checked on the raw body, delivery
//! statuses that only move forward.

use super::*;

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
