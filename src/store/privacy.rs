//! Personal data (Ley 25.326): what we hold on a person (access, art. 14) and erasing it
//! (art. 16). Erasing yields to the duty to keep the accounts: the bookings stay, tied to a
//! client record whose name, phone, e-mail and notes are replaced, and the phone's index entry
//! goes, so the same number can book again as a new client. Everything happens in the caller's
//! one write transaction, audit entry included.

use jiff::Timestamp;
use redb::ReadableTable;
use serde::Serialize;

use super::audit::{self, AuditEntry};
use super::{ReadTx, StoreError, Tx, bookings, clients, codec, tables};
use crate::domain::{Booking, BookingStatus, Client, ClientId, DomainError, Phone, Text};

/// The reason written on the bookings an erase cancels.
const CANCEL_REASON: &str = "Datos personales eliminados a pedido del titular";
/// The `reason` of the audit entry when the inactivity job erased the client.
const INACTIVE: &str = "inactive";

/// Everything we hold on one person, as JSON for an access request.
#[derive(Debug, Clone, Serialize)]
pub struct PersonData {
    pub exported_at: Timestamp,
    pub client: Client,
    /// Every booking of the person, newest first (without the manage token's hash).
    pub bookings: Vec<serde_json::Value>,
    /// Every audit entry about the person or one of their bookings, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// What an erase did (no personal data: this is what the audit entry records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub client: u64,
    /// Bookings kept for the accounts, now tied to the anonymised record.
    pub bookings_kept: usize,
    /// Upcoming bookings cancelled, since nobody could be reached about them any more.
    pub bookings_cancelled: Vec<u64>,
}

/// The person who books with `phone`, if any.
pub fn client_by_phone(tx: &impl ReadTx, phone: &Phone) -> Result<Client, StoreError> {
    Ok(clients::by_phone(tx, phone)?.ok_or(DomainError::UnknownClient)?)
}

/// All we hold on client `id`.
pub fn export(tx: &impl ReadTx, id: ClientId, now: Timestamp) -> Result<PersonData, StoreError> {
    let client = clients::get(tx, id)?.ok_or(DomainError::UnknownClient)?;
    let history = clients::history(tx, id)?;
    let mut about: Vec<(&str, u64)> = vec![("client", id.0)];
    about.extend(client.merged_from.iter().map(|m| ("client", m.0)));
    about.extend(history.iter().map(|b| ("booking", b.id.0)));
    let audit = audit::about(tx, &about)?;
    let bookings = history
        .iter()
        .filter_map(|b| {
            let mut v = serde_json::to_value(b).ok()?;
            if let Some(o) = v.as_object_mut() {
                o.remove("manage_token_hash");
            }
            Some(v)
        })
        .collect();
    Ok(PersonData {
        exported_at: now,
        client,
        bookings,
        audit,
    })
}

/// Anonymises client `id`: cancels their upcoming bookings, blanks every booking's notes,
/// drops the phone index entry and replaces the personal fields; `by` says who asked (its
/// action, entity and values are filled in here). Refuses an unknown or already erased client.
pub fn erase(
    txn: &Tx,
    id: ClientId,
    by: audit::Change,
    now: Timestamp,
) -> Result<Erased, StoreError> {
    erase_with(txn, id, by, now, None)
}

