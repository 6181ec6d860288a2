//! The tiers, the middleware's decisions and the sweep, on governor's fake clock.

use governor::clock::FakeRelativeClock;

use super::*;

fn config() -> RateLimitConfig {
    RateLimitConfig {
        global: RateTier {
            requests: 200,
            per_secs: 900,
        },
        ..RateLimitConfig::default()
    }
}

fn limits() -> (RateLimits<FakeRelativeClock>, FakeRelativeClock, Metrics) {
    let clock = FakeRelativeClock::default();
    let metrics = Metrics::new();
    (
        RateLimits::with_clock(&config(), &metrics, clock.clone()),
        clock,
        metrics,
    )
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid ip")
}

#[test]
fn a_tier_refuses_exactly_after_its_burst_and_refills_on_time() {
    let (l, clock, metrics) = limits();
    let a = ip("198.51.100.1");
    for n in 1..=200 {
        assert_eq!(l.global.check(&a), Ok(()), "request {n} of 200 must pass");
    }
    let refused = l
        .global
        .check(&a)
        .expect_err("the 201st request is refused");
    assert_eq!(refused.tier, "global");
    // 200 per 900 s: one request back every 4.5 s.
    assert_eq!(refused.retry_after, Duration::from_millis(4500));
    assert_eq!(refused.retry_after_secs(), 5);
    assert!(
        l.global.check(&ip("198.51.100.2")).is_ok(),
        "other clients are unaffected"
    );
    clock.advance(Duration::from_millis(4500));
    assert!(
        l.global.check(&a).is_ok(),
        "one request back after Retry-After"
    );
    assert!(l.global.check(&a).is_err());
    clock.advance(Duration::from_secs(900));
    for n in 1..=200 {
        assert!(
            l.global.check(&a).is_ok(),
            "after a full period, request {n} passes again"
        );
    }
    let text = metrics.encode(false);
    assert!(
        text.contains("barberpro_rate_limited_requests_total{tier=\"global\"} 2"),
        "refusals are counted per tier: {text}"
    );
}

#[test]
fn booking_and_login_tiers_stack_on_their_routes() {
    let (l, _, _) = limits();
    let a = ip("203.0.113.5");
    let post = Method::POST;
    for _ in 0..30 {
        l.check_request(
            a,
            &post,
            Some("/api/v1/bookings"),
            "/api/v1/bookings",
            false,
            None,
        )
        .expect("30 bookings pass");
    }
    let r = l
        .check_request(
            a,
            &post,
            Some("/api/v1/bookings"),
            "/api/v1/bookings",
            false,
            None,
        )
        .expect_err("the 31st booking is refused");
    assert_eq!(r.tier, "booking");
    // The booking pages' form shares the booking tier with the API.
    let b = ip("203.0.113.6");
    let form = Some(BOOKING_ROUTES[1]);
    for _ in 0..30 {
        l.check_request(b, &post, form, "/reservar/palermo", false, None)
            .expect("30 bookings through the pages pass");
    }
    let r = l
        .check_request(b, &post, form, "/reservar/palermo", false, None)
        .expect_err("the 31st booking through the pages is refused");
    assert_eq!(r.tier, "booking");
    l.check_request(b, &Method::GET, form, "/reservar/palermo", false, None)
        .expect("showing the services page is only in the global tier");
    // Reading is still fine: only the global tier applies.
    l.check_request(
        a,
        &Method::GET,
        Some("/api/v1/branches"),
        "/api/v1/branches",
        false,
        None,
    )
    .expect("reads are only in the global tier");
    for _ in 0..10 {
        l.check_request(a, &post, Some("/admin/login"), "/admin/login", false, None)
            .expect("10 login attempts pass");
    }
    let r = l
        .check_request(a, &post, Some("/admin/login"), "/admin/login", false, None)
        .expect_err("the 11th login attempt is refused");
    assert_eq!(r.tier, "auth");
    // MercadoPago's return page is in the payments tier; the manage page without `pago`
    // is not.
    let c = ip("203.0.113.7");
    let manage = Some(PAYMENT_RETURN_ROUTE);
    for _ in 0..20 {
        l.check_request(c, &Method::GET, manage, "/turnos/9", true, None)
            .expect("20 returns from MercadoPago pass");
    }
    let r = l
        .check_request(c, &Method::GET, manage, "/turnos/9", true, None)
        .expect_err("the 21st return from MercadoPago is refused");
    assert_eq!((r.tier, r.retry_after_secs()), ("payments", 180));
    l.check_request(c, &Method::GET, manage, "/turnos/9", false, None)
        .expect("the manage page itself is only in the global tier");
    let d = ip("203.0.113.8");
    for _ in 0..20 {
        l.check_payment(d)
            .expect("20 bookings asking for a deposit pass");
    }
    assert_eq!(l.check_payment(d).map_err(|r| r.tier), Err("payments"));
    assert!(is_payment_return(Some("pago=aprobado")));
    assert!(is_payment_return(Some("x=1&pago")));
    assert!(!is_payment_return(Some("token=pago")));
    assert!(!is_payment_return(None));
}

