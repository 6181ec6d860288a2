//! What every crash image must give when the real start opens it: the store opens; every
//! acknowledged booking is there as its client was told (id, barber, start, status, manage
//! token), every durable commit too; no refused booking is; no barber and no client holds
//! overlapping active bookings; every booking row has exactly its two index entries and no
//! entry lacks its row; the journal's segments hold nothing but zeros; redb's integrity
//! check passes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use redb::{ReadTransaction, ReadableDatabase, ReadableTable};

use super::image::{self, Folder, Rng};
use super::{CACHE, CHECKPOINT, runtime, scratch};
use crate::domain::token::TokenKey;
use crate::domain::{BarberId, Booking, BookingId, BookingStatus, Phone};
use crate::store::engine::journal::JOURNAL_FILES;
use crate::store::engine::probe::{self, Tap};
use crate::store::{Store, clients, codec, tables};

/// What a caller was told.
#[derive(Debug, Clone)]
pub(super) enum Promise {
    Booked {
        id: BookingId,
        barber: BarberId,
        start: Timestamp,
        status: BookingStatus,
        token: String,
    },
    /// Refused by a rule: no booking of this client may exist.
    Refused { phone: Phone },
    /// A durable commit wrote `meta[key] = value`.
    Set { key: String, value: u64 },
    /// The database holds exactly this many bookings (a restore: none from the other copy).
    Count { bookings: usize },
}

/// Opens `folder` and checks it; with `again`, logs that recovery and crashes it at a few
/// of its points, checking each image once more. Returns how many images were checked.
pub(super) fn recover(
    folder: &Folder,
    promised: &[&Promise],
    again: bool,
    rng: &mut Rng,
) -> Result<usize, String> {
    let dir = scratch();
    lay_out(dir.path(), folder);
    let tap = again.then(|| probe::watch(dir.path(), None));
    let opened = open_and_check(dir.path(), promised, tap.as_deref());
    probe::unwatch(dir.path());
    let recovered = opened?;
    let Some(tap) = tap else { return Ok(1) };
    let log = std::mem::take(&mut *tap.log.lock().expect("tap"));
    let log = &log[..recovered];
    let cuts = image::cuts(log);
    let mut checked = 1;
    for _ in 0..4 {
        let cut = cuts[rng.below(cuts.len() as u64) as usize];
        let crashed = image::image(folder, log, cut, rng);
        let dir = scratch();
        lay_out(dir.path(), &crashed);
        open_and_check(dir.path(), promised, None).map_err(|why| {
            format!(
                "crashed again at {cut}/{} of the recovery: {why}",
                log.len()
            )
        })?;
        checked += 1;
    }
    Ok(checked)
}

fn lay_out(dir: &Path, folder: &Folder) {
    for (name, bytes) in folder {
        std::fs::write(dir.join(name), bytes).expect("image file");
    }
}

