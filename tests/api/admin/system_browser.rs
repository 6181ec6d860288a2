//! The Sistema page's «Hacer copia ahora» in a real headless Chromium: the owner presses it,
//! the page follows the copy while it runs and shows its result, and the copy is listed.

use barberpro::domain::staff::Role;
use fantoccini::{Client, Locator};

use super::{PASSWORD, create_staff};
use crate::chromium::{Screen, click, connect, start_driver, wait_for};
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_snapshot_button_takes_a_copy_and_shows_its_result_in_chromium() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let c = connect(
        &driver,
        Screen::Desktop {
            width: 1280,
            height: 900,
        },
    )
    .await;
    let result = press(&c, &app.base).await;
    let _ = c.close().await;
    result.expect("the browser walk-through");
    let status = barberpro::snapshot::status::read(&app.data_dir);
    assert!(status.last_success_at.is_some(), "no snapshot was recorded");
}

async fn press(c: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&format!("{base}/admin/login")).await?;
    c.find(Locator::Css("#email"))
        .await?
        .send_keys("duena@barberpro.test")
        .await?;
    c.find(Locator::Css("#password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    click(c, "button.primary").await?;
    wait_for(c, "#agenda-date").await?;
    c.goto(&format!("{base}/admin/sistema")).await?;
    let warning = wait_for(c, "#backup-warning").await?.text().await?;
    assert!(
        warning.starts_with("Todavía no hay ninguna copia de seguridad."),
        "{warning}"
    );
    click(c, "#snapshot-now").await?;
    let flash = wait_for(c, ".flash-ok").await?.text().await?;
    assert_eq!(flash, "Copia de seguridad iniciada.");
    // admin.js follows the task and shows the page again once it ended.
    let done = c
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css("#task.done"))
        .await?
        .text()
        .await?;
    assert!(
        done.starts_with("Copia de seguridad (desde ") && done.contains("terminó bien"),
        "{done}"
    );
    wait_for(c, "#local-snapshots").await?;
    assert!(
        c.find(Locator::Css("#backup-warning")).await.is_err(),
        "the warning stays after a copy"
    );
    crate::chromium::shot(c, "system-snapshot").await;
    Ok(())
}
