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
//! and heard nothing more for [`SET_ASIDE_AFTER`], it is set aside: `graceful_shutdown` on an
//! idle hyper connection ends it without a `Connection: close`, and `poll_without_shutdown` +
//! `into_parts` hand the open socket (and any bytes read ahead) back. To the client it is one
//! ordinary keep-alive connection.
//!
//! A connection that ends on its own (the client asked to close, an HTTP/1.0 client, an
//! error) is shut down as hyper would. Timeouts are the same as hyper's: the next request's
//! headers must arrive within `server.timeouts.header_read_secs` of the previous answer.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Body as _, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::{ConnectionLimits, Timeouts};

/// How long an idle HTTP/1.1 connection keeps its hyper state before it is set aside.
const SET_ASIDE_AFTER: Duration = Duration::from_millis(100);

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
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    header_read: Duration,
}

impl Server {
    pub fn new(timeouts: &Timeouts, limits: &ConnectionLimits) -> Self {
        let header_read = Duration::from_secs(timeouts.header_read_secs);
        let mut h1 = http1::Builder::new();
        h1.timer(TokioTimer::new())
            .header_read_timeout(header_read)
            .max_headers(limits.http1_max_headers)
            .keep_alive(true);
        let mut h2 = http2::Builder::new(TokioExecutor::new());
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

    async fn serve_http2<I>(
        &self,
        io: Rewind<I>,
        peer: SocketAddr,
        router: Router,
        draining: &CancellationToken,
    ) -> Result<(), ConnectionError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::default());
        let service = Served {
            router,
            peer,
            activity: activity.clone(),
        };
        let mut conn = pin!(self.http2.serve_connection(TokioIo::new(io), service));
        tokio::select! {
            ended = conn.as_mut() => return ended.map_err(ConnectionError::Http),
            _ = draining.cancelled() => {}
        }
        // GOAWAY, then hyper waits for the client to answer its PING and to finish its
        // streams. A client that never answers would hold the connection, and so the
        // server's shutdown, for the whole grace: once nothing has been in flight on it for
        // `GOODBYE`, it is let go.
        conn.as_mut().graceful_shutdown();
        loop {
            tokio::select! {
                ended = conn.as_mut() => return ended.map_err(ConnectionError::Http),
                _ = tokio::time::sleep(GOODBYE) => {
                    if activity.in_flight.load(Ordering::Relaxed) == 0 {
                        tracing::debug!(%peer, "HTTP/2 connection let go: no answer to its GOAWAY");
                        return Ok(());
                    }
                }
            }
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

    /// HTTP/1.1, with hyper's connection state alive only while there are requests.
    async fn serve_http1<I>(
        &self,
        mut io: Rewind<I>,
        peer: SocketAddr,
        router: Router,
        draining: &CancellationToken,
    ) -> Result<(), ConnectionError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        loop {
            if io.prefix.is_empty() {
                // Between requests: only the socket and its TLS state are held.
                let mut first = [0u8; 1];
                match self
                    .wait_for_bytes(&mut io.inner, &mut first, draining)
                    .await
                {
                    // The client left, or the server drains: say goodbye (TLS close_notify),
                    // briefly, as hyper would for an idle connection.
                    Ok(0) => {
                        let _ = tokio::time::timeout(GOODBYE, io.shutdown()).await;
                        return Ok(());
                    }
                    Ok(_) => io.prefix = Bytes::copy_from_slice(&first),
                    // A keep-alive connection nobody uses is closed, as hyper would.
                    Err(ConnectionError::IdleTimeout) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let activity = Arc::new(Activity::default());
            let service = Served {
                router: router.clone(),
                peer,
                activity: activity.clone(),
            };
            let tracked = Tracked {
                io,
                activity: activity.clone(),
            };
            // Boxed: the connection's state is allocated only while it serves.
            let mut conn = Box::new(self.http1.serve_connection(TokioIo::new(tracked), service));
            let mut drain = pin!(draining.cancelled());
            // Set aside only after a short quiet spell: a client sending request after
            // request keeps its hyper connection instead of rebuilding it each time.
            let mut quiet = Box::pin(tokio::time::sleep(SET_ASIDE_AFTER));
            let mut quiet_armed = false;
            let mut parked = false;
            let mut drained = false;
            let ended = poll_fn(|cx| {
                loop {
                    if let Poll::Ready(result) = conn.poll_without_shutdown(cx) {
                        return Poll::Ready(result);
                    }
                    if parked {
                        return Poll::Pending;
                    }
                    if drain.as_mut().poll(cx).is_ready() {
                        drained = true;
                    } else if !activity.idle() {
                        quiet_armed = false;
                        return Poll::Pending;
                    } else {
                        if !quiet_armed {
                            quiet
                                .as_mut()
                                .reset(tokio::time::Instant::now() + SET_ASIDE_AFTER);
                            quiet_armed = true;
                        }
                        if quiet.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                    }
                    // Idle (or draining): an idle connection ends at once; one with a
                    // request in flight answers it with `Connection: close`, then ends.
                    tracing::trace!(drained, "connection set aside");
                    Pin::new(conn.as_mut()).graceful_shutdown();
                    parked = true;
                }
            })
            .await;
            let parts = (*conn).into_parts();
            let mut tracked = parts.io.into_inner();
            ended.map_err(ConnectionError::Http)?;
            if !parked || drained {
                // Ended on its own (the client asked to close, HTTP/1.0, …) or the server is
                // draining: close as hyper would have.
                let _ = tokio::time::timeout(GOODBYE, tracked.io.shutdown()).await;
                return Ok(());
            }
            // Bytes hyper read but did not use come first, then any prefix it never read.
            // Copied: `read_buf` is a view into hyper's whole read buffer, and would keep
            // it alive even when empty.
            let mut carried = parts.read_buf.to_vec();
            carried.extend_from_slice(&tracked.io.prefix);
            tracked.io.prefix = Bytes::from(carried);
            io = tracked.io;
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

/// What one hyper HTTP/1 connection is doing, as seen from its service and its socket.
#[derive(Default)]
struct Activity {
    /// Requests handed to the router whose response body has not finished (or been dropped).
    in_flight: AtomicUsize,
    /// Bytes read since the last request started or the last response finished: a request
    /// head hyper is still reading.
    unparsed: AtomicUsize,
    /// Written since the last successful flush.
    dirty: AtomicBool,
    /// Request bodies not read to their end. hyper deals with such leftovers itself (drains
    /// or closes), so a connection that has one is never parked.
    unread_bodies: AtomicUsize,
}

impl Activity {
    /// Nothing in flight, nothing half-read, everything flushed: hyper waits for a request.
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
            && self.unparsed.load(Ordering::Relaxed) == 0
            && !self.dirty.load(Ordering::Relaxed)
            && self.unread_bodies.load(Ordering::Relaxed) == 0
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.unparsed.store(0, Ordering::Relaxed);
    }

    fn response_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        // Bytes read ahead by now belong to a pipelined request: `into_parts` hands them
        // back, and the next connection starts with them at once.
        self.unparsed.store(0, Ordering::Relaxed);
    }
}

/// The router as a hyper service that tells [`Activity`] when a request starts and when its
/// response has been sent (the body finished or was dropped).
#[derive(Clone)]
struct Served {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type ServedFuture = Pin<Box<dyn Future<Output = Result<Response<Counted>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Served {
    type Response = Response<Counted>;
    type Error = Infallible;
    type Future = ServedFuture;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.activity.request_started();
        let guard = InFlight(self.activity.clone());
        let req = req.map(|body| {
            if body.is_end_stream() {
                Body::new(body)
            } else {
                self.activity.unread_bodies.fetch_add(1, Ordering::Relaxed);
                Body::new(RequestBody {
                    body,
                    activity: Some(self.activity.clone()),
                })
            }
        });
        let response = self.router.clone().oneshot(req);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Counted {
                body,
                _guard: guard,
            }))
        })
    }
}

