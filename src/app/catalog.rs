//! Catálogo's use cases: a barber's weekly hours at one branch, edited as a whole week and
//! saved in two steps (a preview of the bookings the change would strand, then the save).
//!
//! Saving is refused while a future booking would fall outside the new hours (or inside a
//! new break): the preview lists those bookings with their clients, for the front desk to
//! move or cancel first, so that no booking is ever left outside its barber's hours. The
//! save re-checks everything in its own write transaction, since bookings keep arriving
//! between the two steps, and refuses hours that changed since the preview.

use jiff::{Timestamp, ToSpan};
use sha2::{Digest, Sha256};

use super::{Actor, App, AppError};
use crate::domain::week::{Week, WeekProblem};
use crate::domain::{
    Barber, BarberId, Booking, Branch, BranchId, Client, DomainError, Shift, time,
};
use crate::store::{ReadTx, StoreError, audit, bookings, catalog, clients};

/// Only the owner changes the catalogue (commands and jobs may too).
fn may_edit_catalog(actor: &Actor) -> Result<(), AppError> {
    match actor.staff() {
        Some(s) if !s.role.is_owner() => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

/// A barber's week at a branch as it is now.
#[derive(Debug, Clone)]
pub struct WeekView {
    pub barber: Barber,
    pub branch: Branch,
    pub week: Week,
    /// The barber's shifts at the other branches, with each branch's name.
    pub elsewhere: Vec<(Shift, String)>,
    /// Names the hours at this branch as they are (sent back with the save).
    pub seen: String,
}

/// A booking the new hours would leave outside them, and its client.
#[derive(Debug, Clone)]
pub struct Stranded {
    pub booking: Booking,
    pub client: Option<Client>,
}

/// What saving a week would do.
#[derive(Debug, Clone)]
pub struct WeekPreview {
    pub now: WeekView,
    /// The barber's shifts after the save, every branch.
    pub after: Vec<Shift>,
    /// Future bookings at the branch the new hours would not hold, earliest first. Saving
    /// is refused while there are any.
    pub stranded: Vec<Stranded>,
}

/// What a save came to.
#[derive(Debug, Clone)]
pub enum WeekSaved {
    Saved,
    /// Bookings would fall outside the new hours (some may have arrived since the preview).
    Stranded(Vec<Stranded>),
    /// The hours overlap the barber's at another branch.
    Problem(WeekProblem),
    /// Someone changed these hours after the preview was made: look again.
    Changed,
}

/// A fingerprint of the barber's hours at `branch`.
fn seen(barber: &Barber, branch: BranchId) -> String {
    let shifts: Vec<&Shift> = barber
        .shifts
        .iter()
        .filter(|s| s.branch == branch)
        .collect();
    let json = serde_json::to_vec(&shifts).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..12])
}

fn load(tx: &impl ReadTx, barber: BarberId, branch: BranchId) -> Result<WeekView, StoreError> {
    let found = catalog::barber(tx, barber)?.ok_or(DomainError::UnknownBarber(barber.0))?;
    let branch = catalog::branch(tx, branch)?.ok_or(DomainError::UnknownBranch)?;
    let branches = catalog::branches(tx)?;
    let elsewhere = found
        .shifts
        .iter()
        .filter(|s| s.branch != branch.id)
        .map(|s| {
            let name = branches
                .iter()
                .find(|b| b.id == s.branch)
                .map(|b| b.name.as_str().to_owned())
                .unwrap_or_default();
            (s.clone(), name)
        })
        .collect();
    Ok(WeekView {
        week: Week::of(&found, branch.id),
        seen: seen(&found, branch.id),
        barber: found,
        branch,
        elsewhere,
    })
}

/// The barber's future bookings at `branch` (within 400 days) that `after` does not hold:
/// their local weekday has no shift there, or their time (with the services' buffer) falls
/// outside it or in a break.
fn stranded(
    tx: &impl ReadTx,
    barber: &Barber,
    branch: &Branch,
    after: &[Shift],
    now: Timestamp,
) -> Result<Vec<Stranded>, StoreError> {
    let until = now.checked_add(400.days()).unwrap_or(Timestamp::MAX);
    let tz = branch.tz();
    let mut out = Vec::new();
    for b in bookings::active_of_barber(tx, barber.id, now, until)? {
        if b.start < now || b.branch != branch.id {
            continue;
        }
        let start = b.start.to_zoned(tz.clone());
        let weekday = time::iso_weekday(start.date());
        let from = i64::from(start.hour()) * 60 + i64::from(start.minute());
        let to = from + (b.busy_until.as_second() - b.start.as_second()) / 60;
        let held = after
            .iter()
            .filter(|s| s.weekday == weekday && s.branch == branch.id)
            .any(|s| s.holds(from, to));
        if !held {
            let client = clients::get(tx, b.client)?;
            out.push(Stranded { booking: b, client });
        }
    }
    out.sort_by_key(|s| s.booking.start);
    Ok(out)
}

/// The week editor's starting point: the barber's hours at the branch as they are.
pub async fn week(
    app: &App,
    actor: &Actor,
    barber: BarberId,
    branch: BranchId,
) -> Result<WeekView, AppError> {
    may_edit_catalog(actor)?;
    Ok(app.store.read(move |tx| load(tx, barber, branch)).await?)
}

/// What saving `week` as the barber's hours at the branch would do (nothing is written).
pub async fn preview_week(
    app: &App,
    actor: &Actor,
    barber: BarberId,
    branch: BranchId,
    week: Week,
) -> Result<Result<WeekPreview, WeekProblem>, AppError> {
    may_edit_catalog(actor)?;
    let now = app.clock.now();
    let preview = app
        .store
        .read(move |tx| {
            let view = load(tx, barber, branch)?;
            let after = match week.apply(&view.barber, branch) {
                Ok(after) => after,
                Err(problem) => return Ok(Err(problem)),
            };
            let stranded = stranded(tx, &view.barber, &view.branch, &after, now)?;
            Ok(Ok(WeekPreview {
                now: view,
                after,
                stranded,
            }))
        })
        .await?;
    Ok(preview)
}

/// Saves `week` as the barber's hours at the branch, in one write transaction with its
/// audit entry (`barber.hours`, the shifts before and after; no client data), unless the
/// hours changed since they were `seen`, a day overlaps another branch, or a future booking
/// would be stranded.
pub async fn set_week(
    app: &App,
    actor: &Actor,
    barber: BarberId,
    branch: BranchId,
    week: Week,
    seen_before: String,
) -> Result<WeekSaved, AppError> {
    may_edit_catalog(actor)?;
    let now = app.clock.now();
    let entry = actor.change("barber.hours", "barber", Some(barber.0));
    let saved = app
        .store
        .write(move |txn| {
            let view = load(txn, barber, branch)?;
            if view.seen != seen_before {
                return Ok(WeekSaved::Changed);
            }
            let after = match week.apply(&view.barber, branch) {
                Ok(after) => after,
                Err(problem) => return Ok(WeekSaved::Problem(problem)),
            };
            let stranded = stranded(txn, &view.barber, &view.branch, &after, now)?;
            if !stranded.is_empty() {
                return Ok(WeekSaved::Stranded(stranded));
            }
            let updated = Barber {
                shifts: after,
                ..view.barber
            };
            let Some((before, after)) = catalog::update_barber(txn, updated)? else {
                return Err(DomainError::UnknownBarber(barber.0).into());
            };
            // Hours only: the audit log names people by id, never by name.
            audit::record(txn, entry.between(&before.shifts, &after.shifts), now)?;
            Ok(WeekSaved::Saved)
        })
        .await?;
    Ok(saved)
}
