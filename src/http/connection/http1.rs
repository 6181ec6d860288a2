//! HTTP/1.1 in bursts: a hyper connection is built when a request's bytes arrive and set
//! aside once it has been idle for [`SET_ASIDE_AFTER`], handing the socket (and any bytes it
//! read ahead) back; between bursts the connection holds only its socket and TLS state.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::activity::{Activity, Served, Tracked};
use super::rewind::Rewind;
use super::{ConnectionError, GOODBYE, Server};

/// How long an idle HTTP/1.1 connection keeps its hyper state before it is set aside.
const SET_ASIDE_AFTER: Duration = Duration::from_millis(100);

impl Server {
    /// HTTP/1.1, with hyper's connection state alive only while there are requests.
    pub(super) async fn serve_http1<I>(
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
