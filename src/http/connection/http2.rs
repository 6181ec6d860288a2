//! HTTP/2: hyper serves the whole connection; when the server drains, a connection with
//! nothing in flight for [`GOODBYE`] after its GOAWAY is let go.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use super::activity::{Activity, Served};
use super::rewind::Rewind;
use super::{ConnectionError, GOODBYE, Server};

impl Server {
    pub(super) async fn serve_http2<I>(
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
}
