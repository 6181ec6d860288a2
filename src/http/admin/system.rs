//! Owner page "Sistema": readiness checks (each detail in Spanish; a backup never taken is a
//! warning, not "bien"), database and backup status (the last snapshot, the last restore
//! drill, the local copies). Snapshots are taken by the timer or `barberpro snapshot`, which
//! record their results in the status file shown here; the page's own buttons are in
//! [`super::system_tasks`].

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
use crate::http::format::{bytes_es, duration_es};
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
    /// The snapshot or restore drill started from the page, if any.
    pub task: super::system_tasks::Tasks,
}

pub struct CheckRow {
    pub name: &'static str,
    /// `bien`, `aviso` or `falla`.
    pub level: &'static str,
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
    /// No snapshot was ever taken (a warning: a new install).
    pub never: bool,
    pub task: Option<super::system_tasks::TaskRow>,
    /// Continuous backup: how far behind the bucket is, in Spanish ("al día", "hace 12 s"…).
    pub replication: String,
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
        .map(|(name, ok, detail)| {
            let (level, detail) = detail_es(name, ok, &detail, tz);
            CheckRow {
                name: check_label(name),
                level,
                detail,
            }
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
        stale: stale && recorded.last_success_at.is_some(),
        never: recorded.last_success_at.is_none(),
        task: super::system_tasks::shown(&settings.task, tz),
        replication: replication_es(&store.changelog().figures(), now, tz),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// The continuous backup's state for the owner: the lag, the newest replicated time, what
/// is wrong.
fn replication_es(
    f: &crate::store::engine::changelog::Figures,
    now: Timestamp,
    tz: &TimeZone,
) -> String {
    if f.state.generation.is_none() {
        return "sin copia continua (sin bucket, o todavía sin copia completa que la empiece)"
            .into();
    }
    let mut out = match f.lag_seconds(now.as_millisecond()) {
        lag if lag < 1.0 => "al día".to_owned(),
        lag => format!("{lag:.0} s de atraso"),
    };
    if let Some(ms) = f.shipped.last_ms
        && let Ok(t) = Timestamp::from_millisecond(ms)
    {
        out += &format!(" · último cambio en el bucket: {}", view::date_time(t, tz));
    }
    if let Some(e) = &f.shipped.last_error {
        out += &format!(" · falla al subir: {e}");
    }
    if f.state.broken.is_some() {
        out += " · detenida hasta la próxima copia completa";
    }
    out
}

/// A readiness check's detail in Spanish, and its level: `bien`, `aviso` (a backup never
/// taken) or `falla`.
fn detail_es(
    name: &str,
    ok: bool,
    detail: &serde_json::Value,
    tz: &TimeZone,
) -> (&'static str, String) {
    let level = if ok { "bien" } else { "falla" };
    let n = |key: &str| detail[key].as_i64().unwrap_or_default();
    let text = match (name, detail) {
        ("database", serde_json::Value::String(s)) if ok && s == "answers a read" => {
            "responde".to_owned()
        }
        ("writer", _) if ok => "funcionando".to_owned(),
        ("writer", _) => "detenida".to_owned(),
        ("certificate", serde_json::Value::String(s)) => match s.as_str() {
            "TLS off" => "sin TLS (detrás de un proxy)".to_owned(),
            "expired" => "vencido".to_owned(),
            _ => "no se puede leer".to_owned(),
        },
        ("certificate", _) => {
            let days = n("expires_in_days");
            let acme = if detail.get("acme").is_some() {
                " (renovación automática con ACME)"
            } else {
                ""
            };
            match days {
                1 => format!("vence en 1 día{acme}"),
                d => format!("vence en {d} días{acme}"),
            }
        }
        ("disk", serde_json::Value::Object(_)) => {
            let free = u64::try_from(n("free_mib")).unwrap_or_default() * 1024 * 1024;
            let minimum = u64::try_from(n("minimum_mib")).unwrap_or_default() * 1024 * 1024;
            format!(
                "{} libres ({} %; mínimo {})",
                bytes_es(free),
                n("free_percent"),
                bytes_es(minimum)
            )
        }
        ("disk", _) => "no se puede leer el espacio libre".to_owned(),
        ("outbox", serde_json::Value::Object(_)) => match n("pending") {
            0 => "nada pendiente".to_owned(),
            p => format!(
                "{p} pendientes; el más viejo espera hace {} min (máximo {})",
                n("oldest_due_minutes"),
                n("maximum_minutes")
            ),
        },
        ("snapshot", serde_json::Value::String(_)) => {
            return (
                "aviso",
                "todavía no se tomó ninguna copia: tocá «Hacer copia ahora»".to_owned(),
            );
        }
        ("snapshot", serde_json::Value::Object(_)) if detail.get("failures").is_some() => {
            format!("{} intentos y ninguna copia exitosa", n("failures"))
        }
        ("snapshot", _) => {
            let at = detail["last_success_at"]
                .as_str()
                .and_then(|s| s.parse::<Timestamp>().ok())
                .map(|t| view::date_time(t, tz))
                .unwrap_or_default();
            format!(
                "la última exitosa, {at} (hace {} h; máximo {} h)",
                n("age_hours"),
                n("maximum_hours")
            )
        }
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    };
    (level, text)
}

#[cfg(test)]
mod tests {
    use super::bytes_es;

    #[test]
    fn check_details_read_in_spanish_and_a_missing_backup_is_a_warning() {
        use serde_json::json;
        let tz = jiff::tz::TimeZone::UTC;
        let es = |name, ok, detail| super::detail_es(name, ok, &detail, &tz);
        assert_eq!(
            es("database", true, json!("answers a read")),
            ("bien", "responde".to_owned())
        );
        assert_eq!(
            es("certificate", true, json!({"expires_in_days": 396})),
            ("bien", "vence en 396 días".to_owned())
        );
        let disk = json!({"free_mib": 76_390, "free_percent": 41, "minimum_mib": 1024});
        assert_eq!(
            es("disk", true, disk),
            ("bien", "74,6 GB libres (41 %; mínimo 1,0 GB)".to_owned())
        );
        let (level, text) = es("snapshot", true, json!("no snapshot taken yet"));
        assert_eq!(level, "aviso");
        assert!(text.starts_with("todavía no se tomó ninguna copia"));
        assert_eq!(
            es("outbox", true, json!({"pending": 0})).1,
            "nada pendiente"
        );
    }

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
