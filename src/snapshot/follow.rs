//! The standby: `barberpro follow` keeps a data folder current from the bucket, and
//! `barberpro promote` makes it the primary.
//!
//! A round: if the bucket holds a complete snapshot newer than the folder's generation (or
//! the folder holds nothing yet), the newest generation is rebuilt in `<data>/.standby-next`
//! (a point-in-time restore: snapshot, keys, segments, every object checked) and swapped in
//! (the database fsynced, renamed over the live one, the folder fsynced); else the new
//! segments of the folder's generation are applied in place, each in one redb transaction,
//! checked as a restore checks them (a gap, a damaged or misplaced segment stops the round,
//! named). The folder is never half-written: a crash leaves the old file or the new one, and
//! records already applied are skipped when applied again. The follower holds the folder's
//! lock, so neither `serve` nor `promote` can open it meanwhile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::manifest;
use super::pitr::{self, generations};
use super::replicate::{REMOTE_DIR, object_name};
use super::standby::{self, Status};
use super::upload::Remote;
use super::{SnapshotError, write_private};
use crate::config::Config;
use crate::store::engine::changelog;
use crate::store::snapshot::{FolderLock, lock_folder};
use crate::store::{DB_FILE, StoreError, replay_log};

/// The folder a rebuild is made in, inside the data folder (same file system: the rename
/// that swaps it in is atomic).
const STAGING: &str = ".standby-next";

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// A newer generation was rebuilt and swapped in.
    pub rebuilt: bool,
    /// Transactions applied.
    pub applied: u64,
}

/// A standby folder and the bucket it follows.
pub struct Follower {
    config: Config,
    data_dir: PathBuf,
    remote: Remote,
    ids: Option<Vec<Box<dyn age::Identity + Send + Sync>>>,
    status: Status,
}

