//! The journal's power-loss simulator. Two in-memory segment files record every write and
//! `fdatasync`, in one order, with the writer's acknowledgements, retractions and checkpoints;
//! from that log, crash images are built at every point: each file holds what its last sync
//! made durable plus, for every 512-byte sector written since, the old bytes or one of the
//! versions written to it (a torn write). Each image is opened with the real scan, and the
//! replay's rules are checked against what was acknowledged. Then the image's recovery (the
//! start-over) is crashed in turn and checked again. Mutations of the protocol must be caught.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::segment::SegmentFile;
use super::*;
use crate::store::engine::torn::{self, Rng};

/// Small segments, so that the workload rotates often and images are cheap.
const CAP: u64 = 24 << 10;

#[derive(Debug, Clone)]
enum Event {
    Write {
        file: usize,
        at: u64,
        bytes: Vec<u8>,
    },
    Sync {
        file: usize,
    },
    /// The writer answered the record's batch (it is durable: it must come back).
    Acked {
        seq: u64,
        payload: Vec<u8>,
    },
    /// The record's batch failed and its callers were told so (it must not come back).
    Refused {
        seq: u64,
        payload: Vec<u8>,
    },
    /// redb durably holds every record up to `seq` (a checkpoint's flush is done).
    Durable {
        seq: u64,
    },
}

#[derive(Debug, Default)]
struct Disk {
    log: Vec<Event>,
    now: [Vec<u8>; 2],
    /// Mutation: `fdatasync` does nothing.
    no_sync: bool,
}

#[derive(Debug)]
struct SimFile {
    id: usize,
    disk: Arc<Mutex<Disk>>,
}

impl SegmentFile for SimFile {
    fn write_all_at(&self, buf: &[u8], at: u64) -> io::Result<()> {
        let mut disk = self.disk.lock().expect("disk");
        let (from, to) = (at as usize, at as usize + buf.len());
        disk.now[self.id][from..to].copy_from_slice(buf);
        disk.log.push(Event::Write {
            file: self.id,
            at,
            bytes: buf.to_vec(),
        });
        Ok(())
    }

    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        let disk = self.disk.lock().expect("disk");
        buf.copy_from_slice(&disk.now[self.id][at as usize..at as usize + buf.len()]);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.disk.lock().expect("disk");
        if !disk.no_sync {
            disk.log.push(Event::Sync { file: self.id });
        }
        Ok(())
    }
}

fn disk_with(content: [Vec<u8>; 2]) -> (Arc<Mutex<Disk>>, [Arc<dyn SegmentFile>; 2]) {
    let disk = Arc::new(Mutex::new(Disk {
        now: content,
        ..Disk::default()
    }));
    let files: [Arc<dyn SegmentFile>; 2] = [0, 1].map(|id| {
        Arc::new(SimFile {
            id,
            disk: disk.clone(),
        }) as Arc<dyn SegmentFile>
    });
    (disk, files)
}

/// How the simulated writer deviates from the protocol (each must be caught).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    None,
    NoSync,
    /// The retired segment is emptied before its checkpoint's flush is done.
    RetireBeforeFlush,
}

