//! Abusive connections: beyond the limit, slowloris clients, oversized bodies.

use super::*;

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
