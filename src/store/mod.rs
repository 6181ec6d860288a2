//! Persistence. The only module that imports redb.
//!
//! * [`tables`]: every table definition.
//! * [`engine`]: group commit — all writes go through one thread and shared transactions
//!   ([`Tx`]); clients' bookings ([`bookings::ClientBooking`], the one [`engine::Journaled`]
//!   request) are made durable by the journal between checkpoints.
//! * [`catalog`], [`clients`], [`bookings`], [`payments`]: one module per aggregate; each keeps
//!   its indexes in the same write transaction as its rows. `bookings` calls `payments` (a
//!   booking's change decides its deposit's fate), never the reverse: where a deposit's change
//!   moves its booking, the use case (`app::deposits`) does both in one transaction.
//! * [`bulk`]: large-transaction loading for the benchmark's data generator.

/// The audit log of every change (staff, clients, jobs, commands).
pub mod audit;
pub mod bookings;
pub mod bulk;
pub mod catalog;
pub mod clients;
pub mod codec;
/// La caja: commission rules and closed pay periods.
pub mod commissions;
/// The power-loss simulator of the whole store (tests).
#[cfg(test)]
mod crash_sim;
/// The storage engine: the group-commit writer, the redo journal, redb's file; it knows
/// transactions and records, no aggregate.
pub mod engine;
pub mod error;
#[cfg(test)]
mod schema7_tests;
// Files beside redb's (`secret.key`), written durably: temporary, sync, rename, folder sync.
use engine::files;
/// La caja's append-only ledger: sales, voids, cash movements, advances; its indexes and daily totals.
pub mod ledger;
/// Confirmation e-mails: queued with their booking, sent by `jobs::mail`.
pub mod mail;
/// La caja's MercadoPago links: one per sale with a MercadoPago line, and whether it was paid.
pub mod mp_links;
/// The durable outbox of client messages, written in the booking change's own transaction.
pub mod outbox;
/// Photos of branches and barbers (Catálogo uploads, resized).
pub mod photos;
/// After a failed flush: the database rebuilt into a fresh file before it is trusted.
mod rebuild;

/// Personal data (Ley 25.326): a person's export and erasure.
pub mod privacy;
/// Products and their stock per branch.
pub mod products;

/// Deposits (señas): their states, the worker's queue and MercadoPago notifications.
pub mod payments;
/// Consistent copies of the live database for snapshots, and the checks before a restore.
pub mod replay_log;
pub mod snapshot;
/// Staff accounts, sessions and one-time setup links.
pub mod staff;
pub mod tables;
/// La caja diaria: each branch's till per day.
pub mod till;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::WriteTransaction;
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable};

pub use engine::{ReadOnly, ReadTx, Tx, Writer};
pub use error::StoreError;
pub(crate) use files::sync_dir;

use engine::{dbfile, journal};

use crate::domain::token::TokenKey;

/// The schema this binary writes. Bump it with a migration in [`migrate`].
pub const SCHEMA_VERSION: u64 = 7;
/// The database file inside the data folder.
pub const DB_FILE: &str = "barberpro.redb";
const LOCK_FILE: &str = "barberpro.lock";
/// The marker (and status) of a standby folder (`snapshot::standby`): while it is there,
/// [`Store::open`] refuses the folder.
pub const STANDBY_FILE: &str = "standby.json";
/// The change log's default bound on unshipped segments (`snapshot.replicate_max_backlog_mb`).
const DEFAULT_MAX_BACKLOG: u64 = 256 << 20;

/// The open database, its writer, and the lock that keeps other processes out.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writer: Writer<bookings::ClientBooking>,
    /// Read queries run on blocking threads, at most one per core at a time. More would only
    /// time-slice the cores between them, so that all finish late (and share them with the
    /// writer); queued in order instead, each finishes as soon as it can.
    reads: Arc<tokio::sync::Semaphore>,
    _lock: Arc<File>,
    path: PathBuf,
    keys: TokenKey,
    changelog: engine::ChangeLog,
}

