//! Clients at the front desk: search and a client's file (reads of personal data, each
//! written to the audit log), and merging two records of one person.

use std::collections::HashMap;

use super::{Actor, App, AppError};
use crate::domain::{Barber, Booking, BookingId, Branch, Client, ClientId, Payment};
use crate::store::clients::{self, Merged};
use crate::store::{StoreError, audit, catalog, payments};

/// The front desk's roles (and commands, jobs) may look clients up and merge them; a barbero
/// may not.
fn may_handle_clients(actor: &Actor) -> Result<(), AppError> {
    match actor.staff() {
        Some(s) if !s.role.runs_front_desk() => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

/// Up to `limit` clients matching `needle` ([`clients::search`]: accents, case and phone
/// formatting ignored). The results are personal data, so the search is logged with how many
/// it found; the words searched for may be a name and stay out of the log. The lookup runs
/// on a snapshot, off the writer; only the audit entry is a write.
pub async fn search(
    app: &App,
    actor: &Actor,
    needle: &str,
    limit: usize,
) -> Result<Vec<Client>, AppError> {
    may_handle_clients(actor)?;
    let owned = needle.to_owned();
    let found = app
        .store
        .read(move |tx| clients::search(tx, &owned, limit))
        .await?;
    let entry = audit::Change {
        after: audit::json(serde_json::json!({ "results": found.len() })),
        ..actor.change("client.search", "client", None)
    };
    let now = app.clock.now();
    app.store
        .write(move |txn| audit::record(txn, entry, now))
        .await?;
    Ok(found)
}

/// A client's file as the client page shows it.
#[derive(Debug, Clone)]
pub struct ClientFile {
    pub client: Client,
    /// Every booking, newest first, and the deposits some of them have.
    pub history: Vec<Booking>,
    pub deposits: HashMap<BookingId, Payment>,
    pub branches: Vec<Branch>,
    pub barbers: Vec<Barber>,
    /// Another record under the other form of the same number (the same person saved
    /// twice), offered for merging.
    pub same_line: Option<Client>,
}

/// Opens client `id`'s file; the view is logged (`client.view`) in the same transaction.
pub async fn file(app: &App, actor: &Actor, id: ClientId) -> Result<ClientFile, AppError> {
    may_handle_clients(actor)?;
    let now = app.clock.now();
    let entry = actor.change("client.view", "client", Some(id.0));
    let file = app
        .store
        .write(move |txn| {
            let client = clients::get(txn, id)?.ok_or(crate::domain::DomainError::UnknownClient)?;
            let history = clients::history(txn, id)?;
            let mut deposits = HashMap::new();
            for b in &history {
                if let Some(p) = payments::by_booking(txn, b.id)? {
                    deposits.insert(b.id, p);
                }
            }
            let same_line = if client.is_anonymised() {
                None
            } else {
                clients::same_line(txn, &client)?
            };
            audit::record(txn, entry, now)?;
            Ok::<_, StoreError>(ClientFile {
                client,
                history,
                deposits,
                branches: catalog::branches(txn)?,
                barbers: catalog::barbers(txn)?,
                same_line,
            })
        })
        .await?;
    Ok(file)
}

/// Two clients side by side, before a merge: each with their bookings (newest first).
#[derive(Debug, Clone)]
pub struct MergeCandidates {
    pub one: (Client, Vec<Booking>),
    pub other: (Client, Vec<Booking>),
}

/// Loads two clients to compare before merging them (logged as a view of each).
pub async fn compare(
    app: &App,
    actor: &Actor,
    one: ClientId,
    other: ClientId,
) -> Result<MergeCandidates, AppError> {
    may_handle_clients(actor)?;
    let now = app.clock.now();
    let entries = [
        actor.change("client.view", "client", Some(one.0)),
        actor.change("client.view", "client", Some(other.0)),
    ];
    let found = app
        .store
        .write(move |txn| {
            let load = |id: ClientId| -> Result<(Client, Vec<Booking>), StoreError> {
                let client =
                    clients::get(txn, id)?.ok_or(crate::domain::DomainError::UnknownClient)?;
                Ok((client, clients::history(txn, id)?))
            };
            let (a, b) = (load(one)?, load(other)?);
            for entry in entries {
                audit::record(txn, entry, now)?;
            }
            Ok(MergeCandidates { one: a, other: b })
        })
        .await?;
    Ok(found)
}

/// What a merge came to.
#[derive(Debug, Clone)]
pub enum Merge {
    /// Done: the kept client as it is now, and what moved.
    Done { client: Box<Client>, merged: Merged },
    /// Not done: these pairs of active bookings (kept, other) overlap and have not both
    /// ended. Cancel or move one of each pair first. Nothing was written.
    Overlaps(Vec<(Booking, Booking)>),
}

/// Merges client `gone` into `keep`, two records of one person, in one write transaction
/// (see [`clients::merge`]: bookings with their index entries and deposits, notes, e-mail and
/// consent move; `gone` is deleted), with its audit entry (`client.merge`, ids and field
/// names only).
///
/// Overlapping bookings: two active bookings of the one person at the same time would break
/// "a client never holds two overlapping active bookings", so the merge is refused while any
/// such pair has not ended, naming the pairs. Pairs that both ended are history: they are
/// kept as they were, and the audit entry lists them (`overlaps_kept`).
pub async fn merge(
    app: &App,
    actor: &Actor,
    keep: ClientId,
    gone: ClientId,
) -> Result<Merge, AppError> {
    may_handle_clients(actor)?;
    let now = app.clock.now();
    let entry = actor.change("client.merge", "client", Some(keep.0));
    let outcome = app
        .store
        .write(move |txn| match clients::merge(txn, keep, gone, now)? {
            Ok((client, merged)) => {
                let entry = audit::Change {
                    before: audit::json(serde_json::json!({ "clients": [keep.0, gone.0] })),
                    after: audit::snapshot(&merged),
                    ..entry
                };
                audit::record(txn, entry, now)?;
                Ok(Merge::Done {
                    client: Box::new(client),
                    merged,
                })
            }
            Err(overlaps) => Ok(Merge::Overlaps(overlaps.0)),
        })
        .await?;
    Ok(outcome)
}
