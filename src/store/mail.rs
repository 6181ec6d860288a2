//! Confirmation e-mails, an outbox like WhatsApp's (`store::outbox`): a booking made with an
//! e-mail address queues its e-mail **in the booking's own write transaction** while `[mail]`
//! is on (the policy written at start-up, [`configure`]), so a crash never loses one and a
//! booking that did not commit queues none. `jobs::mail` claims due rows, sends them over
//! SMTP and records the outcome.
//!
//! Claiming leases a row: its next attempt moves `lease` ahead in the same transaction. A
//! crash between sending and recording leaves it due again after the lease, so delivery is
//! at-least-once, as for WhatsApp. Rows hold ids only; the address and the text are read when
//! sending, so an erased client's e-mail is skipped.

use crate::store::engine::WriteTransaction;
use jiff::{SignedDuration, Timestamp};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{ReadTx, StoreError, Tx, clients, codec, next_id, tables};
use crate::domain::{Booking, BookingId, Email};

const POLICY_KEY: &str = "mail_policy";

/// What booking writes follow (from `[mail]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Off: nothing is queued.
    pub enabled: bool,
}

/// Where an e-mail is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    /// The SMTP server accepted it.
    Sent,
    /// Not sent: the client's address is gone (erased) or the booking is no longer active.
    Skipped,
    /// Refused for good, or too many attempts.
    Dead,
}

/// One queued e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub id: u64,
    pub booking: BookingId,
    pub state: State,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A claimed e-mail: where it goes and the booking it confirms.
#[derive(Debug, Clone)]
pub struct Letter {
    pub id: u64,
    pub to: Email,
    pub client_name: String,
    pub booking: Booking,
    /// Attempts including this one.
    pub attempt: u32,
}

/// Records the policy booking writes follow from now on (at start-up).
pub fn configure(txn: &Tx, policy: &Policy) -> Result<(), StoreError> {
    codec::put_setting(txn, POLICY_KEY, policy)
}

/// Whether bookings queue confirmation e-mails now (`[mail]` on).
pub fn enabled(tx: &impl ReadTx) -> Result<bool, StoreError> {
    Ok(policy(tx)?.enabled)
}

fn policy(tx: &impl ReadTx) -> Result<Policy, StoreError> {
    codec::setting(tx, POLICY_KEY)
}

pub fn get(tx: &impl ReadTx, id: u64) -> Result<Option<Mail>, StoreError> {
    codec::get(&tx.table(tables::MAIL)?, tables::MAIL, id)
}

fn put(txn: &WriteTransaction, m: &Mail) -> Result<(), StoreError> {
    codec::put(&mut txn.open_table(tables::MAIL)?, m.id, m)
}

fn due_key(at: Timestamp, id: u64) -> (i64, u64) {
    (at.as_millisecond(), id)
}

/// Whether a confirmation e-mail was queued for `booking`.
pub fn queued_for(tx: &impl ReadTx, booking: BookingId) -> Result<bool, StoreError> {
    Ok(tx.table(tables::MAIL_BY_BOOKING)?.get(booking.0)?.is_some())
}

/// The e-mail queued for `booking`, if any.
pub fn for_booking(tx: &impl ReadTx, booking: BookingId) -> Result<Option<Mail>, StoreError> {
    let id = tx
        .table(tables::MAIL_BY_BOOKING)?
        .get(booking.0)?
        .map(|v| v.value());
    match id {
        Some(id) => get(tx, id),
        None => Ok(None),
    }
}

/// Queues the confirmation of a booking just made, when the policy is on and the client gave
/// an e-mail address. Called in the booking's own write transaction.
pub(crate) fn booking_created(
    txn: &Tx,
    booking: &Booking,
    now: Timestamp,
) -> Result<Option<u64>, StoreError> {
    if !codec::memo_setting::<Policy>(txn, POLICY_KEY)?.enabled {
        return Ok(None);
    }
    let has_email = clients::get(txn, booking.client)?.is_some_and(|c| c.email.is_some());
    if !has_email || queued_for(txn, booking.id)? {
        return Ok(None);
    }
    let id = next_id(txn, "mail")?;
    put(
        txn,
        &Mail {
            id,
            booking: booking.id,
            state: State::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            updated_at: now,
        },
    )?;
    txn.open_table(tables::MAIL_DUE)?
        .insert(due_key(now, id), ())?;
    txn.open_table(tables::MAIL_BY_BOOKING)?
        .insert(booking.id.0, id)?;
    Ok(Some(id))
}

