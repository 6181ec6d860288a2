//! The daily retention job: sessions swept, the log pruned, inactive clients anonymised
//! (unless they come back first), and a run when the server starts.

use super::*;

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
