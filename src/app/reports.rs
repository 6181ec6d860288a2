//! The owner's reports: money from the ledger's daily totals (revenue by day, branch,
//! barber, service and payment method; average ticket; top services and products), and
//! the bookings' outcomes (no-show and cancellation rates, new and returning clients,
//! occupancy). Owner only.

pub mod bookings;

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;

use super::checkout::require_owner;
use super::{Actor, App, AppError};
use crate::domain::caja::{CajaError, DayTotals};
use crate::domain::{BarberId, BranchId, DomainError};
use crate::store::ledger;

/// What a report covers: days (both included), optionally one branch and one barber.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub from: Date,
    pub to: Date,
    pub branch: Option<BranchId>,
    pub barber: Option<BarberId>,
}

/// The money side of a report.
#[derive(Debug, Clone, Default)]
pub struct Revenue {
    pub total: DayTotals,
    pub by_day: BTreeMap<Date, DayTotals>,
    pub by_branch: BTreeMap<BranchId, DayTotals>,
    pub by_barber: BTreeMap<BarberId, DayTotals>,
}

impl Revenue {
    /// Sales per ticket, in centavos (0 without tickets), rounded half up.
    pub fn average_ticket(&self) -> i64 {
        if self.total.tickets <= 0 {
            0
        } else {
            (2 * self.total.sales + self.total.tickets) / (2 * self.total.tickets)
        }
    }
}

pub fn check(filter: &Filter) -> Result<(), AppError> {
    if filter.from > filter.to || filter.from.saturating_add(400.days()) < filter.to {
        return Err(DomainError::Caja(CajaError::InvalidPeriod).into());
    }
    Ok(())
}

/// Revenue over the filter's days (owner only).
pub async fn revenue(app: &App, actor: &Actor, filter: Filter) -> Result<Revenue, AppError> {
    require_owner(actor)?;
    check(&filter)?;
    Ok(app
        .store
        .read(move |tx| {
            let mut r = Revenue::default();
            for (day, branch, barber, t) in ledger::daily(tx, filter.from, filter.to)? {
                if filter.branch.is_some_and(|b| b != branch)
                    || filter.barber.is_some_and(|b| b != barber)
                {
                    continue;
                }
                r.total.merge(&t);
                r.by_day.entry(day).or_default().merge(&t);
                r.by_branch.entry(branch).or_default().merge(&t);
                r.by_barber.entry(barber).or_default().merge(&t);
            }
            Ok(r)
        })
        .await?)
}
