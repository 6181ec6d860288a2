//! The catalogue's branches: the owner adds one or changes its details. A branch's slug and
//! time zone are fixed once it exists (the slug is in every link already sent and names the
//! branch's deposit policy; the time zone gives every booking its local time). A branch with
//! bookings ahead is not closed for online booking until they are dealt with.

use super::booked::{self, Checked};
use super::{Actor, App, AppError};
use crate::domain::{BarberId, Branch, BranchId, DomainError, Phone, Text};
use crate::store::{audit, catalog};

/// What the owner may change on any branch.
#[derive(Debug, Clone)]
pub struct Details {
    pub name: Text,
    pub address: Text,
    pub phone: Option<Phone>,
    /// Whether it takes bookings.
    pub active: bool,
}

/// Adds `branch` (its id is given here). Audited as `branch.create` with the new branch; its
/// counters exist from then on. A slug already taken is `InvalidField { field: "slug" }`.
pub async fn create(app: &App, actor: &Actor, branch: Branch) -> Result<Branch, AppError> {
    let now = app.clock.now();
    let actor = actor.clone();
    let created = app
        .store
        .write(move |txn| {
            let created = catalog::insert_branch(txn, branch)?;
            let entry = audit::Change {
                after: audit::snapshot(&created),
                ..actor.change("branch.create", "branch", Some(created.id.0))
            };
            audit::record(txn, entry, now)?;
            Ok(created)
        })
        .await?;
    app.metrics.init_branch(created.slug.as_str());
    Ok(created)
}

/// Changes branch `id`'s details. Closing it is refused while bookings there lie ahead.
/// Audited as `branch.update` with the branch before and after; an unknown id is
/// `UnknownBranch`.
pub async fn update(
    app: &App,
    actor: &Actor,
    id: BranchId,
    details: Details,
) -> Result<Checked<Branch>, AppError> {
    let now = app.clock.now();
    let entry = actor.change("branch.update", "branch", Some(id.0));
    let Details {
        name,
        address,
        phone,
        active,
    } = details;
    let result = app
        .store
        .write(move |txn| {
            let current = catalog::branch(txn, id)?.ok_or(DomainError::UnknownBranch)?;
            if current.active && !active {
                let barbers: Vec<BarberId> = catalog::barbers(txn)?.iter().map(|b| b.id).collect();
                let found = booked::ahead(txn, &barbers, now, |b| b.branch == current.id)?;
                if let Err(in_the_way) = booked::refuse_if_any(txn, &found)? {
                    return Ok(Err(in_the_way));
                }
            }
            let updated = Branch {
                name,
                address,
                phone,
                active,
                ..current
            };
            let Some((before, after)) = catalog::update_branch(txn, updated)? else {
                return Err(DomainError::UnknownBranch.into());
            };
            audit::record(txn, entry.between(&before, &after), now)?;
            Ok(Ok(after))
        })
        .await?;
    Ok(result)
}
