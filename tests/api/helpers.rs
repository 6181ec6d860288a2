//! `spawn_app()` and typed helpers, zero2prod style: the real server on a random loopback
//! port, over HTTPS, with a client that trusts the server's own CA (no "accept invalid").

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use barberpro::config::Config;
use barberpro::http::Clock;
use barberpro::startup::{Application, Options};
use barberpro::store::Store;
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Monday 1 March 2027, 08:00 in Buenos Aires: tests run on a pinned clock.
pub const MONDAY_8AM: &str = "2027-03-01T08:00:00-03:00";
/// The Tuesday after: Martín and Lucía work at palermo, 10–20 with lunch 13–14.
pub const TUESDAY: &str = "2027-03-02";

pub fn ts(rfc3339: &str) -> Timestamp {
    rfc3339.parse().expect("test timestamps are valid")
}

/// `"2027-03-02T10:00:00-03:00"` from a date and `HH:MM`.
pub fn at(date: &str, hhmm: &str) -> String {
    format!("{date}T{hhmm}:00-03:00")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub clock: Clock,
    pub data_dir: PathBuf,
    /// The server's shared state (metrics, the payments service).
    pub state: barberpro::http::AppState,
    /// The metrics listener (plain HTTP on loopback), when enabled.
    pub metrics: Option<SocketAddr>,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
    _tmp: Option<TempDir>,
}

/// A booking as tests name it: `Display` prints its public id, so
/// `format!("/api/v1/bookings/{id}")` is a client's URL; `n` is the internal number the
/// front desk and the store use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id {
    pub public: String,
    pub n: u64,
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.public)
    }
}

pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("valid address");
    config.storage.data_dir = data_dir.to_path_buf();
    config.storage.cache_size_mb = 8;
    config.server.timeouts.shutdown_grace_secs = 2;
    // Every test client is 127.0.0.1: rate limits are tested on their own
    // (hardening/rate_limits.rs).
    config.rate_limit.enabled = false;
    // Tests run in parallel: no fixed metrics port.
    config.metrics.listen = "127.0.0.1:0".parse().expect("valid address");
    // The free-space floor is the operator's; tests must not depend on the machine's disk.
    // hardening/observability.rs checks the floor itself with one no disk can meet.
    config.health.min_free_disk_mib = 0;
    // Clients' URLs name bookings by public id only: a test still using a number fails
    // (edges/guessed_ids.rs opens the window to test the old links).
    config.booking.numeric_ids_until = jiff::civil::date(2026, 1, 1);
    config
}

/// The demo chain on a pinned clock, in a fresh temporary data folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_at(MONDAY_8AM).await
}

pub async fn spawn_app_at(now: &str) -> TestApp {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let mut app = spawn_app_with(test_config(&dir), Clock::manual(ts(now))).await;
    app._tmp = Some(tmp);
    app
}

/// The demo chain in a fresh temporary data folder, with `configure` applied to the test
/// configuration (it gets the data folder, e.g. to write secret files there).
pub async fn spawn_app_configured(
    clock: Clock,
    configure: impl FnOnce(&mut Config, &Path),
) -> TestApp {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(tmp.path());
    configure(&mut config, tmp.path());
    let mut app = spawn_app_with(config, clock).await;
    app._tmp = Some(tmp);
    app
}

/// Starts the server with a given configuration (data folder kept by the caller).
pub async fn spawn_app_with(config: Config, clock: Clock) -> TestApp {
    let data_dir = config.storage.data_dir.clone();
    let app = Application::build(
        config,
        Options {
            demo: true,
            clock: clock.clone(),
        },
    )
    .await
    .expect("the application builds");
    let addr = app.addr();
    let metrics = app.metrics_addr();
    let store = app.state().store.clone();
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let server = tokio::spawn(async move {
        app.run_until_stopped(token).await.expect("server runs");
    });
    let ca = std::fs::read(data_dir.join("tls/ca.pem")).expect("the server wrote its CA");
    let client = trusting(&ca).build().expect("client builds");
    TestApp {
        addr,
        base: format!("https://localhost:{}", addr.port()),
        client,
        store,
        clock,
        data_dir,
        state,
        metrics,
        shutdown,
        server: Some(server),
        _tmp: None,
    }
}

