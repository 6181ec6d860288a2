//! La caja diaria: open a branch's till with a float, take cash out (retiro, gasto, a
//! barber's advance) with a reason, close it with the cash counted. The front desk does
//! these; a closed day takes no new cash entry (it goes to the next day's till).

use jiff::civil::Date;
use serde_json::json;

use super::checkout::{require_front_desk, staff_id, till_day};
use super::{Actor, App, AppError};
use crate::domain::caja::{Advance, CashKind, CashMove, Entry, EntryKind, Till, till};
use crate::domain::{BarberId, BranchId, DomainError, Money, Text};
use crate::store::ledger::{self, Stamp};
use crate::store::{StoreError, audit, catalog};

/// A till day as the Caja page shows it.
#[derive(Debug, Clone)]
pub struct TillDay {
    pub branch: BranchId,
    pub day: Date,
    /// The day new entries go to now (this one, or the next after a close).
    pub current: Date,
    pub till: Option<Till>,
    pub entries: Vec<Entry>,
    pub cash_in: i64,
    pub cash_out: i64,
    pub expected: i64,
}

/// A branch's till of `day` (its current till day when `None`), with its entries.
pub async fn day(
    app: &App,
    actor: &Actor,
    branch: BranchId,
    day: Option<Date>,
) -> Result<TillDay, AppError> {
    require_front_desk(actor)?;
    let now = app.clock.now();
    Ok(app
        .store
        .read(move |tx| {
            let (_, current) = till_day(tx, branch, now)?;
            let day = day.unwrap_or(current);
            let t = crate::store::till::get(tx, branch, day)?;
            let entries = ledger::day(tx, branch, day)?;
            let (cash_in, cash_out) = till::cash_flows(&entries);
            let float = t.as_ref().map_or(0, |t| t.float.centavos());
            Ok(TillDay {
                branch,
                day,
                current,
                till: t,
                entries,
                cash_in,
                cash_out,
                expected: float + cash_in - cash_out,
            })
        })
        .await?)
}

/// Opens `day`'s till with `float`; audited `till.open`.
pub async fn open(
    app: &App,
    actor: &Actor,
    branch: BranchId,
    day: Date,
    float: Money,
) -> Result<Till, AppError> {
    require_front_desk(actor)?;
    let now = app.clock.now();
    let by = staff_id(actor);
    let a = actor.change("till.open", "till", Some(branch.0));
    Ok(app
        .store
        .write(move |txn| {
            known_branch(txn, branch)?;
            let t = crate::store::till::open(txn, branch, day, float, now, by)?;
            let a = audit::Change {
                after: audit::json(json!({"day": day.to_string(), "float": float.centavos()})),
                ..a
            };
            audit::record(txn, a, now)?;
            Ok(t)
        })
        .await?)
}

/// Closes `day`'s till with the cash counted; the expected cash and the difference are kept
/// with it; audited `till.close`.
pub async fn close(
    app: &App,
    actor: &Actor,
    branch: BranchId,
    day: Date,
    counted: Money,
) -> Result<Till, AppError> {
    require_front_desk(actor)?;
    let now = app.clock.now();
    let by = staff_id(actor);
    let a = actor.change("till.close", "till", Some(branch.0));
    Ok(app
        .store
        .write(move |txn| {
            known_branch(txn, branch)?;
            let t = crate::store::till::close(txn, branch, day, counted, now, by)?;
            let c = t.closed.as_ref();
            let a = audit::Change {
                after: audit::json(json!({
                    "day": day.to_string(),
                    "counted": counted.centavos(),
                    "expected": c.map(|c| c.expected),
                    "difference": c.map(|c| c.difference),
                })),
                ..a
            };
            audit::record(txn, a, now)?;
            Ok(t)
        })
        .await?)
}

/// Cash out of the till (retiro or gasto) with its reason, on the current till day;
/// audited `till.cash`.
pub async fn cash_out(
    app: &App,
    actor: &Actor,
    branch: BranchId,
    kind: CashKind,
    amount: Money,
    reason: &str,
) -> Result<Entry, AppError> {
    let reason = Text::line("motivo", reason, 200)?;
    if amount.centavos() == 0 {
        return Err(DomainError::InvalidAmount.into());
    }
    write_entry(
        app,
        actor,
        branch,
        "till.cash",
        EntryKind::Cash(CashMove {
            kind,
            amount,
            reason,
        }),
    )
    .await
}

/// An advance (adelanto) to a barber, paid from the till and subtracted from their period;
/// audited `commission.advance`.
pub async fn advance(
    app: &App,
    actor: &Actor,
    branch: BranchId,
    barber: BarberId,
    amount: Money,
    reason: &str,
) -> Result<Entry, AppError> {
    let reason = Text::line("motivo", reason, 200)?;
    if amount.centavos() == 0 {
        return Err(DomainError::InvalidAmount.into());
    }
    write_entry(
        app,
        actor,
        branch,
        "commission.advance",
        EntryKind::Advance(Advance {
            barber,
            amount,
            reason,
        }),
    )
    .await
}

async fn write_entry(
    app: &App,
    actor: &Actor,
    branch: BranchId,
    action: &'static str,
    kind: EntryKind,
) -> Result<Entry, AppError> {
    require_front_desk(actor)?;
    let now = app.clock.now();
    let by = staff_id(actor);
    let base = actor.change(action, "ledger", None);
    Ok(app
        .store
        .write(move |txn| {
            known_branch(txn, branch)?;
            if let EntryKind::Advance(a) = &kind
                && catalog::load(txn)?.barber(a.barber).is_none()
            {
                return Err(StoreError::Rule(DomainError::UnknownBarber(a.barber.0)));
            }
            let (_, day) = till_day(txn, branch, now)?;
            let e = ledger::append(
                txn,
                Stamp {
                    branch,
                    day,
                    at: now,
                    by,
                },
                kind,
            )?;
            let a = audit::Change {
                entity_id: Some(e.id.0),
                after: audit::json(json!({"day": day.to_string(), "cash": e.cash_effect()})),
                ..base
            };
            audit::record(txn, a, now)?;
            Ok(e)
        })
        .await?)
}

fn known_branch(
    txn: &crate::store::engine::WriteTransaction,
    branch: BranchId,
) -> Result<(), StoreError> {
    catalog::load(txn)?
        .branch(branch)
        .map(|_| ())
        .ok_or(StoreError::Rule(DomainError::UnknownBranch))
}
