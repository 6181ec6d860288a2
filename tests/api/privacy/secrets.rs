//! Secrets never reach the logs, the error answers or the audit log: the real binary runs with
//! known secret values (a config secret, the metrics token, passwords, session cookies, CSRF
//! and manage tokens), is driven through logins, bookings and errors at debug level, and then
//! its whole log output, the answers and both audit exports are searched for every secret.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::free_starts;

const S3_SECRET: &str = "S3SECRETd41d8cd98f00b204e9800998ecf8427e";
const METRICS_TOKEN: &str = "METRICSTOKEN5f4dcc3b5aa765d61d8327deb882cf99";
const BAD_METRICS_TOKEN: &str = "BADMETRICSd8578edf8458ce06fbc5bb76a58c5ca4";
const WRONG_PASSWORD: &str = "WRONGPASSWORD-e99a18c428cb38d5f2608";
const BAD_MANAGE_TOKEN: &str = "BADMANAGETOKEN-3c59dc048e8850243be8079a5c74d079";
const BAD_CSRF: &str = "BADCSRF-c4ca4238a0b923820dcc509a6f75849b";

fn barberpro() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barberpro"));
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The server's stderr (JSON log lines) so far.
fn log_text(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// Waits for a log line containing `marker` and returns the first `127.0.0.1:PORT` in it.
fn wait_for_addr(log: &Path, marker: &str, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = log_text(log);
        if let Some(line) = text.lines().find(|l| l.contains(marker)) {
            return crate::helpers::address_in(line);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited with {status}: {text}");
        }
        assert!(
            Instant::now() < deadline,
            "no {marker:?} in the log: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_of(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("a CSRF field") + marker.len();
    let end = body[start..].find('"').expect("closing quote") + start;
    body[start..end].to_owned()
}

/// `name=value` of a Set-Cookie header for `name`.
fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// Kills the child on panic, so a failed test leaves no server behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_the_answers_or_the_audit_log() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let token_file = tmp.path().join("metrics.token");
    std::fs::write(&token_file, METRICS_TOKEN).unwrap();
    let config = tmp.path().join("barberpro.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[log]
format = "json"
level = "debug"
[rate_limit]
enabled = false
[metrics]
listen = "127.0.0.1:0"
bearer_token_file = "{}"
[health]
min_free_disk_mib = 0
[snapshot.s3]
access_key_id = "AKIATESTACCESSKEY"
secret_access_key = "{S3_SECRET}"
"#,
            token_file.display()
        ),
    )
    .unwrap();

    // The owner's password, generated and printed once by the CLI.
    let out = barberpro()
        .args(["admin", "create-user", "--role", "owner"])
        .args(["--email", "duena@barberpro.test", "--generate-password"])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once, write it down): "))
        .expect("the password is printed")
        .to_owned();

    let log = tmp.path().join("server.log");
    let child = barberpro()
        .args(["serve", "--demo", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let addr = wait_for_addr(&log, "BarberPro is serving", &mut server.0);
    let metrics_addr = wait_for_addr(&log, "metrics listener serving", &mut server.0);
    assert!(
        log_text(&log).contains(&format!("\"addr\":\"{metrics_addr}\"")),
        "the metrics listener's address is logged as an address"
    );
    let ca = std::fs::read(data.join("tls/ca.pem")).unwrap();
    let http = crate::helpers::trusting(&ca)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let mut answers = String::new();

    // Logins: a wrong password, then the right one.
    let login_page = |http: reqwest::Client| async move {
        let resp = http.get(url("/admin/login")).send().await.unwrap();
        let c = cookie(&resp, "bp_login").expect("login CSRF cookie");
        (c, csrf_of(&resp.text().await.unwrap()))
    };
    let (login_cookie, login_csrf) = login_page(http.clone()).await;
    let wrong = http
        .post(url("/admin/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("email", "duena@barberpro.test"),
            ("password", WRONG_PASSWORD),
            ("csrf", &login_csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    answers.push_str(&wrong.text().await.unwrap());
    let (login_cookie, login_csrf) = login_page(http.clone()).await;
    let ok = http
        .post(url("/admin/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("email", "duena@barberpro.test"),
            ("password", password.as_str()),
            ("csrf", &login_csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let session = cookie(&ok, "bp_session").expect("session cookie");
    let session_value = session.split_once('=').unwrap().1.to_owned();
    let agenda = http
        .get(url("/admin/agenda"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(agenda.status(), StatusCode::OK);
    let csrf = csrf_of(&agenda.text().await.unwrap());

    // A booking on the first free slot (the child runs on the real clock).
    let slot = free_starts(&http, &url(""), 1).await.into_iter().next();
    let start = slot.expect("a free slot within two weeks");
    let created = http
        .post(url("/api/v1/bookings"))
        .json(&json!({
            "branch": "palermo", "services": [1], "barber": "any", "start": start,
            "client": {"name": "Ana Gómez", "phone": "011 15-2345-6789", "whatsapp_consent": true}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().expect("a public id").to_owned();
    let manage = created["manage_token"].as_str().unwrap().to_owned();
    let bad = http
        .get(url(&format!("/api/v1/bookings/{id}")))
        .bearer_auth(BAD_MANAGE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    answers.push_str(&bad.text().await.unwrap());
    let cancelled = http
        .post(url(&format!("/api/v1/bookings/{id}/cancel")))
        .bearer_auth(&manage)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);

    // Staff: a form with a forged CSRF token, then real changes.
    let client_id = 1;
    let forged = http
        .post(url(&format!("/admin/clientes/{client_id}")))
        .header("cookie", &session)
        .form(&[("csrf", BAD_CSRF), ("name", "Ana")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    answers.push_str(&forged.text().await.unwrap());
    let fixed = http
        .post(url(&format!("/admin/clientes/{client_id}")))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("name", "Ana María Gómez")])
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER);
    let unknown = http
        .get(url("/admin/clientes/999999"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Metrics: a wrong token, then the right one (and the failed login was counted).
    let metrics = crate::helpers::plain_client();
    let refused = metrics
        .get(format!("http://{metrics_addr}/metrics"))
        .bearer_auth(BAD_METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    answers.push_str(&refused.text().await.unwrap());
    let scrape = metrics
        .get(format!("http://{metrics_addr}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scrape
            .lines()
            .any(|l| l == "barberpro_login_failures_total 1"),
        "one failed login counted: {}",
        scrape
            .lines()
            .filter(|l| l.contains("login"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Both audit exports: the admin download and the CLI (through the control socket).
    let download = http
        .get(url("/admin/auditoria/export.jsonl"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let audit_download = download.text().await.unwrap();
    let out = barberpro()
        .args(["audit", "export", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit_cli = String::from_utf8_lossy(&out.stdout).into_owned();
    for action in [
        "session.login",
        "booking.create",
        "booking.cancel",
        "client.update",
    ] {
        assert!(
            audit_cli.contains(&format!("\"action\":\"{action}\"")),
            "the log has a {action} entry: {audit_cli}"
        );
    }

    // Stop the server (SIGTERM to our own child) so every log line is flushed.
    let pid = server.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.0.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = log_text(&log);
    assert!(
        logs.contains("failed login"),
        "the log was captured: {logs}"
    );

    let secrets = [
        ("the S3 secret key", S3_SECRET),
        ("the metrics token", METRICS_TOKEN),
        ("a wrong metrics token", BAD_METRICS_TOKEN),
        ("the owner's password", password.as_str()),
        ("a wrong password", WRONG_PASSWORD),
        ("the session cookie", session_value.as_str()),
        ("the session's CSRF token", csrf.as_str()),
        ("a forged CSRF token", BAD_CSRF),
        ("the manage token", manage.as_str()),
        ("a wrong manage token", BAD_MANAGE_TOKEN),
    ];
    for (what, secret) in secrets {
        for (place, text) in [
            ("the server log", &logs),
            ("an error answer", &answers),
            ("the downloaded audit log", &audit_download),
            ("the exported audit log", &audit_cli),
        ] {
            assert!(!text.contains(secret), "{what} appears in {place}");
        }
    }
}
