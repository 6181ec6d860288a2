//! Branches, barbers, services and closures.
//!
//! The catalogue is read on every availability query and booking, and written rarely. Every
//! write to one of its tables (branches, their slugs, barbers, services, closures) goes
//! through this file and, in the same write transaction, draws a new random *catalogue stamp*
//! ([`touch`], `meta["catalog.stamp"]`); opening the database draws one too. [`load`] decodes
//! the whole catalogue once per stamp and shares it: the stamp read in the caller's own
//! transaction names exactly the rows that transaction sees, so the shared decoding is never
//! stale, and checking it costs one lookup instead of comparing every row.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use crate::store::engine::WriteTransaction;
use redb::{ReadableTable, ReadableTableMetadata};

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::{
    Barber, BarberId, Branch, BranchId, Closure, ClosureId, DomainError, Service, ServiceId,
};

/// The `meta` key of the catalogue stamp.
const STAMP: &str = "catalog.stamp";

/// The whole catalogue as one transaction sees it, each table in id order.
#[derive(Debug)]
pub struct Catalog {
    pub branches: Vec<Branch>,
    pub barbers: Vec<Barber>,
    pub services: Vec<Service>,
    pub closures: Vec<Closure>,
}

impl Catalog {
    fn read(tx: &impl ReadTx) -> Result<Self, StoreError> {
        Ok(Self {
            branches: codec::all(&tx.table(tables::BRANCHES)?, tables::BRANCHES)?,
            barbers: codec::all(&tx.table(tables::BARBERS)?, tables::BARBERS)?,
            services: codec::all(&tx.table(tables::SERVICES)?, tables::SERVICES)?,
            closures: codec::all(&tx.table(tables::CLOSURES)?, tables::CLOSURES)?,
        })
    }

    pub fn branch(&self, id: BranchId) -> Option<&Branch> {
        self.branches.iter().find(|b| b.id == id)
    }

    /// The branch with this slug, active or not. A branch's slug never changes, and
    /// `branch_slugs` holds exactly the branches' own slugs (both written by [`insert_branch`]).
    pub fn branch_by_slug(&self, slug: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.slug.as_str() == slug)
    }

    /// The open (active) branch `slug`.
    pub fn active_branch(&self, slug: &str) -> Result<&Branch, DomainError> {
        self.branch_by_slug(slug)
            .filter(|b| b.active)
            .ok_or(DomainError::UnknownBranch)
    }

    pub fn barber(&self, id: BarberId) -> Option<&Barber> {
        self.barbers.iter().find(|b| b.id == id)
    }

    /// Active barbers with at least one shift at the branch.
    pub fn barbers_at(&self, branch: BranchId) -> impl Iterator<Item = &Barber> {
        self.barbers.iter().filter(move |b| b.works_at(branch))
    }

    /// Active services that at least one of the branch's barbers does.
    pub fn services_at(&self, branch: BranchId) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| {
            s.active && self.barbers_at(branch).any(|b| b.services.contains(&s.id))
        })
    }
}

/// Decoded catalogues by stamp. Shared by every open database in the process (tests run many),
/// and safe to be: stamps are random, so two databases share one only as copies of the same
/// file that neither has changed since. Small: cleared when it grows past a few entries.
static LOADED: LazyLock<Mutex<HashMap<u64, Arc<Catalog>>>> = LazyLock::new(Default::default);
const LOADED_MAX: usize = 16;

/// The catalogue as `tx` sees it, decoded once per stamp.
pub fn load(tx: &impl ReadTx) -> Result<Arc<Catalog>, StoreError> {
    let stamp = tx.table(tables::META)?.get(STAMP)?.map(|v| v.value());
    // Every database opened through `Store::open` has a stamp; without one, no sharing.
    let Some(stamp) = stamp else {
        return Ok(Arc::new(Catalog::read(tx)?));
    };
    let poisoned = || StoreError::BatchFailed("catalogue memo poisoned".into());
    if let Some(found) = LOADED.lock().map_err(|_| poisoned())?.get(&stamp) {
        return Ok(found.clone());
    }
    let catalog = Arc::new(Catalog::read(tx)?);
    let mut loaded = LOADED.lock().map_err(|_| poisoned())?;
    if loaded.len() >= LOADED_MAX {
        loaded.clear();
    }
    loaded.insert(stamp, catalog.clone());
    Ok(catalog)
}

/// Draws a new catalogue stamp. Called in the write transaction of every change to a
/// catalogue table (after the change, so a rule error before it leaves the stamp alone) and
/// when the database is opened (a file written by an older binary, restored or migrated).
pub(crate) fn touch(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::META)?
        .insert(STAMP, rand::random::<u64>())?;
    Ok(())
}

pub fn branches(tx: &impl ReadTx) -> Result<Vec<Branch>, StoreError> {
    Ok(load(tx)?.branches.clone())
}

pub fn branch(tx: &impl ReadTx, id: BranchId) -> Result<Option<Branch>, StoreError> {
    Ok(load(tx)?.branch(id).cloned())
}

/// The active branch with this slug, or `UnknownBranch`.
pub fn branch_by_slug(tx: &impl ReadTx, slug: &str) -> Result<Branch, StoreError> {
    Ok(load(tx)?.active_branch(slug)?.clone())
}

