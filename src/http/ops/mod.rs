//! Probes for supervisors and load balancers: `/healthz` (alive) and `/readyz` (ready to
//! take traffic, with a JSON body naming each check); and [`metrics`], the Prometheus
//! listener.

/// `GET /metrics` on a listener of its own, and the gauges sampled for each scrape.
pub mod metrics;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

use super::{ApiError, AppState};
use crate::tls::CertResolver;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// What `/readyz` checks besides the database and its writer.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// The served certificate; None when TLS is off (a proxy terminates it).
    pub certificate: Option<Arc<CertResolver>>,
    /// `health.min_free_disk_mib`.
    pub min_free_disk_mib: u64,
    /// `health.max_snapshot_age_hours` (0: not checked).
    pub max_snapshot_age_hours: u32,
    /// `health.max_outbox_delay_minutes` (0: not checked).
    pub max_outbox_delay_minutes: u32,
    /// The ACME renewer (`tls.mode = "acme"`): its last attempt is part of the certificate
    /// check's detail.
    pub acme: Option<crate::acme::Acme>,
}

/// Every readiness check, as `(name, ok, detail)`.
pub async fn readiness_checks(state: &AppState) -> Vec<(&'static str, bool, serde_json::Value)> {
    let mut checks = Vec::new();
    let read = state.store.read(crate::store::catalog::is_empty).await;
    checks.push(match read {
        Ok(_) => ("database", true, json!("answers a read")),
        Err(e) => ("database", false, json!(e.to_string())),
    });
    let alive = state.store.writer_alive();
    let writer = match state.store.halt().reason() {
        Some(why) => json!({ "halted": &*why }),
        None if alive => json!("running"),
        None => json!("stopped"),
    };
    checks.push(("writer", alive, writer));
    let now = state.clock.now().as_second();
    checks.push(match &state.readiness.certificate {
        None => ("certificate", true, json!("TLS off")),
        Some(resolver) => match resolver.not_after_unix() {
            Some(t) if t > now => {
                let days = (t - now) / 86_400;
                let mut detail = json!({ "expires_in_days": days });
                if let Some(acme) = &state.readiness.acme {
                    detail["acme"] = json!(acme.status());
                }
                ("certificate", true, detail)
            }
            Some(_) => ("certificate", false, json!("expired")),
            None => ("certificate", false, json!("unreadable")),
        },
    });
    let dir = state.store.path().parent().unwrap_or(Path::new("."));
    let min_mib = state.readiness.min_free_disk_mib;
    checks.push(match crate::metrics::disk_space(dir) {
        Some(space) if space.total > 0 => {
            let free_mib = space.free / (1024 * 1024);
            let free_percent = space.free.saturating_mul(100) / space.total;
            let detail = json!({
                "free_mib": free_mib,
                "free_percent": free_percent,
                "minimum_mib": min_mib,
            });
            ("disk", free_mib >= min_mib, detail)
        }
        _ => ("disk", false, json!("cannot read its free space")),
    });
    let max_delay = state.readiness.max_outbox_delay_minutes;
    if max_delay > 0 {
        let now = state.clock.now();
        let depth = state
            .store
            .read(move |tx| crate::store::outbox::depth(tx, now))
            .await;
        checks.push(match depth {
            Ok((pending, oldest)) => {
                let waited = oldest.as_secs() / 60;
                let detail = json!({ "pending": pending, "oldest_due_minutes": waited, "maximum_minutes": max_delay });
                ("outbox", waited < i64::from(max_delay), detail)
            }
            Err(e) => ("outbox", false, json!(e.to_string())),
        });
    }
    if state.readiness.max_snapshot_age_hours > 0 {
        let status = crate::snapshot::status::read(dir);
        checks.push(snapshot_check(
            &status,
            jiff::Timestamp::now(),
            state.readiness.max_snapshot_age_hours,
        ));
    }
    checks
}

/// The last snapshot is recent enough (real time: the status file records real time).
fn snapshot_check(
    status: &crate::snapshot::status::Status,
    now: jiff::Timestamp,
    max_hours: u32,
) -> (&'static str, bool, serde_json::Value) {
    match (status.last_success_at, status.failures_total) {
        (Some(at), _) => {
            let age_hours = now.duration_since(at).as_hours();
            let detail = json!({ "last_success_at": at.to_string(), "age_hours": age_hours, "maximum_hours": max_hours });
            ("snapshot", age_hours < i64::from(max_hours), detail)
        }
        (None, 0) => ("snapshot", true, json!("no snapshot taken yet")),
        (None, failures) => (
            "snapshot",
            false,
            json!({ "failures": failures, "detail": "snapshots were tried and none succeeded" }),
        ),
    }
}

/// 200 when every check passes, else 503; the body names the failed checks.
async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<serde_json::Value>) {
    let checks = readiness_checks(&state).await;
    let failed: Vec<&str> = checks.iter().filter(|c| !c.1).map(|c| c.0).collect();
    let body = json!({
        "status": if failed.is_empty() { "ready" } else { "not_ready" },
        "failed": failed,
        "checks": checks
            .iter()
            .map(|(name, ok, detail)| (name.to_string(), json!({"ok": ok, "detail": detail})))
            .collect::<serde_json::Map<_, _>>(),
    });
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

/// 200 while the server serves and its database answers a read.
async fn healthz(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    state
        .store
        .read(crate::store::catalog::is_empty)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Ok(axum::Json(
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
    ))
}

#[cfg(test)]
mod tests {
    use super::snapshot_check;
    use crate::snapshot::status::Status;
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn the_snapshot_check_wants_a_recent_success() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let fresh_install = Status::default();
        assert!(
            snapshot_check(&fresh_install, now, 26).1,
            "never tried: ready"
        );
        let failing = Status {
            failures_total: 3,
            ..Status::default()
        };
        assert!(
            !snapshot_check(&failing, now, 26).1,
            "tried, never succeeded"
        );
        let recent = Status {
            last_success_at: Some(now - SignedDuration::from_hours(25)),
            failures_total: 1,
            ..Status::default()
        };
        assert!(snapshot_check(&recent, now, 26).1);
        let stale = Status {
            last_success_at: Some(now - SignedDuration::from_hours(27)),
            ..Status::default()
        };
        let (name, ok, detail) = snapshot_check(&stale, now, 26);
        assert_eq!((name, ok), ("snapshot", false));
        assert_eq!(detail["age_hours"], 27);
    }
}
