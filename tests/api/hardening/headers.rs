//! Response headers: security headers on every kind of answer (no HSTS over plain HTTP),
//! the not-found page or JSON, CORS only for configured origins on the API.

use super::*;

const SECURITY_HEADERS: [&str; 6] = [
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "permissions-policy",
    "strict-transport-security",
];

#[track_caller]
fn assert_security_headers(what: &str, headers: &reqwest::header::HeaderMap) {
    for name in SECURITY_HEADERS {
        assert!(
            headers.contains_key(name),
            "{what}: missing {name} in {headers:?}"
        );
    }
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline"),
        "{what}: no inline script or style: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
}

#[tokio::test]
async fn an_unknown_path_shows_a_browser_a_page_and_gives_everyone_else_json() {
    let (app, _tmp, _) = spawn_with(|_| {}).await;
    let browser = |path: &str| {
        app.client
            .get(app.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
    };
    for path in [
        "/no/such/page",
        "/reservar-mal",
        "/admin/no-such-page",
        "/turnos/1/x",
    ] {
        let resp = browser(path).await.expect("answer");
        assert_eq!(resp.status(), 404, "{path}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let page = resp.text().await.expect("body");
        assert!(page.contains("lang=\"es-AR\""), "{path}: {page}");
        assert!(page.contains("No encontramos"), "{path}: {page}");
    }
    // The API answers JSON whatever the client accepts; so does any path to a client that
    // does not ask for HTML.
    let resp = browser("/api/v1/no-such").await.expect("answer");
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "not_found");
    app.get("/no/such/page")
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn security_headers_are_on_every_kind_of_response() {
    let (app, _tmp, _) = spawn_with(|_| {}).await;
    let ok = app.get("/api/v1/branches").await;
    assert_security_headers("200 from the API", &ok.headers);
    assert_security_headers("404", &app.get("/no/such/page").await.headers);
    assert_security_headers(
        "405",
        &app.post("/api/v1/branches", &json!({})).await.headers,
    );
    assert_security_headers("health probe", &app.get("/healthz").await.headers);
    let big = app
        .post_raw(
            "/api/v1/bookings",
            Some("application/json"),
            vec![b' '; 200 * 1024],
        )
        .await;
    assert_eq!(big.status, 413, "{:?}", big.body);
    assert_security_headers("413", &big.headers);
    let denied = app.get_auth("/api/v1/bookings/1", "not-a-token").await;
    assert_security_headers("401", &denied.headers);
    assert_eq!(
        denied
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or("")),
        Some("no-store"),
        "answers to requests with credentials are never cached"
    );
    let hsts = ok.headers["strict-transport-security"]
        .to_str()
        .expect("ascii");
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
}

#[tokio::test]
async fn no_hsts_over_plain_http_but_the_other_headers_stay() {
    let server = spawn_plain(|_| {}).await;
    let (status, text) = raw_get(server.addr, "/healthz", "").await;
    assert_eq!(status, 200, "{text}");
    let lower = text.to_lowercase();
    assert!(lower.contains("content-security-policy:"), "{text}");
    assert!(
        !lower.contains("strict-transport-security"),
        "no HSTS without TLS: {text}"
    );
}

#[tokio::test]
async fn cors_answers_only_configured_origins_and_only_on_the_api() {
    let (app, _tmp, _) = spawn_with(|c| {
        c.security.cors_allowed_origins = vec!["https://reservas.example".parse().expect("origin")];
    })
    .await;
    let get = |path: &str, origin: &'static str| {
        app.client
            .get(app.url(path))
            .header("origin", origin)
            .send()
    };
    let allowed = get("/api/v1/branches", "https://reservas.example")
        .await
        .expect("request");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://reservas.example"[..])
    );
    let refused = get("/api/v1/branches", "https://evil.example")
        .await
        .expect("request");
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin"),
        "an unknown origin gets no CORS grant"
    );
    let outside = get("/healthz", "https://reservas.example")
        .await
        .expect("request");
    assert!(
        !outside
            .headers()
            .contains_key("access-control-allow-origin"),
        "no CORS outside /api/"
    );
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/bookings"))
        .header("origin", "https://reservas.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,idempotency-key",
        )
        .send()
        .await
        .expect("preflight");
    assert!(
        preflight.status().is_success(),
        "preflight: {}",
        preflight.status()
    );
    let methods = preflight
        .headers()
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(methods.contains("POST"), "allowed methods: {methods}");
}
