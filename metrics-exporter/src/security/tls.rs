//! [`TlsConfig`]: the exporter's TLS server settings (rustls, TLS 1.2 at least).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::client_certs::ClientCerts;
use super::SecurityError;

/// Whether and how clients present certificates (the web-config.yml `client_auth_type`, with
/// the meaning of Go's `tls.ClientAuthType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `NoClientCert`: none asked (the default).
    #[default]
    None,
    /// `RequestClientCert`: a certificate is asked for but neither required nor verified
    /// (only the client's possession of its key is checked).
    Request,
    /// `RequireAnyClientCert`: a certificate is required but not verified against a CA (only
    /// the client's possession of its key is checked).
    RequireAny,
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

/// Everything but the server certificate that a [`TlsConfig`] is built from.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) versions: (MinVersion, MaxVersion),
    pub(crate) client_auth: ClientAuth,
    /// The TLS 1.2 suites, in preference order (`None`: rustls' defaults). TLS 1.3 suites are
    /// always rustls' own, as Go does.
    pub(crate) tls12_suites: Option<Vec<SupportedCipherSuite>>,
    /// Key exchange groups in preference order (`None`: rustls' defaults).
    pub(crate) groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    /// The server's order of suites wins over the client's.
    pub(crate) prefer_server_order: bool,
    /// Client certificates must carry one of these subject alternative names.
    pub(crate) allowed_sans: Option<Arc<[String]>>,
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
    source: Arc<Source>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

enum Source {
    /// Given as it is ([`TlsConfig::from_rustls`]).
    Fixed(Arc<ServerConfig>),
    /// Built here: rebuilt when the client CA file changes.
    Built(Built),
}

/// What rebuilding the rustls configuration needs, and the configuration served now.
struct Built {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    resolver: Arc<ServerCert>,
    /// The client CA file, followed like the certificate; `None` when inline or absent.
    ca_file: Option<PathBuf>,
    alpn: Vec<Vec<u8>>,
    current: Mutex<Current>,
}

struct Current {
    config: Arc<ServerConfig>,
    /// The stamp of the client CA file the configuration was built from.
    ca_stamp: Option<Stamp>,
    /// After a failed reload: not before this instant again.
    retry_at: Option<Instant>,
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

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path)
        .and_then(|m| Ok((m.modified()?, m.len())))
        .ok()
}

