//! Continuous backup, the shipping half: every `snapshot.replicate_interval_secs` (and at
//! shutdown) the change log's open segment is sealed and every sealed one is uploaded,
//! zstd-compressed (and age-encrypted with `age_recipient`), as
//! `changelog/<generation>/<segment:08>.seg.zst[.age]`, then removed locally. It runs on its
//! own task: a slow or unreachable bucket delays nothing but itself, and segments wait on
//! disk (bounded, see [`ChangeLog`]).
//!
//! `changelog/LEASE` names the data folder (its `server_id`) that writes this prefix: a
//! snapshot takes it, every upload checks it first, so an old machine brought back with the
//! same bucket is refused instead of interleaving its segments.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::upload::Remote;
use crate::config::Config;
use crate::store::Store;
use crate::store::engine::ChangeLog;
use crate::store::engine::changelog::format;

/// The bucket folder (under the snapshots' prefix) of the change log.
pub const REMOTE_DIR: &str = "changelog";
/// The lease object, under [`REMOTE_DIR`].
pub const LEASE: &str = "changelog/LEASE";

/// The object name of a segment.
pub fn object_name(generation: &str, segment: u64, encrypted: bool) -> String {
    let age = if encrypted { ".age" } else { "" };
    format!("{REMOTE_DIR}/{generation}/{segment:08}.seg.zst{age}")
}

/// zstd, then age when a recipient is given.
pub fn pack(
    bytes: &[u8],
    level: i32,
    recipient: Option<&age::x25519::Recipient>,
) -> std::io::Result<Vec<u8>> {
    let compressed = zstd::encode_all(bytes, level)?;
    let Some(r) = recipient else {
        return Ok(compressed);
    };
    let encryptor = age::Encryptor::with_recipients(std::iter::once(r as &dyn age::Recipient))
        .map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(compressed.len() + 256);
    let mut w = encryptor.wrap_output(&mut out)?;
    w.write_all(&compressed)?;
    w.finish()?;
    Ok(out)
}

/// The reverse of [`pack`].
pub fn unpack(
    bytes: &[u8],
    identities: Option<&[Box<dyn age::Identity + Send + Sync>]>,
) -> Result<Vec<u8>, String> {
    let compressed = match identities {
        Some(ids) => {
            let decryptor = age::Decryptor::new(bytes).map_err(|e| e.to_string())?;
            let mut reader = decryptor
                .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
            out
        }
        None => bytes.to_vec(),
    };
    zstd::decode_all(compressed.as_slice()).map_err(|e| format!("zstd: {e}"))
}

/// Writes the lease for this data folder (a snapshot starting a generation does).
pub async fn take_lease(remote: &Remote, log: &ChangeLog) -> Result<(), String> {
    let id = log.figures().state.server_id;
    remote
        .upload_bytes(LEASE, id.into_bytes())
        .await
        .map_err(|e| e.to_string())
}

