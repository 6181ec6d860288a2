//! Accounts after creation: "Mi cuenta" (own password), and the owner's role changes and
//! temporary passwords. Sessions end where they should; the audit log never holds a password.

use super::*;

const NEW_PASSWORD: &str = "otra-clave-segura-456";

async fn post(b: &mut Browser, form: &[(&str, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/admin/cuenta/clave", &pairs).await
}

#[tokio::test]
async fn a_member_changes_their_password_and_only_their_other_sessions_end() {
    let (app, _owner) = owner_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut here = Browser::new(&app);
    here.login_ok("ana@barberpro.test").await;
    let mut elsewhere = Browser::new(&app);
    elsewhere.login_ok("ana@barberpro.test").await;

    let csrf = here.get("/admin/cuenta").await.csrf();
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("current", current.to_owned()),
            ("new", new.to_owned()),
            ("confirm", confirm.to_owned()),
        ]
    };
    // Wrong current password, then two new ones that differ: nothing changes.
    for form in [
        change("no-es-la-clave", NEW_PASSWORD, NEW_PASSWORD),
        change(PASSWORD, NEW_PASSWORD, "distinta-de-la-otra"),
        change(PASSWORD, "corta", "corta"),
    ] {
        let page = post(&mut here, &form).await;
        page.expect_redirect("/admin/cuenta");
        assert!(here.get("/admin/cuenta").await.body.contains("flash-error"));
    }
    assert_eq!(
        elsewhere.get("/admin/agenda").await.status,
        StatusCode::OK,
        "refused changes end no session"
    );
    post(&mut here, &change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD))
        .await
        .expect_redirect("/admin/cuenta");
    assert_eq!(
        here.get("/admin/agenda").await.status,
        StatusCode::OK,
        "this session stays"
    );
    elsewhere
        .get("/admin/agenda")
        .await
        .expect_redirect("/admin/login");
    let mut fresh = Browser::new(&app);
    assert_ne!(
        fresh.login("ana@barberpro.test", PASSWORD).await.location,
        "/admin/agenda",
        "the old password no longer works"
    );
    fresh
        .login("ana@barberpro.test", NEW_PASSWORD)
        .await
        .expect_redirect("/admin/agenda");

    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 200))
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.action == "staff.password_change"));
    let all = serde_json::to_string(
        &entries
            .iter()
            .map(|e| (&e.before, &e.after))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(
        !all.contains(NEW_PASSWORD) && !all.contains("argon2"),
        "{all}"
    );
}

#[tokio::test]
async fn the_owner_changes_roles_but_never_leaves_the_chain_without_an_owner() {
    let (app, mut owner) = owner_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut ana = Browser::new(&app);
    ana.login_ok("ana@barberpro.test").await;
    let csrf = owner.get("/admin/equipo").await.csrf();

    // Recepción → barbera Martín (1): her agenda narrows at once, same session.
    owner
        .post(
            "/admin/equipo/2/rol",
            &[("csrf", &csrf), ("role", "barbero"), ("barber", "1")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert_eq!(
        ana.get("/admin/clientes").await.status,
        StatusCode::FORBIDDEN
    );
    // A barbero without a barber is refused.
    owner
        .post(
            "/admin/equipo/2/rol",
            &[("csrf", &csrf), ("role", "barbero"), ("barber", "")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert!(
        owner
            .get("/admin/equipo")
            .await
            .body
            .contains("flash-error")
    );
    // The only owner cannot stop being one...
    owner
        .post(
            "/admin/equipo/1/rol",
            &[("csrf", &csrf), ("role", "recepcion"), ("barber", "")],
        )
        .await
        .expect_redirect("/admin/equipo");
    let team = owner.get("/admin/equipo").await;
    assert!(
        team.body.contains("al menos un dueño activo"),
        "{}",
        team.body
    );
    // ...until there is another.
    owner
        .post(
            "/admin/equipo/2/rol",
            &[("csrf", &csrf), ("role", "owner"), ("barber", "")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert_eq!(
        ana.get("/admin/equipo").await.status,
        StatusCode::OK,
        "Ana is an owner now"
    );
    owner
        .post(
            "/admin/equipo/1/rol",
            &[("csrf", &csrf), ("role", "recepcion"), ("barber", "")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert_eq!(
        owner.get("/admin/equipo").await.status,
        StatusCode::FORBIDDEN
    );
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 200))
        .await
        .unwrap();
    let roles: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "staff.role")
        .collect();
    assert_eq!(roles.len(), 3, "three role changes went through");
}

#[tokio::test]
async fn a_temporary_password_from_the_owner_ends_the_members_sessions() {
    let (app, mut owner) = owner_app().await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut ana = Browser::new(&app);
    ana.login_ok("ana@barberpro.test").await;
    let csrf = owner.get("/admin/equipo").await.csrf();
    owner
        .post(
            "/admin/equipo/2/clave",
            &[("csrf", &csrf), ("password", "corta")],
        )
        .await
        .expect_redirect("/admin/equipo");
    assert_eq!(
        ana.get("/admin/agenda").await.status,
        StatusCode::OK,
        "a refused reset ends nothing"
    );
    owner
        .post(
            "/admin/equipo/2/clave",
            &[("csrf", &csrf), ("password", NEW_PASSWORD)],
        )
        .await
        .expect_redirect("/admin/equipo");
    ana.get("/admin/agenda")
        .await
        .expect_redirect("/admin/login");
    ana.login("ana@barberpro.test", NEW_PASSWORD)
        .await
        .expect_redirect("/admin/agenda");
    // Only the owner may do it.
    let csrf = ana.get("/admin/agenda").await.csrf();
    let page = ana
        .post(
            "/admin/equipo/1/clave",
            &[("csrf", &csrf), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}
