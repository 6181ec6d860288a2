//! TLS: certificates (self-signed and renewed by us, or from files and re-read on SIGHUP)
//! behind a resolver that swaps them without dropping open connections. rustls only.
//!
//! The self-signed mode makes a small local CA (`tls/ca.pem`, 10 years) and a server
//! certificate signed by it (`tls/cert.pem`, 397 days, renewed 30 days before expiry). A client
//! that trusts `ca.pem` once keeps trusting every renewal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::{TlsConfig, TlsMode};

/// Renew the self-signed certificate when it has less than this left.
pub const RENEW_BEFORE_DAYS: i64 = 30;
const LEAF_DAYS: i64 = 397;
const CA_DAYS: i64 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {reason}")]
    Pem { path: String, reason: String },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("unusable private key: {0}")]
    Key(rustls::Error),
}

fn io(context: impl Into<String>, source: std::io::Error) -> TlsError {
    TlsError::Io {
        context: context.into(),
        source,
    }
}

/// The ALPN protocol of ACME's TLS-ALPN-01 challenge (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Hands rustls the current certificate; [`CertResolver::set`] swaps it for new handshakes
/// while established connections keep theirs. During an ACME order it also answers the CA's
/// TLS-ALPN-01 validation handshakes with the challenge certificate for the name asked.
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
    /// Domain (lowercase) → TLS-ALPN-01 challenge certificate, while an order is pending.
    challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl CertResolver {
    pub fn new(key: CertifiedKey) -> Self {
        Self {
            current: RwLock::new(Arc::new(key)),
            challenges: RwLock::new(HashMap::new()),
        }
    }

    /// Serves `key` to validation handshakes for `domain` (ALPN `acme-tls/1` only).
    pub fn set_challenge(&self, domain: &str, key: CertifiedKey) {
        let mut map = match self.challenges.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(domain.to_ascii_lowercase(), Arc::new(key));
    }

    /// Forgets every challenge certificate (the order is over, either way).
    pub fn clear_challenges(&self) {
        match self.challenges.write() {
            Ok(mut m) => m.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    fn challenge(&self, domain: &str) -> Option<Arc<CertifiedKey>> {
        let map = match self.challenges.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(&domain.to_ascii_lowercase()).cloned()
    }

    /// Serves `key` from now on; true if its certificate chain differs from the one served.
    pub fn set(&self, key: CertifiedKey) -> bool {
        let mut cur = match self.current.write() {
            Ok(cur) => cur,
            Err(poisoned) => poisoned.into_inner(),
        };
        let changed = cur.cert != key.cert;
        *cur = Arc::new(key);
        changed
    }

    /// When the certificate being served expires, in Unix seconds (None if unreadable).
    pub fn not_after_unix(&self) -> Option<i64> {
        let key = self.get();
        let der = key.end_entity_cert().ok()?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        Some(cert.validity().not_after.timestamp())
    }

    fn get(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(cur) => cur.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737: the CA offers exactly "acme-tls/1" and the name being validated.
        let acme_only = hello
            .alpn()
            .map(|mut protocols| {
                protocols.next() == Some(ACME_TLS_ALPN) && protocols.next().is_none()
            })
            .unwrap_or(false);
        if acme_only {
            return hello.server_name().and_then(|name| self.challenge(name));
        }
        Some(self.get())
    }
}

/// A rustls server configuration speaking HTTP/2 and HTTP/1.1 (ALPN), plus `acme-tls/1` for
/// the CA's validation handshakes when `acme` is on.
pub fn server_config(resolver: Arc<CertResolver>, acme: bool) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_no_client_auth().with_cert_resolver(resolver.clone()))
        .unwrap_or_else(|_| {
            // The ring provider supports the default versions; this branch is unreachable.
            ServerConfig::builder()
                .with_no_client_auth()
                .with_cert_resolver(resolver)
        });
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if acme {
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    Arc::new(config)
}

/// Loads a PEM chain and key into a rustls certified key.
pub fn load_pem(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let pem_err = |path: &Path, reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| pem_err(cert_path, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(cert_path, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err(cert_path, "no certificate in the file".into()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| pem_err(key_path, e.to_string()))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(TlsError::Key)?;
    Ok(CertifiedKey::new(certs, signer))
}

/// Where the self-signed material lives inside the data folder.
#[derive(Debug, Clone)]
pub struct SelfSignedPaths {
    pub dir: PathBuf,
}

impl SelfSignedPaths {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("tls"),
        }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

/// The names the self-signed certificate covers: localhost, loopback, and configured names.
fn wanted_names(extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for n in extra {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

/// Days of validity left and the names covered, read from a PEM certificate.
fn days_left(pem: &str) -> Option<(i64, Vec<String>)> {
    use x509_parser::extensions::GeneralName;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    let left = (cert.validity().not_after.to_datetime() - time_now()).whole_days();
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => <[u8; 4]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::Ipv4Addr::from(a).to_string()),
                        16 => <[u8; 16]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some((left, names))
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Writes a file readable by its owner only (keys, and certificates beside them).
fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(format!("writing {}", tmp.display()), e))?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(format!("renaming {}", path.display()), e))
}

fn read(path: &Path) -> Result<Option<String>, TlsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(format!("reading {}", path.display()), e)),
    }
}

