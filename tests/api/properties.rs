//! Property: for random schedules and bookings, every slot the availability query offers can
//! be booked, and none overlaps an existing booking, a break or a closure, or lies outside
//! hours. Runs against the real store (the code the endpoint calls), not a model of it.

use std::sync::{Arc, Mutex};

use barberpro::domain::time::{self, ClockTime, time_zone};
use barberpro::domain::token::TokenKey;
use barberpro::domain::{
    Barber, BarberId, BookingRules, BookingSource, Branch, BranchId, Closure, ClosureId,
    ClosureScope, Money, Phone, Service, ServiceId, Shift, Slug, Text,
};
use barberpro::store::bookings::{self, BarberChoice, NewBooking};
use barberpro::store::clients::ClientDetails;
use barberpro::store::{Store, StoreError, catalog};
use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;

const TZ: &str = "America/Argentina/Buenos_Aires";

/// A Tuesday shift: (start, end) minutes and breaks inside it.
type ShiftSpec = (u16, u16, Vec<(u16, u16)>);

#[derive(Debug, Clone)]
struct Scenario {
    step: u16,
    /// (start, end) minutes of the Tuesday shift, and breaks inside it.
    shifts: Vec<ShiftSpec>,
    services: Vec<(u16, u16)>,
    /// Barber time off, minutes of the day.
    time_off: Option<(u16, u16)>,
    /// Attempted earlier bookings: (barber index, minute of day, service index).
    earlier: Vec<(usize, u16, usize)>,
    /// Minutes after the day's midnight when "now" is (may be the day before: negative).
    now_offset: i32,
}

fn shift() -> impl Strategy<Value = ShiftSpec> {
    (96u16..144, 168u16..252).prop_flat_map(|(s5, e5)| {
        let (start, end) = (s5 * 5, e5 * 5);
        let brk = (start / 5..end / 5, 1u16..18).prop_map(move |(b, len)| {
            let bs = b * 5;
            (bs, (bs + len * 5).min(end))
        });
        proptest::collection::vec(brk, 0..3).prop_map(move |breaks| {
            let breaks = breaks.into_iter().filter(|(s, e)| s < e).collect();
            (start, end, breaks)
        })
    })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::sample::select(vec![5u16, 10, 15, 20, 30]),
        proptest::collection::vec(shift(), 1..3),
        proptest::collection::vec((2u16..18, 0u16..5), 1..3),
        proptest::option::of((96u16..240, 1u16..30)),
        proptest::collection::vec((0usize..2, 96u16..250, 0usize..2), 0..8),
        -600i32..1200,
    )
        .prop_map(
            |(step, shifts, services, off, earlier, now_offset)| Scenario {
                step,
                shifts,
                services: services.into_iter().map(|(d, b)| (d * 5, b * 5)).collect(),
                time_off: off.map(|(s, len)| (s * 5, s * 5 + len * 5)),
                earlier: earlier.into_iter().map(|(b, m, s)| (b, m * 5, s)).collect(),
                now_offset,
            },
        )
}

fn hm(minutes: u16) -> ClockTime {
    ClockTime::from_hm(minutes / 60, minutes % 60).expect("minutes of a day")
}

fn client(n: usize) -> Result<ClientDetails, StoreError> {
    Ok(ClientDetails {
        name: Text::line("name", "Prueba", 50)?,
        phone: Phone::parse(&format!("011 15-3000-{n:04}"))?,
        email: None,
        whatsapp_consent: false,
    })
}

const DAY: Date = Date::constant(2027, 3, 2); // a Tuesday

