//! The durable outbox: client messages queued **in the write transaction of the change that
//! causes them**, so a crash never loses one nor sends one for a change that did not commit.
//!
//! A message waits in `idx_outbox_due` under its next attempt time. The worker claims due
//! messages in a write transaction (re-checking there, against the current booking and
//! client, that each is still worth sending), sends them, and records each outcome in
//! another. Claimed messages sit in `idx_outbox_in_flight` until their outcome is recorded:
//! after a crash, [`recover_in_flight`] puts them back in the queue (at-least-once: a message
//! whose send succeeded just before the crash goes out twice; see ARCHITECTURE.md).
//!
//! Booking changes call [`booking_changed`] from `store::bookings`; the policy they follow
//! (on or off, reminder times) is written at start-up by [`configure`], so every code path
//! that changes a booking queues its messages without being handed the configuration.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::engine::WriteTransaction;
use jiff::{SignedDuration, Timestamp};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use super::{ReadTx, StoreError, Tx, catalog, clients, codec, next_id, tables};
use crate::domain::notice::{self, NoticeContext, Template};
use crate::domain::{Booking, BookingId, ClientId, DomainError, Phone};

const POLICY_KEY: &str = "outbox_policy";

/// What the store follows when bookings change (from `[whatsapp]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Off: nothing is queued.
    pub enabled: bool,
    /// Reminders, in minutes before the start (e.g. `[1440, 120]`).
    pub reminders_minutes_before: Vec<u32>,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its due time or its next attempt.
    Pending,
    /// Accepted by WhatsApp (it answered with a message id).
    Sent,
    /// Not sent: the booking changed or the client withdrew consent before it was due.
    Skipped,
    /// Failed for good (non-retryable error or too many attempts): the front desk's to look at.
    Dead,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }
}

/// What WhatsApp reported about a sent message; applied monotonically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl Delivery {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// Whether `next` may replace `self`: forward only; `read` and `failed` are final.
    pub fn may_become(self, next: Delivery) -> bool {
        !matches!(self, Self::Read | Self::Failed) && next > self
    }
}

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: u64,
    pub template: Template,
    pub booking: BookingId,
    pub client: ClientId,
    /// The booking's start when the message was queued: if it moved since, the message is
    /// stale (the move queued its own).
    pub for_start: Timestamp,
    /// Not sent before this (reminders); queue time for the others.
    pub due_at: Timestamp,
    /// The next attempt (the due index key).
    pub next_attempt_at: Timestamp,
    /// Wall-clock Unix milliseconds when queued, for the commit→send latency metric.
    pub queued_unix_ms: i64,
    pub state: State,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Why it was skipped, or why it died (bounded codes).
    pub reason: Option<String>,
    pub wamid: Option<String>,
    pub delivery: Option<Delivery>,
    /// Parameters fixed when queued, sent after the template's own (a deposit's amount).
    #[serde(default)]
    pub extra: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A claimed message, ready to send.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub id: u64,
    pub template: Template,
    pub to: Phone,
    pub params: Vec<String>,
    /// Attempts including this one.
    pub attempt: u32,
    pub queued_unix_ms: i64,
}

