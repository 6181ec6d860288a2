use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::segment::HEADER;
use super::*;

fn payloads(records: &[Record]) -> Vec<(u64, &[u8])> {
    records
        .iter()
        .map(|r| (r.seq, r.payload.as_slice()))
        .collect()
}

#[test]
fn records_come_back_in_order_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, found) = Journal::open(dir.path()).unwrap();
    assert!(found.is_empty());
    assert_eq!(
        std::fs::metadata(j.path()).unwrap().len(),
        CAPACITY,
        "preallocated"
    );
    j.append(7, b"first").unwrap();
    j.append(8, b"second").unwrap();
    drop(j);
    let (j, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(
        payloads(&found),
        vec![(7, &b"first"[..]), (8, &b"second"[..])]
    );
    assert_eq!(j.used(), (2 * HEADER + 11) as u64, "appends go after them");
}

#[test]
fn a_damaged_record_ends_the_records_and_those_after_it_are_stranded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    j.append(1, b"kept").unwrap();
    j.append(2, b"damaged").unwrap();
    j.append(3, b"after the damage").unwrap();
    drop(j);
    let path = dir.path().join(JOURNAL_FILES[0]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[2 * HEADER + 4 + 2] ^= 0xff; // a payload byte of record 2
    std::fs::write(&path, &bytes).unwrap();
    let (j, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(payloads(&found), vec![(1, &b"kept"[..])]);
    // Record 3 is whole past the damage: the replay must see it (and refuse to lose it).
    let stranded = j.stranded();
    assert_eq!(stranded.len(), 1, "{stranded:?}");
    assert_eq!(stranded[0].seq, 3);
    assert_eq!(stranded[0].damaged_at, (HEADER + 4) as u64);
    assert_eq!(stranded[0].file, path);
}

#[test]
fn a_torn_last_record_strands_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    j.append(1, b"kept").unwrap();
    j.append(2, b"torn").unwrap();
    drop(j);
    let path = dir.path().join(JOURNAL_FILES[0]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[2 * HEADER + 4 + 1] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (j, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(payloads(&found), vec![(1, &b"kept"[..])]);
    assert!(j.stranded().is_empty());
}

#[test]
fn starting_over_forgets_every_record_and_a_retracted_one_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    j.append(1, b"one").unwrap();
    j.append(2, b"two").unwrap();
    j.start_over().unwrap();
    assert_eq!(j.used(), 0);
    drop(j);
    let (mut j, found) = Journal::open(dir.path()).unwrap();
    assert!(found.is_empty(), "{found:?}");
    // A new round overwrites the old one; what follows its last record is stale.
    j.append(3, b"three").unwrap();
    let four = j.append(4, b"four").unwrap();
    j.retract(four).unwrap();
    drop(j);
    let (_, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(payloads(&found), vec![(3, &b"three"[..])]);
}

fn all_zero(path: &Path) -> bool {
    std::fs::read(path).unwrap().iter().all(|&b| b == 0)
}

#[test]
fn emptied_and_retracted_records_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let path = j.path().to_owned();
    let ana = j.append(1, b"Ana Perez +5491155550001").unwrap();
    let beto = j.append(2, b"Beto Gomez +5491155550002").unwrap();
    assert!(j.retract(ana).is_err(), "only the last record");
    j.retract(beto).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let end = j.used() as usize;
    assert!(bytes[..end].windows(3).any(|w| w == b"Ana"));
    assert!(bytes[end..].iter().all(|&b| b == 0), "the retracted record");
    j.start_over().unwrap();
    assert!(all_zero(&path), "every byte the records used");
    // A retired segment is emptied the same way.
    j.append(3, b"Carla +5491155550003").unwrap();
    assert!(j.rotate());
    j.append(4, b"Dario +5491155550004").unwrap();
    j.retire().unwrap();
    assert!(all_zero(&path));
}

#[test]
fn scrub_erases_what_an_older_version_left_past_the_first_header() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let path = j.path().to_owned();
    let ino = || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    let fresh = ino();
    j.scrub().unwrap();
    assert_eq!(ino(), fresh, "a segment this open created is left alone");
    j.append(1, b"Ana Perez +5491155550001").unwrap();
    drop(j);
    // What an older version's start over did: only the first header zeroed.
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    FileExt::write_all_at(&file, &[0; HEADER], 0).unwrap();
    drop(file);
    let (mut j, found) = Journal::open(dir.path()).unwrap();
    assert!(found.is_empty());
    assert!(!all_zero(&path), "the old record's bytes are still there");
    j.start_over().unwrap();
    j.scrub().unwrap();
    assert!(all_zero(&path));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), CAPACITY);
    j.append(2, b"next").unwrap();
    drop(j);
    let (_, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(payloads(&found), vec![(2, &b"next"[..])]);
}

