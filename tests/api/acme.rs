//! `tls.mode = "acme"` against Pebble, Let's Encrypt's ACME test server, on loopback:
//! pebble-challtestsrv answers DNS for `barberpro.test` with 127.0.0.1, and Pebble's
//! TLS-ALPN-01 validation connects to our HTTPS listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use barberpro::config::{Config, TlsMode};
use barberpro::http::Clock;
use barberpro::tls::{SelfSignedPaths, ensure_self_signed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::helpers::{MONDAY_8AM, TestApp, spawn_app_with, test_config, ts};

const DOMAIN: &str = "barberpro.test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Pebble and its DNS, stopped on drop.
struct Pebble {
    children: Vec<Child>,
    directory: String,
    management: u16,
    /// The CA of Pebble's own HTTPS (not of the certificates it issues).
    api_ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn pebble_installed() -> bool {
    let found = ["pebble", "pebble-challtestsrv"].iter().all(|bin| {
        Command::new("which")
            .arg(bin)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        crate::skipped::skip(
            "pebble / pebble-challtestsrv not installed",
            crate::skipped::INSTALL_PEBBLE,
        );
    }
    found
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Pebble {
    /// Starts Pebble validating TLS-ALPN-01 on `tls_port` (where our server listens).
    fn start(tls_port: u16) -> Option<Self> {
        if !pebble_installed() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // Pebble's own HTTPS certificate, for localhost / 127.0.0.1.
        let paths = SelfSignedPaths::new(dir.path());
        ensure_self_signed(&paths, &[]).unwrap();
        let (api, management, dns, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{api}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": paths.cert(),
                "privateKey": paths.key(),
                "httpPort": free_port(),
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_file = dir.path().join("pebble.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let dns_child = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{dns_mgmt}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv starts");
        let pebble_child = Command::new("pebble")
            .args(["-config", config_file.to_str().unwrap()])
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble starts");
        let pebble = Pebble {
            children: vec![pebble_child, dns_child],
            directory: format!("https://127.0.0.1:{api}/dir"),
            management,
            api_ca: paths.ca_cert(),
            _dir: dir,
        };
        wait_listening(api, "pebble");
        wait_listening(management, "pebble's management API");
        Some(pebble)
    }

    /// The root of the certificates Pebble issues (it makes a new one at every start).
    async fn issuing_root(&self) -> Vec<u8> {
        let ca = std::fs::read(&self.api_ca).unwrap();
        let client = crate::helpers::trusting(&ca).build().unwrap();
        let url = format!("https://localhost:{}/roots/0", self.management);
        client
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }
}

fn acme_config(data_dir: &Path, port: u16, pebble: &Pebble) -> Config {
    let mut config = test_config(data_dir);
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.server.tls.mode = TlsMode::Acme;
    let acme = &mut config.server.tls.acme;
    acme.domains = vec![DOMAIN.parse().expect("a DNS name")];
    acme.contact = Some("dueno@barberpro.test".parse().expect("an address"));
    acme.directory_url = pebble.directory.parse().expect("a URL");
    acme.directory_ca_file = Some(pebble.api_ca.clone());
    acme.check_interval_secs = 1;
    acme.retry_after_secs = 1;
    config
}

fn connector(root_pem: &[u8]) -> TlsConnector {
    let mut config = crate::helpers::tls_trusting(&[root_pem]);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// A connection to `DOMAIN` at `port` whose chain verifies against `root`, with its leaf.
async fn connect_verified(
    port: u16,
    tls: &TlsConnector,
) -> Result<(TlsStream<tokio::net::TcpStream>, Vec<u8>), String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(DOMAIN).unwrap();
    let stream = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let leaf = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    Ok((stream, leaf))
}

/// Waits until the server presents a certificate that verifies against Pebble's root.
async fn wait_for_pebble_certificate(port: u16, tls: &TlsConnector) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match connect_verified(port, tls).await {
            Ok((_, leaf)) => return leaf,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no certificate from Pebble after 60 s: {e}"),
        }
    }
}

async fn get(stream: &mut TlsStream<tokio::net::TcpStream>, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

async fn start(config: Config) -> TestApp {
    spawn_app_with(config, Clock::manual(ts(MONDAY_8AM))).await
}

/// Stops the server and lets go of its data folder (the app's store handle included).
async fn stop(mut app: TestApp) {
    app.stop().await;
    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_certificate_is_obtained_served_reused_and_renewed_without_dropping_connections() {
    let port = free_port();
    let Some(pebble) = Pebble::start(port) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = pebble.issuing_root().await;
    let tls = connector(&root);

    // First start: self-signed until Pebble validates us over TLS-ALPN-01 and issues.
    let app = start(acme_config(tmp.path(), port, &pebble)).await;
    let first = wait_for_pebble_certificate(port, &tls).await;
    let (mut stream, _) = connect_verified(port, &tls).await.unwrap();
    let ready = get(&mut stream, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains("\"last_attempt_ok\":true"), "{ready}");
    let stored = tmp.path().join("tls/acme/certificate.pem");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&stored).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the key is private");
    stop(app).await;

    // Restart: the stored certificate serves at once, and no new order is placed.
    let before = std::fs::read(&stored).unwrap();
    let app = start(acme_config(tmp.path(), port, &pebble)).await;
    let (_, leaf) = connect_verified(port, &tls).await.expect("served at once");
    assert_eq!(leaf, first, "the same certificate after a restart");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(std::fs::read(&stored).unwrap(), before, "no new order");
    stop(app).await;

    // Renewal: with a renewal window longer than the certificate's life, the next check
    // orders a new one. A connection opened before keeps working on the old one.
    let mut config = acme_config(tmp.path(), port, &pebble);
    config.server.tls.acme.renew_before_days = 100_000;
    let app = start(config).await;
    let (mut old, old_leaf) = connect_verified(port, &tls).await.unwrap();
    assert_eq!(old_leaf, first);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, leaf) = connect_verified(port, &tls).await.unwrap();
        if leaf != first {
            break;
        }
        assert!(Instant::now() < deadline, "no renewal within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answer = get(&mut old, "/healthz").await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the old connection survives: {answer}"
    );
    stop(app).await;
}

#[tokio::test]
async fn a_refusing_ca_leaves_the_fallback_serving_retries_and_shows_the_failure() {
    let port = free_port();
    // Pebble validates on a port where nobody listens: every challenge fails.
    let Some(pebble) = Pebble::start(free_port()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut config = acme_config(tmp.path(), port, &pebble);
    let metrics_port = free_port();
    config.metrics.listen = SocketAddr::from(([127, 0, 0, 1], metrics_port));
    let app = start(config).await;
    // The self-signed fallback serves (the test client trusts its CA).
    let deadline = Instant::now() + Duration::from_secs(60);
    let failures = loop {
        let metrics = crate::helpers::plain_client()
            .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let failures = metrics
            .lines()
            .find_map(|l| l.strip_prefix("barberpro_acme_order_failures_total "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if failures >= 2 {
            assert!(
                metrics.contains("barberpro_acme_last_attempt_success 0"),
                "{metrics}"
            );
            break failures;
        }
        assert!(
            Instant::now() < deadline,
            "no two failed attempts within 60 s:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(failures >= 2, "it retried");
    let ready = app.get("/readyz").await;
    assert_eq!(
        ready.status, 200,
        "still serving on the fallback: {}",
        ready.body
    );
    let acme = &ready.body["checks"]["certificate"]["detail"]["acme"];
    assert_eq!(acme["last_attempt_ok"], false, "{}", ready.body);
    assert!(
        acme["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        ready.body
    );
    assert!(!tmp.path().join("tls/acme/certificate.pem").exists());
    stop(app).await;
}