impl Store {
    /// Opens (or creates) the database in `data_dir`, takes the folder's lock, checks the
    /// schema version and migrates an older one.
    pub fn open(data_dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        Self::open_with(data_dir, cache_bytes, engine::CHECKPOINT_EVERY)
    }

    /// [`Store::open`] for a command that works on data already there (a snapshot, a
    /// person's export or erasure, the audit log): a folder without a database is refused,
    /// where [`Store::open`] would make a new empty one, with its key and journal, and the
    /// command would report nothing found (or upload an empty snapshot).
    pub fn open_existing(data_dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        if !data_dir.join(DB_FILE).is_file() {
            return Err(StoreError::NoDatabase {
                dir: data_dir.display().to_string(),
                file: DB_FILE,
            });
        }
        Self::open(data_dir, cache_bytes)
    }

    /// [`Store::open`], with the writer's checkpoint interval (see [`engine`]).
    pub fn open_with(
        data_dir: &Path,
        cache_bytes: usize,
        checkpoint_every: std::time::Duration,
    ) -> Result<Self, StoreError> {
        // A folder made here is private (0700): it holds clients' personal data and keys. An
        // existing folder keeps the mode its owner gave it.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| StoreError::io(format!("creating {}", data_dir.display()), e))?;
        if data_dir.join(STANDBY_FILE).exists() {
            return Err(StoreError::Standby {
                dir: data_dir.display().to_string(),
                file: STANDBY_FILE,
            });
        }
        let lock = take_lock(data_dir)?;
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            create_db(&path, cache_bytes, data_dir)?;
        }
        let (mut db, mut flusher) = open_db(&path, cache_bytes, data_dir)?;
        let migrated = match init_schema(&db) {
            Ok(migrated) => migrated,
            // On a full disk the start's fresh catalogue stamp cannot be written; a file of
            // the current schema needs nothing else, so it opens (the server serves halted).
            Err(e) => {
                if !e.is_disk_full() || !schema_is_current(&db)? {
                    return Err(e);
                }
                tracing::warn!(error = %e, "the disk is full: the database opens as it is");
                drop(db);
                (db, flusher) = open_db(&path, cache_bytes, data_dir)?;
                false
            }
        };
        if rebuild::is_suspect(data_dir) {
            tracing::warn!(path = %path.display(), "a flush of the database failed before: rebuilding it into a fresh file");
            let kept = rebuild::rebuild(db, data_dir)?;
            tracing::warn!(kept = %kept.display(), "database rebuilt; the old file is kept");
            (db, flusher) = open_db(&path, cache_bytes, data_dir)?;
        }
        let keys = load_or_create_key(data_dir)?;
        let (mut journal, records) = journal::Journal::open(data_dir).map_err(|e| {
            StoreError::io(format!("opening the journal in {}", data_dir.display()), e)
        })?;
        let logged = engine::changelog::logged_seq(&db.begin_read()?)?;
        let changelog =
            engine::ChangeLog::open(data_dir, logged, DEFAULT_MAX_BACKLOG).map_err(|e| {
                StoreError::io(
                    format!("opening the change log in {}", data_dir.display()),
                    e,
                )
            })?;
        if migrated {
            // Segments written from now on hold the new schema's tables: they must not
            // extend a generation whose snapshot has the old one (the replication's next
            // snapshot starts a new generation). Before the journal's replay, logged or not.
            changelog.end_generation().map_err(|e| {
                StoreError::io(
                    format!(
                        "ending the change log's generation in {}",
                        data_dir.display()
                    ),
                    e,
                )
            })?;
        }
        let replayed = engine::replay::<bookings::ClientBooking>(
            &db,
            &records,
            &journal.stranded(),
            &keys,
            Some(&changelog),
        )
        .map_err(|e| keep_damaged_journal(e, data_dir))?;
        if replayed > 0 {
            tracing::warn!(
                records = replayed,
                "replayed the journal after an unclean stop"
            );
        }
        journal
            .start_over()
            .map_err(|e| StoreError::io(format!("resetting {}", journal.path().display()), e))?;
        scrub_journal_once(&db, &mut journal, data_dir)?;
        let db = Arc::new(db);
        let writer = Writer::start_logged(
            db.clone(),
            Some(journal),
            Some(flusher),
            keys.clone(),
            checkpoint_every,
            Some(changelog.clone()),
        )
        .map_err(|e| StoreError::io("starting the database writer", e))?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            db,
            writer,
            reads: Arc::new(tokio::sync::Semaphore::new(cores)),
            _lock: Arc::new(lock),
            path,
            keys,
            changelog,
        })
    }

    /// The change log of committed transactions (continuous backup).
    pub fn changelog(&self) -> &engine::ChangeLog {
        &self.changelog
    }

    /// Stops the writer after committing what is queued (graceful shutdown).
    pub async fn close(&self) {
        self.writer.stop().await;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Installs the writer's observer (metrics of batches and checkpoints); once per store.
    pub fn observe_writer(&self, observer: engine::WriterObserver) -> bool {
        self.writer.observe(observer)
    }

    /// Notified after each commit that queued outbox work (the outbox worker waits on it).
    pub fn committed_work(&self) -> Arc<tokio::sync::Notify> {
        self.writer.committed_work()
    }

    /// Whether the database writer still takes requests (readiness).
    pub fn writer_alive(&self) -> bool {
        self.writer.is_alive()
    }

    /// The writer's halt after an I/O error (readiness fails, the server exits non-zero).
    pub fn halt(&self) -> &engine::Halt {
        self.writer.halt()
    }

    /// Runs a read-only query on a consistent snapshot, off the async executor.
    pub async fn read<R, F>(&self, query: F) -> Result<R, StoreError>
    where
        F: FnOnce(&ReadTransaction) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let _turn = self
            .reads
            .acquire()
            .await
            .map_err(|_| StoreError::BatchFailed("the store is closed".into()))?;
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read()?;
            query(&txn)
        })
        .await
        .map_err(|e| StoreError::BatchFailed(format!("read task failed: {e}")))?
    }

    /// Runs a short read-only query on a consistent snapshot, on the calling task's own
    /// thread. Only for queries bounded by design (one branch's day of availability), for
    /// which the hop to a blocking thread and back costs more than the query itself; it still
    /// takes its turn among the reads.
    pub async fn read_short<R, F>(&self, query: F) -> Result<R, StoreError>
    where
        F: FnOnce(&ReadTransaction) -> Result<R, StoreError>,
    {
        let _turn = self
            .reads
            .acquire()
            .await
            .map_err(|_| StoreError::BatchFailed("the store is closed".into()))?;
        let txn = self.db.begin_read()?;
        query(&txn)
    }

    /// Runs `work` in a (shared, group-committed) write transaction; see [`engine`].
    pub async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Tx) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.writer.write(work).await
    }

    /// Makes a client's booking, durable through the journal; see [`Writer::journaled`].
    pub async fn book(
        &self,
        request: bookings::ClientBooking,
    ) -> Result<bookings::Created, StoreError> {
        self.writer.journaled(request).await
    }

    /// The key manage tokens are derived from (`secret.key` in the data folder).
    pub fn token_key(&self) -> &TokenKey {
        &self.keys
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        read_schema_version(&txn)
    }
}

