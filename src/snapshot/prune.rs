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
    let objects = remote.list_under(replicate::REMOTE_DIR).await?;
    let generations = pitr::generations(&objects);
    let mut gone = Vec::new();
    for generation in doomed(generations.keys(), &oldest, now, keep_days) {
        for name in generations[&generation].values() {
            remote.delete(name).await?;
        }
        gone.push(generation);
    }
    Ok(gone)
}

/// The generations to delete: older than `oldest_complete` (the oldest complete snapshot
/// left, so a newer complete one exists) and started more than `keep_days` before `now`.
fn doomed<'a>(
    generations: impl Iterator<Item = &'a String>,
    oldest_complete: &str,
    now: Timestamp,
    keep_days: u32,
) -> Vec<String> {
    let cutoff = now - jiff::SignedDuration::from_hours(24 * i64::from(keep_days));
    generations
        .filter(|g| g.as_str() < oldest_complete)
        .filter(|g| SnapshotName::parse(g).is_some_and(|n| n.created < cutoff))
        .cloned()
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(at: &str) -> String {
        SnapshotName::new(at.parse().expect("time"), "host").base()
    }

    #[test]
    fn a_generation_goes_only_past_retention_and_before_the_oldest_complete_snapshot() {
        let now: Timestamp = "2026-12-31T12:00:00Z".parse().expect("time");
        let old = name("2026-12-01T03:00:00Z");
        let older = name("2026-11-20T03:00:00Z");
        let recent = name("2026-12-29T03:00:00Z");
        let oldest_complete = name("2026-12-02T03:00:00Z");
        let all = [
            older.clone(),
            old.clone(),
            oldest_complete.clone(),
            recent.clone(),
        ];
        // 14 days: the two before the oldest complete snapshot are past it.
        assert_eq!(
            doomed(all.iter(), &oldest_complete, now, 14),
            vec![older.clone(), old.clone()]
        );
        // 35 days: only the one older than that; the oldest complete one's own generation
        // and later ones stay whatever their age.
        assert_eq!(doomed(all.iter(), &oldest_complete, now, 35), vec![older]);
        let ancient = now + jiff::SignedDuration::from_hours(24 * 400);
        assert_eq!(
            doomed(all.iter(), &oldest_complete, ancient, 14),
            vec![name("2026-11-20T03:00:00Z"), old],
            "no newer complete snapshot, no deletion: {oldest_complete} and {recent} stay"
        );
    }
}
