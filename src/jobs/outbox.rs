//! The outbox sender: claims due messages (re-checked in the store), sends them to WhatsApp
//! and records each outcome. Retryable errors back off exponentially with jitter (or as long
//! as `Retry-After` says); non-retryable ones, or too many attempts, make a dead letter.
//!
//! It sleeps until the next message is due, the poll interval passes, a commit queues a
//! message (the store's `committed_work` signal), or a test moves the manual clock.
//! All times come from the application [`Clock`], so reminders and backoffs follow a
//! pinned clock in tests.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::app::Clock;
use crate::config::{WhatsAppConfig, WhatsAppRetry};
use crate::integrations::whatsapp::{SendError, WhatsApp};
use crate::metrics::Metrics;
use crate::store::outbox::{self, Dispatch, Outcome};
use crate::store::{Store, StoreError};

/// Messages being sent at once, at most.
const CONCURRENCY: usize = 16;

/// Everything the sender needs.
pub struct Sender {
    pub store: Store,
    pub whatsapp: WhatsApp,
    pub config: Arc<WhatsAppConfig>,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
}

/// Starts the sender; it finishes the round in progress when `shutdown` fires.
pub fn spawn(sender: Sender, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move { sender.run(shutdown).await })
}

/// The backoff before attempt `attempt + 1`: `initial · 2^(attempt-1)`, capped, with equal
/// jitter (half fixed, half random) so that a burst of failures does not retry in lockstep.
pub fn backoff(policy: &WhatsAppRetry, attempt: u32, rng: &mut impl Rng) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let cap_ms = policy.max_backoff_secs.saturating_mul(1000);
    let ms = policy
        .initial_backoff_ms
        .saturating_mul(1u64 << exp)
        .min(cap_ms);
    let half = ms / 2;
    Duration::from_millis(half + rng.gen_range(0..=ms - half))
}

