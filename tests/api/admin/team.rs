//! Owner and front-desk pages: the team, accounts, clients.

use super::*;

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
        page.body
            .contains(&format!("data-booking=\"{id}\"", id = id.n)),
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
    let count = |action: &str| views.iter().filter(|e| e.action == action).count();
    assert_eq!(
        count("client.view"),
        1,
        "viewing a client's record is not audited"
    );
    assert_eq!(count("client.search"), 3, "every search is audited");
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
