//! The agenda (the landing page): one branch, one day, a column per barber and a row per
//! slot. The changes made from it are in [`changes`].

mod changes;

pub use changes::{booking_view, cancel, reschedule, set_notes, set_status, undo_status};

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::{self, Actor, Staff};
use crate::domain::ClosureScope;
use crate::domain::availability::Interval;
use crate::domain::staff::Role;
use crate::domain::{Barber, Booking, BookingStatus, Branch, DomainError, booking, time};
use crate::http::AppState;
use crate::store::bookings as store_bookings;
use crate::store::{ReadTx, StoreError, audit, catalog, clients};

#[derive(Deserialize, Default)]
pub struct AgendaQuery {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    date: String,
}

/// One booking as its cell shows it.
pub struct Card {
    pub id: u64,
    pub range: String,
    pub client: String,
    pub phone: String,
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
    /// The booking's local date and time, to prefill the reschedule form.
    pub date_iso: String,
    pub start_hm: String,
}

/// A grid cell: `free`, `off` (not working), `break`, `closed` or `booking`.
pub struct Cell {
    pub kind: &'static str,
    pub rowspan: usize,
    pub card: Option<Card>,
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
    pub barbers: Vec<String>,
    pub rows: Vec<Row>,
    /// Cancelled and no-show bookings of the day (they hold no time in the grid).
    pub inactive: Vec<Card>,
    /// The day's closures and time off over the columns shown: `Martín: de 14:00 a 16:30
    /// (Médico)`; their time is shaded in the grid.
    pub closures: Vec<String>,
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

/// `GET /admin/agenda?branch=palermo&date=2027-03-02`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<AgendaQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let step = state.rules.step_seconds();
    let who = current.clone();
    // The agenda shows the day's clients: the view is logged like a client's record (branch
    // and day only), in the transaction that read it.
    let actor = Actor::Staff(Staff::new(&who.user, who.ip.clone()));
    let page = app::views::read_logged(&state, &actor, move |txn, seen| {
        let page = build(txn, &who, &q, now, step)?;
        if let Some(p) = &page {
            let detail = serde_json::json!({"branch": p.branch_slug, "date": p.date_iso});
            seen.push("agenda.view", "agenda", None, audit::json(detail));
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
    view::render(&page, &page.l, state.admin.secure_cookies)
}

fn build(
    tx: &impl ReadTx,
    current: &Current,
    q: &AgendaQuery,
    now: jiff::Timestamp,
    step: i64,
) -> Result<Option<AgendaPage>, StoreError> {
    let branches = branches_for(tx, current)?;
    let Some(branch) = branches
        .iter()
        .find(|b| b.slug.as_str() == q.branch)
        .or(branches.first())
        .cloned()
    else {
        return Ok(None);
    };
    let tz = branch.tz();
    let today = time::local_date(now, &tz);
    let date = q.date.parse::<Date>().unwrap_or(today);
    let (role, own) = (current.user.role, current.user.barber);
    let day_bookings = store_bookings::for_branch_day(tx, &branch, date)?;
    let mut columns = Vec::new();
    for barber in catalog::barbers_at(tx, branch.id)? {
        if !visible(role, own, &barber) {
            continue;
        }
        let day = store_bookings::barber_day(tx, &branch, &barber, date, None)?;
        let has_bookings = day_bookings.iter().any(|b| b.barber == barber.id);
        if day.open.is_empty() && !has_bookings && role.runs_front_desk() {
            continue;
        }
        columns.push((barber, day));
    }
    let shown: Vec<&Booking> = day_bookings
        .iter()
        .filter(|b| columns.iter().any(|(x, _)| x.id == b.barber))
        .collect();
    let midnight = time::day_start(date, &tz)?.as_second();
    let starts = columns
        .iter()
        .flat_map(|(_, d)| d.open.iter().map(|i| i.start))
        .chain(
            shown
                .iter()
                .filter(|b| b.status.is_active())
                .map(|b| b.start.as_second()),
        );
    let ends = columns
        .iter()
        .flat_map(|(_, d)| d.open.iter().map(|i| i.end))
        .chain(
            shown
                .iter()
                .filter(|b| b.status.is_active())
                .map(|b| b.end.as_second()),
        );
    let (first, last) = (starts.min(), ends.max());
    let mut rows = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let first = midnight + (first - midnight).div_euclid(step) * step;
        let mut covered = vec![0usize; columns.len()];
        let mut t = first;
        while t < last {
            let slot = Interval::new(t, t + step);
            let mut cells = Vec::new();
            for (i, (barber, day)) in columns.iter().enumerate() {
                if covered[i] > 0 {
                    covered[i] -= 1;
                    continue;
                }
                let starting = shown.iter().find(|b| {
                    b.barber == barber.id
                        && b.status.is_active()
                        && (t..t + step).contains(&b.start.as_second())
                });
                if let Some(b) = starting {
                    let span = (b.end.as_second() - t).max(step);
                    let rowspan = usize::try_from((span + step - 1) / step).unwrap_or(1);
                    let rowspan = rowspan
                        .min(usize::try_from((last - t + step - 1) / step).unwrap_or(1))
                        .max(1);
                    covered[i] = rowspan - 1;
                    cells.push(Cell {
                        kind: "booking",
                        rowspan,
                        card: Some(card(tx, b, &branch, current, now)?),
                    });
                    continue;
                }
                let kind = if day.closed.iter().any(|c| c.overlaps(&slot)) {
                    "closed"
                } else if day.open.iter().any(|o| o.contains(&slot)) {
                    "free"
                } else if day.open.first().is_some_and(|o| o.start <= t)
                    && day.open.last().is_some_and(|o| t < o.end)
                {
                    "break"
                } else {
                    "off"
                };
                cells.push(Cell {
                    kind,
                    rowspan: 1,
                    card: None,
                });
            }
            let ts = jiff::Timestamp::from_second(t).map_err(|_| DomainError::InvalidDate)?;
            rows.push(Row {
                time: view::time(ts, &tz),
                now: slot.start <= now.as_second() && now.as_second() < slot.end,
                cells,
            });
            t += step;
        }
    }
    let inactive = shown
        .iter()
        .filter(|b| !b.status.is_active())
        .map(|b| card(tx, b, &branch, current, now))
        .collect::<Result<Vec<_>, _>>()?;
    let next_midnight =
        time::day_start(date.tomorrow().map_err(|_| DomainError::InvalidDate)?, &tz)?.as_second();
    let barbers_shown: Vec<&Barber> = columns.iter().map(|(b, _)| b).collect();
    let closures = day_closures(tx, &branch, &barbers_shown, midnight, next_midnight)?;
    let iso = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    Ok(Some(AgendaPage {
        l: Layout::bare("Agenda"),
        branches: branches
            .iter()
            .map(|b| BranchOption {
                slug: b.slug.as_str().to_owned(),
                name: b.name.as_str().to_owned(),
                selected: b.id == branch.id,
            })
            .collect(),
        branch_slug: branch.slug.as_str().to_owned(),
        branch_name: branch.name.as_str().to_owned(),
        date_iso: date.to_string(),
        date_label: view::long_date(date),
        prev_iso: iso(date.yesterday().ok()),
        next_iso: iso(date.tomorrow().ok()),
        today_iso: today.to_string(),
        barbers: columns
            .iter()
            .map(|(b, _)| b.name.as_str().to_owned())
            .collect(),
        rows,
        inactive,
        closures,
    }))
}

fn card(
    tx: &impl ReadTx,
    b: &Booking,
    branch: &Branch,
    current: &Current,
    now: jiff::Timestamp,
) -> Result<Card, StoreError> {
    let tz = branch.tz();
    let client = clients::get(tx, b.client)?;
    let mine = current.user.role.runs_front_desk() || current.user.barber == Some(b.barber);
    let mut actions = Vec::new();
    if mine {
        for (to, label) in [
            (BookingStatus::CheckedIn, "Llegó"),
            (BookingStatus::Completed, "Terminado"),
            (BookingStatus::NoShow, "No vino"),
        ] {
            // Offered only when it may happen now: no "no vino" on a booking days away.
            if b.status.can_become(to) && to.check_timing(b.start, now).is_ok() {
                actions.push((to.as_str(), label));
            }
        }
    }
    Ok(Card {
        id: b.id.0,
        range: format!("{}–{}", view::time(b.start, &tz), view::time(b.end, &tz)),
        client: client
            .as_ref()
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_default(),
        phone: client
            .map(|c| c.phone.as_e164().to_owned())
            .unwrap_or_default(),
        services: b.service_names(),
        total: b.total.to_string(),
        status: b.status.as_str(),
        status_label: booking::status_label_es(b.status.as_str()),
        source: match b.source {
            crate::domain::BookingSource::Online => "online",
            crate::domain::BookingSource::WalkIn => "en el local",
            crate::domain::BookingSource::Phone => "por teléfono",
        },
        notes: b
            .notes
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        cancel_reason: b
            .cancel_reason
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        actions,
        can_undo: mine
            && b.status.undo_target().is_some()
            && b.undoable_until.is_some_and(|until| now <= until),
        can_cancel: current.user.role.runs_front_desk()
            && b.status.can_become(BookingStatus::Cancelled),
        can_reschedule: current.user.role.runs_front_desk() && b.status.is_reschedulable(),
        can_charge: current.user.role.runs_front_desk()
            && matches!(
                b.status,
                BookingStatus::Completed | BookingStatus::CheckedIn
            ),
        date_iso: time::local_date(b.start, &tz).to_string(),
        start_hm: view::time(b.start, &tz),
    })
}
