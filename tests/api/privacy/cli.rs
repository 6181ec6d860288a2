//! The privacy commands: export and erase a person with the server running or stopped, and
//! refusing a folder without a database.

use super::*;

// Multi-threaded: the commands run as child processes that the in-process server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_exports_and_erases_a_person_while_the_server_runs_then_with_it_stopped() {
    let mut app = spawn_app().await;
    let (a, _, b, _) = book_two(&app, "Ana Gómez").await;
    let dir = app.data_dir.clone();
    let client = client_id_by_phone(&app, E164).await.expect("client exists");

    // Export, asked with another spelling of the same phone: the running server answers.
    let out = barberpro(&["client", "export", "--phone", E164], &dir);
    let data: Value = serde_json::from_str(&stdout_ok(&out)).expect("export is JSON");
    assert_eq!(data["client"]["name"], "Ana Gómez");
    assert_eq!(data["client"]["phone"], E164);
    assert_eq!(data["client"]["email"], "ana@example.com.ar");
    let ids: Vec<u64> = data["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![b, a], "every booking, newest first");
    assert!(
        data["bookings"][0].get("manage_token_hash").is_none(),
        "no token material in an export"
    );
    let trail: Vec<(&str, &str, u64)> = data["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_email"].as_str().unwrap(),
                e["entity_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        vec![
            ("booking.create", "client", a),
            ("booking.create", "client", b)
        ],
        "the export carries the audit entries about the person"
    );

    let bad = barberpro(&["client", "export", "--phone", "hola"], &dir);
    assert_eq!(bad.status.code(), Some(2), "an invalid phone exits 2");
    let unknown = barberpro(&["client", "export", "--phone", "011 15-2345-6750"], &dir);
    assert_eq!(unknown.status.code(), Some(2), "an unknown client exits 2");
    let why = String::from_utf8_lossy(&unknown.stderr);
    assert!(why.contains("no client has that phone"), "{why}");

    // Erase, while the server runs.
    let totals = [
        get_booking(&app, a).await.total,
        get_booking(&app, b).await.total,
    ];
    let out = barberpro(&["client", "erase", "--phone", TYPED], &dir);
    let erased: Value = serde_json::from_str(stdout_ok(&out).trim()).unwrap();
    assert_eq!(erased["client"], client);
    assert_eq!(erased["bookings_kept"], 2);
    assert_eq!(
        erased["bookings_cancelled"],
        json!([b, a]),
        "both were upcoming"
    );

    let shell = client_of(&app, client).await;
    assert!(shell.is_anonymised());
    assert_eq!(shell.name.as_str(), barberpro::domain::ANONYMISED_NAME);
    assert!(shell.email.is_none() && shell.notes.is_none() && !shell.whatsapp_consent);
    assert!(!shell.phone.as_e164().contains("23456701"));
    assert_eq!(
        client_id_by_phone(&app, E164).await,
        None,
        "phone index gone"
    );
    for (id, total) in [a, b].into_iter().zip(totals) {
        let kept = get_booking(&app, id).await;
        assert_eq!(kept.client.0, client, "the booking stays for the accounts");
        assert_eq!(kept.status, barberpro::domain::BookingStatus::Cancelled);
        assert!(kept.notes.is_none(), "booking notes are erased too");
        assert_eq!(kept.total, total, "amounts are kept");
    }
    let entries = all_audit(&app).await;
    let erase = entries
        .iter()
        .find(|e| e.action == "client.erase")
        .expect("the erase is audited");
    assert_eq!(
        (erase.actor_email.as_str(), erase.entity_id),
        ("cli", Some(client))
    );
    audit_is_free_of(
        &entries,
        &["Ana", "Gómez", "23456701", "ana@example", "talco"],
    );

    let again = barberpro(&["client", "erase", "--phone", TYPED], &dir);
    assert_eq!(again.status.code(), Some(2), "nobody left with that phone");

    // The same phone books again, as a new client.
    let (c, _) = app
        .book_ok(&crate::helpers::booking(
            &[1],
            json!(1),
            &at(TUESDAY, "11:00"),
            TYPED,
        ))
        .await;
    let new_client = get_booking(&app, c.n).await.client.0;
    assert_ne!(new_client, client, "a new client record");

    // With the server stopped, the commands open the database themselves.
    let _keep = app.take_dir();
    app.stop().await;
    drop(app);
    let out = barberpro(&["client", "export", "--phone", TYPED], &dir);
    let data: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    assert_eq!(data["client"]["id"], new_client);
    let out = barberpro(&["client", "erase", "--phone", TYPED], &dir);
    stdout_ok(&out);
    let out = barberpro(&["audit", "export"], &dir);
    let lines: Vec<Value> = stdout_ok(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON entry"))
        .collect();
    let erases = lines
        .iter()
        .filter(|e| e["action"] == "client.erase")
        .count();
    assert_eq!(erases, 2, "both erasures are in the exported log");
    let ids: Vec<u64> = lines.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
}

/// A command on data already there, pointed at a folder without a database (a typo in
/// `--data-dir`), says so and leaves the folder as it found it: no empty database, key or
/// journal made there, no "no client has that phone".
#[test]
fn commands_on_a_folder_without_a_database_refuse_and_make_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("typo");
    std::fs::create_dir(&dir).unwrap();
    for args in [
        &["client", "export", "--phone", TYPED][..],
        &["client", "erase", "--phone", TYPED][..],
        &["audit", "export"][..],
        &["snapshot", "--no-upload"][..],
    ] {
        let out = barberpro(args, &dir);
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {why}");
        assert!(
            why.contains("no BarberPro database") && why.contains("barberpro.redb"),
            "{args:?}: {why}"
        );
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}
