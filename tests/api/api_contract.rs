//! The public API's contract as a client sees it from outside: every error it answers is JSON
//! with a Spanish message, and every status it answers is one the OpenAPI document lists for
//! that operation.

use serde_json::{Value, json};

use crate::helpers::*;

/// The statuses the OpenAPI document lists for one operation.
fn documented(doc: &Value, method: &str, path: &str) -> Vec<u16> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not in the OpenAPI document"))
        .keys()
        .map(|k| k.parse().expect("numeric status"))
        .collect()
}

#[tokio::test]
async fn a_path_that_cannot_be_a_slug_is_a_json_404() {
    let app = spawn_app().await;
    // %ff decodes to a byte that is not UTF-8: no branch can have that slug.
    for path in [
        "/api/v1/branches/%ff/services",
        "/api/v1/branches/%ff/barbers",
        "/api/v1/branches/%C0%AF/availability?date=2027-03-02&services=1",
    ] {
        let answer = app.get(path).await;
        assert!(answer.body.is_object(), "{path}: not JSON: {}", answer.body);
        answer.expect_error(404, "unknown_branch");
    }
}

#[tokio::test]
async fn rescheduling_a_cancelled_booking_says_why_in_spanish() {
    let app = spawn_app().await;
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    app.post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await
        .expect(200);
    let answer = app
        .post_auth(
            &format!("/api/v1/bookings/{id}/reschedule"),
            &token,
            Some(&json!({"start": at(TUESDAY, "11:00")})),
        )
        .await;
    let message = answer.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    answer.expect_error(409, "invalid_transition");
    assert!(
        message.contains("cancelado") && message.contains("reprogramar"),
        "{message}"
    );
    assert!(!message.contains("desconocido"), "{message}");
    let again = app
        .post_auth(&format!("/api/v1/bookings/{id}/cancel"), &token, None)
        .await;
    assert_eq!(
        again.body["error"]["message"], "El turno ya está «cancelado».",
        "{}",
        again.body
    );
    again.expect_error(409, "invalid_transition");
}