/// Opens redb's file at `path` through [`dbfile::DbFile`] (checkpoints flushed in the
/// background).
fn open_db(
    path: &Path,
    cache_bytes: usize,
    data_dir: &Path,
) -> Result<(Database, Arc<dbfile::Flusher>), StoreError> {
    let (file, flusher) = dbfile::DbFile::open(path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
    let db = Database::builder()
        .set_cache_size(cache_bytes)
        .create_with_backend(file)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
                dir: data_dir.display().to_string(),
                holder: "another process".into(),
            },
            other => other.into(),
        })?;
    Ok((db, flusher))
}

/// Makes a new database at `path`, whole or not at all: redb writes its header and first
/// commit under a temporary name, which is renamed to `path` (and its folder synced) only
/// once that commit is durable. A crash while redb wrote the header in place would leave a
/// file every later start refuses ("not a redb database"); a temporary left by a crash is
/// made anew.
fn create_db(path: &Path, cache_bytes: usize, data_dir: &Path) -> Result<(), StoreError> {
    let tmp = data_dir.join(format!("{DB_FILE}.new"));
    match std::fs::remove_file(&tmp) {
        Ok(()) => engine::probe::removed(&tmp),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(format!("removing {}", tmp.display()), e)),
    }
    let (db, _flusher) = open_db(&tmp, cache_bytes, data_dir)?;
    init_schema(&db)?;
    drop(db);
    std::fs::rename(&tmp, path)
        .map_err(|e| StoreError::io(format!("renaming {}", tmp.display()), e))?;
    engine::probe::renamed(&tmp, path);
    files::sync_dir(data_dir)
        .map_err(|e| StoreError::io(format!("syncing {}", data_dir.display()), e))
}

