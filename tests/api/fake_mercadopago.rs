//! A local fake of MercadoPago's API, faithful to `shared/reference/integrations.md`: the
//! same paths, headers, JSON fields and error bodies, and webhooks signed exactly like
//! MercadoPago signs them. Programmable: hide a payment (404) for the first fetches, fail
//! the next calls of a kind with 500 or 429 + Retry-After.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use barberpro::http::Clock;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Answer, TestApp};

pub const ACCESS_TOKEN: &str = "APP_USR-1234567890-test-token";
pub const WEBHOOK_SECRET: &str = "your_secret_key_here";
const COLLECTOR_ID: u64 = 724_484_980;

/// Which kind of call a scripted failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Preference,
    GetPayment,
    Refund,
}

/// One call as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub op: Op,
    pub path: String,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub body: Value,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    payments: HashMap<u64, Value>,
    preferences: HashMap<String, Value>,
    /// X-Idempotency-Key → the answer first given (MercadoPago replays it).
    idempotent: HashMap<String, Value>,
    refunds: Vec<Value>,
    hidden: HashMap<u64, u32>,
    failures: HashMap<Op, VecDeque<(u16, Option<u64>)>>,
    seen: Vec<Seen>,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeMercadoPago {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
}

/// MercadoPago's error body.
fn error(status: u16, error: &str, message: &str, code: u32) -> Response {
    let body = json!({
        "message": message,
        "error": error,
        "status": status,
        "cause": [{"code": code, "description": message, "data": null}],
    });
    (
        StatusCode::from_u16(status).expect("valid status"),
        Json(body),
    )
        .into_response()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl FakeMercadoPago {
    /// Starts the fake on 127.0.0.1:0; `clock` dates its payments and signs its webhooks.
    pub async fn start(clock: Clock) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 1_320_000_000,
            ..Default::default()
        }));
        let fake_state = inner.clone();
        let app = Router::new()
            .route("/checkout/preferences", post(create_preference))
            .route("/v1/payments/{id}", get(get_payment))
            .route("/v1/payments/{id}/refunds", post(refund))
            .with_state((fake_state, clock.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let addr = listener.local_addr().expect("fake address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake serves");
        });
        Self {
            base: format!("http://{addr}"),
            inner,
            clock,
        }
    }

    /// The client pays at Checkout Pro: a payment for `booking` of `centavos`, in `status`.
    pub fn pay(&self, booking: u64, centavos: i64, status: &str) -> u64 {
        self.pay_reference(&booking.to_string(), centavos, status)
    }

    /// A payment of a preference whose `external_reference` is `reference` (a desk's link).
    pub fn pay_reference(&self, reference: &str, centavos: i64, status: &str) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        inner.next_id += 1;
        let id = inner.next_id;
        let now = self.clock.now().to_string();
        inner.payments.insert(
            id,
            json!({
                "id": id,
                "status": status,
                "status_detail": if status == "approved" { "accredited" } else { "cc_rejected_other_reason" },
                "external_reference": reference,
                "transaction_amount": centavos as f64 / 100.0,
                "transaction_amount_refunded": 0,
                "currency_id": "ARS",
                "date_created": now,
                "date_approved": if status == "approved" { Value::String(now.clone()) } else { Value::Null },
                "date_last_updated": now,
                "refunds": [],
            }),
        );
        id
    }

    /// Changes a payment's status (a later approval, a chargeback…).
    pub fn set_status(&self, id: u64, status: &str) {
        let mut inner = self.inner.lock().unwrap();
        let p = inner.payments.get_mut(&id).expect("known payment");
        p["status"] = json!(status);
    }

    pub fn payment(&self, id: u64) -> Value {
        self.inner.lock().unwrap().payments[&id].clone()
    }

    /// The first `fetches` GETs of payment `id` answer 404 (not visible yet).
    pub fn hide(&self, id: u64, fetches: u32) {
        self.inner.lock().unwrap().hidden.insert(id, fetches);
    }

    /// The next call of `op` answers `status` (with `Retry-After` if given).
    pub fn fail_next(&self, op: Op, status: u16, retry_after: Option<u64>) {
        self.inner
            .lock()
            .unwrap()
            .failures
            .entry(op)
            .or_default()
            .push_back((status, retry_after));
    }

    pub fn seen(&self, op: Op) -> Vec<Seen> {
        self.inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.op == op)
            .cloned()
            .collect()
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.inner.lock().unwrap().refunds.clone()
    }

    /// The webhook MercadoPago would send for payment `id`: query, X-Request-Id and
    /// X-Signature (`ts` in milliseconds from the shared clock).
    pub fn signed_webhook(&self, id: u64) -> (String, String, String) {
        let request_id = uuid::Uuid::new_v4().to_string();
        let ts = (self.clock.now().as_second() * 1000 + 683).to_string();
        let manifest = format!("id:{id};request-id:{request_id};ts:{ts};");
        let v1 = hmac_hex(WEBHOOK_SECRET, &manifest);
        (
            format!("?data.id={id}&type=payment"),
            request_id,
            format!("ts={ts},v1={v1}"),
        )
    }

    /// Delivers the signed webhook for payment `id` to the app, with MercadoPago's body.
    pub async fn notify(&self, app: &TestApp, id: u64) -> Answer {
        let (query, request_id, signature) = self.signed_webhook(id);
        send_webhook(app, &query, Some(&request_id), Some(&signature), id).await
    }
}

