//! TLS from files with reload on SIGHUP (open connections survive), and the schema check.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use barberpro::tls::{SelfSignedPaths, ensure_self_signed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// Starts the real binary and returns it with the address it announced.
fn start(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (
    Child,
    String,
    std::io::Lines<BufReader<std::process::ChildStderr>>,
) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barberpro"));
    cmd.args(args)
        .env("BARBERPRO_LOG__FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("BarberPro is serving") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            return (child, v["addr"].as_str().unwrap().to_owned(), lines);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server never announced it was serving");
}

/// Opens a TLS connection and returns it with the DER of the certificate the server sent.
async fn connect(
    addr: &str,
    tls: &TlsConnector,
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Vec<u8>,
) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let stream = tls
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let leaf = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    (stream, leaf)
}

async fn http1_get(stream: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn files_mode_reloads_on_sighup_without_dropping_connections() {
    let certs_a = tempfile::tempdir().unwrap();
    let certs_b = tempfile::tempdir().unwrap();
    let a = SelfSignedPaths::new(certs_a.path());
    let b = SelfSignedPaths::new(certs_b.path());
    ensure_self_signed(&a, &[]).unwrap();
    ensure_self_signed(&b, &[]).unwrap();
    let live = tempfile::tempdir().unwrap();
    let (cert, key) = (live.path().join("chain.pem"), live.path().join("key.pem"));
    std::fs::copy(a.cert(), &cert).unwrap();
    std::fs::copy(a.key(), &key).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr, _log) = start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        &[
            ("BARBERPRO_SERVER__TLS__MODE", "files"),
            ("BARBERPRO_SERVER__TLS__CERT_PATH", cert.to_str().unwrap()),
            ("BARBERPRO_SERVER__TLS__KEY_PATH", key.to_str().unwrap()),
        ],
    );
    let (ca_a, ca_b) = (
        std::fs::read(a.ca_cert()).unwrap(),
        std::fs::read(b.ca_cert()).unwrap(),
    );
    let tls = TlsConnector::from(Arc::new(crate::helpers::tls_trusting(&[&ca_a, &ca_b])));
    let (mut open, served_before) = connect(&addr, &tls).await;
    assert!(http1_get(&mut open).await.starts_with("HTTP/1.1 200"));

    std::fs::copy(b.cert(), &cert).unwrap();
    std::fs::copy(b.key(), &key).unwrap();
    assert!(
        Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    // New handshakes get the new certificate (give the reload a moment).
    let mut served_after = served_before.clone();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        served_after = connect(&addr, &tls).await.1;
        if served_after != served_before {
            break;
        }
    }
    assert_ne!(
        served_after, served_before,
        "SIGHUP did not swap the certificate"
    );
    // The connection opened before the reload still works.
    assert!(http1_get(&mut open).await.starts_with("HTTP/1.1 200"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let data = tempfile::tempdir().unwrap();
    {
        let store = barberpro::store::Store::open(data.path(), 1 << 20).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            barberpro::store::SCHEMA_VERSION
        );
        store.close().await;
    }
    {
        // Pretend a future BarberPro wrote the file.
        let db = redb::Database::create(data.path().join(barberpro::store::DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(barberpro::store::tables::META)
            .unwrap()
            .insert("schema_version", barberpro::store::SCHEMA_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let err = barberpro::store::Store::open(data.path(), 1 << 20)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("newer"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_barberpro"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
