//! Clients, one record per phone number for the whole chain.

use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::{Client, ClientId, Email, Phone, Text};

/// What a booking form says about its client.
#[derive(Debug, Clone)]
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
    if let Some(mut client) = by_phone(txn, &details.phone)? {
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
        created_at: now,
        updated_at: now,
    };
    codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
    txn.open_table(tables::CLIENT_PHONES)?
        .insert(client.phone.as_e164(), client.id.0)?;
    Ok(client)
}
