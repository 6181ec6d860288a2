//! Moving a booking (front desk): `GET /admin/bookings/{id}/mover?date=&barber=` offers the
//! free slots the booking fits in (its services, with the same barber, another or any; its
//! own time counts as free), and the form posts the chosen one to `reschedule`. A move that
//! is refused (someone took the slot meanwhile) comes back here naming the bookings in the
//! way, each with links to move or cancel it.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;

use super::day::card;
use super::{Card, visible};
use crate::app::bookings::front_desk_rules;
use crate::app::views::Seen;
use crate::app::{self, Actor, Staff};
use crate::domain::Branch;
use crate::domain::{BarberId, BookingId, DomainError, ServiceId, time};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::http::extract::PathId;
use crate::store::bookings::{self as store_bookings, BarberChoice};
use crate::store::{ReadTx, StoreError, catalog};

#[derive(Deserialize, Default)]
pub struct MoveQuery {
    #[serde(default)]
    date: String,
    /// `same` (default), `any` or a barber id.
    #[serde(default)]
    barber: String,
}

pub struct MoveSlot {
    /// `HH:MM/barber id`, as the reschedule form reads it.
    pub value: String,
    pub time: String,
    pub barber: String,
}

pub struct BarberOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A booking in the way of the chosen slot, with its client and the links to deal with it.
pub struct InTheWay {
    pub id: u64,
    pub range: String,
    pub client: String,
    pub client_id: u64,
    pub barber: String,
    /// Its day in the agenda, at its card (where it is cancelled).
    pub agenda: String,
}

#[derive(Template)]
#[template(path = "admin/booking_move.html")]
pub struct MovePage {
    pub l: Layout,
    pub card: Card,
    pub barber_name: String,
    pub branch_slug: String,
    pub date_iso: String,
    pub date_label: String,
    pub prev_iso: String,
    pub next_iso: String,
    pub barber: String,
    pub barbers: Vec<BarberOption>,
    pub slots: Vec<MoveSlot>,
    /// Why no slots could be offered (a past day, beyond the horizon…).
    pub problem: String,
    /// The client accepted WhatsApp: a move is told to them.
    pub notifies: bool,
    pub refused: String,
    pub in_the_way: Vec<InTheWay>,
}

/// `GET /admin/bookings/{id}/mover`.
pub async fn move_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Query(q): Query<MoveQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    render(&state, current, BookingId(id), q, flash, None).await
}

/// A refusal to show above the slots: the message and the slot that was asked for.
pub struct Refusal {
    pub message: String,
    /// The barber and `[start, end)` (seconds) asked for, to name who holds them.
    pub wanted: Option<(BarberId, i64, i64)>,
}

