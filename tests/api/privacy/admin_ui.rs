//! The admin UI: the front desk rectifies and exports, only the owner erases, after
//! confirming.

use super::*;

#[tokio::test]
async fn the_front_desk_rectifies_and_exports_and_only_the_owner_erases_after_confirming() {
    let (app, mut owner) = owner_app().await;
    create_staff(&app, "recep@barberpro.test", "Recep", Role::Recepcion, None).await;
    let mut desk = Browser::new(&app);
    desk.login_ok("recep@barberpro.test").await;
    let (a, _, _, _) = book_two(&app, "Ana Gomez").await;
    let client = get_booking(&app, a).await.client.0;
    let page_url = format!("/admin/clientes/{client}");

    // Rectification.
    let before_consent = client_of(&app, client).await.whatsapp_consent;
    let page = desk.get(&page_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"edit-client\""));
    assert!(
        !page.body.contains("/borrar"),
        "the front desk is not offered the erase"
    );
    let csrf = page.csrf();
    desk.post(
        &page_url,
        &[
            ("csrf", &csrf),
            ("name", "Ana Gómez"),
            ("email", "ana.gomez@example.com"),
            ("notes", "Prefiere turnos a la mañana"),
        ],
    )
    .await
    .expect_redirect(&page_url);
    let fixed = client_of(&app, client).await;
    assert_eq!(fixed.name.as_str(), "Ana Gómez");
    assert_eq!(
        fixed.email.as_ref().map(|e| e.as_str()),
        Some("ana.gomez@example.com")
    );
    assert_eq!(
        fixed.notes.as_ref().map(|n| n.as_str()),
        Some("Prefiere turnos a la mañana")
    );
    assert_eq!(
        fixed.whatsapp_consent, before_consent,
        "correcting data leaves consent to its own switch"
    );
    let bad = desk
        .post(
            &page_url,
            &[("csrf", &csrf), ("name", "  "), ("email", "x")],
        )
        .await;
    bad.expect_redirect(&page_url);
    assert_eq!(
        client_of(&app, client).await,
        fixed,
        "a bad form changes nothing"
    );

    // Export: a JSON download.
    let export = desk.get(&format!("{page_url}/datos.json")).await;
    assert_eq!(export.status, StatusCode::OK);
    let data: Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(data["client"]["name"], "Ana Gómez");
    assert_eq!(data["client"]["notes"], "Prefiere turnos a la mañana");
    assert_eq!(data["bookings"].as_array().unwrap().len(), 2);

    // Erase: owner only, after typing the word.
    let erase_url = format!("{page_url}/borrar");
    assert_eq!(desk.get(&erase_url).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        desk.post(&erase_url, &[("csrf", &csrf), ("confirm", "BORRAR")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let confirm = owner.get(&erase_url).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("BORRAR") && confirm.body.contains("Ana Gómez"));
    let owner_csrf = confirm.csrf();
    owner
        .post(&erase_url, &[("csrf", &owner_csrf), ("confirm", "borrar")])
        .await
        .expect_redirect(&erase_url);
    assert!(
        !client_of(&app, client).await.is_anonymised(),
        "not confirmed"
    );
    owner
        .post(&erase_url, &[("csrf", &owner_csrf), ("confirm", "BORRAR")])
        .await
        .expect_redirect(&page_url);
    assert!(client_of(&app, client).await.is_anonymised());
    let after = owner.get(&page_url).await;
    assert!(after.body.contains("fueron eliminados"), "{}", after.body);
    assert!(!after.body.contains("Ana Gómez"));
    let search = owner.get("/admin/clientes?q=Ana").await;
    assert!(!search.body.contains(&page_url), "nobody to find any more");
    let rectify_erased = desk
        .post(&page_url, &[("csrf", &csrf), ("name", "Ana")])
        .await;
    rectify_erased.expect_redirect(&page_url);
    assert!(client_of(&app, client).await.is_anonymised());

    // Every action is in the log, with who did it and no personal data.
    let entries = all_audit(&app).await;
    let about: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.entity == "client" && e.entity_id == Some(client))
        .map(|e| (e.action.as_str(), e.actor_email.as_str()))
        .collect();
    assert_eq!(
        about,
        vec![
            ("client.view", "recep@barberpro.test"),
            ("client.update", "recep@barberpro.test"),
            ("client.export", "recep@barberpro.test"),
            ("client.view", "duena@barberpro.test"),
            ("client.erase", "duena@barberpro.test"),
            ("client.view", "duena@barberpro.test"),
        ]
    );
    let update = entries
        .iter()
        .find(|e| e.action == "client.update")
        .unwrap();
    assert_eq!(
        update.after,
        Some(json!({"fields": ["name", "email", "notes"]}))
    );
    audit_is_free_of(
        &entries,
        &[
            "Gómez",
            "Gomez",
            "ana@example",
            "ana.gomez",
            "mañana",
            "talco",
        ],
    );

    // Searching and the agenda show clients too: both are logged, without the search words.
    owner
        .get("/admin/agenda?branch=palermo&date=2027-03-02")
        .await;
    let entries = all_audit(&app).await;
    let search = entries
        .iter()
        .find(|e| e.action == "client.search")
        .expect("the search is logged");
    assert_eq!(search.actor_email, "duena@barberpro.test");
    assert_eq!(search.after, Some(json!({"results": 0})));
    let agenda = entries.last().unwrap();
    assert_eq!(agenda.action, "agenda.view");
    assert_eq!(
        agenda.after,
        Some(json!({"branch": "palermo", "date": "2027-03-02"}))
    );
    audit_is_free_of(&entries, &["Gómez", "\"Ana\""]);

    // The owner downloads the whole log.
    let log = owner.get("/admin/auditoria/export.jsonl").await;
    assert_eq!(log.status, StatusCode::OK);
    let lines = log.body.lines().count();
    assert_eq!(lines, entries.len(), "one line per entry");
    assert_eq!(
        desk.get("/admin/auditoria/export.jsonl").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        log.body.contains("\"action\":\"client.erase\""),
        "{}",
        log.body
    );

    // Logging out is a change too.
    desk.post("/admin/logout", &[("csrf", &csrf)])
        .await
        .expect_redirect("/admin/login");
    let last = all_audit(&app).await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor_email.as_str()),
        ("session.logout", "recep@barberpro.test")
    );
}
