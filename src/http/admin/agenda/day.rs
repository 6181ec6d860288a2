//! One branch's day as the agenda shows it: the grid (a column per barber, a row per slot),
//! each booking's card, and the day's totals.

use jiff::civil::Date;

use super::{
    AgendaDay, AgendaPage, BranchOption, Card, Cell, Row, Totals, branches_for, day_closures,
    day_version, visible,
};
use crate::domain::availability::{BarberDay, Interval};
use crate::domain::{Barber, Booking, BookingStatus, Branch, DomainError, Money, booking, time};
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Layout};
use crate::store::bookings as store_bookings;
use crate::store::{ReadTx, StoreError, clients};

pub(super) fn build(
    tx: &impl ReadTx,
    current: &Current,
    branch_slug: &str,
    date: &str,
    now: jiff::Timestamp,
    step: i64,
) -> Result<Option<AgendaPage>, StoreError> {
    let branches = branches_for(tx, current)?;
    let Some(branch) = branches
        .iter()
        .find(|b| b.slug.as_str() == branch_slug)
        .or(branches.first())
        .cloned()
    else {
        return Ok(None);
    };
    let tz = branch.tz();
    let today = time::local_date(now, &tz);
    let date = date.parse::<Date>().unwrap_or(today);
    let (role, own) = (current.user.role, current.user.barber);
    let day_bookings = store_bookings::for_branch_day(tx, &branch, date)?;
    let mut columns = Vec::new();
    for barber in crate::store::catalog::barbers_at(tx, branch.id)? {
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
    let rows = grid(tx, &columns, &shown, &branch, current, now, step, midnight)?;
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
    let day = AgendaDay {
        csrf: String::new(),
        front_desk: role.runs_front_desk(),
        branch_slug: branch.slug.as_str().to_owned(),
        branch_name: branch.name.as_str().to_owned(),
        date_iso: date.to_string(),
        date_label: view::long_date(date),
        barbers: columns
            .iter()
            .map(|(b, _)| (b.id.0, b.name.as_str().to_owned()))
            .collect(),
        rows,
        inactive,
        closures,
        totals: totals(&columns, &shown, step),
        version: day_version(tx, &branch, date)?,
    };
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
        day,
    }))
}

/// The rows from the first opening or booking to the last, a slot each.
#[allow(clippy::too_many_arguments)]
fn grid(
    tx: &impl ReadTx,
    columns: &[(Barber, BarberDay)],
    shown: &[&Booking],
    branch: &Branch,
    current: &Current,
    now: jiff::Timestamp,
    step: i64,
    midnight: i64,
) -> Result<Vec<Row>, StoreError> {
    let tz = branch.tz();
    let active = || shown.iter().filter(|b| b.status.is_active());
    let starts = columns
        .iter()
        .flat_map(|(_, d)| d.open.iter().map(|i| i.start))
        .chain(active().map(|b| b.start.as_second()));
    let ends = columns
        .iter()
        .flat_map(|(_, d)| d.open.iter().map(|i| i.end))
        .chain(active().map(|b| b.end.as_second()));
    let (Some(first), Some(last)) = (starts.min(), ends.max()) else {
        return Ok(Vec::new());
    };
    let front_desk = current.user.role.runs_front_desk();
    let mut rows = Vec::new();
    let first = midnight + (first - midnight).div_euclid(step) * step;
    let mut covered = vec![0usize; columns.len()];
    let mut t = first;
    while t < last {
        let slot = Interval::new(t, t + step);
        let ts = jiff::Timestamp::from_second(t).map_err(|_| DomainError::InvalidDate)?;
        let hm = view::time(ts, &tz);
        let mut cells = Vec::new();
        for (i, (barber, day)) in columns.iter().enumerate() {
            if covered[i] > 0 {
                covered[i] -= 1;
                continue;
            }
            let starting = active()
                .find(|b| b.barber == barber.id && (t..t + step).contains(&b.start.as_second()));
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
                    card: Some(card(tx, b, branch, current, now)?),
                    barber: barber.id.0,
                    hm: hm.clone(),
                    bookable: false,
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
                barber: barber.id.0,
                hm: hm.clone(),
                bookable: kind == "free" && front_desk && t >= now.as_second(),
            });
        }
        rows.push(Row {
            time: hm,
            now: slot.start <= now.as_second() && now.as_second() < slot.end,
            cells,
        });
        t += step;
    }
    Ok(rows)
}

/// Active bookings, their minutes against the open minutes (closures out), their total.
fn totals(columns: &[(Barber, BarberDay)], shown: &[&Booking], step: i64) -> Totals {
    let active: Vec<&&Booking> = shown.iter().filter(|b| b.status.is_active()).collect();
    let booked: i64 = active
        .iter()
        .map(|b| (b.end.as_second() - b.start.as_second()) / 60)
        .sum();
    let mut open = 0i64;
    for (_, day) in columns {
        for o in &day.open {
            let mut t = o.start;
            while t + step <= o.end {
                let slot = Interval::new(t, t + step);
                if !day.closed.iter().any(|c| c.overlaps(&slot)) {
                    open += step / 60;
                }
                t += step;
            }
        }
    }
    let occupancy = if open > 0 {
        format!("{} %", (booked * 100 + open / 2) / open)
    } else {
        "—".to_owned()
    };
    Totals {
        bookings: active.len(),
        booked: hours_es(booked),
        open: hours_es(open),
        occupancy,
        revenue: Money::sum(active.iter().map(|b| b.total)).to_string(),
    }
}

/// `5 h 30 min`, `45 min`.
fn hours_es(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

pub(super) fn card(
    tx: &impl ReadTx,
    b: &Booking,
    branch: &Branch,
    current: &Current,
    now: jiff::Timestamp,
) -> Result<Card, StoreError> {
    let tz = branch.tz();
    let client = clients::get(tx, b.client)?;
    let front_desk = current.user.role.runs_front_desk();
    let mine = front_desk || current.user.barber == Some(b.barber);
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
    let reachable = client
        .as_ref()
        .filter(|c| !c.is_anonymised() && c.phone.as_e164().starts_with('+'));
    Ok(Card {
        id: b.id.0,
        range: format!("{}–{}", view::time(b.start, &tz), view::time(b.end, &tz)),
        client_id: b.client.0,
        client: client
            .as_ref()
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_default(),
        client_link: front_desk && client.is_some(),
        phone: client.as_ref().map(|c| c.phone.local()).unwrap_or_default(),
        tel: reachable
            .map(|c| c.phone.as_e164().to_owned())
            .unwrap_or_default(),
        wa: reachable
            .filter(|c| c.whatsapp_consent)
            .map(|c| c.phone.wa_digits().to_owned())
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
        can_cancel: front_desk && b.status.can_become(BookingStatus::Cancelled),
        can_reschedule: front_desk && b.status.is_reschedulable(),
        can_charge: front_desk
            && matches!(
                b.status,
                BookingStatus::Completed | BookingStatus::CheckedIn
            ),
        date_iso: time::local_date(b.start, &tz).to_string(),
        start_hm: view::time(b.start, &tz),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn booked_time_reads_in_hours_and_minutes() {
        assert_eq!(super::hours_es(45), "45 min");
        assert_eq!(super::hours_es(120), "2 h");
        assert_eq!(super::hours_es(330), "5 h 30 min");
    }
}
