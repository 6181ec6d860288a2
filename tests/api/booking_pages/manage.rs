//! The private manage link: see, cancel, reschedule; cut-off; wrong tokens; no token in logs.

use barberpro::domain::BookingStatus;

use super::*;
use crate::helpers::{spawn_app, ts};

#[tokio::test]
async fn the_manage_page_is_private_and_cancels_before_the_cut_off() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let (id, token) = book_through_pages(&app, &mut b, "10:00").await;
    let path = format!("/turnos/{id}?token={token}");

    let resp = app
        .client
        .get(app.url(&path))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-robots-tag"], "noindex");
    let body = resp.text().await.expect("body");
    assert!(body.contains("id=\"cancel-form\""), "{body}");
    assert!(body.contains("Podés cambiarlo o cancelarlo hasta 2 h antes"));

    let cancelled = b
        .post(
            &format!("/turnos/{id}/cancelar"),
            &[("token", &token), ("reason", "No llego")],
        )
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    assert!(cancelled.location.ends_with("aviso=cancelado"));
    let stored = booking(&app, id.n).await.expect("booking");
    assert_eq!(stored.status, BookingStatus::Cancelled);
    assert_eq!(
        stored
            .cancel_reason
            .map(|r| r.as_str().to_owned())
            .as_deref(),
        Some("No llego")
    );

    let page = b.get(&cancelled.location).await;
    assert_html_page(&page, 200, "Tu turno quedó cancelado.");
    assert!(
        !page.body.contains("id=\"cancel-form\""),
        "nothing left to cancel"
    );
    // A second press changes nothing: the same refusal the API and the admin give
    // (`invalid_transition`), shown on the booking's own page.
    let again = b
        .post(&format!("/turnos/{id}/cancelar"), &[("token", &token)])
        .await;
    assert_html_page(&again, 409, "está cancelado");
    // The slot is free again.
    let times = app.free_times("palermo", TUESDAY, "1", "1").await;
    assert!(times.contains(&"10:00".to_owned()), "{times:?}");
    // Both changes are in the audit log, by the client, once each.
    let entries = app
        .store
        .read(move |tx| {
            let filter = barberpro::store::audit::Filter {
                entity: Some("booking".into()),
                entity_id: Some(id.n),
                ..Default::default()
            };
            barberpro::store::audit::list(tx, &filter, 10)
        })
        .await
        .expect("audit");
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.actor_email.as_str()))
        .collect();
    assert_eq!(
        actions,
        [("booking.cancel", "client"), ("booking.create", "client")],
        "newest first"
    );
}

#[tokio::test]
async fn after_the_cut_off_the_page_says_to_call_and_refuses_changes() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let (id, token) = book_through_pages(&app, &mut b, "10:00").await;
    // 08:30 on Tuesday: 1 h 30 before, inside the 2 h cut-off.
    app.clock.set(ts(&at(TUESDAY, "08:30")));
    let page = b.get(&format!("/turnos/{id}?token={token}")).await;
    assert_html_page(&page, 200, "ya no se puede cambiar ni cancelar en línea");
    assert!(
        page.body.contains("llamá a BarberPro Palermo al "),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"cancel-form\""));

    let refused = b
        .post(&format!("/turnos/{id}/cancelar"), &[("token", &token)])
        .await;
    assert_html_page(
        &refused,
        409,
        "Ya es tarde para cambiar este turno en línea.",
    );
    let moved = b
        .post(
            &format!("/turnos/{id}/reprogramar"),
            &[
                ("token", &token),
                ("start", &at(TUESDAY, "15:00")),
                ("barber", "1"),
            ],
        )
        .await;
    assert_html_page(&moved, 409, "Ya es tarde");
    let stored = booking(&app, id.n).await.expect("booking");
    assert_eq!(stored.status, BookingStatus::Confirmed);
    assert_eq!(stored.start, ts(&at(TUESDAY, "10:00")));
    let reschedule = b
        .get(&format!("/turnos/{id}/reprogramar?token={token}"))
        .await;
    assert_html_page(&reschedule, 409, "Ya es tarde");
}

