//! One barber's week at a branch: `GET /admin/agenda/semana?branch=&barber=&date=`, Monday
//! to Sunday of `date`'s week, a column per day and a row per slot of the day, with the same
//! cells as the day's grid (a free cell books there, a booking links to its day).

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;

use super::{branches_for, visible};
use crate::app::{self, Actor, Staff};
use crate::domain::availability::Interval;
use crate::domain::{BarberId, Booking, DomainError, Money, booking, time};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::store::bookings as store_bookings;
use crate::store::{catalog, clients};

#[derive(Deserialize, Default)]
pub struct WeekQuery {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    barber: String,
    #[serde(default)]
    date: String,
}

pub struct WeekCell {
    /// `free`, `break`, `off`, `closed` or `booking`.
    pub kind: &'static str,
    pub rowspan: usize,
    pub date_iso: String,
    pub hm: String,
    pub bookable: bool,
    /// For a booking: id, `10:00–10:45`, client, status and its label.
    pub booking: Option<(u64, String, String, &'static str, &'static str)>,
}

pub struct WeekRow {
    pub time: String,
    pub cells: Vec<WeekCell>,
}

#[derive(Template)]
#[template(path = "admin/agenda_week.html")]
pub struct WeekPage {
    pub l: Layout,
    pub branch_slug: String,
    pub branch_name: String,
    pub barber_id: u64,
    pub barber_name: String,
    pub date_iso: String,
    pub prev_iso: String,
    pub next_iso: String,
    /// (ISO date, `lunes 01/03`) of each column.
    pub days: Vec<(String, String)>,
    pub rows: Vec<WeekRow>,
    pub bookings: usize,
    pub revenue: String,
}

