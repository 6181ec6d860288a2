//! The front desk's admin UI under `/admin`: askama pages, forms with CSRF tokens, and
//! post-redirect-get with flash messages. Spanish (es-AR) throughout.
//!
//! Routers are grouped by guard (kanidm style):
//! * public: login, the one-time setup link;
//! * staff (any logged-in account): the agenda and status changes of bookings;
//! * front desk (owner, recepción): new bookings, cancellations, clients (rectification and
//!   the JSON export of a client's data), the catalogue;
//! * owner: the team, the audit log (and its JSON-lines export), erasing a client's data,
//!   and changes to the catalogue.
//!
//! [`session::resolve`] runs on every `/admin` request (outside the rate limiter, which then
//! counts staff per account); the guards are `route_layer`s that also check the CSRF token of
//! every request that is not a GET. Bookings change only through `store::bookings`, the same
//! functions the JSON API calls, and every change is written to the audit log in the same
//! transaction.

pub mod account;
pub mod agenda;
/// Auditoría: the log as Spanish sentences, filters in the query string.
pub mod audit_log;
pub mod auth;
pub mod bookings;
/// La caja: cobrar, comprobante, caja diaria, productos, comisiones, reportes.
pub mod caja;
pub mod catalog;
pub mod client_data;
/// Merging two records of one person.
pub mod client_merge;
pub mod clients;
pub mod cookies;
pub mod messages;
/// Deposits: policies and the latest MercadoPago payments and refunds.
pub mod payments;
pub mod session;
pub mod system;
/// The Sistema page's buttons: a snapshot and the restore drill now.
pub mod system_tasks;
pub mod team;
pub mod view;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::AppState;
use crate::domain::DomainError;
use crate::domain::staff::SessionLimits;
use crate::store::StoreError;

/// What the admin UI needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sessions: SessionLimits,
    /// Cookies get `Secure` when clients reach us over HTTPS (ours, or a proxy's).
    pub secure_cookies: bool,
    /// What the "Sistema" page reads.
    pub system: system::SystemSettings,
}

/// A photo upload's body: the largest photo accepted and the form around it.
fn photo_body_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(session::MAX_UPLOAD_FORM_BYTES)
}

