//! `serve --demo`'s chain is what the README promises: two branches, five barbers (Nicolás at
//! both), six services, hours 10–20 (Saturdays 10–18) with lunch 13–14, and the next
//! 25 December closed at both branches.

use std::collections::BTreeSet;

use crate::helpers::*;

#[tokio::test]
async fn the_demo_chain_has_what_the_readme_says() {
    // Monday 20 December 2027: the next Christmas (a Saturday) is inside the horizon.
    let app = spawn_app_at("2027-12-20T08:00:00-03:00").await;
    let branches = app.get("/api/v1/branches").await.expect(200);
    assert_eq!(branches.as_array().unwrap().len(), 2, "{branches}");

    let mut barbers = BTreeSet::new();
    for slug in ["palermo", "belgrano"] {
        let services = app
            .get(&format!("/api/v1/branches/{slug}/services"))
            .await
            .expect(200);
        assert!(
            services.as_array().unwrap().len() >= 5,
            "{slug}: {services}"
        );
        let at_branch = app
            .get(&format!("/api/v1/branches/{slug}/barbers"))
            .await
            .expect(200);
        for b in at_branch.as_array().unwrap() {
            barbers.insert(b["name"].as_str().unwrap().to_owned());
        }

        // Closed on the 25th, open the Saturday after (hours end at 18:00 on Saturdays).
        let christmas = app.free_times(slug, "2027-12-25", "1", "any").await;
        assert!(
            christmas.is_empty(),
            "{slug} open on Christmas: {christmas:?}"
        );
        let saturday = app.free_times(slug, "2028-01-01", "1", "any").await;
        assert_eq!(
            saturday.first().map(String::as_str),
            Some("10:00"),
            "{slug}"
        );
        // Corte clásico is 30 minutes plus a 5-minute margin: 17:15 is the last fit before 18.
        assert_eq!(saturday.last().map(String::as_str), Some("17:15"), "{slug}");
        // Lunch 13:00–14:00: nothing that would run into it, open again at 14:00.
        assert!(
            !saturday
                .iter()
                .any(|t| ("12:30".to_owned().."14:00".to_owned()).contains(t)),
            "{slug} offers lunch time: {saturday:?}"
        );
        assert!(
            saturday.contains(&"14:00".to_owned()),
            "{slug}: {saturday:?}"
        );
    }
    assert!(
        (4..=6).contains(&barbers.len()),
        "4 to 6 barbers in the chain: {barbers:?}"
    );
    // A weekday runs until 20:00.
    let tuesday = app.free_times("palermo", "2027-12-28", "1", "any").await;
    assert_eq!(
        tuesday.last().map(String::as_str),
        Some("19:15"),
        "{tuesday:?}"
    );
}

#[tokio::test]
async fn a_data_folder_the_server_creates_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new").join("data");
    let mut app = spawn_app_with(
        test_config(&dir),
        barberpro::http::Clock::manual(ts(MONDAY_8AM)),
    )
    .await;
    app.get("/healthz").await.expect(200);
    app.stop().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the data folder");
    for key in ["secret.key", "tls/key.pem", "tls/ca.key"] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
}
