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
use crate::domain::caja::{CajaError, DayTotals, PaymentMethod};
use crate::domain::{BarberId, BranchId, DomainError};
use crate::store::{ReadTx, StoreError, ledger, mp_links};

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
    /// Of `total.methods["mercadopago"]`, what MercadoPago has not paid yet (centavos; see
    /// `caja::mp_link::line_paid_at`): shown apart from what was received.
    pub mp_pending: i64,
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
    let links_on = app.payments.is_some();
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
            let mp = r.total.methods.get(PaymentMethod::MercadoPago.as_str());
            let mp = mp.copied().unwrap_or(0);
            r.mp_pending = mp_pending(tx, &filter, links_on, mp)?;
            Ok(r)
        })
        .await?)
}

/// The part of the period's MercadoPago lines (`mp`, net of voids) not paid yet. Lines with
/// a link are read from `caja_mp_links` (one row per link); as in the daily totals, a sale
/// counts on its day and its void takes it back on the void's day.
fn mp_pending(
    tx: &impl ReadTx,
    filter: &Filter,
    links_on: bool,
    mp: i64,
) -> Result<i64, StoreError> {
    let in_range = |day: Date| filter.from <= day && day <= filter.to;
    let (mut paid, mut unpaid) = (0, 0);
    for link in mp_links::all(tx)? {
        let Some(entry) = ledger::get(tx, link.sale)? else {
            continue;
        };
        let Some((sale, _)) = entry.signed_sale() else {
            continue;
        };
        if filter.branch.is_some_and(|b| b != entry.branch)
            || filter.barber.is_some_and(|b| b != sale.barber)
        {
            continue;
        }
        let mut net = 0;
        if in_range(entry.day) {
            net += link.amount.centavos();
        }
        if let Some(void) = ledger::voided_by(tx, link.sale)?
            && ledger::get(tx, void)?.is_some_and(|v| in_range(v.day))
        {
            net -= link.amount.centavos();
        }
        if link.is_paid() {
            paid += net;
        } else {
            unpaid += net;
        }
    }
    // With MercadoPago on, a line without a link waits too; without it, such a line was
    // received at the sale and only links still waiting are pending.
    let pending = if links_on { mp - paid } else { unpaid };
    Ok(pending.clamp(0, mp.max(0)))
}
