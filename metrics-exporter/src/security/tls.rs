//! [`TlsConfig`]: the exporter's TLS server settings (rustls, TLS 1.2 at least).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::client_certs::ClientCerts;
use super::reload::{Followed, Loader};
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
    /// The configuration, rebuilt after the client CA file changed.
    config: Arc<Followed<ServerConfig>>,
}

/// The server certificate and key; when they came from files, loaded again after either
/// file changed (as exporter-toolkit does), so a rotated certificate is served without a
/// restart. Resolving is one atomic load: [`TlsConfig::current`] starts the checks.
#[derive(Debug)]
struct ServerCert(Arc<Followed<CertifiedKey>>);

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }
}

fn read_pem(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// How the configuration is rebuilt when the client CA file changed.
fn ca_loader(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
    resolver: &Arc<ServerCert>,
    alpn: &[Vec<u8>],
    ca_file: &Path,
) -> Loader<ServerConfig> {
    let (settings, provider, resolver) =
        (settings.clone(), Arc::clone(provider), Arc::clone(resolver));
    let (alpn, ca_file) = (alpn.to_vec(), ca_file.to_path_buf());
    Box::new(move || {
        let pem = read_pem(&ca_file)?;
        server_config(&settings, &provider, &resolver, &alpn, Some(&pem)).map_err(|e| e.to_string())
    })
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
    /// client). The files' stamps (mtime, length) are looked at at most once a second, as
    /// connections arrive; a file that changed is read again off the runtime threads and used
    /// from the next connection on, so rotating them needs no restart; a file that does not
    /// load keeps the previous one in use (and is tried again a second later).
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
        let certified = match files {
            Some((cert_file, key_file)) => {
                let paths = vec![cert_file.clone(), key_file.clone()];
                let provider = Arc::clone(&provider);
                let load: Loader<CertifiedKey> = Box::new(move || {
                    let cert = read_pem(&cert_file)?;
                    let key = read_pem(&key_file)?;
                    certified_key(&cert, &key, &provider).map_err(|e| e.to_string())
                });
                Followed::new("server certificate", certified, paths, load)
            }
            None => Followed::fixed("server certificate", certified),
        };
        let resolver = Arc::new(ServerCert(certified));
        let (ca_pem, ca_file) = ca.map_or((None, None), |(pem, file)| (Some(pem), file));
        let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let config = server_config(&settings, &provider, &resolver, &alpn, ca_pem.as_deref())?;
        let config = match &ca_file {
            Some(path) => Followed::new(
                "client CA",
                config,
                vec![path.clone()],
                ca_loader(&settings, &provider, &resolver, &alpn, path),
            ),
            None => Followed::fixed("client CA", config),
        };
        Ok(Self {
            source: Arc::new(Source::Built(Built {
                settings,
                provider,
                resolver,
                ca_file,
                alpn,
                config,
            })),
        })
    }

    /// The same configuration without `h2` in ALPN: HTTP/1.1 only.
    pub(crate) fn without_h2(&self) -> Self {
        let strip = |config: &ServerConfig| {
            let mut config = config.clone();
            config.alpn_protocols.retain(|p| p.as_slice() != b"h2");
            config
        };
        let source = match &*self.source {
            Source::Fixed(config) => Source::Fixed(Arc::new(strip(config))),
            Source::Built(built) => {
                let mut alpn = built.alpn.clone();
                alpn.retain(|p| p.as_slice() != b"h2");
                let config = strip(&built.config.get());
                let config = match &built.ca_file {
                    Some(path) => built.config.derived(
                        config,
                        ca_loader(
                            &built.settings,
                            &built.provider,
                            &built.resolver,
                            &alpn,
                            path,
                        ),
                    ),
                    None => Followed::fixed("client CA", config),
                };
                Source::Built(Built {
                    settings: built.settings.clone(),
                    provider: Arc::clone(&built.provider),
                    resolver: Arc::clone(&built.resolver),
                    ca_file: built.ca_file.clone(),
                    alpn,
                    config,
                })
            }
        };
        Self {
            source: Arc::new(source),
        }
    }

    /// The configuration for a new connection: one atomic load. At most once a second it also
    /// starts a check of the certificate, key and client CA files off the runtime threads
    /// (exporter-toolkit reads them for every connection); what changed is used from the next
    /// connection on, and a file that does not load keeps the previous one.
    pub(crate) fn current(&self) -> Arc<ServerConfig> {
        match &*self.source {
            Source::Fixed(config) => Arc::clone(config),
            Source::Built(built) => {
                built.resolver.0.poll();
                built.config.poll();
                built.config.get()
            }
        }
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
