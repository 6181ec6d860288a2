//! The audit log: who changed what, when, from where, and the record before and after.
//!
//! An entry is written in the same write transaction as the change it describes, so there is
//! never a change without its entry (nor an entry for a change that was rolled back).
//!
//! Actors: a staff account (its id and e-mail), or one of the labels [`CLIENT`] (a client
//! through the JSON API, with the booking's manage token), [`SYSTEM`] (background jobs) and
//! [`CLI`] (`barberpro` commands) in `actor_email`. Entries name people by id only: the log
//! never holds a client's name, phone, e-mail or notes (nor any secret), so erasing a person
//! never needs to rewrite it. Old entries are pruned by [`prune`] (`audit.retention_days`).

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{ReadTx, StoreError, codec, next_id, tables};
use crate::domain::staff::StaffId;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub at: Timestamp,
    /// The staff account that made the change; `None` for the system or the CLI.
    pub actor: Option<StaffId>,
    /// The actor's e-mail when the change was made (kept even if the account changes).
    pub actor_email: String,
    /// The client address, as the rate limiter resolved it.
    pub ip: Option<String>,
    /// What was done, e.g. `booking.cancel`, `staff.create`, `session.login`.
    pub action: String,
    /// The kind of record (`booking`, `client`, `staff`) and its id.
    pub entity: String,
    pub entity_id: Option<u64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// `actor_email` of changes made by a client through the JSON API.
pub const CLIENT: &str = "client";
/// `actor_email` of changes made by background jobs.
pub const SYSTEM: &str = "system";
/// `actor_email` of changes made by `barberpro` commands.
pub const CLI: &str = "cli";

/// What a caller knows about a change; `id` and `at` are filled in by [`record`]. The record
/// before and after is JSON already ([`snapshot`], [`json`]): written into the entry as is.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub actor: Option<StaffId>,
    pub actor_email: String,
    pub ip: Option<String>,
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: Option<u64>,
    pub before: Option<Box<RawValue>>,
    pub after: Option<Box<RawValue>>,
}

/// An entry as [`record`] writes it: the layout of [`AuditEntry`], with the records before and
/// after as the JSON they already are (no `serde_json::Value` tree built and walked again).
#[derive(Serialize)]
struct NewEntry<'a> {
    id: u64,
    at: Timestamp,
    actor: Option<StaffId>,
    actor_email: &'a str,
    ip: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<u64>,
    before: Option<&'a RawValue>,
    after: Option<&'a RawValue>,
}

impl Change {
    /// This change with the entity as it was before and as it is after.
    pub fn between<T: Serialize>(self, before: &T, after: &T) -> Self {
        Self {
            before: snapshot(before),
            after: snapshot(after),
            ..self
        }
    }

    /// A booking made or changed by its client (API or booking pages): the booking as it was
    /// (if it was) and as it is, as [`booking_snapshot`]s.
    pub fn client_booking(
        action: &'static str,
        before: Option<&crate::domain::Booking>,
        after: &crate::domain::Booking,
    ) -> Self {
        Self {
            before: before.and_then(booking_snapshot),
            after: booking_snapshot(after),
            ..Self::by(CLIENT, action, "booking", Some(after.id.0))
        }
    }

    /// A change made by something other than a staff account ([`CLIENT`], [`SYSTEM`],
    /// [`CLI`]).
    pub fn by(
        actor: &str,
        action: &'static str,
        entity: &'static str,
        entity_id: Option<u64>,
    ) -> Self {
        Self {
            actor_email: actor.to_owned(),
            action,
            entity,
            entity_id,
            ..Self::default()
        }
    }
}

/// Appends an entry for `change` inside the caller's write transaction.
pub fn record(txn: &WriteTransaction, change: Change, now: Timestamp) -> Result<(), StoreError> {
    let entry = NewEntry::of(&change, next_id(txn, "audit")?, now);
    codec::put(&mut txn.open_table(tables::AUDIT)?, entry.id, &entry)
}

