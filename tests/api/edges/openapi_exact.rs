//! The OpenAPI document says what the server accepts where schemathesis found it looser:
//! the availability `date` is a date, `start` a date-time, the barber choice an id or `"any"`
//! (not any object), and the cancel body may be left out but is never `null`.

use serde_json::Value;

use crate::helpers::spawn_app;

/// Follows `$ref`s into `#/components/schemas`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        ),
        None => v,
    }
}

#[tokio::test]
async fn the_document_is_as_strict_as_the_server() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    let paths = &doc["paths"];

    let availability = &paths["/api/v1/branches/{slug}/availability"]["get"]["parameters"];
    let date = availability
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "date")
        .expect("a date parameter");
    assert_eq!(date["schema"]["format"], "date", "{date}");

    let schemas = &doc["components"]["schemas"];
    for request in ["CreateBookingRequest", "RescheduleRequest"] {
        let start = &schemas[request]["properties"]["start"];
        assert_eq!(start["format"], "date-time", "{request}.start: {start}");
    }
    let barber = resolve(
        &doc,
        &schemas["CreateBookingRequest"]["properties"]["barber"],
    );
    let choices = barber["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("oneOf: {barber}"));
    let types: Vec<&Value> = choices.iter().map(|c| &c["type"]).collect();
    assert_eq!(types, ["integer", "string"], "{barber}");
    assert_eq!(choices[1]["enum"], serde_json::json!(["any"]), "{barber}");
    assert_eq!(choices[0]["minimum"], 0, "{barber}");

    let cancel = &paths["/api/v1/bookings/{id}/cancel"]["post"]["requestBody"];
    assert_ne!(
        cancel["required"], true,
        "the body may be left out: {cancel}"
    );
    let body = resolve(&doc, &cancel["content"]["application/json"]["schema"]);
    // (`{"reason": null}` is accepted: only the body itself may not be null.)
    assert!(
        body["type"] == "object" && body.get("nullable").is_none() && body.get("oneOf").is_none(),
        "a null body is not accepted: {body}"
    );
}
