//! The real binary, SIGKILLed while WhatsApp messages are due (one in flight, one between
//! retries), then restarted: each message reaches the fake exactly once.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::phone;
use crate::whatsapp_fake::{self, FakeWhatsApp, Reply};

/// A server child process, SIGKILLed when dropped (a failing test leaves no server behind).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `barberpro serve --demo` on a random port with `[whatsapp]` pointed at the fake; returns
/// the child and its HTTPS base URL once it serves. Its log is drained in the background.
fn serve(dir: &Path, fake: &FakeWhatsApp) -> (Server, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barberpro"));
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("BARBERPRO_LOG__FORMAT", "json")
        .env("BARBERPRO_METRICS__LISTEN", "127.0.0.1:0")
        .env("BARBERPRO_RATE_LIMIT__ENABLED", "false")
        .env("BARBERPRO_WHATSAPP__ENABLED", "true")
        .env("BARBERPRO_WHATSAPP__BASE_URL", &fake.base_url)
        .env(
            "BARBERPRO_WHATSAPP__PHONE_NUMBER_ID",
            whatsapp_fake::PHONE_NUMBER_ID,
        )
        .env("BARBERPRO_WHATSAPP__ACCESS_TOKEN", whatsapp_fake::TOKEN)
        .env("BARBERPRO_WHATSAPP__APP_SECRET", "secret")
        .env("BARBERPRO_WHATSAPP__VERIFY_TOKEN", "verify")
        .env("BARBERPRO_WHATSAPP__REQUEST_TIMEOUT_SECS", "60")
        .env("BARBERPRO_WHATSAPP__RETRY__INITIAL_BACKOFF_MS", "100")
        .env("BARBERPRO_WHATSAPP__RETRY__MAX_BACKOFF_SECS", "1")
        .env("BARBERPRO_WHATSAPP__RETRY__MAX_ATTEMPTS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("BarberPro is serving") {
            let v: Value = serde_json::from_str(&line).unwrap();
            addr = v["addr"].as_str().map(str::to_owned);
            break;
        }
    }
    let addr = addr.expect("the server announced its address");
    std::thread::spawn(move || for _ in lines {});
    let port = addr.rsplit(':').next().unwrap().to_owned();
    (child, format!("https://localhost:{port}"))
}

fn client(dir: &Path) -> reqwest::Client {
    let ca = std::fs::read(dir.join("tls/ca.pem")).unwrap();
    crate::helpers::trusting(&ca).build().unwrap()
}

/// Free start times at palermo over the coming week (the real clock runs here).
async fn free_starts(http: &reqwest::Client, base: &str) -> Vec<String> {
    let tz = jiff::tz::TimeZone::get("America/Argentina/Buenos_Aires").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let mut out = Vec::new();
    for d in 1..=7 {
        let date = today.checked_add(jiff::Span::new().days(d)).unwrap();
        let v: Value = http
            .get(format!(
                "{base}/api/v1/branches/palermo/availability?date={date}&services=1&barber=any"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for slot in v["slots"].as_array().into_iter().flatten() {
            out.push(slot["start"].as_str().unwrap().to_owned());
        }
        if out.len() >= 12 {
            break;
        }
    }
    out
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
    let starts = free_starts(&http, &base).await;
    assert!(starts.len() >= 2, "no free slots: {starts:?}");
    let mut booked = Vec::new();
    for start in &starts {
        let n = 11 + booked.len() as u32;
        let body = json!({
            "branch": "palermo", "services": [1], "barber": "any", "start": start,
            "client": {"name": "Ana Gómez", "phone": phone(n), "whatsapp_consent": true}
        });
        let resp = http
            .post(format!("{base}/api/v1/bookings"))
            .json(&body)
            .send()
            .await
            .unwrap();
        if resp.status() == 201 {
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
