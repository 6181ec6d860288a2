//! The load benchmark's database (`barberpro bench-data`, see `benches/README.md`): a chain
//! of branches with barbers, services, holidays, clients and past and future bookings, built
//! in large write transactions.
//!
//! The layout is fixed so the benchmark's Lua scripts can compute valid slots without asking
//! the server: branch `i` (1-based) has the slug [`branch_slug`]`(i)`; barbers are spread
//! evenly, branch by branch, in id order; every barber does every service and works Monday
//! to Saturday, 09:00–21:00 with lunch 13:00–14:00; service 6 lasts 15 minutes with no
//! buffer. Bookings and closures fill the past and the next `future_days` days only: later
//! days up to the horizon are free for the benchmark's writes.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::availability::{BarberDay, Interval};
use crate::domain::booking::span_minutes;
use crate::domain::time::{self, ClockTime, iso_weekday, local_date};
use crate::domain::{
    Barber, BarberId, BookedService, Booking, BookingId, BookingSource, BookingStatus, Branch,
    BranchId, ClientId, Closure, ClosureId, ClosureScope, DomainError, Money, Phone, Service,
    ServiceId, Shift, Slug, Text,
};
use crate::store::clients::ClientDetails;
use crate::store::{Store, StoreError, catalog};

/// How big a chain to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub branches: usize,
    pub barbers: usize,
    pub clients: u64,
    pub bookings: u64,
    /// Days after today that already have bookings; the rest of the horizon stays free.
    pub future_days: i64,
    /// Rows per write transaction.
    pub rows_per_commit: usize,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub branches: usize,
    pub barbers: usize,
    pub services: usize,
    pub closures: usize,
    pub clients: u64,
    pub bookings: u64,
    /// The oldest local date with a booking.
    pub first_day: Option<Date>,
    /// Checkouts of completed bookings (one per completed booking).
    pub sales: u64,
}

const NEIGHBOURHOODS: [&str; 10] = [
    "palermo",
    "belgrano",
    "recoleta",
    "caballito",
    "nunez",
    "almagro",
    "flores",
    "urquiza",
    "san-telmo",
    "colegiales",
];

/// The slug of branch `i` (1-based): a Buenos Aires neighbourhood, numbered past the tenth.
pub fn branch_slug(i: usize) -> String {
    let name = NEIGHBOURHOODS[(i - 1) % NEIGHBOURHOODS.len()];
    match (i - 1) / NEIGHBOURHOODS.len() {
        0 => name.to_owned(),
        n => format!("{name}-{}", n + 1),
    }
}

/// (name, minutes, buffer minutes, pesos); ids follow this order from 1.
const SERVICES: [(&str, u16, u16, i64); 6] = [
    ("Corte clásico", 30, 5, 8_000),
    ("Corte y lavado", 45, 5, 10_500),
    ("Barba", 20, 5, 5_000),
    ("Afeitado con navaja", 30, 10, 6_500),
    ("Color", 60, 10, 15_000),
    ("Perfilado de barba", 15, 0, 4_000),
];

const FIRST_NAMES: [&str; 12] = [
    "Martín",
    "Lucía",
    "Diego",
    "Sofía",
    "Nicolás",
    "Valentina",
    "Juan",
    "Camila",
    "Mateo",
    "Julieta",
    "Santiago",
    "Agustina",
];
const LAST_NAMES: [&str; 10] = [
    "González",
    "Rodríguez",
    "Gómez",
    "Fernández",
    "López",
    "Díaz",
    "Martínez",
    "Pérez",
    "Romero",
    "Sosa",
];

fn text(s: &str) -> Result<Text, DomainError> {
    Text::line("bench", s, 200)
}

fn clock(h: u16, m: u16) -> Result<ClockTime, DomainError> {
    ClockTime::from_hm(h, m)
}

