//! Request rate limits (governor, GCRA), per client IP and, for logins, per account.
//!
//! Tiers (`[rate_limit]` in the configuration):
//! * `global`: every anonymous request, except probes (`/healthz`, `/readyz`), static assets
//!   and webhooks — a front desk behind one router and clients behind a carrier's NAT share
//!   an address, so it is generous (200 / 15 min by default);
//! * `booking` (creating a booking) and `payments` ([`PAYMENT_ROUTES`]: creating a booking at
//!   a branch that asks for deposits, MercadoPago's return page) on top of `global`;
//! * `auth`: login attempts per IP (login routes) and `auth_account` per account name
//!   ([`RateLimits::check_login_account`], called by the login handler once it knows the name);
//! * `webhooks`: provider callbacks, instead of `global`;
//! * `staff`: requests carrying a [`StaffIdentity`] (put there by the staff session layer),
//!   per account and instead of `global`.
//!
//! Memory stays bounded: a sweep every `prune_interval_secs` forgets every key whose quota is
//! full again (governor's `retain_recent`), so the map holds only clients seen within one
//! refill period. See the `a_million_addresses_do_not_accumulate` test.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use tokio_util::sync::CancellationToken;

use super::client_ip::{TrustedProxies, limit_key};
use super::{ApiError, AppState};
use crate::config::{RateLimitConfig, RateTier};
use crate::metrics::{Metrics, TierLabels};

/// The client's address as the rate limiter saw it (after trusted-proxy resolution), for
/// handlers and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// A logged-in staff member's account name. The staff session layer (issue 3) inserts it into
/// the request's extensions; it must therefore sit outside (be added after) the rate limiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffIdentity(pub String);

/// Routes whose POST is a login attempt (counted in the `auth` tier per IP).
pub const LOGIN_ROUTES: [&str; 1] = ["/admin/login"];
/// Routes whose POST creates a booking (the `booking` tier): the API's and the booking
/// pages' form (`booking::CREATE_ROUTE`; `edges::rate_tiers` finds both in the router).
pub const BOOKING_ROUTES: [&str; 2] = ["/api/v1/bookings", "/reservar/{slug}"];
/// The manage page, which MercadoPago's return (`?pago=…`) reaches: a GET of it with `pago` in
/// the query is counted in the `payments` tier here.
pub const PAYMENT_RETURN_ROUTE: &str = "/turnos/{id}";
/// What the `payments` tier guards: creating a booking where the branch's deposit policy may
/// ask for one (each starts a MercadoPago preference; counted by the two create handlers
/// through [`RateLimits::check_payment`], since only they know the branch) and the return page.
/// Clients get no other payment route: the link is made by the deposits worker.
pub const PAYMENT_ROUTES: [(Method, &str); 3] = [
    (Method::POST, BOOKING_ROUTES[0]),
    (Method::POST, BOOKING_ROUTES[1]),
    (Method::GET, PAYMENT_RETURN_ROUTE),
];
/// Paths under these prefixes are not counted at all (probes, static files).
pub const EXEMPT_PREFIXES: [&str; 4] = ["/assets/", "/static/", "/healthz", "/readyz"];
/// Paths under this prefix are provider webhooks.
pub const WEBHOOKS_PREFIX: &str = "/webhooks/";

/// Every (tier, method, route) a tier names, for the test that finds each in the router and
/// for the README's table. `global` and `staff` count every route; webhooks go by prefix.
pub fn tier_routes() -> Vec<(&'static str, Method, &'static str)> {
    let mut all = Vec::new();
    all.extend(LOGIN_ROUTES.map(|r| ("auth", Method::POST, r)));
    all.extend(BOOKING_ROUTES.map(|r| ("booking", Method::POST, r)));
    all.extend(PAYMENT_ROUTES.map(|(m, r)| ("payments", m, r)));
    all
}

/// A refusal: which tier, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub tier: &'static str,
    pub retry_after: Duration,
}

impl RateLimited {
    /// `Retry-After` in whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl From<RateLimited> for ApiError {
    fn from(r: RateLimited) -> Self {
        ApiError::RateLimited {
            retry_after_secs: r.retry_after_secs(),
        }
    }
}

