//! Logging in and out, and the one-time setup link that creates the first owner.

use askama::Template;
use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Current;
use super::view::{self, Flash, Layout};
use super::{AdminError, cookies};
use crate::app::AppError;
use crate::app::sessions::{self, NewOwner};
use crate::auth;
use crate::domain::staff::{NewPassword, staff_email};
use crate::domain::{DomainError, Text};
use crate::http::AppState;
use crate::http::ratelimit::ClientIp;

/// The same words for an unknown account, a wrong password and a deactivated account.
const WRONG: &str = "E-mail o contraseña incorrectos.";

#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    pub l: Layout,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The login page, with a fresh double-submit CSRF token in a cookie and in the form.
fn login_response(
    state: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<String>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let token = auth::random_token();
    let mut l = Layout::bare("Ingresar").with_flash(flash);
    l.csrf = token.clone();
    let page = LoginPage {
        l,
        email: email.to_owned(),
        error,
    };
    let mut response = view::render(&page, &page.l, state.admin.secure_cookies)?;
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::LOGIN_CSRF,
            &token,
            Some(3600),
            state.admin.secure_cookies,
        ),
    );
    Ok(response)
}

/// `GET /admin/login`.
pub async fn login_page(
    State(state): State<AppState>,
    current: Option<Extension<Current>>,
    flash: Flash,
) -> Result<Response, AdminError> {
    if current.is_some() {
        return Ok(Redirect::to("/admin/agenda").into_response());
    }
    login_response(&state, StatusCode::OK, "", None, flash)
}

/// `POST /admin/login`. Unknown account, wrong password and deactivated account answer alike
/// and take as long (an unknown account verifies against a dummy hash).
pub async fn login(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AdminError> {
    let expected = cookies::get(&headers, cookies::LOGIN_CSRF).unwrap_or("");
    if expected.is_empty() || !auth::tokens_equal(expected, &form.csrf) {
        let again = "El formulario venció. Probá de nuevo.".to_owned();
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            &form.email,
            Some(again),
            Flash::default(),
        );
    }
    let email = form.email.trim().to_lowercase();
    if let Err(limited) = state.limits.check_login_account(&email) {
        let wait = format!(
            "Demasiados intentos. Probá de nuevo en {} segundos.",
            limited.retry_after_secs()
        );
        return login_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &form.email,
            Some(wait),
            Flash::default(),
        );
    }
    let ip = ip.map(|Extension(ClientIp(ip))| ip.to_string());
    let limits = state.admin.sessions;
    let Some(started) = sessions::log_in(&state, email, form.password, ip, limits).await? else {
        return login_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &form.email,
            Some(WRONG.into()),
            Flash::default(),
        );
    };
    let secure = state.admin.secure_cookies;
    let mut response = Redirect::to("/admin/agenda").into_response();
    cookies::start_session(&mut response, &started.token, secure);
    Ok(response)
}

/// `POST /admin/logout`: ends this session.
pub async fn logout(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
) -> Result<Response, AdminError> {
    sessions::log_out(&state, &current.actor(), current.token_hash.clone()).await?;
    let secure = state.admin.secure_cookies;
    let mut response = view::redirect("/admin/login", "ok", "Cerraste la sesión.", secure);
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::clear(cookies::SESSION, secure));
    Ok(response)
}

#[derive(Template)]
#[template(path = "admin/setup.html")]
pub struct SetupPage {
    pub l: Layout,
    pub token: String,
    pub email: String,
    pub name: String,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default)]
    csrf: String,
}

fn link_dead() -> AdminError {
    AdminError::BadRequest(
        "El enlace de configuración no es válido, ya se usó o venció. Creá la cuenta con \
         `barberpro admin create-user --role owner --email …`."
            .into(),
    )
}

fn setup_response(
    state: &AppState,
    status: StatusCode,
    token: &str,
    form: Option<&SetupForm>,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let csrf = auth::random_token();
    let mut l = Layout::bare("Crear la cuenta del dueño");
    l.csrf = csrf.clone();
    let page = SetupPage {
        l,
        token: token.to_owned(),
        email: form.map(|f| f.email.clone()).unwrap_or_default(),
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        error,
    };
    let mut response = view::render(&page, &page.l, state.admin.secure_cookies)?;
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::LOGIN_CSRF,
            &csrf,
            Some(3600),
            state.admin.secure_cookies,
        ),
    );
    Ok(response)
}

/// `GET /admin/setup/{token}`: the form for the first owner, while the link is good.
pub async fn setup_page(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, AdminError> {
    // A segment that is not UTF-8 once decoded is no link we gave out.
    let Ok(Path(token)) = token else {
        return Err(link_dead());
    };
    if !sessions::setup_link_valid(&state, &token).await? {
        return Err(link_dead());
    }
    setup_response(&state, StatusCode::OK, &token, None, None)
}

/// `POST /admin/setup/{token}`: creates the owner, uses up the link, and logs the owner in.
pub async fn setup(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    ip: Option<Extension<ClientIp>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, AdminError> {
    let Ok(Path(token)) = token else {
        return Err(link_dead());
    };
    let expected = cookies::get(&headers, cookies::LOGIN_CSRF).unwrap_or("");
    if expected.is_empty() || !auth::tokens_equal(expected, &form.csrf) {
        return Err(AdminError::Csrf);
    }
    let invalid = |msg: &str| {
        setup_response(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            Some(&form),
            Some(msg.into()),
        )
    };
    let Ok(email) = staff_email(&form.email) else {
        return invalid("El e-mail no es válido.");
    };
    let Ok(name) = Text::line("name", &form.name, 80) else {
        return invalid("Escribí tu nombre (hasta 80 caracteres).");
    };
    if form.password != form.password2 {
        return invalid("Las contraseñas no coinciden.");
    }
    let Ok(password) = NewPassword::parse(&form.password) else {
        return invalid("La contraseña debe tener entre 10 y 128 caracteres.");
    };
    let ip = ip.map(|Extension(ClientIp(ip))| ip.to_string());
    let owner = NewOwner {
        email,
        name,
        password,
    };
    let limits = state.admin.sessions;
    let started = match sessions::set_up_owner(&state, &token, owner, ip, limits).await {
        Ok(Some(started)) => started,
        Ok(None) => return Err(link_dead()),
        Err(AppError::Rule(DomainError::InvalidField { field: "email", .. })) => {
            return invalid("Ya existe una cuenta con ese e-mail.");
        }
        Err(e) => return Err(e.into()),
    };
    let secure = state.admin.secure_cookies;
    let mut response = view::redirect(
        "/admin/agenda",
        "ok",
        "¡Listo! Tu cuenta de dueño está creada.",
        secure,
    );
    cookies::start_session(&mut response, &started.token, secure);
    Ok(response)
}
