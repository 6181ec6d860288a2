//! Auditoría (owner): the newest 200 entries matching the filters in the query string
//! (`?actor=&entity=&date=`, kept in every link), each as a Spanish sentence with local times
//! («Ana (recepción) canceló el turno #123 de Juan Pérez del martes 2/3 10:00: «No llego» —
//! lun 1 mar 10:32») and its raw JSON behind a disclosure. The page names clients, so
//! showing it is itself logged (`audit.view`).

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::Value;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::{self, Actor, Staff};
use crate::domain::staff::{Role, StaffId};
use crate::domain::{ClientId, time};
use crate::http::AppState;
use crate::store::audit::{self, AuditEntry};
use crate::store::{ReadTx, StoreError, catalog, clients, staff};

pub struct AuditRow {
    pub id: u64,
    pub sentence: String,
    pub when: String,
    /// RFC 3339, for `<time datetime>`.
    pub at: String,
    pub email: String,
    pub ip: String,
    pub action: String,
    pub entity: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub l: Layout,
    pub actor: String,
    pub entity: String,
    pub date: String,
    /// The filters as a query string, for links that keep them.
    pub query: String,
    pub entities: Vec<(&'static str, &'static str)>,
    pub rows: Vec<AuditRow>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    entity: String,
    /// `YYYY-MM-DD`: that local day only.
    #[serde(default)]
    date: String,
}

/// The entity kinds the filter offers: (code, Spanish).
const ENTITIES: [(&str, &str); 13] = [
    ("booking", "Turnos"),
    ("client", "Clientes"),
    ("agenda", "Agenda"),
    ("staff", "Equipo"),
    ("session", "Sesiones"),
    ("branch", "Sucursales"),
    ("barber", "Barberos"),
    ("service", "Servicios"),
    ("closure", "Cierres"),
    ("payment", "Señas"),
    ("message", "Mensajes"),
    ("system", "Sistema"),
    ("audit", "Auditoría"),
];

