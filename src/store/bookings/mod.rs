//! Bookings: availability, creation, reschedule, cancellation and status changes.
//!
//! **Invariant: no two active bookings of one barber overlap** (nor two of one client). Every
//! path that makes a booking active or moves it checks the agenda index and writes the row and
//! its indexes inside one write transaction (see [`super::engine`]), so concurrent requests
//! cannot both win. API and admin UI share these functions: one code path, not a copy.

use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::catalog::{self, Catalog};
use super::clients::{self, ClientDetails};
use super::engine::Journaled;
use super::{ReadTx, StoreError, Tx, audit, codec, next_id, outbox, tables};
use crate::domain::availability::{BarberDay, Interval};
use crate::domain::booking::{self, span_minutes};
use crate::domain::time::{self, iso_weekday, local_date};
use crate::domain::token::{self, TokenKey};
use crate::domain::{
    Barber, BarberId, BookedService, Booking, BookingId, BookingRules, BookingSource,
    BookingStatus, Branch, BranchId, Client, Closure, ClosureScope, DomainError, Money, Service,
    ServiceId, Text,
};

/// A specific barber, or whoever is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BarberChoice {
    Any,
    Barber(BarberId),
}

/// A request for a new booking, already validated field by field.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub branch: BranchId,
    pub services: Vec<ServiceId>,
    pub barber: BarberChoice,
    pub start: Timestamp,
    pub client: ClientDetails,
    pub source: BookingSource,
    pub notes: Option<Text>,
    /// The branch's deposit rule when deposits are on (online bookings); `None`: no deposit.
    pub deposit: Option<DepositRequest>,
}

/// Asks for a deposit per `policy`; an unpaid booking holds its slot for `hold`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DepositRequest {
    pub policy: crate::domain::DepositPolicy,
    pub hold: jiff::SignedDuration,
}

/// An Idempotency-Key and the hash of the request body it came with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    request_hash: String,
    booking: u64,
    created_at: Timestamp,
}

/// A booking just made (or replayed for a repeated Idempotency-Key), with its manage token.
#[derive(Debug, Clone)]
pub struct Created {
    pub booking: Booking,
    pub token: String,
    pub replayed: bool,
    /// The booking's client as stored now, and whether this request created the record.
    pub client: Client,
    pub new_client: bool,
    /// The deposit, when the booking needs one (it is then `pending_payment`).
    pub payment: Option<crate::domain::Payment>,
    /// The catalogue the booking was made against (to show its branch and barber).
    pub catalog: Arc<Catalog>,
}

/// A client's booking request (API or booking pages): every input of [`create`] but the
/// token key, so that the writer can log it in the journal and a replay after a crash makes
/// the very same booking (same time, rules and sequence-drawn ids over the same state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientBooking {
    /// The branch's slug, resolved inside the transaction.
    pub branch: String,
    pub services: Vec<ServiceId>,
    pub barber: BarberChoice,
    pub start: Timestamp,
    pub client: ClientDetails,
    pub notes: Option<Text>,
    pub deposit: Option<DepositRequest>,
    pub idempotency: Option<Idempotency>,
    pub rules: BookingRules,
    pub now: Timestamp,
}

impl Journaled for ClientBooking {
    type Output = Created;
    type Context = TokenKey;

    /// Makes the booking (or finds the one its Idempotency-Key made) and audits a new one.
    fn apply(self, txn: &Tx, keys: &TokenKey) -> Result<Created, StoreError> {
        let catalog = catalog::load(txn)?;
        let branch = catalog.active_branch(&self.branch)?.id;
        let new = NewBooking {
            branch,
            services: self.services,
            barber: self.barber,
            start: self.start,
            client: self.client,
            source: BookingSource::Online,
            notes: self.notes,
            deposit: self.deposit,
        };
        let created = create_in(
            txn,
            catalog,
            new,
            self.now,
            &self.rules,
            keys,
            self.idempotency,
        )?;
        if !created.replayed {
            let change = audit::Change::client_booking("booking.create", None, &created.booking);
            audit::record(txn, change, self.now)?;
        }
        Ok(created)
    }
}

/// A free slot: when, and with whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
    pub barber: BarberId,
}

pub fn get(tx: &impl ReadTx, id: BookingId) -> Result<Option<Booking>, StoreError> {
    codec::get(&tx.table(tables::BOOKINGS)?, tables::BOOKINGS, id.0)
}

