//! What one hyper connection is doing, as seen from its service (requests in flight, request
//! bodies not read to their end) and its socket (a request head half read, bytes not yet
//! flushed): an HTTP/1.1 connection is set aside only when [`Activity::idle`].

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Body as _, Bytes, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

use super::rewind::Rewind;

/// What one hyper HTTP/1 connection is doing, as seen from its service and its socket.
#[derive(Default)]
pub(super) struct Activity {
    /// Requests handed to the router whose response body has not finished (or been dropped).
    pub(super) in_flight: AtomicUsize,
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
    pub(super) fn idle(&self) -> bool {
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
pub(super) struct Served {
    pub(super) router: Router,
    pub(super) peer: SocketAddr,
    pub(super) activity: Arc<Activity>,
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
pub(super) struct Counted {
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

/// The socket as hyper's HTTP/1 connection sees it, reporting reads and flushes to
/// [`Activity`].
pub(super) struct Tracked<I> {
    pub(super) io: Rewind<I>,
    pub(super) activity: Arc<Activity>,
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
