//! Clients (front desk): search by name or phone, and a client's history. Both show personal
//! data: every search and every view is written to the audit log.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::domain::{BookingStatus, ClientId, DomainError, booking};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::{StoreError, audit, catalog, clients, payments};

pub struct ClientRow {
    pub id: u64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub whatsapp: bool,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub l: Layout,
    pub q: String,
    pub searched: bool,
    pub rows: Vec<ClientRow>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /admin/clientes?q=`: up to 50 clients matching a name or phone fragment.
pub async fn list(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(query): Query<SearchQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let q = query.q.trim().to_owned();
    let searched = q.chars().count() >= 2;
    let needle = q.clone();
    let found = if searched {
        // The results are personal data: the search is logged, with how many it found (the
        // words searched for may be a name, so they stay out of the log).
        let now = state.clock.now();
        let who = current.clone();
        state
            .store
            .write(move |txn| {
                let found = clients::search(txn, &needle, 50)?;
                let entry = audit::Change {
                    actor: Some(who.user.id),
                    actor_email: who.user.email.as_str().to_owned(),
                    ip: who.ip.clone(),
                    action: "client.search",
                    entity: "client",
                    after: audit::json(serde_json::json!({ "results": found.len() })),
                    ..Default::default()
                };
                audit::record(txn, entry, now)?;
                Ok(found)
            })
            .await?
    } else {
        Vec::new()
    };
    let rows = found
        .into_iter()
        .map(|c| ClientRow {
            id: c.id.0,
            name: c.name.as_str().to_owned(),
            phone: c.phone.as_e164().to_owned(),
            email: c.email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            whatsapp: c.whatsapp_consent,
        })
        .collect();
    let l = Layout::for_user("Clientes", &current, "clientes", flash);
    let page = ClientsPage {
        l,
        q,
        searched,
        rows,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

pub struct HistoryRow {
    pub id: u64,
    pub when: String,
    pub branch: String,
    pub barber: String,
    pub services: String,
    pub total: String,
    /// The deposit and its state ("$ 3.600,00 · pagada"), empty without one.
    pub deposit: String,
    pub status: &'static str,
    pub status_label: &'static str,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub l: Layout,
    pub client: ClientRow,
    pub since: String,
    pub total: usize,
    pub completed: usize,
    pub no_shows: usize,
    pub cancelled: usize,
    pub notes: String,
    pub anonymised: bool,
    pub anonymised_on: String,
    pub history: Vec<HistoryRow>,
}

/// `GET /admin/clientes/{id}`: the client and every booking, newest first (logged as a view
/// of personal data).
pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    flash: Flash,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let who = current.clone();
    let loaded = state
        .store
        .write(move |txn| {
            let id = ClientId(id);
            let client = clients::get(txn, id)?.ok_or(DomainError::UnknownClient)?;
            let history = clients::history(txn, id)?;
            let mut deposits = std::collections::HashMap::new();
            for b in &history {
                if let Some(p) = payments::by_booking(txn, b.id)? {
                    deposits.insert(b.id, super::payments::summary(&p));
                }
            }
            let branches = catalog::branches(txn)?;
            let barbers = catalog::barbers(txn)?;
            audit::record(
                txn,
                audit::Change {
                    actor: Some(who.user.id),
                    actor_email: who.user.email.as_str().to_owned(),
                    ip: who.ip.clone(),
                    action: "client.view",
                    entity: "client",
                    entity_id: Some(id.0),
                    ..Default::default()
                },
                now,
            )?;
            Ok::<_, StoreError>((client, history, branches, barbers, deposits))
        })
        .await?;
    let (client, history, branches, barbers, deposits) = loaded;
    let tz = crate::domain::time::time_zone(crate::domain::catalog::DEFAULT_TZ)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let count = |s: BookingStatus| history.iter().filter(|b| b.status == s).count();
    let rows = history
        .iter()
        .map(|b| {
            let branch = branches.iter().find(|x| x.id == b.branch);
            let tz = branch.map(|x| x.tz()).unwrap_or(tz.clone());
            HistoryRow {
                id: b.id.0,
                when: view::date_time(b.start, &tz),
                branch: branch
                    .map(|x| x.name.as_str().to_owned())
                    .unwrap_or_default(),
                barber: barbers
                    .iter()
                    .find(|x| x.id == b.barber)
                    .map(|x| x.name.as_str().to_owned())
                    .unwrap_or_default(),
                services: b.service_names(),
                total: b.total.to_string(),
                deposit: deposits.get(&b.id).cloned().unwrap_or_default(),
                status: b.status.as_str(),
                status_label: booking::status_label_es(b.status.as_str()),
            }
        })
        .collect();
    let l = Layout::for_user("Cliente", &current, "clientes", flash);
    let page = ClientPage {
        l,
        since: view::date(crate::domain::time::local_date(client.created_at, &tz)),
        total: history.len(),
        completed: count(BookingStatus::Completed),
        no_shows: count(BookingStatus::NoShow),
        cancelled: count(BookingStatus::Cancelled),
        notes: client
            .notes
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        anonymised: client.is_anonymised(),
        anonymised_on: client
            .anonymised_at
            .map(|t| view::date(crate::domain::time::local_date(t, &tz)))
            .unwrap_or_default(),
        client: ClientRow {
            id: client.id.0,
            name: client.name.as_str().to_owned(),
            phone: client.phone.as_e164().to_owned(),
            email: client
                .email
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            whatsapp: client.whatsapp_consent,
        },
        history: rows,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}