/// Fills an empty database. Refuses one that already has a catalogue.
pub fn generate(store: &Store, spec: &Spec, now: Timestamp) -> Result<Summary, StoreError> {
    if spec.branches == 0 || spec.barbers < spec.branches || spec.clients < 2_000 {
        return Err(DomainError::InvalidField {
            field: "spec",
            reason: "needs a branch, a barber per branch and at least 2,000 clients",
        }
        .into());
    }
    let tz = time::time_zone(crate::domain::catalog::DEFAULT_TZ)?;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut bulk = store.bulk_writer(spec.rows_per_commit)?;
    if !catalog::is_empty(bulk.txn())? {
        return Err(DomainError::InvalidField {
            field: "data_dir",
            reason: "the database is not empty",
        }
        .into());
    }
    let mut summary = Summary::default();

    let mut branches = Vec::new();
    for i in 1..=spec.branches {
        let slug = branch_slug(i);
        let branch = Branch {
            id: BranchId(0),
            slug: Slug::parse(&slug)?,
            name: text(&format!("BarberPro {slug}"))?,
            address: text(&format!("Av. Corrientes {}, CABA", 1000 + i * 100))?,
            phone: Some(Phone::parse(&format!("011 4833-{:04}", 1000 + i))?),
            time_zone: crate::domain::catalog::DEFAULT_TZ.into(),
            active: true,
        };
        branches.push(catalog::insert_branch(bulk.txn(), branch)?);
    }
    let mut services = Vec::new();
    for (name, minutes, buffer, pesos) in SERVICES {
        let service = Service {
            id: ServiceId(0),
            name: text(name)?,
            duration_minutes: minutes,
            buffer_minutes: buffer,
            price: Money::from_pesos(pesos)?,
            active: true,
            category: None,
        };
        services.push(catalog::insert_service(bulk.txn(), service)?);
    }
    let service_ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let mut barbers = Vec::new();
    for i in 0..spec.barbers {
        let branch = &branches[i * spec.branches / spec.barbers];
        let shifts = (1..=6)
            .map(|d| {
                Shift::new(
                    d,
                    branch.id,
                    clock(9, 0)?,
                    clock(21, 0)?,
                    vec![(clock(13, 0)?, clock(14, 0)?)],
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = format!("{} {}", FIRST_NAMES[i % 12], LAST_NAMES[(i / 12) % 10]);
        let barber = Barber {
            id: BarberId(0),
            name: text(&name)?,
            active: true,
            services: service_ids.clone(),
            shifts,
        };
        barbers.push((catalog::insert_barber(bulk.txn(), barber)?, branch.clone()));
    }
    summary.branches = branches.len();
    summary.services = services.len();
    summary.barbers = barbers.len();

    // Holidays for every branch and a week off for some barbers, in the past year and the
    // booked part of the future only.
    let today = local_date(now, &tz);
    let mut closures = Vec::new();
    for offset in [-300, -240, -180, -120, -60, -20, 10, 30] {
        let day = add_days(today, offset)?;
        if offset > spec.future_days {
            continue;
        }
        for branch in &branches {
            closures.push((ClosureScope::Branch(branch.id), day, 1, "Feriado"));
        }
    }
    for (i, (barber, _)) in barbers.iter().enumerate().step_by(4) {
        let day = add_days(today, -200 + (i as i64 * 7) % 180)?;
        closures.push((ClosureScope::Barber(barber.id), day, 7, "Vacaciones"));
    }
    let mut closed: Vec<(ClosureScope, Interval)> = Vec::new();
    for (scope, day, days, reason) in closures {
        let start = time::day_start(day, &tz)?;
        let end = time::day_start(add_days(day, days)?, &tz)?;
        catalog::insert_closure(
            bulk.txn(),
            Closure {
                id: ClosureId(0),
                scope,
                start,
                end,
                reason: text(reason)?,
            },
        )?;
        closed.push((scope, Interval::from_ts(start, end)));
    }
    summary.closures = closed.len();

    let created = add_days(today, -800)?;
    let created_at = time::day_start(created, &tz)?;
    for i in 0..spec.clients {
        let name = format!(
            "{} {}",
            FIRST_NAMES[(i % 12) as usize],
            LAST_NAMES[((i / 12) % 10) as usize]
        );
        let details = ClientDetails {
            name: text(&name)?,
            // +54 9 11 5xxx-xxxx: mobile numbers in Buenos Aires (the benchmark's new clients
            // use 6xxx-xxxx, so they never collide).
            phone: Phone::from_e164_unchecked(format!("+549115{:07}", i)),
            email: None,
            whatsapp_consent: i % 3 != 0,
        };
        bulk.client(details, created_at)?;
    }
    summary.clients = spec.clients;

    // Future days first (partly booked), then the past backwards until the count is reached.
    // Consecutive bookings get consecutive clients (mod the client count), so bookings close
    // in time never share a client.
    let mut days: Vec<(Date, f64)> = (0..=spec.future_days)
        .map(|d| add_days(today, d).map(|day| (day, 0.5)))
        .collect::<Result<_, _>>()?;
    let mut k: u64 = 0;
    let stride = coprime_stride(spec.clients);
    let mut back = 1;
    let mut i = 0;
    while k < spec.bookings {
        if i == days.len() {
            days.push((add_days(today, -back)?, 0.85));
            back += 1;
            summary.first_day = days.last().map(|d| d.0);
        }
        let (day, fill) = days[i];
        i += 1;
        for (barber, branch) in &barbers {
            let mut open = BarberDay::default();
            for shift in barber.shifts_on(iso_weekday(day), branch.id) {
                let span = Interval::from_ts(
                    time::at(day, shift.start, &tz)?,
                    time::at(day, shift.end, &tz)?,
                );
                let breaks = shift
                    .breaks
                    .iter()
                    .map(|(s, e)| {
                        Ok(Interval::from_ts(
                            time::at(day, *s, &tz)?,
                            time::at(day, *e, &tz)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, DomainError>>()?;
                open.add_shift(span, &breaks);
            }
            for window in &open.open {
                let mut t = window.start;
                while t < window.end && k < spec.bookings {
                    let service = &services[rng.gen_range(0..services.len())];
                    let (work, busy) =
                        span_minutes(&[(service.duration_minutes, service.buffer_minutes)]);
                    let (work, busy) = (work * 60, busy * 60);
                    let want = Interval::new(t, t + busy);
                    let is_closed = closed.iter().any(|(scope, span)| {
                        let applies = match scope {
                            ClosureScope::Branch(b) => *b == branch.id,
                            ClosureScope::Barber(b) => *b == barber.id,
                        };
                        applies && span.overlaps(&want)
                    });
                    if want.end > window.end || is_closed || !rng.gen_bool(fill) {
                        t += 900;
                        continue;
                    }
                    let client = ClientId(1 + (k * stride) % spec.clients);
                    let booking = booking_at(
                        &mut rng, now, branch, barber, client, service, t, work, busy,
                    )?;
                    let (status, start, total) = (booking.status, booking.start, booking.total);
                    let id = bulk.booking(booking)?;
                    if status == BookingStatus::Completed {
                        let sale = sale_of(&mut rng, id, client, barber.id, service)?;
                        let stamp = crate::store::ledger::Stamp {
                            branch: branch.id,
                            day: local_date(start, &tz),
                            at: start,
                            by: None,
                        };
                        debug_assert_eq!(total, service.price);
                        bulk.sale(stamp, sale)?;
                        summary.sales += 1;
                    }
                    k += 1;
                    // Next start on the 15-minute grid after the barber is free again.
                    t += (busy + 899) / 900 * 900;
                }
            }
        }
    }
    summary.bookings = k;
    bulk.finish()?;
    Ok(summary)
}

/// The checkout of a completed booking: its service, a tip now and then, one payment method;
/// the barber earns 40 % (the reports read the daily totals these keep).
fn sale_of(
    rng: &mut StdRng,
    booking: BookingId,
    client: ClientId,
    barber: BarberId,
    service: &Service,
) -> Result<crate::domain::caja::Sale, StoreError> {
    use crate::domain::caja::{
        Checkout, CommissionRules, Draft, PaymentMethod, Rate, Sale, ServiceLine, Tender,
    };
    let tip = Money::from_pesos([0, 0, 500, 1_000][rng.gen_range(0..4)])?;
    let method = PaymentMethod::ALL[rng.gen_range(0..PaymentMethod::ALL.len())];
    let amount = Money::from_centavos(service.price.centavos() + tip.centavos())?;
    let checkout = Checkout::new(Draft {
        services: vec![ServiceLine {
            service: service.id,
            name: service.name.clone(),
            price: service.price,
        }],
        tip,
        tenders: vec![Tender { method, amount }],
        ..Draft::default()
    })
    .map_err(DomainError::Caja)?;
    let rules = CommissionRules {
        services: Rate::Percent(4_000),
        ..CommissionRules::default()
    };
    Ok(Sale {
        booking: Some(booking),
        client: Some(client),
        barber,
        commissions: rules.lines(&checkout, |_| None),
        checkout,
    })
}

#[allow(clippy::too_many_arguments)]
fn booking_at(
    rng: &mut StdRng,
    now: Timestamp,
    branch: &Branch,
    barber: &Barber,
    client: ClientId,
    service: &Service,
    start: i64,
    work: i64,
    busy: i64,
) -> Result<Booking, StoreError> {
    let ts = |s: i64| Timestamp::from_second(s).map_err(|_| DomainError::InvalidDate);
    let start_ts = ts(start)?;
    let roll: f64 = rng.r#gen();
    let status = match (start_ts < now, roll) {
        (true, r) if r < 0.85 => BookingStatus::Completed,
        (true, r) if r < 0.90 => BookingStatus::NoShow,
        (false, r) if r < 0.90 => BookingStatus::Confirmed,
        _ => BookingStatus::Cancelled,
    };
    let made = ts(start - 86_400 * rng.gen_range(1..20))?;
    Ok(Booking {
        id: BookingId(0),
        branch: branch.id,
        barber: barber.id,
        client,
        services: vec![BookedService {
            id: service.id,
            name: service.name.clone(),
            duration_minutes: service.duration_minutes,
            price: service.price,
        }],
        start: start_ts,
        end: ts(start + work)?,
        busy_until: ts(start + busy)?,
        status,
        source: if roll < 0.7 {
            BookingSource::Online
        } else {
            BookingSource::Phone
        },
        notes: None,
        cancel_reason: None,
        total: service.price,
        manage_token_hash: crate::domain::token::hash(&format!("bench-{start}-{}", barber.id)),
        created_at: made,
        updated_at: made,
        undoable_until: None,
    })
}

fn add_days(date: Date, days: i64) -> Result<Date, DomainError> {
    date.checked_add(days.days())
        .map_err(|_| DomainError::InvalidDate)
}

/// A stride coprime with `n` and far from 1, so consecutive bookings spread over clients.
fn coprime_stride(n: u64) -> u64 {
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (n / 3..n).find(|s| gcd(*s, n) == 1).unwrap_or(1)
}