/// A journal the replay refuses is never started over: its segments stay as they are, and a
/// copy of each is kept beside them (`*.damaged`), named in the error.
fn keep_damaged_journal(e: StoreError, data_dir: &Path) -> StoreError {
    let StoreError::Journal(why) = e else {
        return e;
    };
    let kept = match journal::keep_copies(data_dir) {
        Ok(copies) => copies
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("(copying it aside failed: {e})"),
    };
    StoreError::Journal(format!(
        "{why}; refusing to start. Copies: {kept}. Keep them, then restore the last snapshot or \
         remove barberpro.journal and barberpro.journal.2 to start without the lost records"
    ))
}

/// The key manage tokens are derived from: 32 random bytes in `secret.key` (0600). The
/// journal's replay derives them too, so the store keeps the key with the database.
fn load_or_create_key(data_dir: &Path) -> Result<TokenKey, StoreError> {
    let path = data_dir.join("secret.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| StoreError::Io {
                context: format!("{} is not 32 bytes long", path.display()),
                source: std::io::Error::from(std::io::ErrorKind::InvalidData),
            })?;
            Ok(TokenKey::from_bytes(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Durable before any token is derived from it: a crash must never leave a short
            // key, nor lose it and make another one (links already sent, replayed tokens).
            let key: [u8; 32] = rand::random();
            files::write_durably(&path, &key, 0o600)
                .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
            Ok(TokenKey::from_bytes(key))
        }
        Err(e) => Err(StoreError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        }),
    }
}

/// Takes an exclusive lock on the data folder and records our PID in it.
fn take_lock(data_dir: &Path) -> Result<File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::InUse {
                dir: data_dir.display().to_string(),
                holder: if holder.is_empty() {
                    "another process".into()
                } else {
                    format!("PID {holder}")
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(StoreError::io(format!("locking {}", path.display()), e));
        }
    }
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| file.write_all(pid.as_bytes()))
        .and_then(|_| file.flush())
        .map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
    Ok(file)
}

/// The `meta` key saying the journal's segments hold nothing past their records.
const JOURNAL_SCRUBBED: &str = "journal.scrubbed";

/// Versions before this key existed emptied a journal segment by zeroing only its first
/// record's header, leaving older records (clients' names and phones) in the file: the first
/// start of this version rewrites both segments zero-filled, once (see `journal`).
fn scrub_journal_once(
    db: &Database,
    journal: &mut journal::Journal,
    data_dir: &Path,
) -> Result<(), StoreError> {
    let done = db
        .begin_read()?
        .table(tables::META)?
        .get(JOURNAL_SCRUBBED)?
        .is_some();
    if done {
        return Ok(());
    }
    journal.scrub().map_err(|e| {
        StoreError::io(
            format!("rewriting the journal in {}", data_dir.display()),
            e,
        )
    })?;
    let txn = db.begin_write()?;
    txn.open_table(tables::META)?.insert(JOURNAL_SCRUBBED, 1)?;
    txn.commit()?;
    Ok(())
}