/// The admin routes, each group behind its guard.
pub fn router() -> Router<AppState> {
    let public = Router::new()
        .route("/admin/login", get(auth::login_page).post(auth::login))
        .route(
            "/admin/setup/{token}",
            get(auth::setup_page).post(auth::setup),
        );
    let staff = Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/agenda") }))
        .route("/admin/agenda", get(agenda::page))
        .route("/admin/agenda/version", get(agenda::version))
        .route("/admin/agenda/semana", get(agenda::week_page))
        .route("/admin/bookings/{id}/status", post(agenda::set_status))
        .route("/admin/bookings/{id}/undo", post(agenda::undo_status))
        .route("/admin/bookings/{id}/notes", post(agenda::set_notes))
        .route("/admin/logout", post(auth::logout))
        .route("/admin/cuenta", get(account::page))
        .route("/admin/cuenta/clave", post(account::change_password))
        .route("/admin/comisiones", get(caja::commissions::page))
        .route("/admin/comisiones.csv", get(caja::commissions::csv))
        .route_layer(axum::middleware::from_fn(session::require_staff));
    let front_desk = Router::new()
        .route(
            "/admin/bookings/new",
            get(bookings::new_page).post(bookings::new_page_search),
        )
        .route("/admin/bookings", post(bookings::create))
        .route("/admin/bookings/{id}/cancel", post(agenda::cancel))
        .route("/admin/bookings/{id}/reschedule", post(agenda::reschedule))
        .route("/admin/bookings/{id}/mover", get(agenda::move_page))
        .route("/admin/clientes", get(clients::list))
        .route(
            "/admin/clientes/{id}",
            get(clients::show).post(client_data::update),
        )
        .route("/admin/clientes/{id}/datos.json", get(client_data::export))
        .route(
            "/admin/clientes/{id}/unificar",
            get(client_merge::merge_page).post(client_merge::merge),
        )
        .route("/admin/pagos", get(payments::page))
        .route("/admin/pagos/{id}/reintentar", post(payments::retry_refund))
        .route("/admin/clientes/{id}/whatsapp", post(messages::set_consent))
        .route("/admin/mensajes", get(messages::page))
        .route("/admin/mensajes.json", get(messages::list))
        .route("/admin/mensajes/{id}/reintentar", post(messages::retry))
        .route("/admin/catalogo", get(catalog::page))
        .route("/admin/caja", get(caja::till::page))
        .route(
            "/admin/caja/cobrar",
            get(caja::checkout::page).post(caja::checkout::charge),
        )
        .route("/admin/caja/comprobante/{id}", get(caja::checkout::receipt))
        .route(
            "/admin/caja/comprobante/{id}/mercadopago",
            post(caja::mp_link::create),
        )
        .route("/admin/caja/abrir", post(caja::till::open))
        .route("/admin/caja/cerrar", post(caja::till::close))
        .route("/admin/caja/movimiento", post(caja::till::cash))
        .route("/admin/caja/adelanto", post(caja::till::advance))
        .route("/admin/caja/anular/{id}", post(caja::till::void))
        .route("/admin/productos", get(caja::products::page))
        .route("/admin/productos/{id}/stock", post(caja::products::adjust))
        .route_layer(axum::middleware::from_fn(session::require_front_desk));
    let owner = Router::new()
        .route("/admin/equipo", get(team::page).post(team::create))
        .route(
            "/admin/equipo/{id}/logout-everywhere",
            post(team::logout_everywhere),
        )
        .route("/admin/equipo/{id}/active", post(team::set_active))
        .route("/admin/equipo/{id}/rol", post(account::set_role))
        .route("/admin/equipo/{id}/clave", post(account::reset_password))
        .route("/admin/auditoria", get(team::audit_page))
        .route("/admin/auditoria/export.jsonl", get(team::audit_export))
        .route(
            "/admin/clientes/{id}/borrar",
            get(client_data::erase_page).post(client_data::erase),
        )
        .route("/admin/sistema", get(system::page))
        .route("/admin/sistema/copia", post(system_tasks::snapshot_now))
        .route("/admin/sistema/prueba", post(system_tasks::verify_now))
        .route("/admin/sistema/tarea.json", get(system_tasks::task_json))
        .route("/admin/catalogo/sucursales", post(catalog::create_branch))
        .route(
            "/admin/catalogo/sucursales/{id}",
            post(catalog::update_branch),
        )
        .route("/admin/catalogo/servicios", post(catalog::create_service))
        .route(
            "/admin/catalogo/servicios/{id}",
            post(catalog::update_service),
        )
        .route("/admin/catalogo/barberos", post(catalog::create_barber))
        .route(
            "/admin/catalogo/barberos/{id}/servicios",
            post(catalog::set_barber_services),
        )
        .route(
            "/admin/catalogo/barberos/{id}/semana",
            get(catalog::week_page).post(catalog::week_post),
        )
        .route(
            "/admin/catalogo/sucursales/{id}/fotos",
            post(catalog::upload_branch_photo).layer(photo_body_limit()),
        )
        .route(
            "/admin/catalogo/sucursales/{id}/fotos/{photo}/borrar",
            post(catalog::delete_branch_photo),
        )
        .route(
            "/admin/catalogo/barberos/{id}/foto",
            post(catalog::upload_barber_photo).layer(photo_body_limit()),
        )
        .route("/admin/catalogo/cierres", post(catalog::add_closure))
        .route(
            "/admin/catalogo/cierres/{id}/borrar",
            post(catalog::delete_closure),
        )
        .route("/admin/productos/nuevo", post(caja::products::create))
        .route(
            "/admin/productos/{id}",
            get(caja::products::edit_page).post(caja::products::edit),
        )
        .route(
            "/admin/comisiones/{id}/reglas",
            post(caja::commissions::set_rules),
        )
        .route(
            "/admin/comisiones/{id}/cerrar",
            post(caja::commissions::close),
        )
        .route("/admin/reportes", get(caja::reports::page))
        .route("/admin/reportes/{file}", get(caja::reports::csv))
        .route(
            "/admin/reportes/ocupacion",
            get(caja::report_bookings::occupancy),
        )
        .route(
            "/admin/reportes/asistencia",
            get(caja::report_bookings::attendance),
        )
        .route(
            "/admin/reportes/clientes",
            get(caja::report_bookings::clients),
        )
        .route(
            "/admin/reportes/ocupacion/{file}",
            get(caja::report_bookings::occupancy_csv),
        )
        .route(
            "/admin/reportes/asistencia/{file}",
            get(caja::report_bookings::attendance_csv),
        )
        .route(
            "/admin/reportes/clientes/{file}",
            get(caja::report_bookings::clients_csv),
        )
        .route_layer(axum::middleware::from_fn(session::require_owner));
    public.merge(staff).merge(front_desk).merge(owner)
}

