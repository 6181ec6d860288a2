//! The ledger's entries. Append-only: an entry, once written, is never changed; a mistaken
//! sale is undone by a [`Void`] entry that carries a copy of what it undoes, so every report
//! (the till, commissions, revenue) reads each day's entries alone.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{Checkout, CommissionLine, EntryId};
use crate::domain::staff::StaffId;
use crate::domain::{BarberId, BookingId, BranchId, ClientId, Money, Text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: EntryId,
    pub at: Timestamp,
    pub branch: BranchId,
    /// The till day it counts to: the local day it happened, or the next one when that
    /// day's till was already closed.
    pub day: Date,
    /// Who recorded it (none for the system).
    pub by: Option<StaffId>,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Sale(Sale),
    Void(Void),
    Cash(CashMove),
    Advance(Advance),
}

/// A confirmed checkout, with the commission lines it earned its barber then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    /// The booking charged (none for a walk-in without one).
    pub booking: Option<BookingId>,
    pub client: Option<ClientId>,
    pub barber: BarberId,
    pub checkout: Checkout,
    pub commissions: Vec<CommissionLine>,
}

/// A sale undone: the sale's copy, counted with the opposite sign on the void's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Void {
    pub of: EntryId,
    pub reason: Text,
    pub sale: Sale,
}

/// Cash taken out of the till.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashKind {
    /// Cash taken to the bank or the safe.
    Retiro,
    /// An expense paid from the till.
    Gasto,
}

impl CashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retiro => "retiro",
            Self::Gasto => "gasto",
        }
    }

    pub fn label_es(self) -> &'static str {
        match self {
            Self::Retiro => "Retiro",
            Self::Gasto => "Gasto",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "retiro" => Some(Self::Retiro),
            "gasto" => Some(Self::Gasto),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMove {
    pub kind: CashKind,
    pub amount: Money,
    pub reason: Text,
}

/// Cash advanced to a barber from the till, discounted from their period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    pub barber: BarberId,
    pub amount: Money,
    pub reason: Text,
}

impl Entry {
    /// How this entry moves the till's cash, in signed centavos.
    pub fn cash_effect(&self) -> i64 {
        match &self.kind {
            EntryKind::Sale(s) => s.checkout.cash(),
            EntryKind::Void(v) => -v.sale.checkout.cash(),
            EntryKind::Cash(m) => -m.amount.centavos(),
            EntryKind::Advance(a) => -a.amount.centavos(),
        }
    }

    /// The barber whose earnings it touches, if any.
    pub fn barber(&self) -> Option<BarberId> {
        match &self.kind {
            EntryKind::Sale(s) => Some(s.barber),
            EntryKind::Void(v) => Some(v.sale.barber),
            EntryKind::Advance(a) => Some(a.barber),
            EntryKind::Cash(_) => None,
        }
    }

    /// The sale and its sign (+1 a sale, −1 a void), for what sums over sales.
    pub fn signed_sale(&self) -> Option<(&Sale, i64)> {
        match &self.kind {
            EntryKind::Sale(s) => Some((s, 1)),
            EntryKind::Void(v) => Some((&v.sale, -1)),
            _ => None,
        }
    }

    /// What it adds to (or takes from) its barber's earnings, line by line: commissions and
    /// tips of a sale, the same negated for a void, an advance as a negative line.
    pub fn earnings(&self) -> Vec<CommissionLine> {
        match &self.kind {
            EntryKind::Sale(s) => s.commissions.clone(),
            EntryKind::Void(v) => v
                .sale
                .commissions
                .iter()
                .map(|l| CommissionLine {
                    kind: format!("anulación {}", l.kind),
                    what: l.what.clone(),
                    base: -l.base,
                    rule: l.rule.clone(),
                    amount: -l.amount,
                })
                .collect(),
            EntryKind::Advance(a) => vec![CommissionLine {
                kind: "adelanto".into(),
                what: a.reason.as_str().to_owned(),
                base: a.amount.centavos(),
                rule: "se descuenta".into(),
                amount: -a.amount.centavos(),
            }],
            EntryKind::Cash(_) => Vec::new(),
        }
    }
}
