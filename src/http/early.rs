//! HTTP/2 answers given before the request's body was read (401, 404, 413, 415, 429…).
//!
//! A handler or layer that answers without reading the body drops it. Over HTTP/2, hyper (h2)
//! then resets the stream with CANCEL, before the answer if the answer is not sent yet: many
//! clients (curl 7.88 among them) report "stream closed" and never see the status or its
//! `Retry-After`. So for HTTP/2 requests the body is handed back here when it is dropped
//! unfinished, and read and dropped up to [`DRAIN_FACTOR`] times the body limit (within
//! [`DRAIN_TIME`]) before the answer goes out: the stream is then closed by the client's side
//! first, and the answer ends it normally. A larger or slower body is answered anyway.
//! HTTP/1.1 needs none of this: hyper reads or closes leftover bodies itself.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::Version;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;
use hyper::body::{Frame, SizeHint};
use tokio::sync::oneshot;

use super::security::Policy;

/// How much of an unread body is read before answering, in multiples of the body limit.
pub const DRAIN_FACTOR: usize = 4;
/// How long a client may take to send the rest of an unread body before it is answered anyway.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// The request body, handed back through `back` if it is dropped before its end.
struct Handback {
    inner: Option<Body>,
    back: Option<oneshot::Sender<Body>>,
}

impl HttpBody for Handback {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(SizeHint::default, HttpBody::size_hint)
    }
}

impl Drop for Handback {
    fn drop(&mut self) {
        if let (Some(body), Some(back)) = (self.inner.take(), self.back.take())
            && !body.is_end_stream()
        {
            let _ = back.send(body);
        }
    }
}

/// The layer (outermost, so that every answer, the rate limiter's included, goes through it).
pub async fn drain_unread_body(
    State(policy): State<Arc<Policy>>,
    req: Request,
    next: Next,
) -> Response {
    if req.version() != Version::HTTP_2 {
        return next.run(req).await;
    }
    let (back, mut unread) = oneshot::channel();
    let req = req.map(|body| {
        Body::new(Handback {
            inner: Some(body),
            back: Some(back),
        })
    });
    let response = next.run(req).await;
    // Empty: the body is still held somewhere (nothing to do); closed: it was read to its end.
    if let Ok(body) = unread.try_recv() {
        let limit = policy.max_body_bytes.saturating_mul(DRAIN_FACTOR);
        let drained = tokio::time::timeout(DRAIN_TIME, async {
            let (mut stream, mut read) = (body.into_data_stream(), 0usize);
            while let Some(Ok(chunk)) = stream.next().await {
                read += chunk.len();
                if read > limit {
                    return false;
                }
            }
            true
        })
        .await;
        if !matches!(drained, Ok(true)) {
            tracing::debug!("an unread HTTP/2 request body too large or slow to drain");
        }
    }
    response
}
