//! Headless Chromium for the browser tests (Debian's `chromium` + `chromium-driver`), driven
//! through a local chromedriver with fantoccini. Without Chromium a test is skipped, except in
//! CI (`CI=true`), where it fails. Screenshots go to `target/screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port; killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
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
pub async fn start_driver() -> Option<Driver> {
    let missing = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|p| !Path::new(p).exists());
    if let Some(missing) = missing {
        crate::skipped::skip(
            &format!("{missing} is not installed"),
            crate::skipped::INSTALL_CHROMIUM,
        );
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        // On Linux Chromium takes the locale it formats time inputs by from the environment,
        // not from `--lang`, and only for the languages chromium-l10n installs (.ci/run):
        // `es` writes 13:00 as people in Argentina do (`es-419` would write 01:00 p.m.).
        .env("LANGUAGE", "es")
        .env("LANG", "es_AR.UTF-8")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = Driver {
        child,
        port,
        profile,
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

/// The screen a session emulates.
pub enum Screen {
    /// A desktop window.
    Desktop { width: u32, height: u32 },
    /// A phone: the page is laid out `width` CSS pixels wide, honouring its viewport tag.
    Phone { width: u32, height: u32 },
}

pub async fn connect(driver: &Driver, screen: Screen) -> Client {
    let profile = driver.profile.path().display().to_string();
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--ignore-certificate-errors".into(),
        "--lang=es-AR".into(),
        format!("--user-data-dir={profile}"),
    ];
    let mut options = json!({ "binary": CHROMIUM });
    match screen {
        Screen::Desktop { width, height } => args.push(format!("--window-size={width},{height}")),
        Screen::Phone { width, height } => {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0,
                                   "mobile": true, "touch": true }
            });
        }
    }
    options["args"] = json!(args);
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
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

/// Writes `target/screenshots/{name}.png`.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// chromedriver's answer to a command cut short because the page navigated (a followed link, a
/// submitted form): for the command that caused the navigation, that is success.
fn is_navigation(e: &CmdError) -> bool {
    matches!(e, CmdError::NotW3C(v) if v == "aborted by navigation")
}

/// The result of a command that may navigate: "aborted by navigation" counts as done.
pub fn navigating(result: Result<(), CmdError>) -> Result<(), CmdError> {
    match result {
        Err(e) if is_navigation(&e) => Ok(()),
        other => other,
    }
}

/// Clicks the element; the click may follow a link or send a form.
pub async fn click(c: &Client, css: &str) -> Result<(), CmdError> {
    let element = c.find(Locator::Css(css)).await?;
    navigating(element.click().await.map(drop))
}

/// Waits up to 10 s for an element, as on the page a click leads to; a search cut short while
/// that page loads is tried again.
pub async fn wait_for(c: &Client, css: &str) -> Result<Element, CmdError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Err(e) if is_navigation(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// Polls until the element's text is `want` (the page reloads after a form), up to 10 s.
pub async fn wait_for_text(c: &Client, css: &str, want: &str) -> Result<(), CmdError> {
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

pub async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

/// Writes `tests/screenshots/{name}.png`, an image the README shows (and
/// `target/screenshots/` too, with the others).
pub async fn readme_shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    std::fs::create_dir_all(&dir).expect("tests/screenshots");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("write README screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}