/// Moves `m` to `state` (leaving the queue) or to a next attempt at `next` (staying in it).
fn reschedule(
    txn: &WriteTransaction,
    m: &mut Mail,
    next: Option<Timestamp>,
    state: State,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut due = txn.open_table(tables::MAIL_DUE)?;
    due.remove(due_key(m.next_attempt_at, m.id))?;
    if let Some(at) = next {
        m.next_attempt_at = at;
        due.insert(due_key(at, m.id), ())?;
    }
    m.state = state;
    m.updated_at = now;
    drop(due);
    put(txn, m)
}

/// Claims up to `limit` e-mails due at `now`, each leased for `lease`; those no longer worth
/// sending (no address, booking no longer active) are skipped for good.
pub fn claim_due(
    txn: &WriteTransaction,
    now: Timestamp,
    limit: usize,
    lease: SignedDuration,
) -> Result<Vec<Letter>, StoreError> {
    let keys: Vec<(i64, u64)> = {
        let due = txn.open_table(tables::MAIL_DUE)?;
        let mut keys = Vec::new();
        for row in due.range(..=(now.as_millisecond(), u64::MAX))? {
            keys.push(row?.0.value());
            if keys.len() >= limit {
                break;
            }
        }
        keys
    };
    let mut out = Vec::new();
    for (_, id) in keys {
        let Some(mut m) = get(txn, id)? else {
            txn.open_table(tables::MAIL_DUE)?.remove(due_key(now, id))?;
            continue;
        };
        // The row itself, not `store::bookings` (which calls this module: no cycle).
        let booking: Option<Booking> =
            codec::get(&txn.table(tables::BOOKINGS)?, tables::BOOKINGS, m.booking.0)?;
        let client = match &booking {
            Some(b) => clients::get(txn, b.client)?,
            None => None,
        };
        match (booking, client) {
            (Some(b), Some(c)) if b.status.is_active() && c.email.is_some() => {
                m.attempts += 1;
                let attempt = m.attempts;
                reschedule(txn, &mut m, Some(now + lease), State::Pending, now)?;
                out.push(Letter {
                    id,
                    to: c
                        .email
                        .clone()
                        .ok_or(crate::domain::DomainError::InvalidEmail)?,
                    client_name: c.name.as_str().to_owned(),
                    booking: b,
                    attempt,
                });
            }
            _ => reschedule(txn, &mut m, None, State::Skipped, now)?,
        }
    }
    Ok(out)
}

/// What sending an e-mail came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent,
    /// Try again at the given time.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Give up.
    Dead {
        error: String,
    },
}

/// Records the outcome of sending e-mail `id`.
pub fn record(
    txn: &WriteTransaction,
    id: u64,
    outcome: Outcome,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(mut m) = get(txn, id)? else {
        return Ok(());
    };
    match outcome {
        Outcome::Sent => reschedule(txn, &mut m, None, State::Sent, now),
        Outcome::Retry { error, at } => {
            m.last_error = Some(error);
            reschedule(txn, &mut m, Some(at), State::Pending, now)
        }
        Outcome::Dead { error } => {
            m.last_error = Some(error);
            reschedule(txn, &mut m, None, State::Dead, now)
        }
    }
}

/// When the next e-mail is due, if any is waiting.
pub fn next_due(tx: &impl ReadTx) -> Result<Option<Timestamp>, StoreError> {
    let due = tx.table(tables::MAIL_DUE)?;
    let first = due.first()?.map(|(k, _)| k.value().0);
    Ok(first.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
}
