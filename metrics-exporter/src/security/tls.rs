//! [`TlsConfig`]: the exporter's TLS server settings (rustls, TLS 1.2 at least).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::SecurityError;

/// Whether and how clients present certificates (the web-config.yml `client_auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `NoClientCert`: none asked (the default).
    #[default]
    None,
    /// `VerifyClientCertIfGiven`: a certificate is optional, but verified against the CA
    /// when given.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`: every client must present a certificate the CA signed.
    RequireAndVerify,
}

/// The lowest TLS version accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MinVersion {
    /// TLS 1.2 (the default; older versions are never offered).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// The highest TLS version accepted (the web-config.yml `max_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MaxVersion {
    /// TLS 1.2: TLS 1.3 is not offered. Only a web-config.yml asks for it.
    #[cfg_attr(not(feature = "web-config"), allow(dead_code))]
    Tls12,
    /// TLS 1.3 (the default).
    #[default]
    Tls13,
}

/// A TLS server configuration for [`Exporter::tls`](crate::Exporter::tls).
///
/// ```no_run
/// use metrics_exporter::security::{ClientAuth, MinVersion, TlsConfig};
///
/// let tls = TlsConfig::from_pem_files("server.crt", "server.key", MinVersion::Tls12, ClientAuth::None, None)
///     .unwrap();
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) server: Arc<ServerConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// The modification time and length of a file.
type Stamp = (SystemTime, u64);
/// The stamps of the certificate and key files.
type Stamps = (Stamp, Stamp);

/// How long after a failed reload the files are read again, though unchanged since: a
/// handshake may have read them mid-rewrite, and the rewrite may end within the same mtime.
const RELOAD_RETRY: Duration = Duration::from_secs(1);

/// The server certificate and key; when they came from files, re-read on the first handshake
/// after either file changed (as exporter-toolkit does), so a rotated certificate is served
/// without a restart. A broken rewrite keeps the previous pair, and is read again at most once
/// a second until it loads.
#[derive(Debug)]
struct ServerCert {
    files: Option<(PathBuf, PathBuf)>,
    provider: Arc<CryptoProvider>,
    current: Mutex<Loaded>,
}

/// The pair served, and the stamps of the files it was loaded from.
#[derive(Debug)]
struct Loaded {
    stamps: Option<Stamps>,
    key: Arc<CertifiedKey>,
    /// After a failed reload: not before this instant again.
    retry_at: Option<Instant>,
}

fn modified(files: &(PathBuf, PathBuf)) -> Option<Stamps> {
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| Ok((m.modified()?, m.len())))
            .ok()
    };
    Some((stamp(&files.0)?, stamp(&files.1)?))
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(files) = &self.files {
            let stamps = modified(files);
            let due = current.retry_at.is_none_or(|at| Instant::now() >= at);
            if stamps.is_some() && stamps != current.stamps && due {
                let reloaded = std::fs::read(&files.0)
                    .ok()
                    .zip(std::fs::read(&files.1).ok());
                match reloaded.map(|(cert, key)| certified_key(&cert, &key, &self.provider)) {
                    Some(Ok(key)) => {
                        // Only a pair that loaded marks the files as read.
                        current.stamps = stamps;
                        current.key = Arc::new(key);
                        current.retry_at = None;
                    }
                    _ => current.retry_at = Some(Instant::now() + RELOAD_RETRY),
                }
            }
        }
        Some(Arc::clone(&current.key))
    }
}

/// Parses a PEM chain and key and checks that they belong together.
fn certified_key(
    cert: &[u8],
    key: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, SecurityError> {
    let chain = read_certs(cert, "cert_file", "the certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|_| {
        SecurityError::malformed(
            "key_file",
            "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".into(),
        )
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        SecurityError::invalid(
            "key_file",
            format!("does not match the certificate or is unusable: {e}"),
        )
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn read_certs(
    pem: &[u8],
    field: &'static str,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            SecurityError::malformed(field, format!("{what}: not PEM certificates: {e}"))
        })?;
    if certs.is_empty() {
        return Err(SecurityError::malformed(
            field,
            format!("{what}: holds no PEM certificate"),
        ));
    }
    Ok(certs)
}

pub(crate) fn read_file(path: &Path, field: &'static str) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(path).map_err(|e| {
        SecurityError::unreadable(field, format!("cannot read {}: {e}", path.display()))
    })
}