#[tokio::test]
async fn every_status_the_api_answers_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    let (id, token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .await;
    let (other, other_token) = app
        .book_ok(&booking(&[1], json!(1), &at(TUESDAY, "11:00"), &phone(2)))
        .await;
    let big = vec![b' '; 70 * 1024];
    let mut seen: Vec<(&str, &str, u16, String)> = Vec::new();
    let mut record = |method, path, status: u16, what: &str| {
        seen.push((method, path, status, what.to_owned()));
    };

    // Catalogue and availability.
    let branches = "/api/v1/branches";
    record(
        "get",
        branches,
        app.get(branches).await.status.as_u16(),
        "list",
    );
    for (template, concrete) in [
        (
            "/api/v1/branches/{slug}/services",
            "/api/v1/branches/{}/services",
        ),
        (
            "/api/v1/branches/{slug}/barbers",
            "/api/v1/branches/{}/barbers",
        ),
    ] {
        for slug in ["palermo", "nope", "%ff"] {
            let status = app.get(&concrete.replace("{}", slug)).await.status;
            record("get", template, status.as_u16(), slug);
        }
    }
    let avail = "/api/v1/branches/{slug}/availability";
    for query in [
        "palermo/availability?date=2027-03-02&services=1",
        "palermo/availability?services=1",
        "nope/availability?date=2027-03-02&services=1",
        "palermo/availability?date=2020-01-01&services=1",
    ] {
        let status = app.get(&format!("/api/v1/branches/{query}")).await.status;
        record("get", avail, status.as_u16(), query);
    }

    // Creating.
    let create = "/api/v1/bookings";
    let taken = booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(3));
    let mut unknown_branch = booking(&[1], json!(1), &at(TUESDAY, "12:00"), &phone(4));
    unknown_branch["branch"] = json!("nope");
    let mut wrong_type = unknown_branch.clone();
    wrong_type["services"] = json!("1");
    for (what, answer) in [
        ("taken", app.book(&taken).await),
        ("unknown branch", app.book(&unknown_branch).await),
        ("wrong type", app.book(&wrong_type).await),
        (
            "malformed",
            app.post_raw(create, Some("application/json"), b"{".to_vec())
                .await,
        ),
        (
            "too large",
            app.post_raw(create, Some("application/json"), big.clone())
                .await,
        ),
        (
            "not JSON",
            app.post_raw(create, Some("text/plain"), b"{}".to_vec())
                .await,
        ),
    ] {
        record("post", create, answer.status.as_u16(), what);
    }
    let made = app
        .book(&booking(&[1], json!(1), &at(TUESDAY, "15:00"), &phone(5)))
        .await;
    record("post", create, made.status.as_u16(), "created");

    // Looking, rescheduling and cancelling.
    let one = "/api/v1/bookings/{id}";
    let mine = format!("/api/v1/bookings/{id}");
    for (what, answer) in [
        ("ok", app.get_auth(&mine, &token).await),
        ("no token", app.get(&mine).await),
        (
            "unknown",
            app.get_auth("/api/v1/bookings/99999", &token).await,
        ),
    ] {
        record("get", one, answer.status.as_u16(), what);
    }
    let raw_post = |path: String, content_type: &'static str, body: Vec<u8>| {
        let req = app
            .client
            .post(app.url(&path))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    for (action, template) in [
        ("reschedule", "/api/v1/bookings/{id}/reschedule"),
        ("cancel", "/api/v1/bookings/{id}/cancel"),
    ] {
        let path = format!("/api/v1/bookings/{id}/{action}");
        let json = "application/json";
        record(
            "post",
            template,
            raw_post(path.clone(), json, b"{".to_vec()).await,
            "malformed",
        );
        record(
            "post",
            template,
            raw_post(path.clone(), json, big.clone()).await,
            "too large",
        );
        let plain = raw_post(path.clone(), "text/plain", b"{}".to_vec()).await;
        record("post", template, plain, "not JSON");
        let wrong = raw_post(path.clone(), json, br#"{"start": 5, "reason": 5}"#.to_vec()).await;
        record("post", template, wrong, "wrong type");
        let anon = app.post(&path, &json!({})).await.status.as_u16();
        record("post", template, anon, "no token");
        let unknown = format!("/api/v1/bookings/99999/{action}");
        let status = app
            .post_auth(&unknown, &token, Some(&json!({})))
            .await
            .status;
        record("post", template, status.as_u16(), "unknown");
    }
    let reschedule = "/api/v1/bookings/{id}/reschedule";
    let move_to = |hhmm: &str| json!({"start": at(TUESDAY, hhmm)});
    let path = format!("/api/v1/bookings/{id}/reschedule");
    for (what, body) in [
        ("taken", move_to("11:00")),
        ("outside hours", move_to("07:00")),
        ("moved", move_to("16:00")),
    ] {
        let status = app.post_auth(&path, &token, Some(&body)).await.status;
        record("post", reschedule, status.as_u16(), what);
    }
    let cancel = "/api/v1/bookings/{id}/cancel";
    let path = format!("/api/v1/bookings/{other}/cancel");
    let long_reason = json!({"reason": "x".repeat(2000)});
    for (what, body) in [
        ("reason too long", Some(long_reason)),
        ("cancelled", None),
        ("again", None),
    ] {
        let answer = app.post_auth(&path, &other_token, body.as_ref()).await;
        record("post", cancel, answer.status.as_u16(), what);
    }

    let mut missing = Vec::new();
    let mut statuses: Vec<u16> = Vec::new();
    for (method, path, status, what) in &seen {
        statuses.push(*status);
        if !documented(&doc, method, path).contains(status) {
            missing.push(format!("{method} {path} answered {status} ({what})"));
        }
    }
    assert!(
        missing.is_empty(),
        "answers the OpenAPI document does not list: {missing:#?}"
    );
    // The probes really reached every status the issue names (so this test cannot pass
    // by answering 200 to everything).
    for status in [200, 201, 400, 401, 404, 409, 413, 415, 422] {
        assert!(statuses.contains(&status), "no probe answered {status}");
    }
}

