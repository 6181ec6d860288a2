//! Hardening (issue 6): rate limits, trusted proxies, security headers, CORS, connection
//! limits, slow clients, large bodies, readiness and the metrics listener.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use barberpro::config::{Config, RateTier, TlsMode};
use barberpro::http::Clock;
use barberpro::startup::{Application, Options};
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MONDAY_8AM, TUESDAY, TestApp, at, booking, phone, spawn_app_with, test_config, ts,
};

/// A server with `tweak` applied to the test configuration, and its metrics address; the
/// temp folder lives as long as the returned guard.
async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> (TestApp, TempDir, SocketAddr) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(tmp.path());
    let metrics = free_port();
    config.metrics.listen = metrics;
    tweak(&mut config);
    let app = spawn_app_with(config, Clock::manual(ts(MONDAY_8AM))).await;
    (app, tmp, metrics)
}

/// A loopback port free right now (the OS picks it; we release it for the server).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// A plain-HTTP server (TLS off, as behind a proxy), for raw-socket tests.
pub(crate) struct PlainServer {
    pub(crate) addr: SocketAddr,
    metrics: Option<SocketAddr>,
    pub(crate) shutdown: CancellationToken,
    _tmp: TempDir,
}

impl Drop for PlainServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) async fn spawn_plain(tweak: impl FnOnce(&mut Config)) -> PlainServer {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(tmp.path());
    config.server.tls.mode = TlsMode::Off;
    config.metrics.listen = "127.0.0.1:0".parse().expect("addr");
    tweak(&mut config);
    let app = Application::build(
        config,
        Options {
            demo: true,
            clock: Clock::manual(ts(MONDAY_8AM)),
        },
    )
    .await
    .expect("the application builds");
    let (addr, metrics) = (app.addr(), app.metrics_addr());
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        let _ = app.run_until_stopped(token).await;
    });
    PlainServer {
        addr,
        metrics,
        shutdown,
        _tmp: tmp,
    }
}

fn tier(requests: u32, per_secs: u64) -> RateTier {
    RateTier { requests, per_secs }
}

/// GET over plain HTTP/1.1 with extra headers; returns (status, raw response).
async fn raw_get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server answers in time")
        .expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

async fn scrape(addr: SocketAddr, accept: Option<&str>, token: Option<&str>) -> (u16, String) {
    let mut req = crate::helpers::plain_client().get(format!("http://{addr}/metrics"));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("scrape");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

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

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_once() {
    let server = spawn_plain(|c| c.server.limits.max_connections = 2).await;
    // Two idle connections hold both places.
    let held1 = TcpStream::connect(server.addr).await.expect("connect");
    let held2 = TcpStream::connect(server.addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(server.addr)
        .await
        .expect("the kernel accepts");
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(3), third.read(&mut buf))
        .await
        .expect("the third connection is closed at once, not left hanging");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the third connection got an answer: {read:?}"
    );
    drop((held1, held2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = raw_get(server.addr, "/healthz", "").await;
    assert_eq!(status, 200, "places free up when connections close");
    let metrics = server.metrics.expect("metrics listener");
    let (_, text) = scrape(metrics, None, None).await;
    assert!(
        text.contains("barberpro_connections_refused_total 1"),
        "{text}"
    );
    assert!(text.contains("barberpro_connections_max 2"), "{text}");
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_after_the_header_timeout() {
    let server = spawn_plain(|c| c.server.timeouts.header_read_secs = 1).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send");
    let started = Instant::now();
    let mut out = Vec::new();
    // Keep dribbling one header byte at a time; the server must still hang up.
    let dribble = async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s.write_all(b"X").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), dribble).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "the connection was still open after {waited:?}"
    );
}

