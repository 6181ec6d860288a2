//! Logins, sessions, CSRF, logout, the setup link and `admin create-user`.

use super::*;

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
    at_tuesday_ten(&app, &mut b, "duena@barberpro.test").await;
    let path = format!("/admin/bookings/{id}/status", id = id.n);
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
        .post(
            &format!("/admin/bookings/{id}/cancel", id = id.n),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN, "cancel without token");
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::Confirmed,
        "a refused form changed the booking"
    );

    let csrf = b.get("/admin/agenda").await.csrf();
    b.post(&path, &[("to", "checked_in"), ("csrf", &csrf)])
        .await
        .expect_redirect("/admin/agenda?branch=palermo&date=2027-03-02");
    assert_eq!(
        get_booking(&app, id.n).await.status,
        BookingStatus::CheckedIn
    );
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

    // A segment that is not UTF-8 once decoded gets the same Spanish page, not axum's text.
    let odd = b.get("/admin/setup/%ff").await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    assert!(
        odd.body.contains("El enlace de configuración no es válido"),
        "{}",
        odd.body
    );
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
