//! Graceful shutdown: once it is asked to stop, the server accepts no new connection, but a
//! request already in flight still gets its answer, and its booking is durable.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_finishes_while_new_connections_are_refused() {
    let mut app = spawn_app().await;
    let addr = app.addr;
    let ca = std::fs::read(app.data_dir.join("tls/ca.pem")).unwrap();
    let body = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)).to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let server_name = ServerName::try_from("localhost").unwrap();
    let mut tls = TlsConnector::from(Arc::new(tls_trusting(&[&ca])))
        .connect(server_name, tcp)
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/bookings HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(first).await.unwrap();
    tls.flush().await.unwrap();
    // The server now holds a request whose body is half read.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = async {
        // Shutdown has begun (stop() below): the listener is closed.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = tokio::net::TcpStream::connect(addr).await.is_err();
        tls.write_all(rest).await.unwrap();
        tls.flush().await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
        (refused, String::from_utf8_lossy(&answer).into_owned())
    };
    let started = std::time::Instant::now();
    let ((), (refused, answer)) = tokio::join!(app.stop(), client);
    assert!(
        refused,
        "a new connection was accepted after shutdown began"
    );
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the in-flight request did not get its answer: {answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?} (grace is 2 s)",
        started.elapsed()
    );

    // The booking it answered for was committed before the database closed.
    let dir = app.take_dir();
    drop(app);
    let store = barberpro::store::Store::open(dir.path(), 1 << 20).unwrap();
    let count = store.read(barberpro::store::bookings::count).await.unwrap();
    assert_eq!(count, 1, "the answered booking is in the database");
    store.close().await;
}
