//! Bookings: availability, creation, reschedule, cancellation and status changes.
//!
//! **Invariant: no two active bookings of one barber overlap** (nor two of one client). Every
//! path that makes a booking active or moves it checks the agenda index and writes the row and
//! its indexes inside one write transaction (see [`super::engine`]), so concurrent requests
//! cannot both win. API and admin UI share these functions: one code path, not a copy.
//!
//! The rules are `domain`'s (a barber's day, who gets "any barber", a booking's first status);
//! this module loads the rows they need and writes what they decide:
//! * [`availability`](availability()): free slots, and where a booking goes (`place`);
//! * [`create`]: a new booking (and [`ClientBooking`], the journaled request that makes one);
//! * `change`: reschedule, cancel, status changes and their undo, notes;
//! * `index`: the two booking indexes and the Idempotency-Keys;
//! * [`period`]: a period's bookings, for the owner's reports.

mod availability;
mod calendar;
mod change;
mod create;
mod index;
pub mod period;

use std::sync::Arc;

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

pub use availability::{active_of_barber, availability, availability_excluding, barber_day};
pub use calendar::{CalendarDay, calendar};
pub use change::{cancel, desk_status, reschedule, set_notes, set_status, undo_status};
pub use create::create;
pub(crate) use index::{Reindex, index_idempotency_keys_by_time, index_insert, reindex};
pub use index::{expired_idempotency_keys, prune_idempotency_keys};

use super::catalog::{self, Catalog};
use super::clients::ClientDetails;
use super::engine::Journaled;
use super::{ReadTx, StoreError, Tx, audit, codec, tables};
use crate::domain::time::local_date;
use crate::domain::token::{self, TokenKey};
use crate::domain::{
    BarberId, Booking, BookingId, BookingRules, BookingSource, Branch, BranchId, Client,
    DomainError, Interval, LocalDay, ServiceId, Text,
};

/// A specific barber, or whoever is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BarberChoice {
    Any,
    Barber(BarberId),
}

/// A request for a new booking, already validated field by field.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub branch: BranchId,
    pub services: Vec<ServiceId>,
    pub barber: BarberChoice,
    pub start: Timestamp,
    pub client: ClientDetails,
    pub source: BookingSource,
    pub notes: Option<Text>,
    /// The branch's deposit rule when deposits are on (online bookings); `None`: no deposit.
    pub deposit: Option<DepositRequest>,
}

/// Asks for a deposit per `policy`; an unpaid booking holds its slot for `hold`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DepositRequest {
    pub policy: crate::domain::DepositPolicy,
    pub hold: jiff::SignedDuration,
}

/// An Idempotency-Key and the hash of the request body it came with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// A booking just made (or replayed for a repeated Idempotency-Key), with its manage token.
#[derive(Debug, Clone)]
pub struct Created {
    pub booking: Booking,
    pub token: String,
    pub replayed: bool,
    /// The booking's client as stored now, and whether this request created the record.
    pub client: Client,
    pub new_client: bool,
    /// The deposit, when the booking needs one (it is then `pending_payment`).
    pub payment: Option<crate::domain::Payment>,
    /// The catalogue the booking was made against (to show its branch and barber).
    pub catalog: Arc<Catalog>,
}

/// A client's booking request (API or booking pages): every input of [`create`] but the
/// token key, so that the writer can log it in the journal and a replay after a crash makes
/// the very same booking (same time, rules and sequence-drawn ids over the same state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientBooking {
    /// The branch's slug, resolved inside the transaction.
    pub branch: String,
    pub services: Vec<ServiceId>,
    pub barber: BarberChoice,
    pub start: Timestamp,
    pub client: ClientDetails,
    pub notes: Option<Text>,
    pub deposit: Option<DepositRequest>,
    pub idempotency: Option<Idempotency>,
    pub rules: BookingRules,
    pub now: Timestamp,
}

impl Journaled for ClientBooking {
    type Output = Created;
    type Context = TokenKey;

    /// Makes the booking (or finds the one its Idempotency-Key made) and audits a new one.
    fn apply(self, txn: &Tx, keys: &TokenKey) -> Result<Created, StoreError> {
        let catalog = catalog::load(txn)?;
        let branch = catalog.active_branch(&self.branch)?.id;
        let new = NewBooking {
            branch,
            services: self.services,
            barber: self.barber,
            start: self.start,
            client: self.client,
            source: BookingSource::Online,
            notes: self.notes,
            deposit: self.deposit,
        };
        let created = create::create_in(
            txn,
            catalog,
            new,
            self.now,
            &self.rules,
            keys,
            self.idempotency,
        )?;
        if !created.replayed {
            let change = audit::Change::client_booking("booking.create", None, &created.booking);
            audit::record(txn, change, self.now)?;
        }
        Ok(created)
    }
}

/// A free slot: when, and with whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
    pub barber: BarberId,
}

/// The booking `id`, if there is one.
pub fn get(tx: &impl ReadTx, id: BookingId) -> Result<Option<Booking>, StoreError> {
    codec::get(&tx.table(tables::BOOKINGS)?, tables::BOOKINGS, id.0)
}

/// The booking, if `token` is its manage token.
pub fn get_authorised(tx: &impl ReadTx, id: BookingId, token: &str) -> Result<Booking, StoreError> {
    match get(tx, id)? {
        Some(b) if token::verify(token, &b.manage_token_hash) => Ok(b),
        Some(_) => Err(DomainError::InvalidToken.into()),
        None => {
            // The token is checked all the same, so a missing booking costs what a wrong
            // token does.
            std::hint::black_box(token::verify(token, NO_SUCH_HASH));
            Err(DomainError::UnknownBooking.into())
        }
    }
}

/// What a missing booking's token is checked against: the hash of no token.
const NO_SUCH_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many bookings exist (any status).
pub fn count(tx: &impl ReadTx) -> Result<u64, StoreError> {
    Ok(tx.table(tables::BOOKINGS)?.len()?)
}

/// Every booking (of any status) of a branch starting on a local day, by start: each
/// barber's entries for the day whose branch (in the entry) is this one, then their rows.
/// Every barber is looked at, since one may work at several branches or have moved since.
pub fn for_branch_day(
    tx: &impl ReadTx,
    branch: &Branch,
    date: Date,
) -> Result<Vec<Booking>, StoreError> {
    let Interval {
        start: from,
        end: to,
    } = LocalDay::new(date, &branch.tz())?.whole;
    let catalog = catalog::load(tx)?;
    let index = tx.table(tables::BARBER_BOOKINGS)?;
    let mut out = Vec::new();
    for barber in &catalog.barbers {
        for row in index.range((barber.id.0, from, 0)..(barber.id.0, to, 0))? {
            let (k, v) = row?;
            // The entry names the branch: another branch's row is not fetched.
            if v.value().3 != branch.id.0 {
                continue;
            }
            if let Some(b) = get(tx, BookingId(k.value().2))? {
                out.push(b);
            }
        }
    }
    out.sort_by_key(|b| (b.start, b.id));
    Ok(out)
}

/// Who asks for a change: the client (bound by the cut-off) or the staff (not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Client,
    Staff,
}

/// A local date a number of days from today (used by the demo and tests).
pub fn date_in(now: Timestamp, tz: &TimeZone, days: i64) -> Date {
    local_date(now, tz)
        .checked_add(days.days())
        .unwrap_or(Date::MAX)
}

/// An instant from Unix seconds (a booking's end, from its start and length).
fn ts(seconds: i64) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_second(seconds).map_err(|_| DomainError::InvalidDate)?)
}
