//! A write request as the writer runs it: a closure over the batch's [`Tx`], and, when the
//! request is [`Journaled`], the entry its batch's journal record holds.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::Tx;
use crate::store::error::StoreError;

/// A request the journal records and a restart replays (the store's clients' bookings). Its
/// JSON is its entry in its batch's record, and it carries every input it needs but the
/// [`Context`](Journaled::Context), so that applying it again over the same state gives the
/// same result, rule errors included. A writer journals one type: a second would need a tag
/// in its entries (an enum of both).
pub trait Journaled: Serialize + DeserializeOwned + Send + 'static {
    /// What the request answers.
    type Output: Send + 'static;
    /// What applying it needs that the record does not hold and that never changes (a key).
    type Context: Clone + Send + Sync + 'static;
    /// Runs the request in `tx`. Refused by a rule, it must have written nothing.
    fn apply(self, tx: &Tx, context: &Self::Context) -> Result<Self::Output, StoreError>;
}

/// What the writer runs and answers, whatever the request's result type.
pub(super) trait Job: Send {
    /// Runs the request inside the batch's transaction; `false` if it poisoned the batch.
    fn run(&mut self, txn: &Tx) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, outcome: Result<(), &str>);
    /// The request as the journal records it, when it is a logged one.
    fn entry(&self) -> Option<&[u8]> {
        None
    }
}

/// A request running `work`, answered on a oneshot channel.
pub(super) struct TypedJob<F, R> {
    work: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> TypedJob<F, R> {
    pub(super) fn new(work: F) -> (Self, oneshot::Receiver<Result<R, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let job = Self {
            work: Some(work),
            result: None,
            reply,
        };
        (job, answer)
    }
}

impl<F, R> Job for TypedJob<F, R>
where
    F: FnOnce(&Tx) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn run(&mut self, txn: &Tx) -> bool {
        let Some(work) = self.work.take() else {
            return true;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(txn)))
            .unwrap_or_else(|_| Err(StoreError::BatchFailed("a write request panicked".into())));
        let ok = !matches!(&result, Err(e) if e.is_fatal());
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, outcome: Result<(), &str>) {
        let answer = match (outcome, self.result) {
            // A rule error is the request's own answer whatever happened to the batch.
            (_, Some(Err(e))) if !e.is_fatal() => Err(e),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::BatchFailed("request was not run".into())),
            (Err(why), _) => Err(StoreError::BatchFailed(why.to_owned())),
        };
        let _ = self.reply.send(answer);
    }
}

/// A job whose request the journal can record and replay.
pub(super) struct Logged<J> {
    pub(super) job: J,
    /// The request's entry in its batch's journal record.
    pub(super) entry: Vec<u8>,
}

impl<J: Job> Job for Logged<J> {
    fn run(&mut self, txn: &Tx) -> bool {
        self.job.run(txn)
    }

    fn finish(self: Box<Self>, outcome: Result<(), &str>) {
        Box::new(self.job).finish(outcome)
    }

    fn entry(&self) -> Option<&[u8]> {
        Some(&self.entry)
    }
}
