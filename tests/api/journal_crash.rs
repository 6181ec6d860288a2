//! The real binary, SIGKILLed right after answering a burst of concurrent bookings (made
//! durable by the journal, before redb's next checkpoint), then restarted: every booking it
//! answered 201 for is there, with its manage link, and its slot is taken.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{free_starts, phone, serve_binary_watching, trusting};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_booking_answered_before_a_sigkill_is_there_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A checkpoint interval longer than the test, and no other write after the bookings (no
    // WhatsApp consent, so no outbox work): nothing flushes redb before the SIGKILL, so the
    // restart must replay the journal.
    let (mut first, base, _) = serve_binary_watching(
        dir.path(),
        &[("BARBERPRO_STORAGE__CHECKPOINT_INTERVAL_MS", "60000")],
        "journal",
    );
    let http = trusting(&std::fs::read(dir.path().join("tls/ca.pem")).unwrap())
        .build()
        .unwrap();
    let starts = free_starts(&http, &base, 40).await;
    assert!(starts.len() >= 20, "too few free slots: {starts:?}");

    // All at once: the writer groups them into a few journaled batches.
    let answers = futures::future::join_all(starts.iter().enumerate().map(|(i, start)| {
        let body = json!({
            "branch": "palermo", "services": [1], "barber": "any", "start": start,
            "client": {"name": "Ana Gómez", "phone": phone(100 + i as u32), "whatsapp_consent": false}
        });
        let (http, base) = (http.clone(), base.clone());
        async move {
            let resp = http
                .post(format!("{base}/api/v1/bookings"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    }))
    .await;
    first.0.kill().unwrap(); // SIGKILL, before any checkpoint
    first.0.wait().unwrap();
    let booked: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:#?}"
    );
    assert!(booked.len() >= 10, "only {} were booked", booked.len());

    let (_second, base, log) = serve_binary_watching(dir.path(), &[], "journal");
    let replay = log.try_recv().unwrap_or_default();
    assert!(
        replay.contains("replayed the journal"),
        "the restart replayed the bookings from the journal: {replay:?}"
    );
    let mut taken = HashSet::new();
    for b in &booked {
        let id = b["id"].as_u64().unwrap();
        let got = http
            .get(format!("{base}/api/v1/bookings/{id}"))
            .bearer_auth(b["manage_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200, "booking {id} after the restart");
        let got: Value = got.json().await.unwrap();
        assert_eq!(got["start"], b["start"]);
        assert_eq!(got["barber_id"], b["barber_id"]);
        assert_eq!(got["status"], "confirmed");
        assert!(taken.insert((got["barber_id"].to_string(), got["start"].to_string())));
    }
    // Booking any of them again is refused: the slots stayed taken.
    let again = &booked[0];
    let resp = http
        .post(format!("{base}/api/v1/bookings"))
        .json(&json!({
            "branch": "palermo", "services": [1], "barber": again["barber_id"],
            "start": again["start"],
            "client": {"name": "Otro", "phone": phone(999), "whatsapp_consent": false}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
}