#[tokio::test]
async fn one_client_across_branches_found_by_phone_in_any_form() {
    let app = spawn_app().await;
    let at_palermo = booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "10:00"),
        "011 15-2345-6789",
    );
    let (first, _) = app.book_ok(&at_palermo).await;
    // The same mobile, written the international way, at the other branch.
    let mut at_belgrano = booking(
        &[1],
        json!("any"),
        &at(TUESDAY, "16:00"),
        "+54 9 11 2345-6789",
    );
    at_belgrano["branch"] = json!("belgrano");
    let (second, _) = app.book_ok(&at_belgrano).await;
    let clients = app
        .store
        .read(move |tx| {
            let a = barberpro::store::bookings::get(tx, barberpro::domain::BookingId(first.n))?;
            let b = barberpro::store::bookings::get(tx, barberpro::domain::BookingId(second.n))?;
            Ok((a.map(|b| b.client), b.map(|b| b.client)))
        })
        .await
        .unwrap();
    assert!(clients.0.is_some());
    assert_eq!(clients.0, clients.1, "one client record for one phone");
    // Being one client, they cannot be at both branches at once.
    let mut overlapping = at_belgrano.clone();
    overlapping["start"] = json!(at(TUESDAY, "10:15"));
    overlapping["client"]["phone"] = json!("+5491123456789");
    app.book(&overlapping)
        .await
        .expect_error(409, "client_overlap");
}

