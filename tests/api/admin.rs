//! The admin UI over real HTTPS: logins, sessions, CSRF, roles, the agenda and walk-ins.

mod browser;

use std::collections::HashMap;

use barberpro::auth;
use barberpro::domain::BarberId;
use barberpro::domain::staff::{NewPassword, Role, staff_email};
use barberpro::domain::{BookingId, BookingSource, BookingStatus, Text};
use barberpro::store::{audit, bookings, staff};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TUESDAY, TestApp, at, booking, phone, spawn_app, ts as barberpro_ts};

pub const PASSWORD: &str = "clave-de-prueba-123";

/// Creates an account straight in the store (as `barberpro admin create-user` does).
pub async fn create_staff(app: &TestApp, email: &str, name: &str, role: Role, barber: Option<u64>) {
    let new = staff::NewStaff {
        email: staff_email(email).expect("valid e-mail"),
        name: Text::line("name", name, 80).expect("valid name"),
        role,
        barber: barber.map(BarberId),
        password_hash: auth::hash_password(&NewPassword::parse(PASSWORD).expect("valid password")),
    };
    let now = app.clock.now();
    app.store
        .write(move |txn| staff::create(txn, new, now))
        .await
        .expect("account created");
}

/// An HTTP answer, without following redirects.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `name="csrf"` field of the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("the page has a CSRF field") + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    #[track_caller]
    pub fn expect_redirect(&self, to: &str) {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect to {to}: {}",
            self.body
        );
        assert!(
            self.location.starts_with(to),
            "redirected to {} instead of {to}",
            self.location
        );
    }
}

