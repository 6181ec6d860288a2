//! The availability property over HTTP, against the demo chain: after random bookings made
//! through the API, every slot `GET …/availability` offers lies inside the barber's hours at
//! that branch, outside lunch and outside every booking of that barber, and `POST
//! /api/v1/bookings` books it (then it is cancelled, so the next slot is tried on the same
//! state). `properties.rs` proves the same on the store with random schedules.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

use crate::helpers::*;

/// The demo's weekly hours: barber name → (branch, weekdays 1 = Monday … 6 = Saturday).
const WEEKS: &[(&str, &str, &[i8])] = &[
    ("Martín", "palermo", &[2, 3, 4, 5, 6]),
    ("Lucía", "palermo", &[2, 3, 4, 5, 6]),
    ("Nicolás", "palermo", &[1, 3]),
    ("Diego", "belgrano", &[1, 2, 3, 4, 5]),
    ("Sofía", "belgrano", &[2, 3, 4, 5, 6]),
    ("Nicolás", "belgrano", &[4, 5, 6]),
];

#[derive(Debug, Clone)]
struct Case {
    branch: &'static str,
    /// Days after Monday 1 March 2027 (the pinned "today").
    day: i8,
    services: Vec<u64>,
    /// None: any barber; Some(i): the i-th barber of the branch.
    barber: Option<usize>,
    /// Earlier bookings: (barber index, minutes after 10:00 in 15-minute steps, service).
    earlier: Vec<(usize, u16, u64)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["palermo", "belgrano"]),
        1i8..=13,
        prop::sample::subsequence(vec![1u64, 2, 3, 4, 5, 6], 1..=2),
        prop::option::of(0usize..3),
        prop::collection::vec((0usize..3, 0u16..40, 1u64..=6), 0..10),
    )
        .prop_map(|(branch, day, services, barber, earlier)| Case {
            branch,
            day,
            services,
            barber,
            earlier: earlier
                .into_iter()
                .map(|(b, step, s)| (b, step * 15, s))
                .collect(),
        })
}

fn minutes_of(rfc3339: &str) -> i64 {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    t.as_second() / 60
}

async fn run(c: Case) -> Result<(), TestCaseError> {
    let app = spawn_app().await;
    let date = jiff::civil::date(2027, 3, 1)
        .checked_add(jiff::Span::new().days(i64::from(c.day)))
        .unwrap();
    let weekday = date.weekday().to_monday_one_offset();
    let day = date.to_string();
    let barbers = app
        .get(&format!("/api/v1/branches/{}/barbers", c.branch))
        .await
        .expect(200);
    let barbers: Vec<(u64, String)> = barbers
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_u64().unwrap(),
                b["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let services = app
        .get(&format!("/api/v1/branches/{}/services", c.branch))
        .await
        .expect(200);
    let service = |id: u64| {
        services
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
    };
    let midnight = minutes_of(&at(&day, "00:00"));
    let mut phones = 0u32;
    let mut next_phone = || {
        phones += 1;
        format!("011 15-3{:03}-{:04}", c.day, phones)
    };

    // Earlier bookings through the API; those that succeed are what the barber holds.
    let mut held: Vec<(u64, i64, i64)> = Vec::new();
    for (b, offset, s) in &c.earlier {
        let (barber, _) = &barbers[b % barbers.len()];
        let start = midnight + 600 + i64::from(*offset);
        let hhmm = format!(
            "{:02}:{:02}",
            (start - midnight) / 60,
            (start - midnight) % 60
        );
        let mut body = booking(&[*s], json!(barber), &at(&day, &hhmm), &next_phone());
        body["branch"] = json!(c.branch);
        let answer = app.book(&body).await;
        let status = answer.status.as_u16();
        prop_assert!(
            [201, 409, 422].contains(&status),
            "earlier booking answered {status}: {}",
            answer.body
        );
        if status == 201 {
            let buffer = service(*s).unwrap()["buffer_minutes"].as_i64().unwrap();
            let b = &answer.body;
            held.push((
                b["barber_id"].as_u64().unwrap(),
                minutes_of(b["start"].as_str().unwrap()),
                minutes_of(b["end"].as_str().unwrap()) + buffer,
            ));
        }
    }

    let choice = match c.barber {
        None => "any".to_owned(),
        Some(i) => barbers[i % barbers.len()].0.to_string(),
    };
    let ids: Vec<String> = c.services.iter().map(u64::to_string).collect();
    let answer = app
        .availability(c.branch, &day, &ids.join(","), &choice)
        .await;
    let status = answer.status.as_u16();
    prop_assert!(
        status == 200 || status == 422,
        "availability answered {status}: {}",
        answer.body
    );
    if status == 422 {
        // The chosen barber does not do these services, or they are not offered here.
        return Ok(());
    }
    let chosen: Vec<Value> = c.services.iter().filter_map(|&s| service(s)).collect();
    prop_assert_eq!(chosen.len(), c.services.len());
    let work: i64 = chosen
        .iter()
        .map(|s| s["duration_minutes"].as_i64().unwrap())
        .sum();
    let buffer = chosen
        .iter()
        .map(|s| s["buffer_minutes"].as_i64().unwrap())
        .max()
        .unwrap();
    let closes = if weekday == 6 { 18 * 60 } else { 20 * 60 };
    for slot in answer.body["slots"].as_array().unwrap() {
        let start = minutes_of(slot["start"].as_str().unwrap());
        let end = minutes_of(slot["end"].as_str().unwrap());
        let barber = slot["barber_id"].as_u64().unwrap();
        let name = slot["barber_name"].as_str().unwrap();
        let (from, until) = (start - midnight, end + buffer - midnight);
        prop_assert_eq!(end - start, work, "the services back to back");
        prop_assert!(from % 15 == 0, "off the grid: {}", slot);
        prop_assert!(
            WEEKS
                .iter()
                .any(|(n, b, days)| *n == name && *b == c.branch && days.contains(&weekday)),
            "{name} does not work at {} on weekday {weekday}: {slot}",
            c.branch
        );
        prop_assert!(from >= 600 && until <= closes, "outside hours: {}", slot);
        prop_assert!(until <= 13 * 60 || from >= 14 * 60, "over lunch: {}", slot);
        for (b, s, e) in &held {
            prop_assert!(
                *b != barber || until <= *s || start >= *e,
                "over a booking ({s}..{e}): {slot}"
            );
        }
        // And it can be booked; cancelled again so the next slot meets the same state.
        let hhmm = &slot["start"].as_str().unwrap()[11..16];
        let mut body = booking(&c.services, json!(barber), &at(&day, hhmm), &next_phone());
        body["branch"] = json!(c.branch);
        let made = app.book(&body).await;
        prop_assert_eq!(
            made.status.as_u16(),
            201,
            "offered {} refused: {}",
            slot,
            made.body
        );
        let id = app.id_of(&made.body);
        let token = made.body["manage_token"].as_str().unwrap();
        let cancelled = app
            .post_auth(&format!("/api/v1/bookings/{id}/cancel"), token, None)
            .await;
        prop_assert_eq!(cancelled.status.as_u16(), 200, "{}", cancelled.body);
    }
    Ok(())
}

#[test]
fn every_slot_offered_over_http_is_inside_hours_free_and_bookable() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        ..RunnerConfig::default()
    });
    runner
        .run(&case(), |c| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run(c))
        })
        .unwrap();
}