#[tokio::test]
async fn the_database_keeps_the_manage_tokens_hash_never_the_token() {
    let mut app = spawn_app().await;
    // With an Idempotency-Key, whose record replays the booking (token included) later.
    let resp = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "token-at-rest")
        .json(&booking(&[1], json!(1), &at(TUESDAY, "10:00"), &phone(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let token = body["manage_token"].as_str().unwrap().to_owned();
    let dir = app.take_dir();
    app.stop().await;
    let file = std::fs::read(dir.path().join(barberpro::store::DB_FILE)).unwrap();
    let holds = |needle: &str| file.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!holds(&token), "the manage token is in the database file");
    assert!(
        holds(&barberpro::domain::token::hash(&token)),
        "its hash is not (so this search would not have found the token either)"
    );
}

#[tokio::test]
async fn an_availability_parameter_given_twice_is_refused_not_half_read() {
    let app = spawn_app().await;
    let base = "/api/v1/branches/palermo/availability";
    for query in [
        "date=2027-03-02&services=1&services=3",
        "date=2027-03-02&date=2027-03-03&services=1",
        "date=2027-03-02&services=1&barber=1&barber=any",
    ] {
        let answer = app.get(&format!("{base}?{query}")).await;
        let message = answer.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        answer.expect_error(400, "invalid_parameter");
        assert!(message.contains("más de una vez"), "{query}: {message}");
    }
    // Bytes that are not UTF-8 are a bad value, answered as JSON like the rest.
    app.get(&format!("{base}?date=%ff&services=1"))
        .await
        .expect_error(400, "invalid_date");
    app.get(&format!("{base}?date=2027-03-02&services=%ff"))
        .await
        .expect_error(400, "invalid_parameter");
    // Unknown parameters are no business of ours, repeated or not.
    app.get(&format!("{base}?date=2027-03-02&services=1,3&utm=a&utm=b"))
        .await
        .expect(200);
}

/// Follows `$ref`s into `components.schemas`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "dangling $ref {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// The properties and required names of an object schema, `allOf` parts merged (serde's
/// `flatten` becomes `allOf`).
fn object_parts(doc: &Value, schema: &Value, props: &mut serde_json::Map<String, Value>) {
    let schema = resolve(doc, schema);
    if let Some(p) = schema["properties"].as_object() {
        props.extend(p.clone());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        object_parts(doc, part, props);
    }
}

fn required(doc: &Value, schema: &Value, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for r in schema["required"].as_array().into_iter().flatten() {
        out.push(r.as_str().unwrap().to_owned());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        required(doc, part, out);
    }
}

/// A small validator for what utoipa emits: `$ref`, `allOf`, `oneOf`/`anyOf`, `type` (one or
/// a list), objects (required fields, and no field the schema does not describe), arrays.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|o| {
                let mut e = Vec::new();
                conforms(doc, o, value, at, &mut e);
                e.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} matches none of {key}"));
            }
            return;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let type_ok = types.is_empty()
        || types.contains(&kind)
        || (kind == "integer" && types.contains(&"number"));
    if !type_ok {
        errors.push(format!("{at}: {kind} where the document says {types:?}"));
        return;
    }
    match value {
        Value::Object(fields) => {
            let mut props = serde_json::Map::new();
            object_parts(doc, schema, &mut props);
            let mut needed = Vec::new();
            required(doc, schema, &mut needed);
            for name in needed {
                if !fields.contains_key(&name) {
                    errors.push(format!("{at}.{name}: required by the document, missing"));
                }
            }
            for (name, v) in fields {
                match props.get(name) {
                    Some(s) => conforms(doc, s, v, &format!("{at}.{name}"), errors),
                    None => errors.push(format!("{at}.{name}: not in the document")),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_answer_has_the_shape_the_openapi_document_gives_it() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json").await.expect(200);
    let (id, token) = app
        .book_ok(&booking(
            &[1, 3],
            json!("any"),
            &at(TUESDAY, "10:00"),
            &phone(1),
        ))
        .await;
    let mut with_notes = booking(&[2], json!(2), &at(TUESDAY, "15:00"), &phone(2));
    with_notes["notes"] = json!("Con navaja 💈");
    with_notes["client"]["email"] = json!("ana@example.com");
    let mut answers: Vec<(&str, &str, Answer)> = vec![
        ("get", "/api/v1/branches", app.get("/api/v1/branches").await),
        (
            "get",
            "/api/v1/branches/{slug}/services",
            app.get("/api/v1/branches/palermo/services").await,
        ),
        (
            "get",
            "/api/v1/branches/{slug}/barbers",
            app.get("/api/v1/branches/palermo/barbers").await,
        ),
        (
            "get",
            "/api/v1/branches/{slug}/availability",
            app.availability("palermo", TUESDAY, "1,3", "any").await,
        ),
        ("post", "/api/v1/bookings", app.book(&with_notes).await),
        (
            "get",
            "/api/v1/bookings/{id}",
            app.get_auth(&format!("/api/v1/bookings/{id}"), &token)
                .await,
        ),
        (
            "post",
            "/api/v1/bookings/{id}/reschedule",
            app.post_auth(
                &format!("/api/v1/bookings/{id}/reschedule"),
                &token,
                Some(&json!({"start": at(TUESDAY, "16:00"), "barber": "any"})),
            )
            .await,
        ),
        (
            "post",
            "/api/v1/bookings/{id}/cancel",
            app.post_auth(
                &format!("/api/v1/bookings/{id}/cancel"),
                &token,
                Some(&json!({"reason": "No llego"})),
            )
            .await,
        ),
    ];
    // Errors, with and without a detail.
    answers.push((
        "get",
        "/api/v1/bookings/{id}",
        app.get("/api/v1/bookings/1").await,
    ));
    let mut wrong = booking(&[1], json!(1), &at(TUESDAY, "12:00"), &phone(3));
    wrong["services"] = json!("1");
    answers.push(("post", "/api/v1/bookings", app.book(&wrong).await));

    let statuses: Vec<u16> = answers.iter().map(|(_, _, a)| a.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 201, 200, 200, 200, 401, 422]);
    let mut errors = Vec::new();
    for (method, path, answer) in &answers {
        let status = answer.status.as_u16().to_string();
        let schema = &doc["paths"][path][method]["responses"][&status]["content"]["application/json"]
            ["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} {status}: no schema in the document"
        );
        conforms(
            &doc,
            schema,
            &answer.body,
            &format!("{method} {path} {status}"),
            &mut errors,
        );
    }
    assert!(
        errors.is_empty(),
        "answers unlike the document: {errors:#?}"
    );
}
