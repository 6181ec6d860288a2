//! Retention: remote snapshots past `retention_days` (never the newest complete one), the
//! change-log generations no snapshot left can use, and the local copies past `keep_local`.

use std::path::Path;

use jiff::Timestamp;

use super::manifest::{self, SnapshotName};
use super::upload::Remote;
use super::{SnapshotError, keys, list_dir, pitr, replicate};

/// Deletes remote snapshots past retention (only ever called after a successful upload),
/// then lists again: a delete the store acknowledged but did not do is an error.
pub(super) async fn prune_remote(
    remote: &Remote,
    now: Timestamp,
    keep_days: u32,
) -> Result<Vec<String>, SnapshotError> {
    let listed = manifest::group(remote.list().await?);
    let doomed = manifest::to_prune(&listed, now, keep_days);
    if doomed.is_empty() {
        return Ok(Vec::new());
    }
    let mut failures = Vec::new();
    for snapshot in &doomed {
        for file in snapshot.files() {
            if let Err(e) = remote.delete(&file).await {
                failures.push(format!("{file}: {e}"));
            }
        }
        // Its key bundle, if it had one (a missing object deletes as nothing).
        let _ = remote
            .delete(&format!("{}{}", snapshot.name.base(), keys::SUFFIX))
            .await;
    }
    let still: Vec<String> = remote
        .list()
        .await?
        .into_iter()
        .map(|(file, _)| file)
        .filter(|file| doomed.iter().any(|d| d.files().contains(file)))
        .collect();
    if !still.is_empty() {
        return Err(SnapshotError::Retention(format!(
            "the store still holds {} file(s) it was asked to delete (a delete that did nothing: \
             check the credentials' delete permission): {}{}",
            still.len(),
            still.join(", "),
            if failures.is_empty() {
                String::new()
            } else {
                format!("; errors: {}", failures.join("; "))
            }
        )));
    }
    Ok(doomed.iter().map(|d| d.name.base()).collect())
}

/// Deletes the change-log generations no restore can use any more: older than the oldest
/// complete snapshot left (so a newer complete one exists) and past `keep_days`. Returns
/// the generations deleted.
pub(super) async fn prune_generations(
    remote: &Remote,
    now: Timestamp,
    keep_days: u32,
) -> Result<Vec<String>, SnapshotError> {
    if keep_days == 0 {
        return Ok(Vec::new());
    }
    let listed = manifest::group(remote.list().await?);
    let Some(oldest) = listed
        .iter()
        .filter(|l| l.complete())
        .map(|l| l.name.base())
        .min()
    else {
        return Ok(Vec::new());
    };
    let cutoff = now - jiff::SignedDuration::from_hours(24 * i64::from(keep_days));
    let objects = remote.list_under(replicate::REMOTE_DIR).await?;
    let mut gone = Vec::new();
    for (generation, segments) in pitr::generations(&objects) {
        let old = SnapshotName::parse(&generation).is_some_and(|n| n.created < cutoff);
        if generation >= oldest || !old {
            continue;
        }
        for name in segments.values() {
            remote.delete(name).await?;
        }
        gone.push(generation);
    }
    Ok(gone)
}

/// Keeps the `keep` newest complete local snapshots; older ones and older leftovers go.
pub(super) fn prune_local(dir: &Path, keep: usize) -> Result<(), SnapshotError> {
    let listed = manifest::group(list_dir(dir)?);
    let mut complete = 0;
    let mut newest_complete_seen = false;
    for snapshot in listed {
        let keep_it = if snapshot.complete() {
            complete += 1;
            newest_complete_seen = true;
            complete <= keep
        } else {
            // An incomplete local snapshot newer than every complete one may be in progress.
            !newest_complete_seen
        };
        if !keep_it {
            for file in snapshot.files() {
                let path = dir.join(&file);
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::warn!(file = %path.display(), error = %e, "cannot delete an old local snapshot");
                }
            }
        }
    }
    Ok(())
}