#[tokio::test]
async fn a_10_mb_body_is_refused_without_being_read_whole() {
    let server = spawn_plain(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let head = "POST /api/v1/bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 10485760\r\n\r\n";
    s.write_all(head.as_bytes()).await.expect("send headers");
    // Send a little more than the limit, then wait: the answer must come without the rest.
    let _ = s.write_all(&vec![b' '; 80 * 1024]).await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered before the 10 MB arrived")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
}

#[tokio::test]
async fn readyz_names_each_check() {
    let (app, _tmp, _) = spawn_with(|_| {}).await;
    let body = app.get("/readyz").await.expect(200);
    assert_eq!(body["status"], "ready", "{body}");
    for check in [
        "database",
        "writer",
        "certificate",
        "disk",
        "outbox",
        "snapshot",
    ] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }
    // A stuck outbox: messages are queued, but no sender takes them (here: none runs).
    app.store
        .write(|txn| {
            let policy = barberpro::store::outbox::Policy {
                enabled: true,
                reminders_minutes_before: Vec::new(),
            };
            barberpro::store::outbox::configure(txn, &policy)
        })
        .await
        .unwrap();
    app.book_ok(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(1),
    ))
    .await;
    app.clock
        .set(ts(MONDAY_8AM) + jiff::SignedDuration::from_mins(14));
    app.get("/readyz").await.expect(200);
    app.clock
        .set(ts(MONDAY_8AM) + jiff::SignedDuration::from_mins(16));
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["failed"], json!(["outbox"]), "{}", answer.body);
    assert_eq!(answer.body["checks"]["outbox"]["detail"]["pending"], 1);
    app.clock.set(ts(MONDAY_8AM));
    // Backups that stopped: the last success is days old.
    std::fs::write(
        app.data_dir.join("snapshot-status.json"),
        r#"{"last_success_at": "2020-01-01T00:00:00Z", "failures_total": 4}"#,
    )
    .unwrap();
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(
        answer.body["failed"],
        json!(["snapshot"]),
        "{}",
        answer.body
    );
    let (strict, _tmp2, _) = spawn_with(|c| c.health.min_free_disk_mib = 1 << 30).await;
    let answer = strict.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["failed"], json!(["disk"]), "{}", answer.body);
}

/// Metric names used by the alert rules and the Grafana dashboard: every one must be in a
/// real scrape.
fn names_in_monitoring_assets() -> Vec<String> {
    let mut names = Vec::new();
    for file in ["alerts.yml", "grafana-dashboard.json"] {
        let path = format!("{}/packaging/monitoring/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the monitoring assets exist");
        names.extend(
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("barberpro_") || w.starts_with("process_"))
                .map(str::to_owned),
        );
    }
    names.sort();
    names.dedup();
    names
}

/// The value of an unlabelled sample in a scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn journaled_bookings_and_checkpoints_are_measured() {
    let (app, _tmp, metrics) = spawn_with(|_| {}).await;
    let mut text = String::new();
    // A client's booking alone in its batch is made durable by the journal (one that shares
    // its batch with another kind of write is flushed with it).
    for i in 0..5 {
        app.book_ok(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, &format!("1{i}:00")),
            &phone(20 + i),
        ))
        .await;
        text = scrape(metrics, None, None).await.1;
        if sample(&text, "barberpro_write_batch_journaled_total") >= Some(1.0) {
            break;
        }
    }
    assert!(
        sample(&text, "barberpro_write_batch_journaled_total") >= Some(1.0),
        "{text}"
    );
    // Its checkpoint follows within `storage.checkpoint_interval_ms`, unless another write
    // flushes redb first (a unit test in `store::engine` pins the checkpoint itself).
    for histogram in ["checkpoint_duration", "checkpoint_pause"] {
        assert!(
            text.contains(&format!("# TYPE barberpro_{histogram}_seconds histogram")),
            "{text}"
        );
    }
    assert_eq!(
        sample(&text, "barberpro_checkpoint_failures_total"),
        Some(0.0)
    );
}