async fn run(s: Scenario) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), 4 << 20).unwrap();
    let tz = time_zone(TZ).unwrap();
    let midnight = time::day_start(DAY, &tz).unwrap();
    let rules = BookingRules {
        slot_step_minutes: s.step,
        ..BookingRules::default()
    };
    let keys = TokenKey::from_bytes([1; 32]);
    let setup = s.clone();
    let (branch, barbers, services) = store
        .write(move |txn| {
            let branch = catalog::insert_branch(
                txn,
                Branch {
                    id: BranchId(0),
                    slug: Slug::parse("centro")?,
                    name: Text::line("n", "Centro", 50)?,
                    address: Text::line("a", "Calle 1", 50)?,
                    phone: None,
                    time_zone: TZ.into(),
                    active: true,
                },
            )?;
            let services = setup
                .services
                .iter()
                .map(|(d, b)| {
                    catalog::insert_service(
                        txn,
                        Service {
                            id: ServiceId(0),
                            name: Text::line("n", "Servicio", 50)?,
                            duration_minutes: *d,
                            buffer_minutes: *b,
                            price: Money::from_pesos(1000)?,
                            active: true,
                            category: None,
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let barbers = setup
                .shifts
                .iter()
                .map(|(start, end, breaks)| {
                    let breaks = breaks.iter().map(|(s, e)| (hm(*s), hm(*e))).collect();
                    let shift = Shift::new(2, branch.id, hm(*start), hm(*end), breaks)?;
                    catalog::insert_barber(
                        txn,
                        Barber {
                            id: BarberId(0),
                            name: Text::line("n", "Barbero", 50)?,
                            active: true,
                            services: services.iter().map(|s| s.id).collect(),
                            shifts: vec![shift],
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some((off_s, off_e)) = setup.time_off {
                let at = |m: u16| time::at(DAY, hm(m), &tz);
                catalog::insert_closure(
                    txn,
                    Closure {
                        id: ClosureId(0),
                        scope: ClosureScope::Barber(barbers[0].id),
                        start: at(off_s)?,
                        end: at(off_e.min(1440))?,
                        reason: Text::line("r", "Turno médico", 50)?,
                    },
                )?;
            }
            Ok((branch, barbers, services))
        })
        .await
        .unwrap();

    // Earlier bookings are made a day before, so timing rules do not refuse them.
    let before = Timestamp::from_second(midnight.as_second() - 86_400).unwrap();
    for (i, (b, minute, svc)) in s.earlier.iter().enumerate() {
        let barber = barbers[*b % barbers.len()].id;
        let service = services[*svc % services.len()].id;
        let start = Timestamp::from_second(midnight.as_second() + i64::from(*minute) * 60).unwrap();
        let req = NewBooking {
            branch: branch.id,
            services: vec![service],
            barber: BarberChoice::Barber(barber),
            start,
            client: client(i).unwrap(),
            source: BookingSource::Phone,
            notes: None,
            deposit: None,
        };
        let keys = keys.clone();
        let _ = store
            .write(move |txn| bookings::create(txn, req, before, &rules, &keys, None))
            .await;
    }

    let now = Timestamp::from_second(midnight.as_second() + i64::from(s.now_offset) * 60).unwrap();
    let chosen: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let work: i64 = services
        .iter()
        .map(|s| i64::from(s.duration_minutes) * 60)
        .sum();
    let buffer: i64 = services
        .iter()
        .map(|s| i64::from(s.buffer_minutes) * 60)
        .max()
        .unwrap_or(0);
    for choice in [BarberChoice::Any, BarberChoice::Barber(barbers[0].id)] {
        let (b2, c2) = (branch.clone(), chosen.clone());
        let slots = store
            .read(move |tx| bookings::availability(tx, &b2, DAY, &c2, choice, now, &rules))
            .await;
        let slots = match slots {
            Ok(slots) => slots,
            // The whole day may be in the past for this "now".
            Err(StoreError::Rule(barberpro::domain::DomainError::InThePast)) => continue,
            Err(e) => return Err(TestCaseError::fail(format!("availability failed: {e}"))),
        };
        for slot in &slots {
            let start = slot.start.as_second();
            let busy_end = start + work + buffer;
            prop_assert_eq!(slot.end.as_second(), start + work);
            prop_assert!(start >= now.as_second() + i64::from(rules.min_notice_minutes) * 60);
            prop_assert_eq!((start - midnight.as_second()) % (i64::from(s.step) * 60), 0);
            // Inside hours, outside breaks and time off.
            let idx = barbers.iter().position(|b| b.id == slot.barber).unwrap();
            let (sh_s, sh_e, breaks) = &s.shifts[idx];
            let m = |x: u16| midnight.as_second() + i64::from(x) * 60;
            prop_assert!(start >= m(*sh_s) && busy_end <= m(*sh_e), "outside hours");
            for (bs, be) in breaks {
                prop_assert!(busy_end <= m(*bs) || start >= m(*be), "in a break");
            }
            if let (0, Some((os, oe))) = (idx, s.time_off) {
                prop_assert!(busy_end <= m(os) || start >= m(oe.min(1440)), "in time off");
            }
            // Not over an existing booking of that barber.
            let (bb, day_bookings) = (branch.clone(), slot.barber);
            let existing = store
                .read(move |tx| bookings::for_branch_day(tx, &bb, DAY))
                .await
                .unwrap();
            for e in existing
                .iter()
                .filter(|e| e.barber == day_bookings && e.status.is_active())
            {
                let (es, ee) = (e.start.as_second(), e.busy_until.as_second());
                prop_assert!(busy_end <= es || start >= ee, "overlaps booking {}", e.id);
            }
            // And it can be booked: a dry run, rolled back.
            let outcome = Arc::new(Mutex::new(None));
            let seen = outcome.clone();
            let req = NewBooking {
                branch: branch.id,
                services: chosen.clone(),
                barber: BarberChoice::Barber(slot.barber),
                start: slot.start,
                client: client(9000).unwrap(),
                source: BookingSource::Online,
                notes: None,
                deposit: None,
            };
            let keys = keys.clone();
            let _ = store
                .write(move |txn| {
                    let result = bookings::create(txn, req, now, &rules, &keys, None);
                    *seen.lock().unwrap() = Some(result.map(|_| ()).map_err(|e| e.to_string()));
                    Err::<(), _>(StoreError::BatchFailed("dry run: roll back".into()))
                })
                .await;
            let result = outcome.lock().unwrap().take();
            prop_assert_eq!(
                result,
                Some(Ok(())),
                "offered slot {} could not be booked",
                slot.start
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_offered_slot_is_bookable_and_free(s in scenario()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(s))?;
    }
}