/// What [`ensure_self_signed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Reused,
    Issued,
}

/// Makes sure a valid self-signed certificate for `hostnames` is in the data folder: reuses
/// it while it has more than [`RENEW_BEFORE_DAYS`] left and covers every name, otherwise issues
/// a new one (and a new CA if the CA is missing or expiring).
pub fn ensure_self_signed(
    paths: &SelfSignedPaths,
    hostnames: &[String],
) -> Result<Renewal, TlsError> {
    std::fs::create_dir_all(&paths.dir)
        .map_err(|e| io(format!("creating {}", paths.dir.display()), e))?;
    set_private_dir(&paths.dir)?;
    let names = wanted_names(hostnames);
    if let (Some(cert), Some(_)) = (read(&paths.cert())?, read(&paths.key())?)
        && let Some((left, covered)) = days_left(&cert)
        && left > RENEW_BEFORE_DAYS
        && names.iter().all(|n| covered.contains(n))
    {
        return Ok(Renewal::Reused);
    }
    let issuer = load_or_make_ca(paths)?;
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "BarberPro");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "BarberPro");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = time_now() - time::Duration::hours(1);
    params.not_after = time_now() + time::Duration::days(LEAF_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    let ca_pem = read(&paths.ca_cert())?.unwrap_or_default();
    // The served chain: server certificate, then the CA.
    write_private(&paths.key(), &key.serialize_pem())?;
    write_private(&paths.cert(), &format!("{}{}", cert.pem(), ca_pem))?;
    Ok(Renewal::Issued)
}

/// The local CA: reused while it outlives a fresh server certificate, else made anew.
fn load_or_make_ca(paths: &SelfSignedPaths) -> Result<Issuer<'static, KeyPair>, TlsError> {
    if let (Some(cert), Some(key)) = (read(&paths.ca_cert())?, read(&paths.ca_key())?)
        && let (Some((left, _)), Ok(key)) = (days_left(&cert), KeyPair::from_pem(&key))
        && left > LEAF_DAYS
    {
        return Ok(Issuer::from_ca_cert_pem(&cert, key)?);
    }
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "BarberPro local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "BarberPro");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = time_now() - time::Duration::hours(1);
    params.not_after = time_now() + time::Duration::days(CA_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    write_private(&paths.ca_key(), &key.serialize_pem())?;
    write_private(&paths.ca_cert(), &cert.pem())?;
    Ok(Issuer::new(params, key))
}

fn set_private_dir(dir: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| io(format!("securing {}", dir.display()), e))
}

/// Loads the certificate the configuration asks for (issuing a self-signed one if needed).
/// Returns `None` for `mode = "off"`.
pub fn load(config: &TlsConfig, data_dir: &Path) -> Result<Option<CertifiedKey>, TlsError> {
    match config.mode {
        TlsMode::Off => Ok(None),
        TlsMode::SelfSigned => {
            let paths = SelfSignedPaths::new(data_dir);
            if ensure_self_signed(&paths, &config.hostnames)? == Renewal::Issued {
                tracing::info!(cert = %paths.cert().display(), ca = %paths.ca_cert().display(), "issued a self-signed certificate");
            }
            load_pem(&paths.cert(), &paths.key()).map(Some)
        }
        TlsMode::Files => {
            let (Some(cert), Some(key)) = (&config.cert_path, &config.key_path) else {
                return Err(TlsError::Pem {
                    path: "server.tls.cert_path".into(),
                    reason: "not configured".into(),
                });
            };
            load_pem(cert, key).map(Some)
        }
        TlsMode::Acme => {
            let acme = AcmePaths::new(data_dir);
            if acme.cert().exists() {
                match load_pem(&acme.cert(), &acme.cert()) {
                    Ok(key) => return Ok(Some(key)),
                    Err(e) => {
                        tracing::warn!(error = %e, "the stored ACME certificate is unusable; serving a self-signed one until a new one arrives")
                    }
                }
            } else {
                tracing::warn!(domains = ?config.acme.domains, "no ACME certificate yet: serving a self-signed one until the CA issues it");
            }
            let paths = SelfSignedPaths::new(data_dir);
            ensure_self_signed(&paths, &config.acme.domain_names())?;
            load_pem(&paths.cert(), &paths.key()).map(Some)
        }
    }
}