/// What [`claim_due`] found.
#[derive(Debug, Default)]
pub struct Claimed {
    pub dispatches: Vec<Dispatch>,
    /// Messages dropped because they were no longer relevant: (template, reason).
    pub skipped: Vec<(Template, &'static str)>,
}

/// The result of one send attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent { wamid: String },
    Retry { at: Timestamp, error: String },
    Dead { error: String },
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Records the policy booking changes follow from now on (at start-up).
pub fn configure(txn: &Tx, policy: &Policy) -> Result<(), StoreError> {
    codec::put_setting(txn, POLICY_KEY, policy)
}

/// The policy in force (off if never configured).
pub fn policy(tx: &impl ReadTx) -> Result<Policy, StoreError> {
    codec::setting(tx, POLICY_KEY)
}

pub fn get(tx: &impl ReadTx, id: u64) -> Result<Option<Message>, StoreError> {
    codec::get(&tx.table(tables::OUTBOX)?, tables::OUTBOX, id)
}

fn put(txn: &WriteTransaction, m: &Message) -> Result<(), StoreError> {
    codec::put(&mut txn.open_table(tables::OUTBOX)?, m.id, m)
}

fn due_key(at: Timestamp, id: u64) -> (i64, u64) {
    (at.as_millisecond(), id)
}

/// Queues what a booking change calls for (see [`notice::for_change`]) and its reminders,
/// if the policy is on and the client consented. Called by every booking write.
pub(crate) fn booking_changed(
    txn: &Tx,
    old: Option<&Booking>,
    new: &Booking,
    now: Timestamp,
) -> Result<(), StoreError> {
    let templates = notice::for_change(old, new);
    if templates.is_empty() {
        return Ok(());
    }
    let policy: Policy = codec::memo_setting(txn, POLICY_KEY)?;
    if !policy.enabled {
        return Ok(());
    }
    for template in templates {
        enqueue(txn, template, new, now, now)?;
    }
    if notice::schedules_reminders(old, new) {
        for minutes in &policy.reminders_minutes_before {
            let due = new.start - SignedDuration::from_mins(i64::from(*minutes));
            // A reminder already due when booked would only repeat the confirmation.
            if due > now {
                enqueue(txn, Template::Reminder, new, due, now)?;
            }
        }
    }
    Ok(())
}

/// Queues one message about `booking`, due at `due_at`, unless the policy is off or the client
/// has not consented (then `None`). For other modules' templates (e.g. a deposit received);
/// call it inside the transaction of the change that causes the message.
pub fn enqueue(
    txn: &Tx,
    template: Template,
    booking: &Booking,
    due_at: Timestamp,
    now: Timestamp,
) -> Result<Option<u64>, StoreError> {
    enqueue_with(txn, template, booking, due_at, now, Vec::new())
}

/// As [`enqueue`], with parameters fixed now and sent after the template's own five.
pub fn enqueue_with(
    txn: &Tx,
    template: Template,
    booking: &Booking,
    due_at: Timestamp,
    now: Timestamp,
    extra: Vec<String>,
) -> Result<Option<u64>, StoreError> {
    if !codec::memo_setting::<Policy>(txn, POLICY_KEY)?.enabled {
        return Ok(None);
    }
    let consented = clients::get(txn, booking.client)?.is_some_and(|c| c.whatsapp_consent);
    if !consented {
        return Ok(None);
    }
    let id = next_id(txn, "outbox")?;
    let message = Message {
        id,
        template,
        booking: booking.id,
        client: booking.client,
        for_start: booking.start,
        due_at,
        next_attempt_at: due_at,
        queued_unix_ms: wall_ms(),
        state: State::Pending,
        attempts: 0,
        last_error: None,
        reason: None,
        wamid: None,
        delivery: None,
        extra,
        created_at: now,
        updated_at: now,
    };
    put(txn, &message)?;
    txn.open_table(tables::OUTBOX_DUE)?
        .insert(due_key(due_at, id), ())?;
    txn.wake_after_commit();
    Ok(Some(id))
}

/// Claims up to `limit` messages due at `now`: each still relevant (booking state, consent)
/// is handed out and marked in flight; the others are skipped for good.
pub fn claim_due(
    txn: &WriteTransaction,
    now: Timestamp,
    limit: usize,
) -> Result<Claimed, StoreError> {
    let due: Vec<(i64, u64)> = {
        let index = txn.open_table(tables::OUTBOX_DUE)?;
        let mut keys = Vec::new();
        for row in index.range(..=(now.as_millisecond(), u64::MAX))? {
            keys.push(row?.0.value());
            if keys.len() >= limit {
                break;
            }
        }
        keys
    };
    let mut claimed = Claimed::default();
    for key in due {
        txn.open_table(tables::OUTBOX_DUE)?.remove(key)?;
        let Some(mut m) = get(txn, key.1)? else {
            continue;
        };
        match prepare(txn, &m, now)? {
            Ok((to, params)) => {
                m.attempts += 1;
                m.updated_at = now;
                put(txn, &m)?;
                txn.open_table(tables::OUTBOX_IN_FLIGHT)?.insert(m.id, ())?;
                claimed.dispatches.push(Dispatch {
                    id: m.id,
                    template: m.template,
                    to,
                    params,
                    attempt: m.attempts,
                    queued_unix_ms: m.queued_unix_ms,
                });
            }
            Err(reason) => {
                m.state = State::Skipped;
                m.reason = Some(reason.into());
                m.updated_at = now;
                put(txn, &m)?;
                claimed.skipped.push((m.template, reason));
            }
        }
    }
    Ok(claimed)
}

/// The recipient and parameters of a message, or why it should not go out any more.
#[allow(clippy::type_complexity)]
fn prepare(
    tx: &impl ReadTx,
    m: &Message,
    now: Timestamp,
) -> Result<Result<(Phone, Vec<String>), &'static str>, StoreError> {
    // The row itself, not `bookings::get`: the outbox sits below the bookings that call it.
    let booking: Option<Booking> =
        codec::get(&tx.table(tables::BOOKINGS)?, tables::BOOKINGS, m.booking.0)?;
    let Some(booking) = booking else {
        return Ok(Err("booking_gone"));
    };
    // The booking's client, not the one it had when the message was queued: a merge of two
    // records of one person moves bookings (`clients::merge`).
    let Some(client) = clients::get(tx, booking.client)? else {
        return Ok(Err("client_gone"));
    };
    if !client.whatsapp_consent {
        return Ok(Err("no_consent"));
    }
    if let Err(reason) = m.template.still_relevant(&booking, m.for_start, now) {
        return Ok(Err(reason));
    }
    // Claiming has already written: a missing branch must skip, not fail with a rule error.
    let Some(branch) = catalog::branch(tx, booking.branch)? else {
        return Ok(Err("branch_gone"));
    };
    let tz = branch.tz();
    let mut params = m.template.params(&NoticeContext {
        booking: &booking,
        client_name: client.name.as_str(),
        branch_name: branch.name.as_str(),
        tz: &tz,
    });
    params.extend(m.extra.iter().cloned());
    Ok(Ok((client.phone, params)))
}

