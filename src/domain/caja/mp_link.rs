//! A MercadoPago payment link for a sale's MercadoPago line: the desk shows it as a link and
//! a QR, the client pays from their phone, and MercadoPago's notification marks it paid.
//!
//! The link lives beside the ledger, not in it: the sale stays as it was confirmed, and the
//! link only says whether the MercadoPago part of it has been paid. It counts as paid only
//! once an approved payment for exactly its amount, in pesos, names it; after that nothing
//! MercadoPago says (a replay, an older status) changes it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::EntryId;
use crate::domain::{BranchId, Money};

/// What MercadoPago's `external_reference` says for a sale's link: `caja-<entry id>`.
/// A deposit's reference is the bare booking number, so the two never collide.
pub fn reference(sale: EntryId) -> String {
    format!("caja-{}", sale.0)
}

/// The sale a reference names, when it is a link's reference.
pub fn parse_reference(raw: &str) -> Option<EntryId> {
    let n = raw.strip_prefix("caja-")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().map(EntryId)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpLink {
    pub sale: EntryId,
    pub branch: BranchId,
    /// The sale's MercadoPago line: what the client pays through the link.
    pub amount: Money,
    pub preference_id: String,
    /// Checkout Pro's `init_point`: the page the client pays on.
    pub url: String,
    pub created_at: Timestamp,
    /// After this MercadoPago refuses to pay the preference; the desk may make a new one.
    pub expires_at: Timestamp,
    /// Set by the first approved payment that matches; never cleared.
    pub paid: Option<MpPaid>,
    /// The last status of a payment that did not pay it (rejected, in process…).
    pub last_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpPaid {
    pub mp_payment_id: u64,
    pub at: Timestamp,
}

/// What MercadoPago said about one payment of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported<'a> {
    pub mp_payment_id: u64,
    pub status: &'a str,
    pub centavos: i64,
    pub currency: &'a str,
}

/// What a report did to a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChange {
    /// Approved, for its amount in pesos: the link is paid now.
    Paid,
    /// Already paid, or the same status again: nothing changed.
    Unchanged,
    /// Not (yet) a payment: its status is noted.
    Noted,
    /// Approved, but not for the link's amount or not in pesos: nothing is marked paid.
    Mismatch,
}

impl MpLink {
    pub fn is_paid(&self) -> bool {
        self.paid.is_some()
    }

    /// Unpaid and past its expiry: a new link may replace it.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.paid.is_none() && self.expires_at <= now
    }

    /// Applies a payment's report (idempotent: once paid, nothing changes it).
    pub fn apply(&mut self, r: &Reported<'_>, now: Timestamp) -> LinkChange {
        if self.paid.is_some() {
            return LinkChange::Unchanged;
        }
        if r.status == "approved" {
            if r.centavos != self.amount.centavos() || r.currency != "ARS" {
                return LinkChange::Mismatch;
            }
            self.paid = Some(MpPaid {
                mp_payment_id: r.mp_payment_id,
                at: now,
            });
            return LinkChange::Paid;
        }
        if self.last_status.as_deref() == Some(r.status) {
            return LinkChange::Unchanged;
        }
        self.last_status = Some(r.status.to_owned());
        LinkChange::Noted
    }
}

/// When a sale's MercadoPago line counts as money received (`None`: pending). With links
/// (`links_on`, MercadoPago configured) it is when its link was paid; without a link and
/// without MercadoPago the desk only records a payment taken by other means, received at the
/// sale (`sold_at`). Revenue counters, reports and receipts all follow this one rule.
pub fn line_paid_at(
    link: Option<&MpLink>,
    links_on: bool,
    sold_at: Timestamp,
) -> Option<Timestamp> {
    match link {
        Some(l) => l.paid.as_ref().map(|p| p.at),
        None if links_on => None,
        None => Some(sold_at),
    }
}

/// A receipt's word for its MercadoPago line: «pagado el 01/03/2027 10:32» (in the branch's
/// zone) or «pendiente de pago»; `paid_at` from [`line_paid_at`].
pub fn line_state_es(paid_at: Option<Timestamp>, tz: &jiff::tz::TimeZone) -> String {
    match paid_at {
        Some(at) => format!(
            "pagado el {}",
            at.to_zoned(tz.clone()).strftime("%d/%m/%Y %H:%M")
        ),
        None => "pendiente de pago".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> MpLink {
        MpLink {
            sale: EntryId(7),
            branch: BranchId(1),
            amount: Money::from_centavos(500_000).unwrap(),
            preference_id: "p".into(),
            url: "https://mp/p".into(),
            created_at: Timestamp::UNIX_EPOCH,
            expires_at: Timestamp::UNIX_EPOCH,
            paid: None,
            last_status: None,
        }
    }

    fn report(status: &'static str, centavos: i64, currency: &'static str) -> Reported<'static> {
        Reported {
            mp_payment_id: 9,
            status,
            centavos,
            currency,
        }
    }

    #[test]
    fn references_name_sales_and_never_a_deposits_booking_number() {
        assert_eq!(reference(EntryId(42)), "caja-42");
        assert_eq!(parse_reference("caja-42"), Some(EntryId(42)));
        for other in ["42", "caja-", "caja-+4", "caja-4x", "caja--1", "CAJA-4"] {
            assert_eq!(parse_reference(other), None, "{other}");
        }
    }

    #[test]
    fn only_an_approved_payment_of_the_amount_in_pesos_pays_and_then_nothing_moves_it() {
        let now = Timestamp::UNIX_EPOCH;
        let mut l = link();
        assert_eq!(
            l.apply(&report("approved", 499_999, "ARS"), now),
            LinkChange::Mismatch
        );
        assert_eq!(
            l.apply(&report("approved", 500_000, "USD"), now),
            LinkChange::Mismatch
        );
        assert_eq!(
            l.apply(&report("rejected", 500_000, "ARS"), now),
            LinkChange::Noted
        );
        assert_eq!(
            l.apply(&report("rejected", 500_000, "ARS"), now),
            LinkChange::Unchanged
        );
        assert!(!l.is_paid());
        assert_eq!(
            l.apply(&report("approved", 500_000, "ARS"), now),
            LinkChange::Paid
        );
        let paid = l.clone();
        for status in ["approved", "refunded", "pending", "rejected"] {
            assert_eq!(
                l.apply(&report(status, 500_000, "ARS"), now),
                LinkChange::Unchanged
            );
        }
        assert_eq!(l, paid, "a paid link never changes");
        assert!(!l.is_expired(now + jiff::SignedDuration::from_hours(99)));
    }

    #[test]
    fn a_line_is_received_when_its_link_is_paid_or_at_the_sale_without_mercadopago() {
        let sold = Timestamp::from_second(100).unwrap();
        let at = Timestamp::from_second(200).unwrap();
        let mut l = link();
        assert_eq!(line_paid_at(None, false, sold), Some(sold));
        assert_eq!(line_paid_at(None, true, sold), None, "no link yet");
        assert_eq!(line_paid_at(Some(&l), true, sold), None, "waiting");
        assert_eq!(line_paid_at(Some(&l), false, sold), None, "a link waits");
        assert_eq!(
            l.apply(&report("approved", 500_000, "ARS"), at),
            LinkChange::Paid
        );
        assert_eq!(line_paid_at(Some(&l), true, sold), Some(at));
    }
}
