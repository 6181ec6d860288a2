//! Hardening (issue 6): rate limits, trusted proxies, security headers, CORS, connection
//! limits, slow clients, large bodies, readiness and the metrics listener.

mod connections;
mod headers;
mod observability;
mod rate_limits;

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
