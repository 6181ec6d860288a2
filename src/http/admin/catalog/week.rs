//! Catálogo's week editor (owner): a barber's hours at one branch, the whole week at once,
//! each day pre-filled with its hours and every break. Saving takes two steps, both plain
//! forms: "Revisar cambios" shows the week before and after and the bookings the change
//! would leave outside the hours (with their clients and links); "Guardar" saves, through
//! `app::catalog::set_week`. "Agregar pausa" and "Copiar a todos los días" are buttons of the
//! same form, answered by the server without JavaScript (`admin.js` does both in place).

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::week_form::{Action, DAY_NAMES, DayForm, WeekForm, days_of, finish};
use crate::app::catalog::{self as use_case, Stranded, WeekSaved, WeekView};
use crate::domain::time::local_date;
use crate::domain::week::WeekProblem;
use crate::domain::{BarberId, BranchId, DomainError, Shift};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::http::extract::PathId;
use crate::store::catalog;

#[derive(Template)]
#[template(path = "admin/week.html")]
pub struct WeekPage {
    pub l: Layout,
    pub barber_id: u64,
    pub barber: String,
    pub branch_id: u64,
    pub branch: String,
    pub seen: String,
    pub days: Vec<DayForm>,
    /// A problem with the week as a whole.
    pub error: Option<String>,
    /// The other active branches: (id, name), to edit the hours there.
    pub branches: Vec<(u64, String)>,
}

/// One row of the preview's table.
pub struct DayChange {
    pub name: &'static str,
    pub before: String,
    pub after: String,
    pub changed: bool,
}

/// A booking the new hours would strand, as the preview lists it.
pub struct StrandedRow {
    pub id: u64,
    pub when: String,
    pub client: String,
    pub client_id: u64,
    pub services: String,
    pub agenda: String,
}

#[derive(Template)]
#[template(path = "admin/week_preview.html")]
pub struct PreviewPage {
    pub l: Layout,
    pub barber_id: u64,
    pub barber: String,
    pub branch_id: u64,
    pub branch: String,
    pub seen: String,
    pub changes: Vec<DayChange>,
    pub any_change: bool,
    pub stranded: Vec<StrandedRow>,
    /// The week as typed, sent again with "Guardar" or "Volver a editar".
    pub days: Vec<DayForm>,
}

#[derive(Deserialize, Default)]
pub struct WeekQuery {
    #[serde(default)]
    sucursal: String,
}

/// `10:00–20:00 (pausas 13:00–14:00, 16:00–16:15)`, or `No trabaja`.
fn describe(shift: Option<&Shift>) -> String {
    let Some(s) = shift else {
        return "No trabaja".to_owned();
    };
    let breaks: Vec<String> = s.breaks.iter().map(|(a, z)| format!("{a}–{z}")).collect();
    match breaks.len() {
        0 => format!("{}–{}", s.start, s.end),
        1 => format!("{}–{} (pausa {})", s.start, s.end, breaks[0]),
        _ => format!("{}–{} (pausas {})", s.start, s.end, breaks.join(", ")),
    }
}

fn overlap_message(problem: &WeekProblem, view: &WeekView) -> String {
    let WeekProblem::Overlap { weekday, other } = problem;
    let branch = view
        .elsewhere
        .iter()
        .find(|(s, _)| s.branch == *other)
        .map(|(_, name)| name.as_str())
        .unwrap_or("otra sucursal");
    format!(
        "El {} se superpone con su horario en {branch}.",
        DAY_NAMES[usize::from(weekday - 1)]
    )
}