/// `GET /admin/auditoria?actor=&entity=&date=`.
pub async fn audit_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<AuditQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let tz = time::time_zone(crate::domain::catalog::DEFAULT_TZ).unwrap_or(TimeZone::UTC);
    let mut filter = audit::Filter {
        actor: Some(q.actor.trim().to_owned()).filter(|s| !s.is_empty()),
        entity: Some(q.entity.trim().to_owned()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    if let Ok(day) = q.date.parse::<jiff::civil::Date>() {
        filter.from = time::day_start(day, &tz).ok();
        filter.until = day
            .tomorrow()
            .ok()
            .and_then(|d| time::day_start(d, &tz).ok());
    }
    let query = serde_urlencoded::to_string([
        ("actor", q.actor.as_str()),
        ("entity", q.entity.as_str()),
        ("date", q.date.as_str()),
    ])
    .unwrap_or_default();
    let actor = Actor::Staff(Staff::new(&current.user, current.ip.clone()));
    let zone = tz.clone();
    let logged = serde_json::json!({"actor": q.actor, "entity": q.entity, "date": q.date});
    let rows = app::views::read_logged(&state, &actor, move |tx, seen| {
        let entries = audit::list(tx, &filter, 200)?;
        seen.push("audit.view", "audit", None, Some(logged));
        let mut names = Names::default();
        entries
            .iter()
            .map(|e| row(tx, e, &zone, &mut names))
            .collect()
    })
    .await?;
    let l = Layout::for_user("Registro de auditoría", &current, "auditoria", flash);
    let page = AuditPage {
        l,
        actor: q.actor,
        entity: q.entity,
        date: q.date,
        query,
        entities: ENTITIES.to_vec(),
        rows,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// Names already looked up for this page.
#[derive(Default)]
struct Names {
    staff: Vec<(u64, String)>,
    clients: Vec<(u64, String)>,
}

impl Names {
    fn staff(&mut self, tx: &impl ReadTx, e: &AuditEntry) -> Result<String, StoreError> {
        let Some(id) = e.actor else {
            return Ok(match e.actor_email.as_str() {
                audit::CLIENT => "El cliente".to_owned(),
                audit::SYSTEM => "El sistema".to_owned(),
                audit::CLI => "La consola (barberpro)".to_owned(),
                other => other.to_owned(),
            });
        };
        if let Some((_, n)) = self.staff.iter().find(|(k, _)| *k == id.0) {
            return Ok(n.clone());
        }
        let name = match staff::get(tx, StaffId(id.0))? {
            Some(s) => format!("{} ({})", s.name.as_str(), role_es(s.role)),
            None => e.actor_email.clone(),
        };
        self.staff.push((id.0, name.clone()));
        Ok(name)
    }

    fn client(&mut self, tx: &impl ReadTx, id: u64) -> Result<String, StoreError> {
        if let Some((_, n)) = self.clients.iter().find(|(k, _)| *k == id) {
            return Ok(n.clone());
        }
        let name = clients::get(tx, ClientId(id))?
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_else(|| format!("el cliente #{id}"));
        self.clients.push((id, name.clone()));
        Ok(name)
    }
}

fn role_es(role: Role) -> &'static str {
    match role {
        Role::Owner => "dueño/a",
        Role::Recepcion => "recepción",
        Role::Barbero => "barbero/a",
    }
}

fn row(
    tx: &impl ReadTx,
    e: &AuditEntry,
    tz: &TimeZone,
    names: &mut Names,
) -> Result<AuditRow, StoreError> {
    let who = names.staff(tx, e)?;
    let what = what(tx, e, tz, names)?;
    let show = |v: &Option<Value>| {
        v.as_ref()
            .and_then(|v| serde_json::to_string_pretty(v).ok())
            .unwrap_or_default()
    };
    Ok(AuditRow {
        id: e.id,
        sentence: format!("{who} {what}"),
        when: view::short_date_time(e.at, tz),
        at: e.at.to_zoned(tz.clone()).to_string(),
        email: e.actor_email.clone(),
        ip: e.ip.clone().unwrap_or_default(),
        action: e.action.clone(),
        entity: match e.entity_id {
            Some(id) => format!("{} #{id}", e.entity),
            None => e.entity.clone(),
        },
        before: show(&e.before),
        after: show(&e.after),
    })
}

/// The booking part of a sentence: `el turno #12 de Juan Pérez del martes 2/3 10:00`.
fn booking_part(
    tx: &impl ReadTx,
    e: &AuditEntry,
    row: Option<&Value>,
    tz: &TimeZone,
    names: &mut Names,
) -> Result<String, StoreError> {
    let id = e.entity_id.unwrap_or_default();
    let Some(b) = row else {
        return Ok(format!("el turno #{id}"));
    };
    let client = match b["client"].as_u64() {
        Some(c) => format!(" de {}", names.client(tx, c)?),
        None => String::new(),
    };
    Ok(format!("el turno #{id}{client}{}", slot(b, tz)))
}

/// ` del martes 2/3 10:00`, from a logged booking's `start`.
fn slot(b: &Value, tz: &TimeZone) -> String {
    b["start"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(|t| format!(" del {}", view::weekday_date_time(t, tz)))
        .unwrap_or_default()
}

/// What was done, as the rest of the sentence after who did it.
fn what(
    tx: &impl ReadTx,
    e: &AuditEntry,
    tz: &TimeZone,
    names: &mut Names,
) -> Result<String, StoreError> {
    let id = e.entity_id.unwrap_or_default();
    let (before, after) = (e.before.as_ref(), e.after.as_ref());
    let latest = after.or(before);
    let client = |names: &mut Names| names.client(tx, id);
    let named = |field: &str| {
        latest
            .and_then(|v| v[field].as_str())
            .map(|n| format!(" «{n}»"))
            .unwrap_or_default()
    };
    Ok(match e.action.as_str() {
        "booking.create" => format!("reservó {}", booking_part(tx, e, latest, tz, names)?),
        "booking.cancel" => {
            let reason = after
                .and_then(|a| a["cancel_reason"].as_str())
                .map(|r| format!(": «{r}»"))
                .unwrap_or_default();
            format!(
                "canceló {}{reason}",
                booking_part(tx, e, before.or(after), tz, names)?
            )
        }
        "booking.reschedule" => format!(
            "reprogramó {} al{}",
            booking_part(tx, e, before, tz, names)?,
            after
                .map(|a| slot(a, tz).trim_start_matches(" del").to_owned())
                .unwrap_or_default()
        ),
        "booking.check_in" => format!(
            "registró la llegada a {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "booking.complete" => format!(
            "marcó como terminado {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "booking.no_show" => format!(
            "marcó como ausente {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "booking.undo" => format!(
            "deshizo el último cambio de estado de {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "booking.notes" => format!(
            "cambió la nota de {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "booking.view" => format!("abrió {}", booking_part(tx, e, latest, tz, names)?),
        "booking.payment_expired" => format!(
            "canceló por seña vencida {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "booking.deposit_paid" => format!(
            "registró la seña pagada de {}",
            booking_part(tx, e, latest, tz, names)?
        ),
        "agenda.view" => {
            let d = latest.cloned().unwrap_or_default();
            let branch = d["branch"].as_str().unwrap_or_default();
            match (d["date"].as_str(), d["week"].as_str()) {
                (Some(day), _) => format!("vio la agenda de {branch} del {}", date_es(day)),
                (_, Some(week)) => format!(
                    "vio la semana de un barbero en {branch} desde el {}",
                    date_es(week)
                ),
                _ => format!("vio la agenda de {branch}"),
            }
        }
        "client.view" => format!("vio los datos de {}", client(names)?),
        "client.search" => "buscó clientes".to_owned(),
        "client.update" => format!("corrigió los datos de {}", client(names)?),
        "client.merge" => format!("unificó dos registros de {}", client(names)?),
        "client.export" => format!("exportó los datos de {}", client(names)?),
        "client.erase" => format!("borró los datos personales del cliente #{id}"),
        "client.whatsapp_opt_in" => format!("activó WhatsApp para {}", client(names)?),
        "client.whatsapp_opt_out" => format!("desactivó WhatsApp para {}", client(names)?),
        "staff.create" => format!("creó la cuenta{}", named("name")),
        "staff.role" => format!("cambió el rol de la cuenta #{id}"),
        "staff.activate" => format!("reactivó la cuenta #{id}"),
        "staff.deactivate" => format!("desactivó la cuenta #{id}"),
        "staff.password_change" => "cambió su contraseña".to_owned(),
        "staff.password_reset" => format!("dio una contraseña temporal a la cuenta #{id}"),
        "staff.logout_everywhere" => format!("cerró todas las sesiones de la cuenta #{id}"),
        "session.login" => "inició sesión".to_owned(),
        "session.logout" => "cerró sesión".to_owned(),
        "session.sweep" => "cerró sesiones vencidas".to_owned(),
        "branch.create" => format!("creó la sucursal{}", named("name")),
        "branch.update" => format!("cambió la sucursal{}", named("name")),
        "service.create" => format!("creó el servicio{}", named("name")),
        "service.update" => format!("cambió el servicio{}", named("name")),
        "barber.create" => format!("creó el barbero{}", named("name")),
        "barber.services" => format!("cambió los servicios de {}", barber(tx, id)?),
        "barber.hours" => format!("cambió el horario semanal de {}", barber(tx, id)?),
        "closure.create" => format!("agregó un cierre{}", named("reason")),
        "closure.delete" => format!("quitó un cierre{}", named("reason")),
        "payment.state" => format!("actualizó la seña #{id}"),
        "payment.refund_retry" => format!("reintentó la devolución de la seña #{id}"),
        "message.retry" => format!("reenvió el mensaje de WhatsApp #{id}"),
        "audit.export" => "descargó el registro de auditoría".to_owned(),
        "audit.view" => "vio el registro de auditoría".to_owned(),
        "audit.prune" => "borró registros de auditoría vencidos".to_owned(),
        "snapshot.take" | "snapshot.verify" => {
            let what = if e.action == "snapshot.take" {
                "una copia de seguridad"
            } else {
                "una prueba de restauración"
            };
            match latest.and_then(|v| v["state"].as_str()) {
                Some("started") => format!("inició {what}"),
                Some("ok") => format!("terminó bien {what}"),
                _ => format!(
                    "no pudo completar {what}: {}",
                    latest
                        .and_then(|v| v["error"].as_str())
                        .unwrap_or("sin detalle")
                ),
            }
        }
        other => match e.entity_id {
            Some(id) => format!("hizo «{other}» sobre {} #{id}", e.entity),
            None => format!("hizo «{other}» sobre {}", e.entity),
        },
    })
}

fn barber(tx: &impl ReadTx, id: u64) -> Result<String, StoreError> {
    let catalog = catalog::load(tx)?;
    Ok(catalog
        .barber(crate::domain::BarberId(id))
        .map(|b| b.name.as_str().to_owned())
        .unwrap_or_else(|| format!("el barbero #{id}")))
}

/// `2027-03-02` as `martes 02/03/2027`.
fn date_es(iso: &str) -> String {
    iso.parse::<jiff::civil::Date>()
        .map(view::long_date)
        .unwrap_or_else(|_| iso.to_owned())
}