/// Records the outcome of a claimed message's attempt.
pub fn record(
    txn: &WriteTransaction,
    id: u64,
    outcome: Outcome,
    now: Timestamp,
) -> Result<(), StoreError> {
    txn.open_table(tables::OUTBOX_IN_FLIGHT)?.remove(id)?;
    let Some(mut m) = get(txn, id)? else {
        return Ok(());
    };
    m.updated_at = now;
    match outcome {
        Outcome::Sent { wamid } => {
            m.state = State::Sent;
            m.last_error = None;
            txn.open_table(tables::OUTBOX_WAMID)?
                .insert(wamid.as_str(), id)?;
            m.wamid = Some(wamid);
        }
        Outcome::Retry { at, error } => {
            m.state = State::Pending;
            m.last_error = Some(error);
            m.next_attempt_at = at;
            txn.open_table(tables::OUTBOX_DUE)?
                .insert(due_key(at, id), ())?;
        }
        Outcome::Dead { error } => {
            m.state = State::Dead;
            m.last_error = Some(error);
            txn.open_table(tables::OUTBOX_DEAD)?.insert(id, ())?;
        }
    }
    put(txn, &m)
}

/// Puts messages left in flight by a crash back in the queue, due at `now`; returns how many
/// (each may have reached WhatsApp already: at-least-once).
pub fn recover_in_flight(txn: &WriteTransaction, now: Timestamp) -> Result<usize, StoreError> {
    let ids: Vec<u64> = {
        let table = txn.open_table(tables::OUTBOX_IN_FLIGHT)?;
        let mut ids = Vec::new();
        for row in table.iter()? {
            ids.push(row?.0.value());
        }
        ids
    };
    for id in &ids {
        txn.open_table(tables::OUTBOX_IN_FLIGHT)?.remove(*id)?;
        if let Some(mut m) = get(txn, *id)? {
            m.next_attempt_at = now;
            m.updated_at = now;
            put(txn, &m)?;
            txn.open_table(tables::OUTBOX_DUE)?
                .insert(due_key(now, *id), ())?;
        }
    }
    Ok(ids.len())
}