fn modified(files: &(PathBuf, PathBuf)) -> Option<Stamps> {
    Some((stamp(&files.0)?, stamp(&files.1)?))
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(files) = &self.files {
            let stamps = modified(files);
            let due = current.retry_at.is_none_or(|at| Instant::now() >= at);
            if stamps.is_some() && stamps != current.stamps && due {
                let read = |path: &Path| {
                    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
                };
                let reloaded = read(&files.0).and_then(|cert| {
                    let key = read(&files.1)?;
                    certified_key(&cert, &key, &self.provider).map_err(|e| e.to_string())
                });
                match reloaded {
                    Ok(key) => {
                        // Only a pair that loaded marks the files as read.
                        current.stamps = stamps;
                        current.key = Arc::new(key);
                        current.retry_at = None;
                        tracing::info!(cert_file = %files.0.display(), "server certificate reloaded");
                    }
                    Err(cause) => {
                        current.retry_at = Some(Instant::now() + RELOAD_RETRY);
                        tracing::warn!(
                            cert_file = %files.0.display(),
                            cause = %cause,
                            "server certificate reload failed; serving the previous one"
                        );
                    }
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

/// *ring* with the configured suites and groups.
fn provider(settings: &TlsSettings) -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(tls12) = &settings.tls12_suites {
        provider
            .cipher_suites
            .retain(|s| matches!(s, SupportedCipherSuite::Tls13(_)));
        provider.cipher_suites.extend(tls12.iter().copied());
    }
    if let Some(groups) = &settings.groups {
        provider.kx_groups.clone_from(groups);
    }
    Arc::new(provider)
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
        Self {
            source: Arc::new(Source::Fixed(server)),
        }
    }

    /// Reads a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1), and for client
    /// certificates the PEM CA bundle (required by [`ClientAuth::VerifyIfGiven`] and
    /// [`ClientAuth::RequireAndVerify`]; the other modes only name its subjects to the
    /// client). The certificate, key and CA are read again on the first handshake after a
    /// file changed, so rotating them needs no restart; a file that does not load keeps the
    /// previous one in use.
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
            .map(|p| read_file(p, "client_ca_file").map(|pem| (pem, Some(p.to_path_buf()))))
            .transpose()?;
        let files = (
            cert_file.as_ref().to_path_buf(),
            key_file.as_ref().to_path_buf(),
        );
        let settings = TlsSettings {
            versions: (min_version, MaxVersion::Tls13),
            client_auth,
            ..TlsSettings::default()
        };
        Self::build(&cert, &key, Some(files), settings, ca)
    }

    /// Like [`from_pem_files`](Self::from_pem_files), from PEM text.
    pub fn from_pem(
        cert: &[u8],
        key: &[u8],
        min_version: MinVersion,
        client_auth: ClientAuth,
        client_ca: Option<&[u8]>,
    ) -> Result<Self, SecurityError> {
        let settings = TlsSettings {
            versions: (min_version, MaxVersion::Tls13),
            client_auth,
            ..TlsSettings::default()
        };
        Self::build(
            cert,
            key,
            None,
            settings,
            client_ca.map(|pem| (pem.to_vec(), None)),
        )
    }

    /// `files`: where `cert` and `key` were read from, to follow their changes; `ca`: the
    /// client CA and the file it was read from.
    pub(crate) fn build(
        cert: &[u8],
        key: &[u8],
        files: Option<(PathBuf, PathBuf)>,
        settings: TlsSettings,
        ca: Option<(Vec<u8>, Option<PathBuf>)>,
    ) -> Result<Self, SecurityError> {
        let provider = provider(&settings);
        let certified = certified_key(cert, key, &provider)?;
        let resolver = Arc::new(ServerCert {
            current: Mutex::new(Loaded {
                stamps: files.as_ref().and_then(modified),
                key: Arc::new(certified),
                retry_at: None,
            }),
            files,
            provider: Arc::clone(&provider),
        });
        let (ca_pem, ca_file) = ca.map_or((None, None), |(pem, file)| (Some(pem), file));
        let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let config = server_config(&settings, &provider, &resolver, &alpn, ca_pem.as_deref())?;
        let ca_stamp = ca_file.as_deref().and_then(stamp);
        Ok(Self {
            source: Arc::new(Source::Built(Built {
                settings,
                provider,
                resolver,
                ca_file,
                alpn,
                current: Mutex::new(Current {
                    config: Arc::new(config),
                    ca_stamp,
                    retry_at: None,
                }),
            })),
        })
    }

    /// The same configuration without `h2` in ALPN: HTTP/1.1 only.
    pub(crate) fn without_h2(&self) -> Self {
        let strip = |config: &ServerConfig| {
            let mut config = config.clone();
            config.alpn_protocols.retain(|p| p.as_slice() != b"h2");
            Arc::new(config)
        };
        let source = match &*self.source {
            Source::Fixed(config) => Source::Fixed(strip(config)),
            Source::Built(built) => {
                let current = built.current.lock().unwrap_or_else(PoisonError::into_inner);
                let mut alpn = built.alpn.clone();
                alpn.retain(|p| p.as_slice() != b"h2");
                Source::Built(Built {
                    settings: built.settings.clone(),
                    provider: Arc::clone(&built.provider),
                    resolver: Arc::clone(&built.resolver),
                    ca_file: built.ca_file.clone(),
                    alpn,
                    current: Mutex::new(Current {
                        config: strip(&current.config),
                        ca_stamp: current.ca_stamp,
                        retry_at: current.retry_at,
                    }),
                })
            }
        };
        Self {
            source: Arc::new(source),
        }
    }

    /// The configuration for a new connection: rebuilt first when the client CA file changed
    /// since (as exporter-toolkit reads it for every connection); a CA that does not load
    /// keeps the previous one, and is read again at most once a second.
    pub(crate) fn current(&self) -> Arc<ServerConfig> {
        let built = match &*self.source {
            Source::Fixed(config) => return Arc::clone(config),
            Source::Built(built) => built,
        };
        let mut current = built.current.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ca_file) = &built.ca_file else {
            return Arc::clone(&current.config);
        };
        let now_stamp = stamp(ca_file);
        let due = current.retry_at.is_none_or(|at| Instant::now() >= at);
        if now_stamp.is_some() && now_stamp != current.ca_stamp && due {
            let rebuilt = read_file(ca_file, "client_ca_file").and_then(|pem| {
                server_config(
                    &built.settings,
                    &built.provider,
                    &built.resolver,
                    &built.alpn,
                    Some(&pem),
                )
            });
            match rebuilt {
                Ok(config) => {
                    current.config = Arc::new(config);
                    current.ca_stamp = now_stamp;
                    current.retry_at = None;
                    tracing::info!(client_ca_file = %ca_file.display(), "client CA reloaded");
                }
                Err(cause) => {
                    current.retry_at = Some(Instant::now() + RELOAD_RETRY);
                    tracing::warn!(
                        client_ca_file = %ca_file.display(),
                        cause = %cause,
                        "client CA reload failed; verifying with the previous one"
                    );
                }
            }
        }
        Arc::clone(&current.config)
    }
}

/// The rustls configuration for `settings`, with `ca` as the client CA.
fn server_config(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
    resolver: &Arc<ServerCert>,
    alpn: &[Vec<u8>],
    ca: Option<&[u8]>,
) -> Result<ServerConfig, SecurityError> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.versions {
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
    let builder = ServerConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(versions)
        .map_err(|e| SecurityError::invalid("cipher_suites", e.to_string()))?;
    let builder = match settings.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => builder.with_client_cert_verifier(Arc::new(ClientCerts::new(
            auth,
            ca,
            provider,
            settings.allowed_sans.clone(),
        )?)),
    };
    let mut server =
        builder.with_cert_resolver(Arc::clone(resolver) as Arc<dyn ResolvesServerCert>);
    server.alpn_protocols = alpn.to_vec();
    server.ignore_client_order = settings.prefer_server_order;
    Ok(server)
}
