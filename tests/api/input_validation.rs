//! Bad input gets a clear 4xx with the error body: never a 500, never a panic, never data loss.

use serde_json::{Value, json};

use crate::helpers::*;

/// A change applied to a valid request body.
type Mutation = Box<dyn Fn(&mut Value)>;

fn valid() -> Value {
    booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1))
}

#[tokio::test]
async fn malformed_bodies() {
    let app = spawn_app().await;
    let json_ct = Some("application/json");
    let full = serde_json::to_vec(&valid()).unwrap();
    let truncated = full[..full.len() / 2].to_vec();
    for (body, status, code) in [
        (b"{".to_vec(), 400, "malformed_json"),
        (truncated, 400, "malformed_json"),
        (b"".to_vec(), 400, "malformed_json"),
        (b"null".to_vec(), 422, "invalid_body"),
        (b"[]".to_vec(), 422, "invalid_body"),
        ("\u{0}".as_bytes().to_vec(), 400, "malformed_json"),
        (vec![0xff, 0xfe, 0x00], 400, "malformed_json"),
    ] {
        let a = app
            .post_raw("/api/v1/bookings", json_ct, body.clone())
            .await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (status, code),
            "body {:?}: {}",
            String::from_utf8_lossy(&body),
            a.body
        );
    }
    app.post_raw("/api/v1/bookings", None, full.clone())
        .await
        .expect_error(415, "unsupported_media_type");
    app.post_raw("/api/v1/bookings", Some("text/plain"), full)
        .await
        .expect_error(415, "unsupported_media_type");
}

#[tokio::test]
async fn wrong_types_unknown_and_missing_fields() {
    let app = spawn_app().await;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "services as string",
            Box::new(|v| v["services"] = json!("1")),
        ),
        (
            "negative service",
            Box::new(|v| v["services"] = json!([-1])),
        ),
        ("start as number", Box::new(|v| v["start"] = json!(12))),
        (
            "unknown top-level field",
            Box::new(|v| v["price"] = json!(0)),
        ),
        (
            "unknown client field",
            Box::new(|v| v["client"]["admin"] = json!(true)),
        ),
        (
            "missing client",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("client");
            }),
        ),
        (
            "missing start",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("start");
            }),
        ),
        (
            "consent as string",
            Box::new(|v| v["client"]["whatsapp_consent"] = json!("yes")),
        ),
    ];
    for (what, mutate) in mutations {
        let mut body = valid();
        mutate(&mut body);
        let a = app.book(&body).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (422, "invalid_body"),
            "{what}: {}",
            a.body
        );
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused() {
    let app = spawn_app().await;
    let mut body = valid();
    body["notes"] = json!("x".repeat(70 * 1024));
    app.book(&body).await.expect_error(413, "payload_too_large");
    // Just under the limit is read (and refused for the note's length, not its size).
    body["notes"] = json!("x".repeat(60 * 1024));
    app.book(&body).await.expect_error(422, "invalid_field");
}

#[tokio::test]
async fn field_values_are_validated() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Mutation, u16, &str)> = vec![
        (
            "bad phone",
            Box::new(|v| v["client"]["phone"] = json!("12345")),
            422,
            "invalid_phone",
        ),
        (
            "script phone",
            Box::new(|v| v["client"]["phone"] = json!("<script>")),
            422,
            "invalid_phone",
        ),
        (
            "10 KB name",
            Box::new(|v| v["client"]["name"] = json!("a".repeat(10_000))),
            422,
            "invalid_field",
        ),
        (
            "empty name",
            Box::new(|v| v["client"]["name"] = json!("   ")),
            422,
            "invalid_field",
        ),
        (
            "control characters",
            Box::new(|v| v["client"]["name"] = json!("Ju\u{7}an")),
            422,
            "invalid_field",
        ),
        (
            "bad email",
            Box::new(|v| v["client"]["email"] = json!("not-an-email")),
            422,
            "invalid_email",
        ),
        (
            "no services",
            Box::new(|v| v["services"] = json!([])),
            422,
            "invalid_service_selection",
        ),
        (
            "same service twice",
            Box::new(|v| v["services"] = json!([1, 1])),
            422,
            "invalid_service_selection",
        ),
        (
            "six services",
            Box::new(|v| v["services"] = json!([1, 2, 3, 4, 5, 6])),
            422,
            "invalid_service_selection",
        ),
        (
            "start without offset",
            Box::new(|v| v["start"] = json!("2027-03-02T10:00:00")),
            422,
            "invalid_field",
        ),
        (
            "start garbage",
            Box::new(|v| v["start"] = json!("mañana")),
            422,
            "invalid_field",
        ),
        (
            "barber word",
            Box::new(|v| v["barber"] = json!("pepe")),
            422,
            "invalid_field",
        ),
        (
            "barber null",
            Box::new(|v| v["barber"] = json!(null)),
            422,
            "invalid_body",
        ),
        (
            "huge service id",
            Box::new(|v| v["services"] = json!([u64::MAX])),
            422,
            "unknown_service",
        ),
    ];
    for (what, mutate, status, code) in cases {
        let mut body = valid();
        mutate(&mut body);
        let a = app.book(&body).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (status, code),
            "{what}: {}",
            a.body
        );
    }
    let count = app
        .store
        .read(barberpro::store::bookings::count)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was written by refused requests");
}

#[tokio::test]
async fn odd_but_valid_text_is_stored_as_given() {
    let app = spawn_app().await;
    let mut body = valid();
    let name = "Renée 💈 <script>alert('x')</script> & \"Cía\"";
    body["client"]["name"] = json!(name);
    body["notes"] = json!("línea 1\nlínea 2 🙂");
    let b = app.book(&body).await.expect(201);
    assert_eq!(b["client_name"], name);
    assert_eq!(b["notes"], "línea 1\nlínea 2 🙂");
    let (id, token) = (app.id_of(&b), b["manage_token"].as_str().unwrap());
    let seen = app
        .get_auth(&format!("/api/v1/bookings/{id}"), token)
        .await
        .expect(200);
    assert_eq!(seen["client_name"], name);
}

#[tokio::test]
async fn bad_reschedule_and_cancel_bodies() {
    let app = spawn_app().await;
    let (id, token) = app.book_ok(&valid()).await;
    let path = format!("/api/v1/bookings/{id}/reschedule");
    app.post_auth(&path, &token, Some(&json!({"start": 5})))
        .await
        .expect_error(422, "invalid_body");
    app.post_auth(
        &path,
        &token,
        Some(&json!({"start": at(TUESDAY, "16:00"), "x": 1})),
    )
    .await
    .expect_error(422, "invalid_body");
    app.post_auth(&path, &token, None)
        .await
        .expect_error(415, "unsupported_media_type");
    let cancel = format!("/api/v1/bookings/{id}/cancel");
    app.post_auth(&cancel, &token, Some(&json!({"reason": 5})))
        .await
        .expect_error(422, "invalid_body");
    app.post_auth(&cancel, &token, Some(&json!({"reason": "a".repeat(5000)})))
        .await
        .expect_error(422, "invalid_field");
    let b = app
        .get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(b["status"], "confirmed", "refused requests changed nothing");
}

#[tokio::test]
async fn bad_idempotency_keys() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "k".repeat(300))
        .json(&valid())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_idempotency_key");
}