/// When the next queued message is due, if any.
pub fn next_due(tx: &impl ReadTx) -> Result<Option<Timestamp>, StoreError> {
    let index = tx.table(tables::OUTBOX_DUE)?;
    let first = index.first()?.map(|(k, _)| k.value().0);
    Ok(first.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
}

/// Outbox depth (queued or in flight) and how long the oldest due message has waited.
pub fn depth(tx: &impl ReadTx, now: Timestamp) -> Result<(u64, SignedDuration), StoreError> {
    let due = tx.table(tables::OUTBOX_DUE)?;
    let in_flight = tx.table(tables::OUTBOX_IN_FLIGHT)?.len()?;
    let oldest = match due.first()? {
        Some((k, _)) => {
            let waited = now.as_millisecond() - k.value().0;
            SignedDuration::from_millis(waited.max(0))
        }
        None => SignedDuration::ZERO,
    };
    Ok((due.len()? + in_flight, oldest))
}

/// Dead letters, newest first.
pub fn dead_letters(tx: &impl ReadTx) -> Result<Vec<Message>, StoreError> {
    let index = tx.table(tables::OUTBOX_DEAD)?;
    let mut out = Vec::new();
    for row in index.iter()?.rev() {
        if let Some(m) = get(tx, row?.0.value())? {
            out.push(m);
        }
    }
    Ok(out)
}

/// Every message about a booking, oldest first (admin, tests). A scan: fine for a page view.
pub fn for_booking(tx: &impl ReadTx, booking: BookingId) -> Result<Vec<Message>, StoreError> {
    let all: Vec<Message> = codec::all(&tx.table(tables::OUTBOX)?, tables::OUTBOX)?;
    Ok(all.into_iter().filter(|m| m.booking == booking).collect())
}

/// Gives a dead letter a fresh set of attempts, due at `now`.
pub fn retry(txn: &Tx, id: u64, now: Timestamp) -> Result<Message, StoreError> {
    let mut m = get(txn, id)?.ok_or(DomainError::UnknownMessage)?;
    if m.state != State::Dead {
        return Err(DomainError::NotDeadLetter.into());
    }
    txn.open_table(tables::OUTBOX_DEAD)?.remove(id)?;
    m.state = State::Pending;
    m.attempts = 0;
    m.next_attempt_at = now;
    m.updated_at = now;
    put(txn, &m)?;
    txn.open_table(tables::OUTBOX_DUE)?
        .insert(due_key(now, id), ())?;
    txn.wake_after_commit();
    Ok(m)
}

/// Applies a delivery status from WhatsApp; `false` if the message is unknown or the status
/// does not move it forward (repeated, out of order, after a final one).
pub fn apply_delivery(
    txn: &WriteTransaction,
    wamid: &str,
    status: Delivery,
    error: Option<String>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let id = txn
        .open_table(tables::OUTBOX_WAMID)?
        .get(wamid)?
        .map(|v| v.value());
    let Some(mut m) = id.map(|id| get(txn, id)).transpose()?.flatten() else {
        return Ok(false);
    };
    let current = m.delivery.unwrap_or(Delivery::Sent);
    if m.delivery.is_some() && !current.may_become(status) {
        return Ok(false);
    }
    m.delivery = Some(status);
    if status == Delivery::Failed {
        m.last_error = error;
    }
    m.updated_at = now;
    put(txn, &m)?;
    Ok(true)
}
