//! The demo chain `serve --demo` starts with: two branches, five barbers (one works at both
//! branches on different weekdays), six services, weekly hours with a lunch break, and the
//! next Christmas as a closure day.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::domain::time::{ClockTime, day_start, local_date, time_zone};
use crate::domain::{
    Barber, BarberId, Branch, BranchId, Closure, ClosureId, ClosureScope, DomainError, Money,
    Phone, Service, ServiceId, Shift, Slug, Text,
};
use crate::store::{Store, StoreError, catalog};

fn t(hhmm: &str) -> Result<ClockTime, DomainError> {
    hhmm.parse()
}

fn text(s: &str) -> Result<Text, DomainError> {
    Text::line("demo", s, 200)
}

/// Weekday shifts 10:00–20:00 (Saturdays 10:00–18:00), lunch 13:00–14:00.
fn week(branch: BranchId, days: &[u8]) -> Result<Vec<Shift>, DomainError> {
    days.iter()
        .map(|&d| {
            let end = if d == 6 { t("18:00")? } else { t("20:00")? };
            Shift::new(
                d,
                branch,
                t("10:00")?,
                end,
                vec![(t("13:00")?, t("14:00")?)],
            )
        })
        .collect()
}

/// Seeds the demo chain into an empty database; does nothing if a catalogue exists.
pub async fn seed_if_empty(store: &Store, now: Timestamp) -> Result<(), StoreError> {
    if !store.read(catalog::is_empty).await? {
        return Ok(());
    }
    store
        .write(move |txn| {
            let tz_name = crate::domain::catalog::DEFAULT_TZ;
            let branch = |slug: &str,
                          name: &str,
                          address: &str,
                          phone: &str|
             -> Result<Branch, StoreError> {
                Ok(Branch {
                    id: BranchId(0),
                    slug: Slug::parse(slug)?,
                    name: text(name)?,
                    address: text(address)?,
                    phone: Some(Phone::parse(phone)?),
                    time_zone: tz_name.into(),
                    active: true,
                })
            };
            let palermo = catalog::insert_branch(
                txn,
                branch(
                    "palermo",
                    "BarberPro Palermo",
                    "Av. Santa Fe 3456, CABA",
                    "011 4833-1234",
                )?,
            )?;
            let belgrano = catalog::insert_branch(
                txn,
                branch(
                    "belgrano",
                    "BarberPro Belgrano",
                    "Av. Cabildo 2100, CABA",
                    "011 4784-5678",
                )?,
            )?;
            let services = [
                ("Corte clásico", 30, 5, 8_000),
                ("Corte y lavado", 45, 5, 10_500),
                ("Barba", 20, 5, 5_000),
                ("Afeitado con navaja", 30, 10, 6_500),
                ("Color", 60, 10, 15_000),
                ("Corte infantil", 25, 5, 6_000),
            ]
            .into_iter()
            .map(|(name, duration, buffer, pesos)| {
                catalog::insert_service(
                    txn,
                    Service {
                        id: ServiceId(0),
                        name: text(name)?,
                        duration_minutes: duration,
                        buffer_minutes: buffer,
                        price: Money::from_pesos(pesos)?,
                        active: true,
                        category: None,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
            let ids = |which: &[usize]| which.iter().map(|&i| services[i].id).collect::<Vec<_>>();
            let mut nicolas = week(palermo.id, &[1, 3])?;
            nicolas.extend(week(belgrano.id, &[4, 5, 6])?);
            let barbers = [
                (
                    "Martín",
                    ids(&[0, 1, 2, 3]),
                    week(palermo.id, &[2, 3, 4, 5, 6])?,
                ),
                (
                    "Lucía",
                    ids(&[0, 1, 4, 5]),
                    week(palermo.id, &[2, 3, 4, 5, 6])?,
                ),
                (
                    "Diego",
                    ids(&[0, 2, 3, 5]),
                    week(belgrano.id, &[1, 2, 3, 4, 5])?,
                ),
                (
                    "Sofía",
                    ids(&[0, 1, 2, 4]),
                    week(belgrano.id, &[2, 3, 4, 5, 6])?,
                ),
                ("Nicolás", ids(&[0, 1, 2, 3, 4, 5]), nicolas),
            ];
            for (name, services, shifts) in barbers {
                catalog::insert_barber(
                    txn,
                    Barber {
                        id: BarberId(0),
                        name: text(name)?,
                        active: true,
                        services,
                        shifts,
                    },
                )?;
            }
            let tz = time_zone(tz_name)?;
            let today = local_date(now, &tz);
            let christmas = next_christmas(today);
            let start = day_start(christmas, &tz)?;
            let end = day_start(
                christmas.tomorrow().map_err(|_| DomainError::InvalidDate)?,
                &tz,
            )?;
            for branch in [palermo.id, belgrano.id] {
                catalog::insert_closure(
                    txn,
                    Closure {
                        id: ClosureId(0),
                        scope: ClosureScope::Branch(branch),
                        start,
                        end,
                        reason: text("Navidad")?,
                    },
                )?;
            }
            Ok(())
        })
        .await?;
    tracing::info!("demo chain created: branches palermo and belgrano");
    Ok(())
}

fn next_christmas(today: Date) -> Date {
    let this_year = Date::new(today.year(), 12, 25).unwrap_or(today);
    if this_year >= today {
        this_year
    } else {
        Date::new(today.year() + 1, 12, 25).unwrap_or(today)
    }
}