/// Runs the writer's use of the journal for `steps` batches and returns the log.
fn workload(seed: u64, steps: usize, mutation: Mutation) -> Vec<Event> {
    let (disk, files) = disk_with([vec![0; CAP as usize], vec![0; CAP as usize]]);
    disk.lock().expect("disk").no_sync = mutation == Mutation::NoSync;
    let (mut journal, found) = Journal::over(files, CAP).expect("journal");
    assert!(found.is_empty());
    let mut rng = Rng(seed | 1);
    let mut seq = 0;
    // The checkpoint whose flush runs: the records up to `flushing` are in redb once done.
    let mut flushing: Option<u64> = None;
    let log = |event: Event| disk.lock().expect("disk").log.push(event);
    for _ in 0..steps {
        let len = 16 + rng.below(900) as usize;
        let payload: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
        if !journal.fits(payload.len()) {
            // Full: a durable commit through redb, then both segments start over.
            if let Some(done) = flushing.take() {
                log(Event::Durable { seq: done });
            }
            log(Event::Durable { seq });
            journal.start_over().expect("start over");
            continue;
        }
        seq += 1;
        let pending = journal.write(seq, &payload).expect("write");
        let synced = journal.wait(pending).expect("synced");
        if rng.below(10) == 0 {
            journal.retract(synced).expect("retract");
            log(Event::Refused { seq, payload });
            seq -= 1;
        } else {
            log(Event::Acked { seq, payload });
        }
        match rng.below(6) {
            0 if flushing.is_none() && journal.rotate() => {
                if mutation == Mutation::RetireBeforeFlush {
                    journal.retire().expect("retire");
                }
                flushing = Some(seq);
            }
            1 => {
                if let Some(done) = flushing.take() {
                    log(Event::Durable { seq: done });
                    journal.retire().expect("retire");
                }
            }
            _ => {}
        }
    }
    let mut disk = disk.lock().expect("disk");
    std::mem::take(&mut disk.log)
}

/// What each file holds after a crash right before event `cut`: what its last sync made
/// durable, and the writes since, torn per sector ([`torn::tear`]).
fn image(log: &[Event], cut: usize, rng: &mut Rng, base: &[Vec<u8>; 2]) -> [Vec<u8>; 2] {
    let mut out = base.clone();
    for (file, content) in out.iter_mut().enumerate() {
        let last_sync = log[..cut]
            .iter()
            .rposition(|e| matches!(e, Event::Sync { file: f } if *f == file));
        let synced_until = last_sync.map_or(0, |i| i + 1);
        let mut later = Vec::new();
        for (i, event) in log[..cut].iter().enumerate() {
            let Event::Write { file: f, at, bytes } = event else {
                continue;
            };
            if *f != file {
                continue;
            }
            if i < synced_until {
                torn::put(content, *at, bytes);
            } else {
                later.push((*at, bytes.as_slice()));
            }
        }
        torn::tear(content, &later, rng);
    }
    out
}

/// Opens `content` as the journal and checks the replay's rules against what the log up to
/// `cut` promised; returns what went wrong, if anything, and the recovered journal's log.
fn check(log: &[Event], cut: usize, content: [Vec<u8>; 2]) -> Result<u64, String> {
    let mut durable = 0;
    let mut acked: BTreeMap<u64, &[u8]> = BTreeMap::new();
    let mut refused: Vec<(u64, &[u8])> = Vec::new();
    for event in &log[..cut] {
        match event {
            Event::Durable { seq } => durable = durable.max(*seq),
            Event::Acked { seq, payload } => {
                acked.insert(*seq, payload);
            }
            Event::Refused { seq, payload } => refused.push((*seq, payload)),
            _ => {}
        }
    }
    let (_, files) = disk_with(content);
    let (journal, records) = Journal::over(files, CAP).map_err(|e| e.to_string())?;
    if let Some(s) = journal.stranded().iter().find(|s| s.seq > durable) {
        return Err(format!(
            "refused as damaged: record {} past byte {}",
            s.seq, s.damaged_at
        ));
    }
    let pending: Vec<&Record> = records.iter().filter(|r| r.seq > durable).collect();
    if let Some(first) = pending.first()
        && first.seq != durable + 1
    {
        return Err(format!("resumes at {} after {durable}", first.seq));
    }
    if let Some(w) = pending.windows(2).find(|w| w[1].seq != w[0].seq + 1) {
        return Err(format!("skips from {} to {}", w[0].seq, w[1].seq));
    }
    for (seq, payload) in acked.range(durable + 1..) {
        if !pending
            .iter()
            .any(|r| r.seq == *seq && r.payload == *payload)
        {
            return Err(format!(
                "acknowledged record {seq} lost (durable up to {durable})"
            ));
        }
    }
    for (seq, payload) in &refused {
        if pending
            .iter()
            .any(|r| r.seq == *seq && r.payload == *payload)
        {
            return Err(format!("refused record {seq} would be replayed"));
        }
    }
    Ok(pending.last().map_or(durable, |r| r.seq))
}