/// The booking, if `token` is its manage token.
pub fn get_authorised(tx: &impl ReadTx, id: BookingId, token: &str) -> Result<Booking, StoreError> {
    match get(tx, id)? {
        Some(b) if token::verify(token, &b.manage_token_hash) => Ok(b),
        Some(_) => Err(DomainError::InvalidToken.into()),
        None => Err(DomainError::UnknownBooking.into()),
    }
}

/// How many bookings exist (any status).
pub fn count(tx: &impl ReadTx) -> Result<u64, StoreError> {
    Ok(tx.table(tables::BOOKINGS)?.len()?)
}

/// Every booking (of any status) of a branch starting on a local day, by start: each
/// barber's entries for the day, kept when they belong to the branch. Every barber is looked
/// at, since one may work at several branches or have moved since.
pub fn for_branch_day(
    tx: &impl ReadTx,
    branch: &Branch,
    date: Date,
) -> Result<Vec<Booking>, StoreError> {
    let tz = branch.tz();
    let from = time::day_start(date, &tz)?.as_second();
    let to =
        time::day_start(date.tomorrow().map_err(|_| DomainError::InvalidDate)?, &tz)?.as_second();
    let catalog = catalog::load(tx)?;
    let index = tx.table(tables::BARBER_BOOKINGS)?;
    let mut out = Vec::new();
    for barber in &catalog.barbers {
        for row in index.range((barber.id.0, from, 0)..(barber.id.0, to, 0))? {
            let (k, _) = row?;
            if let Some(b) = get(tx, BookingId(k.value().2))?
                && b.branch == branch.id
            {
                out.push(b);
            }
        }
    }
    out.sort_by_key(|b| (b.start, b.id));
    Ok(out)
}

/// The services chosen for a booking, in the order given: 1 to 5, distinct, active, and
/// offered at the branch.
fn resolve_services(
    catalog: &Catalog,
    branch: BranchId,
    ids: &[ServiceId],
) -> Result<Vec<Service>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    if ids.is_empty() || ids.len() > 5 || !ids.iter().all(|id| seen.insert(*id)) {
        return Err(DomainError::InvalidServiceSelection.into());
    }
    ids.iter()
        .map(|id| {
            catalog
                .services_at(branch)
                .find(|s| s.id == *id)
                .cloned()
                .ok_or(StoreError::Rule(DomainError::UnknownService(id.0)))
        })
        .collect()
}

/// The barbers who could take the booking: the one asked for (who must work at the branch
/// and do every service), or every such barber for "any".
fn candidates<'c>(
    catalog: &'c Catalog,
    branch: BranchId,
    choice: BarberChoice,
    services: &[ServiceId],
) -> Result<Vec<&'c Barber>, StoreError> {
    match choice {
        BarberChoice::Barber(id) => {
            let barber = catalog
                .barber(id)
                .filter(|b| b.works_at(branch))
                .ok_or(DomainError::UnknownBarber(id.0))?;
            if !barber.does_all(services) {
                return Err(DomainError::ServiceNotOffered.into());
            }
            Ok(vec![barber])
        }
        BarberChoice::Any => {
            let all: Vec<_> = catalog
                .barbers_at(branch)
                .filter(|b| b.does_all(services))
                .collect();
            if all.is_empty() {
                return Err(DomainError::ServiceNotOffered.into());
            }
            Ok(all)
        }
    }
}

/// Everything deciding one barber's free time at one branch on one local day.
/// `exclude` leaves one booking out (the one being rescheduled).
pub fn barber_day(
    tx: &impl ReadTx,
    branch: &Branch,
    barber: &Barber,
    date: Date,
    exclude: Option<BookingId>,
) -> Result<BarberDay, StoreError> {
    let closures = &catalog::load(tx)?.closures;
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    DayQuery::new(branch, &branch.tz(), closures, date, exclude)?.of(&agenda, barber)
}

/// What [`barber_day`] needs besides the barber, computed once per request.
struct DayQuery<'a> {
    branch: &'a Branch,
    closures: &'a [Closure],
    date: Date,
    exclude: Option<BookingId>,
    /// Local midnight starting `date`, and the whole local day.
    midnight: i64,
    whole_day: Interval,
}

