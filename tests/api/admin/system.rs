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
        "Todavía no hay copias locales",
        // Never taken: a warning, not "bien" and not an error.
        "class=\"flash flash-warn\" role=\"status\" id=\"backup-warning\">Todavía no hay ninguna copia",
        "<span class=\"level level-aviso\">aviso</span></td><td>todavía no se tomó ninguna copia",
        "<span class=\"level level-bien\">bien</span></td><td>responde</td>",
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
    assert!(!page.body.contains("id=\"backup-warning\""));
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

/// Polls `tarea.json` until the page's task ended (up to 30 s).
async fn wait_for_task(b: &mut Browser) {
    for _ in 0..300 {
        let answer = b.get("/admin/sistema/tarea.json").await;
        if answer.body.contains("\"running\":false") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the task did not end within 30 s");
}

#[tokio::test]
async fn the_owner_takes_a_snapshot_and_runs_the_drill_from_the_page_audited() {
    let (app, mut owner) = owner_app().await;
    let page = owner.get("/admin/sistema").await;
    let csrf = page.csrf();
    // Without the form's token: refused, nothing runs.
    let forged = owner.post("/admin/sistema/copia", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    owner
        .post("/admin/sistema/copia", &[("csrf", &csrf)])
        .await
        .expect_redirect("/admin/sistema");
    wait_for_task(&mut owner).await;
    let page = owner.get("/admin/sistema").await;
    let task = page
        .body
        .split("id=\"task\"")
        .nth(1)
        .expect("the task is shown");
    assert!(
        task.contains("<strong>Copia de seguridad</strong>") && task.contains("terminó bien"),
        "{task}"
    );
    assert!(
        page.body.contains("id=\"local-snapshots\""),
        "the copy is listed"
    );
    assert!(!page.body.contains("id=\"backup-warning\""));

    owner
        .post("/admin/sistema/prueba", &[("csrf", &csrf)])
        .await
        .expect_redirect("/admin/sistema");
    wait_for_task(&mut owner).await;
    let page = owner.get("/admin/sistema").await;
    let task = page
        .body
        .split("id=\"task\"")
        .nth(1)
        .expect("the task is shown");
    assert!(
        task.contains("<strong>Prueba de restauración</strong>")
            && task.contains("se restaura bien"),
        "{task}"
    );
    assert!(!page.body.contains("id=\"last-verified\">nunca<"));

    // Both audited when they started and when they ended, as the owner.
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 100))
        .await
        .expect("audit");
    for action in ["snapshot.take", "snapshot.verify"] {
        let states: Vec<String> = entries
            .iter()
            .filter(|e| e.action == action)
            .map(|e| {
                assert_eq!(e.actor_email, "duena@barberpro.test");
                e.after
                    .as_ref()
                    .map(|a| a["state"].to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert!(
            states.contains(&"\"started\"".to_owned()) && states.contains(&"\"ok\"".to_owned()),
            "{action}: {states:?}"
        );
    }
}

#[tokio::test]
async fn only_the_owner_may_start_a_snapshot() {
    let (app, _owner) = owner_app().await;
    create_staff(&app, "rec@barberpro.test", "Rec", Role::Recepcion, None).await;
    let mut rec = Browser::new(&app);
    rec.login_ok("rec@barberpro.test").await;
    let csrf = rec.get("/admin/agenda").await.csrf();
    for path in ["/admin/sistema/copia", "/admin/sistema/prueba"] {
        let page = rec.post(path, &[("csrf", &csrf)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        rec.get("/admin/sistema/tarea.json").await.status,
        StatusCode::FORBIDDEN
    );
}
