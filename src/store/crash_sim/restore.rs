//! The restore's swap (`snapshot::restore::swap`) under power loss: a data folder holding a
//! live database whose journal holds acknowledged bookings the file lacks (as a crash left
//! it) and an earlier restore's kept files; a snapshot of another database with other
//! bookings is swapped in, watched by the probe. Every crash image of that swap must open
//! as EITHER the old database (its bookings all there, the journal replayed) OR the restored
//! one (exactly its bookings, none of the old journal's), never a mix, never no file; the
//! earlier restore's kept files are always there unchanged, and once the restored file is
//! live, this restore's kept copies are whole too.

use std::path::Path;
use std::time::{Duration, Instant};

use super::check::{self, Promise};
use super::image::{self, Folder, Rng};
use super::{CACHE, booking, catalogue, monday_8am, runtime, scratch, told};
use crate::store::engine::journal::JOURNAL_FILES;
use crate::store::engine::probe::{self, Mutation, Op};
use crate::store::engine::swap::{self, pre_restore_suffix};
use crate::store::{DB_FILE, Store};

/// No checkpoint during the workload: the journal keeps the bookings the file lacks.
pub(super) const NEVER: Duration = Duration::from_secs(3600);

/// The top-level files of `dir` as they are now (with a store open: what a SIGKILL leaves).
fn files(dir: &Path) -> Folder {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("file"))
        })
        .collect()
}

/// Runs `count` bookings in a store in `dir` (numbered from `first`, `weeks` after the
/// others);
/// returns the store's files as a crash would leave them, its file after a clean stop (a
/// snapshot's), and what callers were told.
pub(super) fn bookings(
    dir: &Path,
    seed: u64,
    first: usize,
    count: usize,
    weeks: i64,
) -> (Folder, Vec<u8>, Vec<Promise>) {
    let rt = runtime();
    let store = Store::open_with(dir, CACHE, NEVER).expect("open");
    let services = rt.block_on(store.write(catalogue)).expect("catalogue");
    let tap = probe::watch(dir, None);
    let now = monday_8am() + jiff::SignedDuration::from_hours(24 * 7 * weeks);
    let mut rng = Rng(seed);
    let mut promises = Vec::new();
    for n in first..first + count {
        let request = booking(&mut rng, &services, n, now);
        let phone = request.client.phone.clone();
        let outcome = rt.block_on(store.book(request));
        promises.push(told(&tap, outcome, phone).1);
    }
    probe::unwatch(dir);
    let folder = files(dir);
    rt.block_on(store.close());
    drop(store);
    let closed = std::fs::read(dir.join(DB_FILE)).expect("closed file");
    (folder, closed, promises)
}

pub(super) fn count(promises: &[Promise]) -> Promise {
    let bookings = promises
        .iter()
        .filter(|p| matches!(p, Promise::Booked { .. }))
        .count();
    Promise::Count { bookings }
}

/// The swap's log, over `base` (the data folder before it), and the two outcomes allowed.
struct Swap {
    base: Folder,
    log: Vec<Op>,
    old: Vec<Promise>,
    new: Vec<Promise>,
    suffix: String,
}

fn swap(mutation: Option<Mutation>) -> Swap {
    let (old_dir, new_dir, data) = (scratch(), scratch(), scratch());
    let (mut base, _, mut old) = bookings(old_dir.path(), 11, 0, 8, 0);
    // The snapshot shares the folder's key (manage tokens derive from it).
    std::fs::copy(
        old_dir.path().join("secret.key"),
        new_dir.path().join("secret.key"),
    )
    .expect("key");
    // Fewer records than the old journal's: replaying its later ones into the restored file
    // would make a mix.
    let (_, snapshot, mut new) = bookings(new_dir.path(), 23, 1000, 4, 1);
    old.push(count(&old));
    new.push(count(&new));
    assert!(
        base[JOURNAL_FILES[0]].iter().any(|&b| b != 0),
        "the old journal holds records"
    );
    // An earlier restore's kept files.
    for name in [DB_FILE, JOURNAL_FILES[0]] {
        base.insert(format!("{name}.pre-restore"), b"kept earlier".to_vec());
    }
    for (name, bytes) in &base {
        std::fs::write(data.path().join(name), bytes).expect("lay out");
    }
    let staged = data.path().join(swap::STAGED);
    std::fs::write(&staged, &snapshot).expect("staged");
    let suffix = pre_restore_suffix(data.path());
    let tap = probe::watch(data.path(), mutation);
    swap::swap_in(data.path(), &staged, &suffix).expect("swap");
    probe::unwatch(data.path());
    let log = std::mem::take(&mut *tap.log.lock().expect("tap"));
    Swap {
        base,
        log,
        old,
        new,
        suffix,
    }
}