impl<'a> DayQuery<'a> {
    fn new(
        branch: &'a Branch,
        tz: &TimeZone,
        closures: &'a [Closure],
        date: Date,
        exclude: Option<BookingId>,
    ) -> Result<Self, StoreError> {
        let midnight = time::day_start(date, tz)?;
        let next_midnight =
            time::day_start(date.tomorrow().map_err(|_| DomainError::InvalidDate)?, tz)?;
        Ok(Self {
            branch,
            closures,
            date,
            exclude,
            midnight: midnight.as_second(),
            whole_day: Interval::from_ts(midnight, next_midnight),
        })
    }

    /// The instant of a local time of the day: what [`time::at`] computes (a time of day is
    /// added to local midnight as an exact duration), without a zone conversion per call.
    fn at(&self, time: time::ClockTime) -> i64 {
        self.midnight + time.minutes() * 60
    }

    /// The barber's day, reading the agenda through `agenda` (opened once per request).
    fn of(
        &self,
        agenda: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
        barber: &Barber,
    ) -> Result<BarberDay, StoreError> {
        let DayQuery {
            branch,
            closures,
            date,
            exclude,
            whole_day,
            ..
        } = *self;
        let mut day = BarberDay {
            grid_origin: self.midnight,
            ..BarberDay::default()
        };
        for shift in barber.shifts_on(iso_weekday(date), branch.id) {
            let span = Interval::new(self.at(shift.start), self.at(shift.end));
            let breaks: Vec<_> = shift
                .breaks
                .iter()
                .map(|(s, e)| Interval::new(self.at(*s), self.at(*e)))
                .collect();
            day.add_shift(span, &breaks);
        }
        for closure in closures {
            let applies = match closure.scope {
                ClosureScope::Branch(b) => b == branch.id,
                ClosureScope::Barber(b) => b == barber.id,
            };
            let span = Interval::from_ts(closure.start, closure.end);
            if applies && span.overlaps(&whole_day) {
                day.closed.push(span);
            }
        }
        let owner = barber.id.0;
        // Active bookings never overlap and never last a day, so only the last active one
        // starting in the day before can spill over into this one: a reverse seek that stops
        // there instead of reading the whole day before.
        let day_before = (owner, whole_day.start - 86_400, 0);
        for row in agenda.range(day_before..(owner, whole_day.start, 0))?.rev() {
            let (k, v) = row?;
            let (_, start, id) = k.value();
            let (busy_until, active) = v.value();
            if !active || Some(BookingId(id)) == exclude {
                continue;
            }
            if busy_until > whole_day.start {
                day.busy.push(Interval::new(start, busy_until));
            }
            break;
        }
        for row in agenda.range((owner, whole_day.start, 0)..(owner, whole_day.end, 0))? {
            let (k, v) = row?;
            let (_, start, id) = k.value();
            let (busy_until, active) = v.value();
            if active && Some(BookingId(id)) != exclude {
                day.busy.push(Interval::new(start, busy_until));
            }
        }
        Ok(day)
    }
}

