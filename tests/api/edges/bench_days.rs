//! The benchmark never books into another scenario's days: `benches/days.py` splits the days
//! in proportion, and a scenario whose days are full stops cleanly and says so (a tiny `wrk`
//! run of `benches/create.lua` against a stand-in server that only records what it gets).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};
use serde_json::Value;

use crate::skipped::skip;

fn benches() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/benches"))
}

#[test]
fn the_days_are_split_in_proportion_without_overlap_up_to_the_horizon() {
    let out = Command::new("python3")
        .arg(benches().join("days.py"))
        .args([
            "50",
            "365",
            "create_c16_r1:1",
            "create_c16_r2:1",
            "create_c16_r3:1",
        ])
        .args(["create_c64:1.2", "mixed_c16:0.3"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let split: Vec<(String, u32, u32)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(split.len(), 5, "{split:?}");
    let mut next = 50;
    for (name, day0, days) in &split {
        assert_eq!(
            *day0, next,
            "{name} starts right after the previous one: {split:?}"
        );
        next = day0 + days;
    }
    assert!(next <= 366, "the last day is within the horizon: {split:?}");
    let days = |n: &str| split.iter().find(|s| s.0 == n).unwrap().2;
    assert!(
        days("create_c64") > days("create_c16_r1") && days("create_c16_r1") > days("mixed_c16")
    );
    assert!(
        days("create_c16_r1") >= 60,
        "a creation round gets ~60 days: {split:?}"
    );
}

/// A keep-alive HTTP server that answers 201 to a POST and 200 to anything else, and writes
/// each POST's body on a line of `log`.
const STAND_IN: &str = r#"
import http.server, sys, threading
log, lock = open(sys.argv[2], "a"), threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, code):
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        self.answer(200)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            log.write(body.decode() + "\n"); log.flush()
        self.answer(201)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    def handle_error(self, *a): pass
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn a_scenario_whose_days_are_full_stops_early_says_so_and_books_nothing_more() {
    if Command::new("wrk").arg("--version").output().is_err() {
        skip("wrk not installed", "apt-get install wrk");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let (script, log) = (tmp.path().join("stand_in.py"), tmp.path().join("posts"));
    std::fs::File::create(&script)
        .and_then(|mut f| f.write_all(STAND_IN.as_bytes()))
        .expect("script");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut server = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .arg(&log)
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the stand-in did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    // One barber, two days from day 50: 44 slots a working day.
    let out = Command::new("wrk")
        .args(["-t2", "-c4", "-d5s", "-s", "create.lua"])
        .arg(format!("http://127.0.0.1:{port}"))
        .args(["--", "2"])
        .current_dir(benches())
        .env("LUA_PATH", format!("{}/?.lua;;", benches().display()))
        .envs([("BENCH_BARBERS", "1"), ("BENCH_BRANCHES", "1")])
        .envs([("BENCH_DAY0", "50"), ("BENCH_DAYS", "2")])
        .output()
        .expect("wrk runs");
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("wrk's last line is the JSON result ({e}): {stdout}"));
    assert_eq!(
        result["days_full"], true,
        "it says its days were full: {result}"
    );
    assert_eq!(result["errors"], 0, "{result}");
    assert!(
        result["duration_s"].as_f64().unwrap() < 4.0,
        "the duration is the time it booked, not wrk's 5 s: {result}"
    );

    // The days the script may book: day 50 and 51 in Buenos Aires (UTC-3), Sundays off.
    let today = Timestamp::now()
        .to_zoned(TimeZone::fixed(Offset::constant(-3)))
        .date();
    let allowed: Vec<String> = [50, 51]
        .iter()
        .map(|d| today.checked_add(d.days()).unwrap())
        .filter(|d| d.weekday() != jiff::civil::Weekday::Sunday)
        .map(|d| d.to_string())
        .collect();
    let capacity = 44 * allowed.len();
    let posts = std::fs::read_to_string(&log).unwrap_or_default();
    let bodies: Vec<Value> = posts
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON booking"))
        .collect();
    let starts: HashSet<&str> = bodies
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), bodies.len(), "no slot booked twice");
    assert!(
        bodies.len() <= capacity && bodies.len() + 4 >= capacity,
        "{} bookings for {capacity} slots",
        bodies.len()
    );
    for start in starts {
        assert!(
            allowed.iter().any(|d| start.starts_with(d.as_str())),
            "{start} is outside the scenario's days {allowed:?}"
        );
    }
}