impl TlsConfig {
    /// Uses a rustls configuration as it is (e.g. with a certificate resolver that reloads).
    pub fn from_rustls(server: Arc<ServerConfig>) -> Self {
        Self { server }
    }

    /// Reads a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1), and for client
    /// verification the PEM CA bundle. The certificate and key are read again on the first
    /// handshake after either file changed, so rotating them needs no restart (the client CA
    /// is read once).
    pub fn from_pem_files(
        cert_file: impl AsRef<Path>,
        key_file: impl AsRef<Path>,
        min_version: MinVersion,
        client_auth: ClientAuth,
        client_ca_file: Option<&Path>,
    ) -> Result<Self, SecurityError> {
        let cert = read_file(cert_file.as_ref(), "cert_file")?;
        let key = read_file(key_file.as_ref(), "key_file")?;
        let ca = client_ca_file
            .map(|p| read_file(p, "client_ca_file"))
            .transpose()?;
        let files = (
            cert_file.as_ref().to_path_buf(),
            key_file.as_ref().to_path_buf(),
        );
        Self::build(
            &cert,
            &key,
            Some(files),
            (min_version, MaxVersion::Tls13),
            client_auth,
            ca.as_deref(),
        )
    }

    /// Like [`from_pem_files`](Self::from_pem_files), from PEM text.
    pub fn from_pem(
        cert: &[u8],
        key: &[u8],
        min_version: MinVersion,
        client_auth: ClientAuth,
        client_ca: Option<&[u8]>,
    ) -> Result<Self, SecurityError> {
        Self::build(
            cert,
            key,
            None,
            (min_version, MaxVersion::Tls13),
            client_auth,
            client_ca,
        )
    }

    /// `files`: where `cert` and `key` were read from, to follow their changes.
    pub(crate) fn build(
        cert: &[u8],
        key: &[u8],
        files: Option<(PathBuf, PathBuf)>,
        versions: (MinVersion, MaxVersion),
        client_auth: ClientAuth,
        client_ca: Option<&[u8]>,
    ) -> Result<Self, SecurityError> {
        let provider = provider();
        let certified = certified_key(cert, key, &provider)?;
        let resolver = ServerCert {
            current: Mutex::new(Loaded {
                stamps: files.as_ref().and_then(modified),
                key: Arc::new(certified),
                retry_at: None,
            }),
            files,
            provider: Arc::clone(&provider),
        };
        let versions: &[&'static rustls::SupportedProtocolVersion] = match versions {
            (MinVersion::Tls12, MaxVersion::Tls13) => {
                &[&rustls::version::TLS13, &rustls::version::TLS12]
            }
            (MinVersion::Tls12, MaxVersion::Tls12) => &[&rustls::version::TLS12],
            (MinVersion::Tls13, MaxVersion::Tls13) => &[&rustls::version::TLS13],
            (MinVersion::Tls13, MaxVersion::Tls12) => {
                return Err(SecurityError::invalid(
                    "max_version",
                    "is below min_version: no TLS version is left".into(),
                ))
            }
        };
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| SecurityError::invalid("min_version", e.to_string()))?;
        let builder = match client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
                let ca = client_ca.ok_or_else(|| {
                    SecurityError::missing(
                        "client_ca_file",
                        "is required to verify client certificates".into(),
                    )
                })?;
                let mut roots = RootCertStore::empty();
                for cert in read_certs(ca, "client_ca_file", "the client CA")? {
                    roots
                        .add(cert)
                        .map_err(|e| SecurityError::invalid("client_ca_file", e.to_string()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                );
                let verifier = if client_auth == ClientAuth::VerifyIfGiven {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| SecurityError::invalid("client_ca_file", e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut server = builder.with_cert_resolver(Arc::new(resolver));
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
        })
    }
}
