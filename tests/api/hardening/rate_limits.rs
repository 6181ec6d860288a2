//! Rate limits: the global and booking tiers, and client addresses behind trusted and
//! untrusted proxies.

use super::*;

#[tokio::test]
async fn the_global_limit_answers_429_at_exactly_the_configured_count_and_resets_on_time() {
    let (app, _tmp, _) = spawn_with(|c| {
        c.rate_limit.enabled = true;
        // 4 requests, one back every 2 s.
        c.rate_limit.global = tier(4, 8);
    })
    .await;
    for _ in 1..=4 {
        app.get("/api/v1/branches").await.expect(200);
    }
    let refused = app.get("/api/v1/branches").await;
    let retry: u64 = refused
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a 429 carries Retry-After in seconds");
    assert_eq!(retry, 2, "one request comes back every 8/4 = 2 s");
    assert!(
        refused.headers.contains_key("content-security-policy"),
        "429s get the security headers too"
    );
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    refused.expect_error(429, "rate_limited");
    assert!(
        message.contains("Demasiadas solicitudes"),
        "Spanish message: {message}"
    );
    // Probes are never limited.
    app.get("/healthz").await.expect(200);
    tokio::time::sleep(Duration::from_secs(retry)).await;
    app.get("/api/v1/branches").await.expect(200);
    app.get("/api/v1/branches")
        .await
        .expect_error(429, "rate_limited");
}

#[tokio::test]
async fn booking_creation_has_its_own_tighter_limit() {
    let (app, _tmp, _) = spawn_with(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.booking = tier(2, 900);
    })
    .await;
    // Even refused bookings count: the limit protects the work, not the outcome.
    app.book(&json!({})).await.expect_error(422, "invalid_body");
    app.book(&json!({})).await.expect_error(422, "invalid_body");
    app.book(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(1),
    ))
    .await
    .expect_error(429, "rate_limited");
    app.get("/api/v1/branches").await.expect(200);
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let (app, _tmp, _) = spawn_with(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.global = tier(3, 600);
    })
    .await;
    for n in 0..3 {
        let resp = app
            .client
            .get(app.url("/api/v1/branches"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .header("forwarded", format!("for=203.0.113.{n}"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
    }
    let resp = app
        .client
        .get(app.url("/api/v1/branches"))
        .header("x-forwarded-for", "198.51.100.99")
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status(),
        429,
        "made-up forwarding headers must not buy a fresh quota"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() {
    let (app, _tmp, _) = spawn_with(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.global = tier(3, 600);
        c.rate_limit.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a network")];
    })
    .await;
    let get = |xff: &'static str| {
        app.client
            .get(app.url("/api/v1/branches"))
            .header("x-forwarded-for", xff)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(get("198.51.100.1").await.expect("request").status(), 200);
    }
    assert_eq!(get("198.51.100.1").await.expect("request").status(), 429);
    // A client prepending someone else's address is still itself (rightmost untrusted hop).
    assert_eq!(
        get("198.51.100.2, 198.51.100.1")
            .await
            .expect("request")
            .status(),
        429
    );
    assert_eq!(
        get("198.51.100.2").await.expect("request").status(),
        200,
        "another client"
    );
}
