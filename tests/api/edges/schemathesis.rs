//! schemathesis (property-based, from the OpenAPI document) against the real server, every
//! check, a bounded number of examples with a fixed seed: no 5xx, every answer as documented,
//! schema-valid requests accepted (or refused by a booking rule, 409/422), invalid ones refused.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::spawn_app;
use crate::skipped::{INSTALL_SCHEMATHESIS, skip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure_in_the_api() {
    let venv = std::env::var_os("SCHEMATHESIS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/barberpro-schemathesis"));
    let st = venv.join("bin/schemathesis");
    if !st.exists() {
        skip(
            &format!("{} not found (SCHEMATHESIS_VENV)", st.display()),
            INSTALL_SCHEMATHESIS,
        );
        return;
    }
    let app = spawn_app().await;
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemathesis/schemathesis.toml"
    );
    let mut run = Command::new(&st);
    run.arg("--config-file")
        .arg(config)
        .args(["--no-color", "run"])
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--checks", "all", "--max-examples", "15", "--seed", "29"])
        .arg("--tls-verify")
        .arg(app.data_dir.join("tls/ca.pem"))
        .current_dir(app.data_dir.clone());
    let out = tokio::task::spawn_blocking(move || run.output())
        .await
        .unwrap()
        .expect("schemathesis runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    assert!(
        text.contains("Tested: 8"),
        "every operation was tested:\n{text}"
    );
}
