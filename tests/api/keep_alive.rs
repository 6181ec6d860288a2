//! HTTP/1.1 keep-alive as clients see it. Between requests the server sets hyper's
//! connection state aside (see `http::connection`); none of that may show: requests after
//! idle gaps, pipelined requests, unread bodies, `Connection: close` and a draining server
//! all behave as on any HTTP/1.1 server.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::hardening::spawn_plain;

/// One response read off a keep-alive connection: (status, lower-cased head, body).
async fn read_response(s: &mut TcpStream, pending: &mut Vec<u8>) -> (u16, String, String) {
    let head_end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("the server answers in time")
            .expect("read");
        assert!(n > 0, "the server closed the connection before answering");
        pending.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content-length");
    while pending.len() < head_end + length {
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).await.expect("read body");
        assert!(n > 0, "the connection closed mid-body");
        pending.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&pending[head_end..head_end + length]).into_owned();
    pending.drain(..head_end + length);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, body)
}

/// True if the server closes the connection (EOF) within a few seconds.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await,
        Ok(Ok(_))
    )
}

const GET_HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test]
async fn one_connection_serves_request_after_request_across_idle_gaps() {
    let server = spawn_plain(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let mut pending = Vec::new();
    for round in 0..3 {
        s.write_all(GET_HEALTH).await.expect("send");
        let (status, head, _) = read_response(&mut s, &mut pending).await;
        assert_eq!(status, 200, "round {round}");
        assert!(!head.contains("connection: close"), "round {round}: {head}");
        // Long enough for the server to set the connection aside.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let body = br#"{"branch": "palermo"}"#;
        let post = format!(
            "POST /api/v1/bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(post.as_bytes()).await.expect("send head");
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.write_all(body).await.expect("send body");
        let (status, head, body) = read_response(&mut s, &mut pending).await;
        // The whole body arrived after a pause, and was read: it names the missing field.
        assert_eq!(status, 422, "round {round}: {body}");
        assert!(body.contains("missing field `services`"), "{body}");
        assert!(!head.contains("connection: close"), "round {round}: {head}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = spawn_plain(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let both =
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/branches HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(both).await.expect("send");
    let mut pending = Vec::new();
    let (first, _, health) = read_response(&mut s, &mut pending).await;
    let (second, _, branches) = read_response(&mut s, &mut pending).await;
    assert_eq!((first, second), (200, 200));
    assert!(!health.contains("palermo"), "{health}");
    assert!(branches.contains("palermo"), "{branches}");
    // And the connection is still good for more.
    s.write_all(GET_HEALTH).await.expect("send");
    assert_eq!(read_response(&mut s, &mut pending).await.0, 200);
}

#[tokio::test]
async fn a_request_whose_body_is_never_read_does_not_spill_into_the_next() {
    let server = spawn_plain(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    // /healthz takes no POST: answered 405 without reading the body.
    let body = "GET /api/v1/branches HTTP/1.1\r\n\r\n";
    let post = format!(
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(post.as_bytes()).await.expect("send");
    let mut pending = Vec::new();
    let (status, _, _) = read_response(&mut s, &mut pending).await;
    assert_eq!(status, 405);
    tokio::time::sleep(Duration::from_millis(150)).await;
    s.write_all(GET_HEALTH).await.expect("send");
    let (status, _, body) = read_response(&mut s, &mut pending).await;
    assert_eq!(status, 200, "the body was not taken for a request: {body}");
    assert!(!body.contains("palermo"), "{body}");
}

#[tokio::test]
async fn a_client_that_asks_to_close_is_closed() {
    let server = spawn_plain(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut pending = Vec::new();
    let (status, head, _) = read_response(&mut s, &mut pending).await;
    assert_eq!(status, 200);
    assert!(head.contains("connection: close"), "{head}");
    assert!(closed_by_server(&mut s).await, "the server kept it open");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let server = spawn_plain(|c| c.server.timeouts.header_read_secs = 1).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(GET_HEALTH).await.expect("send");
    let mut pending = Vec::new();
    assert_eq!(read_response(&mut s, &mut pending).await.0, 200);
    let started = std::time::Instant::now();
    assert!(closed_by_server(&mut s).await, "still open after 5 s");
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "closed too early: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_draining_server_closes_idle_connections_at_once() {
    let server = spawn_plain(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(GET_HEALTH).await.expect("send");
    let mut pending = Vec::new();
    assert_eq!(read_response(&mut s, &mut pending).await.0, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    server.shutdown.cancel();
    assert!(
        closed_by_server(&mut s).await,
        "the idle connection stayed open"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "closed only after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn http2_with_prior_knowledge_still_works_over_plain_http() {
    let server = spawn_plain(|_| {}).await;
    crate::helpers::ring_provider();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let resp = client
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await
        .expect("h2c request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
}
