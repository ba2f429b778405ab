//! The exporter over TLS with rustls clients: a scrape succeeds, a client that stalls its
//! handshake blocks no one, a required client certificate is enforced, TLS 1.2 is refused when
//! the minimum is 1.3, and plain HTTP on the TLS port gets no answer; the web config's
//! `max_version` and `http2: false` (ALPN) are honoured, and a certificate reload that failed
//! mid-rewrite is retried.

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
    // The files are looked at at most once a second: bounded wait for the new pair.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match scrape(&addr, client_config(&second, BOTH, false)).await {
            Ok(answer) if answer.starts_with("HTTP/1.1 200") => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "the new certificate was not served 10 s after the rotation: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A new client (no session to resume) that trusts only the first CA is refused now.
    assert!(scrape(&addr, client_config(&old_ca, BOTH, false))
        .await
        .is_err());
}

/// A TLS connection to `addr` offering `h2` and `http/1.1` in ALPN.
async fn handshake(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").expect("name");
    tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(std::io::Error::other)?
}

fn offering_h2(config: Arc<rustls::ClientConfig>) -> Arc<rustls::ClientConfig> {
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Serves the exporter with a `web-config.yml` naming `pki`'s server files, plus `extra` YAML.
async fn serve_web_config(pki: &Pki, tls_extra: &str, extra: &str) -> Served {
    let yaml = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{tls_extra}{extra}",
        pki.server.0.display(),
        pki.server.1.display()
    );
    let web = metrics_exporter::security::WebConfig::from_yaml(&yaml, std::path::Path::new("."))
        .expect("web config");
    common::serve(None, |e| e.web_config(&web).expect("apply")).await
}

#[tokio::test]
async fn http2_off_in_the_web_config_is_not_offered_in_alpn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let on = serve_web_config(&pki, "", "").await;
    let tls = handshake(&on.addr, offering_h2(client_config(&pki, BOTH, false)))
        .await
        .expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    // HTTP/2 is spoken when ALPN chose it.
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let request = http::Request::get("https://localhost/metrics")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("HTTP/2 scrape");
    assert_eq!(response.status(), 200);

    let off = serve_web_config(&pki, "", "http_server_config:\n  http2: false\n").await;
    let tls = handshake(&off.addr, offering_h2(client_config(&pki, BOTH, false)))
        .await
        .expect("handshake");
    assert_eq!(
        tls.get_ref().1.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "http2: false still offers h2 in ALPN"
    );
    let answer = scrape(&off.addr, client_config(&pki, BOTH, false))
        .await
        .expect("HTTP/1.1 scrape");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn max_version_tls12_in_the_web_config_is_honoured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let exporter = serve_web_config(&pki, "  max_version: TLS12\n", "").await;
    let tls = handshake(&exporter.addr, client_config(&pki, BOTH, false))
        .await
        .expect("handshake");
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2),
        "max_version: TLS12 negotiated a later version"
    );
    let only_13 = handshake(
        &exporter.addr,
        client_config(&pki, &[&rustls::version::TLS13], false),
    )
    .await;
    assert!(only_13.is_err(), "a TLS 1.3-only client was served");
}

#[tokio::test]
async fn a_reload_that_failed_mid_rewrite_is_retried_though_the_mtime_stays() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = test_support::pki::write(dir.path());
    let (addr, _stop) = serve(&first, MinVersion::Tls12, ClientAuth::None).await;
    let mut old_ca = first.clone();
    old_ca.ca = dir.path().join("first-ca.crt");
    std::fs::copy(&first.ca, &old_ca.ca).expect("keep the first CA");
    let old_cert = std::fs::read(&first.server.0).expect("read");

    // The rotation writes the new pair; a handshake reads the certificate while it is still
    // garbage (of the final length), and the rewrite ends within the same mtime.
    let second = test_support::pki::write(dir.path());
    let new_cert = std::fs::read(&second.server.0).expect("read");
    let stamp = std::time::SystemTime::now() + Duration::from_secs(5);
    let set_mtime = |path: &std::path::Path| {
        std::fs::File::options()
            .append(true)
            .open(path)
            .and_then(|f| f.set_modified(stamp))
            .expect("set mtime");
    };
    std::fs::write(&second.server.0, vec![b'x'; new_cert.len()]).expect("write garbage");
    set_mtime(&second.server.0);
    set_mtime(&second.server.1);
    // Connections for a second and a half: at least one check reads the broken file, and
    // every connection gets the old pair.
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < until {
        let answer = scrape(&addr, client_config(&old_ca, BOTH, false))
            .await
            .expect("the old pair is served while the new one is broken");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(old_cert, new_cert);

    std::fs::write(&second.server.0, &new_cert).expect("finish the rewrite");
    set_mtime(&second.server.0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match scrape(&addr, client_config(&second, BOTH, false)).await {
            Ok(answer) if answer.starts_with("HTTP/1.1 200") => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "the new certificate was not served 10 s after its rewrite ended: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
