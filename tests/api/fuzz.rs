//! Bounded fuzzing (proptest) of every parser the network reaches: the booking JSON through
//! the real server, phones and the other domain parsers, and MercadoPago's signature header
//! and webhook query. The property is always the same: no panic, and bad input is a 4xx,
//! never a 500. `PROPTEST_CASES` raises the number of cases (CI runs the default below).

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{TUESDAY, TestApp, at, booking, phone, spawn_app};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Any JSON value, a few levels deep, with the strings a booking form could get.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        "[0-9 +()-]{0,24}".prop_map(Value::String),
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00-03:00".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid booking with one field (or one client field) replaced by anything.
fn mutated_booking() -> impl Strategy<Value = Value> {
    let fields = prop::sample::select(vec![
        "branch",
        "services",
        "barber",
        "start",
        "notes",
        "client",
        "client.name",
        "client.phone",
        "client.email",
        "client.whatsapp_consent",
        "extra",
    ]);
    (fields, any_json()).prop_map(|(field, value)| {
        let mut body = booking(&[1], json!("any"), &at(TUESDAY, "10:00"), &phone(1));
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[field] = value,
        }
        body
    })
}

fn run<S: Strategy>(runs: u32, strategy: S, check: impl Fn(S::Value)) {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(runs),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    runner
        .run(&strategy, |v| {
            check(v);
            Ok(())
        })
        .unwrap();
}

async fn post_raw(app: &TestApp, body: Vec<u8>) -> (u16, String) {
    let resp = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[test]
fn booking_bodies_of_any_shape_get_an_answer_never_a_500() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let check = |body: Vec<u8>| {
        let (status, text) = rt.block_on(post_raw(&app, body.clone()));
        assert!(
            status < 500,
            "{status} for {}: {text}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 {
            let v: Value = serde_json::from_str(&text).expect("errors are JSON");
            assert!(v["error"]["code"].is_string(), "{text}");
            assert!(v["error"]["message"].is_string(), "{text}");
        }
    };
    run(150, mutated_booking(), |b| {
        check(serde_json::to_vec(&b).unwrap())
    });
    run(100, any_json(), |b| check(serde_json::to_vec(&b).unwrap()));
    run(100, prop::collection::vec(any::<u8>(), 0..400), check);
    // The server is still whole: a valid booking goes through.
    let ok = rt.block_on(app.book(&booking(
        &[3],
        json!("any"),
        &at(TUESDAY, "16:00"),
        &phone(99),
    )));
    assert!(
        ok.status.as_u16() == 201 || ok.status.as_u16() == 409,
        "{:?}",
        ok.body
    );
}

proptest! {
    #![proptest_config(RunnerConfig { cases: cases(2000), failure_persistence: None, ..RunnerConfig::default() })]

    #[test]
    fn domain_parsers_never_panic(raw in ".{0,64}", digits in "[0-9 +()-]{0,30}") {
        use barberpro::domain::{Phone, Text};
        let _ = Phone::parse(&raw);
        let _ = Phone::parse(&digits);
        let _ = Text::line("name", &raw, 80);
        let _ = Text::multiline("notes", &raw, 500);
        let _ = barberpro::domain::Email::parse(&raw);
        let _ = barberpro::domain::Slug::parse(&raw);
        let _ = raw.parse::<barberpro::domain::time::ClockTime>();
    }

    #[test]
    fn mercadopago_signature_headers_never_panic(
        header in ".{0,120}",
        structured in "(ts=[0-9a-z]{0,12},?)?(v1=[0-9a-fA-F]{0,70})?(,[a-z0-9]{0,4}=.{0,10}){0,3}",
        data_id in proptest::option::of(".{0,30}"),
        request_id in proptest::option::of(".{0,40}"),
        now in any::<i64>(),
        tolerance in any::<u64>(),
    ) {
        use barberpro::integrations::mercadopago::signature::verify;
        for h in [&header, &structured] {
            let result = verify(b"secreto", Some(h), data_id.as_deref(), request_id.as_deref(), now, tolerance);
            // A random header never verifies.
            prop_assert!(result.is_err());
        }
    }
}

/// A WhatsApp status notification with its fields replaced by anything.
fn whatsapp_notification() -> impl Strategy<Value = Value> {
    (any_json(), any_json(), ".{0,20}").prop_map(|(status, id, field)| {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": field, "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "statuses": [{"id": id, "status": status, "timestamp": "1700000000",
                              "recipient_id": "5491123456789"}]
            }}]}]
        })
    })
}

#[test]
fn whatsapp_webhooks_of_any_shape_signed_or_not_never_get_a_500() {
    use barberpro::integrations::whatsapp::{signature, verify_signature};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(crate::whatsapp_fake::FakeWhatsApp::start());
    let tmp = tempfile::tempdir().unwrap();
    let app = rt.block_on(crate::helpers::spawn_app_with(
        crate::whatsapp::whatsapp_config(tmp.path(), &fake),
        barberpro::http::Clock::manual(crate::helpers::ts(crate::helpers::MONDAY_8AM)),
    ));
    let post = |body: Vec<u8>, sig: Option<String>| {
        rt.block_on(async {
            let mut req = app
                .client
                .post(app.url("/webhooks/whatsapp"))
                .header("content-type", "application/json")
                .body(body);
            if let Some(sig) = sig {
                req = req.header("x-hub-signature-256", sig);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    };
    let secret = crate::whatsapp::APP_SECRET.as_bytes();
    // Signed with the right secret: the body itself is fuzzed.
    run(100, whatsapp_notification(), |v| {
        let body = serde_json::to_vec(&v).unwrap();
        let (status, text) = post(body.clone(), Some(signature(secret, &body)));
        assert!(status < 500, "{status}: {text}");
    });
    run(100, prop::collection::vec(any::<u8>(), 0..300), |body| {
        let (status, text) = post(body.clone(), Some(signature(secret, &body)));
        assert!(status < 500, "{status}: {text}");
    });
    // Random signature headers: refused, never a 500, never accepted.
    // (Header values are visible ASCII: a client cannot send anything else.)
    let header = prop_oneof!["[ -~]{0,90}", "sha256=[0-9a-fA-F]{0,70}"];
    run(
        150,
        (header, prop::collection::vec(any::<u8>(), 0..100)),
        |(header, body)| {
            assert!(!verify_signature(secret, &body, Some(&header)));
            let (status, text) = post(body, Some(header));
            assert_eq!(status, 401, "{text}");
        },
    );
}
