//! La caja diaria: one till per branch and local day, opened with a float and closed with
//! the cash counted. A closed day takes no new entry: [`current_day`] sends what comes after
//! the close to the next day.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use jiff::civil::Date;
use redb::ReadableTable;

use super::{ReadTx, StoreError, codec, ledger, tables};
use crate::domain::caja::{CajaError, Till, TillClose, day_key, till};
use crate::domain::staff::StaffId;
use crate::domain::{BranchId, DomainError, Money};

fn rule(e: CajaError) -> StoreError {
    StoreError::Rule(DomainError::Caja(e))
}

pub fn get(tx: &impl ReadTx, branch: BranchId, day: Date) -> Result<Option<Till>, StoreError> {
    match tx.table(tables::TILLS)?.get((branch.0, day_key(day)))? {
        Some(v) => codec::decode_named("tills", v.value()).map(Some),
        None => Ok(None),
    }
}

fn put(txn: &WriteTransaction, branch: BranchId, day: Date, t: &Till) -> Result<(), StoreError> {
    txn.open_table(tables::TILLS)?
        .insert((branch.0, day_key(day)), codec::encode(t)?.as_slice())?;
    Ok(())
}

/// The till day an entry made on local day `today` counts to: `today`, or the first day
/// after it whose till is not closed.
pub fn current_day(tx: &impl ReadTx, branch: BranchId, today: Date) -> Result<Date, StoreError> {
    let mut day = today;
    for _ in 0..366 {
        match get(tx, branch, day)? {
            Some(t) if t.closed.is_some() => {
                day = day
                    .tomorrow()
                    .map_err(|e| StoreError::BatchFailed(e.to_string()))?;
            }
            _ => return Ok(day),
        }
    }
    Ok(day)
}

pub fn open(
    txn: &WriteTransaction,
    branch: BranchId,
    day: Date,
    float: Money,
    at: Timestamp,
    by: Option<StaffId>,
) -> Result<Till, StoreError> {
    match get(txn, branch, day)? {
        Some(t) if t.closed.is_some() => return Err(rule(CajaError::TillClosed)),
        Some(_) => return Err(rule(CajaError::TillAlreadyOpen)),
        None => {}
    }
    let t = Till {
        float,
        opened_at: at,
        opened_by: by,
        closed: None,
    };
    put(txn, branch, day, &t)?;
    Ok(t)
}

/// What the till of `day` should hold now: float + cash in − cash out (0 float if never
/// opened).
pub fn expected(tx: &impl ReadTx, branch: BranchId, day: Date) -> Result<i64, StoreError> {
    let float = get(tx, branch, day)?.map_or(Money::default(), |t| t.float);
    Ok(till::expected_cash(float, &ledger::day(tx, branch, day)?))
}

/// Closes the till with the cash counted; the expected cash and the difference are kept.
pub fn close(
    txn: &WriteTransaction,
    branch: BranchId,
    day: Date,
    counted: Money,
    at: Timestamp,
    by: Option<StaffId>,
) -> Result<Till, StoreError> {
    let mut t = get(txn, branch, day)?.ok_or(rule(CajaError::TillNotOpen))?;
    if t.closed.is_some() {
        return Err(rule(CajaError::TillClosed));
    }
    let expected = till::expected_cash(t.float, &ledger::day(txn, branch, day)?);
    t.closed = Some(TillClose {
        at,
        by,
        counted,
        expected,
        difference: counted.centavos() - expected,
    });
    put(txn, branch, day, &t)?;
    Ok(t)
}
