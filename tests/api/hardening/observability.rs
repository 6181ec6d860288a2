//! Readiness and metrics: /readyz names each check, the metrics listener's content and
//! token, journal and checkpoint measures, idle upkeep writing nothing.

use super::*;

#[tokio::test]
async fn readyz_names_each_check() {
    let (app, _tmp, _) = spawn_with(|_| {}).await;
    let body = app.get("/readyz").await.expect(200);
    assert_eq!(body["status"], "ready", "{body}");
    for check in [
        "database",
        "writer",
        "certificate",
        "disk",
        "outbox",
        "snapshot",
    ] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }
    // A stuck outbox: messages are queued, but no sender takes them (here: none runs).
    app.store
        .write(|txn| {
            let policy = barberpro::store::outbox::Policy {
                enabled: true,
                reminders_minutes_before: Vec::new(),
            };
            barberpro::store::outbox::configure(txn, &policy)
        })
        .await
        .unwrap();
    app.book_ok(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(1),
    ))
    .await;
    app.clock
        .set(ts(MONDAY_8AM) + jiff::SignedDuration::from_mins(14));
    app.get("/readyz").await.expect(200);
    app.clock
        .set(ts(MONDAY_8AM) + jiff::SignedDuration::from_mins(16));
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["failed"], json!(["outbox"]), "{}", answer.body);
    assert_eq!(answer.body["checks"]["outbox"]["detail"]["pending"], 1);
    app.clock.set(ts(MONDAY_8AM));
    // Backups that stopped: the last success is days old.
    std::fs::write(
        app.data_dir.join("snapshot-status.json"),
        r#"{"last_success_at": "2020-01-01T00:00:00Z", "failures_total": 4}"#,
    )
    .unwrap();
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(
        answer.body["failed"],
        json!(["snapshot"]),
        "{}",
        answer.body
    );
    let (strict, _tmp2, _) = spawn_with(|c| c.health.min_free_disk_mib = 1 << 30).await;
    let answer = strict.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    // Too little room at the start: the server comes up halted (reads only), so the writer
    // fails beside the disk.
    assert_eq!(
        answer.body["failed"],
        json!(["writer", "disk"]),
        "{}",
        answer.body
    );
}

/// Metric names used by the alert rules and the Grafana dashboard: every one must be in a
/// real scrape.
fn names_in_monitoring_assets() -> Vec<String> {
    let mut names = Vec::new();
    for file in ["alerts.yml", "grafana-dashboard.json"] {
        let path = format!("{}/packaging/monitoring/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the monitoring assets exist");
        names.extend(
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("barberpro_") || w.starts_with("process_"))
                .map(str::to_owned),
        );
    }
    names.sort();
    names.dedup();
    names
}

/// The value of an unlabelled sample in a scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn journaled_bookings_and_checkpoints_are_measured() {
    let (app, _tmp, metrics) = spawn_with(|_| {}).await;
    let mut text = String::new();
    // A client's booking alone in its batch is made durable by the journal (one that shares
    // its batch with another kind of write is flushed with it).
    for i in 0..5 {
        app.book_ok(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, &format!("1{i}:00")),
            &phone(20 + i),
        ))
        .await;
        text = scrape(metrics, None, None).await.1;
        if sample(&text, "barberpro_write_batch_journaled_total") >= Some(1.0) {
            break;
        }
    }
    assert!(
        sample(&text, "barberpro_write_batch_journaled_total") >= Some(1.0),
        "{text}"
    );
    // Its checkpoint follows within `storage.checkpoint_interval_ms`, unless another write
    // flushes redb first (a unit test in `store::engine` pins the checkpoint itself).
    for histogram in ["checkpoint_duration", "checkpoint_pause"] {
        assert!(
            text.contains(&format!("# TYPE barberpro_{histogram}_seconds histogram")),
            "{text}"
        );
    }
    assert_eq!(
        sample(&text, "barberpro_checkpoint_failures_total"),
        Some(0.0)
    );
}

