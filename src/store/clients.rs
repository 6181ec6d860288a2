//! Clients, one record per phone line for the whole chain: an Argentine number's two E.164
//! forms (`+549…` mobile, `+54…` as written without `9`/`15`) find the same client.
//!
//! Each client also has an entry in `idx_client_terms` (id → folded name, phone digits),
//! written in the same write transaction as the record, which [`search`] scans.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use redb::ReadableTable;
use serde::Serialize;

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::phone::search_digits;
use crate::domain::text::fold;
use crate::domain::{Booking, Client, ClientId, DomainError, Email, Phone, PhoneReading, Text};

/// What a booking form says about its client.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClientDetails {
    pub name: Text,
    pub phone: Phone,
    pub email: Option<Email>,
    pub whatsapp_consent: bool,
}

impl ClientDetails {
    /// Works out on the caller's thread what looking this client up parses (the number's
    /// other Argentine form, kept by the [`Phone`]), so that the single writer thread does not.
    pub fn look_up_ahead(&self) {
        let _ = self.phone.alternate();
    }

    /// The details as they are stored: a number given with WhatsApp consent is a mobile, so
    /// an Argentine number written without `9`/`15` takes its `+549…` form.
    pub fn normalised(self) -> Self {
        if !self.whatsapp_consent {
            return self;
        }
        Self {
            phone: self.phone.as_mobile(),
            ..self
        }
    }
}

pub fn get(tx: &impl ReadTx, id: ClientId) -> Result<Option<Client>, StoreError> {
    codec::get(&tx.table(tables::CLIENTS)?, tables::CLIENTS, id.0)
}

/// The client of `phone`'s line: saved under this exact number, else under the line's other
/// Argentine form ([`Phone::alternate`]).
pub fn by_phone(tx: &impl ReadTx, phone: &Phone) -> Result<Option<Client>, StoreError> {
    if let Some(found) = by_exact_phone(tx, phone)? {
        return Ok(Some(found));
    }
    match phone.alternate() {
        Some(other) => by_exact_phone(tx, &other),
        None => Ok(None),
    }
}

/// The client saved under exactly this E.164 number.
pub fn by_exact_phone(tx: &impl ReadTx, phone: &Phone) -> Result<Option<Client>, StoreError> {
    let id = tx
        .table(tables::CLIENT_PHONES)?
        .get(phone.as_e164())?
        .map(|v| v.value());
    match id {
        Some(id) => get(tx, ClientId(id)),
        None => Ok(None),
    }
}

/// Another client saved under the other form of `client`'s line: two records of one person,
/// made before both forms were looked up, which the front desk is offered to merge.
pub fn same_line(tx: &impl ReadTx, client: &Client) -> Result<Option<Client>, StoreError> {
    let Some(other) = client.phone.alternate() else {
        return Ok(None);
    };
    Ok(by_exact_phone(tx, &other)?.filter(|c| c.id != client.id && !c.is_anonymised()))
}

/// Finds the client by phone or creates one. An existing client's name is not overwritten by
/// whoever typed the phone (the front desk rectifies it); a missing e-mail is filled in, and
/// consent given now is recorded.
pub fn upsert(
    txn: &WriteTransaction,
    details: ClientDetails,
    now: Timestamp,
) -> Result<Client, StoreError> {
    let details = details.normalised();
    let found = by_phone(txn, &details.phone)?;
    upsert_found(txn, found, details, now)
}

/// As [`upsert`], for a caller that has just looked the (normalised) phone up in this same
/// transaction (`found` is what [`by_phone`] returned). A client found under the landline
/// form of a number now given for WhatsApp takes the mobile form, so messages reach them.
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
        if details.whatsapp_consent
            && details.phone.is_ar_mobile()
            && client.phone.alternate().as_ref() == Some(&details.phone)
            && by_exact_phone(txn, &details.phone)?.is_none()
        {
            set_phone(txn, &mut client, details.phone)?;
            changed = true;
        }
        if changed {
            client.updated_at = now;
            codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
            index(txn, &client)?;
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
        merged_from: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
    txn.open_table(tables::CLIENT_PHONES)?
        .insert(client.phone.as_e164(), client.id.0)?;
    index(txn, &client)?;
    Ok(client)
}

