//! The flush thread of redb's file: runs a checkpoint's deferred `fdatasync` while the writer
//! goes on, and tells the writer when it is done. Until then every change to the file waits
//! (see [`DbFile`](super::dbfile::DbFile)), so the file sees redb's writes and flushes in
//! the order redb issued them.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// What the writer sees of the flush thread.
pub struct Flusher {
    state: Mutex<State>,
    changed: Condvar,
    defer_next: AtomicBool,
}

#[derive(Default)]
pub(super) struct State {
    /// Deferred flushes asked for, and finished, since the file was opened.
    pub(super) asked: u64,
    pub(super) done: u64,
    /// When the last deferred flush finished.
    pub(super) finished_at: Option<Instant>,
    /// Why a deferred flush failed: the file is then refused every change, as redb does after
    /// an I/O error of its own.
    pub(super) failed: Option<(io::ErrorKind, String)>,
    pub(super) closed: bool,
    /// The byte ranges (offset, length) written since the last flush: what the next deferred
    /// flush writes back, chunk by chunk.
    pub(super) written: Vec<(u64, u64)>,
}

/// A deferred flush, numbered in the order they were asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(pub(super) u64);

impl Flusher {
    /// Starts the flush thread, which runs `flush` for each deferred flush (given the ranges
    /// written since the last flush).
    pub(super) fn start(
        mut flush: impl FnMut(Vec<(u64, u64)>) -> io::Result<()> + Send + 'static,
    ) -> io::Result<Arc<Self>> {
        let flusher = Arc::new(Self {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            defer_next: AtomicBool::new(false),
        });
        let thread_flusher = flusher.clone();
        std::thread::Builder::new()
            .name("redb-flush".into())
            .spawn(move || thread_flusher.run(&mut flush))?;
        Ok(flusher)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The flush thread: runs each deferred flush as it is asked for.
    fn run(&self, flush: &mut dyn FnMut(Vec<(u64, u64)>) -> io::Result<()>) {
        let mut state = self.lock();
        loop {
            while state.asked == state.done && !state.closed {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.asked == state.done {
                return;
            }
            let target = state.asked;
            let written = std::mem::take(&mut state.written);
            drop(state);
            let flushed = flush(written);
            state = self.lock();
            state.done = target;
            state.finished_at = Some(Instant::now());
            if let Err(e) = flushed {
                state.failed.get_or_insert((e.kind(), e.to_string()));
            }
            self.changed.notify_all();
        }
    }

    /// Runs `commit` (a durable redb commit) with its flush deferred to the flush thread: only for a commit whose changes are durable elsewhere already, and
    /// with its write transaction already open (redb lets no other commit run meanwhile, so
    /// the flush deferred is this one's). Its result, and the ticket of the flush it left
    /// running, if it asked for one.
    pub fn deferring<T>(&self, commit: impl FnOnce() -> T) -> (T, Option<Ticket>) {
        let before = self.lock().asked;
        self.defer_next.store(true, Ordering::Release);
        let outcome = commit();
        // A commit that failed before its flush must not leave the next one deferred.
        self.defer_next.store(false, Ordering::Release);
        let after = self.lock().asked;
        (outcome, (after > before).then_some(Ticket(after)))
    }

    /// Whether the flush `ticket` names has finished: `Some(Ok(when))` (or when a later one
    /// did), or `Some(Err(why))` if it failed; `None` while it runs.
    pub fn finished(&self, ticket: Ticket) -> Option<Result<Instant, String>> {
        Self::outcome(&self.lock(), ticket)
    }

    /// Waits until the flush `ticket` names has finished; its outcome as in [`Self::finished`].
    pub fn wait(&self, ticket: Ticket) -> Result<Instant, String> {
        let mut state = self.lock();
        loop {
            if let Some(outcome) = Self::outcome(&state, ticket) {
                return outcome;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn outcome(state: &State, ticket: Ticket) -> Option<Result<Instant, String>> {
        if let Some((_, why)) = &state.failed {
            return Some(Err(why.clone()));
        }
        match state.finished_at {
            Some(at) if state.done >= ticket.0 => Some(Ok(at)),
            _ => None,
        }
    }

    /// Waits until no deferred flush runs; the error of a failed one.
    pub(super) fn settle(&self) -> io::Result<()> {
        let mut state = self.lock();
        while state.done < state.asked {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match &state.failed {
            Some((kind, why)) => Err(io::Error::new(
                *kind,
                format!("an earlier flush of the database failed: {why}"),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn ask(&self) -> io::Result<()> {
        let mut state = self.lock();
        if let Some((kind, why)) = &state.failed {
            return Err(io::Error::new(
                *kind,
                format!("an earlier flush of the database failed: {why}"),
            ));
        }
        state.asked += 1;
        self.changed.notify_all();
        Ok(())
    }

    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Whether the next `sync_data` is a deferred one (asked for by [`Flusher::deferring`]);
    /// asking clears it.
    pub(super) fn take_deferral(&self) -> bool {
        self.defer_next.swap(false, Ordering::AcqRel)
    }
}

impl fmt::Debug for Flusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Flusher")
            .field("asked", &state.asked)
            .field("done", &state.done)
            .finish_non_exhaustive()
    }
}