impl Follower {
    /// Opens `data_dir` as a standby of the configured bucket: an empty folder becomes one
    /// (the marker is written before anything else); a primary's folder is refused, as is a
    /// standby of another bucket or prefix.
    pub fn open(config: &Config, data_dir: &Path) -> Result<Self, SnapshotError> {
        let remote = pitr::remote(config)?;
        let ids = pitr::identities(config)?;
        let status = match standby::read(data_dir)? {
            Some(s) if s.location != remote.location => {
                return Err(SnapshotError::Standby(format!(
                    "{} is a standby of {}, and the configuration names {}",
                    data_dir.display(),
                    s.location,
                    remote.location
                )));
            }
            Some(s) => s,
            None if data_dir.join(DB_FILE).exists() => {
                return Err(SnapshotError::Standby(format!(
                    "{} holds a database and is not a standby: following would replace it; \
                     give `follow` an empty folder",
                    data_dir.display()
                )));
            }
            None => {
                let s = Status {
                    location: remote.location.clone(),
                    ..Status::default()
                };
                standby::write(data_dir, &s)?;
                s
            }
        };
        Ok(Self {
            config: config.clone(),
            data_dir: data_dir.to_path_buf(),
            remote,
            ids,
            status,
        })
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// One round; its outcome (and the time) is written to the status file either way.
    pub async fn round(&mut self) -> Result<Round, SnapshotError> {
        let result = self.round_inner().await;
        self.status.checked_ms = Some(Timestamp::now().as_millisecond());
        self.status.error = result.as_ref().err().map(ToString::to_string);
        standby::write(&self.data_dir, &self.status)?;
        result
    }

    async fn round_inner(&mut self) -> Result<Round, SnapshotError> {
        let newest = manifest::group(self.remote.list().await?)
            .into_iter()
            .filter(manifest::Listed::complete)
            .max_by_key(|l| l.name.created);
        // Generation names start with the snapshot's UTC time: they sort as they were taken.
        let newer = match (&self.status.generation, &newest) {
            (None, _) => true,
            (Some(held), Some(n)) => n.name.base().as_str() > held.as_str(),
            (Some(_), None) => false,
        };
        if newer && newest.is_some() {
            self.rebuild().await
        } else if self.status.generation.is_some() {
            self.catch_up().await
        } else {
            Err(SnapshotError::NotFound(format!(
                "no complete snapshot in {} yet",
                self.remote.location
            )))
        }
    }

    /// Restores the newest generation beside the live file, then swaps it in.
    async fn rebuild(&mut self) -> Result<Round, SnapshotError> {
        let staging = self.data_dir.join(STAGING);
        remove_dir(&staging)?;
        let result = async {
            let rec = pitr::restore(&self.config, None, &staging).await?;
            if let Some(why) = &rec.stopped {
                return Err(SnapshotError::Mismatch(format!(
                    "rebuilding from {}: {why}; the standby keeps what it holds",
                    rec.snapshot.name
                )));
            }
            if self.ids.is_some() && rec.keys.is_empty() {
                return Err(SnapshotError::NotFound(format!(
                    "the key bundle of {} is not in the bucket (yet): without secret.key the \
                     manage links would not work after a promotion; the standby keeps what it \
                     holds",
                    rec.snapshot.name
                )));
            }
            // The keys first (a crash then leaves the old file with the same keys), then the
            // database by one rename, then the folder's entries.
            for name in &rec.keys {
                let bytes = std::fs::read(staging.join(name))
                    .map_err(SnapshotError::io(format!("reading the restored {name}")))?;
                let dest = self.data_dir.join(name);
                if let Some(parent) = dest.parent() {
                    super::private_dir(parent)?;
                }
                write_private(&dest, &bytes)?;
            }
            let built = staging.join(DB_FILE);
            std::fs::File::open(&built)
                .and_then(|f| f.sync_all())
                .map_err(SnapshotError::io(format!("syncing {}", built.display())))?;
            super::rename_durably(&built, &self.data_dir.join(DB_FILE))?;
            let (generation, next_segment) = match &rec.last_segment {
                Some((g, n)) => (g.clone(), n + 1),
                None => (rec.snapshot.name.clone(), 0),
            };
            self.status.generation = Some(generation);
            self.status.next_segment = next_segment;
            self.status.last_seq = rec.replay.last_seq;
            self.status.last_ms = rec.replay.last_ms;
            tracing::info!(
                generation = self.status.generation.as_deref().unwrap_or_default(),
                transaction = rec.replay.last_seq,
                "standby: a generation rebuilt and swapped in"
            );
            Ok(Round {
                rebuilt: true,
                applied: rec.replay.applied,
            })
        }
        .await;
        let _ = std::fs::remove_dir_all(&staging);
        result
    }

    /// Applies the new segments of the folder's generation in place.
    async fn catch_up(&mut self) -> Result<Round, SnapshotError> {
        let Some(generation) = self.status.generation.clone() else {
            return Ok(Round::default());
        };
        let objects = self
            .remote
            .list_under(&format!("{REMOTE_DIR}/{generation}"))
            .await?;
        let listed = generations(&objects)
            .remove(&generation)
            .unwrap_or_default();
        let mut plan = Vec::new();
        let from = self.status.next_segment;
        for (expected, (n, name)) in (from..).zip(listed.range(from..)) {
            if *n != expected {
                return Err(SnapshotError::NotFound(format!(
                    "the change log has a gap: {} is missing (found {name} after it)",
                    object_name(&generation, expected, name.ends_with(".age"))
                )));
            }
            plan.push((generation.clone(), *n, name.clone()));
        }
        if plan.is_empty() {
            return Ok(Round::default());
        }
        let (db, mut done) = replay_log::open(&self.data_dir.join(DB_FILE))?;
        let applied = pitr::replay(
            &self.remote,
            self.ids.as_deref(),
            &db,
            &mut done,
            plan,
            None,
        )
        .await;
        replay_log::finish(&db)?;
        drop(db);
        let applied = applied?;
        if let Some((_, n)) = applied.last_whole {
            self.status.next_segment = n + 1;
        }
        if done.applied > 0 {
            self.status.last_seq = done.last_seq;
            self.status.last_ms = done.last_ms;
        }
        if let Some(why) = applied.stopped {
            return Err(SnapshotError::Mismatch(why));
        }
        Ok(Round {
            rebuilt: false,
            applied: done.applied,
        })
    }
}

fn remove_dir(dir: &Path) -> Result<(), SnapshotError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(SnapshotError::io(format!("removing {}", dir.display()))(e))
        }
        _ => Ok(()),
    }
}