/// A JSON answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    /// Asserts an error status and code, and that the message is Spanish-looking text.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
        let message = self.body["error"]["message"].as_str().unwrap_or("");
        assert!(
            !message.is_empty(),
            "error without a message: {}",
            self.body
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::answer(
            self.client
                .get(self.url(path))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Answer {
        let req = self.client.get(self.url(path)).bearer_auth(token);
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        let req = self.client.post(self.url(path)).json(body);
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: Option<&Value>) -> Answer {
        let mut req = self.client.post(self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    /// Posts raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn availability(
        &self,
        branch: &str,
        date: &str,
        services: &str,
        barber: &str,
    ) -> Answer {
        self.get(&format!(
            "/api/v1/branches/{branch}/availability?date={date}&services={services}&barber={barber}"
        ))
        .await
    }

    /// Start times (`HH:MM`) offered, for one barber or any.
    pub async fn free_times(
        &self,
        branch: &str,
        date: &str,
        services: &str,
        barber: &str,
    ) -> Vec<String> {
        let body = self
            .availability(branch, date, services, barber)
            .await
            .expect(200);
        body["slots"]
            .as_array()
            .expect("slots")
            .iter()
            .map(|s| s["start"].as_str().expect("start")[11..16].to_owned())
            .collect()
    }

    pub async fn book(&self, body: &Value) -> Answer {
        self.post("/api/v1/bookings", body).await
    }

    /// Books and returns (id, token), asserting 201.
    pub async fn book_ok(&self, body: &Value) -> (Id, String) {
        let b = self.book(body).await.expect(201);
        (
            self.id_of(&b),
            b["manage_token"].as_str().expect("token").to_owned(),
        )
    }

    /// The booking an API answer shows (its `id`, a public id).
    pub fn id_of(&self, booking: &Value) -> Id {
        self.id_named(booking["id"].as_str().expect("a public id"))
    }

    /// The booking a public id names (as a link shows it).
    pub fn id_named(&self, public: &str) -> Id {
        let parsed = barberpro::domain::public_id::PublicId::parse(public).expect("well-formed");
        let n = self.state.ids.booking(&parsed).expect("one of ours").0;
        Id {
            public: public.to_owned(),
            n,
        }
    }

    /// Stops the server gracefully and waits for it (the data folder stays).
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.expect("server task ends cleanly");
        }
    }

    /// Keeps the temporary folder alive beyond this app (for restarts).
    pub fn take_dir(&mut self) -> TempDir {
        self._tmp.take().expect("the app owns its temp dir")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A booking request at palermo with sensible defaults.
pub fn booking(services: &[u64], barber: Value, start: &str, phone: &str) -> Value {
    json!({
        "branch": "palermo",
        "services": services,
        "barber": barber,
        "start": start,
        "client": {"name": "Juan Pérez", "phone": phone, "whatsapp_consent": true}
    })
}

/// Distinct valid Buenos Aires mobile numbers: 011 15-2345-6700 + n.
/// The loopback address (`127.0.0.1:PORT`) a server's log line names.
pub fn address_in(line: &str) -> String {
    let at = line.find("127.0.0.1:").expect("the line names the address");
    let port: String = line[at + 10..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    format!("127.0.0.1:{port}")
}

pub fn phone(n: u32) -> String {
    format!("011 15-2345-{:04}", 6700 + n)
}

/// reqwest is built without a crypto provider (as the server): rustls uses ring, installed
/// once per process before any client is built.
pub fn ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for the plain-HTTP listeners (metrics, fakes).
pub fn plain_client() -> reqwest::Client {
    ring_provider();
    reqwest::Client::new()
}

/// An HTTPS client builder that trusts `ca_pem` and nothing else (no built-in roots, rustls),
/// as a client of a self-signed or test-CA server would be configured.
pub fn trusting(ca_pem: &[u8]) -> reqwest::ClientBuilder {
    ring_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).expect("CA is PEM")])
        .tls_backend_rustls()
}