pub fn barbers(tx: &impl ReadTx) -> Result<Vec<Barber>, StoreError> {
    Ok(load(tx)?.barbers.clone())
}

pub fn barber(tx: &impl ReadTx, id: BarberId) -> Result<Option<Barber>, StoreError> {
    Ok(load(tx)?.barber(id).cloned())
}

/// Active barbers with at least one shift at the branch.
pub fn barbers_at(tx: &impl ReadTx, branch: BranchId) -> Result<Vec<Barber>, StoreError> {
    Ok(load(tx)?.barbers_at(branch).cloned().collect())
}

pub fn services(tx: &impl ReadTx) -> Result<Vec<Service>, StoreError> {
    Ok(load(tx)?.services.clone())
}

pub fn service(tx: &impl ReadTx, id: ServiceId) -> Result<Option<Service>, StoreError> {
    Ok(load(tx)?.services.iter().find(|s| s.id == id).cloned())
}

/// Active services that at least one of the branch's barbers does.
pub fn services_at(tx: &impl ReadTx, branch: BranchId) -> Result<Vec<Service>, StoreError> {
    Ok(load(tx)?.services_at(branch).cloned().collect())
}

pub fn closures(tx: &impl ReadTx) -> Result<Vec<Closure>, StoreError> {
    Ok(load(tx)?.closures.clone())
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
    touch(txn)?;
    Ok(branch)
}

pub fn insert_service(txn: &WriteTransaction, mut service: Service) -> Result<Service, StoreError> {
    service.id = ServiceId(next_id(txn, "service")?);
    codec::put(
        &mut txn.open_table(tables::SERVICES)?,
        service.id.0,
        &service,
    )?;
    touch(txn)?;
    Ok(service)
}

pub fn insert_barber(txn: &WriteTransaction, mut barber: Barber) -> Result<Barber, StoreError> {
    barber.id = BarberId(next_id(txn, "barber")?);
    codec::put(&mut txn.open_table(tables::BARBERS)?, barber.id.0, &barber)?;
    touch(txn)?;
    Ok(barber)
}

pub fn insert_closure(txn: &WriteTransaction, mut closure: Closure) -> Result<Closure, StoreError> {
    closure.id = ClosureId(next_id(txn, "closure")?);
    codec::put(
        &mut txn.open_table(tables::CLOSURES)?,
        closure.id.0,
        &closure,
    )?;
    touch(txn)?;
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
    touch(txn)?;
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
    touch(txn)?;
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
    touch(txn)?;
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
    touch(txn)?;
    Ok(Some((before, branch)))
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;
    use crate::domain::{Money, Text};

    fn service(name: &str) -> Service {
        Service {
            id: ServiceId(0),
            name: Text::line("name", name, 50).expect("name"),
            duration_minutes: 30,
            buffer_minutes: 0,
            price: Money::from_pesos(1000).expect("price"),
            active: true,
            category: None,
        }
    }

    fn stamp(tx: &impl ReadTx) -> Option<u64> {
        tx.table(tables::META)
            .expect("meta")
            .get(STAMP)
            .expect("get")
            .map(|v| v.value())
    }

    #[tokio::test]
    async fn every_change_draws_a_new_stamp_and_is_seen_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::Store::open(dir.path(), 1 << 20).expect("store opens");
        let path = store.path().to_path_buf();
        store.close().await;
        drop(store);
        let db = redb::Database::open(&path).expect("reopen");

        let txn = crate::store::engine::WriteTransaction::new(db.begin_write().expect("write"));
        let opened = stamp(&txn).expect("Store::open draws a stamp");
        let cut = insert_service(&txn, service("Corte")).expect("insert");
        let inserted = stamp(&txn).expect("stamp");
        assert_ne!(opened, inserted);
        assert_eq!(load(&txn).expect("load").services, vec![cut.clone()]);
        // A change later in the same transaction is seen by the same transaction.
        let renamed = Service {
            name: Text::line("name", "Corte clásico", 50).expect("name"),
            ..cut.clone()
        };
        update_service(&txn, renamed.clone()).expect("update");
        assert_ne!(stamp(&txn), Some(inserted));
        assert_eq!(load(&txn).expect("load").services, vec![renamed.clone()]);
        txn.commit().expect("commit");

        // A transaction that changes the catalogue and aborts leaves readers the old one.
        let txn = crate::store::engine::WriteTransaction::new(db.begin_write().expect("write"));
        insert_service(&txn, service("Barba")).expect("insert");
        assert_eq!(load(&txn).expect("load").services.len(), 2);
        txn.abort().expect("abort");
        let read = db.begin_read().expect("read");
        assert_eq!(load(&read).expect("load").services, vec![renamed]);
    }

    #[tokio::test]
    async fn opening_a_database_draws_a_new_stamp() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut seen = Vec::new();
        for _ in 0..2 {
            let store = crate::store::Store::open(dir.path(), 1 << 20).expect("store opens");
            let path = store.path().to_path_buf();
            store.close().await;
            drop(store);
            let db = redb::Database::open(&path).expect("reopen");
            seen.push(stamp(&db.begin_read().expect("read")).expect("stamp"));
        }
        assert_ne!(seen[0], seen[1]);
    }
}