/// What must hold of an image before it opens: no file of an earlier restore lost or
/// changed; the restored file live only once this restore's kept files are whole.
fn kept(s: &Swap, folder: &Folder) -> Result<(), String> {
    for name in [DB_FILE, JOURNAL_FILES[0]] {
        let name = format!("{name}.pre-restore");
        if folder.get(&name) != s.base.get(&name) {
            return Err(format!("an earlier restore's {name} was lost or changed"));
        }
    }
    if folder.get(DB_FILE) == s.base.get(DB_FILE) {
        return Ok(());
    }
    for name in [DB_FILE, JOURNAL_FILES[0], JOURNAL_FILES[1]] {
        let aside = format!("{name}.{}", s.suffix);
        if folder.get(&aside) != s.base.get(name) {
            return Err(format!("restored, but {aside} is not the old {name}"));
        }
    }
    Ok(())
}

/// [`check::recover`], with redb's panic on some damaged files (`unreachable!`) a failure.
pub(super) fn recover(
    folder: &Folder,
    promised: &[&Promise],
    again: bool,
    rng: &mut Rng,
) -> Result<usize, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check::recover(folder, promised, again, rng)
    }))
    .unwrap_or_else(|_| Err("the start panicked".into()))
}

#[derive(Debug, Default)]
struct Run {
    images: usize,
    cuts: usize,
    /// First opens that found the old database, and the restored one.
    old: usize,
    restored: usize,
    failures: Vec<String>,
}

/// About `budget` crash images spread over every point of the swap (one in four crashed
/// again during its recovery), each opened and checked.
fn simulate(mutation: Option<Mutation>, budget: usize) -> Run {
    let s = swap(mutation);
    let cuts = image::cuts(&s.log);
    let per_cut = (budget / cuts.len()).max(1);
    let old: Vec<&Promise> = s.old.iter().collect();
    let new: Vec<&Promise> = s.new.iter().collect();
    let mut rng = Rng(0x5eed_0001);
    let mut run = Run::default();
    for cut in cuts {
        run.cuts += 1;
        for _ in 0..per_cut {
            let folder = image::image(&s.base, &s.log, cut, &mut rng);
            let again = rng.below(4) == 0;
            let checked =
                kept(&s, &folder).and_then(|()| match recover(&folder, &old, again, &mut rng) {
                    Ok(n) => Ok((n, false)),
                    Err(as_old) => match recover(&folder, &new, again, &mut rng) {
                        Ok(n) => Ok((n, true)),
                        Err(as_new) => Err(format!(
                            "not the old ({as_old}) nor the restored ({as_new})"
                        )),
                    },
                });
            match checked {
                Ok((n, restored)) => {
                    run.images += n;
                    *if restored {
                        &mut run.restored
                    } else {
                        &mut run.old
                    } += 1;
                }
                Err(why) => run
                    .failures
                    .push(format!("cut {cut}/{}: {why}", s.log.len())),
            }
            if run.failures.len() >= 3 {
                return run;
            }
        }
    }
    run
}

#[test]
fn every_crash_image_of_a_restore_is_the_old_database_or_the_restored_one() {
    let started = Instant::now();
    let run = simulate(None, super::budget(80));
    assert!(run.failures.is_empty(), "{:#?}", run.failures);
    eprintln!(
        "restore simulator: {} images at {} crash points ({} opened as the old database, {} as \
         the restored one) in {:.1?}",
        run.images,
        run.cuts,
        run.old,
        run.restored,
        started.elapsed()
    );
    assert!(run.old > 0 && run.restored > 0, "{run:?}");
}

#[test]
fn the_restore_simulator_catches_a_rename_before_the_staged_file_is_synced() {
    let run = simulate(Some(Mutation::RestoreRenamesUnsynced), 80);
    let caught = run
        .failures
        .first()
        .expect("an unsynced rename went unnoticed");
    eprintln!("caught: {caught}");
    assert!(
        caught.contains("not the old"),
        "caught for another reason: {caught}"
    );
}

#[test]
fn the_restore_simulator_catches_the_journal_removed_before_the_swap() {
    let run = simulate(Some(Mutation::RestoreDropsJournalFirst), 80);
    let caught = run
        .failures
        .first()
        .expect("the journal removed first went unnoticed");
    eprintln!("caught: {caught}");
    assert!(
        caught.contains("lost"),
        "caught for another reason: {caught}"
    );
}

#[test]
fn the_restore_simulator_catches_a_restored_file_that_owns_the_old_journal() {
    let run = simulate(Some(Mutation::RestoreKeepsJournalSeq), 80);
    let caught = run
        .failures
        .first()
        .expect("the old journal replayed unnoticed");
    eprintln!("caught: {caught}");
    // The old journal's later records replayed into the restored file: a mix.
    assert!(
        caught.contains("not 4"),
        "caught for another reason: {caught}"
    );
}
