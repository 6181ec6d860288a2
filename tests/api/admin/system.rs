//! The owner's "Sistema" page: readiness, database, backups and restore drills.

use super::*;
use barberpro::snapshot::restore::{Source, verify};

#[tokio::test]
async fn the_system_page_shows_checks_and_the_backups_and_drills_as_they_happen() {
    let (app, mut owner) = owner_app().await;
    let page = owner.get("/admin/sistema").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let schema = format!("esquema {}", barberpro::store::SCHEMA_VERSION);
    for text in [
        "Base de datos",
        "Certificado TLS",
        "Disco",
        schema.as_str(),
        "No hay una copia de seguridad exitosa",
        "Todavía no hay copias locales",
    ] {
        assert!(page.body.contains(text), "missing {text:?}");
    }
    assert!(page.body.contains("id=\"last-verified\">nunca<"));

    // A snapshot and a restore drill, as the timer would run them.
    let config = crate::helpers::test_config(&app.data_dir);
    let taken = barberpro::snapshot::run(&config, &app.store, Some(false))
        .await
        .expect("snapshot");
    verify(&config, &Source::Latest).await.expect("drill");

    let page = owner.get("/admin/sistema").await;
    assert!(!page.body.contains("No hay una copia de seguridad exitosa"));
    assert!(page.body.contains(&taken.name), "the snapshot is listed");
    assert!(page.body.contains("id=\"local-snapshots\""));
    assert!(!page.body.contains("id=\"last-verified\">nunca<"));
    let drill = page
        .body
        .split("id=\"last-verify\">")
        .nth(1)
        .expect("the last drill is shown");
    assert!(
        drill.contains("bien") && drill.contains(&taken.name),
        "{drill}"
    );

    // A failed drill is shown as such, with its reason.
    verify(
        &config,
        &Source::Name("barberpro-20200101T000000Z-nadie".into()),
    )
    .await
    .expect_err("no such snapshot");
    let page = owner.get("/admin/sistema").await;
    let drill = page.body.split("id=\"last-verify\">").nth(1).unwrap();
    assert!(drill.contains("falló"), "{drill}");
    assert!(page.body.contains("Pruebas fallidas</dt><dd>1<"));
}

#[tokio::test]
async fn only_the_owner_sees_the_system_page() {
    let (app, _owner) = owner_app().await;
    create_staff(&app, "rec@barberpro.test", "Rec", Role::Recepcion, None).await;
    let mut rec = Browser::new(&app);
    rec.login_ok("rec@barberpro.test").await;
    assert_eq!(
        rec.get("/admin/sistema").await.status,
        StatusCode::FORBIDDEN
    );
    let agenda = rec.get("/admin/agenda").await;
    assert!(
        !agenda.body.contains("/admin/sistema"),
        "no link for non-owners"
    );
}

#[tokio::test]
async fn the_system_page_counts_the_data_and_shows_the_configuration_without_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(tmp.path());
    config.snapshot.s3.secret_access_key =
        Some(barberpro::config::Secret::new("super-secreto-123"));
    let app = crate::helpers::spawn_app_with(
        config,
        barberpro::http::Clock::manual(barberpro_ts(crate::helpers::MONDAY_8AM)),
    )
    .await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let mut owner = Browser::new(&app);
    owner.login_ok("duena@barberpro.test").await;
    app.book_ok(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(1),
    ))
    .await;
    let page = owner.get("/admin/sistema").await;
    for text in [
        "Sucursales</dt><dd>2<",
        "Barberos</dt><dd>5<",
        "Servicios</dt><dd>6<",
        "Clientes</dt><dd>1<",
        "Turnos</dt><dd>1<",
        "Cuentas del equipo</dt><dd>1<",
        "En marcha desde",
        "min)",
        "secret_access_key = &#34;[redacted]&#34;",
    ] {
        assert!(page.body.contains(text), "missing {text:?}");
    }
    assert!(
        !page.body.contains("super-secreto-123"),
        "the secret never shows"
    );
}
