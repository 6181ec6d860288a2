//! Continuous backup, the restoring half: the newest snapshot (at or before `--at`), then
//! every later change-log segment in the bucket, in order, up to `--at`. Every object is
//! checked (age's MAC, zstd's checksum, the segment's SHA-256 and per-record checksums); a
//! missing segment is refused by name before anything is swapped in; a damaged one stops the
//! replay there, saying up to which transaction it got.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;

use super::SnapshotError;
use super::manifest::{self, SnapshotName};
use super::replicate::{REMOTE_DIR, unpack};
use super::restore::{self, Source};
use super::upload::Remote;
use crate::config::Config;
use crate::store::engine::changelog::{self, format};
use crate::store::{DB_FILE, replay_log};

/// A generation's segments in the bucket: number → object name.
pub type Generations = BTreeMap<String, BTreeMap<u64, String>>;

/// Groups `changelog/<generation>/<n>.seg.zst[.age]` objects.
pub fn generations(objects: &[(String, u64)]) -> Generations {
    let mut out = Generations::new();
    for (name, _) in objects {
        let Some(rest) = name.strip_prefix(&format!("{REMOTE_DIR}/")) else {
            continue;
        };
        let Some((generation, file)) = rest.split_once('/') else {
            continue;
        };
        let Some(n) = file.split('.').next().and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        out.entry(generation.to_owned())
            .or_default()
            .insert(n, name.clone());
    }
    out
}

/// What a point-in-time restore did.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub snapshot: restore::Restored,
    pub replay: replay_log::Replayed,
    pub segments: u64,
    /// Key files put back from the snapshot's encrypted bundle.
    pub keys: Vec<String>,
    /// Why the replay stopped before the end of the log (a damaged segment), if it did.
    pub stopped: Option<String>,
    /// The last segment applied whole (generation, number): where a standby goes on from.
    pub last_segment: Option<(String, u64)>,
}

impl Recovered {
    pub fn summary(&self) -> String {
        let upto = self
            .replay
            .last_ms
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map_or_else(|| "the snapshot".to_owned(), |t| t.to_string());
        format!(
            "{}\n{}change log: {} transactions from {} segments applied after the snapshot's \
             transaction {}; restored up to transaction {} ({upto}){}",
            self.snapshot.summary("restore"),
            if self.keys.is_empty() {
                String::new()
            } else {
                format!("keys put back: {}\n", self.keys.join(", "))
            },
            self.replay.applied,
            self.segments,
            self.replay.from_seq,
            self.replay.last_seq,
            self.stopped
                .as_ref()
                .map(|s| format!("\nSTOPPED EARLY: {s}"))
                .unwrap_or_default()
        )
    }
}

pub(crate) fn remote(config: &Config) -> Result<Remote, SnapshotError> {
    Remote::from_config(&config.snapshot.s3)
        .map_err(|e| SnapshotError::Config(e.to_string()))?
        .ok_or_else(|| {
            SnapshotError::Config(
                "a point-in-time restore reads the bucket: set snapshot.s3.bucket".into(),
            )
        })
}

pub(crate) fn identities(
    config: &Config,
) -> Result<Option<Vec<Box<dyn age::Identity + Send + Sync>>>, SnapshotError> {
    let Some(file) = &config.snapshot.age_identity_file else {
        return Ok(None);
    };
    let ids = age::IdentityFile::from_file(file.display().to_string())
        .map_err(|e| SnapshotError::Crypto(format!("reading {}: {e}", file.display())))?
        .into_identities()
        .map_err(|e| SnapshotError::Crypto(e.to_string()))?;
    Ok(Some(ids))
}

/// Restores the newest complete snapshot created at or before `at` (any, without it), then
/// replays the change log after it up to `at`.
pub async fn restore(
    config: &Config,
    at: Option<Timestamp>,
    data_dir: &Path,
) -> Result<Recovered, SnapshotError> {
    let remote = remote(config)?;
    let listed = manifest::group(remote.list().await?);
    let snapshot = listed
        .iter()
        .filter(|l| l.complete())
        .filter(|l| at.is_none_or(|at| l.name.created <= at))
        .max_by_key(|l| l.name.created)
        .ok_or_else(|| {
            SnapshotError::NotFound(match at {
                Some(at) => format!(
                    "no complete snapshot in {} taken at or before {at}",
                    remote.location
                ),
                None => format!("no complete snapshot in {}", remote.location),
            })
        })?
        .name
        .clone();
    let plan = plan(&remote, &snapshot).await?;
    let ids = identities(config)?;
    let snap = restore::restore(config, &Source::Name(snapshot.base()), data_dir).await?;
    // The keys, when they travelled (encrypted) with the snapshot.
    let mut keys = Vec::new();
    if let Some(ids) = &ids
        && let Ok(bundle) = remote
            .get_bytes(&format!("{}{}", snapshot.base(), super::keys::SUFFIX))
            .await
    {
        keys = super::keys::unbundle(&bundle, ids, data_dir).map_err(SnapshotError::Crypto)?;
    }
    // The restored file is a new history: the old change log's state is set aside, and
    // nothing is logged until the next snapshot starts a generation.
    let old = data_dir.join(changelog::DIR);
    if old.exists() {
        let aside = data_dir.join(format!(
            "{}.pre-restore-{}",
            changelog::DIR,
            Timestamp::now().as_second()
        ));
        std::fs::rename(&old, &aside)
            .map_err(SnapshotError::io(format!("moving {} aside", old.display())))?;
    }
    // The restored folder may take over this prefix's lease (see `replicate::check_lease`).
    changelog::start_fresh(data_dir, Some(remote.location.clone())).map_err(SnapshotError::io(
        "starting the change log afresh".to_owned(),
    ))?;
    let path = data_dir.join(DB_FILE);
    let (db, mut done) = replay_log::open(&path)?;
    let until_ms = at.map(|t| t.as_millisecond() + 999);
    let replayed = replay(&remote, ids.as_deref(), &db, &mut done, plan, until_ms).await?;
    replay_log::finish(&db)?;
    drop(db);
    Ok(Recovered {
        snapshot: snap,
        replay: done,
        segments: replayed.segments,
        keys,
        stopped: replayed.stopped,
        last_segment: replayed.last_whole,
    })
}