/// The page for booking `id` on `q`'s day and barber; with `refused`, 409 and the bookings in
/// the way.
pub async fn render(
    state: &AppState,
    current: Current,
    id: BookingId,
    q: MoveQuery,
    flash: Flash,
    refused: Option<Refusal>,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let rules = front_desk_rules(state.rules);
    let who = current.clone();
    let actor = Actor::Staff(Staff::new(&who.user, who.ip.clone()));
    let wanted = refused.as_ref().and_then(|r| r.wanted);
    let page = app::views::read_logged(state, &actor, move |tx, seen| {
        let b = store_bookings::get(tx, id)?.ok_or(DomainError::UnknownBooking)?;
        let branch = catalog::branch(tx, b.branch)?.ok_or(DomainError::UnknownBranch)?;
        seen.push("booking.view", "booking", Some(id.0), None);
        let tz = branch.tz();
        let date = q
            .date
            .parse::<Date>()
            .unwrap_or_else(|_| time::local_date(b.start, &tz).max(time::local_date(now, &tz)));
        let barbers: Vec<_> = catalog::barbers_at(tx, branch.id)?
            .into_iter()
            .filter(|x| visible(who.user.role, who.user.barber, x))
            .collect();
        let name_of = |bid: BarberId| {
            barbers
                .iter()
                .find(|x| x.id == bid)
                .map(|x| x.name.as_str().to_owned())
                .unwrap_or_default()
        };
        let choice = match q.barber.as_str() {
            "any" => BarberChoice::Any,
            raw => raw
                .parse::<u64>()
                .map(|n| BarberChoice::Barber(BarberId(n)))
                .unwrap_or(BarberChoice::Barber(b.barber)),
        };
        let selected = match choice {
            BarberChoice::Any => "any".to_owned(),
            BarberChoice::Barber(x) => x.0.to_string(),
        };
        let services: Vec<ServiceId> = b.services.iter().map(|s| s.id).collect();
        let (slots, problem) = match store_bookings::availability_excluding(
            tx,
            &branch,
            date,
            &services,
            choice,
            now,
            &rules,
            Some(id),
        ) {
            Ok(found) => (found, String::new()),
            Err(StoreError::Rule(rule)) => (Vec::new(), rule.message_es()),
            Err(e) => return Err(e),
        };
        let in_the_way = match wanted {
            Some((bid, from, to)) => holders(tx, &branch, date, bid, (from, to), id, seen)?,
            None => Vec::new(),
        };
        let notifies =
            crate::store::clients::get(tx, b.client)?.is_some_and(|c| c.whatsapp_consent);
        let iso = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
        let mut options = vec![BarberOption {
            value: "any".into(),
            label: "Cualquiera".into(),
            selected: selected == "any",
        }];
        options.extend(barbers.iter().map(|x| BarberOption {
            value: x.id.0.to_string(),
            label: if x.id == b.barber {
                format!("{} (el mismo)", x.name.as_str())
            } else {
                x.name.as_str().to_owned()
            },
            selected: selected == x.id.0.to_string(),
        }));
        Ok(MovePage {
            l: Layout::bare("Reprogramar"),
            card: card(tx, &b, &branch, &who, now)?,
            barber_name: name_of(b.barber),
            branch_slug: branch.slug.as_str().to_owned(),
            date_iso: date.to_string(),
            date_label: view::long_date(date),
            prev_iso: iso(date.yesterday().ok()),
            next_iso: iso(date.tomorrow().ok()),
            barber: selected,
            barbers: options,
            slots: slots
                .into_iter()
                .map(|s| MoveSlot {
                    value: format!("{}/{}", view::time(s.start, &tz), s.barber.0),
                    time: view::time(s.start, &tz),
                    barber: name_of(s.barber),
                })
                .collect(),
            problem,
            notifies,
            refused: String::new(),
            in_the_way,
        })
    })
    .await?;
    let mut page = page;
    page.l = Layout::for_user("Reprogramar", &current, "agenda", flash);
    let conflict = refused.is_some();
    if let Some(r) = refused {
        page.refused = r.message;
    }
    let mut response = view::render(&page, &page.l, state.admin.secure_cookies)?;
    if conflict {
        *response.status_mut() = axum::http::StatusCode::CONFLICT;
    }
    Ok(response)
}

/// The active bookings of `barber` on `date` overlapping `[from, to)` (seconds), other than
/// `skip`, with their clients (each view logged in `seen`): who holds a slot a change wanted.
pub fn holders(
    tx: &impl ReadTx,
    branch: &Branch,
    date: Date,
    barber: BarberId,
    (from, to): (i64, i64),
    skip: BookingId,
    seen: &mut Seen,
) -> Result<Vec<InTheWay>, StoreError> {
    let tz = branch.tz();
    let catalog = catalog::load(tx)?;
    let mut out = Vec::new();
    for other in store_bookings::for_branch_day(tx, branch, date)? {
        let overlaps = other.start.as_second() < to && from < other.busy_until.as_second();
        if other.id == skip || other.barber != barber || !other.status.is_active() || !overlaps {
            continue;
        }
        let client = crate::store::clients::get(tx, other.client)?;
        seen.push("client.view", "client", Some(other.client.0), None);
        out.push(InTheWay {
            id: other.id.0,
            range: format!(
                "{}–{}",
                view::time(other.start, &tz),
                view::time(other.end, &tz)
            ),
            client: client
                .as_ref()
                .map(|c| c.name.as_str().to_owned())
                .unwrap_or_default(),
            client_id: other.client.0,
            barber: catalog
                .barber(other.barber)
                .map(|b| b.name.as_str().to_owned())
                .unwrap_or_default(),
            agenda: format!(
                "/admin/agenda?branch={}&date={date}#booking-{}",
                branch.slug.as_str(),
                other.id.0
            ),
        });
    }
    Ok(out)
}

/// The query that shows the move page again on `date` with `barber`.
pub fn query(date: Date, barber: &str) -> MoveQuery {
    MoveQuery {
        date: date.to_string(),
        barber: barber.to_owned(),
    }
}
