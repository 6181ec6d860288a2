//! Certificate upkeep while the server runs: the self-signed certificate renewed before it
//! expires, certificate files re-read on SIGHUP, each swapped into the `CertResolver`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, TlsMode};
use crate::tls::{self, CertResolver};

/// Renews the self-signed certificate before it expires, and re-reads certificate files on
/// SIGHUP, swapping them into the resolver without touching open connections.
pub(crate) fn spawn(config: &Config, resolver: Arc<CertResolver>, shutdown: CancellationToken) {
    let tls_config = config.server.tls.clone();
    let data_dir = config.storage.data_dir.clone();
    // Registered before the server announces it is serving: a SIGHUP with no handler would
    // terminate the process.
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP");
            None
        }
    };
    tokio::spawn(async move {
        let mut daily = tokio::time::interval(Duration::from_secs(6 * 3600));
        daily.tick().await;
        loop {
            let reason = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = daily.tick() => "periodic check",
                _ = async { match hangup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending().await } } => "SIGHUP",
            };
            if reason == "periodic check" && tls_config.mode != TlsMode::SelfSigned {
                continue;
            }
            let (cfg, dir) = (tls_config.clone(), data_dir.clone());
            match tokio::task::spawn_blocking(move || tls::load(&cfg, &dir)).await {
                // The periodic check of a self-signed certificate finds the same one for months:
                // only a change is worth a line (a SIGHUP always gets an answer).
                Ok(Ok(Some(key))) => {
                    if resolver.set(key) {
                        tracing::info!(reason, "certificate (re)loaded");
                    } else if reason == "SIGHUP" {
                        tracing::info!(reason, "certificate unchanged");
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::error!(reason, error = %e, "certificate reload failed; keeping the current one")
                }
                Err(e) => tracing::error!(error = %e, "certificate reload task failed"),
            }
        }
    });
}