/// A browser stand-in: keeps cookies, never follows redirects.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let ca = std::fs::read(app.data_dir.join("tls/ca.pem")).expect("CA");
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("PEM"))
            .tls_built_in_root_certs(false)
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            client,
            base: app.base.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let body = resp.text().await.expect("body");
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// Logs in through the form; returns the answer to the POST.
    pub async fn login(&mut self, email: &str, password: &str) -> Page {
        let page = self.get("/admin/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.csrf();
        self.post(
            "/admin/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    /// Logs in and asserts success.
    pub async fn login_ok(&mut self, email: &str) {
        self.login(email, PASSWORD)
            .await
            .expect_redirect("/admin/agenda");
    }
}

/// An owner logged in on a fresh demo app.
async fn owner_app() -> (TestApp, Browser) {
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let mut b = Browser::new(&app);
    b.login_ok("duena@barberpro.test").await;
    (app, b)
}

async fn get_booking(app: &TestApp, id: u64) -> barberpro::domain::Booking {
    app.store
        .read(move |tx| bookings::get(tx, BookingId(id)))
        .await
        .expect("read")
        .expect("booking exists")
}

#[tokio::test]
async fn login_accepts_the_right_password_and_answers_alike_for_wrong_and_unknown() {
    let app = spawn_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut b = Browser::new(&app);

    let wrong = b.login("ana@barberpro.test", "not-the-password").await;
    let unknown = b.login("nadie@barberpro.test", "not-the-password").await;
    for (what, page) in [("wrong password", &wrong), ("unknown account", &unknown)] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            page.body.contains("E-mail o contraseña incorrectos."),
            "{what}: {}",
            page.body
        );
        assert!(
            !b.cookies.contains_key("bp_session"),
            "{what} got a session"
        );
    }

    let ok = b.login("ANA@barberpro.test", PASSWORD).await;
    ok.expect_redirect("/admin/agenda");
    let cookie = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("bp_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/admin"] {
        assert!(
            cookie.contains(attribute),
            "session cookie without {attribute}: {cookie}"
        );
    }
    let agenda = b.get("/admin/agenda").await;
    assert_eq!(agenda.status, StatusCode::OK, "{}", agenda.body);
    assert!(agenda.body.contains("lang=\"es-AR\""));
    assert!(agenda.body.contains("Ana · Recepción"), "{}", agenda.body);
    let csp = app
        .client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("request");
    let csp = csp.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_deactivated_account_cannot_log_in_and_pages_need_a_session() {
    let app = spawn_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let now = app.clock.now();
    app.store
        .write(move |txn| {
            let id = staff::by_email(txn, "ana@barberpro.test")?
                .expect("exists")
                .id;
            staff::set_active(txn, id, false, now).map(|_| ())
        })
        .await
        .expect("deactivate");
    let mut b = Browser::new(&app);
    let page = b.login("ana@barberpro.test", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    b.get("/admin/agenda").await.expect_redirect("/admin/login");
    b.get("/admin").await.expect_redirect("/admin/login");
}

#[tokio::test]
async fn the_login_form_refuses_a_post_without_its_csrf_token() {
    let app = spawn_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Owner, None).await;
    let mut b = Browser::new(&app);
    let page = b
        .post(
            "/admin/login",
            &[
                ("email", "ana@barberpro.test"),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(!b.cookies.contains_key("bp_session"));
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime() {
    let (app, mut b) = owner_app().await;
    let start = app.clock.now();
    // Idle: 59 minutes is fine and resets the clock; then 60 idle minutes end it.
    app.clock.set(start + SignedDuration::from_mins(59));
    assert_eq!(b.get("/admin/agenda").await.status, StatusCode::OK);
    app.clock.set(start + SignedDuration::from_mins(59 + 60));
    b.get("/admin/agenda").await.expect_redirect("/admin/login");

    // Absolute: a busy session still ends 12 hours after login.
    b.login_ok("duena@barberpro.test").await;
    let login = app.clock.now();
    for step in 1..=15 {
        app.clock.set(login + SignedDuration::from_mins(50 * step));
        let page = b.get("/admin/agenda").await;
        if step * 50 < 12 * 60 {
            assert_eq!(page.status, StatusCode::OK, "after {} minutes", step * 50);
        } else {
            page.expect_redirect("/admin/login");
            return;
        }
    }
    panic!("the session outlived its absolute lifetime");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let (_app, mut b) = owner_app().await;
    let token = b.cookies["bp_session"].clone();
    let csrf = b.get("/admin/agenda").await.csrf();
    let page = b.post("/admin/logout", &[("csrf", &csrf)]).await;
    page.expect_redirect("/admin/login");
    assert!(
        !b.cookies.contains_key("bp_session"),
        "the cookie was not cleared"
    );
    let login = b.get("/admin/login").await;
    assert!(
        login.body.contains("Cerraste la sesión."),
        "no flash message"
    );
    // The old cookie is worthless even if a browser kept it.
    b.cookies.insert("bp_session".into(), token);
    b.get("/admin/agenda").await.expect_redirect("/admin/login");
}

#[tokio::test]
async fn state_changing_forms_without_the_session_csrf_token_are_refused() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let path = format!("/admin/bookings/{id}/status");
    let missing = b.post(&path, &[("to", "checked_in")]).await;
    assert_eq!(
        missing.status,
        StatusCode::FORBIDDEN,
        "no token: {}",
        missing.body
    );
    let wrong = b
        .post(&path, &[("to", "checked_in"), ("csrf", "forged")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "forged token");
    let cancel = b
        .post(&format!("/admin/bookings/{id}/cancel"), &[("reason", "x")])
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN, "cancel without token");
    assert_eq!(
        get_booking(&app, id).await.status,
        BookingStatus::Confirmed,
        "a refused form changed the booking"
    );

    let csrf = b.get("/admin/agenda").await.csrf();
    b.post(&path, &[("to", "checked_in"), ("csrf", &csrf)])
        .await
        .expect_redirect("/admin/agenda?branch=palermo&date=2027-03-02");
    assert_eq!(get_booking(&app, id).await.status, BookingStatus::CheckedIn);
}

#[tokio::test]
async fn a_barbero_sees_only_their_own_agenda_and_no_front_desk_or_owner_page() {
    let app = spawn_app().await;
    create_staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let (mine, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let mut other_body = booking(&[1], json!(2), &at(TUESDAY, "11:00"), &phone(2));
    other_body["client"]["name"] = json!("Cliente De Lucía");
    let (theirs, _) = app.book_ok(&other_body).await;
    let mut b = Browser::new(&app);
    b.login_ok("martin@barberpro.test").await;

    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert_eq!(agenda.status, StatusCode::OK);
    assert!(
        agenda.body.contains("<th scope=\"col\">Martín</th>"),
        "own column missing"
    );
    assert!(
        !agenda.body.contains("Lucía"),
        "a barbero sees another barber's column"
    );
    assert!(
        !agenda.body.contains("Cliente De Lucía"),
        "a barbero sees another barber's client"
    );
    assert!(agenda.body.contains(&format!("data-booking=\"{mine}\"")));

    for path in ["/admin/equipo", "/admin/auditoria", "/admin/bookings/new"] {
        assert_eq!(b.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let csrf = agenda.csrf();
    let page = b
        .post(
            &format!("/admin/bookings/{theirs}/status"),
            &[("to", "checked_in"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "changed another barber's booking"
    );
    assert_eq!(
        get_booking(&app, theirs).await.status,
        BookingStatus::Confirmed
    );
    let page = b
        .post(
            &format!("/admin/bookings/{mine}/cancel"),
            &[("reason", "x"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "a barbero cancelled a booking"
    );
    b.post(
        &format!("/admin/bookings/{mine}/status"),
        &[("to", "checked_in"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(
        get_booking(&app, mine).await.status,
        BookingStatus::CheckedIn
    );
}

#[tokio::test]
async fn the_agenda_shows_the_day_with_bookings_breaks_and_escaped_names() {
    let (app, mut b) = owner_app().await;
    let mut body = booking(&[1, 3], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    body["client"]["name"] = json!("<script>alert(1)</script>");
    let (id, _) = app.book_ok(&body).await;
    let page = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    for want in [
        "martes 02/03/2027",
        "<th scope=\"col\">Martín</th>",
        "<th scope=\"col\">Lucía</th>",
        "<th scope=\"row\">10:00</th>",
        "<th scope=\"row\">19:45</th>",
        "10:00–10:50",
        "Corte clásico, Barba",
        "$\u{a0}13.000,00",
        "class=\"booking status-confirmed\" rowspan=\"4\"",
        "class=\"break\"",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "date=2027-03-01",
        "date=2027-03-03",
        "type=\"date\"",
    ] {
        assert!(html.contains(want), "the agenda lacks {want:?}:\n{html}");
    }
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "a client's name is not escaped"
    );
    assert!(html.contains(&format!("data-booking=\"{id}\"")));
    // Monday at palermo: Nicolás works; at 10:05 the "now" line is on the 10:00 row.
    app.clock.set(barberpro_ts("2027-03-01T10:05:00-03:00"));
    b.login_ok("duena@barberpro.test").await;
    let monday = b.get("/admin/agenda?branch=palermo&date=2027-03-01").await;
    assert!(monday.body.contains("Nicolás"), "{}", monday.body);
    assert!(
        monday.body.contains("class=\"now\""),
        "no 'now' line on today's agenda"
    );
}

#[tokio::test]
async fn status_changes_and_cancellations_go_through_the_store_and_the_audit_log() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let csrf = b.get("/admin/agenda").await.csrf();
    let path = format!("/admin/bookings/{id}/status");
    b.post(&path, &[("to", "checked_in"), ("csrf", &csrf)])
        .await;
    b.post(&path, &[("to", "completed"), ("csrf", &csrf)]).await;
    assert_eq!(get_booking(&app, id).await.status, BookingStatus::Completed);
    // An illegal transition is a flash message, not a change.
    let page = b.post(&path, &[("to", "no_show"), ("csrf", &csrf)]).await;
    page.expect_redirect("/admin/agenda");
    let agenda = b.get(&page.location).await;
    assert!(
        agenda.body.contains("flash-error"),
        "no error shown: {}",
        agenda.body
    );
    assert_eq!(get_booking(&app, id).await.status, BookingStatus::Completed);

    let (other, _) = app
        .book_ok(&booking(&[1], json!(2), &at(TUESDAY, "12:00"), &phone(2)))
        .await;
    b.post(
        &format!("/admin/bookings/{other}/cancel"),
        &[("reason", "Llamó para avisar"), ("csrf", &csrf)],
    )
    .await
    .expect_redirect("/admin/agenda");
    let cancelled = get_booking(&app, other).await;
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(
        cancelled
            .cancel_reason
            .map(|r| r.as_str().to_owned())
            .as_deref(),
        Some("Llamó para avisar")
    );
    // The freed slot can be booked again, through the API.
    app.book_ok(&booking(&[1], json!(2), &at(TUESDAY, "12:00"), &phone(3)))
        .await;

    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 100))
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for want in [
        "booking.check_in",
        "booking.complete",
        "booking.cancel",
        "session.login",
    ] {
        assert!(
            actions.contains(&want),
            "no audit entry {want}: {actions:?}"
        );
    }
    let cancel = entries
        .iter()
        .find(|e| e.action == "booking.cancel")
        .expect("cancel entry");
    assert_eq!(cancel.actor_email, "duena@barberpro.test");
    assert!(cancel.ip.is_some(), "no IP in the audit log");
    assert_eq!(
        cancel.before.as_ref().expect("before")["status"],
        "confirmed"
    );
    assert_eq!(cancel.after.as_ref().expect("after")["status"], "cancelled");
    assert!(
        cancel
            .after
            .as_ref()
            .expect("after")
            .get("manage_token_hash")
            .is_none()
    );

    let page = b.get("/admin/auditoria?entity=booking").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("booking.cancel") && !page.body.contains("session.login"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_walk_in_is_booked_through_the_form_for_a_new_client() {
    let (app, mut b) = owner_app().await;
    let phone_typed = "011 15-3333-4444";
    let query = format!(
        "/admin/bookings/new?branch=palermo&date={TUESDAY}&phone={}&services=1&services=3&barber=any",
        phone_typed.replace(' ', "%20")
    );
    let form = b.get(&query).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Horarios libres"), "{}", form.body);
    assert!(
        form.body
            .contains(&format!("value=\"{TUESDAY}T10:00:00-03:00\"")),
        "10:00 not offered"
    );
    assert!(
        !form.body.contains("Cliente existente"),
        "a new phone matched a client"
    );
    let csrf = form.csrf();
    let start = format!("{TUESDAY}T10:00:00-03:00");
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("date", TUESDAY),
                ("barber", "any"),
                ("services", "1"),
                ("services", "3"),
                ("start", &start),
                ("phone", phone_typed),
                ("name", "Carlos Gómez"),
                ("source", "walk_in"),
                ("notes", "Primera vez"),
            ],
        )
        .await;
    page.expect_redirect(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"));
    let agenda = b.get(&page.location).await;
    assert!(
        agenda.body.contains("Turno creado: 02/03/2027 10:00"),
        "{}",
        agenda.body
    );
    assert!(agenda.body.contains("Carlos Gómez"));
    let booking = get_booking(&app, 1).await;
    assert_eq!(booking.source, BookingSource::WalkIn);
    assert_eq!(booking.services.len(), 2);

    // The same phone now finds the client.
    let again = b.get(&query).await;
    assert!(
        again
            .body
            .contains("Cliente existente: <strong>Carlos Gómez</strong>"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn a_slot_taken_through_the_api_is_refused_in_the_admin_and_vice_versa() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/bookings/new").await.csrf();
    // API first: Martín at 10:00.
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let start = format!("{TUESDAY}T10:00:00-03:00");
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("barber", "1"),
                ("services", "1"),
                ("start", &start),
                ("phone", &phone(2)),
                ("name", "Otro Cliente"),
                ("source", "phone"),
            ],
        )
        .await;
    page.expect_redirect("/admin/bookings/new?");
    let form = b.get(&page.location).await;
    assert!(
        form.body.contains("flash-error"),
        "no error shown: {}",
        form.body
    );
    let count = app.store.read(bookings::count).await.expect("count");
    assert_eq!(count, 1, "the admin double-booked Martín");

    // Admin first: Martín at 11:00; then the API is refused.
    let start = format!("{TUESDAY}T11:00:00-03:00");
    b.post(
        "/admin/bookings",
        &[
            ("csrf", &csrf),
            ("branch", "palermo"),
            ("barber", "1"),
            ("services", "1"),
            ("start", &start),
            ("phone", &phone(2)),
            ("name", "Otro Cliente"),
            ("source", "phone"),
        ],
    )
    .await
    .expect_redirect("/admin/agenda");
    app.book(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(3)))
        .await
        .expect_error(409, "slot_unavailable");
}

#[tokio::test]
async fn the_one_time_setup_link_creates_the_owner_and_then_dies() {
    let app = spawn_app().await;
    let token = auth::random_token();
    let hash = auth::token_hash(&token);
    let expires = app.clock.now() + SignedDuration::from_hours(24);
    app.store
        .write(move |txn| staff::create_setup_token(txn, &hash, expires))
        .await
        .expect("token");
    let mut b = Browser::new(&app);
    let path = format!("/admin/setup/{token}");
    let form = b.get(&path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    let page = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "Dueño"),
                ("email", "dueno@barberpro.test"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    page.expect_redirect("/admin/agenda");
    assert_eq!(
        b.get("/admin/agenda").await.status,
        StatusCode::OK,
        "not logged in after setup"
    );
    assert_eq!(
        b.get(&path).await.status,
        StatusCode::BAD_REQUEST,
        "the link works twice"
    );
    let user = app
        .store
        .read(|tx| staff::by_email(tx, "dueno@barberpro.test"))
        .await
        .expect("read")
        .expect("owner created");
    assert_eq!(user.role, Role::Owner);

    // An expired link never worked.
    let late = auth::random_token();
    let hash = auth::token_hash(&late);
    let expired = app.clock.now() - SignedDuration::from_mins(1);
    app.store
        .write(move |txn| staff::create_setup_token(txn, &hash, expired))
        .await
        .expect("token");
    assert_eq!(
        b.get(&format!("/admin/setup/{late}")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_owner_logs_a_member_out_everywhere_and_deactivates_them() {
    let (app, mut owner) = owner_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut ana = Browser::new(&app);
    ana.login_ok("ana@barberpro.test").await;
    let team = owner.get("/admin/equipo").await;
    assert_eq!(team.status, StatusCode::OK);
    assert!(team.body.contains("ana@barberpro.test"));
    let csrf = team.csrf();
    owner
        .post("/admin/equipo/2/logout-everywhere", &[("csrf", &csrf)])
        .await
        .expect_redirect("/admin/equipo");
    ana.get("/admin/agenda")
        .await
        .expect_redirect("/admin/login");
    owner
        .post(
            "/admin/equipo/2/active",
            &[("csrf", &csrf), ("active", "0")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert_eq!(
        ana.login("ana@barberpro.test", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The only owner cannot deactivate themself.
    owner
        .post(
            "/admin/equipo/1/active",
            &[("csrf", &csrf), ("active", "0")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert_eq!(owner.get("/admin/agenda").await.status, StatusCode::OK);
}

#[tokio::test]
async fn assets_are_served_with_their_content_hash_and_cached_forever() {
    let (app, mut b) = owner_app().await;
    let page = b.get("/admin/agenda").await;
    let marker = "href=\"/assets/admin.css?v=";
    let start = page.body.find(marker).expect("stylesheet link") + "href=\"".len();
    let end = page.body[start..].find('"').expect("quote") + start;
    let url = &page.body[start..end];
    let resp = app.client.get(app.url(url)).send().await.expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("immutable")
    );
    let stale = app
        .client
        .get(app.url("/assets/admin.css?v=old"))
        .send()
        .await
        .expect("request");
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let missing = app
        .client
        .get(app.url("/assets/nope.css"))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn create_user_prints_a_generated_password_that_logs_in_and_refuses_duplicates() {
    let mut app = spawn_app().await;
    let dir = app.data_dir.clone();
    let _keep = app.take_dir();
    let clock = app.clock.clone();
    app.stop().await;
    drop(app); // releases the data folder's lock
    let create = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_barberpro"))
            .args(["admin", "create-user", "--role", "owner", "--name", "Jefa"])
            .args(["--email", email, "--data-dir"])
            .arg(&dir)
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the binary runs")
    };
    let out = create("Jefa@Example.com");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once, write it down): "))
        .expect("the generated password is printed")
        .to_owned();
    let again = create("jefa@example.com");
    assert_eq!(again.status.code(), Some(2), "a taken e-mail must exit 2");

    let config = crate::helpers::test_config(&dir);
    let app = crate::helpers::spawn_app_with(config, clock).await;
    let mut b = Browser::new(&app);
    b.login("jefa@example.com", &password)
        .await
        .expect_redirect("/admin/agenda");
}

#[tokio::test]
async fn clients_are_found_by_name_or_phone_and_each_view_is_audited() {
    let (app, mut b) = owner_app().await;
    let mut body = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1));
    body["client"]["name"] = json!("Rosa Fernández");
    let (id, _) = app.book_ok(&body).await;
    let by_name = b.get("/admin/clientes?q=rosa").await;
    assert_eq!(by_name.status, StatusCode::OK, "{}", by_name.body);
    assert!(by_name.body.contains("Rosa Fernández"), "{}", by_name.body);
    let by_phone = b.get("/admin/clientes?q=2345-6701").await;
    assert!(
        by_phone.body.contains("Rosa Fernández"),
        "{}",
        by_phone.body
    );
    let none = b.get("/admin/clientes?q=zzz").await;
    assert!(none.body.contains("No encontramos"), "{}", none.body);

    let page = b.get("/admin/clientes/1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("+5491123456701"));
    assert!(
        page.body.contains(&format!("data-booking=\"{id}\"")),
        "history lacks the booking"
    );
    assert!(page.body.contains("02/03/2027 10:00"));
    let views = app
        .store
        .read(|tx| {
            let filter = audit::Filter {
                entity: Some("client".into()),
                ..Default::default()
            };
            audit::list(tx, &filter, 10)
        })
        .await
        .expect("audit");
    assert_eq!(views.len(), 1, "viewing a client's record is not audited");
    assert_eq!(views[0].action, "client.view");
    assert_eq!(
        b.get("/admin/clientes/999").await.status,
        StatusCode::NOT_FOUND
    );

    create_staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    let mut barber = Browser::new(&app);
    barber.login_ok("martin@barberpro.test").await;
    assert_eq!(
        barber.get("/admin/clientes/1").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_front_desk_books_a_walk_in_for_the_next_slot_which_the_api_offers_no_one() {
    let (app, mut b) = owner_app().await;
    // Monday 10:05 at palermo: Nicolás works from 10:00.
    app.clock.set(barberpro_ts("2027-03-01T10:05:00-03:00"));
    b.login_ok("duena@barberpro.test").await;
    let start = "2027-03-01T10:15:00-03:00";
    app.book(&booking(&[1], json!(5), start, &phone(1)))
        .await
        .expect_error(422, "too_soon");
    let form = b
        .get("/admin/bookings/new?branch=palermo&date=2027-03-01&services=1&barber=5")
        .await;
    assert!(
        form.body.contains(&format!("value=\"{start}\"")),
        "10:15 not offered: {}",
        form.body
    );
    let csrf = form.csrf();
    b.post(
        "/admin/bookings",
        &[
            ("csrf", &csrf),
            ("branch", "palermo"),
            ("barber", "5"),
            ("services", "1"),
            ("start", start),
            ("phone", &phone(2)),
            ("name", "Ya Llegó"),
            ("source", "walk_in"),
        ],
    )
    .await
    .expect_redirect("/admin/agenda?branch=palermo&date=2027-03-01");
    let past = "2027-03-01T10:00:00-03:00";
    let page = b
        .post(
            "/admin/bookings",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("barber", "5"),
                ("services", "1"),
                ("start", past),
                ("phone", &phone(3)),
                ("name", "Tarde"),
            ],
        )
        .await;
    page.expect_redirect("/admin/bookings/new?");
}

#[tokio::test]
async fn the_front_desk_reschedules_a_booking_under_the_same_rules() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "12:00"), &phone(2)))
        .await;
    let agenda = b
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await;
    assert!(
        agenda
            .body
            .contains(&format!("/admin/bookings/{id}/reschedule"))
    );
    let csrf = agenda.csrf();
    let path = format!("/admin/bookings/{id}/reschedule");
    // Onto the other booking of the same barber: refused, nothing moves.
    let page = b
        .post(
            &path,
            &[("csrf", &csrf), ("date", TUESDAY), ("time", "12:00")],
        )
        .await;
    page.expect_redirect("/admin/agenda");
    assert!(b.get(&page.location).await.body.contains("flash-error"));
    assert_eq!(
        get_booking(&app, id).await.start,
        barberpro_ts(&at(TUESDAY, "10:00"))
    );
    // Onto a free time: moved, and the old time is free again for the API.
    b.post(
        &path,
        &[("csrf", &csrf), ("date", TUESDAY), ("time", "16:30")],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(
        get_booking(&app, id).await.start,
        barberpro_ts(&at(TUESDAY, "16:30"))
    );
    app.book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(3)))
        .await;
}

#[tokio::test]
async fn the_owner_creates_accounts_from_the_team_page() {
    let (app, mut owner) = owner_app().await;
    let csrf = owner.get("/admin/equipo").await.csrf();
    let create = |email: &'static str, role: &'static str, barber: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Nueva Persona".to_owned()),
            ("email", email.to_owned()),
            ("role", role.to_owned()),
            ("barber", barber.to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    let fields = create("nueva@barberpro.test", "recepcion", "");
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = owner.post("/admin/equipo", &form).await;
    page.expect_redirect("/admin/equipo");
    assert!(
        owner
            .get("/admin/equipo")
            .await
            .body
            .contains("Cuenta creada: nueva@barberpro.test.")
    );
    let mut nueva = Browser::new(&app);
    nueva.login_ok("nueva@barberpro.test").await;

    let fields = create("sinbarbero@barberpro.test", "barbero", "");
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    owner.post("/admin/equipo", &form).await;
    assert!(
        owner
            .get("/admin/equipo")
            .await
            .body
            .contains("necesita elegir su barbero"),
        "a barbero account without a barber was accepted"
    );
    // A recepción account cannot create accounts, even with its own valid CSRF token.
    let own = nueva.get("/admin/agenda").await.csrf();
    let mut form = form;
    form[0] = ("csrf", own.as_str());
    let page = nueva.post("/admin/equipo", &form).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}