#[test]
fn a_full_journal_refuses_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let big = vec![1u8; (CAPACITY as usize) - HEADER];
    assert!(j.fits(big.len()));
    assert!(!j.fits(big.len() + 1));
    j.append(1, &big).unwrap();
    assert!(j.append(2, b"x").is_err());
    assert_eq!(j.used(), CAPACITY);
}

#[test]
fn a_rotation_keeps_the_retired_records_until_they_are_retired() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    j.append(1, b"one").unwrap();
    j.append(2, b"two").unwrap();
    let first = j.path().to_owned();
    assert!(j.rotate());
    assert_ne!(j.path(), first, "records go to the other segment");
    assert_eq!(j.used(), 0);
    assert!(!j.rotate(), "one segment is still retiring");
    j.append(3, b"three").unwrap();
    drop(j);
    // A crash before the checkpoint's flush is done: every record comes back, in order.
    let (mut j, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(
        payloads(&found),
        vec![(1, &b"one"[..]), (2, &b"two"[..]), (3, &b"three"[..])]
    );
    // Reopened, the first segment is active again (the caller replays, then starts over);
    // rotate as the writer would and retire the old segment.
    j.start_over().unwrap();
    j.append(4, b"four").unwrap();
    assert!(j.rotate());
    j.append(5, b"five").unwrap();
    assert!(j.is_retiring());
    j.retire().unwrap();
    assert!(!j.is_retiring());
    drop(j);
    let (_, found) = Journal::open(dir.path()).unwrap();
    assert_eq!(
        payloads(&found),
        vec![(5, &b"five"[..])],
        "record 4 is retired"
    );
}

#[test]
fn copy_aside_keeps_both_segments_and_disown_skips_their_records() {
    let dir = tempfile::tempdir().unwrap();
    assert!(copy_aside(dir.path(), "pre-restore").unwrap().is_empty());
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    j.append(7, b"x").unwrap();
    drop(j);
    let aside = copy_aside(dir.path(), "pre-restore").unwrap();
    assert_eq!(aside.len(), 2);
    let kept = std::fs::read(dir.path().join("barberpro.journal.pre-restore")).unwrap();
    assert_eq!(
        kept,
        std::fs::read(dir.path().join(JOURNAL_FILES[0])).unwrap()
    );
    let db = dir.path().join("other.redb");
    drop(redb::Database::create(&db).unwrap());
    disown(&db, dir.path()).unwrap();
    let db = redb::Database::open(&db).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    let meta = txn.open_table(crate::store::engine::META).unwrap();
    let seq = meta.get(super::JOURNAL_SEQ).unwrap().unwrap();
    assert_eq!(seq.value(), 7);
    remove_segments(dir.path()).unwrap();
    for name in JOURNAL_FILES {
        assert!(!dir.path().join(name).exists());
    }
}

/// A segment file whose `fdatasync` takes far longer than the watchdog allows.
#[derive(Debug)]
struct HungSync;

impl segment::SegmentFile for HungSync {
    fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
        Ok(())
    }
    fn read_exact_at(&self, buf: &mut [u8], _: u64) -> io::Result<()> {
        buf.fill(0);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        std::thread::sleep(std::time::Duration::from_secs(3));
        Ok(())
    }
}

#[test]
fn a_hung_record_sync_fails_after_the_watchdogs_limit_instead_of_holding_the_writer() {
    let files: [Arc<dyn segment::SegmentFile>; 2] = [Arc::new(HungSync), Arc::new(HungSync)];
    let (mut j, _) = Journal::over(files, 1 << 16).unwrap();
    j.set_sync_limit(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let pending = j.write(1, b"a booking").unwrap();
    let waited = j.wait(pending);
    let err = waited.expect_err("a sync that hangs counts as failed");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(err.to_string().contains("hung"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
}
