//! Products (chain-wide name and price) and their stock per branch. A sale takes its units
//! in the sale's write transaction (`ledger::sell`), a void puts them back; any other change
//! is an [`adjust`]ment with its reason, kept in `stock_adjustments`. Stock never goes below
//! zero: a sale or an adjustment that would take it there is refused.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::caja::{CajaError, Product, ProductId, ProductLine};
use crate::domain::staff::StaffId;
use crate::domain::{BranchId, DomainError, Money, Text};

fn rule(e: CajaError) -> StoreError {
    StoreError::Rule(DomainError::Caja(e))
}

/// A stock change that was not a sale: who, why, by how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub id: u64,
    pub product: ProductId,
    pub branch: BranchId,
    pub delta: i64,
    pub after: u64,
    pub reason: Text,
    pub at: Timestamp,
    pub by: Option<StaffId>,
}

pub fn get(tx: &impl ReadTx, id: ProductId) -> Result<Option<Product>, StoreError> {
    codec::get(&tx.table(tables::PRODUCTS)?, tables::PRODUCTS, id.0)
}

pub fn all(tx: &impl ReadTx) -> Result<Vec<Product>, StoreError> {
    codec::all(&tx.table(tables::PRODUCTS)?, tables::PRODUCTS)
}

pub fn create(
    txn: &WriteTransaction,
    name: Text,
    price: Money,
    low_stock: u32,
) -> Result<Product, StoreError> {
    let p = Product {
        id: ProductId(next_id(txn, "product")?),
        name,
        price,
        low_stock,
        active: true,
    };
    codec::put(&mut txn.open_table(tables::PRODUCTS)?, p.id.0, &p)?;
    Ok(p)
}

/// Replaces a product's name, price, threshold or active flag; returns the one before.
pub fn update(txn: &WriteTransaction, p: &Product) -> Result<Product, StoreError> {
    let before = get(txn, p.id)?.ok_or(rule(CajaError::UnknownProduct))?;
    codec::put(&mut txn.open_table(tables::PRODUCTS)?, p.id.0, p)?;
    Ok(before)
}

/// Units of `product` at `branch`.
pub fn stock(tx: &impl ReadTx, product: ProductId, branch: BranchId) -> Result<u64, StoreError> {
    Ok(tx
        .table(tables::STOCK)?
        .get((product.0, branch.0))?
        .map_or(0, |v| v.value()))
}

/// Every product with its stock at `branch`, in id order.
pub fn stock_at(tx: &impl ReadTx, branch: BranchId) -> Result<Vec<(Product, u64)>, StoreError> {
    let mut out = Vec::new();
    for p in all(tx)? {
        let n = stock(tx, p.id, branch)?;
        out.push((p, n));
    }
    Ok(out)
}

/// Active products at or below their low-stock threshold at `branch`.
pub fn low_at(tx: &impl ReadTx, branch: BranchId) -> Result<Vec<(Product, u64)>, StoreError> {
    Ok(stock_at(tx, branch)?
        .into_iter()
        .filter(|(p, n)| p.active && *n <= u64::from(p.low_stock))
        .collect())
}

/// Refuses a sale whose lines need more units than `branch` holds (lines of one product
/// add up).
pub(crate) fn check_stock(
    tx: &impl ReadTx,
    branch: BranchId,
    lines: &[ProductLine],
) -> Result<(), StoreError> {
    let mut need: std::collections::BTreeMap<u64, u64> = Default::default();
    for l in lines {
        *need.entry(l.product.0).or_default() += u64::from(l.qty);
    }
    for (id, n) in need {
        if stock(tx, ProductId(id), branch)? < n {
            let name = lines
                .iter()
                .find(|l| l.product.0 == id)
                .map(|l| l.name.as_str().to_owned())
                .unwrap_or_default();
            return Err(rule(CajaError::OutOfStock(name)));
        }
    }
    Ok(())
}

/// Takes the lines' units (after [`check_stock`]).
pub(crate) fn take(
    txn: &WriteTransaction,
    branch: BranchId,
    lines: &[ProductLine],
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::STOCK)?;
    for l in lines {
        let key = (l.product.0, branch.0);
        let n = table.get(key)?.map_or(0, |v| v.value());
        table.insert(key, n.saturating_sub(u64::from(l.qty)))?;
    }
    Ok(())
}

/// Puts a voided sale's units back.
pub(crate) fn put_back(
    txn: &WriteTransaction,
    branch: BranchId,
    lines: &[ProductLine],
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::STOCK)?;
    for l in lines {
        let key = (l.product.0, branch.0);
        let n = table.get(key)?.map_or(0, |v| v.value());
        table.insert(key, n + u64::from(l.qty))?;
    }
    Ok(())
}

/// Changes a branch's stock by `delta` units with a reason; refused (nothing written) if it
/// would go below zero. Returns the adjustment.
pub fn adjust(
    txn: &WriteTransaction,
    product: ProductId,
    branch: BranchId,
    delta: i64,
    reason: Text,
    at: Timestamp,
    by: Option<StaffId>,
) -> Result<Adjustment, StoreError> {
    let p = get(txn, product)?.ok_or(rule(CajaError::UnknownProduct))?;
    let before = stock(txn, product, branch)?;
    let after = i64::try_from(before)
        .ok()
        .and_then(|b| b.checked_add(delta))
        .filter(|a| *a >= 0 && *a <= 1_000_000)
        .ok_or(rule(if delta < 0 {
            CajaError::OutOfStock(p.name.as_str().to_owned())
        } else {
            CajaError::InvalidQuantity
        }))? as u64;
    txn.open_table(tables::STOCK)?
        .insert((product.0, branch.0), after)?;
    let a = Adjustment {
        id: next_id(txn, "stock_adjustment")?,
        product,
        branch,
        delta,
        after,
        reason,
        at,
        by,
    };
    codec::put(&mut txn.open_table(tables::STOCK_ADJUSTMENTS)?, a.id, &a)?;
    Ok(a)
}

/// The newest adjustments first, at most `limit`.
pub fn recent_adjustments(tx: &impl ReadTx, limit: usize) -> Result<Vec<Adjustment>, StoreError> {
    let table = tx.table(tables::STOCK_ADJUSTMENTS)?;
    let mut out = Vec::new();
    for row in table.iter()?.rev().take(limit) {
        let (_, v) = row?;
        out.push(codec::decode(tables::STOCK_ADJUSTMENTS, v.value())?);
    }
    Ok(out)
}
