//! Graceful shutdown: once it is asked to stop, the server accepts no new connection, but a
//! request already in flight still gets its answer, and its booking is durable.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::helpers::*;

/// A TLS connection to `app` as `localhost`, trusting its CA, offering `alpn` if given.
async fn connect_tls(
    app: &TestApp,
    alpn: Option<&[u8]>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let ca = std::fs::read(app.data_dir.join("tls/ca.pem")).unwrap();
    let mut client = tls_trusting(&[&ca]);
    client.alpn_protocols = alpn.into_iter().map(<[u8]>::to_vec).collect();
    let tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_finishes_while_new_connections_are_refused() {
    let mut app = spawn_app().await;
    let addr = app.addr;
    let body = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)).to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);

    let mut tls = connect_tls(&app, None).await;
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

/// An HTTP/2 client that goes silent (it never answers the GOAWAY's PING, nor closes) does not
/// hold the shutdown for the whole grace: with nothing in flight on its connection, the
/// server lets it go a moment after saying goodbye.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_http2_client_does_not_hold_the_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = test_config(tmp.path());
    config.server.timeouts.shutdown_grace_secs = 20;
    let mut app = spawn_app_with(config, barberpro::http::Clock::system()).await;
    let mut tls = connect_tls(&app, Some(b"h2")).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    // The connection preface and an empty SETTINGS frame; then not another byte, read or
    // written.
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = std::time::Instant::now();
    app.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?} (grace is 20 s)",
        started.elapsed()
    );
    drop(tls);
}

/// A request in flight on an HTTP/2 connection when the server drains still gets its
/// answer, however long its body takes (within the grace): only a connection with nothing in
/// flight is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_request_in_flight_is_answered_while_the_server_drains() {
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::{Bytes, Frame};

    let tmp = tempfile::tempdir().unwrap();
    let mut config = test_config(tmp.path());
    config.server.timeouts.shutdown_grace_secs = 20;
    let mut app = spawn_app_with(config, barberpro::http::Clock::manual(ts(MONDAY_8AM))).await;
    let tls = connect_tls(&app, Some(b"h2")).await;
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);

    let body = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)).to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let (chunks, incoming) = futures::channel::mpsc::unbounded::<Bytes>();
    chunks
        .unbounded_send(Bytes::copy_from_slice(first))
        .unwrap();
    let stream = futures::StreamExt::map(incoming, |b| Ok::<_, std::io::Error>(Frame::data(b)));
    let request = hyper::Request::post(format!(
        "https://localhost:{}/api/v1/bookings",
        app.addr.port()
    ))
    .header("content-type", "application/json")
    .body(StreamBody::new(stream))
    .unwrap();
    let answer = tokio::spawn(async move {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, String::from_utf8_lossy(&body).into_owned()))
    });
    // The server holds the request, its body half read.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = std::time::Instant::now();
    let finish = async {
        // Longer than the server waits on a connection with nothing in flight.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        chunks.unbounded_send(Bytes::copy_from_slice(rest)).unwrap();
        drop(chunks);
    };
    tokio::join!(app.stop(), finish);
    let (status, text) = answer.await.unwrap().expect("an answer");
    assert_eq!(status, 201, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "shutdown took {:?} (grace is 20 s)",
        started.elapsed()
    );
}