/// The active bookings of a barber that overlap `[from, to)`, by start.
pub fn active_of_barber(
    tx: &impl ReadTx,
    barber: BarberId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Booking>, StoreError> {
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    // A booking never lasts a day, so starting a day early catches any that spill over.
    let lo = (barber.0, from.as_second().saturating_sub(86_400), 0);
    let hi = (barber.0, to.as_second(), 0);
    let mut out = Vec::new();
    for row in agenda.range(lo..hi)? {
        let (k, v) = row?;
        let (_, _, id) = k.value();
        let (busy_until, active) = v.value();
        if active
            && busy_until > from.as_second()
            && let Some(b) = get(tx, BookingId(id))?
        {
            out.push(b);
        }
    }
    Ok(out)
}

/// Free slots at a branch on a local date for the chosen services, with one barber or any.
/// For "any", each start time is offered once, with the barber the booking would get.
pub fn availability(
    tx: &impl ReadTx,
    branch: &Branch,
    date: Date,
    services: &[ServiceId],
    choice: BarberChoice,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Vec<Slot>, StoreError> {
    let tz = branch.tz();
    let today = local_date(now, &tz);
    if date < today {
        return Err(DomainError::InThePast.into());
    }
    if date > rules.last_day(today) {
        return Err(DomainError::BeyondHorizon.into());
    }
    let catalog = catalog::load(tx)?;
    let chosen = resolve_services(&catalog, branch.id, services)?;
    let (work, busy) = span(&chosen);
    let barbers = candidates(&catalog, branch.id, choice, services)?;
    let step = rules.step_seconds();
    let earliest = rules.earliest(now);
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    let query = DayQuery::new(branch, &tz, &catalog.closures, date, None)?;
    let mut by_start: std::collections::BTreeMap<i64, (usize, BarberId)> = Default::default();
    for barber in barbers {
        let day = query.of(&agenda, barber)?;
        let load = day.busy.len();
        for start in day.free_starts(busy, step, earliest, i64::MAX) {
            let pick = (load, barber.id);
            by_start
                .entry(start)
                .and_modify(|cur| *cur = (*cur).min(pick))
                .or_insert(pick);
        }
    }
    by_start
        .into_iter()
        .map(|(start, (_, barber))| {
            Ok(Slot {
                start: Timestamp::from_second(start).map_err(|_| DomainError::InvalidDate)?,
                end: Timestamp::from_second(start + work).map_err(|_| DomainError::InvalidDate)?,
                barber,
            })
        })
        .collect()
}

/// (service seconds, busy seconds) of a selection of services.
fn span(services: &[Service]) -> (i64, i64) {
    let parts: Vec<(u16, u16)> = services
        .iter()
        .map(|s| (s.duration_minutes, s.buffer_minutes))
        .collect();
    let (work, busy) = span_minutes(&parts);
    (work * 60, busy * 60)
}

/// Picks the barber for a start: the one asked for, or for "any" the free barber with the
/// fewest bookings that day (then the lowest id), so work is spread fairly.
#[allow(clippy::too_many_arguments)]
fn pick_barber(
    agenda: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
    catalog: &Catalog,
    branch: &Branch,
    tz: &TimeZone,
    barbers: &[&Barber],
    start: Timestamp,
    busy: i64,
    step: i64,
    exclude: Option<BookingId>,
) -> Result<BarberId, StoreError> {
    let query = DayQuery::new(
        branch,
        tz,
        &catalog.closures,
        local_date(start, tz),
        exclude,
    )?;
    let mut best: Option<(usize, BarberId)> = None;
    let mut first_error = None;
    for barber in barbers {
        let day = query.of(agenda, barber)?;
        match day.check(start.as_second(), busy, step) {
            Ok(()) => {
                let pick = (day.busy.len(), barber.id);
                best = Some(best.map_or(pick, |b| b.min(pick)));
            }
            Err(e) => {
                // With several barbers, "taken" wins over "outside hours" in the answer.
                if first_error.is_none() || e == DomainError::SlotUnavailable {
                    first_error = Some(e);
                }
            }
        }
    }
    match best {
        Some((_, id)) => Ok(id),
        None => Err(first_error.unwrap_or(DomainError::SlotUnavailable).into()),
    }
}

/// Whether an active booking of `owner` in a booking index overlaps `want`. Active entries
/// of one owner never overlap, so sorted by start they are sorted by end too: only the last
/// active entry starting before `want.end` can overlap it (inactive ones are stepped over).
fn agenda_overlaps(
    agenda: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
    owner: u64,
    want: Interval,
    exclude: Option<BookingId>,
) -> Result<bool, StoreError> {
    for row in agenda
        .range((owner, i64::MIN, 0)..(owner, want.end, 0))?
        .rev()
    {
        let (k, v) = row?;
        let (_, start, id) = k.value();
        let (until, active) = v.value();
        if !active || Some(BookingId(id)) == exclude {
            continue;
        }
        return Ok(Interval::new(start, until).overlaps(&want));
    }
    Ok(false)
}

/// The two booking indexes, opened once for a booking's checks and writes.
type Index<'t> = redb::Table<'t, (u64, i64, u64), (i64, bool)>;

/// Writes a booking's entries in the barber's and the client's index (replacing those of the
/// same start: a status change).
pub(crate) fn index_insert(txn: &WriteTransaction, b: &Booking) -> Result<(), StoreError> {
    let mut by_barber = txn.open_table(tables::BARBER_BOOKINGS)?;
    let mut by_client = txn.open_table(tables::CLIENT_BOOKINGS)?;
    index_entries(&mut by_barber, &mut by_client, b)
}

fn index_entries(
    by_barber: &mut Index<'_>,
    by_client: &mut Index<'_>,
    b: &Booking,
) -> Result<(), StoreError> {
    let start = b.start.as_second();
    let active = b.status.is_active();
    by_barber.insert(
        (b.barber.0, start, b.id.0),
        (b.busy_until.as_second(), active),
    )?;
    by_client.insert((b.client.0, start, b.id.0), (b.end.as_second(), active))?;
    Ok(())
}

/// How many of a client's bookings ended as no-shows (the deposit rule counts them): the
/// inactive entries of the client's index whose row says `no_show`.
fn no_shows(
    txn: &WriteTransaction,
    by_client: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
    client: u64,
) -> Result<u32, StoreError> {
    let mut count = 0;
    for row in by_client.range((client, i64::MIN, 0)..=(client, i64::MAX, u64::MAX))? {
        let (k, v) = row?;
        if !v.value().1
            && get(txn, BookingId(k.value().2))?.is_some_and(|b| b.status == BookingStatus::NoShow)
        {
            count += 1;
        }
    }
    Ok(count)
}

fn index_remove(txn: &WriteTransaction, b: &Booking) -> Result<(), StoreError> {
    let start = b.start.as_second();
    txn.open_table(tables::BARBER_BOOKINGS)?
        .remove((b.barber.0, start, b.id.0))?;
    txn.open_table(tables::CLIENT_BOOKINGS)?
        .remove((b.client.0, start, b.id.0))?;
    Ok(())
}

/// Rebuilds both booking indexes from the rows (migration to schema 3), inserting in key
/// order. Returns how many bookings were indexed.
pub(crate) fn reindex(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let mut by_barber = Vec::new();
    let mut by_client = Vec::new();
    for row in txn.open_table(tables::BOOKINGS)?.iter()? {
        let (_, bytes) = row?;
        let b: Booking = codec::decode(tables::BOOKINGS, bytes.value())?;
        let (start, active) = (b.start.as_second(), b.status.is_active());
        by_barber.push((
            (b.barber.0, start, b.id.0),
            (b.busy_until.as_second(), active),
        ));
        by_client.push(((b.client.0, start, b.id.0), (b.end.as_second(), active)));
    }
    by_barber.sort_unstable();
    by_client.sort_unstable();
    let mut barbers = txn.open_table(tables::BARBER_BOOKINGS)?;
    for (k, v) in &by_barber {
        barbers.insert(k, v)?;
    }
    let mut clients = txn.open_table(tables::CLIENT_BOOKINGS)?;
    for (k, v) in &by_client {
        clients.insert(k, v)?;
    }
    Ok(by_barber.len() as u64)
}

/// Checks every rule for `[start, start + busy)` against the barbers' index `agenda` and
/// returns the barber who gets it.
#[allow(clippy::too_many_arguments)]
fn place(
    agenda: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
    catalog: &Catalog,
    branch: &Branch,
    services: &[Service],
    choice: BarberChoice,
    start: Timestamp,
    now: Timestamp,
    rules: &BookingRules,
    exclude: Option<BookingId>,
) -> Result<(BarberId, i64, i64), StoreError> {
    let tz = branch.tz();
    rules.check_timing(start, now, &tz)?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let barbers = candidates(catalog, branch.id, choice, &ids)?;
    let (work, busy) = span(services);
    let step = rules.step_seconds();
    let barber = pick_barber(
        agenda, catalog, branch, &tz, &barbers, start, busy, step, exclude,
    )?;
    // The invariant's own guard, independent of the day computation above.
    let want = Interval::new(start.as_second(), start.as_second() + busy);
    if agenda_overlaps(agenda, barber.0, want, exclude)? {
        return Err(DomainError::SlotUnavailable.into());
    }
    Ok((barber, work, busy))
}

fn ts(seconds: i64) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_second(seconds).map_err(|_| DomainError::InvalidDate)?)
}