/// `GET /admin/agenda/semana`: a barbero sees only their own week.
pub async fn week_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<WeekQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let step = state.rules.step_seconds();
    let who = current.clone();
    let actor = Actor::Staff(Staff::new(&who.user, who.ip.clone()));
    let page = app::views::read_logged(&state, &actor, move |tx, seen| {
        let branches = branches_for(tx, &who)?;
        let Some(branch) = branches
            .iter()
            .find(|b| b.slug.as_str() == q.branch)
            .or(branches.first())
            .cloned()
        else {
            return Ok(None);
        };
        let tz = branch.tz();
        let barbers = catalog::barbers_at(tx, branch.id)?;
        let wanted = q
            .barber
            .parse::<u64>()
            .ok()
            .map(BarberId)
            .or(who.user.barber);
        let Some(barber) = barbers
            .iter()
            .filter(|b| visible(who.user.role, who.user.barber, b))
            .find(|b| Some(b.id) == wanted || wanted.is_none())
            .cloned()
        else {
            return Ok(None);
        };
        let day = q
            .date
            .parse::<Date>()
            .unwrap_or_else(|_| time::local_date(now, &tz));
        let monday = day
            .checked_sub(i64::from(day.weekday().to_monday_zero_offset()).days())
            .map_err(|_| DomainError::InvalidDate)?;
        let mut days = Vec::new();
        for n in 0..7i64 {
            let d = monday
                .checked_add(n.days())
                .map_err(|_| DomainError::InvalidDate)?;
            let plan = store_bookings::barber_day(tx, &branch, &barber, d, None)?;
            let booked: Vec<Booking> = store_bookings::for_branch_day(tx, &branch, d)?
                .into_iter()
                .filter(|b| b.barber == barber.id && b.status.is_active())
                .collect();
            let midnight = time::day_start(d, &tz)?.as_second();
            days.push((d, midnight, plan, booked));
        }
        // Rows: the earliest to the latest time of day anything happens, the week over.
        let offsets = days.iter().flat_map(|(_, m, plan, booked)| {
            let open = plan.open.iter().map(move |o| (o.start - m, o.end - m));
            let busy = booked
                .iter()
                .map(move |b| (b.start.as_second() - m, b.end.as_second() - m));
            open.chain(busy)
        });
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for (a, b) in offsets {
            first = first.min(a);
            last = last.max(b);
        }
        let mut rows = Vec::new();
        let mut covered = [0usize; 7];
        let front_desk = who.user.role.runs_front_desk();
        if first < last {
            let mut off = first.div_euclid(step) * step;
            while off < last {
                let mut cells = Vec::new();
                for (i, (d, m, plan, booked)) in days.iter().enumerate() {
                    if covered[i] > 0 {
                        covered[i] -= 1;
                        continue;
                    }
                    let t = m + off;
                    let slot = Interval::new(t, t + step);
                    let hm = hm_of(off);
                    let starting = booked
                        .iter()
                        .find(|b| (t..t + step).contains(&b.start.as_second()));
                    if let Some(b) = starting {
                        let span = (b.end.as_second() - t).max(step);
                        let rows_left = (last - off + step - 1) / step;
                        let rowspan = ((span + step - 1) / step).min(rows_left).max(1);
                        let rowspan = usize::try_from(rowspan).unwrap_or(1);
                        covered[i] = rowspan - 1;
                        let client = clients::get(tx, b.client)?
                            .map(|c| c.name.as_str().to_owned())
                            .unwrap_or_default();
                        cells.push(WeekCell {
                            kind: "booking",
                            rowspan,
                            date_iso: d.to_string(),
                            hm,
                            bookable: false,
                            booking: Some((
                                b.id.0,
                                format!("{}–{}", view::time(b.start, &tz), view::time(b.end, &tz)),
                                client,
                                b.status.as_str(),
                                booking::status_label_es(b.status.as_str()),
                            )),
                        });
                        continue;
                    }
                    let kind = if plan.closed.iter().any(|c| c.overlaps(&slot)) {
                        "closed"
                    } else if plan.open.iter().any(|o| o.contains(&slot)) {
                        "free"
                    } else if plan.open.first().is_some_and(|o| o.start <= t)
                        && plan.open.last().is_some_and(|o| t < o.end)
                    {
                        "break"
                    } else {
                        "off"
                    };
                    cells.push(WeekCell {
                        kind,
                        rowspan: 1,
                        date_iso: d.to_string(),
                        hm,
                        bookable: kind == "free" && front_desk && t >= now.as_second(),
                        booking: None,
                    });
                }
                rows.push(WeekRow {
                    time: hm_of(off),
                    cells,
                });
                off += step;
            }
        }
        let all: Vec<&Booking> = days.iter().flat_map(|(_, _, _, b)| b.iter()).collect();
        let detail = serde_json::json!({
            "branch": branch.slug.as_str(), "barber": barber.id.0, "week": monday.to_string()
        });
        seen.push("agenda.view", "agenda", None, Some(detail));
        let iso = |n: i64| {
            monday
                .checked_add(n.days())
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        Ok(Some(WeekPage {
            l: Layout::bare("Semana"),
            branch_slug: branch.slug.as_str().to_owned(),
            branch_name: branch.name.as_str().to_owned(),
            barber_id: barber.id.0,
            barber_name: barber.name.as_str().to_owned(),
            date_iso: monday.to_string(),
            prev_iso: iso(-7),
            next_iso: iso(7),
            days: days
                .iter()
                .map(|(d, ..)| {
                    let label = view::long_date(*d);
                    (d.to_string(), label[..label.len() - 5].to_owned())
                })
                .collect(),
            rows,
            bookings: all.len(),
            revenue: Money::sum(all.iter().map(|b| b.total)).to_string(),
        }))
    })
    .await?;
    let Some(mut page) = page else {
        return Err(AdminError::NotFound);
    };
    page.l = Layout::for_user("Semana", &current, "agenda", flash);
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `09:30` for seconds after midnight.
fn hm_of(offset: i64) -> String {
    format!("{:02}:{:02}", offset / 3600, offset % 3600 / 60)
}
