//! HTTP/2 answers given before the request's body was read reach the client as answers: each
//! of 401, 404, 413, 415 and 429, 50 times, with the body still on its way when the server
//! decides (hyper's HTTP/2 client, and Debian's `curl --http2` where installed).

use std::sync::Arc;
use std::time::Duration;

use barberpro::config::RateTier;
use barberpro::http::Clock;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::helpers::{MONDAY_8AM, TestApp, spawn_app_configured, tls_trusting, ts};

const LIMIT_KIB: usize = 16;
const TIMES: usize = 50;

/// (status, method path, content type, bearer token, body size) of each early answer.
const EARLY: [(u16, &str, &str, bool, usize); 5] = [
    // No token: refused before the body is read.
    (
        401,
        "/api/v1/bookings/1/cancel",
        "application/json",
        false,
        64,
    ),
    // MercadoPago's webhook while deposits are off: no such route.
    (404, "/webhooks/mercadopago", "application/json", false, 64),
    // Three times the body limit, no Content-Length: refused once the limit is read.
    (
        413,
        "/api/v1/bookings/1/reschedule",
        "application/json",
        true,
        3 * LIMIT_KIB * 1024,
    ),
    (415, "/api/v1/bookings/1/reschedule", "text/plain", true, 64),
    // The booking tier is spent (one request per hour).
    (429, "/api/v1/bookings", "application/json", false, 64),
];

async fn app() -> TestApp {
    spawn_app_configured(Clock::manual(ts(MONDAY_8AM)), |c, _| {
        c.server.limits.max_body_kib = LIMIT_KIB;
        let r = &mut c.rate_limit;
        r.enabled = true;
        r.global = RateTier {
            requests: 100_000,
            per_secs: 60,
        };
        r.booking = RateTier {
            requests: 1,
            per_secs: 3600,
        };
    })
    .await
}

type Sender = hyper::client::conn::http2::SendRequest<
    StreamBody<futures::channel::mpsc::UnboundedReceiver<Result<Frame<Bytes>, std::io::Error>>>,
>;

async fn http2(app: &TestApp) -> Sender {
    let ca = std::fs::read(app.data_dir.join("tls/ca.pem")).unwrap();
    let mut config = tls_trusting(&[&ca]);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    sender
}

/// One request whose body's first half is sent with the head and the rest 5 ms later, as an
/// upload still on its way; the status, or what the client got instead.
async fn send(
    sender: &mut Sender,
    app: &TestApp,
    (_, path, content_type, token, size): (u16, &str, &str, bool, usize),
) -> Result<u16, String> {
    let body = vec![b' '; size];
    let (first, rest) = body.split_at(size / 2);
    let (chunks, frames) = futures::channel::mpsc::unbounded();
    chunks
        .unbounded_send(Ok(Frame::data(Bytes::copy_from_slice(first))))
        .unwrap();
    let rest = Bytes::copy_from_slice(rest);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let _ = chunks.unbounded_send(Ok(Frame::data(rest)));
    });
    let mut request = hyper::Request::post(format!("https://localhost:{}{path}", app.addr.port()))
        .header("content-type", content_type);
    if token {
        request = request.header("authorization", "Bearer not-the-token");
    }
    let request = request.body(StreamBody::new(frames)).unwrap();
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{status}, then its body was cut: {e}"))?;
    Ok(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_early_answer_reaches_an_http2_client_50_times_out_of_50() {
    let app = app().await;
    let mut sender = http2(&app).await;
    // Spends the booking tier.
    let _ = send(&mut sender, &app, EARLY[4]).await;
    for early in EARLY {
        let mut got = Vec::new();
        for _ in 0..TIMES {
            got.push(send(&mut sender, &app, early).await);
        }
        let seen = got.iter().filter(|g| **g == Ok(early.0)).count();
        let other: Vec<_> = got.iter().filter(|g| **g != Ok(early.0)).take(3).collect();
        assert_eq!(
            seen, TIMES,
            "{} {}: {seen} of {TIMES} answered; else {other:?}",
            early.0, early.1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_early_answer_reaches_curl_over_http2_50_times_out_of_50() {
    let curl_h2 = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("HTTP2"));
    if !curl_h2 {
        crate::skipped::skip("curl with HTTP/2 not installed", "apt-get install curl");
        return;
    }
    let app = app().await;
    let tmp = tempfile::tempdir().unwrap();
    let ca = app.data_dir.join("tls/ca.pem");
    for (n, early) in EARLY.into_iter().enumerate() {
        let (status, path, content_type, token, size) = early;
        let file = tmp.path().join(format!("body{n}"));
        std::fs::write(&file, vec![b' '; size]).unwrap();
        let url = format!("https://localhost:{}{path}", app.addr.port());
        let mut curl = std::process::Command::new("curl");
        curl.args(["--http2", "-s", "-w", "%{http_code}\\n"])
            .arg("--cacert")
            .arg(&ca)
            .args([
                "-H",
                &format!("content-type: {content_type}"),
                "-H",
                "expect:",
            ])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()));
        if token {
            curl.args(["-H", "authorization: Bearer not-the-token"]);
        }
        // One connection, TIMES streams (one more for the tier to spend first).
        let extra = usize::from(status == 429);
        for _ in 0..TIMES + extra {
            curl.args(["-o", "/dev/null", &url]);
        }
        let out = tokio::task::spawn_blocking(move || curl.output())
            .await
            .unwrap()
            .expect("curl runs");
        let codes: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(extra)
            .map(str::to_owned)
            .collect();
        let seen = codes.iter().filter(|c| **c == status.to_string()).count();
        assert_eq!(seen, TIMES, "curl, {status} {path}: {codes:?}");
    }
}