/// A raw rustls client configuration that trusts every certificate in `ca_pems` and nothing
/// else, for tests that speak TLS below reqwest (handshakes, half-sent requests).
pub fn tls_trusting(ca_pems: &[&[u8]]) -> tokio_rustls::rustls::ClientConfig {
    use tokio_rustls::rustls::{
        self, RootCertStore, pki_types::CertificateDer, pki_types::pem::PemObject,
    };
    let mut roots = RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots
                .add(cert.expect("certificate PEM"))
                .expect("a usable root");
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A server child process (the real binary), SIGKILLed when dropped: a failing test leaves
/// no server behind, and a test can kill it on purpose with `.0.kill()`.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The command `barberpro serve --demo` on a random port (metrics too) over `dir`, with
/// `RUST_LOG` and every `BARBERPRO_*` variable of the test's environment removed.
pub fn serve_command(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_barberpro"));
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("BARBERPRO_METRICS__LISTEN", "127.0.0.1:0");
    cmd
}

/// `barberpro serve --demo` on a random port over `dir`, with the environment cleared of
/// `BARBERPRO_*` but for `env`; returns the child and its HTTPS base URL once it serves. Its
/// JSON log is drained in the background; lines containing `watch` are sent to the
/// returned receiver.
pub fn serve_binary_watching(
    dir: &Path,
    env: &[(&str, &str)],
    watch: &'static str,
) -> (Server, String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut cmd = serve_command(dir);
    cmd.env("BARBERPRO_LOG__FORMAT", "json")
        .env("BARBERPRO_RATE_LIMIT__ENABLED", "false");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Server(child);
    let (seen, watched) = std::sync::mpsc::channel();
    let mut lines = BufReader::new(stderr).lines();
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains(watch) {
            let _ = seen.send(line.clone());
        }
        if line.contains("BarberPro is serving") {
            let v: Value = serde_json::from_str(&line).unwrap();
            addr = v["addr"].as_str().map(str::to_owned);
            break;
        }
    }
    let addr = addr.expect("the server announced its address");
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains(watch) {
                let _ = seen.send(line);
            }
        }
    });
    let port = addr.rsplit(':').next().unwrap().to_owned();
    (child, format!("https://localhost:{port}"), watched)
}

/// [`serve_binary_watching`] without watching the log.
pub fn serve_binary(dir: &Path, env: &[(&str, &str)]) -> (Server, String) {
    let (server, base, _) = serve_binary_watching(dir, env, "\u{0}");
    (server, base)
}

/// Posts a booking for a client of palermo (`n` picks the phone) to a server started with
/// [`serve_binary`]; the answer's status and body.
pub async fn book_at_palermo(
    http: &reqwest::Client,
    base: &str,
    barber: Value,
    start: &str,
    n: u32,
    whatsapp_consent: bool,
) -> (u16, Value) {
    let body = serde_json::json!({
        "branch": "palermo", "services": [1], "barber": barber, "start": start,
        "client": {"name": "Ana Gómez", "phone": phone(n), "whatsapp_consent": whatsapp_consent}
    });
    let resp = http
        .post(format!("{base}/api/v1/bookings"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Free start times at palermo over the coming days, at least `wanted` of them if the next
/// two weeks have them (the real clock runs here).
pub async fn free_starts(http: &reqwest::Client, base: &str, wanted: usize) -> Vec<String> {
    let tz = jiff::tz::TimeZone::get("America/Argentina/Buenos_Aires").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let mut out = Vec::new();
    for d in 1..=14 {
        let date = today.checked_add(jiff::Span::new().days(d)).unwrap();
        let v: Value = http
            .get(format!(
                "{base}/api/v1/branches/palermo/availability?date={date}&services=1&barber=any"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for slot in v["slots"].as_array().into_iter().flatten() {
            out.push(slot["start"].as_str().unwrap().to_owned());
        }
        if out.len() >= wanted {
            break;
        }
    }
    out
}
