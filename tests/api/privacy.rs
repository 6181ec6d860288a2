//! Personal data (Ley 25.326) and the audit log: a person's export and erasure from the
//! command line (server running or stopped) and the admin UI, rectification, audit entries
//! for every path (clients through the API, staff, commands, jobs), the daily retention job.

mod secrets;

use std::path::Path;
use std::process::{Command, Output};

use barberpro::domain::staff::Role;
use barberpro::domain::{ClientId, Phone};
use barberpro::retention::{self, Settings};
use barberpro::store::audit::{self, AuditEntry};
use barberpro::store::{clients, privacy, staff};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin::{Browser, create_staff, get_booking, owner_app};
use crate::helpers::{TUESDAY, TestApp, at, spawn_app, ts};

/// The person these tests book for: how they typed the phone, and its E.164 form.
const TYPED: &str = "011 15-2345-6701";
const E164: &str = "+5491123456701";

fn barberpro(args: &[&str], data_dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barberpro"));
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("the binary runs")
}

#[track_caller]
fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {} {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn book_two(app: &TestApp, name: &str) -> (u64, String, u64, String) {
    let mut first = json!({
        "branch": "palermo",
        "services": [1],
        "barber": 1,
        "start": at(TUESDAY, "10:00"),
        "client": {"name": name, "phone": TYPED, "email": "ana@example.com.ar",
                   "whatsapp_consent": true},
        "notes": "Alérgica al talco"
    });
    let (a, ta) = app.book_ok(&first).await;
    first["start"] = json!(at(TUESDAY, "15:00"));
    first["notes"] = Value::Null;
    let (b, tb) = app.book_ok(&first).await;
    (a.n, ta, b.n, tb)
}

async fn all_audit(app: &TestApp) -> Vec<AuditEntry> {
    let mut entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 100_000))
        .await
        .unwrap();
    entries.reverse();
    entries
}

async fn client_of(app: &TestApp, id: u64) -> barberpro::domain::Client {
    app.store
        .read(move |tx| clients::get(tx, ClientId(id)))
        .await
        .unwrap()
        .expect("the client record stays")
}

async fn client_id_by_phone(app: &TestApp, e164: &str) -> Option<u64> {
    let phone = Phone::parse(e164).unwrap();
    app.store
        .read(move |tx| clients::by_phone(tx, &phone))
        .await
        .unwrap()
        .map(|c| c.id.0)
}

/// Asserts that no audit entry holds any of the person's data.
#[track_caller]
fn audit_is_free_of(entries: &[AuditEntry], needles: &[&str]) {
    for e in entries {
        let text = serde_json::to_string(e).unwrap();
        for n in needles {
            assert!(
                !text.contains(n),
                "audit entry {} ({}) holds personal data {n:?}: {text}",
                e.id,
                e.action
            );
        }
    }
}

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

