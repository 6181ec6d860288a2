//! The agenda (the landing page): one branch, one day, a column per barber and a row per
//! slot ([`day`] builds it), with the day's totals. A free cell books there (Nuevo turno with
//! the barber and time filled in); a booking moves to one of the slots offered for it
//! ([`moves`]); [`week`] shows one barber's week. The page keeps itself current: `admin.js`
//! asks [`version`] every few seconds and, when the day changed, reloads the grid alone
//! (`parcial=1`). The changes made from it are in [`changes`].

mod changes;
mod day;
mod moves;
mod week;

pub use changes::{cancel, reschedule, set_notes, set_status, undo_status};
pub use moves::{InTheWay, holders, move_page};
pub use week::week_page;

use std::hash::{DefaultHasher, Hash, Hasher};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::{self, Actor, Staff};
use crate::domain::ClosureScope;
use crate::domain::staff::Role;
use crate::domain::{Barber, Branch, time};
use crate::http::AppState;
use crate::store::bookings as store_bookings;
use crate::store::{ReadTx, StoreError, catalog};

#[derive(Deserialize, Default)]
pub struct AgendaQuery {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    date: String,
    /// `1`: the grid alone, for the page's live updates.
    #[serde(default)]
    parcial: String,
}

/// One booking as its cell shows it.
pub struct Card {
    pub id: u64,
    pub range: String,
    pub client_id: u64,
    pub client: String,
    /// The client's page is linked for the front desk (a barbero may not open it).
    pub client_link: bool,
    /// Local format (`011 15-2345-6789`); `tel` and `wa` are for links only.
    pub phone: String,
    pub tel: String,
    /// `wa.me` digits when the client accepted WhatsApp, else empty.
    pub wa: String,
    pub services: String,
    pub total: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub source: &'static str,
    pub notes: String,
    pub cancel_reason: String,
    /// (target status, button label) the account may apply.
    pub actions: Vec<(&'static str, &'static str)>,
    /// The last status change may still be undone.
    pub can_undo: bool,
    pub can_cancel: bool,
    /// La caja: a completed booking (or one in the shop) offers its checkout to the desk.
    pub can_charge: bool,
    /// Front desk, and the booking can still move.
    pub can_reschedule: bool,
    /// The booking's local date and time.
    pub date_iso: String,
    pub start_hm: String,
}

/// A grid cell: `free`, `off` (not working), `break`, `closed` or `booking`.
pub struct Cell {
    pub kind: &'static str,
    pub rowspan: usize,
    pub card: Option<Card>,
    /// The column's barber and the row's time (`10:30`), for booking or dropping here.
    pub barber: u64,
    pub hm: String,
    /// A free cell the account may book from (front desk, not yet started).
    pub bookable: bool,
}

pub struct Row {
    pub time: String,
    pub now: bool,
    pub cells: Vec<Cell>,
}

pub struct BranchOption {
    pub slug: String,
    pub name: String,
    pub selected: bool,
}

/// The day's figures over the columns shown: active bookings, their minutes against the
/// minutes the barbers are open, and what they add up to.
pub struct Totals {
    pub bookings: usize,
    pub booked: String,
    pub open: String,
    pub occupancy: String,
    pub revenue: String,
}

/// The part of the agenda that changes with bookings: the grid, its totals and lists. The
/// page embeds it; `parcial=1` answers it alone.
#[derive(Template)]
#[template(path = "admin/_agenda_day.html")]
pub struct AgendaDay {
    pub csrf: String,
    pub front_desk: bool,
    pub branch_slug: String,
    pub branch_name: String,
    pub date_iso: String,
    pub date_label: String,
    /// (barber id, name) of each column.
    pub barbers: Vec<(u64, String)>,
    pub rows: Vec<Row>,
    /// Cancelled and no-show bookings of the day (they hold no time in the grid).
    pub inactive: Vec<Card>,
    /// The day's closures and time off over the columns shown: `Martín: de 14:00 a 16:30
    /// (Médico)`; their time is shaded in the grid.
    pub closures: Vec<String>,
    pub totals: Totals,
    /// [`version`] of the day when it was read.
    pub version: String,
}

#[derive(Template)]
#[template(path = "admin/agenda.html")]
pub struct AgendaPage {
    pub l: Layout,
    pub branches: Vec<BranchOption>,
    pub branch_slug: String,
    pub branch_name: String,
    pub date_iso: String,
    pub date_label: String,
    pub prev_iso: String,
    pub next_iso: String,
    pub today_iso: String,
    pub day: AgendaDay,
}

