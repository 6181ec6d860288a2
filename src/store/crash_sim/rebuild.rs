//! The rebuild after a failed flush (`store::rebuild`) under power loss: a data folder whose
//! file is marked suspect and whose journal holds acknowledged bookings the file lacks is
//! opened under the probe (the rebuild, its swap, the replay). Every crash image of that
//! start must open with every acknowledged booking, and the suspect mark may be gone only
//! where the rebuilt file is in place (the old one kept as `*.pre-rebuild`): a start never
//! trusts the old file's flushes once it was suspect.

use std::time::Instant;

use super::check::Promise;
use super::image::{self, Folder, Rng};
use super::restore::{NEVER, bookings, count, recover};
use super::{CACHE, runtime, scratch};
use crate::store::engine::dbfile::SUSPECT;
use crate::store::engine::probe::{self, Mutation, Op};
use crate::store::{DB_FILE, Store};

#[derive(Debug, Default)]
struct Run {
    images: usize,
    cuts: usize,
    failures: Vec<String>,
}

fn simulate(mutation: Option<Mutation>, budget: usize) -> Run {
    let (old_dir, data) = (scratch(), scratch());
    let (mut base, _, mut promises) = bookings(old_dir.path(), 17, 0, 8, 0);
    promises.push(count(&promises));
    base.insert(SUSPECT.into(), Vec::new());
    for (name, bytes) in &base {
        std::fs::write(data.path().join(name), bytes).expect("lay out");
    }
    let tap = probe::watch(data.path(), mutation);
    let store = Store::open_with(data.path(), CACHE, NEVER).expect("the rebuild");
    probe::unwatch(data.path());
    runtime().block_on(store.close());
    drop(store);
    let log = std::mem::take(&mut *tap.log.lock().expect("tap"));
    assert!(
        !data.path().join(SUSPECT).exists(),
        "the start rebuilt the file"
    );
    assert!(
        log.iter().any(|op| matches!(op, Op::Link { .. })),
        "the rebuild's swap went through the probe"
    );
    let promised: Vec<&Promise> = promises.iter().collect();
    let kept = format!("{DB_FILE}.pre-rebuild");
    let cuts = image::cuts(&log);
    let per_cut = (budget / cuts.len()).max(1);
    let stride = (cuts.len() * per_cut).div_ceil(budget).max(1);
    let mut rng = Rng(0x5eed_0002);
    let mut run = Run::default();
    for &cut in cuts.iter().step_by(stride) {
        run.cuts += 1;
        for _ in 0..per_cut {
            let folder: Folder = image::image(&base, &log, cut, &mut rng);
            let checked = if !folder.contains_key(SUSPECT) && !folder.contains_key(&kept) {
                Err("the suspect mark is gone, the rebuilt file is not in place".into())
            } else {
                recover(&folder, &promised, rng.below(4) == 0, &mut rng)
            };
            match checked {
                Ok(n) => run.images += n,
                Err(why) => run.failures.push(format!("cut {cut}/{}: {why}", log.len())),
            }
            if run.failures.len() >= 3 {
                return run;
            }
        }
    }
    run
}

#[test]
fn every_crash_image_of_a_rebuild_keeps_what_was_acknowledged() {
    let started = Instant::now();
    let run = simulate(None, super::budget(80));
    assert!(run.failures.is_empty(), "{:#?}", run.failures);
    eprintln!(
        "rebuild simulator: {} images at {} crash points in {:.1?}",
        run.images,
        run.cuts,
        started.elapsed()
    );
}

#[test]
fn the_rebuild_simulator_catches_the_mark_removed_before_the_swap() {
    let run = simulate(Some(Mutation::RebuildUnmarksFirst), 80);
    let caught = run
        .failures
        .first()
        .expect("the mark removed first went unnoticed");
    eprintln!("caught: {caught}");
    assert!(
        caught.contains("suspect mark"),
        "caught for another reason: {caught}"
    );
}
