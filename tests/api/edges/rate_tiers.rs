//! Every route a rate-limit tier names is in the router, and that tier refuses it once spent.

use barberpro::config::RateTier;
use barberpro::http::Clock;
use barberpro::http::ratelimit::tier_routes;
use reqwest::Method;

use crate::fake_mercadopago::FakeMercadoPago;
use crate::helpers::{MONDAY_8AM, TUESDAY, TestApp, at, booking, phone, spawn_app_configured, ts};
use crate::payments::payments_config;

/// How many requests `tier` refused so far, from the metrics.
fn refused(app: &TestApp, tier: &str) -> u64 {
    let text = app.state.metrics.encode(false);
    let prefix = format!("barberpro_rate_limited_requests_total{{tier=\"{tier}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends `method route` (placeholders filled in) as client `n` behind the trusted proxy.
async fn send(app: &TestApp, method: &Method, route: &str, n: u32) -> u16 {
    let path = route.replace("{slug}", "palermo").replace("{id}", "1");
    let client = format!("198.51.100.{n}");
    let mut req = app
        .client
        .request(method.clone(), app.url(&path))
        .header("x-forwarded-for", client);
    req = match (method.as_str(), path.as_str()) {
        ("GET", _) => req.query(&[("pago", "aprobado")]),
        ("POST", "/api/v1/bookings") => req.json(&booking(
            &[1],
            "any".into(),
            &at(TUESDAY, "10:00"),
            &phone(n),
        )),
        _ => req.form(&[("x", "1")]),
    };
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn every_tier_route_is_in_the_router_and_refused_by_its_tier_once_spent() {
    let mut n = 0;
    for tier in ["auth", "booking", "payments"] {
        let clock = Clock::manual(ts(MONDAY_8AM));
        let fake = FakeMercadoPago::start(clock.clone()).await;
        let f = fake.clone();
        let app = spawn_app_configured(clock, move |c, dir| {
            c.payments = payments_config(&f, dir);
            let r = &mut c.rate_limit;
            r.enabled = true;
            r.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a network")];
            let many = RateTier {
                requests: 1000,
                per_secs: 3600,
            };
            (r.global, r.auth, r.booking, r.payments) = (many, many, many, many);
            let one = RateTier {
                requests: 1,
                per_secs: 3600,
            };
            match tier {
                "auth" => r.auth = one,
                "booking" => r.booking = one,
                _ => r.payments = one,
            }
        })
        .await;
        let routes: Vec<_> = tier_routes().into_iter().filter(|r| r.0 == tier).collect();
        assert!(!routes.is_empty(), "the {tier} tier names no route");
        for (i, (_, method, route)) in routes.iter().enumerate() {
            n += 1;
            let first = send(&app, method, route, n).await;
            assert!(
                !matches!(first, 404 | 405 | 429),
                "{method} {route} ({tier} tier) is not a route of the router: {first}"
            );
            let second = send(&app, method, route, n).await;
            assert_eq!(
                (second, refused(&app, tier)),
                (429, i as u64 + 1),
                "{method} {route}: the {tier} tier, spent, refuses it"
            );
        }
    }
}
