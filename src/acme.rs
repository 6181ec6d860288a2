//! Certificates from an ACME CA (Let's Encrypt by default) for `server.tls.mode = "acme"`.
//!
//! instant-acme speaks the protocol; this module decides when to order and how to answer.
//! The challenge is TLS-ALPN-01 (RFC 8737) on our own HTTPS listener: while an order is
//! pending, [`CertResolver`] answers handshakes that offer only `acme-tls/1` with a
//! self-signed certificate carrying the key authorization's digest; every other handshake
//! keeps getting the current certificate. A new certificate is swapped into the resolver, so
//! open connections keep theirs and nothing restarts.
//!
//! State lives in `<data>/tls/acme/` (0700): `account.json` (the account key) and
//! `certificate.pem` (key + chain, one file replaced atomically), both 0600.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use jiff::Timestamp;
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::AcmeSettings;
use crate::metrics::Metrics;
use crate::tls::{self, AcmePaths, CertResolver, TlsError};

/// The longest wait between failed attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// How long one order may take (validation, finalization, download).
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA answered with a problem document, or could not be reached.
    #[error("{0}")]
    Protocol(#[from] instant_acme::Error),
    #[error("the CA offers no tls-alpn-01 challenge for {0}")]
    NoTlsAlpn(String),
    #[error("the authorization for {domain} is {status}")]
    Authorization { domain: String, status: String },
    #[error("the order ended {0}")]
    Order(String),
    #[error("the challenge certificate: {0}")]
    Challenge(String),
    #[error("the stored account: {0}")]
    Account(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl AcmeError {
    /// The CA's problem document (RFC 7807), when there is one.
    pub fn problem(&self) -> Option<&instant_acme::Problem> {
        match self {
            Self::Protocol(instant_acme::Error::Api(p)) => Some(p),
            _ => None,
        }
    }
}

/// The last attempts, for `/readyz`, the metrics and the log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AcmeStatus {
    pub last_attempt_at: Option<Timestamp>,
    pub last_attempt_ok: Option<bool>,
    pub last_error: Option<String>,
    pub last_success_at: Option<Timestamp>,
    pub failures_total: u64,
}

/// Orders and renews the certificate of `server.tls.acme.domains`.
#[derive(Clone)]
pub struct Acme {
    settings: AcmeSettings,
    paths: AcmePaths,
    resolver: Arc<CertResolver>,
    status: Arc<Mutex<AcmeStatus>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("domains", &self.settings.domains)
            .field("status", &self.status())
            .finish()
    }
}

