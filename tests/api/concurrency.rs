//! The invariant under contention: no two active bookings of one barber overlap, ever.

use futures::future::join_all;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_requests_for_one_slot_make_exactly_one_booking() {
    let app = spawn_app().await;
    let requests = (0..50).map(|n| {
        let body = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(n));
        let req = app.client.post(app.url("/api/v1/bookings")).json(&body);
        async move { req.send().await.expect("request").status().as_u16() }
    });
    let statuses = join_all(requests).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "statuses: {statuses:?}");
    let count = app
        .store
        .read(barberpro::store::bookings::count)
        .await
        .unwrap();
    assert_eq!(count, 1, "the database holds exactly one booking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_requests_for_any_barber_never_double_book() {
    let app = spawn_app().await;
    // Two barbers at palermo on Tuesday; 30 requests for overlapping times, any barber.
    let times = ["10:00", "10:15", "10:30"];
    let requests = (0..30).map(|n| {
        let body = booking(
            &[1],
            json!("any"),
            &at(TUESDAY, times[n % 3]),
            &phone(n as u32),
        );
        let req = app.client.post(app.url("/api/v1/bookings")).json(&body);
        async move {
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap())
        }
    });
    let answers = join_all(requests).await;
    let mut made: Vec<(u64, i64, i64)> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| {
            let start: jiff::Timestamp = b["start"].as_str().unwrap().parse().unwrap();
            // busy until end + 5 min buffer
            let end: jiff::Timestamp = b["end"].as_str().unwrap().parse().unwrap();
            (
                b["barber_id"].as_u64().unwrap(),
                start.as_second(),
                end.as_second() + 300,
            )
        })
        .collect();
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:?}"
    );
    assert!(!made.is_empty());
    made.sort();
    for pair in made.windows(2) {
        if pair[0].0 == pair[1].0 {
            assert!(
                pair[0].2 <= pair[1].1,
                "overlap for barber {}: {pair:?}",
                pair[0].0
            );
        }
    }
}