/// Recovers `content` (start over after the replay of everything up to `replayed`) and
/// checks that nothing but zeros is left; then crashes that recovery at points of its own
/// log and checks each image once more. Returns how many images that was.
fn recover_twice(content: [Vec<u8>; 2], replayed: u64, rng: &mut Rng) -> Result<usize, String> {
    let (disk, files) = disk_with(content.clone());
    let (mut journal, _) = Journal::over(files, CAP).map_err(|e| e.to_string())?;
    journal.start_over().map_err(|e| e.to_string())?;
    drop(journal);
    let (mut log, now) = {
        let mut disk = disk.lock().expect("disk");
        (std::mem::take(&mut disk.log), disk.now.clone())
    };
    if now.iter().any(|f| f.iter().any(|&b| b != 0)) {
        return Err("bytes left in a segment after the start-over".into());
    }
    // The replay committed durably before the start-over began.
    log.insert(0, Event::Durable { seq: replayed });
    let mut checked = 0;
    for cut in 1..=log.len() {
        let again = image(&log, cut, rng, &content);
        check(&log, cut, again).map_err(|why| format!("crashed again at {cut}: {why}"))?;
        checked += 1;
    }
    Ok(checked)
}

/// Builds `per_cut` images at every point of a seeded workload's log and checks each;
/// returns (images checked, crash points, the first failures).
fn simulate(
    seed: u64,
    steps: usize,
    per_cut: usize,
    mutation: Mutation,
) -> (usize, usize, Vec<String>) {
    let log = workload(seed, steps, mutation);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let zeros = [vec![0u8; CAP as usize], vec![0u8; CAP as usize]];
    let (mut images, mut failures) = (0, Vec::new());
    for cut in 0..=log.len() {
        for _ in 0..per_cut {
            let content = image(&log, cut, &mut rng, &zeros);
            images += 1;
            match check(&log, cut, content.clone()) {
                Ok(replayed) if rng.below(16) == 0 => {
                    match recover_twice(content, replayed, &mut rng) {
                        Ok(n) => images += n,
                        Err(why) => failures.push(format!("cut {cut}, recovery: {why}")),
                    }
                }
                Ok(_) => {}
                Err(why) => failures.push(format!("cut {cut}: {why}")),
            }
            if failures.len() >= 5 {
                return (images, cut + 1, failures);
            }
        }
    }
    (images, log.len() + 1, failures)
}

#[test]
fn every_crash_image_of_the_journal_keeps_what_was_acknowledged() {
    let mut total = (0, 0);
    for seed in 1..=4 {
        let (images, cuts, failures) = simulate(seed, 150, 3, Mutation::None);
        assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
        total = (total.0 + images, total.1 + cuts);
    }
    eprintln!(
        "journal simulator: {} images at {} crash points",
        total.0, total.1
    );
    assert!(total.0 > 1000, "too few images: {total:?}");
}

#[test]
fn the_simulator_catches_a_journal_without_fdatasync() {
    let (_, _, failures) = simulate(1, 150, 3, Mutation::NoSync);
    assert!(!failures.is_empty(), "no fdatasync went unnoticed");
    assert!(failures.iter().any(|f| f.contains("lost")), "{failures:#?}");
}

#[test]
fn the_simulator_catches_a_segment_emptied_before_its_checkpoints_flush() {
    let (_, _, failures) = simulate(1, 150, 3, Mutation::RetireBeforeFlush);
    assert!(
        !failures.is_empty(),
        "emptying before the flush went unnoticed"
    );
}
