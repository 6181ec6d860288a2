//! One accepted connection, after its TLS handshake: which HTTP it speaks, how it is served,
//! and how it ends when the server drains.
//!
//! HTTP/2 (chosen by ALPN, or by the prior-knowledge preface on plain HTTP) is handed to
//! hyper whole; when the server drains, a connection with nothing in flight for [`GOODBYE`]
//! after its GOAWAY is let go even if the client never answered (it would otherwise hold the
//! shutdown for the whole grace).
//!
//! HTTP/1.1 is served by hyper only *while there are requests*: a hyper HTTP/1
//! connection holds two buffers (8 KiB to write, 8–16 KiB to read) for as long as it lives,
//! which made 10,000 idle keep-alive connections cost ~300 MB. Here a connection waiting for
//! its next request holds only its socket and TLS state. When bytes arrive, a hyper
//! connection is built for them; once it has answered everything it read, flushed the answer
//! and heard nothing more for a short quiet spell (`http1::SET_ASIDE_AFTER`), it is set aside: `graceful_shutdown` on an
//! idle hyper connection ends it without a `Connection: close`, and `poll_without_shutdown` +
//! `into_parts` hand the open socket (and any bytes read ahead) back. To the client it is one
//! ordinary keep-alive connection.
//!
//! A connection that ends on its own (the client asked to close, an HTTP/1.0 client, an
//! error) is shut down as hyper would. Timeouts are the same as hyper's: the next request's
//! headers must arrive within `server.timeouts.header_read_secs` of the previous answer.
//!
//! Here: [`Server`] and the choice of protocol. HTTP/1.1's bursts are in `http1`, HTTP/2 and
//! its drain in `http2`; `activity` tracks what a hyper connection is doing (from its service
//! and its socket), and `rewind` replays bytes read ahead.

mod activity;
mod http1;
mod http2;
mod rewind;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper::body::Bytes;
use hyper::server::conn::{http1 as hyper_http1, http2 as hyper_http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::config::{ConnectionLimits, Timeouts};
use rewind::Rewind;

/// How long closing a connection may wait for its last bytes to leave.
const GOODBYE: Duration = Duration::from_secs(1);

/// The HTTP/2 connection preface a prior-knowledge (h2c) client starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the TLS handshake (ALPN) said the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
    /// Plain HTTP: HTTP/1.1, or HTTP/2 with prior knowledge (told by its first bytes).
    Sniff,
}

/// How every connection is served; built once from the configuration.
pub struct Server {
    http1: hyper_http1::Builder,
    http2: hyper_http2::Builder<TokioExecutor>,
    header_read: Duration,
}

impl Server {
    pub fn new(timeouts: &Timeouts, limits: &ConnectionLimits) -> Self {
        let header_read = Duration::from_secs(timeouts.header_read_secs);
        let mut h1 = hyper_http1::Builder::new();
        h1.timer(TokioTimer::new())
            .header_read_timeout(header_read)
            .max_headers(limits.http1_max_headers)
            .keep_alive(true);
        let mut h2 = hyper_http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(limits.http2_max_concurrent_streams)
            .max_header_list_size(limits.http2_max_header_list_kib.saturating_mul(1024))
            .max_pending_accept_reset_streams(limits.http2_max_pending_accept_reset_streams)
            .keep_alive_interval(Duration::from_secs(timeouts.idle_secs));
        Self {
            http1: h1,
            http2: h2,
            header_read,
        }
    }

    /// Serves `io` until the client leaves, a timeout or error ends it, or `draining` fires
    /// (then in-flight requests finish and idle connections close at once).
    pub async fn serve<I>(
        &self,
        io: I,
        protocol: Protocol,
        peer: SocketAddr,
        router: Router,
        draining: &CancellationToken,
    ) -> Result<(), ConnectionError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut io = Rewind::new(io);
        let http2 = match protocol {
            Protocol::Http1 => false,
            Protocol::Http2 => true,
            Protocol::Sniff => match Box::pin(self.read_preface(&mut io, draining)).await? {
                Some(h2) => h2,
                None => return Ok(()),
            },
        };
        if http2 {
            // Boxed, as is everything HTTP/2: its state is large, and would otherwise make
            // every connection's task as large as an HTTP/2 one.
            Box::pin(self.serve_http2(io, peer, router, draining)).await
        } else {
            self.serve_http1(io, peer, router, draining).await
        }
    }

    /// Reads a plain-HTTP connection's first bytes while they could still be the HTTP/2
    /// preface; they stay in `io` to be read again. `None` if the client left first.
    async fn read_preface<I>(
        &self,
        io: &mut Rewind<I>,
        draining: &CancellationToken,
    ) -> Result<Option<bool>, ConnectionError>
    where
        I: AsyncRead + Unpin,
    {
        let mut seen = Vec::new();
        while seen.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(&seen) {
            let mut byte = [0u8; 1];
            match self
                .wait_for_bytes(&mut io.inner, &mut byte, draining)
                .await?
            {
                0 => return Ok(None),
                _ => seen.push(byte[0]),
            }
        }
        let h2 = seen == H2_PREFACE;
        io.prefix = Bytes::from(seen);
        Ok(Some(h2))
    }

    /// Waits (at most `header_read`, and not past a drain) for the first bytes of a request.
    async fn wait_for_bytes<I>(
        &self,
        io: &mut I,
        buf: &mut [u8],
        draining: &CancellationToken,
    ) -> Result<usize, ConnectionError>
    where
        I: AsyncRead + Unpin,
    {
        tokio::select! {
            read = tokio::time::timeout(self.header_read, io.read(buf)) => match read {
                Ok(read) => read.map_err(ConnectionError::Io),
                Err(_) => Err(ConnectionError::IdleTimeout),
            },
            _ = draining.cancelled() => Ok(0),
        }
    }
}

/// Why a connection ended badly (logged at debug level; the client is gone or misbehaved).
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("I/O: {0}")]
    Io(io::Error),
    #[error("no request within the header read timeout")]
    IdleTimeout,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_connection_costs_little_more_than_its_socket() {
        // What every open connection's task holds inline, whatever it is doing: large state
        // (hyper's connection, HTTP/2, the TLS stream) must be boxed and only while used.
        let config = crate::config::Config::default();
        let server = Server::new(&config.server.timeouts, &config.server.limits);
        let (_client, socket) = tokio::io::duplex(64);
        let draining = CancellationToken::new();
        let peer: SocketAddr = ([127, 0, 0, 1], 1).into();
        let serving = server.serve(socket, Protocol::Sniff, peer, Router::new(), &draining);
        let size = std::mem::size_of_val(&serving);
        assert!(size <= 1024, "a connection's future takes {size} bytes");
    }
}
