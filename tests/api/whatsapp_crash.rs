//! The real binary, SIGKILLed while WhatsApp messages are due (one in flight, one between
//! retries), then restarted: each message reaches the fake exactly once.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Server, book_at_palermo, free_starts, serve_binary};
use crate::whatsapp_fake::{self, FakeWhatsApp, Reply};

/// `barberpro serve --demo` with `[whatsapp]` pointed at the fake.
fn serve(dir: &Path, fake: &FakeWhatsApp) -> (Server, String) {
    serve_binary(
        dir,
        &[
            ("BARBERPRO_WHATSAPP__ENABLED", "true"),
            ("BARBERPRO_WHATSAPP__BASE_URL", &fake.base_url),
            (
                "BARBERPRO_WHATSAPP__PHONE_NUMBER_ID",
                whatsapp_fake::PHONE_NUMBER_ID,
            ),
            ("BARBERPRO_WHATSAPP__ACCESS_TOKEN", whatsapp_fake::TOKEN),
            ("BARBERPRO_WHATSAPP__APP_SECRET", "secret"),
            ("BARBERPRO_WHATSAPP__VERIFY_TOKEN", "verify"),
            ("BARBERPRO_WHATSAPP__REQUEST_TIMEOUT_SECS", "60"),
            ("BARBERPRO_WHATSAPP__RETRY__INITIAL_BACKOFF_MS", "100"),
            ("BARBERPRO_WHATSAPP__RETRY__MAX_BACKOFF_SECS", "1"),
            ("BARBERPRO_WHATSAPP__RETRY__MAX_ATTEMPTS", "100"),
        ],
    )
}

fn client(dir: &Path) -> reqwest::Client {
    let ca = std::fs::read(dir.join("tls/ca.pem")).unwrap();
    crate::helpers::trusting(&ca).build().unwrap()
}

#[tokio::test]
async fn sigkill_while_messages_are_due_then_each_is_delivered_exactly_once() {
    let fake = FakeWhatsApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut first, base) = serve(dir.path(), &fake);
    let http = client(dir.path());
    // One recipient's request hangs (in flight at the kill), the other's keeps failing.
    let hanging = "5491123456711";
    let failing = "5491123456712";
    fake.for_recipient(hanging, Reply::Hang);
    fake.for_recipient(failing, Reply::Bare(503));
    let starts = free_starts(&http, &base, 12).await;
    assert!(starts.len() >= 2, "no free slots: {starts:?}");
    let mut booked = Vec::new();
    for start in &starts {
        let n = 11 + booked.len() as u32;
        let (status, _) = book_at_palermo(&http, &base, json!("any"), start, n, true).await;
        if status == 201 {
            booked.push(start.clone());
            if booked.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(booked.len(), 2, "could not book two of {starts:?}");
    // Both are due: one is in flight, the other has failed at least twice.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let seen = fake.requests();
        let hung = seen.iter().filter(|r| r.to == hanging).count();
        let failed = seen.iter().filter(|r| r.to == failing).count();
        if hung >= 1 && failed >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the messages never reached the fake: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    assert!(
        fake.accepted().is_empty(),
        "nothing was delivered before the kill"
    );

    fake.set_default(Reply::Accept);
    let (mut second, _) = serve(dir.path(), &fake);
    fake.wait_accepted(2, Duration::from_secs(15)).await;
    // Give any duplicate its chance to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delivered: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|r| r.template == "turno_confirmado")
        .collect();
    for to in [hanging, failing] {
        let n = delivered.iter().filter(|r| r.to == to).count();
        assert_eq!(n, 1, "{to} got {n} confirmations: {delivered:#?}");
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &second.0.id().to_string()])
        .status();
    let status = second.0.wait().unwrap();
    assert!(
        status.success(),
        "the restarted server stops cleanly: {status:?}"
    );
}
