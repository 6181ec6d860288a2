//! Commissions: the owner sets each barber's rules and closes pay periods; a barber sees
//! their own statement (what every peso of theirs came from), nobody else's; recepción sees
//! none. A statement is read from the ledger, whose sales carry the commission lines computed
//! when they were charged (see `domain::caja::commission` for the rounding).

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::json;

use super::checkout::{require_owner, staff_id};
use super::{Actor, App, AppError};
use crate::domain::caja::{CajaError, CommissionLine, CommissionRules, EntryId};
use crate::domain::staff::Role;
use crate::domain::{BarberId, DomainError};
use crate::store::commissions::{self, ClosedPeriod};
use crate::store::{StoreError, audit, catalog, ledger};

/// A pay period's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    Week,
    Fortnight,
    Month,
}

impl PeriodKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "semana" => Some(Self::Week),
            "quincena" => Some(Self::Fortnight),
            "mes" => Some(Self::Month),
            _ => None,
        }
    }

    /// The period of this kind that holds `day`: Monday to Sunday, the 1st to the 15th or the
    /// 16th to the month's end, or the calendar month.
    pub fn around(self, day: Date) -> (Date, Date) {
        match self {
            Self::Week => {
                let from = day
                    .checked_sub((day.weekday().to_monday_zero_offset() as i64).days())
                    .unwrap_or(day);
                (from, from.checked_add(6.days()).unwrap_or(from))
            }
            Self::Fortnight if day.day() <= 15 => (
                day.first_of_month(),
                day.first_of_month().saturating_add(14.days()),
            ),
            Self::Fortnight => (
                day.first_of_month().saturating_add(15.days()),
                day.last_of_month(),
            ),
            Self::Month => (day.first_of_month(), day.last_of_month()),
        }
    }
}

/// One line of a statement, with the entry it came from.
#[derive(Debug, Clone)]
pub struct StatementLine {
    pub entry: EntryId,
    pub day: Date,
    pub at: jiff::Timestamp,
    pub line: CommissionLine,
}

/// What a barber earned from `from` to `to`, line by line.
#[derive(Debug, Clone)]
pub struct Statement {
    pub barber: BarberId,
    pub from: Date,
    pub to: Date,
    pub lines: Vec<StatementLine>,
    pub commissions: i64,
    pub tips: i64,
    pub advances: i64,
    /// The sum of the lines: commissions + tips − advances (voids included, negative).
    pub total: i64,
    /// The closed period that covers it exactly, if the owner closed it.
    pub closed: Option<ClosedPeriod>,
}

fn check_period(from: Date, to: Date) -> Result<(), AppError> {
    if from > to || from.saturating_add(366.days()) < to {
        return Err(DomainError::Caja(CajaError::InvalidPeriod).into());
    }
    Ok(())
}

/// May `actor` see `barber`'s earnings? The owner, and the barber themself.
fn may_see(actor: &Actor, barber: BarberId) -> Result<(), AppError> {
    match actor {
        Actor::Staff(s) if s.role == Role::Owner => Ok(()),
        Actor::Staff(s) if s.role == Role::Barbero && s.barber == Some(barber) => Ok(()),
        Actor::Cli => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

fn statement_in(
    tx: &impl crate::store::ReadTx,
    barber: BarberId,
    from: Date,
    to: Date,
) -> Result<Statement, StoreError> {
    let mut s = Statement {
        barber,
        from,
        to,
        lines: Vec::new(),
        commissions: 0,
        tips: 0,
        advances: 0,
        total: 0,
        closed: commissions::periods(tx, barber)?
            .into_iter()
            .find(|p| p.from == from && p.to == to),
    };
    for e in ledger::barber_entries(tx, barber, from, to)? {
        for line in e.earnings() {
            match line.kind.as_str() {
                "adelanto" => s.advances -= line.amount,
                k if k.ends_with("propina") => s.tips += line.amount,
                _ => s.commissions += line.amount,
            }
            s.total += line.amount;
            s.lines.push(StatementLine {
                entry: e.id,
                day: e.day,
                at: e.at,
                line,
            });
        }
    }
    Ok(s)
}

/// A barber's statement for a period (the owner, or the barber themself).
pub async fn statement(
    app: &App,
    actor: &Actor,
    barber: BarberId,
    from: Date,
    to: Date,
) -> Result<Statement, AppError> {
    may_see(actor, barber)?;
    check_period(from, to)?;
    Ok(app
        .store
        .read(move |tx| {
            if catalog::load(tx)?.barber(barber).is_none() {
                return Err(StoreError::Rule(DomainError::UnknownBarber(barber.0)));
            }
            statement_in(tx, barber, from, to)
        })
        .await?)
}

/// A barber's rules (owner only).
pub async fn rules(
    app: &App,
    actor: &Actor,
    barber: BarberId,
) -> Result<CommissionRules, AppError> {
    require_owner(actor)?;
    Ok(app
        .store
        .read(move |tx| commissions::rules(tx, barber))
        .await?)
}

/// Sets a barber's rules (owner only); sales already charged keep the lines they earned;
/// audited `commission.rules`.
pub async fn set_rules(
    app: &App,
    actor: &Actor,
    barber: BarberId,
    rules: CommissionRules,
) -> Result<(), AppError> {
    require_owner(actor)?;
    let now = app.clock.now();
    let a = actor.change("commission.rules", "barber", Some(barber.0));
    Ok(app
        .store
        .write(move |txn| {
            if catalog::load(txn)?.barber(barber).is_none() {
                return Err(StoreError::Rule(DomainError::UnknownBarber(barber.0)));
            }
            let before = commissions::set_rules(txn, barber, &rules)?;
            audit::record(txn, a.between(&before, &rules), now)
        })
        .await?)
}

/// Closes a barber's pay period with the total it has now (owner only); refused if it
/// overlaps a closed one; audited `commission.close`.
pub async fn close_period(
    app: &App,
    actor: &Actor,
    barber: BarberId,
    from: Date,
    to: Date,
) -> Result<ClosedPeriod, AppError> {
    require_owner(actor)?;
    check_period(from, to)?;
    let now = app.clock.now();
    let by = staff_id(actor);
    let a = actor.change("commission.close", "barber", Some(barber.0));
    Ok(app
        .store
        .write(move |txn| {
            if catalog::load(txn)?.barber(barber).is_none() {
                return Err(StoreError::Rule(DomainError::UnknownBarber(barber.0)));
            }
            let s = statement_in(txn, barber, from, to)?;
            let p = commissions::close(
                txn,
                ClosedPeriod {
                    barber,
                    from,
                    to,
                    total: s.total,
                    lines: s.lines.len(),
                    closed_at: now,
                    closed_by: by,
                },
            )?;
            let a = audit::Change {
                after: audit::json(json!({
                    "from": from.to_string(), "to": to.to_string(), "total": p.total,
                })),
                ..a
            };
            audit::record(txn, a, now)?;
            Ok(p)
        })
        .await?)
}
