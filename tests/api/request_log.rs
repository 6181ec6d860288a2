//! The request log of the real binary: one line per request with method, route template,
//! status, duration and request id (the id also sent back as `X-Request-Id`); JSON lines when
//! stderr is not a terminal, readable text when `log.format = "pretty"`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Starts `barberpro serve --demo` on a free port with `envs`, makes two requests, stops it
/// with SIGTERM and returns (its stderr lines, the two answers' request ids).
async fn serve_and_log(envs: &[(&str, &str)]) -> (Vec<String>, [String; 2]) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::helpers::serve_command(dir.path());
    cmd.envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server logs until it serves")
            .unwrap();
        seen.push(line.clone());
        if line.contains("BarberPro is serving") {
            break crate::helpers::address_in(&line);
        }
    };
    let ca = std::fs::read(dir.path().join("tls/ca.pem")).unwrap();
    let client = crate::helpers::trusting(&ca).build().unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let services = client
        .get(format!(
            "https://localhost:{port}/api/v1/branches/palermo/services"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(services.status(), 200);
    let missing = client
        .get(format!("https://localhost:{port}/api/v1/bookings/77"))
        .header("x-request-id", "caller-chose-this-id")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let ids = [id(&services), id(&missing)];
    assert_eq!(ids[1], "caller-chose-this-id", "a sane caller id is kept");
    assert!(!ids[0].is_empty());
    drop(client);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    seen.extend(lines.map_while(Result::ok));
    assert!(child.wait().unwrap().success());
    (seen, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_json_line_per_request_when_stderr_is_not_a_terminal() {
    // No log.format: "auto", and stderr is a pipe here.
    let (lines, ids) = serve_and_log(&[]).await;
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();
    let requests: Vec<&Value> = parsed
        .iter()
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "one line per request: {requests:#?}");
    let expected = [
        ("/api/v1/branches/{slug}/services", 200, &ids[0]),
        ("/api/v1/bookings/{id}", 401, &ids[1]),
    ];
    for (line, (route, status, id)) in requests.iter().zip(expected) {
        assert_eq!(line["method"], "GET", "{line}");
        assert_eq!(
            line["route"], route,
            "the route template, not the path: {line}"
        );
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["request_id"].as_str(), Some(id.as_str()), "{line}");
        assert!(line["duration_ms"].as_f64().is_some(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readable_lines_when_pretty() {
    let (lines, ids) = serve_and_log(&[("BARBERPRO_LOG__FORMAT", "pretty")]).await;
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<Value>(l).is_err()),
        "JSON in the pretty log: {lines:#?}"
    );
    let request = lines
        .iter()
        .find(|l| l.contains(ids[1].as_str()))
        .expect("the request's line names its id");
    assert!(
        !request.contains('\u{1b}'),
        "colours outside a terminal: {request:?}"
    );
    for field in [
        " request ",
        "method=GET",
        "route=\"/api/v1/bookings/{id}\"",
        "status=401",
        "duration_ms=",
    ] {
        assert!(request.contains(field), "{field} missing from {request:?}");
    }
}
