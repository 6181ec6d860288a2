//! Personal data (Ley 25.326): what we hold on a person (access, art. 14), correcting it
//! (rectification, art. 16) and erasing it (art. 16), from the admin's client page or from
//! `barberpro client export|erase`; and the audit log's export (admin or `barberpro audit
//! export`). Each change and its audit entry are one write transaction; the entries name the
//! fields that changed, never their values. The rules of an erase are `store::privacy`'s.

use super::{Actor, App, AppError};
use crate::domain::{Client, ClientId, DomainError, Phone};
use crate::store::clients::{self, Rectification};
use crate::store::privacy::{self, Erased, PersonData};
use crate::store::{ReadTx, StoreError, audit};

/// Whom a request is about: a client record (the admin), or the phone they book with (the
/// commands).
#[derive(Debug, Clone)]
pub enum Person {
    Id(ClientId),
    Phone(Phone),
}

impl Person {
    fn find(&self, tx: &impl ReadTx) -> Result<ClientId, StoreError> {
        match self {
            Self::Id(id) => Ok(*id),
            Self::Phone(phone) => Ok(privacy::client_by_phone(tx, phone)?.id),
        }
    }
}

/// Everything held on `person` (read only, not audited: the commands' export).
pub async fn person_data(app: &App, person: Person) -> Result<PersonData, AppError> {
    let now = app.clock.now();
    let data = app
        .store
        .read(move |tx| privacy::export(tx, person.find(tx)?, now))
        .await?;
    Ok(data)
}

/// Everything held on client `id`, for `actor` to hand over; audited as `client.export` once
/// read (the export scans the audit log, so it is read outside the writer, then logged).
pub async fn export(app: &App, actor: &Actor, id: ClientId) -> Result<PersonData, AppError> {
    let data = person_data(app, Person::Id(id)).await?;
    let now = app.clock.now();
    let entry = actor.change("client.export", "client", Some(id.0));
    app.store
        .write(move |txn| audit::record(txn, entry, now))
        .await?;
    Ok(data)
}

/// Corrects client `id`'s name, e-mail and notes; returns the names of the fields that
/// changed (audited as `client.update` with those names, when there are any). An erased
/// client is `ClientAnonymised`.
pub async fn rectify(
    app: &App,
    actor: &Actor,
    id: ClientId,
    fix: Rectification,
) -> Result<Vec<&'static str>, AppError> {
    let now = app.clock.now();
    let entry = actor.change("client.update", "client", Some(id.0));
    let changed = app
        .store
        .write(move |txn| {
            let changed = clients::rectify(txn, id, fix, now)?;
            if !changed.is_empty() {
                let entry = audit::Change {
                    after: audit::json(serde_json::json!({ "fields": changed })),
                    ..entry
                };
                audit::record(txn, entry, now)?;
            }
            Ok(changed)
        })
        .await?;
    Ok(changed)
}

/// What an erase would affect, shown to `actor` before they confirm it: the client and how
/// many bookings they have. Seeing a person's record this way is audited as `client.view`.
/// An erased client is `ClientAnonymised`.
pub async fn before_erasing(
    app: &App,
    actor: &Actor,
    id: ClientId,
) -> Result<(Client, usize), AppError> {
    let now = app.clock.now();
    let entry = actor.change("client.view", "client", Some(id.0));
    let found = app
        .store
        .write(move |txn| {
            let client = clients::get(txn, id)?.ok_or(DomainError::UnknownClient)?;
            if client.is_anonymised() {
                return Err(DomainError::ClientAnonymised.into());
            }
            let bookings = clients::history(txn, id)?.len();
            audit::record(txn, entry, now)?;
            Ok((client, bookings))
        })
        .await?;
    Ok(found)
}

/// Anonymises `person`: their upcoming bookings are cancelled (each audited as
/// `booking.cancel`), the bookings stay for the accounts, the record is blanked (audited as
/// `client.erase`). An unknown client is `UnknownClient`; one erased already,
/// `ClientAnonymised`.
pub async fn erase(app: &App, actor: &Actor, person: Person) -> Result<Erased, AppError> {
    let now = app.clock.now();
    let by = match &person {
        Person::Id(id) => actor.change("client.erase", "client", Some(id.0)),
        Person::Phone(_) => actor.change("client.erase", "client", None),
    };
    let erased = app
        .store
        .write(move |txn| {
            let id = person.find(txn)?;
            privacy::erase(txn, id, by, now)
        })
        .await?;
    Ok(erased)
}

/// Audit entries per read transaction while exporting the log.
const EXPORT_PAGE: usize = 5_000;

/// The whole audit log, one JSON object per line, oldest first, read a page at a time (read
/// only, not audited: the command's export).
pub async fn audit_log(app: &App) -> Result<String, AppError> {
    let mut out = String::new();
    let mut after = 0;
    loop {
        let (page, last) = app
            .store
            .read(move |tx| {
                let mut lines = String::new();
                let last = audit::for_each_after(tx, after, EXPORT_PAGE, |entry| {
                    if let Ok(line) = serde_json::to_string(entry) {
                        lines.push_str(&line);
                        lines.push('\n');
                    }
                })?;
                Ok((lines, last))
            })
            .await?;
        out.push_str(&page);
        match last {
            Some(id) => after = id,
            None => break,
        }
    }
    Ok(out)
}

/// The whole audit log for `actor` to download ([`audit_log`]); the export itself is audited
/// as `audit.export`.
pub async fn export_audit_log(app: &App, actor: &Actor) -> Result<String, AppError> {
    let lines = audit_log(app).await?;
    let now = app.clock.now();
    let entry = actor.change("audit.export", "audit", None);
    app.store
        .write(move |txn| audit::record(txn, entry, now))
        .await?;
    Ok(lines)
}
