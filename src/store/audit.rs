//! The audit log: who changed what, when, from where, and the record before and after.
//!
//! An entry is written in the same write transaction as the change it describes, so there is
//! never a change without its entry (nor an entry for a change that was rolled back).

use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

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

/// What a caller knows about a change; `id` and `at` are filled in by [`record`].
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub actor: Option<StaffId>,
    pub actor_email: String,
    pub ip: Option<String>,
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: Option<u64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Appends an entry for `change` inside the caller's write transaction.
pub fn record(txn: &WriteTransaction, change: Change, now: Timestamp) -> Result<(), StoreError> {
    let entry = AuditEntry {
        id: next_id(txn, "audit")?,
        at: now,
        actor: change.actor,
        actor_email: change.actor_email,
        ip: change.ip,
        action: change.action.to_owned(),
        entity: change.entity.to_owned(),
        entity_id: change.entity_id,
        before: change.before,
        after: change.after,
    };
    codec::put(&mut txn.open_table(tables::AUDIT)?, entry.id, &entry)
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

/// The value of a record for the log (`None` if it cannot be serialised, which ours can).
pub fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}
