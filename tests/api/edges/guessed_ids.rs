//! Booking ids reveal nothing (issue 29, point 3): what clients see is an opaque public id,
//! the old numbers work only inside the migration window, and a wrong token, a missing
//! booking and an id that decodes to nothing answer exactly alike (status, body, and about
//! the same time) on every booking route of the API and of the pages.

use std::time::{Duration, Instant};

use barberpro::domain::BookingId;
use serde_json::{Value, json};

use crate::helpers::{
    MONDAY_8AM, TUESDAY, TestApp, at, booking, phone, spawn_app, spawn_app_configured, ts,
};

/// (status, body) of `GET` (no body) or `POST` (with `body`) on a booking's `path`.
async fn answer(
    app: &TestApp,
    url: &str,
    token: &str,
    post: Option<Option<&Value>>,
) -> (u16, Value) {
    let a = match post {
        None => app.get_auth(url, token).await,
        Some(body) => app.post_auth(url, token, body).await,
    };
    (a.status.as_u16(), a.body)
}

/// (status, body) of a booking page.
async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.get(app.url(path)).send().await.expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// Ids that name no booking: a public id of a booking never made, forged public ids (well
/// formed, or not), and the internal number (the window is closed in the tests' config).
fn nobodys(app: &TestApp, real: &crate::helpers::Id) -> Vec<String> {
    let never_made = app.state.ids.public(BookingId(real.n + 1000)).to_string();
    let mut flipped = real.public.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    vec![
        never_made,
        String::from_utf8(flipped).expect("ascii"),
        "AAAAAAAAAAAAAAAAAAAAAA".into(),
        format!("{}B", &real.public[..21]),
        "abc".into(),
        "%FF".into(),
        real.n.to_string(),
    ]
}

#[tokio::test]
async fn a_wrong_token_and_a_missing_booking_answer_alike() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let move_to = json!({"start": at(TUESDAY, "12:00")});
    for (path, post) in [
        ("", None),
        ("/cancel", Some(None)),
        ("/reschedule", Some(Some(&move_to))),
    ] {
        let wrong = answer(
            &app,
            &format!("/api/v1/bookings/{id}{path}"),
            "not-the-token",
            post,
        )
        .await;
        assert_eq!(wrong.0, 401, "{path}: {wrong:?}");
        for missing in nobodys(&app, &id) {
            let absent = answer(
                &app,
                &format!("/api/v1/bookings/{missing}{path}"),
                &token,
                post,
            )
            .await;
            assert_eq!(
                absent, wrong,
                "{path} of {missing:?}: a missing booking answers as a wrong token"
            );
        }
    }
    // The pages: the manage page, its reschedule page and the calendar file.
    for path in ["", "/reprogramar", "/calendario.ics"] {
        let wrong = page(&app, &format!("/turnos/{id}{path}?token=not-the-token")).await;
        assert_eq!(wrong.0, 404, "{path}");
        for missing in nobodys(&app, &id) {
            let absent = page(&app, &format!("/turnos/{missing}{path}?token={token}")).await;
            assert_eq!(absent, wrong, "page {path} of {missing:?}");
        }
    }
    // The booking itself still answers.
    app.get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
}

