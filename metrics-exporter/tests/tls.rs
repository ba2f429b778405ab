//! The exporter over TLS with rustls clients: a scrape succeeds, a client that stalls its
//! handshake blocks no one, a required client certificate is enforced, TLS 1.2 is refused when
//! the minimum is 1.3, and plain HTTP on the TLS port gets no answer.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter::security::{ClientAuth, MinVersion, TlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use test_support::pki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::Served;

async fn serve(pki: &Pki, min: MinVersion, client_auth: ClientAuth) -> (String, Served) {
    let tls = TlsConfig::from_pem_files(
        &pki.server.0,
        &pki.server.1,
        min,
        client_auth,
        Some(&pki.ca),
    )
    .expect("TLS config");
    let served = common::serve(None, |e| e.tls(tls)).await;
    (served.addr.clone(), served)
}

fn client_config(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    with_cert: bool,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca).expect("CA"))
        .expect("add CA");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .expect("versions")
    .with_root_certificates(roots);
    let config = if with_cert {
        let chain = vec![CertificateDer::from_pem_file(&pki.client.0).expect("cert")];
        let key = PrivateKeyDer::from_pem_file(&pki.client.1).expect("key");
        builder
            .with_client_auth_cert(chain, key)
            .expect("client cert")
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

/// `GET /metrics` over TLS; the response text, or the error that ended the exchange.
async fn scrape(addr: &str, config: Arc<rustls::ClientConfig>) -> Result<String, std::io::Error> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(std::io::Error::other)??;
    tls.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut answer))
        .await
        .map_err(std::io::Error::other)??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

#[tokio::test]
async fn scrapes_over_tls_while_another_handshake_stalls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let (addr, _stop) = serve(&pki, MinVersion::Tls12, ClientAuth::None).await;
    // Connected, sending nothing: its handshake waits in its own task.
    let _stalled = TcpStream::connect(&addr).await.expect("connect");
    for versions in [BOTH, &[&rustls::version::TLS12][..]] {
        let answer = scrape(&addr, client_config(&pki, versions, false))
            .await
            .expect("scrape");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("exporter_scrapes_total"), "{answer}");
    }
}

#[tokio::test]
async fn a_required_client_certificate_is_enforced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let (addr, _stop) = serve(&pki, MinVersion::Tls12, ClientAuth::RequireAndVerify).await;
    let answer = scrape(&addr, client_config(&pki, BOTH, true))
        .await
        .expect("scrape with a client certificate");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Without one the server refuses (with TLS 1.3 the client learns it on its first read).
    let refused = scrape(&addr, client_config(&pki, BOTH, false)).await;
    assert!(
        refused
            .as_ref()
            .map_or(true, |a| !a.starts_with("HTTP/1.1 200")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn tls_12_is_refused_when_the_minimum_is_13_and_plain_http_gets_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let (addr, _stop) = serve(&pki, MinVersion::Tls13, ClientAuth::None).await;
    let old = scrape(
        &addr,
        client_config(&pki, &[&rustls::version::TLS12], false),
    )
    .await;
    assert!(old.is_err(), "{old:?}");
    let answer = scrape(&addr, client_config(&pki, BOTH, false))
        .await
        .expect("TLS 1.3 scrape");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut plain = TcpStream::connect(&addr).await.expect("connect");
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[tokio::test]
async fn a_rotated_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = test_support::pki::write(dir.path());
    let (addr, _stop) = serve(&first, MinVersion::Tls12, ClientAuth::None).await;
    let answer = scrape(&addr, client_config(&first, BOTH, false))
        .await
        .expect("scrape");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut old_ca = first.clone();
    old_ca.ca = dir.path().join("first-ca.crt");
    std::fs::copy(&first.ca, &old_ca.ca).expect("keep the first CA");

    // A new CA and server certificate in the same files, as cert-manager would rotate them.
    let second = test_support::pki::write(dir.path());
    // Coarse file-system clocks could give the rewrite the same mtime: move it on.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    for path in [&second.server.0, &second.server.1] {
        std::fs::File::options()
            .append(true)
            .open(path)
            .and_then(|f| f.set_modified(later))
            .expect("set mtime");
    }
    let answer = scrape(&addr, client_config(&second, BOTH, false))
        .await
        .expect("scrape with the new CA");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A new client (no session to resume) that trusts only the first CA is refused now.
    assert!(scrape(&addr, client_config(&old_ca, BOTH, false))
        .await
        .is_err());
}
