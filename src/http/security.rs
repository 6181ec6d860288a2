//! Security headers on every response (errors, timeouts and panics included) and CORS for
//! `/api/` only, for the configured origins only.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;

/// No inline script or style anywhere; pages load their own files from this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), \
     gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

/// What the HTTP layer enforces besides rate limits, from the configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `Strict-Transport-Security`, when clients reach us over HTTPS.
    pub hsts: Option<HeaderValue>,
    pub cors_origins: Vec<HeaderValue>,
    /// Largest request body (`server.limits.max_body_kib`).
    pub max_body_bytes: usize,
    /// Built once from `cors_origins`.
    pub cors: CorsLayer,
}

impl Policy {
    /// `tls`: whether this process terminates TLS itself.
    pub fn new(config: &Config, tls: bool) -> Self {
        let https = tls || config.server.public_url_is_https();
        let s = &config.security;
        let hsts = (https && s.hsts_max_age_secs > 0)
            .then(|| {
                let sub = if s.hsts_include_subdomains {
                    "; includeSubDomains"
                } else {
                    ""
                };
                HeaderValue::from_str(&format!("max-age={}{sub}", s.hsts_max_age_secs)).ok()
            })
            .flatten();
        let cors_origins: Vec<HeaderValue> = s
            .cors_allowed_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.origin()).ok())
            .collect();
        Self {
            hsts,
            cors: cors(&cors_origins),
            cors_origins,
            max_body_bytes: config.server.limits.max_body_kib.saturating_mul(1024),
        }
    }
}

/// The CORS layer for the API router: preflights and simple requests from the configured
/// origins get the `Access-Control-*` headers; any other origin gets none (the browser then
/// refuses to hand the response to the page).
pub fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

/// CORS for paths under `/api/` only (a middleware on the whole router, so that preflight
/// `OPTIONS` requests are answered before method routing would refuse them with 405).
pub async fn cors_for_api(State(policy): State<Arc<Policy>>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") || policy.cors_origins.is_empty() {
        return next.run(req).await;
    }
    match policy.cors.layer(next).oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Adds the security headers to every response (a handler may set its own CSP or
/// Cache-Control first), and `Cache-Control: no-store` to every answer to a request that
/// carried credentials (a manage token, later a staff session cookie).
pub async fn headers(State(policy): State<Arc<Policy>>, req: Request, next: Next) -> Response {
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key(header::COOKIE);
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if let Some(hsts) = &policy.hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    if credentials {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_over_https() {
        let mut config = Config::default();
        assert!(Policy::new(&config, true).hsts.is_some(), "TLS here: HSTS");
        config.server.tls.mode = crate::config::TlsMode::Off;
        assert!(
            Policy::new(&config, false).hsts.is_none(),
            "plain HTTP: no HSTS"
        );
        config.server.public_url = Some("https://reservas.example".parse().expect("a URL"));
        assert!(
            Policy::new(&config, false).hsts.is_some(),
            "behind a TLS proxy: HSTS"
        );
        config.security.hsts_max_age_secs = 0;
        assert!(Policy::new(&config, true).hsts.is_none(), "0 disables HSTS");
    }
}