fn erase_with(
    txn: &Tx,
    id: ClientId,
    by: audit::Change,
    now: Timestamp,
    reason: Option<&'static str>,
) -> Result<Erased, StoreError> {
    let client = clients::get(txn, id)?.ok_or(DomainError::UnknownClient)?;
    if client.is_anonymised() {
        return Err(DomainError::ClientAnonymised.into());
    }
    let history = clients::history(txn, id)?;
    let mut cancelled = Vec::new();
    for b in &history {
        let upcoming = b.start > now && b.status.can_become(BookingStatus::Cancelled);
        if upcoming {
            let after = bookings::set_status(
                txn,
                b.id,
                BookingStatus::Cancelled,
                Some(Text::from_static(CANCEL_REASON)),
                now,
            )?;
            audit::record(
                txn,
                audit::Change {
                    action: "booking.cancel",
                    entity: "booking",
                    entity_id: Some(b.id.0),
                    before: audit::booking_snapshot(b),
                    after: audit::booking_snapshot(&after),
                    ..by.clone()
                },
                now,
            )?;
            cancelled.push(b.id.0);
        }
    }
    for b in &history {
        if let Some(current) = bookings::get(txn, b.id)?
            && current.notes.is_some()
        {
            let blank = Booking {
                notes: None,
                updated_at: now,
                ..current
            };
            codec::put(&mut txn.open_table(tables::BOOKINGS)?, b.id.0, &blank)?;
        }
    }
    {
        let mut phones = txn.open_table(tables::CLIENT_PHONES)?;
        let ours = phones
            .get(client.phone.as_e164())?
            .is_some_and(|v| v.value() == id.0);
        if ours {
            phones.remove(client.phone.as_e164())?;
        }
    }
    clients::unindex(txn, &client)?;
    let shell = client.anonymised(now);
    codec::put(&mut txn.open_table(tables::CLIENTS)?, id.0, &shell)?;
    let erased = Erased {
        client: id.0,
        bookings_kept: history.len(),
        bookings_cancelled: cancelled,
    };
    let mut after = serde_json::to_value(&erased).ok();
    if let (Some(reason), Some(o)) = (reason, after.as_mut().and_then(|v| v.as_object_mut())) {
        o.insert("reason".into(), reason.into());
    }
    let after = after.and_then(audit::json);
    audit::record(
        txn,
        audit::Change {
            action: "client.erase",
            entity: "client",
            entity_id: Some(id.0),
            before: None,
            after,
            ..by
        },
        now,
    )?;
    Ok(erased)
}

/// When the client was last seen: their last change or the start of their latest booking.
fn last_activity(tx: &impl ReadTx, client: &Client) -> Result<Timestamp, StoreError> {
    let index = tx.table(tables::CLIENT_BOOKINGS)?;
    let latest = index
        .range((client.id.0, i64::MIN, 0)..=(client.id.0, i64::MAX, u64::MAX))?
        .next_back()
        .transpose()?
        .map(|(k, _)| k.value().1);
    let mut last = client.updated_at.max(client.created_at);
    if let Some(start) = latest.and_then(|s| Timestamp::from_second(s).ok()) {
        last = last.max(start);
    }
    Ok(last)
}

/// Up to `limit` clients not seen since `cutoff` and not anonymised yet, with an id above
/// `after`, by id: what [`anonymise_inactive`] is given. Found in a read transaction, so that
/// the scan of every client never holds up the writer.
pub fn inactive_clients(
    tx: &impl ReadTx,
    cutoff: Timestamp,
    after: Option<ClientId>,
    limit: usize,
) -> Result<Vec<ClientId>, StoreError> {
    let table = tx.table(tables::CLIENTS)?;
    let from = after.map_or(0, |id| id.0.saturating_add(1));
    let mut found = Vec::new();
    for row in table.range(from..)? {
        if found.len() >= limit {
            break;
        }
        let (_, v) = row?;
        let client: Client = codec::decode(tables::CLIENTS, v.value())?;
        if !client.is_anonymised() && last_activity(tx, &client)? < cutoff {
            found.push(client.id);
        }
    }
    Ok(found)
}

/// Anonymises (as [`audit::SYSTEM`]) those of `ids` still not seen since `cutoff` (a client
/// who came back since [`inactive_clients`] found them stays); returns the ids anonymised.
pub fn anonymise_inactive(
    txn: &Tx,
    ids: &[ClientId],
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<Vec<ClientId>, StoreError> {
    let mut done = Vec::new();
    for &id in ids {
        let Some(client) = clients::get(txn, id)? else {
            continue;
        };
        if client.is_anonymised() || last_activity(txn, &client)? >= cutoff {
            continue;
        }
        let by = audit::Change::by(audit::SYSTEM, "client.erase", "client", Some(client.id.0));
        erase_with(txn, client.id, by, now, Some(INACTIVE))?;
        done.push(client.id);
    }
    Ok(done)
}