impl Sender {
    async fn run(self, shutdown: CancellationToken) {
        let sender = Arc::new(self);
        sender.recover().await;
        let wake = sender.store.committed_work();
        let mut clock_moved = sender.clock.watch();
        let poll = Duration::from_secs(sender.config.poll_interval_secs);
        // Each message is sent by its own task: one slow answer never holds up the others.
        let mut sending = JoinSet::new();
        tracing::info!("outbox sender started");
        while !shutdown.is_cancelled() {
            while sending.try_join_next().is_some() {}
            let room = CONCURRENCY.saturating_sub(sending.len());
            let pause = if room == 0 {
                poll
            } else {
                match sender.claim(room).await {
                    Ok(claimed) => {
                        let full = claimed.len() >= room;
                        for d in claimed {
                            let sender = sender.clone();
                            sending.spawn(async move { sender.deliver(d).await });
                        }
                        if full {
                            continue;
                        }
                        sender.until_next_due(poll).await
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot claim outbox messages");
                        Duration::from_secs(1)
                    }
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                Some(_) = sending.join_next(), if !sending.is_empty() => {}
                _ = async {
                    match clock_moved.as_mut() {
                        Some(rx) => { let _ = rx.changed().await; }
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
        // Sends under way finish and are recorded (bounded by the request timeout).
        while sending.join_next().await.is_some() {}
        tracing::info!("outbox sender stopped");
    }

    /// Puts messages a crash left in flight back in the queue.
    async fn recover(&self) {
        let now = self.clock.now();
        match self
            .store
            .write(move |txn| outbox::recover_in_flight(txn, now))
            .await
        {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(
                    messages = n,
                    "outbox messages were in flight when the process stopped; sending them \
                     again (WhatsApp may have received some already)"
                );
                self.metrics.whatsapp.recovered.inc_by(n as u64);
            }
            Err(e) => tracing::error!(error = %e, "cannot recover in-flight outbox messages"),
        }
    }

    /// How long to sleep: until the next due message, at most `poll`.
    async fn until_next_due(&self, poll: Duration) -> Duration {
        match self.store.read(outbox::next_due).await {
            Ok(Some(at)) => {
                let wait = at.duration_since(self.clock.now());
                Duration::try_from(wait)
                    .unwrap_or(Duration::ZERO)
                    .clamp(Duration::from_millis(20), poll)
            }
            Ok(None) => poll,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                Duration::from_secs(1)
            }
        }
    }

    /// Claims up to `limit` due messages (those no longer relevant are dropped there).
    async fn claim(&self, limit: usize) -> Result<Vec<Dispatch>, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .write(move |txn| outbox::claim_due(txn, now, limit))
            .await?;
        for (template, reason) in &claimed.skipped {
            tracing::info!(
                template = template.as_str(),
                reason,
                "outbox message dropped"
            );
            self.metrics.whatsapp.outcome(*template, "skipped");
        }
        Ok(claimed.dispatches)
    }

    /// Sends one claimed message and records the outcome.
    async fn deliver(&self, d: Dispatch) {
        let name = self.config.template_name(d.template);
        let result = self
            .whatsapp
            .send_template(&d.to, name, &d.params, &d.id.to_string())
            .await;
        let now = self.clock.now();
        let outcome = {
            let mut rng = rand::thread_rng();
            self.outcome(&d, result, now, &mut rng)
        };
        let recorded = outcome.clone();
        let id = d.id;
        if let Err(e) = self
            .store
            .write(move |txn| outbox::record(txn, id, recorded, now))
            .await
        {
            // Left in flight: sent again after the next start (at-least-once).
            tracing::error!(id, error = %e, "cannot record an outbox message's outcome");
            return;
        }
        let status = match outcome {
            Outcome::Sent { .. } => {
                if d.template.is_immediate() {
                    let ms = (wall_ms() - d.queued_unix_ms).max(0);
                    self.metrics.whatsapp.latency.observe(ms as f64 / 1000.0);
                }
                "sent"
            }
            Outcome::Retry { .. } => "retried",
            Outcome::Dead { .. } => "dead",
        };
        self.metrics.whatsapp.outcome(d.template, status);
    }

    fn outcome(
        &self,
        d: &Dispatch,
        result: Result<String, SendError>,
        now: Timestamp,
        rng: &mut impl Rng,
    ) -> Outcome {
        match result {
            Ok(wamid) => Outcome::Sent { wamid },
            Err(SendError::Permanent { message, .. }) => {
                tracing::warn!(id = d.id, template = d.template.as_str(), error = %message,
                    "WhatsApp refused the message; it is now a dead letter");
                Outcome::Dead { error: message }
            }
            Err(SendError::Retryable { message, .. })
                if d.attempt >= self.config.retry.max_attempts =>
            {
                tracing::warn!(id = d.id, attempts = d.attempt, error = %message,
                    "WhatsApp message failed too many times; it is now a dead letter");
                Outcome::Dead {
                    error: format!("{message} (after {} attempts)", d.attempt),
                }
            }
            Err(SendError::Retryable {
                message,
                retry_after,
                ..
            }) => {
                let wait = retry_after
                    .unwrap_or_else(|| backoff(&self.config.retry, d.attempt, rng))
                    .min(Duration::from_secs(24 * 3600));
                let at = now + SignedDuration::try_from(wait).unwrap_or(SignedDuration::ZERO);
                tracing::info!(id = d.id, attempt = d.attempt, ?wait, error = %message,
                    "WhatsApp send failed; retrying later");
                Outcome::Retry { at, error: message }
            }
        }
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let policy = WhatsAppRetry {
            max_attempts: 10,
            initial_backoff_ms: 1000,
            max_backoff_secs: 10,
        };
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let b = |n| backoff(&policy, n, &mut rand::thread_rng()).as_millis();
            assert!((500..=1000).contains(&b(1)), "{}", b(1));
            assert!((1000..=2000).contains(&b(2)), "{}", b(2));
            assert!((4000..=8000).contains(&b(4)), "{}", b(4));
            assert!((5000..=10_000).contains(&b(9)), "capped: {}", b(9));
        }
        let samples: std::collections::HashSet<_> =
            (0..50).map(|_| backoff(&policy, 3, &mut rng)).collect();
        assert!(samples.len() > 10, "jitter spreads retries");
    }
}