#[test]
fn logins_are_limited_per_account_from_any_address() {
    let (l, _, _) = limits();
    for n in 0..10u8 {
        l.check_login(IpAddr::from([192, 0, 2, n]), "Recepcion@Palermo ")
            .expect("10 attempts on one account pass");
    }
    let r = l
        .check_login(ip("192.0.2.200"), "recepcion@palermo")
        .expect_err("the 11th attempt on the account is refused, whatever the address");
    assert_eq!(r.tier, "auth_account");
    l.check_login(ip("192.0.2.201"), "otra@palermo")
        .expect("another account is unaffected");
}

#[test]
fn probes_assets_webhooks_and_staff_do_not_touch_the_anonymous_quota() {
    let (l, _, _) = limits();
    let a = ip("198.51.100.9");
    let get = Method::GET;
    for _ in 0..500 {
        for path in ["/healthz", "/readyz", "/assets/app.css", "/favicon.ico"] {
            l.check_request(a, &get, None, path, false, None)
                .expect("exempt paths are never limited");
        }
        let staff = StaffIdentity("ana".into());
        l.check_request(a, &get, Some("/admin"), "/admin", false, Some(&staff))
            .expect("staff have their own generous tier");
    }
    assert!(
        l.global.is_empty(),
        "nothing above was counted in the global tier"
    );
    for _ in 0..300 {
        l.check_request(a, &Method::POST, None, "/webhooks/mercadopago", false, None)
            .expect("300 webhooks per minute pass");
    }
    let r = l
        .check_request(a, &Method::POST, None, "/webhooks/mercadopago", false, None)
        .expect_err("webhooks have their own limit");
    assert_eq!(r.tier, "webhooks");
}

#[test]
fn disabled_limits_refuse_nothing() {
    let metrics = Metrics::new();
    let config = RateLimitConfig {
        enabled: false,
        ..RateLimitConfig::default()
    };
    let l = RateLimits::with_clock(&config, &metrics, FakeRelativeClock::default());
    let a = ip("198.51.100.1");
    for _ in 0..1000 {
        l.check_request(
            a,
            &Method::POST,
            Some("/api/v1/bookings"),
            "/api/v1/bookings",
            false,
            None,
        )
        .expect("disabled");
    }
    l.check_login(a, "x").expect("disabled");
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// Feeds 1,000,000 distinct client addresses, 100,000 per refill period, sweeping after
/// each period; returns (most keys held at once, resident memory growth after the first
/// two periods).
fn a_million_addresses() -> (usize, u64) {
    let (l, clock, _) = limits();
    let mut rss_after_warmup = 0;
    let mut peak = 0;
    for round in 0..10u32 {
        for i in 0..100_000u32 {
            let n = round * 100_000 + i;
            let addr = IpAddr::from(Ipv4Addr::from(0x0a00_0000 + n));
            assert!(l.global.check(&addr).is_ok());
        }
        peak = peak.max(l.global.len());
        // The sweep runs every minute; after a refill period everyone is forgotten.
        clock.advance(Duration::from_secs(900));
        assert_eq!(l.prune(), 0, "round {round}: idle clients are forgotten");
        if round == 1 {
            rss_after_warmup = rss();
        }
    }
    (peak, rss().saturating_sub(rss_after_warmup))
}

const PROBE_VAR: &str = "RATELIMIT_MEMORY_PROBE";

/// 1,000,000 distinct addresses: the limiter never holds more than one period's clients,
/// and memory stops growing once the first period's map is allocated. Memory is measured
/// in a child process running only [`memory_probe`], so that other tests running in
/// parallel in this process do not count.
#[test]
fn a_million_addresses_do_not_accumulate() {
    if std::env::var_os(PROBE_VAR).is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "http::ratelimit::tests::memory_probe",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(PROBE_VAR, "1")
        .output()
        .expect("the probe runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the probe failed:\n{text}");
    let field = |name: &str| -> u64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in the probe's output:\n{text}"))
    };
    let (peak, growth) = (field("peak_keys="), field("rss_growth_bytes="));
    eprintln!("peak keys {peak}, resident memory growth after warm-up: {growth} bytes");
    assert_eq!(peak, 100_000, "at most one period's clients are held");
    assert!(
        growth < 24 * 1024 * 1024,
        "memory grew by {growth} bytes over 800,000 more addresses"
    );
}

/// Run by [`a_million_addresses_do_not_accumulate`] in a process of its own.
#[test]
fn memory_probe() {
    if std::env::var_os(PROBE_VAR).is_none() {
        return;
    }
    let (peak, growth) = a_million_addresses();
    println!("peak_keys={peak} rss_growth_bytes={growth}");
}

#[test]
fn a_sweep_keeps_clients_still_inside_their_period() {
    let (l, clock, _) = limits();
    let a = ip("198.51.100.1");
    l.global.check(&a).expect("first request");
    clock.advance(Duration::from_secs(1));
    assert_eq!(l.prune(), 1, "a client seen 1 s ago is remembered");
    // Full again at 4.5 s; governor forgets a key one emission interval later, to be safe.
    clock.advance(Duration::from_secs(9));
    assert_eq!(l.prune(), 0, "and forgotten once its quota is full again");
}