#[tokio::test]
async fn what_clients_see_names_bookings_by_an_opaque_id() {
    let app = spawn_app().await;
    let first = app
        .book(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await
        .expect(201);
    let second = app
        .book(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(2)))
        .await
        .expect(201);
    let (a, b) = (app.id_of(&first), app.id_of(&second));
    assert_eq!(b.n, a.n + 1, "the internal ids are sequential");
    for (shown, id) in [(&first, &a), (&second, &b)] {
        let public = shown["id"].as_str().expect("the API's id is a string");
        assert_eq!(public.len(), 22, "{public}");
        assert!(public.parse::<u64>().is_err(), "{public}");
        let url = shown["manage_url"].as_str().expect("manage_url");
        assert!(
            url.ends_with(&format!(
                "/turnos/{public}?token={}",
                shown["manage_token"].as_str().unwrap()
            )),
            "{url}"
        );
        assert!(!url.contains(&format!("/turnos/{}?", id.n)), "{url}");
    }
    // Consecutive bookings' ids share nothing a client could count with.
    let common = a
        .public
        .bytes()
        .zip(b.public.bytes())
        .take_while(|(x, y)| x == y)
        .count();
    assert!(common < 6, "{} and {} look related", a.public, b.public);

    // The manage page links and the calendar file: the public id, never the number.
    let token = first["manage_token"].as_str().unwrap();
    let (status, html) = page(&app, &format!("/turnos/{a}?token={token}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("/turnos/{a}/reprogramar")), "{html}");
    assert!(
        html.contains(&format!("/turnos/{a}/calendario.ics")),
        "{html}"
    );
    assert!(!html.contains(&format!("/turnos/{}/", a.n)), "{html}");
    let (status, ics) = page(&app, &format!("/turnos/{a}/calendario.ics?token={token}")).await;
    assert_eq!(status, 200);
    assert!(ics.contains(&format!("UID:turno-{a}@")), "{ics}");
    // The reschedule page's forms.
    let (status, html) = page(&app, &format!("/turnos/{a}/reprogramar?token={token}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("action=\"/turnos/{a}/reprogramar\"")),
        "{html}"
    );

    // The booking pages' redirect after booking, and the cookie it leaves.
    let mut browser = crate::admin::Browser::new(&app);
    let made = crate::booking_pages::post_form(
        &mut browser,
        "/reservar/palermo",
        &crate::booking_pages::form("k-29", &["1"], "1", "15:00", "Ana Gómez", &phone(3)),
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let (c, _) = crate::booking_pages::manage_target(&app, &made.location);
    assert_eq!(c.n, b.n + 1);
    assert!(
        made.location.starts_with(&format!("/turnos/{c}?")),
        "{}",
        made.location
    );
    assert!(
        made.set_cookies
            .iter()
            .any(|k| k.starts_with(&format!("bp_reservado={c}."))),
        "{:?}",
        made.set_cookies
    );
}

#[tokio::test]
async fn numeric_links_work_until_the_window_closes() {
    let app = spawn_app_configured(
        barberpro::http::Clock::manual(ts(MONDAY_8AM)),
        |config, _| config.booking.numeric_ids_until = jiff::civil::date(2027, 3, 2),
    )
    .await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    // Inside the window, an old link (the number) opens the booking; answers show the
    // public id.
    let seen = app
        .get_auth(&format!("/api/v1/bookings/{}", id.n), &token)
        .await
        .expect(200);
    assert_eq!(seen["id"], json!(id.public));
    let (status, html) = page(&app, &format!("/turnos/{}?token={token}", id.n)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("/turnos/{id}/reprogramar")),
        "{html}"
    );
    // 2027-03-02 00:00 in Buenos Aires: the window has closed; a number is nobody's.
    app.clock.set(ts("2027-03-02T00:00:00-03:00"));
    let late = app
        .get_auth(&format!("/api/v1/bookings/{}", id.n), &token)
        .await;
    let wrong = app
        .get_auth(&format!("/api/v1/bookings/{id}"), "not-the-token")
        .await;
    assert_eq!((late.status, &late.body), (wrong.status, &wrong.body));
    assert_eq!(late.status, 401);
    let (status, _) = page(&app, &format!("/turnos/{}?token={token}", id.n)).await;
    assert_eq!(status, 404);
    app.get_auth(&format!("/api/v1/bookings/{id}"), &token)
        .await
        .expect(200);
}

/// Median of `samples`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_booking_takes_as_long_as_a_wrong_token() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let missing = nobodys(&app, &id);
    let mut cases: Vec<(String, &str)> = vec![(id.public.clone(), "not-the-token")];
    cases.extend(missing.iter().map(|m| (m.clone(), token.as_str())));
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    // Interleaved rounds, so a pause of the machine hits every case alike.
    for _ in 0..60 {
        for (i, (path_id, token)) in cases.iter().enumerate() {
            let started = Instant::now();
            let a = app
                .get_auth(&format!("/api/v1/bookings/{path_id}"), token)
                .await;
            times[i].push(started.elapsed());
            assert_eq!(a.status, 401);
        }
    }
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    let wrong = medians[0];
    for ((path_id, _), m) in cases.iter().zip(&medians).skip(1) {
        let slack = wrong / 2 + Duration::from_millis(1);
        assert!(
            m.abs_diff(wrong) <= slack,
            "{path_id}: median {m:?} vs a wrong token's {wrong:?} (all: {medians:?})"
        );
    }
    eprintln!("medians (wrong token first): {medians:?}");
}
