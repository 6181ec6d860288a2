//! Branches, barbers, services and closures.
//!
//! The catalogue is read on every availability query and booking, and written rarely: the
//! whole-table reads below reuse their last decoding while the rows are byte-for-byte the
//! same ([`codec::all_memo`]), which keeps JSON parsing off the hot path without a cache to
//! invalidate.

use std::sync::Arc;

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::{
    Barber, BarberId, Branch, BranchId, Closure, ClosureId, DomainError, Service, ServiceId,
};

pub fn branches(tx: &impl ReadTx) -> Result<Vec<Branch>, StoreError> {
    Ok(
        codec::all_memo(&tx.table(tables::BRANCHES)?, tables::BRANCHES)?
            .as_ref()
            .clone(),
    )
}

pub fn branch(tx: &impl ReadTx, id: BranchId) -> Result<Option<Branch>, StoreError> {
    codec::get_memo(&tx.table(tables::BRANCHES)?, tables::BRANCHES, id.0)
}

/// The active branch with this slug, or `UnknownBranch`.
pub fn branch_by_slug(tx: &impl ReadTx, slug: &str) -> Result<Branch, StoreError> {
    let id = tx
        .table(tables::BRANCH_SLUGS)?
        .get(slug)?
        .map(|v| v.value());
    match id {
        Some(id) => match branch(tx, BranchId(id))? {
            Some(b) if b.active => Ok(b),
            _ => Err(DomainError::UnknownBranch.into()),
        },
        None => Err(DomainError::UnknownBranch.into()),
    }
}

pub fn barbers(tx: &impl ReadTx) -> Result<Vec<Barber>, StoreError> {
    Ok(all_barbers(tx)?.as_ref().clone())
}

fn all_barbers(tx: &impl ReadTx) -> Result<Arc<Vec<Barber>>, StoreError> {
    codec::all_memo(&tx.table(tables::BARBERS)?, tables::BARBERS)
}

pub fn barber(tx: &impl ReadTx, id: BarberId) -> Result<Option<Barber>, StoreError> {
    codec::get_memo(&tx.table(tables::BARBERS)?, tables::BARBERS, id.0)
}

/// Active barbers with at least one shift at the branch.
pub fn barbers_at(tx: &impl ReadTx, branch: BranchId) -> Result<Vec<Barber>, StoreError> {
    Ok(all_barbers(tx)?
        .iter()
        .filter(|b| b.works_at(branch))
        .cloned()
        .collect())
}

pub fn services(tx: &impl ReadTx) -> Result<Vec<Service>, StoreError> {
    Ok(
        codec::all_memo(&tx.table(tables::SERVICES)?, tables::SERVICES)?
            .as_ref()
            .clone(),
    )
}

pub fn service(tx: &impl ReadTx, id: ServiceId) -> Result<Option<Service>, StoreError> {
    codec::get(&tx.table(tables::SERVICES)?, tables::SERVICES, id.0)
}

/// Active services that at least one of the branch's barbers does.
pub fn services_at(tx: &impl ReadTx, branch: BranchId) -> Result<Vec<Service>, StoreError> {
    let barbers = all_barbers(tx)?;
    let at_branch: Vec<&Barber> = barbers.iter().filter(|b| b.works_at(branch)).collect();
    Ok(
        codec::all_memo::<Service>(&tx.table(tables::SERVICES)?, tables::SERVICES)?
            .iter()
            .filter(|s| s.active && at_branch.iter().any(|b| b.services.contains(&s.id)))
            .cloned()
            .collect(),
    )
}

pub fn closures(tx: &impl ReadTx) -> Result<Vec<Closure>, StoreError> {
    Ok(shared_closures(tx)?.as_ref().clone())
}

/// Every closure, shared rather than copied (read once per barber and day).
pub(crate) fn shared_closures(tx: &impl ReadTx) -> Result<Arc<Vec<Closure>>, StoreError> {
    codec::all_memo(&tx.table(tables::CLOSURES)?, tables::CLOSURES)
}

