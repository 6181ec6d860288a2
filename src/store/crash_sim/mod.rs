//! The power-loss simulator of the whole store: a seeded workload of clients' bookings (the
//! journaled path), rule refusals and durable commits runs against a real [`Store`] in a
//! watched folder (`engine::probe` logs every write, `set_len`, sync, create, rename and
//! folder sync of redb's file, the journal's segments and `secret.key`, in one order, with
//! what each caller was told). From that log, crash images of the folder are built
//! ([`image`]), each opened with the real [`Store::open_with`], and checked ([`check`]);
//! some images' recovery is logged in turn and crashed again.
//!
//! `BARBERPRO_SIM_IMAGES` raises the number of images (CI runs it in release mode).

mod check;
mod image;
mod rebuild;
mod restore;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use self::check::Promise;
use self::image::{Folder, Rng};
use super::bookings::{BarberChoice, ClientBooking};
use super::clients::ClientDetails;
use super::engine::probe::{self, Mutation, Op, Tap};
use super::{Store, StoreError, catalog, tables};
use crate::domain::time::ClockTime;
use crate::domain::{
    Barber, BarberId, BookingRules, Branch, BranchId, Money, Phone, Service, ServiceId, Shift,
    Slug, Text,
};

const CACHE: usize = 4 << 20;
/// Checkpoints often, so that the workload rotates the journal and defers flushes.
const CHECKPOINT: Duration = Duration::from_millis(4);