/// Posts a webhook with the given headers (tests forge and drop them).
pub async fn send_webhook(
    app: &TestApp,
    query: &str,
    request_id: Option<&str>,
    signature: Option<&str>,
    id: u64,
) -> Answer {
    let body = json!({
        "action": "payment.updated", "api_version": "v1", "data": {"id": id.to_string()},
        "date_created": "2021-11-01T02:02:02Z", "id": id.to_string(), "live_mode": false,
        "type": "payment", "user_id": COLLECTOR_ID,
    });
    let mut req = app
        .client
        .post(app.url(&format!("/webhooks/mercadopago{query}")))
        .json(&body);
    if let Some(r) = request_id {
        req = req.header("x-request-id", r);
    }
    if let Some(s) = signature {
        req = req.header("x-signature", s);
    }
    let resp = req.send().await.expect("webhook request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    }
}

pub fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

type FakeState = (Arc<Mutex<Inner>>, Clock);

/// Records the call and answers a scripted failure or the bearer check, if any.
fn gate(
    inner: &mut Inner,
    op: Op,
    path: String,
    headers: &HeaderMap,
    body: Value,
) -> Option<Response> {
    let authorization = header(headers, "authorization");
    let mut seen = Seen {
        op,
        path,
        authorization: authorization.clone(),
        idempotency_key: header(headers, "x-idempotency-key"),
        body,
        status: 0,
    };
    let answer = if authorization.as_deref() != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        Some(error(401, "unauthorized", "invalid access token", 401))
    } else if let Some((status, retry_after)) =
        inner.failures.get_mut(&op).and_then(VecDeque::pop_front)
    {
        let mut r = if status == 429 {
            error(429, "too_many_requests", "Too many requests", 429)
        } else {
            error(status, "internal_error", "Internal server error", 500)
        };
        if let Some(secs) = retry_after {
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        Some(r)
    } else {
        None
    };
    seen.status = answer.as_ref().map_or(0, |r| r.status().as_u16());
    inner.seen.push(seen);
    answer
}

fn set_last_status(inner: &mut Inner, status: u16) {
    if let Some(last) = inner.seen.last_mut() {
        last.status = status;
    }
}

async fn create_preference(
    State((inner, clock)): State<FakeState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(r) = gate(
        &mut inner,
        Op::Preference,
        "/checkout/preferences".into(),
        &headers,
        body.clone(),
    ) {
        return r;
    }
    let Some(key) = header(&headers, "x-idempotency-key") else {
        set_last_status(&mut inner, 400);
        return error(400, "bad_request", "X-Idempotency-Key is required", 4292);
    };
    if let Some(previous) = inner.idempotent.get(&key).cloned() {
        set_last_status(&mut inner, 201);
        return (StatusCode::CREATED, Json(previous)).into_response();
    }
    let id = format!("{COLLECTOR_ID}-{}", uuid::Uuid::new_v4());
    let answer = json!({
        "id": id,
        "init_point": format!("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
        "sandbox_init_point": format!("https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
        "external_reference": body["external_reference"],
        "date_created": clock.now().to_string(),
        "items": body["items"],
    });
    inner.preferences.insert(id, body);
    inner.idempotent.insert(key, answer.clone());
    set_last_status(&mut inner, 201);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn get_payment(
    State((inner, _)): State<FakeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(r) = gate(
        &mut inner,
        Op::GetPayment,
        format!("/v1/payments/{id}"),
        &headers,
        Value::Null,
    ) {
        return r;
    }
    let Ok(id) = id.parse::<u64>() else {
        set_last_status(&mut inner, 400);
        return error(400, "bad_request", "Invalid payment id", 2000);
    };
    if let Some(left) = inner.hidden.get_mut(&id)
        && *left > 0
    {
        *left -= 1;
        set_last_status(&mut inner, 404);
        return error(404, "not_found", "Payment not found", 2000);
    }
    match inner.payments.get(&id).cloned() {
        Some(p) => {
            set_last_status(&mut inner, 200);
            Json(p).into_response()
        }
        None => {
            set_last_status(&mut inner, 404);
            error(404, "not_found", "Payment not found", 2000)
        }
    }
}

async fn refund(
    State((inner, clock)): State<FakeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(r) = gate(
        &mut inner,
        Op::Refund,
        format!("/v1/payments/{id}/refunds"),
        &headers,
        body.clone(),
    ) {
        return r;
    }
    let Some(key) = header(&headers, "x-idempotency-key") else {
        set_last_status(&mut inner, 400);
        return error(400, "bad_request", "X-Idempotency-Key is required", 4292);
    };
    if let Some(previous) = inner.idempotent.get(&key).cloned() {
        set_last_status(&mut inner, 201);
        return (StatusCode::CREATED, Json(previous)).into_response();
    }
    let Ok(id) = id.parse::<u64>() else {
        set_last_status(&mut inner, 404);
        return error(404, "not_found", "Payment not found", 2000);
    };
    let Some(payment) = inner.payments.get(&id).cloned() else {
        set_last_status(&mut inner, 404);
        return error(404, "not_found", "Payment not found", 2000);
    };
    if payment["status"] != "approved" {
        set_last_status(&mut inner, 400);
        return error(
            400,
            "bad_request",
            "Payment not valid for refund in its current state",
            2063,
        );
    }
    let amount = body["amount"]
        .as_f64()
        .unwrap_or_else(|| payment["transaction_amount"].as_f64().unwrap_or(0.0));
    inner.next_id += 1;
    let refund = json!({
        "id": inner.next_id,
        "payment_id": id,
        "amount": amount,
        "status": "approved",
        "date_created": clock.now().to_string(),
        "unique_sequence_number": null,
    });
    let p = inner.payments.get_mut(&id).expect("payment exists");
    p["status"] = json!("refunded");
    p["transaction_amount_refunded"] = json!(amount);
    p["refunds"] = json!([refund.clone()]);
    inner.refunds.push(refund.clone());
    inner.idempotent.insert(key, refund.clone());
    set_last_status(&mut inner, 201);
    (StatusCode::CREATED, Json(refund)).into_response()
}
