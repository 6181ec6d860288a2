//! The daily retention job: deletes expired staff sessions, prunes the audit log past
//! `audit.retention_days`, and anonymises clients inactive for
//! `privacy.anonymise_inactive_after_years` (Ley 25.326). Each part finds its rows in a read
//! transaction and only then runs its own bounded write transactions, each writing its audit
//! entry (actor [`audit::SYSTEM`]) in the same transaction as the change: a run with nothing
//! to do takes no turn at the writer. Tests call [`run_once`] with the clock they want.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::app::Clock;
use crate::config::Config;
use crate::domain::staff::SessionLimits;
use crate::store::{Store, StoreError, audit, privacy, staff};

/// Rows handled per write transaction, so one run never holds the writer for long.
const BATCH: usize = 500;

/// What the job needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sessions: SessionLimits,
    /// 0 keeps the audit log forever.
    pub audit_retention_days: u32,
    /// 0: never anonymise automatically.
    pub anonymise_inactive_after_years: u32,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            sessions: config.admin.session_limits(),
            audit_retention_days: config.audit.retention_days,
            anonymise_inactive_after_years: config.privacy.anonymise_inactive_after_years,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub sessions_swept: usize,
    pub audit_pruned: usize,
    pub clients_anonymised: usize,
}

/// `now` minus a calendar span, in UTC (None if it falls off the calendar).
fn before(now: Timestamp, span: Span) -> Option<Timestamp> {
    now.to_zoned(TimeZone::UTC)
        .checked_sub(span)
        .ok()
        .map(|z| z.timestamp())
}

/// One pass of every retention task at `now`.
pub async fn run_once(
    store: &Store,
    settings: &Settings,
    now: Timestamp,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    // Each part looks in a read transaction first: a day with nothing to do takes no turn
    // at the writer (nor a durable commit).
    let limits = settings.sessions;
    let expired = store
        .read(move |tx| staff::expired_sessions(tx, now, &limits))
        .await?;
    if !expired.is_empty() {
        report.sessions_swept = store
            .write(move |txn| {
                let n = staff::sweep_expired_sessions(txn, now, &limits)?;
                if n > 0 {
                    let change = audit::Change {
                        after: audit::json(serde_json::json!({ "count": n })),
                        ..audit::Change::by(audit::SYSTEM, "session.sweep", "session", None)
                    };
                    audit::record(txn, change, now)?;
                }
                Ok(n)
            })
            .await?;
    }

    let days = i64::from(settings.audit_retention_days);
    if days > 0
        && let Some(cutoff) = before(now, Span::new().days(days))
    {
        while store.read(move |tx| audit::any_before(tx, cutoff)).await? {
            let n = store
                .write(move |txn| {
                    let n = audit::prune(txn, cutoff, BATCH)?;
                    if n > 0 {
                        let change = audit::Change {
                            after: audit::json(serde_json::json!({
                                "count": n,
                                "older_than": cutoff.to_string(),
                            })),
                            ..audit::Change::by(audit::SYSTEM, "audit.prune", "audit", None)
                        };
                        audit::record(txn, change, now)?;
                    }
                    Ok(n)
                })
                .await?;
            report.audit_pruned += n;
            if n < BATCH {
                break;
            }
        }
    }

    let years = i64::from(settings.anonymise_inactive_after_years);
    if years > 0
        && let Some(cutoff) = before(now, Span::new().years(years))
    {
        // Found off the writer, BATCH at a time, each batch re-checked as it is anonymised.
        let mut after = None;
        loop {
            let ids = store
                .read(move |tx| privacy::inactive_clients(tx, cutoff, after, BATCH))
                .await?;
            let (Some(&last), more) = (ids.last(), ids.len() == BATCH) else {
                break;
            };
            let done = store
                .write(move |txn| privacy::anonymise_inactive(txn, &ids, cutoff, now))
                .await?;
            report.clients_anonymised += done.len();
            if !more {
                break;
            }
            after = Some(last);
        }
    }
    Ok(report)
}

/// Runs [`run_once`] at start-up and then once a day until `shutdown` fires.
pub fn spawn(store: Store, clock: Clock, settings: Settings, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut daily = tokio::time::interval(Duration::from_secs(24 * 3600));
        daily.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = daily.tick() => {}
            }
            match run_once(&store, &settings, clock.now()).await {
                Ok(r) => tracing::info!(
                    sessions_swept = r.sessions_swept,
                    audit_pruned = r.audit_pruned,
                    clients_anonymised = r.clients_anonymised,
                    "retention job done"
                ),
                Err(StoreError::WriterGone | StoreError::DiskFull) => return,
                Err(e) => tracing::error!(error = %e, "retention job failed"),
            }
        }
    });
}
