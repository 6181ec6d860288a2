//! Closures and time off, for a branch or one barber: whole days, or a time range within one
//! day in the branch's time zone. Refused while active bookings are in the way; removed at
//! will.

use jiff::tz::TimeZone;

use super::booked::{self, Checked};
use super::{Actor, App, AppError};
use crate::domain::{
    BarberId, BranchId, Closure, ClosureId, ClosureScope, ClosureSpan, DomainError, Text,
};
use crate::store::{audit, catalog};

/// A closure as the owner asks for it.
#[derive(Debug, Clone)]
pub struct NewClosure {
    pub branch: BranchId,
    /// One barber's time off; `None`: the whole branch closes.
    pub barber: Option<BarberId>,
    /// In the branch's local time.
    pub span: ClosureSpan,
    pub reason: Text,
}

/// A closure that was added, with the time zone it was read in (its branch's).
#[derive(Debug, Clone)]
pub struct Added {
    pub closure: Closure,
    pub tz: TimeZone,
}

/// Closes a branch, or gives a barber time off, unless active bookings are in the way (a
/// barber's time off applies wherever they work; a branch's closure, to the bookings at that
/// branch; what already ended is history, not in the way). Audited as `closure.create`. An
/// unknown branch or barber is `UnknownBranch` / `UnknownBarber`; a local time that does not
/// exist in the branch's zone, `InvalidDate`.
pub async fn add(app: &App, actor: &Actor, new: NewClosure) -> Result<Checked<Added>, AppError> {
    let now = app.clock.now();
    let actor = actor.clone();
    let NewClosure {
        branch,
        barber,
        span,
        reason,
    } = new;
    let result = app
        .store
        .write(move |txn| {
            let branch = catalog::branch(txn, branch)?.ok_or(DomainError::UnknownBranch)?;
            let tz = branch.tz();
            let (start, end) = span.instants(&tz)?;
            let scope = match barber {
                Some(id) => {
                    catalog::barber(txn, id)?.ok_or(DomainError::UnknownBarber(id.0))?;
                    ClosureScope::Barber(id)
                }
                None => ClosureScope::Branch(branch.id),
            };
            let barbers: Vec<BarberId> = match barber {
                Some(id) => vec![id],
                None => catalog::barbers(txn)?.iter().map(|b| b.id).collect(),
            };
            let from = start.max(now);
            let found = if from < end {
                booked::during(txn, &barbers, from, end, |b| {
                    barber.is_some() || b.branch == branch.id
                })?
            } else {
                Vec::new()
            };
            if let Err(in_the_way) = booked::refuse_if_any(txn, &found)? {
                return Ok(Err(in_the_way));
            }
            let closure = catalog::insert_closure(
                txn,
                Closure {
                    id: ClosureId(0),
                    scope,
                    start,
                    end,
                    reason,
                },
            )?;
            let entry = audit::Change {
                after: audit::snapshot(&closure),
                ..actor.change("closure.create", "closure", Some(closure.id.0))
            };
            audit::record(txn, entry, now)?;
            Ok(Ok(Added { closure, tz }))
        })
        .await?;
    Ok(result)
}

/// Removes closure `id`; `None` when there is none. Audited as `closure.delete` with the
/// closure that was removed.
pub async fn delete(app: &App, actor: &Actor, id: ClosureId) -> Result<Option<Closure>, AppError> {
    let now = app.clock.now();
    let entry = actor.change("closure.delete", "closure", Some(id.0));
    let removed = app
        .store
        .write(move |txn| {
            let Some(before) = catalog::delete_closure(txn, id)? else {
                return Ok(None);
            };
            let entry = audit::Change {
                before: audit::snapshot(&before),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(Some(before))
        })
        .await?;
    Ok(removed)
}
