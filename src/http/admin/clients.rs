//! Clients (front desk): search by name or phone, and a client's history. Both show personal
//! data: every search and every view is written to the audit log (by `app::clients`).
//!
//! The search page works without JavaScript (a GET form); `admin.js` fetches the results
//! as one types from the same URL with `parcial=1`, which answers the results alone.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app;
use crate::domain::{BookingStatus, Client, ClientId, booking};
use crate::http::AppState;
use crate::http::extract::PathId;

pub struct ClientRow {
    pub id: u64,
    pub name: String,
    /// Local format, for reading; `tel` (E.164, empty once erased) only for links.
    pub phone: String,
    pub tel: String,
    pub email: String,
    pub whatsapp: bool,
    /// Another result with the same number written the other way: (its id, its name).
    pub same_line: Option<(u64, String)>,
}

impl ClientRow {
    pub fn of(c: &Client) -> Self {
        Self {
            id: c.id.0,
            name: c.name.as_str().to_owned(),
            phone: c.phone.local(),
            tel: Some(c.phone.as_e164())
                .filter(|p| p.starts_with('+') && !c.is_anonymised())
                .map(str::to_owned)
                .unwrap_or_default(),
            email: c
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            whatsapp: c.whatsapp_consent,
            same_line: None,
        }
    }
}

/// The results of a search: the page's middle, and all `parcial=1` answers.
#[derive(Template)]
#[template(path = "admin/_client_results.html")]
pub struct ClientResults {
    pub q: String,
    pub searched: bool,
    pub rows: Vec<ClientRow>,
    /// Looking for the other record of client `merge_with` (then each row offers the merge).
    pub merge_with: Option<u64>,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub l: Layout,
    pub q: String,
    pub merge_with: Option<u64>,
    /// [`ClientResults`], rendered.
    pub results: String,
    /// The client whose other record is looked for: (id, name).
    pub merging: Option<(u64, String)>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// `1`: only the results (for the search as one types).
    #[serde(default)]
    parcial: String,
    /// A client id: looking for another record of that person, to merge.
    #[serde(default)]
    con: String,
}

/// `GET /admin/clientes?q=&con=&parcial=`: up to 50 clients matching a name or phone
/// fragment (accents, case and phone formatting ignored).
pub async fn list(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(query): Query<SearchQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let q = query.q.trim().to_owned();
    let searched = q.chars().count() >= 2;
    let actor = current.actor();
    let found = if searched {
        app::clients::search(&state.app, &actor, &q, 50)
            .await
            .map_err(AdminError::from)?
    } else {
        Vec::new()
    };
    let merge_with = query.con.parse::<u64>().ok();
    let mut rows: Vec<ClientRow> = found.iter().map(ClientRow::of).collect();
    for (row, client) in rows.iter_mut().zip(&found) {
        let other = client.phone.alternate();
        row.same_line = found
            .iter()
            .find(|c| c.id != client.id && Some(&c.phone) == other.as_ref())
            .map(|c| (c.id.0, c.name.as_str().to_owned()));
    }
    let results = ClientResults {
        q,
        searched,
        rows,
        merge_with,
    };
    if query.parcial == "1" {
        let html = askama::Template::render(&results)?;
        return Ok(Html(html).into_response());
    }
    let merging = match merge_with {
        Some(id) => {
            let other = state
                .store
                .read(move |tx| crate::store::clients::get(tx, ClientId(id)))
                .await?
                .filter(|c| !c.is_anonymised())
                .ok_or(AdminError::NotFound)?;
            Some((id, other.name.as_str().to_owned()))
        }
        None => None,
    };
    let l = Layout::for_user("Clientes", &current, "clientes", flash);
    let page = ClientsPage {
        l,
        q: results.q.clone(),
        merge_with,
        results: askama::Template::render(&results)?,
        merging,
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
    /// Another record under the other form of the same number: (id, name, phone).
    pub same_line: Option<(u64, String, String)>,
}

/// `GET /admin/clientes/{id}`: the client and every booking, newest first (logged as a view
/// of personal data).
pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    flash: Flash,
) -> Result<Response, AdminError> {
    let file = app::clients::file(&state.app, &current.actor(), ClientId(id))
        .await
        .map_err(AdminError::from)?;
    let app::clients::ClientFile {
        client,
        history,
        deposits,
        branches,
        barbers,
        same_line,
    } = file;
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
                deposit: deposits
                    .get(&b.id)
                    .map(super::payments::summary)
                    .unwrap_or_default(),
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
        client: ClientRow::of(&client),
        history: rows,
        same_line: same_line.map(|c| (c.id.0, c.name.as_str().to_owned(), c.phone.local())),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}