/// Where ACME material lives: `<data>/tls/acme/` (0700), files 0600.
#[derive(Debug, Clone)]
pub struct AcmePaths {
    dir: PathBuf,
}

impl AcmePaths {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("tls").join("acme"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The account's credentials (its private key), JSON.
    pub fn account(&self) -> PathBuf {
        self.dir.join("account.json")
    }

    /// The issued chain and its private key, in one PEM file: replaced in one rename, so a
    /// crash leaves the old pair or the new one, never a mix.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("certificate.pem")
    }

    /// Creates the folder (0700).
    pub fn create(&self) -> Result<(), TlsError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| io(format!("creating {}", self.dir.display()), e))?;
        set_private_dir(&self.dir)
    }

    /// Stores a new chain and key (0600), atomically.
    pub fn store(&self, chain_pem: &str, key_pem: &str) -> Result<(), TlsError> {
        self.create()?;
        write_private(&self.cert(), &format!("{key_pem}\n{chain_pem}"))
    }

    /// Writes the account's credentials (0600).
    pub fn store_account(&self, json: &str) -> Result<(), TlsError> {
        self.create()?;
        write_private(&self.account(), json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_reused_then_reissued_for_new_names() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SelfSignedPaths::new(dir.path());
        assert_eq!(ensure_self_signed(&paths, &[]).unwrap(), Renewal::Issued);
        let ca = std::fs::read(paths.ca_cert()).unwrap();
        assert_eq!(ensure_self_signed(&paths, &[]).unwrap(), Renewal::Reused);
        assert_eq!(
            ensure_self_signed(&paths, &["turnos.example.com.ar".into()]).unwrap(),
            Renewal::Issued
        );
        assert_eq!(
            std::fs::read(paths.ca_cert()).unwrap(),
            ca,
            "the CA survives renewals"
        );
        let (left, names) = days_left(&std::fs::read_to_string(paths.cert()).unwrap()).unwrap();
        assert!(left > 390, "{left}");
        assert!(names.contains(&"turnos.example.com.ar".to_owned()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(paths.key()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(load_pem(&paths.cert(), &paths.key()).is_ok());
    }
    #[test]
    fn the_resolver_tells_a_new_certificate_from_the_same_one() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SelfSignedPaths::new(dir.path());
        ensure_self_signed(&paths, &[]).unwrap();
        let load = || load_pem(&paths.cert(), &paths.key()).unwrap();
        let resolver = CertResolver::new(load());
        assert!(!resolver.set(load()), "the same certificate, read again");
        ensure_self_signed(&paths, &["turnos.example.com.ar".into()]).unwrap();
        assert!(resolver.set(load()), "a reissued certificate");
        assert!(!resolver.set(load()));
    }

    #[test]
    fn a_certificate_near_expiry_is_renewed() {
        let dir = tempfile::tempdir().unwrap();
        let paths = SelfSignedPaths::new(dir.path());
        ensure_self_signed(&paths, &[]).unwrap();
        // Replace the server certificate by one that expires in 10 days.
        let mut params = CertificateParams::new(wanted_names(&[])).unwrap();
        params.not_after = time_now() + time::Duration::days(10);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        write_private(&paths.cert(), &cert.pem()).unwrap();
        write_private(&paths.key(), &key.serialize_pem()).unwrap();
        assert_eq!(days_left(&cert.pem()).unwrap().0, 9);
        assert_eq!(ensure_self_signed(&paths, &[]).unwrap(), Renewal::Issued);
        let (left, _) = days_left(&std::fs::read_to_string(paths.cert()).unwrap()).unwrap();
        assert!(left > RENEW_BEFORE_DAYS);
    }
}