/// The upkeep passes (the hourly Idempotency-Key pruning, the daily retention job) look
/// before they write: with nothing to do they take no turn at the writer, so they neither
/// cost a durable commit nor hold up the clients' bookings, and the journal keeps its records.
#[tokio::test]
async fn upkeep_with_nothing_to_do_writes_nothing() {
    let (app, _tmp, metrics) = spawn_with(|_| {}).await;
    app.book_ok(&booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        &phone(3),
    ))
    .await;
    let batches = || async {
        sample(
            &scrape(metrics, None, None).await.1,
            "barberpro_write_batch_requests_count",
        )
    };
    let before = batches().await;
    assert!(before >= Some(1.0), "the booking's batch is counted");

    let now = app.clock.now();
    let settings = barberpro::retention::Settings {
        audit_retention_days: 30,
        anonymise_inactive_after_years: 1,
        ..barberpro::retention::Settings::from_config(&Config::default())
    };
    let report = barberpro::retention::run_once(&app.store, &settings, now)
        .await
        .unwrap();
    assert_eq!(report, barberpro::retention::Report::default());
    let upkeep = barberpro::housekeeping::Housekeeping {
        store: app.store.clone(),
        clock: app.clock.clone(),
        idempotency_ttl: Duration::from_secs(3600),
    };
    assert_eq!(upkeep.run_once().await.unwrap(), 0);
    assert_eq!(batches().await, before, "no write batch ran");
}

#[tokio::test]
async fn the_metrics_listener_serves_route_templates_and_business_counters() {
    let (app, _tmp, metrics) = spawn_with(|_| {}).await;
    let (id, token) = app
        .book_ok(&booking(
            &[1],
            json!("any"),
            &at(TUESDAY, "10:00"),
            &phone(7),
        ))
        .await;
    app.get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
    app.get_auth("/api/v1/bookings/987654", &token).await;
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);
    app.get("/no/such/987654").await;
    let (status, text) = scrape(metrics, None, None).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("route=\"/api/v1/bookings/{id}\""),
        "requests are labelled by route template: {text}"
    );
    assert!(!text.contains("987654"), "raw paths never become labels");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    for line in [
        "barberpro_bookings_created_total{branch=\"palermo\",source=\"online\"} 1",
        "barberpro_booking_transitions_total{branch=\"palermo\",status=\"cancelled\"} 1",
        "barberpro_clients_created_total 1",
        "barberpro_ready 1",
        "barberpro_http_requests_in_flight 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    assert!(
        !text.contains("barberpro_write_batch_duration_seconds_count 0\n"),
        "batches are timed"
    );
    assert!(!text.contains("barberpro_tls_certificate_expiry_timestamp_seconds 0\n"));
    for name in names_in_monitoring_assets() {
        assert!(
            text.contains(&name),
            "the alert rules or the dashboard use `{name}`, which the scrape lacks"
        );
    }
    let (_, om) = scrape(
        metrics,
        Some("application/openmetrics-text; version=1.0.0"),
        None,
    )
    .await;
    assert!(om.ends_with("# EOF\n"), "OpenMetrics when asked for it");
    promtool_check_metrics(&text);
}

/// `promtool check metrics` on a real scrape, when promtool is installed (CI installs it).
fn promtool_check_metrics(scrape: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        crate::skipped::skip(
            "promtool not installed (`promtool check metrics` not run)",
            crate::skipped::INSTALL_PROMTOOL,
        );
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.as_bytes())
        .expect("write scrape");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_metrics_listener_can_require_a_bearer_token() {
    let secret = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(secret.path(), "s3cr3t-scrape-token\n").expect("write token");
    let path = secret.path().to_path_buf();
    let server = spawn_plain(move |c| c.metrics.bearer_token_file = Some(path)).await;
    let metrics = server.metrics.expect("metrics listener");
    assert_eq!(scrape(metrics, None, None).await.0, 401);
    assert_eq!(scrape(metrics, None, Some("wrong")).await.0, 401);
    let (status, text) = scrape(metrics, None, Some("s3cr3t-scrape-token")).await;
    assert_eq!(status, 200);
    assert!(text.contains("barberpro_build_info"), "{text}");
}
