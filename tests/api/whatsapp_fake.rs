//! A local fake of the WhatsApp Business Cloud API, faithful to the reference
//! (`shared/reference/integrations.md`): `POST /{version}/{phone-number-id}/messages` with a
//! bearer token, the template JSON, `{"messaging_product","contacts","messages":[{"id"}]}` on
//! success and the Graph error shape (`{"error":{"message","type","code","error_data",
//! "fbtrace_id"}}`) on failure. Failures are programmable: a script of answers consumed in
//! order, per-recipient behaviour, and a default.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const VERSION: &str = "v21.0";
pub const PHONE_NUMBER_ID: &str = "109876543210";
pub const TOKEN: &str = "EAAG-test-token";

/// How the fake answers one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with a fresh `wamid`.
    Accept,
    /// An error: HTTP status, Graph error code, optional `Retry-After` seconds.
    Error {
        http: u16,
        code: i64,
        retry_after: Option<u64>,
    },
    /// A plain-text 5xx, as a load balancer would send.
    Bare(u16),
    /// Never answers (the caller times out or dies).
    Hang,
}

impl Reply {
    pub fn error(http: u16, code: i64) -> Self {
        Self::Error {
            http,
            code,
            retry_after: None,
        }
    }
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Request {
    pub to: String,
    pub template: String,
    pub language: String,
    pub params: Vec<String>,
    /// `biz_opaque_callback_data`: the sender's outbox id.
    pub reference: String,
    /// The `wamid` it was accepted under, if it was.
    pub accepted: Option<String>,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    by_recipient: HashMap<String, Reply>,
    default: Option<Reply>,
    requests: Vec<Request>,
    next_id: u64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeWhatsApp {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
}

fn graph_error(http: u16, code: i64, retry_after: Option<u64>) -> Response {
    let message = match code {
        130429 => "(#130429) Rate limit hit",
        131026 => "(#131026) Message undeliverable",
        132001 => "(#132001) Template name does not exist in the translation",
        190 => "Error validating access token: Session has expired",
        100 => "(#100) Invalid parameter",
        131000 => "(#131000) Something went wrong",
        _ => "(#1) An unknown error occurred",
    };
    let body = json!({"error": {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message},
        "fbtrace_id": "AbCdEfGhIjK"
    }});
    let status = StatusCode::from_u16(http).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    response
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((version, phone_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if version != VERSION || phone_id != PHONE_NUMBER_ID {
        return graph_error(400, 100, None);
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {TOKEN}") {
        return graph_error(401, 190, None);
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return graph_error(400, 100, None);
    };
    let well_formed = v["messaging_product"] == "whatsapp"
        && v["recipient_type"] == "individual"
        && v["type"] == "template"
        && v["to"]
            .as_str()
            .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
        && v["template"]["name"].is_string()
        && v["template"]["language"]["code"].is_string();
    if !well_formed {
        return graph_error(400, 100, None);
    }
    let params: Vec<String> = v["template"]["components"][0]["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let to = v["to"].as_str().unwrap_or("").to_owned();
    let reply = {
        let mut inner = inner.lock().unwrap();
        let reply = inner
            .script
            .pop_front()
            .or_else(|| inner.by_recipient.get(&to).cloned())
            .or_else(|| inner.default.clone())
            .unwrap_or(Reply::Accept);
        let accepted = if reply == Reply::Accept {
            inner.next_id += 1;
            Some(format!("wamid.HBgL{:012}", inner.next_id))
        } else {
            None
        };
        inner.requests.push(Request {
            to: to.clone(),
            template: v["template"]["name"].as_str().unwrap_or("").to_owned(),
            language: v["template"]["language"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            params,
            reference: v["biz_opaque_callback_data"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            accepted: accepted.clone(),
            at: Instant::now(),
        });
        match accepted {
            Some(id) => {
                return axum::Json(json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": id}]
                }))
                .into_response();
            }
            None => reply,
        }
    };
    match reply {
        Reply::Error {
            http,
            code,
            retry_after,
        } => graph_error(http, code, retry_after),
        Reply::Bare(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            "upstream trouble",
        )
            .into_response(),
        Reply::Hang => {
            // The request was seen (recorded above) but is never answered.
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Reply::Accept => unreachable!("answered above"),
    }
}

impl FakeWhatsApp {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{version}/{phone_id}/messages", post(messages))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url: format!("http://{addr}/{VERSION}"),
            inner,
        }
    }

    /// Answers to the next requests, in order, before any other rule.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// How requests to `to` are answered (after the script).
    pub fn for_recipient(&self, to: &str, reply: Reply) {
        self.inner
            .lock()
            .unwrap()
            .by_recipient
            .insert(to.to_owned(), reply);
    }

    /// How every other request is answered (`Accept` unless set).
    pub fn set_default(&self, reply: Reply) {
        let mut inner = self.inner.lock().unwrap();
        inner.default = Some(reply);
        inner.by_recipient.clear();
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Requests it answered with a message id (delivered messages).
    pub fn accepted(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.accepted.is_some())
            .collect()
    }

    /// Waits until `n` requests were accepted; panics after `timeout`.
    pub async fn wait_accepted(&self, n: usize, timeout: Duration) -> Vec<Request> {
        self.wait_for(timeout, |f| f.accepted().len() >= n, "accepted messages")
            .await;
        self.accepted()
    }

    /// Waits until `n` requests arrived (accepted or not).
    pub async fn wait_requests(&self, n: usize, timeout: Duration) -> Vec<Request> {
        self.wait_for(timeout, |f| f.requests().len() >= n, "requests")
            .await;
        self.requests()
    }

    async fn wait_for(&self, timeout: Duration, done: impl Fn(&Self) -> bool, what: &str) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "the fake WhatsApp did not get the expected {what} in {timeout:?}; it saw: {:#?}",
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Asserts that nothing new arrives for a while (the sender had its chance).
    pub async fn assert_quiet(&self, seen: usize, why: &str) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = self.requests();
        assert_eq!(
            now.len(),
            seen,
            "{why}: unexpected requests {:#?}",
            &now[seen.min(now.len())..]
        );
    }
}
