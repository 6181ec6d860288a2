//! `[server]`: the listener, the public address, `[server.timeouts]` and `[server.limits]`
//! (`[server.tls]` is in [`super::tls`]).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::values::{HttpUrl, optional};
use super::{ConfigError, TlsConfig, invalid};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port of the HTTPS (or HTTP, with `tls.mode = "off"`) listener.
    pub listen: SocketAddr,
    /// The URL clients reach us at, used in links (manage links, redirects). None (`""`):
    /// derived from `listen`.
    #[serde(with = "optional")]
    pub public_url: Option<HttpUrl>,
    pub tls: TlsConfig,
    pub timeouts: Timeouts,
    pub limits: ConnectionLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public_url: None,
            tls: TlsConfig::default(),
            timeouts: Timeouts::default(),
            limits: ConnectionLimits::default(),
        }
    }
}

impl ServerConfig {
    /// Whether `public_url` says clients reach us over HTTPS (a TLS-terminating proxy).
    pub fn public_url_is_https(&self) -> bool {
        self.public_url.as_ref().is_some_and(HttpUrl::is_https)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.timeouts;
        if t.header_read_secs == 0 || t.request_secs == 0 || t.idle_secs == 0 {
            return invalid("server.timeouts", "timeouts must be at least 1 second");
        }
        self.tls.validate()?;
        let l = &self.limits;
        if l.max_connections == 0 || l.max_body_kib == 0 || l.http1_max_headers == 0 {
            return invalid("server.limits", "limits must be at least 1");
        }
        if l.http2_max_concurrent_streams == 0 || l.http2_max_header_list_kib == 0 {
            return invalid("server.limits", "HTTP/2 limits must be at least 1");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Time allowed to read a request's headers (slowloris guard).
    pub header_read_secs: u64,
    /// Time allowed for a whole request, handler included.
    pub request_secs: u64,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Idle keep-alive connections are closed after this long.
    pub idle_secs: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read_secs: 10,
            request_secs: 30,
            shutdown_grace_secs: 10,
            idle_secs: 75,
        }
    }
}

/// Connection-level limits: guards below the HTTP layer against floods and slow clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Connections served at once; a connection beyond this is closed as soon as accepted.
    pub max_connections: usize,
    /// Largest request body, in KiB (413 beyond, without reading the rest).
    pub max_body_kib: usize,
    /// Most header lines in an HTTP/1 request.
    pub http1_max_headers: usize,
    /// Requests one HTTP/2 connection may have in flight at once.
    pub http2_max_concurrent_streams: u32,
    /// Largest HTTP/2 header block, in KiB.
    pub http2_max_header_list_kib: u32,
    /// HTTP/2 streams the client may reset before we answer them ("rapid reset" guard).
    pub http2_max_pending_accept_reset_streams: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_body_kib: 64,
            http1_max_headers: 100,
            http2_max_concurrent_streams: 128,
            http2_max_header_list_kib: 16,
            http2_max_pending_accept_reset_streams: 20,
        }
    }
}
