//! Availability: hours, breaks, closures, notice, horizon, the slot grid and offsets.

use barberpro::domain::{BranchId, Closure, ClosureId, ClosureScope, Text};
use barberpro::store::catalog;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn catalogue_lists_branches_services_and_barbers() {
    let app = spawn_app().await;
    let branches = app.get("/api/v1/branches").await.expect(200);
    let slugs: Vec<_> = branches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["palermo", "belgrano"]);
    assert_eq!(branches[0]["time_zone"], "America/Argentina/Buenos_Aires");
    let services = app
        .get("/api/v1/branches/palermo/services")
        .await
        .expect(200);
    assert!(services.as_array().unwrap().len() >= 5);
    assert_eq!(services[0]["price_display"], "$\u{a0}8.000,00");
    assert_eq!(services[0]["price_centavos"], 800_000);
    let barbers = app
        .get("/api/v1/branches/palermo/barbers")
        .await
        .expect(200);
    let names: Vec<_> = barbers
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Martín", "Lucía", "Nicolás"]);
    app.get("/api/v1/branches/nowhere/services")
        .await
        .expect_error(404, "unknown_branch");
    app.get("/api/v1/branches/nowhere/barbers")
        .await
        .expect_error(404, "unknown_branch");
}

#[tokio::test]
async fn slots_follow_hours_breaks_and_the_grid_with_local_offsets() {
    let app = spawn_app().await;
    let body = app
        .availability("palermo", TUESDAY, "1", "1")
        .await
        .expect(200);
    let slot = &body["slots"][0];
    assert_eq!(slot["start"], "2027-03-02T10:00:00-03:00");
    assert_eq!(slot["end"], "2027-03-02T10:30:00-03:00");
    assert_eq!(slot["barber_id"], 1);
    assert_eq!(slot["barber_name"], "Martín");
    let times = app.free_times("palermo", TUESDAY, "1", "1").await;
    // 30 min + 5 min buffer must fit before lunch (13:00) and before closing (20:00).
    assert!(times.contains(&"12:15".into()));
    assert!(
        !times.contains(&"12:30".into()),
        "would run into lunch: {times:?}"
    );
    assert!(
        !times
            .iter()
            .any(|t| t.as_str() >= "12:30" && t.as_str() < "14:00"),
        "{times:?}"
    );
    assert!(times.contains(&"14:00".into()));
    assert_eq!(times.last().unwrap(), "19:15");
    assert!(times.iter().all(|t| t.ends_with(":00")
        || t.ends_with(":15")
        || t.ends_with(":30")
        || t.ends_with(":45")));
}

#[tokio::test]
async fn any_barber_offers_each_time_once_and_only_barbers_who_do_the_services() {
    let app = spawn_app().await;
    // Colour (5) is done by Lucía only at palermo on Tuesdays.
    let body = app
        .availability("palermo", TUESDAY, "5", "any")
        .await
        .expect(200);
    let slots = body["slots"].as_array().unwrap();
    assert!(!slots.is_empty());
    assert!(slots.iter().all(|s| s["barber_id"] == 2));
    let body = app
        .availability("palermo", TUESDAY, "1", "any")
        .await
        .expect(200);
    let starts: Vec<_> = body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].clone())
        .collect();
    let mut dedup = starts.clone();
    dedup.dedup();
    assert_eq!(starts, dedup, "each start offered once");
    // Only Nicolás does Colour + Shave, and he is at palermo on Mondays and Wednesdays.
    let tuesday = app
        .availability("palermo", TUESDAY, "4,5", "any")
        .await
        .expect(200);
    assert_eq!(tuesday["slots"], serde_json::json!([]));
    let monday = app
        .availability("palermo", "2027-03-08", "4,5", "any")
        .await
        .expect(200);
    assert!(
        monday["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["barber_id"] == 5)
    );
    assert!(!monday["slots"].as_array().unwrap().is_empty());
    // Martín does not do Colour.
    app.availability("palermo", TUESDAY, "5", "1")
        .await
        .expect_error(422, "service_not_offered");
}

#[tokio::test]
async fn no_slots_on_days_off_and_closures() {
    let app = spawn_app().await;
    // Martín does not work Mondays.
    assert!(
        app.free_times("palermo", "2027-03-08", "1", "1")
            .await
            .is_empty()
    );
    let store = app.store.clone();
    let tz = barberpro::domain::time::time_zone("America/Argentina/Buenos_Aires").unwrap();
    let day = jiff::civil::date(2027, 3, 3);
    let start = barberpro::domain::time::day_start(day, &tz).unwrap();
    let end = barberpro::domain::time::day_start(day.tomorrow().unwrap(), &tz).unwrap();
    store
        .write(move |txn| {
            catalog::insert_closure(
                txn,
                Closure {
                    id: ClosureId(0),
                    scope: ClosureScope::Branch(BranchId(1)),
                    start,
                    end,
                    reason: Text::line("reason", "Inventario", 50)?,
                },
            )
        })
        .await
        .unwrap();
    assert!(
        app.free_times("palermo", "2027-03-03", "1", "any")
            .await
            .is_empty()
    );
    app.book(&booking(
        &[1],
        json!(1),
        &at("2027-03-03", "10:00"),
        &phone(1),
    ))
    .await
    .expect_error(422, "closed");
    // Belgrano is not closed that day.
    assert!(
        !app.free_times("belgrano", "2027-03-03", "1", "any")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn today_respects_the_minimum_notice() {
    let app = spawn_app_at("2027-03-02T11:10:00-03:00").await;
    let times = app.free_times("palermo", TUESDAY, "1", "1").await;
    assert_eq!(
        times.first().map(String::as_str),
        Some("12:15"),
        "60 min notice from 11:10"
    );
}

#[tokio::test]
async fn dates_are_checked() {
    let app = spawn_app().await;
    app.availability("palermo", "2027-02-28", "1", "any")
        .await
        .expect_error(422, "in_the_past");
    // Horizon: 60 days from 2027-03-01 is 2027-04-30.
    app.availability("palermo", "2027-04-30", "1", "any")
        .await
        .expect(200);
    app.availability("palermo", "2027-05-01", "1", "any")
        .await
        .expect_error(422, "beyond_horizon");
    for bad in ["2027-13-01", "01/03/2027", "tomorrow", "2027-3-2", ""] {
        app.availability("palermo", bad, "1", "any")
            .await
            .expect_error(400, "invalid_date");
    }
    app.get("/api/v1/branches/palermo/availability?services=1")
        .await
        .expect_error(400, "missing_parameter");
    app.get("/api/v1/branches/palermo/availability?date=2027-03-02")
        .await
        .expect_error(400, "missing_parameter");
    app.availability("palermo", TUESDAY, "1,x", "any")
        .await
        .expect_error(400, "invalid_parameter");
    app.availability("palermo", TUESDAY, "1", "pepe")
        .await
        .expect_error(400, "invalid_parameter");
    app.availability("palermo", TUESDAY, "99", "any")
        .await
        .expect_error(422, "unknown_service");
    app.availability("palermo", TUESDAY, "1", "3")
        .await
        .expect_error(422, "unknown_barber");
    app.availability("nowhere", TUESDAY, "1", "any")
        .await
        .expect_error(404, "unknown_branch");
}