/// The upkeep passes (the hourly Idempotency-Key pruning, the daily retention job) look
/// before they write: with nothing to do they take no turn at the writer, so they neither
/// cost a durable commit nor hold up the clients' bookings, and the journal keeps its records.
#[tokio::test]
async fn upkeep_with_nothing_to_do_writes_nothing() {
    let (app, _tmp, metrics) = spawn_with(|_| {}).await;
    app.book_ok(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(3),
    ))
    .await;
    let batches = || async {
        sample(
            &scrape(metrics, None, None).await.1,
            "barberpro_write_batch_requests_count",
        )
    };
    let before = batches().await;
    assert!(before >= Some(1.0), "the booking's batch is counted");

    let now = app.clock.now();
    let settings = barberpro::retention::Settings {
        audit_retention_days: 30,
        anonymise_inactive_after_years: 1,
        ..barberpro::retention::Settings::from_config(&Config::default())
    };
    let report = barberpro::retention::run_once(&app.store, &settings, now)
        .await
        .unwrap();
    assert_eq!(report, barberpro::retention::Report::default());
    let upkeep = barberpro::housekeeping::Housekeeping {
        store: app.store.clone(),
        clock: app.clock.clone(),
        idempotency_ttl: Duration::from_secs(3600),
    };
    assert_eq!(upkeep.run_once().await.unwrap(), 0);
    assert_eq!(batches().await, before, "no write batch ran");
}

#[tokio::test]
async fn the_metrics_listener_serves_route_templates_and_business_counters() {
    let (app, _tmp, metrics) = spawn_with(|_| {}).await;
    let (id, token) = app
        .book_ok(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, "10:00"),
            &phone(7),
        ))
        .await;
    app.get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    app.get_auth("/api/v1/bookings/987654", &token).await;
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);
    app.get("/no/such/987654").await;
    let (status, text) = scrape(metrics, None, None).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("route=\"/api/v1/bookings/{id}\""),
        "requests are labelled by route template: {text}"
    );
    assert!(!text.contains("987654"), "raw paths never become labels");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    for line in [
        "barberpro_bookings_created_total{branch=\"palermo\",source=\"online\"} 1",
        "barberpro_booking_transitions_total{branch=\"palermo\",status=\"cancelled\"} 1",
        "barberpro_clients_created_total 1",
        "barberpro_ready 1",
        "barberpro_http_requests_in_flight 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    assert!(
        !text.contains("barberpro_write_batch_duration_seconds_count 0\n"),
        "batches are timed"
    );
    assert!(!text.contains("barberpro_tls_certificate_expiry_timestamp_seconds 0\n"));
    for name in names_in_monitoring_assets() {
        assert!(
            text.contains(&name),
            "the alert rules or the dashboard use `{name}`, which the scrape lacks"
        );
    }
    let (_, om) = scrape(
        metrics,
        Some("application/openmetrics-text; version=1.0.0"),
        None,
    )
    .await;
    assert!(om.ends_with("# EOF\n"), "OpenMetrics when asked for it");
    promtool_check_metrics(&text);
}

/// `promtool check metrics` on a real scrape, when promtool is installed (CI installs it).
fn promtool_check_metrics(scrape: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        crate::skipped::skip(
            "promtool not installed (`promtool check metrics` not run)",
            crate::skipped::INSTALL_PROMTOOL,
        );
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.as_bytes())
        .expect("write scrape");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_metrics_listener_can_require_a_bearer_token() {
    let secret = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(secret.path(), "s3cr3t-scrape-token\n").expect("write token");
    let path = secret.path().to_path_buf();
    let server = spawn_plain(move |c| c.metrics.bearer_token_file = Some(path)).await;
    let metrics = server.metrics.expect("metrics listener");
    assert_eq!(scrape(metrics, None, None).await.0, 401);
    assert_eq!(scrape(metrics, None, Some("wrong")).await.0, 401);
    let (status, text) = scrape(metrics, None, Some("s3cr3t-scrape-token")).await;
    assert_eq!(status, 200);
    assert!(text.contains("barberpro_build_info"), "{text}");
}