type Limiter<K, C> = RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One tier: a keyed GCRA limiter and its refusal counter.
pub struct Tier<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    name: &'static str,
    limiter: Limiter<K, C>,
    clock: C,
    refused: Counter,
    keys: Gauge,
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> Tier<K, C> {
    fn new(name: &'static str, tier: RateTier, clock: C, metrics: &Metrics) -> Self {
        Self {
            name,
            limiter: RateLimiter::dashmap_with_clock(quota(tier), clock.clone()),
            clock,
            refused: family_member(&metrics.rate_limited, name),
            keys: family_member(&metrics.rate_limit_keys, name),
        }
    }

    /// Takes one request from `key`'s quota, or says when the next one is allowed.
    pub fn check(&self, key: &K) -> Result<(), RateLimited> {
        self.limiter.check_key(key).map_err(|not_until| {
            self.refused.inc();
            RateLimited {
                tier: self.name,
                retry_after: not_until.wait_time_from(self.clock.now()),
            }
        })
    }

    /// Forgets keys whose quota is full again and returns how many remain.
    pub fn prune(&self) -> usize {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let len = self.limiter.len();
        self.keys.set(i64::try_from(len).unwrap_or(i64::MAX));
        len
    }

    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

fn family_member<M>(family: &Family<TierLabels, M>, tier: &'static str) -> M
where
    M: Clone
        + Default
        + prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric,
{
    family.get_or_create(&TierLabels { tier }).clone()
}

/// A burst of `requests`, one more every `per_secs / requests`.
fn quota(tier: RateTier) -> Quota {
    let burst = NonZeroU32::new(tier.requests).unwrap_or(NonZeroU32::MIN);
    let period = Duration::from_secs(tier.per_secs.max(1)) / burst.get();
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

/// All tiers, the trusted proxies, and the switch.
pub struct RateLimits<C: Clock = DefaultClock> {
    enabled: bool,
    proxies: TrustedProxies,
    pub global: Tier<IpAddr, C>,
    pub auth: Tier<IpAddr, C>,
    pub auth_account: Tier<String, C>,
    pub booking: Tier<IpAddr, C>,
    pub payments: Tier<IpAddr, C>,
    pub webhooks: Tier<IpAddr, C>,
    pub staff: Tier<String, C>,
}

impl RateLimits<DefaultClock> {
    pub fn new(config: &RateLimitConfig, metrics: &Metrics) -> Self {
        Self::with_clock(config, metrics, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// With a given clock (tests use governor's `FakeRelativeClock`).
    pub fn with_clock(config: &RateLimitConfig, metrics: &Metrics, clock: C) -> Self {
        let tier = |name, t| Tier::new(name, t, clock.clone(), metrics);
        let account = |name, t| Tier::new(name, t, clock.clone(), metrics);
        Self {
            enabled: config.enabled,
            proxies: TrustedProxies::new(config.trusted_proxies.clone()),
            global: tier("global", config.global),
            auth: tier("auth", config.auth),
            auth_account: account("auth_account", config.auth),
            booking: tier("booking", config.booking),
            payments: tier("payments", config.payments),
            webhooks: tier("webhooks", config.webhooks),
            staff: account("staff", config.staff),
        }
    }

    pub fn proxies(&self) -> &TrustedProxies {
        &self.proxies
    }

    /// The per-account half of the login limit: the login handler calls it with the account
    /// name typed (normalised), so guessing one account's password from many IPs is limited
    /// too. The per-IP half is applied to [`LOGIN_ROUTES`] by the middleware.
    pub fn check_login_account(&self, account: &str) -> Result<(), RateLimited> {
        if !self.enabled {
            return Ok(());
        }
        self.auth_account.check(&account.trim().to_lowercase())
    }

    /// Both halves of the login limit, for a login path outside [`LOGIN_ROUTES`].
    pub fn check_login(&self, ip: IpAddr, account: &str) -> Result<(), RateLimited> {
        if !self.enabled {
            return Ok(());
        }
        self.auth.check(&limit_key(ip))?;
        self.check_login_account(account)
    }

    /// The `payments` tier for a booking that may ask for a deposit (see [`PAYMENT_ROUTES`]).
    pub fn check_payment(&self, ip: IpAddr) -> Result<(), RateLimited> {
        if !self.enabled {
            return Ok(());
        }
        self.payments.check(&limit_key(ip))
    }

    /// Decides for one request: `route` is its template (None when unmatched), `path` the
    /// raw path (only compared with fixed prefixes, never stored), `payment_return` whether
    /// the query carries MercadoPago's `pago`.
    pub fn check_request(
        &self,
        ip: IpAddr,
        method: &Method,
        route: Option<&str>,
        path: &str,
        payment_return: bool,
        staff: Option<&StaffIdentity>,
    ) -> Result<(), RateLimited> {
        if !self.enabled
            || EXEMPT_PREFIXES.iter().any(|p| path.starts_with(p))
            || path == "/favicon.ico"
        {
            return Ok(());
        }
        let key = limit_key(ip);
        if path.starts_with(WEBHOOKS_PREFIX) {
            return self.webhooks.check(&key);
        }
        if let Some(StaffIdentity(account)) = staff {
            return self.staff.check(account);
        }
        if *method == Method::POST {
            match route {
                Some(r) if LOGIN_ROUTES.contains(&r) => self.auth.check(&key)?,
                Some(r) if BOOKING_ROUTES.contains(&r) => self.booking.check(&key)?,
                _ => {}
            }
        }
        if *method == Method::GET && payment_return && route == Some(PAYMENT_RETURN_ROUTE) {
            self.payments.check(&key)?;
        }
        self.global.check(&key)
    }

    /// Sweeps every tier (see the module docs); returns the keys left in all tiers.
    pub fn prune(&self) -> usize {
        self.global.prune()
            + self.auth.prune()
            + self.auth_account.prune()
            + self.booking.prune()
            + self.payments.prune()
            + self.webhooks.prune()
            + self.staff.prune()
    }
}

/// Sweeps the limiters every `every` until `shutdown`.
pub fn spawn_pruning(limits: Arc<RateLimits>, every: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    let left = limits.prune();
                    tracing::debug!(keys = left, "rate-limit sweep");
                }
            }
        }
    });
}

/// Whether a query string names MercadoPago's return (`pago=…`).
fn is_payment_return(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|kv| kv.split('=').next() == Some("pago")))
}

/// The middleware: resolves the client IP (trusted proxies only), records it as [`ClientIp`],
/// and answers 429 with `Retry-After` when a tier is exhausted.
pub async fn limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let ip = state.limits.proxies().client_ip(peer, req.headers());
    req.extensions_mut().insert(ClientIp(ip));
    let decision = state.limits.check_request(
        ip,
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        req.uri().path(),
        is_payment_return(req.uri().query()),
        req.extensions().get::<StaffIdentity>(),
    );
    match decision {
        Ok(()) => next.run(req).await,
        Err(refused) => {
            tracing::info!(client = %ip, tier = refused.tier, "rate limited");
            ApiError::from(refused).into_response()
        }
    }
}

#[cfg(test)]
mod tests;