/// Creates a booking, or replays the one made earlier with the same Idempotency-Key and body.
pub fn create(
    txn: &Tx,
    req: NewBooking,
    now: Timestamp,
    rules: &BookingRules,
    keys: &TokenKey,
    idempotency: Option<Idempotency>,
) -> Result<Created, StoreError> {
    create_in(txn, catalog::load(txn)?, req, now, rules, keys, idempotency)
}

/// [`create`] against `catalog`, the catalogue as `txn` sees it (read once per booking).
fn create_in(
    txn: &Tx,
    catalog: Arc<Catalog>,
    req: NewBooking,
    now: Timestamp,
    rules: &BookingRules,
    keys: &TokenKey,
    idempotency: Option<Idempotency>,
) -> Result<Created, StoreError> {
    if let Some(idem) = &idempotency {
        let record = txn
            .open_table(tables::IDEMPOTENCY)?
            .get(idem.key.as_str())?
            .map(|v| serde_json::from_slice::<IdempotencyRecord>(v.value()));
        if let Some(record) = record {
            let record = record.map_err(|source| StoreError::Corrupt {
                table: "idempotency_keys".into(),
                source,
            })?;
            if record.request_hash != idem.request_hash {
                return Err(DomainError::IdempotencyKeyReused.into());
            }
            let id = BookingId(record.booking);
            let booking = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
            let client = clients::get(txn, booking.client)?.ok_or(DomainError::UnknownClient)?;
            return Ok(Created {
                booking,
                token: keys.issue(id),
                replayed: true,
                client,
                new_client: false,
                payment: super::payments::by_booking(txn, id)?,
                catalog,
            });
        }
    }

    let branch = catalog
        .branch(req.branch)
        .filter(|b| b.active)
        .ok_or(DomainError::UnknownBranch)?;
    let services = resolve_services(&catalog, branch.id, &req.services)?;
    let mut by_barber = txn.open_table(tables::BARBER_BOOKINGS)?;
    let mut by_client = txn.open_table(tables::CLIENT_BOOKINGS)?;
    let (barber, work, busy) = place(
        &by_barber, &catalog, branch, &services, req.barber, req.start, now, rules, None,
    )?;
    let start = req.start.as_second();
    let mut no_shows = 0;
    let existing = clients::by_phone(txn, &req.client.phone)?;
    if let Some(existing) = &existing {
        let want = Interval::new(start, start + work);
        if agenda_overlaps(&by_client, existing.id.0, want, None)? {
            return Err(DomainError::ClientOverlap.into());
        }
        if req.deposit.is_some() {
            no_shows = self::no_shows(txn, &by_client, existing.id.0)?;
        }
    }
    let total = Money::sum(services.iter().map(|s| s.price));
    let deposit = req
        .deposit
        .and_then(|d| Some((d.policy.deposit_for(total, no_shows)?, d.hold)));

    // Every check passed: from here on, only writes.
    let new_client = existing.is_none();
    let client = clients::upsert_found(txn, existing, req.client, now)?;
    let id = BookingId(next_id(txn, "booking")?);
    let token = keys.issue(id);
    let booking = Booking {
        id,
        branch: branch.id,
        barber,
        client: client.id,
        total,
        services: services
            .into_iter()
            .map(|s| BookedService {
                id: s.id,
                name: s.name,
                duration_minutes: s.duration_minutes,
                price: s.price,
            })
            .collect(),
        start: req.start,
        end: ts(start + work)?,
        busy_until: ts(start + busy)?,
        status: BookingStatus::initial(req.source, deposit.is_some(), req.start, now),
        source: req.source,
        notes: req.notes,
        cancel_reason: None,
        manage_token_hash: token::hash(&token),
        created_at: now,
        updated_at: now,
        undoable_until: None,
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    index_entries(&mut by_barber, &mut by_client, &booking)?;
    drop((by_barber, by_client));
    let payment = match deposit {
        Some((amount, hold)) => Some(super::payments::open(txn, &booking, amount, hold, now)?),
        None => None,
    };
    if let Some(idem) = idempotency {
        let record = IdempotencyRecord {
            request_hash: idem.request_hash,
            booking: id.0,
            created_at: now,
        };
        let bytes = serde_json::to_vec(&record).map_err(|source| StoreError::Corrupt {
            table: "idempotency_keys".into(),
            source,
        })?;
        txn.open_table(tables::IDEMPOTENCY)?
            .insert(idem.key.as_str(), bytes.as_slice())?;
        txn.open_table(tables::IDEMPOTENCY_BY_TIME)?
            .insert((now.as_second(), idem.key.as_str()), ())?;
    }
    outbox::booking_changed(txn, None, &booking, now)?;
    Ok(Created {
        booking,
        token,
        replayed: false,
        client,
        new_client,
        payment,
        catalog,
    })
}

/// Up to `limit` Idempotency-Keys recorded before `before`, oldest first, as (second, key):
/// what [`prune_idempotency_keys`] forgets. The upkeep looks in a read transaction first, so
/// that an hour with nothing to forget costs the writer nothing.
pub fn expired_idempotency_keys(
    tx: &impl ReadTx,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<(i64, String)>, StoreError> {
    let by_time = tx.table(tables::IDEMPOTENCY_BY_TIME)?;
    by_time
        .range(..(before.as_second(), ""))?
        .take(limit)
        .map(|entry| entry.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// Forgets Idempotency-Keys recorded before `before` (at most `limit` per call, to keep a
/// write transaction short); returns how many went. A client retries within minutes; after
/// the TTL the same key makes a new booking attempt.
pub fn prune_idempotency_keys(
    txn: &WriteTransaction,
    before: Timestamp,
    limit: usize,
) -> Result<usize, StoreError> {
    let old = expired_idempotency_keys(txn, before, limit)?;
    let mut by_time = txn.open_table(tables::IDEMPOTENCY_BY_TIME)?;
    let mut keys = txn.open_table(tables::IDEMPOTENCY)?;
    for (at, key) in &old {
        by_time.remove((*at, key.as_str()))?;
        keys.remove(key.as_str())?;
    }
    Ok(old.len())
}

/// Schema 1 → 2: builds [`tables::IDEMPOTENCY_BY_TIME`] from the records' own `created_at`.
pub(crate) fn index_idempotency_keys_by_time(txn: &WriteTransaction) -> Result<(), StoreError> {
    let keys = txn.open_table(tables::IDEMPOTENCY)?;
    let mut by_time = txn.open_table(tables::IDEMPOTENCY_BY_TIME)?;
    for entry in keys.iter()? {
        let (key, value) = entry?;
        let record: IdempotencyRecord =
            serde_json::from_slice(value.value()).map_err(|source| StoreError::Corrupt {
                table: "idempotency_keys".into(),
                source,
            })?;
        by_time.insert((record.created_at.as_second(), key.value()), ())?;
    }
    Ok(())
}

/// Who asks for a change: the client (bound by the cut-off) or the staff (not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Client,
    Staff,
}

fn load_for_change(txn: &WriteTransaction, id: BookingId) -> Result<(Booking, Branch), StoreError> {
    let booking = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let branch = catalog::branch(txn, booking.branch)?.ok_or(DomainError::UnknownBranch)?;
    Ok((booking, branch))
}

/// Moves a booking to a new start (and barber, or "any"), under every booking rule.
pub fn reschedule(
    txn: &Tx,
    id: BookingId,
    start: Timestamp,
    choice: BarberChoice,
    actor: Actor,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Booking, StoreError> {
    let (old, branch) = load_for_change(txn, id)?;
    if !old.status.is_reschedulable() {
        return Err(DomainError::InvalidTransition {
            from: old.status.as_str(),
            to: "rescheduled",
        }
        .into());
    }
    if actor == Actor::Client {
        rules.client_may_change(old.start, now)?;
    }
    // The booked services, as the catalogue has them now (durations may have changed).
    let ids: Vec<ServiceId> = old.services.iter().map(|s| s.id).collect();
    let catalog = catalog::load(txn)?;
    let services = resolve_services(&catalog, branch.id, &ids)?;
    let (barber, work, busy) = place(
        &txn.open_table(tables::BARBER_BOOKINGS)?,
        &catalog,
        &branch,
        &services,
        choice,
        start,
        now,
        rules,
        Some(id),
    )?;
    let s = start.as_second();
    let overlaps = agenda_overlaps(
        &txn.open_table(tables::CLIENT_BOOKINGS)?,
        old.client.0,
        Interval::new(s, s + work),
        Some(id),
    )?;
    if overlaps {
        return Err(DomainError::ClientOverlap.into());
    }
    index_remove(txn, &old)?;
    let booking = Booking {
        barber,
        start,
        end: ts(s + work)?,
        busy_until: ts(s + busy)?,
        updated_at: now,
        ..old.clone()
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    index_insert(txn, &booking)?;
    outbox::booking_changed(txn, Some(&old), &booking, now)?;
    Ok(booking)
}

/// Cancels a booking (the client only before the cut-off), freeing its slot.
pub fn cancel(
    txn: &Tx,
    id: BookingId,
    reason: Option<Text>,
    actor: Actor,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Booking, StoreError> {
    let (old, _) = load_for_change(txn, id)?;
    let before_cutoff = rules.client_may_change(old.start, now).is_ok();
    if actor == Actor::Client {
        // An already-cancelled booking answers "invalid transition", not "too late".
        if old.status.can_become(BookingStatus::Cancelled) {
            rules.client_may_change(old.start, now)?;
        }
    }
    change_status(
        txn,
        id,
        BookingStatus::Cancelled,
        reason,
        now,
        before_cutoff,
    )
}

/// Moves a booking along its status machine (check-in, completed, no-show, cancelled).
/// A cancellation through here refunds a paid deposit; [`cancel`] applies the cut-off.
pub fn set_status(
    txn: &Tx,
    id: BookingId,
    to: BookingStatus,
    reason: Option<Text>,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    change_status(txn, id, to, reason, now, true)
}

/// The front desk's status change (check-in, completed, no-show): on time only (see
/// [`BookingStatus::check_timing`]), and undoable for [`booking::UNDO_WINDOW`].
pub fn desk_status(
    txn: &Tx,
    id: BookingId,
    to: BookingStatus,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    old.status.transition(to)?;
    to.check_timing(old.start, now)?;
    let changed = change_status(txn, id, to, None, now, true)?;
    let booking = Booking {
        undoable_until: now.checked_add(booking::UNDO_WINDOW).ok(),
        ..changed
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    Ok(booking)
}

/// Undoes the front desk's last status change while it may be undone. A booking that held
/// its slot again (an undone no-show) is checked against the agendas first; a deposit kept
/// for the no-show is paid again.
pub fn undo_status(txn: &Tx, id: BookingId, now: Timestamp) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let target = old
        .status
        .undo_target()
        .filter(|_| old.undoable_until.is_some_and(|until| now <= until))
        .ok_or(DomainError::NothingToUndo)?;
    if !old.status.is_active() && target.is_active() {
        let s = old.start.as_second();
        let barber = Interval::new(s, old.busy_until.as_second());
        if agenda_overlaps(
            &txn.open_table(tables::BARBER_BOOKINGS)?,
            old.barber.0,
            barber,
            Some(id),
        )? {
            return Err(DomainError::SlotUnavailable.into());
        }
        let client = Interval::new(s, old.end.as_second());
        if agenda_overlaps(
            &txn.open_table(tables::CLIENT_BOOKINGS)?,
            old.client.0,
            client,
            Some(id),
        )? {
            return Err(DomainError::ClientOverlap.into());
        }
        super::payments::no_show_undone(txn, id, now)?;
    }
    let booking = Booking {
        status: target,
        undoable_until: None,
        updated_at: now,
        ..old.clone()
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    index_insert(txn, &booking)?;
    outbox::booking_changed(txn, Some(&old), &booking, now)?;
    Ok(booking)
}

/// The status change, and what it means for the deposit, in one transaction: cancelled
/// before the cut-off refunds it, after the cut-off or on a no-show it is kept.
fn change_status(
    txn: &Tx,
    id: BookingId,
    to: BookingStatus,
    reason: Option<Text>,
    now: Timestamp,
    refund_deposit: bool,
) -> Result<Booking, StoreError> {
    let (old, _) = load_for_change(txn, id)?;
    let status = old.status.transition(to)?;
    // Checked first, written after: a refused change writes nothing.
    match to {
        BookingStatus::Cancelled => {
            super::payments::booking_cancelled(txn, id, refund_deposit, now)?
        }
        BookingStatus::NoShow => super::payments::booking_no_show(txn, id, now)?,
        _ => {}
    }
    // Same start, barber and client: the index entries are rewritten in place.
    let booking = Booking {
        status,
        cancel_reason: reason.or(old.cancel_reason.clone()),
        updated_at: now,
        ..old.clone()
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    index_insert(txn, &booking)?;
    outbox::booking_changed(txn, Some(&old), &booking, now)?;
    Ok(booking)
}

/// Replaces a booking's notes (front desk or its barber; any status: a note after the visit
/// is useful too). Returns the booking as it is now.
pub fn set_notes(
    txn: &WriteTransaction,
    id: BookingId,
    notes: Option<Text>,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let booking = Booking {
        notes,
        updated_at: now,
        ..old
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    Ok(booking)
}

/// A local date a number of days from today (used by the demo and tests).
pub fn date_in(now: Timestamp, tz: &TimeZone, days: i64) -> Date {
    local_date(now, tz)
        .checked_add(days.days())
        .unwrap_or(Date::MAX)
}
