//! The admin UI in a real headless Chromium (Debian's `chromium` + `chromium-driver`), driven
//! through chromedriver with fantoccini: an owner logs in, opens the agenda, books a walk-in
//! through the form, checks it in and completes it. A screenshot of each step is written to
//! `target/screenshots/`. Without Chromium the test is skipped, except in CI (`CI=true`),
//! where it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use barberpro::domain::staff::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::{PASSWORD, create_staff};
use crate::helpers::{TUESDAY, spawn_app};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts chromedriver, or says why not (`None` = skip outside CI).
async fn start_driver() -> Option<Driver> {
    let missing = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|p| !Path::new(p).exists());
    if let Some(missing) = missing {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "{missing} is missing: CI must install chromium, chromium-driver and fonts-liberation (.ci/run)"
        );
        eprintln!(
            "skipping the browser test: {missing} is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port} within 10 s");
}

async fn connect(driver: &Driver) -> Client {
    let profile = driver._profile.path().display().to_string();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--ignore-certificate-errors",
        "--lang=es-AR",
        "--window-size=1280,900",
        &format!("--user-data-dir={profile}"),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("admin-{name}.png")), png)
        .expect("write screenshot");
}

/// Polls until the element's text is `want` (the page reloads after a form), up to 10 s.
async fn wait_for_text(
    c: &Client,
    css: &str,
    want: &str,
) -> Result<(), fantoccini::error::CmdError> {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(element) = c.find(Locator::Css(css)).await {
            last = element.text().await.unwrap_or_default();
            if last == want {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} shows {last:?}, not {want:?}");
}

async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn an_owner_logs_in_books_a_walk_in_checks_it_in_and_completes_it_in_chromium() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let c = connect(&driver).await;
    let result = run(&c, &app.base).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
}

async fn run(c: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    // Log in.
    c.goto(&format!("{base}/admin/login")).await?;
    shot(c, "1-login").await;
    c.find(Locator::Css("#email"))
        .await?
        .send_keys("duena@barberpro.test")
        .await?;
    c.find(Locator::Css("#password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    c.find(Locator::Css("button.primary"))
        .await?
        .click()
        .await?;
    c.wait().for_element(Locator::Css("#agenda-date")).await?;
    assert!(c.current_url().await?.path().ends_with("/admin/agenda"));
    let text = body_text(c).await;
    assert!(text.contains("Agenda"), "{text}");

    // The agenda of Tuesday, through the day navigation.
    c.goto(&format!(
        "{base}/admin/agenda?branch=palermo&date={TUESDAY}"
    ))
    .await?;
    let date = c.find(Locator::Css("#agenda-date")).await?.text().await?;
    assert_eq!(date.to_lowercase(), "martes 02/03/2027");
    shot(c, "2-agenda").await;

    // A walk-in: phone, services, barber "cualquiera", find the free slots, book the first.
    c.find(Locator::Css("nav a[href='/admin/bookings/new']"))
        .await?
        .click()
        .await?;
    c.wait().for_element(Locator::Css("#search")).await?;
    c.find(Locator::Css("#phone"))
        .await?
        .send_keys("011 15-4444-5555")
        .await?;
    c.find(Locator::Css("#name"))
        .await?
        .send_keys("Walter Ingreso")
        .await?;
    // Typing into a date input depends on the browser's locale; set the value directly.
    c.execute(
        "document.getElementById('date').value = arguments[0];",
        vec![json!(TUESDAY)],
    )
    .await?;
    c.find(Locator::Css("input[name=services][value='1']"))
        .await?
        .click()
        .await?;
    c.find(Locator::Css("#find-slots")).await?.click().await?;
    c.wait().for_element(Locator::Css("#book")).await?;
    shot(c, "3-new-booking").await;
    c.find(Locator::Css("#confirm")).await?.click().await?;
    c.wait().for_element(Locator::Css(".flash-ok")).await?;
    let flash = c.find(Locator::Css(".flash-ok")).await?.text().await?;
    assert!(
        flash.starts_with("Turno creado: 02/03/2027 10:00"),
        "{flash}"
    );
    shot(c, "4-booked").await;

    // Check it in, then complete it.
    for (action, status) in [("checked_in", "en el local"), ("completed", "realizado")] {
        let cell = c.find(Locator::Css("td.booking")).await?;
        cell.find(Locator::Css("summary")).await?.click().await?;
        cell.find(Locator::Css(&format!("button[data-action='{action}']")))
            .await?
            .click()
            .await?;
        wait_for_text(c, "td.booking .badge", status).await?;
        shot(c, &format!("5-{action}")).await;
    }
    Ok(())
}