/// Moves `client` to another number, its phone index entry with it (the caller writes the
/// record; the search entry's key does not change).
fn set_phone(txn: &WriteTransaction, client: &mut Client, phone: Phone) -> Result<(), StoreError> {
    let mut phones = txn.open_table(tables::CLIENT_PHONES)?;
    let ours = phones
        .get(client.phone.as_e164())?
        .is_some_and(|v| v.value() == client.id.0);
    if ours {
        phones.remove(client.phone.as_e164())?;
    }
    phones.insert(phone.as_e164(), client.id.0)?;
    client.phone = phone;
    Ok(())
}

/// A client's search terms: its folded name and its phone's digits.
fn search_terms(client: &Client) -> (String, String) {
    let digits = client.phone.as_e164().trim_start_matches('+').to_owned();
    (fold(client.name.as_str()), digits)
}

/// Writes (or rewrites) the client's search entry; an anonymised client has none.
pub(crate) fn index(txn: &WriteTransaction, client: &Client) -> Result<(), StoreError> {
    if client.is_anonymised() {
        return unindex(txn, client);
    }
    let (name, digits) = search_terms(client);
    txn.open_table(tables::CLIENT_TERMS)?
        .insert(client.id.0, (name.as_str(), digits.as_str()))?;
    Ok(())
}

/// Removes the client's search entry.
pub(crate) fn unindex(txn: &WriteTransaction, client: &Client) -> Result<(), StoreError> {
    txn.open_table(tables::CLIENT_TERMS)?.remove(client.id.0)?;
    Ok(())
}

/// Builds the search index from the records (migration to schema 5), in id order like the
/// records. Returns how many clients were indexed.
pub(crate) fn reindex_search(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let clients = txn.open_table(tables::CLIENTS)?;
    let mut index = txn.open_table(tables::CLIENT_TERMS)?;
    let mut indexed = 0;
    for row in clients.iter()? {
        let (_, bytes) = row?;
        let client: Client = codec::decode(tables::CLIENTS, bytes.value())?;
        if !client.is_anonymised() {
            let (name, digits) = search_terms(&client);
            index.insert(client.id.0, (name.as_str(), digits.as_str()))?;
            indexed += 1;
        }
    }
    Ok(indexed)
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
        index(txn, &fixed)?;
    }
    Ok(changed)
}

/// Up to `limit` clients matching `needle`, by name. Names and needle are compared folded
/// (case and accents ignored, [`fold`]); numbers by their digits, whichever way they are
/// written ([`search_digits`]: `011 15-2345-6789`, `11 2345-6789` and `+54 9 11 2345-6789`
/// all find `+5491123456789`). A needle without letters is a number or part of one;
/// otherwise each word must be in the name and each group of 3+ digits in the phone.
///
/// A whole number is looked up in the phone index under both forms. Anything else reads
/// `idx_client_terms`'s short entries newest client first and stops at `limit` matches,
/// returned in name order: a common name costs a few pages, a needle that matches nobody one
/// pass (no record is decoded before it matched).
pub fn search(tx: &impl ReadTx, needle: &str, limit: usize) -> Result<Vec<Client>, StoreError> {
    let folded = fold(needle);
    let has_letters = |w: &str| w.chars().any(char::is_alphabetic);
    let (words, numbers): (Vec<&str>, Vec<Vec<String>>) = if has_letters(&folded) {
        let words = folded.split(' ').filter(|w| has_letters(w)).collect();
        let numbers = folded
            .split(' ')
            .filter(|w| !has_letters(w))
            .map(search_digits)
            .filter(|forms| !forms.is_empty())
            .collect();
        (words, numbers)
    } else {
        // A whole number: its line's clients, straight from the phone index (the digits of a
        // whole number match no other line).
        let digits = needle.chars().filter(char::is_ascii_digit).count();
        if digits >= 8
            && let Ok(reading) = PhoneReading::read(needle)
        {
            let mut found: Vec<Client> = Vec::new();
            for form in reading.forms() {
                for phone in std::iter::once(form.clone()).chain(form.alternate()) {
                    if let Some(c) = by_exact_phone(tx, &phone)?
                        && !c.is_anonymised()
                        && !found.iter().any(|f| f.id == c.id)
                    {
                        found.push(c);
                    }
                }
            }
            found.sort_by_key(|c| (fold(c.name.as_str()), c.id.0));
            found.truncate(limit);
            return Ok(found);
        }
        let forms = search_digits(needle);
        if forms.is_empty() {
            return Ok(Vec::new());
        }
        (Vec::new(), vec![forms])
    };
    // Newest first (keys are ids): a common name stops after `limit` matches, and the
    // clients seen lately are the ones the desk is most likely looking for.
    let mut matches: Vec<(String, u64)> = Vec::new();
    for row in tx.table(tables::CLIENT_TERMS)?.iter()?.rev() {
        if matches.len() >= limit {
            break;
        }
        let (id, terms) = row?;
        let (name, digits) = terms.value();
        let found = words.iter().all(|w| name.contains(w))
            && numbers
                .iter()
                .all(|forms| forms.iter().any(|f| digits.contains(f.as_str())));
        if found {
            matches.push((name.to_owned(), id.value()));
        }
    }
    matches.sort_unstable();
    let mut found = Vec::with_capacity(matches.len());
    for (_, id) in matches {
        found.extend(get(tx, ClientId(id))?.filter(|c| !c.is_anonymised()));
    }
    Ok(found)
}

