//! Client changes through the API are audited in their own transaction; refusals are not.

use super::*;

#[tokio::test]
async fn client_api_changes_are_audited_in_their_transaction_and_refusals_are_not() {
    let app = spawn_app().await;
    let mut body = crate::helpers::booking(&[1], json!(1), &at(TUESDAY, "10:00"), TYPED);
    let created = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let (id, token) = (
        app.id_of(&created),
        created["manage_token"].as_str().unwrap().to_owned(),
    );
    // A retry with the same key replays the booking: no second entry.
    let replay = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    app.post_auth(
        &format!("/api/v1/bookings/{id}/reschedule"),
        &token,
        Some(&json!({"start": at(TUESDAY, "11:00")})),
    )
    .await
    .expect(200);
    // Refused: the slot is taken by someone else.
    body["client"]["phone"] = json!("011 15-2345-6702");
    app.book_ok(&body).await; // 10:00 is free again after the move
    let refused = app
        .post_auth(
            &format!("/api/v1/bookings/{id}/reschedule"),
            &token,
            Some(&json!({"start": at(TUESDAY, "10:00")})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);

    let trail: Vec<(String, String, Option<u64>)> = all_audit(&app)
        .await
        .into_iter()
        .filter(|e| e.entity_id == Some(id.n))
        .map(|e| (e.action, e.actor_email, e.entity_id))
        .collect();
    let expect = |a: &str| (a.to_owned(), "client".to_owned(), Some(id.n));
    assert_eq!(
        trail,
        vec![
            expect("booking.create"),
            expect("booking.reschedule"),
            expect("booking.cancel")
        ],
        "one entry per change by the client, none for the replay or the refusal"
    );
    let entries = all_audit(&app).await;
    let moved = entries
        .iter()
        .find(|e| e.action == "booking.reschedule")
        .unwrap();
    let start = |v: &Option<Value>| v.as_ref().unwrap()["start"].as_str().unwrap().to_owned();
    assert_ne!(
        start(&moved.before),
        start(&moved.after),
        "before and after"
    );
    assert!(moved.ip.is_none(), "no client address in the log");
    audit_is_free_of(&entries, &["Juan", "Pérez", "23456701", &token]);
}