/// What an admin page can answer besides itself; always an HTML page (or a redirect).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 303 to the login page: no session, or it expired.
    #[error("login required")]
    LoginRequired,
    /// 403: the account's role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// 403: a form without the session's CSRF token (or with another one).
    #[error("bad CSRF token")]
    Csrf,
    /// 404: no such page or record.
    #[error("not found")]
    NotFound,
    /// 400: a form or query that cannot be read.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 503: shutting down.
    #[error("unavailable")]
    Unavailable,
    /// 503: the disk is full, the change was not saved.
    #[error("disk full")]
    DiskFull,
    /// 500: our fault; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(
                DomainError::UnknownBooking
                | DomainError::UnknownBranch
                | DomainError::UnknownClient,
            ) => Self::NotFound,
            StoreError::Rule(rule) => Self::BadRequest(rule.message_es()),
            StoreError::WriterGone => Self::Unavailable,
            StoreError::DiskFull => Self::DiskFull,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::app::AppError> for AdminError {
    fn from(e: crate::app::AppError) -> Self {
        use crate::app::AppError;
        match e {
            AppError::Rule(rule) => StoreError::Rule(rule).into(),
            AppError::Forbidden => Self::Forbidden,
            AppError::Store(e) => e.into(),
        }
    }
}

impl From<askama::Error> for AdminError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

impl AdminError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::LoginRequired => StatusCode::SEE_OTHER,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable | Self::DiskFull => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::LoginRequired => "Iniciá sesión para continuar.".into(),
            Self::Forbidden => "Tu cuenta no tiene permiso para ver esta página.".into(),
            Self::Csrf => {
                "El formulario venció o no vino de esta página. Volvé atrás, recargá la página y \
                 probá de nuevo."
                    .into()
            }
            Self::NotFound => "No encontramos lo que buscás.".into(),
            Self::BadRequest(message) => message.clone(),
            Self::Unavailable => "El sistema no está disponible en este momento.".into(),
            Self::DiskFull => {
                "El servidor se quedó sin espacio en disco: no se guardó el cambio. Avisale al \
                 encargado."
                    .into()
            }
            Self::Internal(_) => "Ocurrió un error inesperado. Ya lo estamos revisando.".into(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "admin: internal error");
        }
        if let Self::LoginRequired = self {
            return Redirect::to("/admin/login").into_response();
        }
        let page = view::ErrorPage {
            l: view::Layout::bare("Error"),
            status: self.status().as_u16(),
            message: self.message(),
        };
        match askama::Template::render(&page) {
            Ok(html) => (self.status(), Html(html)).into_response(),
            Err(_) => (self.status(), self.message()).into_response(),
        }
    }
}
