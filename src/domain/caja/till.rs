//! La caja diaria of one branch: opened with a float, closed with the cash counted. What the
//! till should hold is the float plus the cash the day's entries brought in minus what they
//! took out ([`Entry::cash_effect`]); the difference is counted − expected.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Entry;
use crate::domain::Money;
use crate::domain::staff::StaffId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Till {
    pub float: Money,
    pub opened_at: Timestamp,
    pub opened_by: Option<StaffId>,
    pub closed: Option<TillClose>,
}

/// A till's close: what was counted and what the ledger expected then, kept as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillClose {
    pub at: Timestamp,
    pub by: Option<StaffId>,
    pub counted: Money,
    pub expected: i64,
    /// counted − expected: positive is a surplus, negative a shortfall.
    pub difference: i64,
}

/// Cash in and cash out of a day's entries.
pub fn cash_flows<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> (i64, i64) {
    entries.into_iter().fold((0, 0), |(cash_in, cash_out), e| {
        let c = e.cash_effect();
        if c >= 0 {
            (cash_in + c, cash_out)
        } else {
            (cash_in, cash_out - c)
        }
    })
}

/// float + cash in − cash out.
pub fn expected_cash<'a>(float: Money, entries: impl IntoIterator<Item = &'a Entry>) -> i64 {
    let (cash_in, cash_out) = cash_flows(entries);
    float.centavos() + cash_in - cash_out
}