impl Acme {
    pub fn new(
        settings: AcmeSettings,
        data_dir: &std::path::Path,
        resolver: Arc<CertResolver>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            settings,
            paths: AcmePaths::new(data_dir),
            resolver,
            status: Arc::new(Mutex::new(AcmeStatus::default())),
            metrics,
        }
    }

    pub fn status(&self) -> AcmeStatus {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut AcmeStatus)) {
        match self.status.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// When the stored certificate expires (None: there is none, or it does not load).
    pub fn stored_expiry(&self) -> Option<i64> {
        let pem = std::fs::read(self.paths.cert()).ok()?;
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let leaf = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
        Some(cert.validity().not_after.timestamp())
    }

    /// True when there is no stored certificate, or it expires within `renew_before_days`.
    pub fn needs_certificate(&self, now: Timestamp) -> bool {
        let renew_before = i64::from(self.settings.renew_before_days) * 86_400;
        match self.stored_expiry() {
            Some(not_after) => not_after - now.as_second() < renew_before,
            None => true,
        }
    }

    async fn account(&self) -> Result<Account, AcmeError> {
        let builder = || match &self.settings.directory_ca_file {
            Some(root) => Account::builder_with_root(root),
            None => Account::builder(),
        };
        if let Ok(json) = std::fs::read(self.paths.account()) {
            let credentials: AccountCredentials = serde_json::from_slice(&json).map_err(|e| {
                AcmeError::Account(format!("{}: {e}", self.paths.account().display()))
            })?;
            return Ok(builder()?.from_credentials(credentials).await?);
        }
        let contact = format!(
            "mailto:{}",
            self.settings.contact.as_deref().unwrap_or_default()
        );
        let (account, credentials) = builder()?
            .create(
                &NewAccount {
                    contact: &[&contact],
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.settings.directory_url.to_string(),
                None,
            )
            .await?;
        let json =
            serde_json::to_string(&credentials).map_err(|e| AcmeError::Account(e.to_string()))?;
        self.paths.store_account(&json)?;
        tracing::info!(directory = %self.settings.directory_url, "ACME account created");
        Ok(account)
    }

    /// One order, start to end: account, TLS-ALPN-01 for every name, finalize, download,
    /// store, serve. The challenge certificates are forgotten however it ends.
    pub async fn order(&self) -> Result<(), AcmeError> {
        let result = self.order_inner().await;
        self.resolver.clear_challenges();
        result
    }

    async fn order_inner(&self) -> Result<(), AcmeError> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .settings
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.to_string()))
            .collect();
        let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization?;
            let domain = authorization.identifier().to_string();
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(AcmeError::Authorization {
                        domain,
                        status: format!("{other:?}").to_lowercase(),
                    });
                }
            }
            let mut challenge = authorization
                .challenge(ChallengeType::TlsAlpn01)
                .ok_or_else(|| AcmeError::NoTlsAlpn(domain.clone()))?;
            let digest = challenge.key_authorization().digest();
            let cert = challenge_certificate(&domain, digest.as_ref())?;
            self.resolver.set_challenge(&domain, cert);
            challenge.set_ready().await?;
        }
        let retries = RetryPolicy::new().timeout(ORDER_TIMEOUT);
        let status = order.poll_ready(&retries).await?;
        if status != OrderStatus::Ready {
            return Err(AcmeError::Order(format!("{status:?}").to_lowercase()));
        }
        let key_pem = order.finalize().await?;
        let chain_pem = order.poll_certificate(&retries).await?;
        self.paths.store(&chain_pem, &key_pem)?;
        let key = tls::load_pem(&self.paths.cert(), &self.paths.cert())?;
        self.resolver.set(key);
        Ok(())
    }

    /// One attempt when the certificate needs it, recorded and logged.
    pub async fn attempt(&self, now: Timestamp) -> Option<Result<(), String>> {
        if !self.needs_certificate(now) {
            return None;
        }
        tracing::info!(domains = ?self.settings.domains, directory = %self.settings.directory_url, "ordering a certificate");
        let result = self.order().await;
        let at = Timestamp::now();
        let m = &self.metrics.acme;
        m.last_attempt.set(at.as_second());
        m.last_attempt_ok.set(i64::from(result.is_ok()));
        if result.is_ok() {
            m.last_success.set(at.as_second());
        } else {
            m.failures.inc();
        }
        match &result {
            Ok(()) => {
                tracing::info!(domains = ?self.settings.domains, "new certificate in place");
                self.update(|s| {
                    s.last_attempt_at = Some(at);
                    s.last_attempt_ok = Some(true);
                    s.last_error = None;
                    s.last_success_at = Some(at);
                });
            }
            Err(e) => {
                match e.problem() {
                    Some(p) => tracing::error!(
                        error = %e,
                        problem_type = p.r#type.as_deref().unwrap_or(""),
                        problem_detail = p.detail.as_deref().unwrap_or(""),
                        problem_status = p.status.unwrap_or(0),
                        subproblems = ?p.subproblems,
                        "certificate order failed; the current certificate keeps serving (is every domain pointing at this server, port 443 reachable?)"
                    ),
                    None => {
                        tracing::error!(error = %e, "certificate order failed; the current certificate keeps serving")
                    }
                }
                let message = e.to_string();
                self.update(|s| {
                    s.last_attempt_at = Some(at);
                    s.last_attempt_ok = Some(false);
                    s.last_error = Some(message);
                    s.failures_total += 1;
                });
            }
        }
        Some(result.map_err(|e| e.to_string()))
    }

    /// Checks at start and every `check_interval_secs`; after a failure retries sooner, with
    /// doubling waits from `retry_after_secs` up to 6 hours.
    pub fn spawn(self, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let check = Duration::from_secs(self.settings.check_interval_secs);
            let first_retry = Duration::from_secs(self.settings.retry_after_secs);
            let mut retry = first_retry;
            loop {
                let wait = match self.attempt(Timestamp::now()).await {
                    Some(Err(_)) => {
                        let wait = retry;
                        retry = (retry * 2).min(MAX_BACKOFF);
                        tracing::info!(retry_in_secs = wait.as_secs(), "next certificate attempt");
                        wait.min(check)
                    }
                    _ => {
                        retry = first_retry;
                        check
                    }
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        });
    }
}

/// The TLS-ALPN-01 answer: a throw-away self-signed certificate for `domain` with the
/// critical `acmeIdentifier` extension holding SHA-256 of the key authorization.
fn challenge_certificate(domain: &str, digest: &[u8]) -> Result<CertifiedKey, AcmeError> {
    let fail = |e: &dyn std::fmt::Display| AcmeError::Challenge(e.to_string());
    let key_pair = KeyPair::generate().map_err(|e| fail(&e))?;
    let mut params = CertificateParams::new(vec![domain.to_owned()]).map_err(|e| fail(&e))?;
    params
        .custom_extensions
        .push(CustomExtension::new_acme_identifier(digest));
    let cert = params.self_signed(&key_pair).map_err(|e| fail(&e))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| fail(&e))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signer))
}
