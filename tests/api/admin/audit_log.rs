//! Auditoría as sentences: who did what to whom, with local times, the raw JSON behind a
//! disclosure, and filters that stay in the address.

use super::*;

#[tokio::test]
async fn the_audit_log_reads_as_spanish_sentences_with_local_times_and_keeps_its_filters() {
    let (app, mut b) = owner_app().await;
    let (id, _) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    create_staff(&app, "ana@barberpro.test", "Ana", Role::Recepcion, None).await;
    let mut ana = Browser::new(&app);
    ana.login_ok("ana@barberpro.test").await;
    let csrf = ana
        .get(&format!("/admin/agenda?branch=palermo&date={TUESDAY}"))
        .await
        .csrf();
    ana.post(
        &format!("/admin/bookings/{id}/cancel", id = id.n),
        &[("csrf", &csrf), ("reason", "No llego")],
    )
    .await
    .expect_redirect("/admin/agenda");

    let page = b.get("/admin/auditoria?entity=booking").await;
    assert_eq!(page.status, StatusCode::OK);
    // The test clock: Monday 1 March 2027, 08:00 in Buenos Aires.
    for sentence in [
        "El cliente reservó el turno #1 de Juan Pérez del martes 2/3 10:00 — <time",
        "Ana (recepción) canceló el turno #1 de Juan Pérez del martes 2/3 10:00: «No llego» — <time datetime=\"2027-03-01T08:00:00-03:00[America/Argentina/Buenos_Aires]\">lun 1 mar 08:00</time>",
    ] {
        assert!(
            page.body.contains(sentence),
            "missing {sentence:?}: {}",
            page.body
        );
    }
    assert!(
        !page.body.contains("inició sesión"),
        "the entity filter keeps sessions out"
    );
    // The raw entry is behind a disclosure, the filter stays chosen.
    assert!(page.body.contains("<summary>Detalle</summary>"));
    assert!(
        page.body
            .contains("<code>booking.cancel</code> sobre <code>booking #1</code>")
    );
    assert!(
        page.body
            .contains("&#34;cancel_reason&#34;: &#34;No llego&#34;")
            || page
                .body
                .contains("&quot;cancel_reason&quot;: &quot;No llego&quot;"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<option value=\"booking\" selected>Turnos</option>")
    );
    assert!(page.body.contains("id=\"clear-filters\""));

    // By person (part of the e-mail) and by day.
    let page = b.get("/admin/auditoria?actor=ana&date=2027-03-01").await;
    assert!(page.body.contains("Ana (recepción) inició sesión"));
    assert!(!page.body.contains("El cliente reservó"));
    assert!(page.body.contains("value=\"ana\""));
    let other_day = b.get("/admin/auditoria?actor=ana&date=2027-03-02").await;
    assert!(
        other_day
            .body
            .contains("No hay registros con esos filtros.")
    );

    // Looking at the log names clients, so it is logged too.
    let page = b.get("/admin/auditoria?entity=audit").await;
    assert!(
        page.body
            .contains("Dueña (dueño/a) vio el registro de auditoría")
    );
}
