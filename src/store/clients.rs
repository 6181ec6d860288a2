//! Clients, one record per phone number for the whole chain.

use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::{Client, ClientId, DomainError, Email, Phone, Text};

/// What a booking form says about its client.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClientDetails {
    pub name: Text,
    pub phone: Phone,
    pub email: Option<Email>,
    pub whatsapp_consent: bool,
}

pub fn get(tx: &impl ReadTx, id: ClientId) -> Result<Option<Client>, StoreError> {
    codec::get(&tx.table(tables::CLIENTS)?, tables::CLIENTS, id.0)
}

pub fn by_phone(tx: &impl ReadTx, phone: &Phone) -> Result<Option<Client>, StoreError> {
    let id = tx
        .table(tables::CLIENT_PHONES)?
        .get(phone.as_e164())?
        .map(|v| v.value());
    match id {
        Some(id) => get(tx, ClientId(id)),
        None => Ok(None),
    }
}

/// Finds the client by phone or creates one. An existing client's name is not overwritten by
/// whoever typed the phone (the front desk rectifies it); a missing e-mail is filled in, and
/// consent given now is recorded.
pub fn upsert(
    txn: &WriteTransaction,
    details: ClientDetails,
    now: Timestamp,
) -> Result<Client, StoreError> {
    let found = by_phone(txn, &details.phone)?;
    upsert_found(txn, found, details, now)
}

/// As [`upsert`], for a caller that has just looked the phone up in this same transaction
/// (`found` is what [`by_phone`] returned).
pub(crate) fn upsert_found(
    txn: &WriteTransaction,
    found: Option<Client>,
    details: ClientDetails,
    now: Timestamp,
) -> Result<Client, StoreError> {
    if let Some(mut client) = found {
        let mut changed = false;
        if client.email.is_none() && details.email.is_some() {
            client.email = details.email;
            changed = true;
        }
        if details.whatsapp_consent && !client.whatsapp_consent {
            client.whatsapp_consent = true;
            changed = true;
        }
        if changed {
            client.updated_at = now;
            codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
        }
        return Ok(client);
    }
    let client = Client {
        id: ClientId(next_id(txn, "client")?),
        name: details.name,
        phone: details.phone,
        email: details.email,
        whatsapp_consent: details.whatsapp_consent,
        notes: None,
        anonymised_at: None,
        created_at: now,
        updated_at: now,
    };
    codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
    txn.open_table(tables::CLIENT_PHONES)?
        .insert(client.phone.as_e164(), client.id.0)?;
    Ok(client)
}

/// What the front desk may correct about a client (Ley 25.326, art. 16). The phone is the
/// client's identity: a new number is a new client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rectification {
    pub name: Text,
    pub email: Option<Email>,
    pub notes: Option<Text>,
}

/// Applies a rectification (WhatsApp consent has its own audited switch,
/// [`set_whatsapp_consent`]); returns the names of the fields that changed (for the audit log,
/// which never holds the values). An anonymised client cannot be edited.
pub fn rectify(
    txn: &WriteTransaction,
    id: ClientId,
    fix: Rectification,
    now: Timestamp,
) -> Result<Vec<&'static str>, StoreError> {
    let client = get(txn, id)?.ok_or(DomainError::UnknownClient)?;
    if client.is_anonymised() {
        return Err(DomainError::ClientAnonymised.into());
    }
    let mut changed = Vec::new();
    if client.name != fix.name {
        changed.push("name");
    }
    if client.email != fix.email {
        changed.push("email");
    }
    if client.notes != fix.notes {
        changed.push("notes");
    }
    if !changed.is_empty() {
        let fixed = Client {
            name: fix.name,
            email: fix.email,
            notes: fix.notes,
            updated_at: now,
            ..client
        };
        codec::put(&mut txn.open_table(tables::CLIENTS)?, id.0, &fixed)?;
    }
    Ok(changed)
}

/// Clients whose name contains `needle` (ignoring case) or whose phone contains its digits,
/// by name; at most `limit`. A full scan: fine for a chain's few thousand clients.
pub fn search(tx: &impl ReadTx, needle: &str, limit: usize) -> Result<Vec<Client>, StoreError> {
    let needle = needle.trim().to_lowercase();
    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
    let mut found: Vec<Client> =
        codec::all::<Client>(&tx.table(tables::CLIENTS)?, tables::CLIENTS)?
            .into_iter()
            .filter(|c| !c.is_anonymised())
            .filter(|c| {
                c.name.as_str().to_lowercase().contains(&needle)
                    || (digits.len() >= 3 && c.phone.as_e164().contains(&digits))
            })
            .collect();
    found.sort_by_key(|c| c.name.as_str().to_lowercase());
    found.truncate(limit);
    Ok(found)
}

/// Every booking of a client, newest first.
pub fn history(
    tx: &impl ReadTx,
    client: ClientId,
) -> Result<Vec<crate::domain::Booking>, StoreError> {
    let index = tx.table(tables::CLIENT_BOOKINGS)?;
    // The rows themselves, not `bookings::get`: clients sit below the bookings that call them.
    let rows = tx.table(tables::BOOKINGS)?;
    let mut out = Vec::new();
    for row in index
        .range((client.0, i64::MIN, 0)..=(client.0, i64::MAX, u64::MAX))?
        .rev()
    {
        let (k, _) = row?;
        if let Some(b) = codec::get(&rows, tables::BOOKINGS, k.value().2)? {
            out.push(b);
        }
    }
    Ok(out)
}

/// Records a client's WhatsApp consent (opt-in or opt-out). Without it nothing is queued for
/// the client, and messages already queued are dropped when they come due.
pub fn set_whatsapp_consent(
    txn: &WriteTransaction,
    id: ClientId,
    consent: bool,
    now: Timestamp,
) -> Result<Client, StoreError> {
    let mut client = get(txn, id)?.ok_or(crate::domain::DomainError::UnknownClient)?;
    if client.whatsapp_consent != consent {
        client.whatsapp_consent = consent;
        client.updated_at = now;
        codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
    }
    Ok(client)
}