/// What [`replay`] went through.
#[derive(Debug, Clone, Default)]
pub struct SegmentsApplied {
    pub segments: u64,
    /// Why it stopped before the end of `plan` (a damaged or missing segment), if it did.
    pub stopped: Option<String>,
    /// The last segment applied whole (generation, number).
    pub last_whole: Option<(String, u64)>,
}

/// Fetches, checks and applies `plan`'s segments in order onto `db` (see the module's
/// checks), up to `until_ms`. A segment that cannot be read, is damaged or out of place, or
/// leaves a gap stops it there, named in `stopped`.
pub async fn replay(
    remote: &Remote,
    ids: Option<&[Box<dyn age::Identity + Send + Sync>]>,
    db: &replay_log::Target,
    done: &mut replay_log::Replayed,
    plan: Vec<(String, u64, String)>,
    until_ms: Option<i64>,
) -> Result<SegmentsApplied, SnapshotError> {
    let mut out = SegmentsApplied::default();
    for (generation, number, name) in plan {
        let bytes = match remote.get_bytes(&name).await {
            Ok(b) => b,
            Err(e) => {
                out.stopped = Some(format!("{name} could not be read: {e}"));
                break;
            }
        };
        let scan = match unpack(&bytes, ids).and_then(|plain| format::scan(&plain)) {
            Ok(s) => s,
            Err(e) => {
                out.stopped = Some(format!("{name} is damaged ({e})"));
                break;
            }
        };
        // The header names the segment's place: a segment under another's name is refused.
        if (scan.generation.as_str(), scan.segment) != (generation.as_str(), number) {
            out.stopped = Some(format!(
                "{name} is out of place: it holds segment {} of generation {}",
                scan.segment, scan.generation
            ));
            break;
        }
        let whole = scan.footer.is_some() && scan.damage.is_none();
        // A gap or an undecodable row stops the replay there, as damage does.
        let go_on = match replay_log::apply(db, done, &scan.records, until_ms) {
            Ok(go_on) => go_on,
            Err(crate::store::StoreError::Journal(why)) => {
                out.stopped = Some(format!("{name}: {why}"));
                break;
            }
            Err(e) => return Err(e.into()),
        };
        out.segments += 1;
        if !whole {
            out.stopped = Some(format!(
                "{name} is {} ({})",
                if scan.damage.is_some() {
                    "corrupt"
                } else {
                    "truncated"
                },
                scan.damage.unwrap_or_else(|| "no footer".into())
            ));
            break;
        }
        if !go_on {
            break;
        }
        out.last_whole = Some((generation, number));
    }
    Ok(out)
}

/// The segments to replay after `snapshot`, in order: those of its generation and every
/// later one (generation, number, object name). A missing number in a generation is
/// refused, naming the object.
async fn plan(
    remote: &Remote,
    snapshot: &SnapshotName,
) -> Result<Vec<(String, u64, String)>, SnapshotError> {
    let objects = remote.list_under(REMOTE_DIR).await?;
    let gens = generations(&objects);
    let mut out = Vec::new();
    for (generation, segments) in gens.range(snapshot.base()..) {
        let encrypted = segments
            .values()
            .next()
            .is_some_and(|n| n.ends_with(".age"));
        for (expected, (n, name)) in segments.iter().enumerate() {
            if *n != expected as u64 {
                return Err(SnapshotError::NotFound(format!(
                    "the change log has a gap: {} is missing (found {name} after it)",
                    super::replicate::object_name(generation, expected as u64, encrypted)
                )));
            }
            out.push((generation.clone(), *n, name.clone()));
        }
    }
    Ok(out)
}

/// One line per generation for `snapshots list`: its segments and time range.
pub async fn list_lines(config: &Config) -> Result<Vec<String>, SnapshotError> {
    let Ok(remote) = remote(config) else {
        return Ok(Vec::new());
    };
    let objects = remote.list_under(REMOTE_DIR).await?;
    let gens = generations(&objects);
    let ids = identities(config).ok().flatten();
    let mut lines = Vec::new();
    for (generation, segments) in &gens {
        let bytes: u64 = objects
            .iter()
            .filter(|(n, _)| n.contains(&format!("/{generation}/")))
            .map(|(_, s)| s)
            .sum();
        // The newest replicated time: the last segment's footer.
        let mut range = String::new();
        if let Some(last) = segments.values().next_back()
            && let Ok(b) = remote.get_bytes(last).await
            && let Ok(plain) = unpack(&b, ids.as_deref())
            && let Ok(scan) = format::scan(&plain)
            && let Some(f) = scan.footer
        {
            range = format!(
                ", transactions up to {}, newest replicated {}",
                f.last_seq,
                Timestamp::from_millisecond(f.last_ms)
                    .map_or_else(|_| "?".into(), |t| t.to_string())
            );
        }
        lines.push(format!(
            "generation {generation}: {} segments, {bytes} bytes{range}",
            segments.len()
        ));
    }
    Ok(lines)
}
