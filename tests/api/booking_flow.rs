//! A client's whole journey: book, look, reschedule, cancel; idempotent retries.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn book_look_reschedule_cancel() {
    let app = spawn_app().await;
    let created = app
        .book(&json!({
            "branch": "palermo",
            "services": [1, 3],
            "barber": 1,
            "start": at(TUESDAY, "10:00"),
            "client": {"name": "Ana Gómez", "phone": "011 15-2345-6789", "email": "ana@example.com.ar", "whatsapp_consent": true},
            "notes": "Prefiere tijera"
        }))
        .await
        .expect(201);
    let id = app.id_of(&created);
    let token = created["manage_token"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "confirmed");
    assert_eq!(created["start"], at(TUESDAY, "10:00"));
    assert_eq!(
        created["end"],
        at(TUESDAY, "10:50"),
        "services run back to back"
    );
    assert_eq!(created["total_centavos"], 1_300_000);
    assert_eq!(created["total_display"], "$\u{a0}13.000,00");
    assert_eq!(created["client_phone"], "+5491123456789");
    assert_eq!(created["source"], "online");
    assert_eq!(created["notes"], "Prefiere tijera");
    let manage_url = created["manage_url"].as_str().unwrap();
    assert!(
        manage_url.starts_with(&format!("https://127.0.0.1:{}/", app.addr.port())),
        "{manage_url}"
    );
    assert!(manage_url.contains(&token));

    let seen = app
        .get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(seen["id"], json!(id.public));
    assert!(
        seen.get("manage_token").is_none(),
        "the token is only shown at creation"
    );
    assert!(
        !app.free_times("palermo", TUESDAY, "1", "1")
            .await
            .contains(&"10:00".into())
    );

    let moved = app
        .post_auth(
            &format!("/api/v1/bookings/{id}/reschedule"),
            &token,
            Some(&json!({"start": at(TUESDAY, "16:00")})),
        )
        .await
        .expect(200);
    assert_eq!(moved["start"], at(TUESDAY, "16:00"));
    assert_eq!(moved["barber_id"], 1, "same barber unless asked");
    let free = app.free_times("palermo", TUESDAY, "1", "1").await;
    assert!(free.contains(&"10:00".into()), "the old slot is free again");
    assert!(!free.contains(&"16:00".into()), "the new slot is taken");

    let cancelled = app
        .post_auth(
            &format!("/api/v1/bookings/{id}/cancel"),
            &token,
            Some(&json!({"reason": "Viaje"})),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "Viaje");
    assert!(
        app.free_times("palermo", TUESDAY, "1", "1")
            .await
            .contains(&"16:00".into())
    );
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect_error(409, "invalid_transition");
    app.post_auth(
        &format!("/api/v1/bookings/{id}/reschedule"),
        &token,
        Some(&json!({"start": at(TUESDAY, "17:00")})),
    )
    .await
    .expect_error(409, "invalid_transition");
    // Someone else can take the freed slot.
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "16:00"), &phone(2)))
        .await;
}

#[tokio::test]
async fn manage_calls_need_the_right_token() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let (other, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(2)))
        .await;
    app.get(&format!("/api/v1/bookings/{id}"))
        .await
        .expect_error(401, "missing_token");
    app.get_auth(&format!("/api/v1/bookings/{id}"), "wrong")
        .await
        .expect_error(401, "invalid_token");
    app.get_auth(&format!("/api/v1/bookings/{other}"), &token)
        .await
        .expect_error(401, "invalid_token");
    app.post_auth(&format!("/api/v1/bookings/{other}/cancel"), &token, None)
        .await
        .expect_error(401, "invalid_token");
    // A missing booking answers as a wrong token does: ids reveal nothing.
    app.get_auth("/api/v1/bookings/999999", &token)
        .await
        .expect_error(401, "invalid_token");
    // So does an id that decodes to no booking (edges/guessed_ids.rs has them all).
    app.get_auth("/api/v1/bookings/abc", &token)
        .await
        .expect_error(401, "invalid_token");
    app.get_auth("/api/v1/bookings/99999999999999999999999", &token)
        .await
        .expect_error(401, "invalid_token");
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/bookings/{id}")))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // The other booking is untouched.
    let b = app
        .get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(b["status"], "confirmed");
}

#[tokio::test]
async fn idempotency_key_replays_the_same_booking() {
    let app = spawn_app().await;
    let body = booking(&[1], json!("any"), &at(TUESDAY, "10:00"), &phone(1));
    let send = |body: serde_json::Value, key: &'static str| {
        let req = app
            .client
            .post(app.url("/api/v1/bookings"))
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let resp = req.send().await.unwrap();
            (
                resp.status().as_u16(),
                resp.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (s1, b1) = send(body.clone(), "key-1").await;
    let (s2, b2) = send(body.clone(), "key-1").await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(b1["id"], b2["id"]);
    assert_eq!(b1["manage_token"], b2["manage_token"]);
    // Same key, different body.
    let other = booking(&[1], json!("any"), &at(TUESDAY, "11:00"), &phone(1));
    let (s3, b3) = send(other, "key-1").await;
    assert_eq!(
        (s3, b3["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Without a key, the same body is a new request: the slot is taken by then.
    app.book(&body).await.expect_error(409, "client_overlap");
    let count = app
        .store
        .read(barberpro::store::bookings::count)
        .await
        .unwrap();
    assert_eq!(count, 1);
}