/// Stores a new branch (its `id` is assigned here). Slugs are unique.
pub fn insert_branch(txn: &WriteTransaction, mut branch: Branch) -> Result<Branch, StoreError> {
    if txn
        .open_table(tables::BRANCH_SLUGS)?
        .get(branch.slug.as_str())?
        .is_some()
    {
        return Err(DomainError::InvalidField {
            field: "slug",
            reason: "taken",
        }
        .into());
    }
    branch.id = BranchId(next_id(txn, "branch")?);
    codec::put(&mut txn.open_table(tables::BRANCHES)?, branch.id.0, &branch)?;
    txn.open_table(tables::BRANCH_SLUGS)?
        .insert(branch.slug.as_str(), branch.id.0)?;
    Ok(branch)
}

pub fn insert_service(txn: &WriteTransaction, mut service: Service) -> Result<Service, StoreError> {
    service.id = ServiceId(next_id(txn, "service")?);
    codec::put(
        &mut txn.open_table(tables::SERVICES)?,
        service.id.0,
        &service,
    )?;
    Ok(service)
}

pub fn insert_barber(txn: &WriteTransaction, mut barber: Barber) -> Result<Barber, StoreError> {
    barber.id = BarberId(next_id(txn, "barber")?);
    codec::put(&mut txn.open_table(tables::BARBERS)?, barber.id.0, &barber)?;
    Ok(barber)
}

pub fn insert_closure(txn: &WriteTransaction, mut closure: Closure) -> Result<Closure, StoreError> {
    closure.id = ClosureId(next_id(txn, "closure")?);
    codec::put(
        &mut txn.open_table(tables::CLOSURES)?,
        closure.id.0,
        &closure,
    )?;
    Ok(closure)
}

/// Whether the catalogue is empty (a fresh database).
pub fn is_empty(tx: &impl ReadTx) -> Result<bool, StoreError> {
    Ok(tx.table(tables::BRANCHES)?.is_empty()?)
}

/// Replaces a service (same id); `None` if there is no such service. Returns (before, after).
pub fn update_service(
    txn: &WriteTransaction,
    service: Service,
) -> Result<Option<(Service, Service)>, StoreError> {
    let Some(before) = self::service(txn, service.id)? else {
        return Ok(None);
    };
    codec::put(
        &mut txn.open_table(tables::SERVICES)?,
        service.id.0,
        &service,
    )?;
    Ok(Some((before, service)))
}

/// Removes a closure; returns it, or `None` if there was none.
pub fn delete_closure(
    txn: &WriteTransaction,
    id: ClosureId,
) -> Result<Option<Closure>, StoreError> {
    let removed = txn
        .open_table(tables::CLOSURES)?
        .remove(id.0)?
        .map(|v| codec::decode::<Closure>(tables::CLOSURES, v.value()))
        .transpose()?;
    Ok(removed)
}

/// Replaces a barber (same id); `None` if there is no such barber. Returns (before, after).
pub fn update_barber(
    txn: &WriteTransaction,
    barber: Barber,
) -> Result<Option<(Barber, Barber)>, StoreError> {
    let Some(before) = self::barber(txn, barber.id)? else {
        return Ok(None);
    };
    codec::put(&mut txn.open_table(tables::BARBERS)?, barber.id.0, &barber)?;
    Ok(Some((before, barber)))
}

/// Replaces a branch's details (same id and slug); `None` if there is no such branch.
/// Returns (before, after).
pub fn update_branch(
    txn: &WriteTransaction,
    branch: Branch,
) -> Result<Option<(Branch, Branch)>, StoreError> {
    let Some(before) = self::branch(txn, branch.id)? else {
        return Ok(None);
    };
    let branch = Branch {
        slug: before.slug.clone(),
        ..branch
    };
    codec::put(&mut txn.open_table(tables::BRANCHES)?, branch.id.0, &branch)?;
    Ok(Some((before, branch)))
}
