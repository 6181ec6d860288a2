//! The server itself: HTTPS with HTTP/2, health, request ids, OpenAPI, restart.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn serves_https_with_http2_and_health() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.version(),
        reqwest::Version::HTTP_2,
        "ALPN should pick h2"
    );
    let id = |resp: &reqwest::Response| {
        let id = resp
            .headers()
            .get("x-request-id")
            .expect("a request id is sent back");
        uuid::Uuid::parse_str(id.to_str().unwrap()).expect("the id made up is a UUID")
    };
    let first = id(&resp);
    assert_eq!(first.get_version_num(), 4, "a random (version 4) UUID");
    let again = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(id(&again), first, "each request gets its own id");
}

#[tokio::test]
async fn echoes_a_sane_request_id_and_replaces_a_bad_one() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "<script>");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let app = spawn_app().await;
    app.get("/nope").await.expect_error(404, "not_found");
    app.get("/api/v1/bookings")
        .await
        .expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/branches", "get"),
        ("/api/v1/branches/{slug}/services", "get"),
        ("/api/v1/branches/{slug}/barbers", "get"),
        ("/api/v1/branches/{slug}/availability", "get"),
        ("/api/v1/bookings", "post"),
        ("/api/v1/bookings/{id}", "get"),
        ("/api/v1/bookings/{id}/reschedule", "post"),
        ("/api/v1/bookings/{id}/cancel", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    // Every documented path is really served (not 404 from the fallback).
    for path in paths.keys() {
        let concrete = path.replace("{slug}", "palermo").replace("{id}", "1");
        let resp = app.client.get(app.url(&concrete)).send().await.unwrap();
        assert_ne!(
            resp.status(),
            404,
            "{path} is documented but not routed ({concrete})"
        );
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_ne!(
            body["error"]["code"], "not_found",
            "{path} is documented but not routed"
        );
    }
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let mut app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let ca_before = std::fs::read(app.data_dir.join("tls/ca.pem")).unwrap();
    let cert_before = std::fs::read(app.data_dir.join("tls/cert.pem")).unwrap();
    let dir = app.take_dir();
    app.stop().await;
    drop(app);

    let again = spawn_app_with(
        test_config(dir.path()),
        barberpro::http::Clock::manual(ts(MONDAY_8AM)),
    )
    .await;
    let b = again
        .get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(b["start"], at(TUESDAY, "10:00"));
    assert_eq!(b["status"], "confirmed");
    let free = again.free_times("palermo", TUESDAY, "1", "1").await;
    assert!(
        !free.contains(&"10:00".to_owned()),
        "the booked slot stays taken after restart"
    );
    assert_eq!(
        std::fs::read(dir.path().join("tls/ca.pem")).unwrap(),
        ca_before,
        "CA reused"
    );
    assert_eq!(
        std::fs::read(dir.path().join("tls/cert.pem")).unwrap(),
        cert_before,
        "certificate reused"
    );
    let branches = again.get("/api/v1/branches").await.expect(200);
    assert_eq!(
        branches.as_array().unwrap().len(),
        2,
        "demo data is not seeded twice"
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_folder_is_refused() {
    let app = spawn_app().await;
    let err = barberpro::store::Store::open(&app.data_dir, 1 << 20)
        .err()
        .expect("must refuse");
    let msg = err.to_string();
    assert!(
        msg.contains("in use") && msg.contains(&format!("PID {}", std::process::id())),
        "{msg}"
    );
}