impl<'a> NewEntry<'a> {
    fn of(change: &'a Change, id: u64, at: Timestamp) -> Self {
        Self {
            id,
            at,
            actor: change.actor,
            actor_email: &change.actor_email,
            ip: change.ip.as_deref(),
            action: change.action,
            entity: change.entity,
            entity_id: change.entity_id,
            before: change.before.as_deref(),
            after: change.after.as_deref(),
        }
    }
}

/// Filters for [`list`]; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A substring of the actor's e-mail.
    pub actor: Option<String>,
    /// The entity kind, exactly.
    pub entity: Option<String>,
    pub entity_id: Option<u64>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl Filter {
    fn matches(&self, e: &AuditEntry) -> bool {
        self.actor
            .as_deref()
            .is_none_or(|a| e.actor_email.to_lowercase().contains(&a.to_lowercase()))
            && self.entity.as_deref().is_none_or(|x| e.entity == x)
            && self.entity_id.is_none_or(|id| e.entity_id == Some(id))
            && self.from.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at < t)
    }
}

/// The newest `limit` entries matching `filter`, newest first.
pub fn list(
    tx: &impl ReadTx,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let table = tx.table(tables::AUDIT)?;
    let mut out = Vec::new();
    for row in table.iter()?.rev() {
        let (_, v) = row?;
        let entry: AuditEntry = codec::decode(tables::AUDIT, v.value())?;
        if filter.matches(&entry) {
            out.push(entry);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// A booking as the log keeps it: every field but the manage token's hash, and only whether
/// it has notes (free text about the person stays out of the log).
#[derive(Serialize)]
struct LoggedBooking<'a> {
    id: crate::domain::BookingId,
    branch: crate::domain::BranchId,
    barber: crate::domain::BarberId,
    client: crate::domain::ClientId,
    services: &'a [crate::domain::BookedService],
    start: Timestamp,
    end: Timestamp,
    busy_until: Timestamp,
    status: crate::domain::BookingStatus,
    source: crate::domain::BookingSource,
    notes: bool,
    cancel_reason: &'a Option<crate::domain::Text>,
    total: crate::domain::Money,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A booking for the log (see [`LoggedBooking`]), serialised straight from the row.
pub fn booking_snapshot(b: &crate::domain::Booking) -> Option<Box<RawValue>> {
    snapshot(&LoggedBooking {
        id: b.id,
        branch: b.branch,
        barber: b.barber,
        client: b.client,
        services: &b.services,
        start: b.start,
        end: b.end,
        busy_until: b.busy_until,
        status: b.status,
        source: b.source,
        notes: b.notes.is_some(),
        cancel_reason: &b.cancel_reason,
        total: b.total,
        created_at: b.created_at,
        updated_at: b.updated_at,
    })
}

/// A record for the log, as JSON (`None` if it cannot be serialised, which ours can).
pub fn snapshot<T: Serialize + ?Sized>(value: &T) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

/// A value built for the log (`json!({...})`), as JSON.
pub fn json(value: serde_json::Value) -> Option<Box<RawValue>> {
    snapshot(&value)
}

/// Whether any entry is older than `before` (what [`prune`] would delete; the retention job
/// looks in a read transaction first, so that a day with nothing to prune costs the writer
/// nothing). Entries are appended in time order: only the oldest is read.
pub fn any_before(tx: &impl ReadTx, before: Timestamp) -> Result<bool, StoreError> {
    let table = tx.table(tables::AUDIT)?;
    let Some(row) = table.first()? else {
        return Ok(false);
    };
    let entry: AuditEntry = codec::decode(tables::AUDIT, row.1.value())?;
    Ok(entry.at < before)
}

/// Deletes the entries older than `before`, oldest first, at most `limit` per call (entries
/// are appended in time order, so the scan stops at the first newer one). Returns how many.
pub fn prune(txn: &WriteTransaction, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
    let mut table = txn.open_table(tables::AUDIT)?;
    let mut old = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        let entry: AuditEntry = codec::decode(tables::AUDIT, v.value())?;
        if entry.at >= before || old.len() >= limit {
            break;
        }
        old.push(k.value());
    }
    for id in &old {
        table.remove(id)?;
    }
    Ok(old.len())
}

/// Calls `each` with every entry from id `after` on (exclusive), oldest first, up to
/// `limit`; returns the last id seen, to page through a large log in bounded transactions.
pub fn for_each_after(
    tx: &impl ReadTx,
    after: u64,
    limit: usize,
    mut each: impl FnMut(&AuditEntry),
) -> Result<Option<u64>, StoreError> {
    let table = tx.table(tables::AUDIT)?;
    let mut last = None;
    for row in table.range((after.saturating_add(1))..)?.take(limit) {
        let (k, v) = row?;
        let entry: AuditEntry = codec::decode(tables::AUDIT, v.value())?;
        each(&entry);
        last = Some(k.value());
    }
    Ok(last)
}

/// Every entry about one of `entities` (kind, id), oldest first: a person's own trail for an
/// access request. A full scan, fine for an occasional request.
pub fn about(tx: &impl ReadTx, entities: &[(&str, u64)]) -> Result<Vec<AuditEntry>, StoreError> {
    let table = tx.table(tables::AUDIT)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, v) = row?;
        let entry: AuditEntry = codec::decode(tables::AUDIT, v.value())?;
        let hit = entry
            .entity_id
            .is_some_and(|id| entities.contains(&(entry.entity.as_str(), id)));
        if hit {
            out.push(entry);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        BarberId, BookedService, Booking, BookingId, BookingSource, BookingStatus, BranchId,
        ClientId, Money, ServiceId, Text,
    };

    fn booking() -> Booking {
        let at = |s: &str| s.parse::<Timestamp>().expect("timestamp");
        Booking {
            id: BookingId(7),
            branch: BranchId(1),
            barber: BarberId(2),
            client: ClientId(3),
            services: vec![BookedService {
                id: ServiceId(1),
                name: Text::from_static("Corte clásico"),
                duration_minutes: 30,
                price: Money::from_centavos(800_000).expect("money"),
            }],
            start: at("2026-12-02T13:00:00Z"),
            end: at("2026-12-02T13:30:00Z"),
            busy_until: at("2026-12-02T13:35:00Z"),
            status: BookingStatus::Cancelled,
            source: BookingSource::Online,
            notes: Some(Text::from_static("alérgico a la lavanda")),
            cancel_reason: Some(Text::from_static("viaje")),
            total: Money::from_centavos(800_000).expect("money"),
            manage_token_hash: "ab".repeat(32),
            created_at: at("2026-11-29T13:00:00Z"),
            updated_at: at("2026-11-29T14:00:00Z"),
            undoable_until: None,
        }
    }

    #[test]
    fn a_logged_booking_is_the_row_without_its_token_hash_and_notes() {
        let b = booking();
        let logged: serde_json::Value =
            serde_json::from_str(booking_snapshot(&b).expect("snapshot").get()).expect("json");
        // Every field of the row, as the row serialises it (a field added to `Booking` and
        // not to `LoggedBooking` fails here), but the hash; notes only as "has notes".
        let mut row = serde_json::to_value(&b).expect("row");
        let o = row.as_object_mut().expect("object");
        o.remove("manage_token_hash");
        o.insert("notes".into(), true.into());
        assert_eq!(logged, row);
        let text = booking_snapshot(&b).expect("snapshot").get().to_owned();
        assert!(
            !text.contains("lavanda") && !text.contains(&"ab".repeat(32)),
            "{text}"
        );
    }

    #[test]
    fn an_entry_is_stored_in_the_layout_it_is_read_back_in() {
        let change = Change {
            ip: Some("203.0.113.9".into()),
            before: json(serde_json::json!({"state": "pending"})),
            after: booking_snapshot(&booking()),
            ..Change::by(CLIENT, "booking.cancel", "booking", Some(7))
        };
        let entry = NewEntry::of(
            &change,
            1,
            "2026-11-29T14:00:00Z".parse().expect("timestamp"),
        );
        let read: AuditEntry =
            serde_json::from_slice(&serde_json::to_vec(&entry).expect("write")).expect("read");
        assert_eq!(read.actor_email, "client");
        assert_eq!(read.ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(read.action, "booking.cancel");
        assert_eq!(read.entity_id, Some(7));
        assert_eq!(read.before, Some(serde_json::json!({"state": "pending"})));
        assert_eq!(read.after.expect("after")["status"], "cancelled");
    }
}
