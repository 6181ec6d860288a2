//! Barbers' commission rules and their closed pay periods. What a period owes is computed
//! from the ledger (`ledger::barber_entries`); closing it keeps the total it had then.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use jiff::civil::Date;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{ReadTx, StoreError, codec, tables};
use crate::domain::caja::{CajaError, CommissionRules, day_key};
use crate::domain::staff::StaffId;
use crate::domain::{BarberId, DomainError};

/// A pay period an owner closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedPeriod {
    pub barber: BarberId,
    pub from: Date,
    pub to: Date,
    /// Commissions + tips − advances, in centavos, when it was closed.
    pub total: i64,
    pub lines: usize,
    pub closed_at: Timestamp,
    pub closed_by: Option<StaffId>,
}

/// A barber's rules (none set: nothing but tips).
pub fn rules(tx: &impl ReadTx, barber: BarberId) -> Result<CommissionRules, StoreError> {
    Ok(codec::get(
        &tx.table(tables::COMMISSION_RULES)?,
        tables::COMMISSION_RULES,
        barber.0,
    )?
    .unwrap_or_default())
}

/// Replaces a barber's rules; returns the ones before.
pub fn set_rules(
    txn: &WriteTransaction,
    barber: BarberId,
    new: &CommissionRules,
) -> Result<CommissionRules, StoreError> {
    let before = rules(txn, barber)?;
    codec::put(
        &mut txn.open_table(tables::COMMISSION_RULES)?,
        barber.0,
        new,
    )?;
    Ok(before)
}

/// A barber's closed periods, oldest first.
pub fn periods(tx: &impl ReadTx, barber: BarberId) -> Result<Vec<ClosedPeriod>, StoreError> {
    let table = tx.table(tables::PAY_PERIODS)?;
    let mut out = Vec::new();
    for row in table.range((barber.0, 0, 0)..=(barber.0, u32::MAX, u32::MAX))? {
        let (_, v) = row?;
        out.push(codec::decode_named("pay_periods", v.value())?);
    }
    Ok(out)
}

/// Closes a period; refused if it overlaps one already closed.
pub fn close(txn: &WriteTransaction, p: ClosedPeriod) -> Result<ClosedPeriod, StoreError> {
    if periods(txn, p.barber)?
        .iter()
        .any(|q| q.from <= p.to && p.from <= q.to)
    {
        return Err(StoreError::Rule(DomainError::Caja(CajaError::PeriodClosed)));
    }
    txn.open_table(tables::PAY_PERIODS)?.insert(
        (p.barber.0, day_key(p.from), day_key(p.to)),
        codec::encode(&p)?.as_slice(),
    )?;
    Ok(p)
}
