//! Owner page "Sistema": readiness checks, database and backup status (the last snapshot,
//! the last restore drill, the local copies). Read-only: snapshots are taken by the timer or
//! `barberpro snapshot`, which also record their results in the status file shown here.

use std::path::PathBuf;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::http::AppState;
use crate::snapshot::{manifest, status};

/// Where the page looks for backups, and the zone it shows times in.
#[derive(Debug, Clone)]
pub struct SystemSettings {
    /// `snapshot.local_dir` resolved against the data folder.
    pub snapshots_dir: PathBuf,
    /// `locale.time_zone`.
    pub time_zone: TimeZone,
    /// When this process started serving.
    pub started_at: Timestamp,
    /// The effective configuration as TOML, secrets already redacted.
    pub config_summary: String,
}

pub struct CheckRow {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

pub struct AttemptRow {
    pub when: String,
    pub ok: bool,
    pub name: String,
    pub duration: String,
    pub error: String,
}

pub struct LocalRow {
    pub name: String,
    pub when: String,
    pub size: String,
    pub complete: bool,
}

#[derive(Template)]
#[template(path = "admin/system.html")]
pub struct SystemPage {
    pub l: Layout,
    pub version: &'static str,
    pub schema: u64,
    pub database_size: String,
    pub data_dir: String,
    pub started: String,
    pub uptime: String,
    /// (what, how many) of the business tables.
    pub counts: Vec<(&'static str, u64)>,
    pub config_summary: String,
    pub checks: Vec<CheckRow>,
    pub last_success: String,
    pub last_success_size: String,
    pub last_snapshot: Option<AttemptRow>,
    pub snapshot_failures: u64,
    pub last_verified: String,
    pub last_verify: Option<AttemptRow>,
    pub verify_failures: u64,
    pub snapshots_dir: String,
    pub local: Vec<LocalRow>,
    /// No snapshot succeeded in the last 26 hours (the alert's threshold).
    pub stale: bool,
}

/// Spanish labels of the readiness checks.
fn check_label(name: &str) -> &'static str {
    match name {
        "database" => "Base de datos",
        "writer" => "Escritura",
        "certificate" => "Certificado TLS",
        "disk" => "Disco",
        "snapshot" => "Copia de seguridad",
        "outbox" => "Mensajes de WhatsApp",
        _ => "Otro",
    }
}

/// `12,3 MB` (es-AR decimal comma, powers of 1024).
pub fn bytes_es(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit]).replace('.', ",")
    }
}

/// `1,5 s` or `250 ms`.
fn duration_es(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0).replace('.', ",")
    }
}

/// `3 d 4 h 12 min`.
fn uptime_es(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h {m} min"),
    }
}

/// The rows people care about, named in Spanish.
const COUNTED: [(&str, &str); 7] = [
    ("branches", "Sucursales"),
    ("barbers", "Barberos"),
    ("services", "Servicios"),
    ("clients", "Clientes"),
    ("bookings", "Turnos"),
    ("staff", "Cuentas del equipo"),
    ("audit_log", "Registros de auditoría"),
];

fn attempt_row(a: &status::Attempt, tz: &TimeZone) -> AttemptRow {
    AttemptRow {
        when: view::date_time(a.at, tz),
        ok: a.ok,
        name: a.name.clone().unwrap_or_default(),
        duration: duration_es(a.duration_ms),
        error: a.error.clone().unwrap_or_default(),
    }
}

fn when(at: Option<Timestamp>, tz: &TimeZone) -> String {
    at.map(|t| view::date_time(t, tz))
        .unwrap_or_else(|| "nunca".into())
}

/// `GET /admin/sistema`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let settings = &state.admin.system;
    // Real time: the status file and the start time are recorded with it.
    let now = Timestamp::now();
    let tz = &settings.time_zone;
    let store = &state.store;
    let data_dir = store.path().parent().map(PathBuf::from).unwrap_or_default();
    let checks = crate::http::ops::readiness_checks(&state)
        .await
        .into_iter()
        .map(|(name, ok, detail)| CheckRow {
            name: check_label(name),
            ok,
            detail: match detail {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
        })
        .collect();
    let all = store.read(crate::store::table_counts).await?;
    let counts = COUNTED
        .iter()
        .map(|(table, label)| {
            let n = all.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n);
            (*label, n)
        })
        .collect();
    let recorded = status::read(&data_dir);
    let dir = settings.snapshots_dir.clone();
    let local = tokio::task::spawn_blocking(move || crate::snapshot::list_dir(&dir))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let local = manifest::group(local)
        .into_iter()
        .map(|l| LocalRow {
            name: l.name.base(),
            when: view::date_time(l.name.created, tz),
            size: l.data.as_ref().map(|d| bytes_es(d.1)).unwrap_or_default(),
            complete: l.complete(),
        })
        .collect();
    let stale = recorded
        .last_success_at
        .is_none_or(|t| now.duration_since(t) > jiff::SignedDuration::from_hours(26));
    let page = SystemPage {
        l: Layout::for_user("Sistema", &current, "sistema", flash),
        version: env!("CARGO_PKG_VERSION"),
        schema: store.schema_version()?,
        database_size: store.file_size().map(bytes_es).unwrap_or_default(),
        data_dir: data_dir.display().to_string(),
        started: view::date_time(settings.started_at, tz),
        uptime: uptime_es(now.as_second() - settings.started_at.as_second()),
        counts,
        config_summary: settings.config_summary.clone(),
        checks,
        last_success: when(recorded.last_success_at, tz),
        last_success_size: recorded
            .last_success_stored_bytes
            .map(bytes_es)
            .unwrap_or_default(),
        last_snapshot: recorded.last_snapshot.as_ref().map(|a| attempt_row(a, tz)),
        snapshot_failures: recorded.failures_total,
        last_verified: when(recorded.last_verified_at, tz),
        last_verify: recorded.last_verify.as_ref().map(|a| attempt_row(a, tz)),
        verify_failures: recorded.verify_failures_total,
        snapshots_dir: settings.snapshots_dir.display().to_string(),
        local,
        stale,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[cfg(test)]
mod tests {
    use super::bytes_es;

    #[test]
    fn uptime_reads_in_days_hours_minutes() {
        assert_eq!(super::uptime_es(59), "0 min");
        assert_eq!(super::uptime_es(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(super::uptime_es(2 * 86_400 + 3600 + 60), "2 d 1 h 1 min");
    }

    #[test]
    fn sizes_read_the_argentine_way() {
        assert_eq!(bytes_es(512), "512 B");
        assert_eq!(bytes_es(1536), "1,5 KB");
        assert_eq!(bytes_es(143_360), "140,0 KB");
        assert_eq!(bytes_es(5 * 1024 * 1024 * 1024), "5,0 GB");
    }
}