#[tokio::test]
async fn client_api_changes_are_audited_in_their_transaction_and_refusals_are_not() {
    let app = spawn_app().await;
    let mut body = crate::helpers::booking(&[1], json!(1), &at(TUESDAY, "10:00"), TYPED);
    let created = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let (id, token) = (
        app.id_of(&created),
        created["manage_token"].as_str().unwrap().to_owned(),
    );
    // A retry with the same key replays the booking: no second entry.
    let replay = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    app.post_auth(
        &format!("/api/v1/bookings/{id}/reschedule"),
        &token,
        Some(&json!({"start": at(TUESDAY, "11:00")})),
    )
    .await
    .expect(200);
    // Refused: the slot is taken by someone else.
    body["client"]["phone"] = json!("011 15-2345-6702");
    app.book_ok(&body).await; // 10:00 is free again after the move
    let refused = app
        .post_auth(
            &format!("/api/v1/bookings/{id}/reschedule"),
            &token,
            Some(&json!({"start": at(TUESDAY, "10:00")})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);

    let trail: Vec<(String, String, Option<u64>)> = all_audit(&app)
        .await
        .into_iter()
        .filter(|e| e.entity_id == Some(id.n))
        .map(|e| (e.action, e.actor_email, e.entity_id))
        .collect();
    let expect = |a: &str| (a.to_owned(), "client".to_owned(), Some(id.n));
    assert_eq!(
        trail,
        vec![
            expect("booking.create"),
            expect("booking.reschedule"),
            expect("booking.cancel")
        ],
        "one entry per change by the client, none for the replay or the refusal"
    );
    let entries = all_audit(&app).await;
    let moved = entries
        .iter()
        .find(|e| e.action == "booking.reschedule")
        .unwrap();
    let start = |v: &Option<Value>| v.as_ref().unwrap()["start"].as_str().unwrap().to_owned();
    assert_ne!(
        start(&moved.before),
        start(&moved.after),
        "before and after"
    );
    assert!(moved.ip.is_none(), "no client address in the log");
    audit_is_free_of(&entries, &["Juan", "Pérez", "23456701", &token]);
}

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

#[tokio::test]
async fn the_retention_job_sweeps_sessions_prunes_the_log_and_anonymises_inactive_clients() {
    let (app, _owner) = owner_app().await;
    let (a, _, _, _) = book_two(&app, "Ana Gómez").await;
    let old_client = get_booking(&app, a).await.client.0;
    let owner_id = app
        .store
        .read(|tx| staff::by_email(tx, "duena@barberpro.test"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let sessions = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            store
                .read(move |tx| staff::session_count(tx, owner_id))
                .await
                .unwrap()
        }
    };
    assert_eq!(sessions(&app).await, 1);
    let settings = Settings {
        sessions: barberpro::config::Config::default().admin.session_limits(),
        audit_retention_days: 30,
        anonymise_inactive_after_years: 0,
    };

    // Right away: nothing is old enough.
    let now = app.clock.now();
    let report = retention::run_once(&app.store, &settings, now)
        .await
        .unwrap();
    assert_eq!(report, retention::Report::default());
    assert_eq!(sessions(&app).await, 1);

    // A year and a bit later, a recent client books; the old one has not come back.
    let later = ts("2028-04-03T08:00:00-03:00");
    app.clock.set(later);
    let (recent, _) = app
        .book_ok(&crate::helpers::booking(
            &[1],
            json!(1),
            "2028-04-04T10:00:00-03:00",
            "011 15-2345-6709",
        ))
        .await;
    let recent_client = get_booking(&app, recent.n).await.client.0;
    let before = all_audit(&app).await;
    let report = retention::run_once(&app.store, &settings, later)
        .await
        .unwrap();
    assert_eq!(report.sessions_swept, 1, "the owner's session expired");
    assert_eq!(sessions(&app).await, 0);
    let old = before
        .iter()
        .filter(|e| e.at < later - SignedDuration::from_hours(30 * 24))
        .count();
    assert!(old >= 3, "the first run's entries are old by now");
    assert_eq!(report.audit_pruned, old);
    assert_eq!(report.clients_anonymised, 0, "off while set to 0");
    let after = all_audit(&app).await;
    assert!(
        after
            .iter()
            .all(|e| e.at >= later - SignedDuration::from_hours(30 * 24)),
        "every entry past the retention is gone"
    );
    let actions: Vec<&str> = after.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"session.sweep") && actions.contains(&"audit.prune"));

    // With the anonymisation on: the client inactive for a year goes, the recent one stays.
    let yearly = Settings {
        anonymise_inactive_after_years: 1,
        ..settings.clone()
    };
    let report = retention::run_once(&app.store, &yearly, later)
        .await
        .unwrap();
    assert_eq!(report.clients_anonymised, 1);
    assert!(client_of(&app, old_client).await.is_anonymised());
    assert!(!client_of(&app, recent_client).await.is_anonymised());
    let erase = all_audit(&app)
        .await
        .into_iter()
        .find(|e| e.action == "client.erase")
        .expect("audited");
    assert_eq!(erase.actor_email, "system");
    assert_eq!(erase.entity_id, Some(old_client));
    assert_eq!(erase.after.as_ref().unwrap()["reason"], "inactive");
    let report = retention::run_once(&app.store, &yearly, later)
        .await
        .unwrap();
    assert_eq!(
        report.clients_anonymised, 0,
        "an erased client is not erased twice"
    );
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

/// The inactive clients are found in a read transaction, off the writer; one who books
/// again before the write is re-checked there and stays.
#[tokio::test]
async fn a_client_found_inactive_who_comes_back_before_the_write_stays() {
    let (app, _owner) = owner_app().await;
    let (a, _, _, _) = book_two(&app, "Ana Gómez").await;
    let client = ClientId(get_booking(&app, a).await.client.0);
    let later = ts("2028-04-03T08:00:00-03:00");
    app.clock.set(later);
    let cutoff = later - SignedDuration::from_hours(365 * 24);
    let found = app
        .store
        .read(move |tx| privacy::inactive_clients(tx, cutoff, None, 10))
        .await
        .unwrap();
    assert_eq!(found, vec![client]);
    assert!(
        app.store
            .read(move |tx| privacy::inactive_clients(tx, cutoff, Some(client), 10))
            .await
            .unwrap()
            .is_empty(),
        "the next page starts after the last id"
    );

    // Ana books again (same phone) before the job writes.
    app.book_ok(&json!({
        "branch": "palermo",
        "services": [1],
        "barber": 1,
        "start": "2028-04-04T10:00:00-03:00",
        "client": {"name": "Ana Gómez", "phone": TYPED},
    }))
    .await;
    let done = app
        .store
        .write(move |txn| privacy::anonymise_inactive(txn, &found, cutoff, later))
        .await
        .unwrap();
    assert!(done.is_empty(), "{done:?}");
    assert!(!client_of(&app, client.0).await.is_anonymised());
}

#[tokio::test]
async fn the_server_runs_the_retention_job_when_it_starts() {
    let (mut app, _owner) = owner_app().await;
    let dir = app.data_dir.clone();
    let _keep = app.take_dir();
    let clock = app.clock.clone();
    app.stop().await;
    drop(app);
    // Two days later the owner's session is long over (12 h lifetime).
    clock.set(ts("2027-03-03T08:00:00-03:00"));
    let app = crate::helpers::spawn_app_with(crate::helpers::test_config(&dir), clock).await;
    let owner = app
        .store
        .read(|tx| staff::by_email(tx, "duena@barberpro.test"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = app
            .store
            .read(move |tx| staff::session_count(tx, owner))
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expired session was not swept at start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sweep = all_audit(&app)
        .await
        .into_iter()
        .find(|e| e.action == "session.sweep")
        .expect("the sweep is audited");
    assert_eq!(sweep.actor_email, "system");
    assert_eq!(sweep.after, Some(json!({"count": 1})));
}
