//! Catálogo → Nueva sucursal: only the owner, validated with Spanish messages (never a 500),
//! audited, and listed for clients once a barber has hours there.

use super::*;

async fn branch_entries(app: &TestApp) -> Vec<audit::AuditEntry> {
    let filter = audit::Filter {
        entity: Some("branch".into()),
        ..Default::default()
    };
    app.store
        .read(move |tx| audit::list(tx, &filter, 50))
        .await
        .expect("audit")
}

fn new_branch<'a>(
    csrf: &'a str,
    name: &'a str,
    slug: &'a str,
    phone: &'a str,
    zone: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", name),
        ("slug", slug),
        ("address", "Av. Corrientes 5000, CABA"),
        ("phone", phone),
        ("time_zone", zone),
        ("active", "1"),
    ]
}

/// The flash message the catalogue shows after a POST (which must redirect back to it).
async fn flash_after(b: &mut Browser, fields: &[(&str, &str)]) -> String {
    let answer = b.post("/admin/catalogo/sucursales", fields).await;
    answer.expect_redirect("/admin/catalogo");
    let page = b.get("/admin/catalogo").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
}

#[tokio::test]
async fn bad_new_branches_are_explained_in_spanish_and_nothing_is_saved() {
    let (app, mut b) = owner_app().await;
    let page = b.get("/admin/catalogo").await;
    assert!(page.body.contains("id=\"new-branch\""), "{}", page.body);
    assert!(
        page.body
            .contains("<option value=\"America/Argentina/Buenos_Aires\">"),
        "the time zones are offered: {}",
        page.body
    );
    let csrf = page.csrf();
    let ba = "America/Argentina/Buenos_Aires";
    let long_name = "N".repeat(101);
    for (fields, want) in [
        (
            new_branch(&csrf, "", "centro", "", ba),
            "Escribí el nombre de la sucursal",
        ),
        (
            new_branch(&csrf, &long_name, "centro", "", ba),
            "Escribí el nombre de la sucursal",
        ),
        (
            new_branch(&csrf, "Centro", "Villa Crespo", "", ba),
            "La dirección web «Villa Crespo» no sirve",
        ),
        (
            new_branch(&csrf, "Centro", "-centro", "", ba),
            "no sirve: van minúsculas sin acentos",
        ),
        (
            new_branch(&csrf, "¡¿!?", "", "", ba),
            "Escribí la dirección web de la sucursal",
        ),
        (
            new_branch(&csrf, "Otra Palermo", "palermo", "", ba),
            "Ya hay una sucursal con la dirección web «palermo». Elegí otra.",
        ),
        (
            new_branch(&csrf, "Centro", "centro", "12", ba),
            "El teléfono no es válido",
        ),
        (
            new_branch(&csrf, "Centro", "centro", "", "UTC-3"),
            "La zona horaria «UTC-3» no sirve: elegila de la lista",
        ),
        (
            new_branch(&csrf, "Centro", "centro", "", "Etc/GMT+3"),
            "La zona horaria «Etc/GMT+3» no sirve: elegila de la lista",
        ),
        (
            new_branch(&csrf, "Centro", "centro", "", "America/Atlantida"),
            "La zona horaria «America/Atlantida» no sirve: elegila de la lista",
        ),
    ] {
        let body = flash_after(&mut b, &fields).await;
        assert!(body.contains(want), "{want:?} missing: {body}");
    }
    let mut fields = new_branch(&csrf, "Centro", "centro", "", ba);
    fields.retain(|(k, _)| *k != "address");
    let body = flash_after(&mut b, &fields).await;
    assert!(
        body.contains("Escribí la dirección de la sucursal"),
        "{body}"
    );
    // Without the session's CSRF token, or as the front desk, nothing is created either.
    let forged = b
        .post(
            "/admin/catalogo/sucursales",
            &new_branch("forged", "Centro", "centro", "", ba),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut desk = Browser::new(&app);
    desk.login_ok("ana@barberpro.test").await;
    let desk_page = desk.get("/admin/catalogo").await;
    assert!(!desk_page.body.contains("id=\"new-branch\""));
    let desk_csrf = desk_page.csrf();
    let refused = desk
        .post(
            "/admin/catalogo/sucursales",
            &new_branch(&desk_csrf, "Centro", "centro", "", ba),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let branches = app
        .store
        .read(barberpro::store::catalog::branches)
        .await
        .expect("branches");
    assert_eq!(branches.len(), 2, "a refused form created a branch");
    assert!(branch_entries(&app).await.is_empty());
}

#[tokio::test]
async fn a_new_branch_is_audited_and_opens_to_clients_once_a_barber_has_hours_there() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/catalogo").await.csrf();
    // No slug typed: it is made from the name.
    let body = flash_after(
        &mut b,
        &new_branch(
            &csrf,
            "BarberPro Villa Crespo",
            "",
            "011 4555-1234",
            "America/Argentina/Cordoba",
        ),
    )
    .await;
    assert!(
        body.contains("Sucursal creada: BarberPro Villa Crespo (/barberpro-villa-crespo)."),
        "{body}"
    );
    assert!(
        body.contains("/barberpro-villa-crespo · America/Argentina/Cordoba"),
        "{body}"
    );
    let entries = branch_entries(&app).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.action, "branch.create");
    assert_eq!(entry.actor_email, "duena@barberpro.test");
    assert!(entry.before.is_none(), "{:?}", entry.before);
    let after = entry.after.as_ref().expect("after");
    assert_eq!(after["slug"], "barberpro-villa-crespo");
    assert_eq!(after["time_zone"], "America/Argentina/Cordoba");
    assert_eq!(after["active"], true);
    let id = entry.entity_id.expect("the branch's id");

    // The same slug again is refused, typed this time.
    let body = flash_after(
        &mut b,
        &new_branch(
            &csrf,
            "Villa Crespo II",
            "barberpro-villa-crespo",
            "",
            "America/Argentina/Buenos_Aires",
        ),
    )
    .await;
    assert!(
        body.contains("Ya hay una sucursal con la dirección web «barberpro-villa-crespo»"),
        "{body}"
    );

    // Nobody works there yet: clients are not offered it.
    let home = b.get("/").await;
    assert!(!home.body.contains("Villa Crespo"), "{}", home.body);

    // Martín (1) takes Mondays there, 10:00–14:00.
    super::week::save_week(&mut b, 1, id, |fields| {
        for (k, v) in [
            ("d1_works", "1"),
            ("d1_start", "10:00"),
            ("d1_end", "14:00"),
        ] {
            super::week::set(fields, k, v);
        }
    })
    .await
    .expect_redirect("/admin/catalogo");
    let home = b.get("/").await;
    assert!(
        home.body.contains("BarberPro Villa Crespo")
            && home.body.contains("/reservar/barberpro-villa-crespo"),
        "{}",
        home.body
    );
    let services = b.get("/reservar/barberpro-villa-crespo").await;
    assert_eq!(services.status, StatusCode::OK, "{}", services.body);
    assert!(services.body.contains("Corte clásico"), "{}", services.body);
    // Its hours are read in its own zone (Córdoba is UTC−3 too, all year).
    let monday = "2027-03-08";
    let free = app
        .free_times("barberpro-villa-crespo", monday, "1", "1")
        .await;
    assert_eq!(free.first().map(String::as_str), Some("10:00"), "{free:?}");
    let mut request = booking(&[1], json!(1), &at(monday, "10:00"), &phone(9));
    request["branch"] = json!("barberpro-villa-crespo");
    let (booked, _) = app.book_ok(&request).await;
    assert_eq!(get_booking(&app, booked.n).await.branch.0, id);
}