/// Every booking of a client, newest first.
pub fn history(tx: &impl ReadTx, client: ClientId) -> Result<Vec<Booking>, StoreError> {
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
    let mut client = get(txn, id)?.ok_or(DomainError::UnknownClient)?;
    if client.whatsapp_consent != consent {
        client.whatsapp_consent = consent;
        client.updated_at = now;
        codec::put(&mut txn.open_table(tables::CLIENTS)?, client.id.0, &client)?;
    }
    Ok(client)
}

/// What merging two records of one person did: ids and field names only (it is what the
/// audit entry records; no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merged {
    pub kept: u64,
    pub gone: u64,
    /// The bookings moved to the kept record.
    pub bookings: Vec<u64>,
    /// Their deposits, moved with them.
    pub payments: Vec<u64>,
    /// Fields of the kept record filled in or changed from the other one.
    pub fields: Vec<&'static str>,
    /// Pairs of bookings (kept, moved) that overlap in time and had both ended: kept as they
    /// were, since the history is what happened.
    pub overlaps_kept: Vec<(u64, u64)>,
}

/// Why two records cannot be merged yet: pairs of their active bookings (kept, other) that
/// overlap and have not both ended. One person cannot be in two chairs at once; the front
/// desk cancels or moves one of each pair first.
#[derive(Debug, Clone)]
pub struct Overlaps(pub Vec<(Booking, Booking)>);

