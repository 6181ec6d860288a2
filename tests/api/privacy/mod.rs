//! Personal data (Ley 25.326) and the audit log: a person's export and erasure from the
//! command line (server running or stopped) and the admin UI, rectification, audit entries
//! for every path (clients through the API, staff, commands, jobs), the daily retention job.

mod admin_ui;
mod api_audit;
mod cli;
mod retention_job;
mod secrets;

use std::path::Path;
use std::process::{Command, Output};

use barberpro::domain::staff::Role;
use barberpro::domain::{ClientId, Phone};
use barberpro::retention::{self, Settings};
use barberpro::store::audit::{self, AuditEntry};
use barberpro::store::{clients, privacy, staff};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin::{Browser, create_staff, get_booking, owner_app};
use crate::helpers::{TUESDAY, TestApp, at, spawn_app, ts};

/// The person these tests book for: how they typed the phone, and its E.164 form.
const TYPED: &str = "011 15-2345-6701";
const E164: &str = "+5491123456701";

fn barberpro(args: &[&str], data_dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barberpro"));
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("the binary runs")
}

#[track_caller]
fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {} {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn book_two(app: &TestApp, name: &str) -> (u64, String, u64, String) {
    let mut first = json!({
        "branch": "palermo",
        "services": [1],
        "barber": 1,
        "start": at(TUESDAY, "10:00"),
        "client": {"name": name, "phone": TYPED, "email": "ana@example.com.ar",
                   "whatsapp_consent": true},
        "notes": "Alérgica al talco"
    });
    let (a, ta) = app.book_ok(&first).await;
    first["start"] = json!(at(TUESDAY, "15:00"));
    first["notes"] = Value::Null;
    let (b, tb) = app.book_ok(&first).await;
    (a.n, ta, b.n, tb)
}

async fn all_audit(app: &TestApp) -> Vec<AuditEntry> {
    let mut entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 100_000))
        .await
        .unwrap();
    entries.reverse();
    entries
}

async fn client_of(app: &TestApp, id: u64) -> barberpro::domain::Client {
    app.store
        .read(move |tx| clients::get(tx, ClientId(id)))
        .await
        .unwrap()
        .expect("the client record stays")
}

async fn client_id_by_phone(app: &TestApp, e164: &str) -> Option<u64> {
    let phone = Phone::parse(e164).unwrap();
    app.store
        .read(move |tx| clients::by_phone(tx, &phone))
        .await
        .unwrap()
        .map(|c| c.id.0)
}

/// Asserts that no audit entry holds any of the person's data.
#[track_caller]
fn audit_is_free_of(entries: &[AuditEntry], needles: &[&str]) {
    for e in entries {
        let text = serde_json::to_string(e).unwrap();
        for n in needles {
            assert!(
                !text.contains(n),
                "audit entry {} ({}) holds personal data {n:?}: {text}",
                e.id,
                e.action
            );
        }
    }
}