/// The closures touching `[midnight, next)` that apply to the branch or to one of `shown`,
/// each with the part of the day it takes.
fn day_closures(
    tx: &impl ReadTx,
    branch: &Branch,
    shown: &[&Barber],
    midnight: i64,
    next: i64,
) -> Result<Vec<String>, StoreError> {
    let tz = branch.tz();
    let mut found: Vec<(i64, String)> = Vec::new();
    for c in catalog::closures(tx)? {
        let who = match c.scope {
            ClosureScope::Branch(id) if id == branch.id => "Toda la sucursal".to_owned(),
            ClosureScope::Barber(id) => match shown.iter().find(|b| b.id == id) {
                Some(b) => b.name.as_str().to_owned(),
                None => continue,
            },
            ClosureScope::Branch(_) => continue,
        };
        let (from, to) = (
            c.start.as_second().max(midnight),
            c.end.as_second().min(next),
        );
        if from >= to {
            continue;
        }
        let part = if from == midnight && to == next {
            "todo el día".to_owned()
        } else {
            let hm = |t: i64| {
                jiff::Timestamp::from_second(t)
                    .map(|ts| view::time(ts, &tz))
                    .unwrap_or_default()
            };
            let end = if to == next {
                "24:00".to_owned()
            } else {
                hm(to)
            };
            format!("de {} a {end}", hm(from))
        };
        found.push((from, format!("{who}: {part} ({})", c.reason.as_str())));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, text)| text).collect())
}

/// What one account may see of a branch: every barber, or a barbero's own column.
fn visible(user_role: Role, own: Option<crate::domain::BarberId>, b: &Barber) -> bool {
    user_role.runs_front_desk() || own == Some(b.id)
}

/// The branches an account may open: all active ones, or those where a barbero works.
fn branches_for(tx: &impl ReadTx, current: &Current) -> Result<Vec<Branch>, StoreError> {
    let own = current.user.barber;
    let mut out = Vec::new();
    for b in catalog::branches(tx)?.into_iter().filter(|b| b.active) {
        let allowed = current.user.role.runs_front_desk()
            || catalog::barbers_at(tx, b.id)?
                .iter()
                .any(|x| Some(x.id) == own);
        if allowed {
            out.push(b);
        }
    }
    Ok(out)
}

/// `GET /admin/agenda?branch=palermo&date=2027-03-02` (`&parcial=1`: the grid alone).
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<AgendaQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let step = state.rules.step_seconds();
    let who = current.clone();
    let partial = q.parcial == "1";
    // The agenda shows the day's clients: the view is logged like a client's record (branch
    // and day only), in the transaction that read it.
    let actor = Actor::Staff(Staff::new(&who.user, who.ip.clone()));
    let page = app::views::read_logged(&state, &actor, move |txn, seen| {
        let page = day::build(txn, &who, &q.branch, &q.date, now, step)?;
        if let Some(p) = &page {
            let detail = serde_json::json!({"branch": p.branch_slug, "date": p.date_iso});
            seen.push("agenda.view", "agenda", None, Some(detail));
        }
        Ok(page)
    })
    .await?;
    let Some(mut page) = page else {
        return Err(AdminError::BadRequest(
            "No hay sucursales activas que puedas ver. Pedile al dueño que revise tu cuenta."
                .into(),
        ));
    };
    page.l = Layout::for_user("Agenda", &current, "agenda", flash);
    page.day.csrf = page.l.csrf.clone();
    if partial {
        let html = askama::Template::render(&page.day)?;
        return Ok(([("cache-control", "no-store")], Html(html)).into_response());
    }
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize)]
pub struct VersionQuery {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    date: String,
}

/// `GET /admin/agenda/version?branch=&date=`: `{"version": "…"}`, which changes whenever a
/// booking of that branch and day is made or changed (by anyone: the API, the booking pages,
/// another desk). No personal data, so the read is not logged; the page polls it.
pub async fn version(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let found = state
        .store
        .read(move |tx| {
            let branches = branches_for(tx, &current)?;
            let Some(branch) = branches.iter().find(|b| b.slug.as_str() == q.branch) else {
                return Ok(None);
            };
            let date = q
                .date
                .parse()
                .unwrap_or_else(|_| time::local_date(now, &branch.tz()));
            day_version(tx, branch, date).map(Some)
        })
        .await?;
    let version = found.ok_or(AdminError::NotFound)?;
    Ok((
        [("cache-control", "no-store")],
        Json(serde_json::json!({ "version": version })),
    )
        .into_response())
}

/// A digest of a branch's day: every booking's id and last change.
fn day_version(
    tx: &impl ReadTx,
    branch: &Branch,
    date: jiff::civil::Date,
) -> Result<String, StoreError> {
    let mut hasher = DefaultHasher::new();
    for b in store_bookings::for_branch_day(tx, branch, date)? {
        (b.id.0, b.updated_at.as_millisecond(), b.status.as_str()).hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}