/// A folder for the workload and the images: in memory where there is one (a sync there
/// costs nothing; the simulator, not the disk, decides what survives).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("tempdir")
    } else {
        tempfile::tempdir().expect("tempdir")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn monday_8am() -> Timestamp {
    "2027-03-01T08:00:00-03:00".parse().expect("timestamp")
}

/// Runs the seeded workload in a watched folder; returns the log and what callers were
/// told, each at the position in the log it was told at.
fn workload(
    seed: u64,
    steps: usize,
    mutation: Option<Mutation>,
) -> (Vec<Op>, Vec<(usize, Promise)>) {
    let dir = scratch();
    let tap = probe::watch(dir.path(), mutation);
    let rt = runtime();
    let store = Store::open_with(dir.path(), CACHE, CHECKPOINT).expect("open");
    let now = monday_8am();
    let services = rt.block_on(store.write(catalogue)).expect("catalogue");
    let mut rng = Rng(seed | 1);
    let mut promises = Vec::new();
    for step in 0..steps {
        match rng.below(10) {
            0 => {
                // A durable commit through redb (the journal then starts over).
                let key = format!("sim.{step}");
                let stored = key.clone();
                rt.block_on(store.write(move |txn| {
                    txn.open_table(tables::META)?
                        .insert(stored.as_str(), step as u64)?;
                    Ok(())
                }))
                .expect("durable write");
                promises.push((
                    tap.push(Op::Note),
                    Promise::Set {
                        key,
                        value: step as u64,
                    },
                ));
            }
            1 => std::thread::sleep(CHECKPOINT),
            _ => {
                let pair = rng.below(3) == 0;
                let requests: Vec<ClientBooking> = (0..if pair { 2 } else { 1 })
                    .map(|n| booking(&mut rng, &services, step * 2 + n, now))
                    .collect();
                let phones: Vec<Phone> = requests.iter().map(|r| r.client.phone.clone()).collect();
                let outcomes = rt.block_on(async {
                    let calls = requests.into_iter().map(|r| store.book(r));
                    futures::future::join_all(calls).await
                });
                for (outcome, phone) in outcomes.into_iter().zip(phones) {
                    promises.push(told(&tap, outcome, phone));
                }
            }
        }
    }
    probe::unwatch(dir.path());
    let log = std::mem::take(&mut *tap.log.lock().expect("tap"));
    drop(store);
    (log, promises)
}

/// One branch, two services, two barbers working Tuesdays and Wednesdays 10:00–20:00 with a
/// lunch break; returns the services.
fn catalogue(txn: &super::Tx) -> Result<Vec<Service>, StoreError> {
    let text = |s: &str| Text::line("sim", s, 100);
    let branch = catalog::insert_branch(
        txn,
        Branch {
            id: BranchId(0),
            slug: Slug::parse("palermo")?,
            name: text("Palermo")?,
            address: text("Av. Santa Fe 3456")?,
            phone: None,
            time_zone: crate::domain::catalog::DEFAULT_TZ.into(),
            active: true,
        },
    )?;
    let mut services = Vec::new();
    for (name, minutes, buffer) in [("Corte", 30, 0), ("Corte y barba", 45, 5)] {
        services.push(catalog::insert_service(
            txn,
            Service {
                id: ServiceId(0),
                name: text(name)?,
                duration_minutes: minutes,
                buffer_minutes: buffer,
                price: Money::from_pesos(9_000)?,
                active: true,
                category: None,
            },
        )?);
    }
    let hour = |s: &str| s.parse::<ClockTime>();
    for name in ["Martín", "Lucía"] {
        let shifts = [2, 3]
            .into_iter()
            .map(|day| {
                let lunch = vec![(hour("13:00")?, hour("14:00")?)];
                Shift::new(day, branch.id, hour("10:00")?, hour("20:00")?, lunch)
            })
            .collect::<Result<Vec<_>, _>>()?;
        catalog::insert_barber(
            txn,
            Barber {
                id: BarberId(0),
                name: text(name)?,
                active: true,
                services: services.iter().map(|s| s.id).collect(),
                shifts,
            },
        )?;
    }
    Ok(services)
}

/// A client's booking of a random service, any barber, at a random time of two mornings.
fn booking(rng: &mut Rng, services: &[Service], n: usize, now: Timestamp) -> ClientBooking {
    let service = &services[rng.below(services.len() as u64) as usize];
    let day = rng.below(2) as i64;
    let quarter = rng.below(12) as i64;
    let start = now + jiff::SignedDuration::from_mins(24 * 60 * (day + 1) + 120 + 15 * quarter);
    ClientBooking {
        branch: "palermo".into(),
        services: vec![service.id],
        barber: BarberChoice::Any,
        start,
        client: ClientDetails {
            name: Text::line("name", &format!("Cliente {n}"), 100).expect("name"),
            phone: Phone::parse(&format!("+54 9 11 5555 {:04}", n % 10_000)).expect("phone"),
            email: None,
            whatsapp_consent: false,
        },
        notes: None,
        deposit: None,
        idempotency: None,
        rules: BookingRules::default(),
        now,
    }
}

/// Logs what the caller was told about its booking.
fn told(
    tap: &Arc<Tap>,
    outcome: Result<super::bookings::Created, StoreError>,
    phone: Phone,
) -> (usize, Promise) {
    match outcome {
        Ok(created) => {
            let b = &created.booking;
            let at = tap.push(Op::Note);
            (
                at,
                Promise::Booked {
                    id: b.id,
                    barber: b.barber,
                    start: b.start,
                    status: b.status,
                    token: created.token,
                },
            )
        }
        Err(StoreError::Rule(_)) => (tap.push(Op::Note), Promise::Refused { phone }),
        Err(e) => panic!("the workload's booking failed: {e}"),
    }
}

/// Figures of one run: images checked, crash points, what went wrong (the first few).
#[derive(Debug, Default)]
struct Run {
    images: usize,
    cuts: usize,
    failures: Vec<String>,
}

/// Builds images at every crash point of a seeded workload (`per_cut` at each, plus a
/// recovery crashed again for one in `again`) and checks each.
fn simulate(seed: u64, steps: usize, budget: usize, mutation: Option<Mutation>) -> Run {
    let (log, promises) = workload(seed, steps, mutation);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let cuts = image::cuts(&log);
    let per_cut = (budget / cuts.len()).max(1);
    let mut run = Run::default();
    // Spread the budget over the crash points; each image checks what was promised by then.
    let stride = (cuts.len() * per_cut).div_ceil(budget).max(1);
    for &cut in cuts.iter().step_by(stride) {
        run.cuts += 1;
        let promised: Vec<&Promise> = promises
            .iter()
            .filter(|(at, _)| *at <= cut)
            .map(|(_, p)| p)
            .collect();
        for _ in 0..per_cut {
            let folder = image::image(&Folder::new(), &log, cut, &mut rng);
            let again = rng.below(8) == 0;
            match check::recover(&folder, &promised, again, &mut rng) {
                Ok(n) => run.images += n,
                Err(why) => run
                    .failures
                    .push(format!("seed {seed}, cut {cut}/{}: {why}", log.len())),
            }
            if run.failures.len() >= 3 {
                return run;
            }
        }
    }
    run
}

/// How many images a test checks: `BARBERPRO_SIM_IMAGES`, or `default`.
fn budget(default: usize) -> usize {
    std::env::var("BARBERPRO_SIM_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_crash_image_of_the_store_keeps_what_was_acknowledged() {
    let started = std::time::Instant::now();
    let total = budget(80);
    let seeds = 4;
    let (mut images, mut cuts) = (0, 0);
    for seed in 1..=seeds {
        let run = simulate(seed, 40, total / seeds as usize, None);
        assert!(run.failures.is_empty(), "{:#?}", run.failures);
        images += run.images;
        cuts += run.cuts;
    }
    eprintln!(
        "store simulator: {images} images at {cuts} crash points in {:.1?}",
        started.elapsed()
    );
    assert!(images >= total / 2, "too few images: {images}");
}

#[test]
fn the_store_simulator_catches_a_deferred_sync_that_does_nothing() {
    let caught = (1..=4).find_map(|seed| {
        let run = simulate(
            seed,
            40,
            budget(80) / 2,
            Some(Mutation::DeferredSyncDoesNothing),
        );
        run.failures.into_iter().next()
    });
    let caught = caught.expect("a deferred sync that does nothing went unnoticed");
    eprintln!("caught: {caught}");
    // Lost outright, or refused at the start because the journal now skips records.
    assert!(
        caught.contains("lost") || caught.contains("refused:"),
        "caught for another reason: {caught}"
    );
}

#[test]
fn the_store_simulator_catches_a_segment_created_without_a_folder_sync() {
    let caught = (1..=4).find_map(|seed| {
        let run = simulate(
            seed,
            40,
            budget(80) / 2,
            Some(Mutation::NoFolderSyncAfterSegment),
        );
        run.failures.into_iter().next()
    });
    let caught = caught.expect("a segment created without a folder sync went unnoticed");
    eprintln!("caught: {caught}");
    // Lost outright, or refused at the start because the journal now skips records.
    assert!(
        caught.contains("lost") || caught.contains("refused:"),
        "caught for another reason: {caught}"
    );
}
