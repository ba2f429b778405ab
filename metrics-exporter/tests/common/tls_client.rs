//! A rustls client for the TLS tests: its versions, certificate, suites, groups and ALPN
//! offer, and one HTTP/1.1 exchange that reports what was negotiated.
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ProtocolVersion, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
pub const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
pub const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A client's choices: versions, its certificate, the suites and groups it offers, ALPN.
pub struct Client<'a> {
    pub versions: &'a [&'static SupportedProtocolVersion],
    pub cert: Option<&'a (PathBuf, PathBuf)>,
    pub suites: Option<Vec<rustls::SupportedCipherSuite>>,
    pub groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
    pub alpn: &'a [&'a [u8]],
}

impl Default for Client<'_> {
    fn default() -> Self {
        Self {
            versions: BOTH,
            cert: None,
            suites: None,
            groups: None,
            alpn: &[],
        }
    }
}

pub fn client_config(ca: &Path, client: Client<'_>) -> Arc<rustls::ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = client.suites {
        provider.cipher_suites = suites;
    }
    if let Some(groups) = client.groups {
        provider.kx_groups = groups;
    }
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).expect("CA"))
        .expect("add CA");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(client.versions)
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match client.cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(cert).expect("cert")],
                PrivateKeyDer::from_pem_file(key).expect("key"),
            )
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = client.alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// What one TLS exchange showed.
#[derive(Debug)]
pub struct Exchange {
    pub version: Option<ProtocolVersion>,
    pub suite: Option<rustls::CipherSuite>,
    pub group: Option<rustls::NamedGroup>,
    pub alpn: Option<Vec<u8>>,
    /// The HTTP/1.1 answer to `GET path`.
    pub answer: String,
}

impl Exchange {
    pub fn status(&self) -> Option<&str> {
        self.answer.split(' ').nth(1)
    }
}

/// Connects, handshakes and sends `GET path` over HTTP/1.1 (with `Authorization: Basic` when
/// `basic` is given); the error that ended the exchange otherwise.
pub async fn exchange(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    path: &str,
    basic: Option<&str>,
) -> std::io::Result<Exchange> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(std::io::Error::other)??;
    let (_, connection) = tls.get_ref();
    let version = connection.protocol_version();
    let suite = connection.negotiated_cipher_suite().map(|s| s.suite());
    let group = connection.negotiated_key_exchange_group().map(|g| g.name());
    let alpn = connection.alpn_protocol().map(<[u8]>::to_vec);
    let auth = basic.map_or(String::new(), |b| format!("Authorization: Basic {b}\r\n"));
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut answer))
        .await
        .map_err(std::io::Error::other)??;
    Ok(Exchange {
        version,
        suite,
        group,
        alpn,
        answer: String::from_utf8_lossy(&answer).into_owned(),
    })
}

/// Whether `GET /metrics` is answered 200.
pub async fn scrapes(addr: &str, config: Arc<rustls::ClientConfig>) -> bool {
    exchange(addr, config, "/metrics", None)
        .await
        .is_ok_and(|e| e.status() == Some("200"))
}
