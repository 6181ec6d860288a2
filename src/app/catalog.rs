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

/// Why a barber's services were not saved: a service that does not exist, or bookings ahead
/// that need one being taken away (named for the front desk).
#[derive(Debug, Clone)]
pub enum ServicesRefused {
    UnknownService,
    Booked(super::booked::InTheWay),
}

fn known_services(tx: &impl ReadTx, ids: &[crate::domain::ServiceId]) -> Result<bool, StoreError> {
    let all = catalog::services(tx)?;
    Ok(ids.iter().all(|id| all.iter().any(|s| s.id == *id)))
}

/// A new barber with a name and the services they do (no hours yet: no bookings until the
/// week editor gives them some); `None` when a service does not exist. Audited
/// `barber.create`.
pub async fn create_barber(
    app: &App,
    actor: &Actor,
    name: crate::domain::Text,
    services: Vec<crate::domain::ServiceId>,
) -> Result<Option<Barber>, AppError> {
    may_edit_catalog(actor)?;
    let now = app.clock.now();
    let actor = actor.clone();
    Ok(app
        .store
        .write(move |txn| {
            if !known_services(txn, &services)? {
                return Ok(None);
            }
            let barber = Barber {
                id: BarberId(0),
                name,
                active: true,
                services,
                shifts: Vec::new(),
            };
            let created = catalog::insert_barber(txn, barber)?;
            let entry = audit::Change {
                after: audit::json(serde_json::json!({
                    "services": created.services.iter().map(|s| s.0).collect::<Vec<_>>(),
                })),
                ..actor.change("barber.create", "barber", Some(created.id.0))
            };
            audit::record(txn, entry, now)?;
            Ok(Some(created))
        })
        .await?)
}

/// The services a barber does. A service they still have booked ahead cannot be taken away
/// (the refusal names the bookings). Audited `barber.services`.
pub async fn set_barber_services(
    app: &App,
    actor: &Actor,
    id: BarberId,
    services: Vec<crate::domain::ServiceId>,
) -> Result<Result<(), ServicesRefused>, AppError> {
    may_edit_catalog(actor)?;
    let now = app.clock.now();
    let actor = actor.clone();
    Ok(app
        .store
        .write(move |txn| {
            let before = catalog::barber(txn, id)?.ok_or(DomainError::UnknownBarber(id.0))?;
            if !known_services(txn, &services)? {
                return Ok(Err(ServicesRefused::UnknownService));
            }
            let booked = super::booked::ahead(txn, &[before.id], now, |b| {
                b.services.iter().any(|s| !services.contains(&s.id))
            })?;
            if !booked.is_empty() {
                return Ok(Err(ServicesRefused::Booked(super::booked::in_the_way(
                    txn, &booked,
                )?)));
            }
            let after = Barber {
                services: services.clone(),
                ..before.clone()
            };
            catalog::update_barber(txn, after)?;
            let ids = |b: &[crate::domain::ServiceId]| {
                serde_json::json!({ "services": b.iter().map(|s| s.0).collect::<Vec<_>>() })
            };
            let entry = audit::Change {
                before: audit::json(ids(&before.services)),
                after: audit::json(ids(&services)),
                ..actor.change("barber.services", "barber", Some(id.0))
            };
            audit::record(txn, entry, now)?;
            Ok(Ok(()))
        })
        .await?)
}