/// Opens the store in `dir` and checks it (see the module's docs); returns where the tap's
/// log stood once the open was done.
fn open_and_check(dir: &Path, promised: &[&Promise], tap: Option<&Tap>) -> Result<usize, String> {
    let store = Store::open_with(dir, CACHE, CHECKPOINT).map_err(|e| format!("refused: {e}"))?;
    let recovered = tap.map_or(0, Tap::len);
    let txn = store.db.begin_read().map_err(|e| e.to_string())?;
    contents(&txn, promised, store.token_key())?;
    drop(txn);
    for name in JOURNAL_FILES {
        let bytes = std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if let Some(at) = bytes.iter().position(|&b| b != 0) {
            return Err(format!("{name} holds data at byte {at} after the start"));
        }
    }
    runtime().block_on(store.close());
    let mut db = store.db.clone();
    drop(store);
    // The writer thread lets go of its handle just after it answered the stop.
    for _ in 0..2000 {
        match Arc::try_unwrap(db) {
            Ok(mut db) => {
                return match db.check_integrity() {
                    Ok(true) => Ok(recovered),
                    Ok(false) => Err("redb's integrity check needed repairs".into()),
                    Err(e) => Err(format!("redb's integrity check failed: {e}")),
                };
            }
            Err(shared) => db = shared,
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err("the database stayed open after the store closed".into())
}

type Entries = BTreeMap<(u64, i64, u64), tables::BarberEntry>;

/// Every entry of a booking index, its value mapped to a barber entry's shape.
fn read_index<V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: redb::TableDefinition<(u64, i64, u64), V>,
    map: impl Fn(V::SelfType<'_>) -> tables::BarberEntry,
) -> Result<Entries, redb::Error> {
    let mut found = Entries::new();
    for row in txn.open_table(def)?.iter()? {
        let (k, v) = row?;
        found.insert(k.value(), map(v.value()));
    }
    Ok(found)
}

fn contents(txn: &ReadTransaction, promised: &[&Promise], keys: &TokenKey) -> Result<(), String> {
    let e = |e: redb::Error| e.to_string();
    let mut bookings = BTreeMap::new();
    for row in txn
        .open_table(tables::BOOKINGS)
        .map_err(|x| e(x.into()))?
        .iter()
        .map_err(|x| e(x.into()))?
    {
        let (_, bytes) = row.map_err(|x| e(x.into()))?;
        let b: Booking =
            codec::decode(tables::BOOKINGS, bytes.value()).map_err(|x| x.to_string())?;
        bookings.insert(b.id, b);
    }
    let meta = txn.open_table(tables::META).map_err(|x| e(x.into()))?;
    for promise in promised {
        match promise {
            Promise::Booked {
                id,
                barber,
                start,
                status,
                token,
            } => {
                let b = bookings
                    .get(id)
                    .ok_or(format!("acknowledged booking {} lost", id.0))?;
                if (b.barber, b.start, b.status) != (*barber, *start, *status) {
                    return Err(format!("booking {} changed: {b:?}", id.0));
                }
                if keys.issue(*id) != *token {
                    return Err(format!("booking {}'s manage token changed", id.0));
                }
            }
            Promise::Refused { phone } => {
                for b in bookings.values() {
                    let client = clients::get(txn, b.client).map_err(|x| x.to_string())?;
                    if client.is_some_and(|c| c.phone == *phone) {
                        return Err(format!("refused booking made: {}", b.id.0));
                    }
                }
            }
            Promise::Set { key, value } => {
                let found = meta
                    .get(key.as_str())
                    .map_err(|x| e(x.into()))?
                    .map(|v| v.value());
                if found != Some(*value) {
                    return Err(format!("durable commit of {key} lost"));
                }
            }
            Promise::Count { bookings: n } if bookings.len() != *n => {
                return Err(format!("{} bookings, not {n}", bookings.len()));
            }
            Promise::Count { .. } => {}
        }
    }
    // Both indexes as barber entries: a client entry is (end, active, 0, 0, 0).
    let (mut by_barber, mut by_client) = (Entries::new(), Entries::new());
    for b in bookings.values() {
        let (start, active) = (b.start.as_second(), b.status.is_active());
        let entry = tables::barber_entry(b);
        by_barber.insert((b.barber.0, start, b.id.0), entry);
        let end = b.end.as_second();
        by_client.insert((b.client.0, start, b.id.0), (end, active, 0, 0, 0));
    }
    let found_barber = read_index(txn, tables::BARBER_BOOKINGS, |v| v).map_err(e)?;
    let found_client = read_index(txn, tables::CLIENT_BOOKINGS, |(end, active)| {
        (end, active, 0, 0, 0)
    })
    .map_err(e)?;
    for (name, expected, found) in [
        ("barber", &by_barber, found_barber),
        ("client", &by_client, found_client),
    ] {
        // Every field of every entry: a status, branch or client the row no longer has
        // (a merge, a status change) would make a report count wrong.
        if found != *expected {
            return Err(format!("the {name} index does not match the rows"));
        }
        // Sorted by owner and start: an active entry must end before the owner's next starts.
        let active: Vec<_> = found.iter().filter(|(_, v)| v.1).collect();
        if let Some(w) = active
            .windows(2)
            .find(|w| w[0].0.0 == w[1].0.0 && w[0].1.0 > w[1].0.1)
        {
            return Err(format!("{name} {} holds overlapping bookings", w[0].0.0));
        }
    }
    Ok(())
}
