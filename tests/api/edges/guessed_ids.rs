//! A wrong token and a missing booking answer exactly alike (status and body) on every
//! booking route of the API: trying ids tells nothing about which exist.

use serde_json::{Value, json};

use crate::helpers::{TUESDAY, TestApp, at, booking, phone, spawn_app};

/// (status, body) of `GET` (no body) or `POST` (with `body`) on a booking's `path`.
async fn answer(
    app: &TestApp,
    url: &str,
    token: &str,
    post: Option<Option<&Value>>,
) -> (u16, Value) {
    let a = match post {
        None => app.get_auth(url, token).await,
        Some(body) => app.post_auth(url, token, body).await,
    };
    (a.status.as_u16(), a.body)
}

#[tokio::test]
async fn a_wrong_token_and_a_missing_booking_answer_alike() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let missing = id + 1000;
    let move_to = json!({"start": at(TUESDAY, "12:00")});
    for (path, post) in [
        ("", None),
        ("/cancel", Some(None)),
        ("/reschedule", Some(Some(&move_to))),
    ] {
        let wrong = answer(
            &app,
            &format!("/api/v1/bookings/{id}{path}"),
            "not-the-token",
            post,
        )
        .await;
        let absent = answer(
            &app,
            &format!("/api/v1/bookings/{missing}{path}"),
            &token,
            post,
        )
        .await;
        assert_eq!(wrong.0, 401, "{path}: {wrong:?}");
        assert_eq!(
            absent, wrong,
            "{path}: a missing booking answers as a wrong token"
        );
    }
}