async fn branches_besides(
    state: &AppState,
    branch: BranchId,
) -> Result<Vec<(u64, String)>, AdminError> {
    Ok(state
        .store
        .read(catalog::branches)
        .await?
        .into_iter()
        .filter(|b| b.active && b.id != branch)
        .map(|b| (b.id.0, b.name.as_str().to_owned()))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn editor(
    state: &AppState,
    current: &Current,
    view: &WeekView,
    mut days: Vec<DayForm>,
    seen: String,
    error: Option<String>,
    flash: Flash,
) -> Result<Response, AdminError> {
    finish(&mut days, view);
    let title = format!("Horario de {}", view.barber.name.as_str());
    let page = WeekPage {
        l: Layout::for_user(&title, current, "catalogo", flash),
        barber_id: view.barber.id.0,
        barber: view.barber.name.as_str().to_owned(),
        branch_id: view.branch.id.0,
        branch: view.branch.name.as_str().to_owned(),
        seen,
        days,
        error,
        branches: branches_besides(state, view.branch.id).await?,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `GET /admin/catalogo/barberos/{id}/semana?sucursal={branch}` (owner): the week editor,
/// pre-filled with the barber's hours and breaks at the branch.
pub async fn week_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Query(query): Query<WeekQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let branch = query
        .sucursal
        .parse::<u64>()
        .map_err(|_| AdminError::NotFound)?;
    let view = load(&state, &current, id, branch).await?;
    let days = days_of(&view);
    let seen = view.seen.clone();
    editor(&state, &current, &view, days, seen, None, flash).await
}

async fn load(
    state: &AppState,
    current: &Current,
    barber: u64,
    branch: u64,
) -> Result<WeekView, AdminError> {
    use_case::week(
        &state.app,
        &current.actor(),
        BarberId(barber),
        BranchId(branch),
    )
    .await
    .map_err(|e| match e.rule() {
        Some(DomainError::UnknownBarber(_) | DomainError::UnknownBranch) => AdminError::NotFound,
        _ => AdminError::from(e),
    })
}

fn stranded_rows(stranded: &[Stranded], view: &WeekView) -> Vec<StrandedRow> {
    let tz = view.branch.tz();
    stranded
        .iter()
        .map(|s| {
            let b = &s.booking;
            let date = local_date(b.start, &tz);
            StrandedRow {
                id: b.id.0,
                when: format!("{} {}", view::long_date(date), view::time(b.start, &tz)),
                client: s
                    .client
                    .as_ref()
                    .map(|c| c.name.as_str().to_owned())
                    .unwrap_or_default(),
                client_id: b.client.0,
                services: b.service_names(),
                agenda: format!(
                    "/admin/agenda?branch={}&date={date}",
                    view.branch.slug.as_str()
                ),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn preview_page(
    current: &Current,
    view: &WeekView,
    after: &[Shift],
    stranded: &[Stranded],
    days: Vec<DayForm>,
    flash: Flash,
) -> PreviewPage {
    let branch = view.branch.id;
    let changes: Vec<DayChange> = (1..=7u8)
        .map(|n| {
            let before = view.week.shift(n, branch);
            let now = after.iter().find(|s| s.weekday == n && s.branch == branch);
            DayChange {
                name: DAY_NAMES[usize::from(n - 1)],
                before: describe(before.as_ref()),
                after: describe(now),
                changed: before.as_ref() != now,
            }
        })
        .collect();
    let title = format!("Revisar el horario de {}", view.barber.name.as_str());
    PreviewPage {
        l: Layout::for_user(&title, current, "catalogo", flash),
        barber_id: view.barber.id.0,
        barber: view.barber.name.as_str().to_owned(),
        branch_id: branch.0,
        branch: view.branch.name.as_str().to_owned(),
        seen: view.seen.clone(),
        any_change: changes.iter().any(|c| c.changed),
        changes,
        stranded: stranded_rows(stranded, view),
        days,
    }
}

/// `POST /admin/catalogo/barberos/{id}/semana` (owner): the editor's buttons. "Revisar
/// cambios" (the default) answers the preview; "Guardar" (on the preview) saves; "Agregar
/// pausa", "Copiar a todos los días" and "Volver a editar" answer the editor again.
pub async fn week_post(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let mut form = WeekForm::from_pairs(&pairs);
    let view = load(&state, &current, id, form.branch).await?;
    let secure = state.admin.secure_cookies;
    match form.action {
        Action::Edit => {
            let (days, seen) = (form.days, form.seen);
            return editor(&state, &current, &view, days, seen, None, Flash(None)).await;
        }
        Action::AddBreak(n) => {
            if let Some(day) = form.days.get_mut(usize::from(n) - 1) {
                day.breaks.push((String::new(), String::new()));
            }
            let (days, seen) = (form.days, form.seen);
            return editor(&state, &current, &view, days, seen, None, Flash(None)).await;
        }
        Action::Copy(n) => {
            form.copy(n);
            let (days, seen) = (form.days, form.seen);
            return editor(&state, &current, &view, days, seen, None, Flash(None)).await;
        }
        Action::Preview | Action::Save => {}
    }
    let Some(week) = form.parse() else {
        let error = Some("Revisá los días marcados.".to_owned());
        let (days, seen) = (form.days, form.seen);
        return editor(&state, &current, &view, days, seen, error, Flash(None)).await;
    };
    let who = current.actor();
    let (barber, branch) = (BarberId(id), BranchId(form.branch));
    if form.action == Action::Save {
        let saved = use_case::set_week(
            &state.app,
            &who,
            barber,
            branch,
            week.clone(),
            form.seen.clone(),
        )
        .await
        .map_err(AdminError::from)?;
        match saved {
            WeekSaved::Saved => {
                let text = format!(
                    "Horario semanal guardado: {} en {}.",
                    view.barber.name.as_str(),
                    view.branch.name.as_str()
                );
                return Ok(view::redirect(
                    &format!("/admin/catalogo#barber-{id}"),
                    "ok",
                    &text,
                    secure,
                ));
            }
            WeekSaved::Changed => {
                // Start again from the hours as they are now, keeping what was typed.
                let view = load(&state, &current, id, form.branch).await?;
                let error = Some(
                    "Alguien cambió este horario mientras lo editabas. Revisá los días y volvé \
                     a guardar."
                        .to_owned(),
                );
                let seen = view.seen.clone();
                return editor(&state, &current, &view, form.days, seen, error, Flash(None)).await;
            }
            WeekSaved::Problem(problem) => {
                let error = Some(overlap_message(&problem, &view));
                let (days, seen) = (form.days, form.seen);
                return editor(&state, &current, &view, days, seen, error, Flash(None)).await;
            }
            WeekSaved::Stranded(_) => {
                // Bookings arrived since the preview: show the preview again, with them.
            }
        }
    }
    let preview = use_case::preview_week(&state.app, &who, barber, branch, week)
        .await
        .map_err(AdminError::from)?;
    match preview {
        Ok(p) => {
            let flash = if form.action == Action::Save {
                Flash(Some(view::FlashMsg {
                    kind: "error",
                    text: "No se guardó: hay turnos nuevos que quedarían fuera del horario.".into(),
                }))
            } else {
                Flash(None)
            };
            let mut days = form.days;
            for day in &mut days {
                day.breaks.retain(|(a, z)| !a.is_empty() || !z.is_empty());
            }
            let page = preview_page(&current, &p.now, &p.after, &p.stranded, days, flash);
            view::render(&page, &page.l, secure)
        }
        Err(problem) => {
            let error = Some(overlap_message(&problem, &view));
            let (days, seen) = (form.days, form.seen);
            editor(&state, &current, &view, days, seen, error, Flash(None)).await
        }
    }
}
