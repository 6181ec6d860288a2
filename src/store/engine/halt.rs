//! The writer's halt: the first I/O error the database cannot go on after (a failed or hung
//! flush, a commit redb refused). From then on no write is acknowledged, readiness fails, and
//! the server exits non-zero, so that its supervisor restarts it and the journal replays:
//! redb refuses every change after an I/O error anyway, and after a failed `fsync` only a
//! fresh start knows what the disk holds. (On a full disk the server first waits for room:
//! `startup::wait_for_room`.)

use std::sync::Arc;

use tokio::sync::watch;

/// Shared by the writer thread (which halts) and everyone who must know (readiness, the
/// server's main loop).
#[derive(Clone, Debug)]
pub struct Halt(Arc<watch::Sender<Option<Arc<str>>>>);

impl Default for Halt {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(None)))
    }
}

impl Halt {
    /// Halts for `why`; only the first reason is kept.
    pub fn halt(&self, why: &str) {
        let first = self.0.send_if_modified(|reason| {
            if reason.is_some() {
                return false;
            }
            *reason = Some(why.into());
            true
        });
        if first {
            tracing::error!(error = %why, "the database halted: no more writes; exiting so that a restart replays the journal");
        }
    }

    /// Why the writer halted, if it did.
    pub fn reason(&self) -> Option<Arc<str>> {
        self.0.borrow().clone()
    }

    /// Waits until the writer halts; why.
    pub async fn halted(&self) -> Arc<str> {
        let mut seen = self.0.subscribe();
        let reason = match seen.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            // Never: `self` holds the sender.
            Err(_) => None,
        };
        match reason {
            Some(why) => why,
            None => std::future::pending().await,
        }
    }
}