#[tokio::test]
async fn a_booking_moves_to_another_free_slot() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let (id, token) = book_through_pages(&app, &mut b, "10:00").await;
    let (_, other_token) = book_through_pages(&app, &mut b, "16:00").await;
    let _ = other_token;

    let page = b
        .get(&format!(
            "/turnos/{id}/reprogramar?token={token}&date={TUESDAY}"
        ))
        .await;
    assert_html_page(&page, 200, "martes 02/03/2027");
    assert!(
        page.body
            .contains(&format!("value=\"{}\"", at(TUESDAY, "11:00")))
    );

    // A slot held by someone else (the client's own 16:00 counts too) is refused, with others.
    let taken = b
        .post(
            &format!("/turnos/{id}/reprogramar"),
            &[
                ("token", &token),
                ("start", &at(TUESDAY, "16:00")),
                ("barber", "1"),
            ],
        )
        .await;
    assert_html_page(&taken, 409, "Elegí otro horario.");
    assert!(
        taken
            .body
            .contains(&format!("value=\"{}\"", at(TUESDAY, "11:00"))),
        "alternatives"
    );

    let moved = b
        .post(
            &format!("/turnos/{id}/reprogramar"),
            &[
                ("token", &token),
                ("start", &at(TUESDAY, "11:00")),
                ("barber", "1"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert!(moved.location.ends_with("aviso=reprogramado"));
    let stored = booking(&app, id.n).await.expect("booking");
    assert_eq!(stored.start, ts(&at(TUESDAY, "11:00")));
    let shown = b.get(&moved.location).await;
    assert_html_page(&shown, 200, "martes 02/03/2027 a las 11:00");
}

#[tokio::test]
async fn wrong_or_forged_tokens_are_404_pages_never_500() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let (id, token) = book_through_pages(&app, &mut b, "10:00").await;
    let (other, other_token) = book_through_pages(&app, &mut b, "12:00").await;
    // The same token with its last character changed.
    let last = if token.ends_with('A') { "B" } else { "A" };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    assert_ne!(forged, token);
    let gets = [
        format!("/turnos/{id}"),
        format!("/turnos/{id}?token="),
        format!("/turnos/{id}?token=nope"),
        format!("/turnos/{id}?token={forged}"),
        format!("/turnos/{id}?token={other_token}"),
        format!("/turnos/{other}?token={token}"),
        format!("/turnos/999999?token={token}"),
        format!("/turnos/abc?token={token}"),
        format!("/turnos/-1?token={token}"),
        format!("/turnos/%ff?token={token}"),
        format!("/turnos/%ff/reprogramar?token={token}"),
        format!("/turnos/{id}/reprogramar?token={other_token}"),
    ];
    for path in &gets {
        assert_html_page(&b.get(path).await, 404, "No encontramos");
    }
    for action in ["cancelar", "reprogramar"] {
        for t in [forged.as_str(), other_token.as_str(), ""] {
            let page = b
                .post(
                    &format!("/turnos/{id}/{action}"),
                    &[("token", t), ("start", &at(TUESDAY, "15:00"))],
                )
                .await;
            assert_html_page(&page, 404, "No encontramos");
        }
    }
    let stored = booking(&app, id.n).await.expect("booking");
    assert_eq!(stored.status, BookingStatus::Confirmed, "nothing changed");
    assert_eq!(stored.start, ts(&at(TUESDAY, "10:00")));
}

const PROBE_VAR: &str = "MANAGE_TOKEN_LOG_PROBE";

/// Uses the manage link with the real logging installed (JSON lines on stderr, everything
/// of ours down to TRACE) and prints the token; only when run by
/// [`the_manage_token_never_reaches_the_logs`], alone in its own process (a process has one
/// global subscriber, and other tests must not log into this one's output).
#[tokio::test]
async fn token_log_probe() {
    if std::env::var_os(PROBE_VAR).is_none() {
        return;
    }
    barberpro::telemetry::init(&barberpro::config::LogConfig {
        format: barberpro::config::LogFormat::Json,
        level: "barberpro=trace,info".parse().expect("a filter"),
    });
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let (id, token) = book_through_pages(&app, &mut b, "10:00").await;
    b.get(&format!("/turnos/{id}?token={token}&aviso=reservado"))
        .await;
    b.get(&format!("/turnos/{id}/reprogramar?token={token}"))
        .await;
    b.post(&format!("/turnos/{id}/cancelar"), &[("token", &token)])
        .await;
    b.get(&format!("/turnos/{id}?token=wrong-{token}")).await;
    println!("probe-token={token}");
}

#[test]
fn the_manage_token_never_reaches_the_logs() {
    if std::env::var_os(PROBE_VAR).is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "booking_pages::manage::token_log_probe",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(PROBE_VAR, "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("the probe runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let logs = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the probe failed:\n{stdout}\n{logs}");
    let token = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("probe-token="))
        .unwrap_or_else(|| panic!("no token in the probe's output:\n{stdout}"));
    assert!(
        logs.contains("\"route\":\"/turnos/{id}\"")
            && logs.contains("\"route\":\"/turnos/{id}/cancelar\""),
        "the request log was captured:\n{logs}"
    );
    assert!(!logs.contains(token), "the token was logged:\n{logs}");
    assert!(
        !logs.contains("token="),
        "a query string was logged:\n{logs}"
    );
}
