//! Periodic upkeep of the database that no request triggers: forgetting expired
//! Idempotency-Keys. A pass looks in a read transaction first; only when something expired
//! does it write, in short transactions through the group-commit writer, bounded in size so
//! they never hold the writer long (an idle pass costs the writer nothing: no turn, no
//! durable commit).

use std::time::Duration;

use jiff::SignedDuration;
use tokio_util::sync::CancellationToken;

use crate::app::Clock;
use crate::store::{Store, bookings};

/// How often the upkeep runs.
const EVERY: Duration = Duration::from_secs(3600);
/// Rows deleted per write transaction.
const BATCH: usize = 1000;

/// What the upkeep needs, cloned from the application state.
#[derive(Clone)]
pub struct Housekeeping {
    pub store: Store,
    pub clock: Clock,
    pub idempotency_ttl: Duration,
}

impl Housekeeping {
    /// One pass: prunes expired Idempotency-Keys, batch by batch. Returns how many went.
    pub async fn run_once(&self) -> Result<usize, crate::store::StoreError> {
        let ttl = SignedDuration::try_from(self.idempotency_ttl).unwrap_or(SignedDuration::MAX);
        let before = self
            .clock
            .now()
            .checked_sub(ttl)
            .unwrap_or(jiff::Timestamp::MIN);
        let mut total = 0;
        // Looked for in a read transaction first: an hour with nothing to forget takes no
        // turn at the writer (nor a durable commit).
        while !self
            .store
            .read(move |tx| bookings::expired_idempotency_keys(tx, before, 1))
            .await?
            .is_empty()
        {
            let pruned = self
                .store
                .write(move |txn| bookings::prune_idempotency_keys(txn, before, BATCH))
                .await?;
            total += pruned;
            if pruned < BATCH {
                break;
            }
        }
        Ok(total)
    }

    /// Runs [`Self::run_once`] at start-up and then every hour until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => match self.run_once().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(keys = n, "pruned expired Idempotency-Keys"),
                        Err(e) => tracing::warn!(error = %e, "housekeeping failed; retrying in an hour"),
                    },
                }
            }
        });
    }
}