/// Marks its request finished when dropped: with the response body, or with the request's
/// future if the client leaves first.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.response_finished();
    }
}

/// A response body that keeps its request counted as in flight until hyper drops it.
struct Counted {
    body: Body,
    _guard: InFlight,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that tells [`Activity`] when it has been read to its end.
struct RequestBody {
    body: Incoming,
    /// Taken once the end is seen.
    activity: Option<Arc<Activity>>,
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if (matches!(polled, Poll::Ready(None)) || self.body.is_end_stream())
            && let Some(activity) = self.activity.take()
        {
            activity.unread_bodies.fetch_sub(1, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A socket with bytes to replay before its own: the first byte read while idle, or what a
/// parked hyper connection had read ahead.
struct Rewind<I> {
    prefix: Bytes,
    inner: I,
}

impl<I> Rewind<I> {
    fn new(inner: I) -> Self {
        Self {
            prefix: Bytes::new(),
            inner,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The socket as hyper's HTTP/1 connection sees it, reporting reads and flushes to
/// [`Activity`].
struct Tracked<I> {
    io: Rewind<I>,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.activity.unparsed.fetch_add(read, Ordering::Relaxed);
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.activity.dirty.store(true, Ordering::Relaxed);
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.activity.dirty.store(true, Ordering::Relaxed);
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.activity.dirty.store(false, Ordering::Relaxed);
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rewind_replays_its_prefix_before_the_socket() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"rest").await.expect("write");
        let mut io = Rewind::new(server);
        io.prefix = Bytes::from_static(b"GET ");
        let mut got = vec![0u8; 8];
        io.read_exact(&mut got).await.expect("read");
        assert_eq!(got, b"GET rest");
    }

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

    #[test]
    fn activity_is_idle_only_with_nothing_in_flight_half_read_or_unflushed() {
        let a = Activity::default();
        assert!(a.idle());
        a.unparsed.store(3, Ordering::Relaxed);
        assert!(!a.idle(), "a head half read");
        a.request_started();
        assert!(!a.idle(), "a request in flight");
        a.dirty.store(true, Ordering::Relaxed);
        a.response_finished();
        assert!(!a.idle(), "the answer not flushed yet");
        a.dirty.store(false, Ordering::Relaxed);
        assert!(a.idle());
    }
}
