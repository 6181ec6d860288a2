//! The deposits worker: every `payments.worker_interval_ms`, or at once when a webhook or a
//! cancellation queues work, one pass of [`crate::app::deposits::run_once`].

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::app::deposits::{Deposits, run_once};

/// Starts the worker; it stops with `shutdown`.
pub fn spawn(app: App, deposits: Arc<Deposits>, shutdown: CancellationToken) {
    let every = Duration::from_millis(deposits.config.worker_interval_ms);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
                _ = deposits.wake.notified() => {}
            }
            if let Err(e) = run_once(&app, &deposits).await {
                tracing::warn!(error = %e, "payments worker run failed; retrying on the next tick");
            }
        }
    });
}