/// Whether this data folder may write the prefix: the lease is absent or names it, or the
/// folder was restored from this bucket and prefix (or promoted from a standby of it) and
/// has not started a generation yet: its first snapshot takes over. Anyone else is refused:
/// an old machine brought back (a generation of its own), and a brand-new folder pointed at
/// a prefix another server writes (two new servers would take the lease from each other).
pub async fn check_lease(remote: &Remote, log: &ChangeLog) -> Result<bool, String> {
    let state = log.figures().state;
    match remote.get_bytes(LEASE).await {
        Ok(holder) if holder == state.server_id.as_bytes() => Ok(true),
        Ok(_)
            if state.generation.is_none()
                && state.takeover.as_deref() == Some(remote.location.as_str()) =>
        {
            Ok(true)
        }
        Ok(holder) if state.generation.is_none() => Err(format!(
            "another server ({}) writes continuous backup to {}, and this data folder was \
             neither restored from it (`barberpro restore latest`) nor promoted from a standby \
             of it (`barberpro promote`): refusing to take its place. Restore or promote, or, \
             if that server is gone for good and this one starts afresh, delete {LEASE} from \
             the bucket",
            String::from_utf8_lossy(&holder),
            remote.location
        )),
        Ok(holder) => Err(taken(&holder)),
        Err(super::upload::RemoteError::Request { source, .. })
            if matches!(*source, object_store::Error::NotFound { .. }) =>
        {
            Ok(true)
        }
        // Unreadable before a first generation: the upload fails the same way (the local
        // copy is kept); `Ok(false)` tells the caller to read it again before taking it.
        Err(_) if state.generation.is_none() => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Who holds the lease, when it names another server this folder may not take it from.
pub async fn held_by_another(remote: &Remote, log: &ChangeLog) -> Option<String> {
    let state = log.figures().state;
    if state.takeover.as_deref() == Some(remote.location.as_str()) {
        return None;
    }
    let holder = remote.get_bytes(LEASE).await.ok()?;
    (!holder.is_empty() && holder != state.server_id.as_bytes())
        .then(|| String::from_utf8_lossy(&holder).into_owned())
}

fn taken(holder: &[u8]) -> String {
    format!(
        "another server ({}) writes continuous backup to this bucket and prefix: refusing to \
         interleave; if this machine is to be the primary again, delete {LEASE} from the bucket",
        String::from_utf8_lossy(holder)
    )
}

/// One round: seal, check the lease, upload every sealed segment in order. Returns how
/// many were shipped.
pub async fn ship_once(
    log: &ChangeLog,
    remote: &Remote,
    level: i32,
    recipient: Option<&age::x25519::Recipient>,
) -> Result<usize, String> {
    let sealer = log.clone();
    tokio::task::spawn_blocking(move || sealer.seal())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("sealing the open segment: {e}"))?;
    let waiting = log.sealed().map_err(|e| e.to_string())?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let me = log.figures().state.server_id;
    match remote.get_bytes(LEASE).await {
        Ok(holder) if holder != me.as_bytes() => return Err(taken(&holder)),
        Ok(_) => {}
        Err(super::upload::RemoteError::Request { source, .. })
            if matches!(*source, object_store::Error::NotFound { .. }) =>
        {
            take_lease(remote, log).await?
        }
        Err(e) => return Err(e.to_string()),
    }
    let mut shipped = 0;
    for path in waiting {
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let scan = format::scan(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(footer) = scan.footer else {
            return Err(format!(
                "{} is not sealed: {}",
                path.display(),
                scan.damage.unwrap_or_default()
            ));
        };
        let packed = pack(&bytes, level, recipient).map_err(|e| e.to_string())?;
        let name = object_name(&scan.generation, scan.segment, recipient.is_some());
        let size = packed.len() as u64;
        remote
            .upload_bytes(&name, packed)
            .await
            .map_err(|e| e.to_string())?;
        std::fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
        log.shipped();
        shipped += 1;
        log.report(|s| {
            s.last_seq = footer.last_seq;
            s.last_ms = Some(footer.last_ms);
            s.bytes += size;
            s.objects += 1;
        });
    }
    Ok(shipped)
}

/// The background task: a round every interval until `stop`, then a last one.
pub async fn run(config: Arc<Config>, store: Store, stop: CancellationToken) {
    let cfg = &config.snapshot;
    let log = store.changelog().clone();
    log.set_max_backlog(cfg.replicate_max_backlog_mb.saturating_mul(1 << 20));
    let remote = match Remote::from_config(&cfg.s3) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "continuous backup is off: the bucket's configuration is refused");
            return;
        }
    };
    let recipient = cfg.age_recipient.as_ref().and_then(|k| k.recipient().ok());
    let every = Duration::from_secs(cfg.replicate_interval_secs.max(1));
    // Nothing is logged before a generation starts: the first snapshot starts one.
    if log.figures().state.generation.is_none() {
        match super::take(&config, &store, Some(true), jiff::Timestamp::now()).await {
            Ok(report) => {
                tracing::info!(snapshot = %report.name, "continuous backup: first generation started")
            }
            Err(e) => {
                tracing::error!(error = %e, "continuous backup: the snapshot that starts a generation failed; nothing is logged until one succeeds")
            }
        }
    }
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = stop.cancelled() => true,
        };
        let round = ship_once(&log, &remote, cfg.zstd_level, recipient.as_ref()).await;
        if let Err(e) = &round {
            tracing::warn!(error = %e, "continuous backup: shipping failed; retrying next round");
        }
        log.report(|s| match round {
            Ok(_) => {
                s.failing_for = 0;
                s.failing_since = None;
                s.last_error = None;
            }
            Err(e) => {
                s.failures += 1;
                s.failing_for += 1;
                s.failing_since
                    .get_or_insert(jiff::Timestamp::now().as_millisecond());
                s.last_error = Some(e);
            }
        });
        if stopping {
            break;
        }
        // A broken generation (the backlog's bound, a lost tail) whose kept segments are all
        // in the bucket: a snapshot starts a whole one again, with nobody's help.
        let now = log.figures();
        if now.state.broken.is_some() && now.waiting == 0 && now.shipped.failing_for == 0 {
            match super::take(&config, &store, Some(true), jiff::Timestamp::now()).await {
                Ok(r) => {
                    tracing::info!(snapshot = %r.name, "continuous backup: a new generation replaces the broken one")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "continuous backup: the snapshot that would start a new generation failed; retrying next round")
                }
            }
        }
    }
}

/// The change log's figures as the metrics show them.
pub fn figures(f: &crate::store::engine::changelog::Figures) -> crate::metrics::ReplicationFigures {
    crate::metrics::ReplicationFigures {
        last_replicated_ms: f.shipped.last_ms,
        lag_seconds: f.lag_seconds(jiff::Timestamp::now().as_millisecond()),
        shipped_bytes: f.shipped.bytes,
        shipped_objects: f.shipped.objects,
        failures: f.shipped.failures,
        failing_since_ms: f.shipped.failing_since,
        waiting_bytes: f.waiting_bytes,
        behind: f.behind(),
    }
}
