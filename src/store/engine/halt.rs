//! The writer's halt: the first I/O error the database cannot go on after (a failed or hung
//! flush, a commit redb refused). From then on no write is acknowledged, readiness fails, and
//! the server exits non-zero, so that its supervisor restarts it and the journal replays:
//! redb refuses every change after an I/O error anyway, and after a failed `fsync` only a
//! fresh start knows what the disk holds. (On a full disk the server first waits for room:
//! `startup::wait_for_room`; a start on a full disk begins halted.)

use std::sync::Arc;

use tokio::sync::watch;

/// Shared by the writer thread (which halts) and everyone who must know (readiness, the
/// server's main loop).
#[derive(Clone, Debug)]
pub struct Halt(Arc<watch::Sender<Option<Reason>>>);

/// Why the writer halted, and whether for a full disk (writes then say so).
#[derive(Clone, Debug)]
struct Reason {
    why: Arc<str>,
    disk_full: bool,
}

use crate::store::error::names_a_full_disk;

impl Default for Halt {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(None)))
    }
}

impl Halt {
    /// Halts for `why`; only the first reason is kept. A full disk is told by the I/O
    /// error's text (ENOSPC or EDQUOT).
    pub fn halt(&self, why: &str) {
        self.halt_as(why, names_a_full_disk(why));
    }

    /// Halts for a full disk: the start found less room than `health.min_free_disk_mib`.
    pub fn halt_disk_full(&self, why: &str) {
        self.halt_as(why, true);
    }

    fn halt_as(&self, why: &str, disk_full: bool) {
        let first = self.0.send_if_modified(|reason| {
            if reason.is_some() {
                return false;
            }
            *reason = Some(Reason {
                why: why.into(),
                disk_full,
            });
            true
        });
        if first {
            tracing::error!(error = %why, "the database halted: no more writes; exiting so that a restart replays the journal");
        }
    }

    /// Why the writer halted, if it did.
    pub fn reason(&self) -> Option<Arc<str>> {
        self.0.borrow().as_ref().map(|r| r.why.clone())
    }

    /// Whether the writer halted because the disk is full.
    pub fn disk_full(&self) -> bool {
        self.0.borrow().as_ref().is_some_and(|r| r.disk_full)
    }

    /// Waits until the writer halts; why.
    pub async fn halted(&self) -> Arc<str> {
        let mut seen = self.0.subscribe();
        let reason = match seen.wait_for(Option::is_some).await {
            Ok(reason) => reason.as_ref().map(|r| r.why.clone()),
            // Never: `self` holds the sender.
            Err(_) => None,
        };
        match reason {
            Some(why) => why,
            None => std::future::pending().await,
        }
    }
}
