//! The clock the use cases and jobs read: the system's, or a manual one tests move.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;

/// Where "now" comes from: the system clock, or a manual one that tests set and move.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<ManualClock>>);

#[derive(Debug)]
struct ManualClock {
    seconds: AtomicI64,
    /// Tells background tasks (the outbox sender) that time jumped.
    moved: tokio::sync::watch::Sender<i64>,
}

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock stopped at `at` until [`Clock::set`] moves it.
    pub fn manual(at: Timestamp) -> Self {
        let (moved, _) = tokio::sync::watch::channel(at.as_second());
        Self(Some(Arc::new(ManualClock {
            seconds: AtomicI64::new(at.as_second()),
            moved,
        })))
    }

    /// Moves a manual clock (no effect on the system clock).
    pub fn set(&self, at: Timestamp) {
        if let Some(t) = &self.0 {
            t.seconds.store(at.as_second(), Ordering::SeqCst);
            t.moved.send_replace(at.as_second());
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            None => Timestamp::now(),
            Some(t) => Timestamp::from_second(t.seconds.load(Ordering::SeqCst))
                .unwrap_or_else(|_| Timestamp::now()),
        }
    }

    /// For a manual clock, a receiver that sees every [`Clock::set`]; `None` for the system
    /// clock, which moves by itself.
    pub fn watch(&self) -> Option<tokio::sync::watch::Receiver<i64>> {
        self.0.as_ref().map(|t| t.moved.subscribe())
    }
}