fn read_schema_version(txn: &impl ReadTx) -> Result<u64, StoreError> {
    let meta = txn.table(tables::META)?;
    Ok(meta.get("schema_version")?.map(|v| v.value()).unwrap_or(0))
}

/// Whether `db` is of the current schema with every table: [`init_schema`] would change
/// nothing in it but the catalogue's stamp.
fn schema_is_current(db: &Database) -> Result<bool, StoreError> {
    let txn = db.begin_read()?;
    Ok(read_schema_version(&txn)? == SCHEMA_VERSION && tables::all_exist(&txn))
}

/// Creates every table, writes the schema version on a new file, refuses a newer schema and
/// migrates an older one — all in one write transaction. True: an older schema was migrated.
fn init_schema(db: &Database) -> Result<bool, StoreError> {
    let txn = WriteTransaction::unlogged(db.begin_write()?);
    let found = read_schema_version(&txn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    tables::create_all(&txn)?;
    migrate(&txn, found)?;
    // Whatever wrote this file last (an older binary, a restore), the catalogue memo must
    // not take it for one it has seen: a fresh stamp (see `catalog::load`).
    catalog::touch(&txn)?;
    txn.commit()?;
    Ok(found > 0 && found < SCHEMA_VERSION)
}

/// Brings a database from schema `from` up to [`SCHEMA_VERSION`]. Version 0 is a file that
/// has never been initialised.
fn migrate(txn: &WriteTransaction, from: u64) -> Result<(), StoreError> {
    if from < SCHEMA_VERSION {
        if from > 0 {
            tracing::info!(from, to = SCHEMA_VERSION, "migrating the database schema");
        }
        // One step per version, oldest first; a new file (0) starts at the current shape.
        if from == 1 {
            bookings::index_idempotency_keys_by_time(txn)?;
        }
        if (1..3).contains(&from) {
            // Four booking indexes become two (every booking by barber and by client, each
            // entry saying whether it is active): built from the rows, then the old ones go.
            // Both are built from the rows by the step to schema 7 below.
            tables::retired::delete_all(txn)?;
        }
        if (1..5).contains(&from) {
            // Client search reads folded names and phone digits by client id (schema 4 had
            // them by name: that index goes).
            let clients = clients::reindex_search(txn)?;
            tables::retired::delete_all(txn)?;
            tracing::info!(clients, "client search index built");
        }
        // Schema 6 added la caja's tables (ledger, tills, products, commissions), the
        // confirmation e-mails' and the photos'; schema 7 added `caja_mp_links` (a build of
        // schema 6 refuses a file holding a table it does not know, so the version says
        // so). All new and empty, made by `tables::create_all` above: nothing to convert.
        if (1..7).contains(&from) {
            // Schema 7 (reports): the barber index's entries carry the booking's status,
            // branch and client too, so the owner's reports read a period without the rows.
            // A new table (`idx_barber_timeline`) built from the rows; the old one goes.
            // From before schema 3 the client index is built too (the step above left none).
            let started = std::time::Instant::now();
            let which = if from < 3 {
                bookings::Reindex::Both
            } else {
                bookings::Reindex::Barber
            };
            let bookings = bookings::reindex(txn, which)?;
            tables::retired::delete_all(txn)?;
            tracing::info!(
                bookings,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "barber index rebuilt with status, branch and client"
            );
        }
        let mut meta = txn.open_table(tables::META)?;
        meta.insert("schema_version", SCHEMA_VERSION)?;
    }
    Ok(())
}

/// Rows per table, for the admin's "Sistema" page.
pub fn table_counts(txn: &ReadTransaction) -> Result<Vec<(&'static str, u64)>, StoreError> {
    tables::count_all(txn)
}

/// Hands out the next id of a named sequence (`"booking"`, `"client"`, …), starting at 1.
pub(crate) fn next_id(txn: &WriteTransaction, sequence: &str) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(tables::META)?;
    let key = format!("seq.{sequence}");
    let next = meta.get(key.as_str())?.map(|v| v.value()).unwrap_or(0) + 1;
    meta.insert(key.as_str(), next)?;
    Ok(next)
}
