//! The Sistema page's buttons (owner): «Hacer copia ahora» and «Probar restauración». Each
//! is audited when it starts and when it ends (`app::operations`), runs in the background
//! through the server's own control socket (where `barberpro snapshot` is served, one at a
//! time), and shows its progress on the page, which `admin.js` follows through
//! `/admin/sistema/tarea.json`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;

use super::AdminError;
use super::session::Current;
use super::view;
use crate::app::operations::{self, Operation};
use crate::control::{self, Request};
use crate::http::AppState;
use crate::http::format::{bytes_es, duration_es};

/// The last operation started from the page (one at a time).
#[derive(Debug, Clone)]
pub struct Task {
    pub op: Operation,
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
    /// Spanish: what was made, or why it failed.
    pub outcome: Option<Result<String, String>>,
}

/// Shared by the handlers and the background task.
pub type Tasks = Arc<Mutex<Option<Task>>>;

fn label(op: Operation) -> &'static str {
    match op {
        Operation::Snapshot => "Copia de seguridad",
        Operation::Verify => "Prueba de restauración",
    }
}

/// The task as the page shows it: (what, since, state, result, running).
pub fn shown(tasks: &Tasks, tz: &jiff::tz::TimeZone) -> Option<TaskRow> {
    let task = tasks.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
    let (state, result) = match &task.outcome {
        None => ("en curso", String::new()),
        Some(Ok(summary)) => ("terminó bien", summary.clone()),
        Some(Err(error)) => ("falló", error.clone()),
    };
    Some(TaskRow {
        what: label(task.op),
        started: view::date_time(task.started, tz),
        state,
        result,
        running: task.finished.is_none(),
        ok: matches!(task.outcome, Some(Ok(_))),
    })
}

pub struct TaskRow {
    pub what: &'static str,
    pub started: String,
    pub state: &'static str,
    pub result: String,
    pub running: bool,
    pub ok: bool,
}

/// `POST /admin/sistema/copia`.
pub async fn snapshot_now(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
) -> Result<Response, AdminError> {
    start(state, current, Operation::Snapshot).await
}

/// `POST /admin/sistema/prueba`.
pub async fn verify_now(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
) -> Result<Response, AdminError> {
    start(state, current, Operation::Verify).await
}

async fn start(state: AppState, current: Current, op: Operation) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let tasks = state.admin.system.task.clone();
    {
        let mut slot = tasks.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|t| t.finished.is_none()) {
            let text = "Ya hay una tarea en curso: esperá a que termine.";
            return Ok(view::redirect("/admin/sistema", "error", text, secure));
        }
        *slot = Some(Task {
            op,
            started: Timestamp::now(),
            finished: None,
            outcome: None,
        });
    }
    let actor = current.actor();
    if let Err(e) = operations::started(&state, &actor, op).await {
        *tasks.lock().unwrap_or_else(|e| e.into_inner()) = None;
        return Err(e.into());
    }
    let data_dir = state
        .store
        .path()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let app = state.clone();
    tokio::spawn(async move {
        let request = match op {
            Operation::Snapshot => Request::Snapshot { upload: None },
            Operation::Verify => Request::Verify,
        };
        let outcome = match control::ask(&data_dir, &request).await {
            Ok(Some(answer)) => match answer.error {
                Some(error) => Err(error),
                None => Ok(summary_es(&answer)),
            },
            Ok(None) => Err("El servidor no atiende su socket de control.".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = operations::finished(&app, &actor, op, &outcome).await {
            tracing::warn!(error = %e, "the end of a Sistema task was not audited");
        }
        let mut slot = tasks.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(Task {
            op,
            started: slot.as_ref().map_or_else(Timestamp::now, |t| t.started),
            finished: Some(Timestamp::now()),
            outcome: Some(outcome),
        });
    });
    let text = match op {
        Operation::Snapshot => "Copia de seguridad iniciada.",
        Operation::Verify => "Prueba de restauración iniciada.",
    };
    Ok(view::redirect("/admin/sistema", "ok", text, secure))
}

/// What the control socket answered, in Spanish.
fn summary_es(answer: &control::Answer) -> String {
    if let Some(r) = &answer.report {
        let upload = match &r.uploaded_to {
            Some(to) => format!("subida a {to}"),
            None => "sin subir (no hay bucket)".to_owned(),
        };
        return format!(
            "{}: {} turnos, {} guardados, {upload}, en {}",
            r.name,
            r.bookings,
            bytes_es(r.stored_bytes),
            duration_es(r.duration_ms)
        );
    }
    let restored: serde_json::Value = answer
        .output
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    format!(
        "{} se restaura bien (probada en una carpeta aparte, en {})",
        restored["name"].as_str().unwrap_or("la última copia"),
        duration_es(restored["duration_ms"].as_u64().unwrap_or_default())
    )
}

/// `GET /admin/sistema/tarea.json`: `{"running": bool}`, what the page polls.
pub async fn task_json(State(state): State<AppState>) -> Response {
    let running = state
        .admin
        .system
        .task
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|t| t.finished.is_none());
    (
        [("cache-control", "no-store")],
        Json(serde_json::json!({ "running": running })),
    )
        .into_response()
}