/// Holds the folder's lock, naming who to stop when it is taken.
fn lock(data_dir: &Path) -> Result<FolderLock, SnapshotError> {
    lock_folder(data_dir).map_err(|e| match e {
        StoreError::InUse { dir, holder } => SnapshotError::Store(StoreError::InUse {
            dir,
            holder: format!(
                "{holder}: a follower or a server runs on it (systemctl stop barberpro-follow)"
            ),
        }),
        other => other.into(),
    })
}

/// `barberpro follow`: a round every `snapshot.replicate_interval_secs` until `stop` (a
/// round under way is finished first). A failed round is logged and recorded in the
/// status; the next one tries again.
pub async fn follow(
    config: &Config,
    data_dir: &Path,
    stop: CancellationToken,
) -> Result<(), SnapshotError> {
    let _lock = lock(data_dir)?;
    let mut follower = Follower::open(config, data_dir)?;
    let every = Duration::from_secs(config.snapshot.replicate_interval_secs.max(1));
    tracing::info!(location = %follower.status.location, "standby: following");
    loop {
        match follower.round().await {
            Ok(round) if round.applied > 0 || round.rebuilt => tracing::info!(
                applied = round.applied,
                transaction = follower.status.last_seq,
                lag_seconds = follower
                    .status
                    .lag_seconds(Timestamp::now().as_millisecond())
                    .unwrap_or_default(),
                "standby: caught up"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "standby: the round failed; retrying next round"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => break,
        }
    }
    tracing::info!("standby: stopped");
    Ok(())
}

/// What `promote` did.
#[derive(Debug, Clone)]
pub struct Promoted {
    pub status: Status,
    pub server_id: String,
    /// No last catch-up (`--offline`).
    pub offline: bool,
}

/// `barberpro promote`: refuses while a follower (or server) holds the folder; a last round
/// unless `offline`; then a change log of its own (a new server id, allowed to take over
/// the bucket's lease) and the marker removed.
pub async fn promote(
    config: &Config,
    data_dir: &Path,
    offline: bool,
) -> Result<Promoted, SnapshotError> {
    let _lock = lock(data_dir)?;
    if !standby::is_standby(data_dir) {
        return Err(SnapshotError::Standby(format!(
            "{} is not a standby (no {}): nothing to promote",
            data_dir.display(),
            standby::STANDBY_FILE
        )));
    }
    let mut follower = Follower::open(config, data_dir)?;
    if !offline && let Err(e) = follower.round().await {
        return Err(SnapshotError::CatchUp(format!(
            "the last catch-up from the bucket failed: {e}. Nothing was changed. If the bucket \
             cannot be reached, `barberpro promote --offline` promotes what this folder holds \
             (what the old primary shipped after it is then lost)"
        )));
    }
    if follower.status.generation.is_none() || !data_dir.join(DB_FILE).exists() {
        return Err(SnapshotError::Standby(format!(
            "{} holds no database yet (the follower's first restore never finished): nothing \
             to promote",
            data_dir.display()
        )));
    }
    // The standby's history ends here: a change log of its own, whose first snapshot may
    // take over the lease of the bucket it followed.
    let old = data_dir.join(changelog::DIR);
    if old.exists() {
        let aside = data_dir.join(format!(
            "{}.pre-promote-{}",
            changelog::DIR,
            Timestamp::now().as_second()
        ));
        std::fs::rename(&old, &aside)
            .map_err(SnapshotError::io(format!("moving {} aside", old.display())))?;
    }
    let server_id = changelog::start_fresh(data_dir, Some(follower.status.location.clone()))
        .map_err(SnapshotError::io("starting the change log".to_owned()))?;
    standby::remove(data_dir)?;
    Ok(Promoted {
        status: follower.status.clone(),
        server_id,
        offline,
    })
}
