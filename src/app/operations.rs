//! The owner's operations on the running server from the Sistema page: a snapshot now and the
//! restore drill now. The work itself runs in `control` (which holds the configuration); here
//! each request, and then its outcome, is written to the audit log.

use super::{Actor, App, AppError};
use crate::store::audit;

/// What the owner can start from the Sistema page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `snapshot.take`: a snapshot now.
    Snapshot,
    /// `snapshot.verify`: the restore drill on the newest snapshot.
    Verify,
}

impl Operation {
    fn action(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot.take",
            Self::Verify => "snapshot.verify",
        }
    }
}

/// Records that `actor` (an owner; anyone else is `Forbidden`) started `op`, before it runs.
pub async fn started(app: &App, actor: &Actor, op: Operation) -> Result<(), AppError> {
    match actor.staff() {
        Some(s) if s.role.is_owner() => {}
        Some(_) => return Err(AppError::Forbidden),
        None => {}
    }
    record(app, actor, op, serde_json::json!({ "state": "started" })).await
}

/// Records how `op` ended: `Ok(summary)` or `Err(error)`, in the name of who started it.
pub async fn finished(
    app: &App,
    actor: &Actor,
    op: Operation,
    outcome: &Result<String, String>,
) -> Result<(), AppError> {
    let detail = match outcome {
        Ok(summary) => serde_json::json!({ "state": "ok", "summary": summary }),
        Err(error) => serde_json::json!({ "state": "failed", "error": error }),
    };
    record(app, actor, op, detail).await
}

async fn record(
    app: &App,
    actor: &Actor,
    op: Operation,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let now = app.clock.now();
    let entry = audit::Change {
        after: audit::json(detail),
        ..actor.change(op.action(), "system", None)
    };
    app.store
        .write(move |txn| audit::record(txn, entry, now))
        .await?;
    Ok(())
}