/// Merges client `gone` into `keep` (the same person saved twice): `gone`'s bookings (and
/// their index entries and deposits) move to `keep`; `keep` gets `gone`'s e-mail if it had
/// none, both notes, consent if either gave it, and the mobile form of the line when the two
/// are the two forms of one number and consent was given; `gone`'s record, phone entry and
/// search entry are deleted. Messages still queued follow their bookings (they are re-checked
/// against the booking's client when claimed). Refuses (`Ok(Err)`) while active bookings of
/// the two overlap and have not ended; writes nothing then.
pub fn merge(
    txn: &WriteTransaction,
    keep: ClientId,
    gone: ClientId,
    now: Timestamp,
) -> Result<Result<(Client, Merged), Overlaps>, StoreError> {
    let mut kept = get(txn, keep)?.ok_or(DomainError::UnknownClient)?;
    let other = get(txn, gone)?.ok_or(DomainError::UnknownClient)?;
    if keep == gone {
        return Err(DomainError::InvalidField {
            field: "client",
            reason: "same",
        }
        .into());
    }
    if kept.is_anonymised() || other.is_anonymised() {
        return Err(DomainError::ClientAnonymised.into());
    }
    let ours = history(txn, keep)?;
    let theirs = history(txn, gone)?;
    let mut blocking = Vec::new();
    let mut overlaps_kept = Vec::new();
    for a in ours.iter().filter(|b| b.status.is_active()) {
        for b in theirs.iter().filter(|b| b.status.is_active()) {
            if a.start < b.end && b.start < a.end {
                if a.end <= now && b.end <= now {
                    overlaps_kept.push((a.id.0, b.id.0));
                } else {
                    blocking.push((a.clone(), b.clone()));
                }
            }
        }
    }
    if !blocking.is_empty() {
        blocking.sort_by_key(|(a, _)| a.start);
        return Ok(Err(Overlaps(blocking)));
    }

    // Every check passed: from here on, only writes.
    let mut moved = Vec::with_capacity(theirs.len());
    let mut payments = Vec::new();
    {
        let mut timeline = txn.open_table(tables::CLIENT_BOOKINGS)?;
        let mut by_barber = txn.open_table(tables::BARBER_BOOKINGS)?;
        let mut rows = txn.open_table(tables::BOOKINGS)?;
        for b in theirs {
            let start = b.start.as_second();
            let entry = timeline
                .remove((gone.0, start, b.id.0))?
                .map(|v| v.value())
                .unwrap_or((b.end.as_second(), b.status.is_active()));
            timeline.insert((keep.0, start, b.id.0), entry)?;
            let b = Booking {
                client: keep,
                updated_at: now,
                ..b
            };
            // The barber entry names the client too (the reports count clients from it).
            by_barber.insert((b.barber.0, start, b.id.0), tables::barber_entry(&b))?;
            codec::put(&mut rows, b.id.0, &b)?;
            moved.push(b.id);
        }
    }
    for id in &moved {
        if let Some(p) = super::payments::reassign_client(txn, *id, keep)? {
            payments.push(p.0);
        }
    }

    let mut fields = Vec::new();
    if kept.email.is_none() && other.email.is_some() {
        kept.email = other.email.clone();
        fields.push("email");
    }
    kept.notes = match (kept.notes.take(), other.notes.clone()) {
        (Some(a), Some(b)) if a != b => {
            fields.push("notes");
            let joined = format!("{}\n\n{}", a.as_str(), b.as_str());
            Some(Text::multiline("notes", &joined, usize::MAX).unwrap_or(a))
        }
        (None, Some(b)) => {
            fields.push("notes");
            Some(b)
        }
        (a, _) => a,
    };
    if other.whatsapp_consent && !kept.whatsapp_consent {
        kept.whatsapp_consent = true;
        fields.push("whatsapp_consent");
    }

    // The other record goes: row, phone entry, search entry.
    txn.open_table(tables::CLIENTS)?.remove(gone.0)?;
    {
        let mut phones = txn.open_table(tables::CLIENT_PHONES)?;
        let theirs = phones
            .get(other.phone.as_e164())?
            .is_some_and(|v| v.value() == gone.0);
        if theirs {
            phones.remove(other.phone.as_e164())?;
        }
    }
    unindex(txn, &other)?;

    // One line, two forms, and WhatsApp consent: keep the form WhatsApp reaches.
    if kept.whatsapp_consent
        && !kept.phone.is_ar_mobile()
        && other.phone.is_ar_mobile()
        && kept.phone.alternate().as_ref() == Some(&other.phone)
    {
        set_phone(txn, &mut kept, other.phone.clone())?;
        fields.push("phone");
    }
    kept.merged_from.push(gone);
    kept.merged_from.extend(other.merged_from.iter().copied());
    kept.updated_at = now;
    codec::put(&mut txn.open_table(tables::CLIENTS)?, keep.0, &kept)?;
    index(txn, &kept)?;
    let merged = Merged {
        kept: keep.0,
        gone: gone.0,
        bookings: moved.iter().map(|b| b.0).collect(),
        payments,
        fields,
        overlaps_kept,
    };
    Ok(Ok((kept, merged)))
}
