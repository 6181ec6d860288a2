//! The admin UI over real HTTPS: logins, sessions, CSRF, roles, the agenda and walk-ins.

mod accounts;
mod agenda;
mod agenda_browser;
mod agenda_work;
mod audit_log;
mod branches;
mod browser;
mod catalog;
mod clients;
mod closures;
mod desk_browser;
mod sessions;
mod system;
mod system_browser;
mod team;
mod walk_ins;
pub mod week;

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

    /// A catalogue change refused (409) with `message`, naming booking `id` (`when` is its
    /// "dd/mm/yyyy hh:mm con Barbero") and its client, with links to move or cancel it.
    #[track_caller]
    pub fn expect_refused_for(&self, message: &str, id: u64, when: &str, client: &str) {
        assert_eq!(self.status, StatusCode::CONFLICT, "{}", self.body);
        for want in [
            message.to_owned(),
            when.to_owned(),
            format!(">{client}</a>"),
            format!("href=\"/admin/bookings/{id}/mover\""),
            format!("#booking-{id}\" class=\"cancel-other\""),
        ] {
            assert!(self.body.contains(&want), "{want:?} missing: {}", self.body);
        }
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
        let client = crate::helpers::trusting(&ca)
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

    /// Sends a multipart form (a file upload).
    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form);
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

    /// A new staff account on `app` (see [`create_staff`]), logged in in a new browser.
    pub async fn staff(
        app: &TestApp,
        email: &str,
        name: &str,
        role: Role,
        barber: Option<u64>,
    ) -> Self {
        create_staff(app, email, name, role, barber).await;
        let mut b = Self::new(app);
        b.login_ok(email).await;
        b
    }
}

/// An owner logged in on a fresh demo app.
pub async fn owner_app() -> (TestApp, Browser) {
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let mut b = Browser::new(&app);
    b.login_ok("duena@barberpro.test").await;
    (app, b)
}

/// Moves the clock to Tuesday 10:00, when the tests' bookings start (the desk marks arrival,
/// completion and no-shows only then), and logs `email` in again.
pub async fn at_tuesday_ten(app: &TestApp, b: &mut Browser, email: &str) {
    app.clock.set(barberpro_ts("2027-03-02T10:00:00-03:00"));
    b.login_ok(email).await;
}

pub async fn get_booking(app: &TestApp, id: u64) -> barberpro::domain::Booking {
    app.store
        .read(move |tx| bookings::get(tx, BookingId(id)))
        .await
        .expect("read")
        .expect("booking exists")
}
