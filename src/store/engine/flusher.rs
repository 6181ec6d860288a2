//! The flush thread of redb's file: runs a checkpoint's deferred `fdatasync` while the writer
//! goes on, and tells the writer when it is done. Until then every change to the file waits
//! (see [`DbFile`](super::dbfile::DbFile)), so the file sees redb's writes and flushes in
//! the order redb issued them.
//!
//! A watchdog: a flush that panics fails like one the disk refused, and one still running
//! after [`HANG_LIMIT`] is counted as failed by whoever waits for it, so that a dead or hung
//! flush thread halts the writer (see [`Halt`](super::Halt)) instead of holding every later
//! write forever.

use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A deferred flush still running after this long is counted as failed (a hung disk or
/// flush thread): far beyond what a checkpoint's paced write-back takes on a working disk.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

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
    /// When the last deferred flush was asked for, and how long one may run (the watchdog).
    pub(super) asked_at: Option<Instant>,
    pub(super) hang_limit: Option<Duration>,
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
            let flushed = catch_unwind(AssertUnwindSafe(|| flush(written)))
                .unwrap_or_else(|_| Err(io::Error::other("the flush thread panicked")));
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
    /// A flush past its hang limit fails (the watchdog).
    pub fn wait(&self, ticket: Ticket) -> Result<Instant, String> {
        let mut state = self.lock();
        loop {
            if let Some(outcome) = Self::outcome(&state, ticket) {
                return outcome;
            }
            state = self.wait_a_while(state);
        }
    }

    /// Waits for a change, or until the running flush passes its hang limit: it then
    /// counts as failed.
    fn wait_a_while<'a>(&self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let limit = state.hang_limit.unwrap_or(HANG_LIMIT);
        let waited = state.asked_at.map_or(Duration::ZERO, |at| at.elapsed());
        if state.done < state.asked && waited >= limit {
            state.failed.get_or_insert((
                io::ErrorKind::TimedOut,
                format!(
                    "the database's flush has not finished after {} s (a hung disk or flush thread)",
                    limit.as_secs_f64()
                ),
            ));
            return state;
        }
        let rest = limit.saturating_sub(waited).max(Duration::from_millis(1));
        self.changed
            .wait_timeout(state, rest)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Tests: the watchdog's limit.
    #[cfg(test)]
    pub(super) fn set_hang_limit(&self, limit: Duration) {
        self.lock().hang_limit = Some(limit);
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
    /// A flush past its hang limit fails (the watchdog).
    pub(super) fn settle(&self) -> io::Result<()> {
        let mut state = self.lock();
        while state.done < state.asked && state.failed.is_none() {
            state = self.wait_a_while(state);
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
        state.asked_at = Some(Instant::now());
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
