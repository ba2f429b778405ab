//! The `metrics-exporter` binary with `--web.config.file`: a file using exporter-toolkit keys
//! it used to refuse or ignore (headers, rate_limit, RequireAnyClientCert, curves, suites,
//! http2: false) is served as written; an unknown key stops it at start, named.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use test_support::binaries::{free_port, ChildGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BINARY: &str = env!("CARGO_BIN_EXE_metrics-exporter");

#[test]
fn an_unknown_key_stops_the_binary_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("web-config.yml");
    std::fs::write(&file, "http_server_config:\n  http3: true\n").expect("write");
    let output = Command::new(BINARY)
        .env_clear()
        .arg(format!("--web.config.file={}", file.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("http3"), "{stderr}");
}

/// `GET /metrics` over TLS offering `h2,http/1.1`: the ALPN protocol chosen and the answer.
async fn scrape(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<(Vec<u8>, String)> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(std::io::Error::other)??;
    let alpn = tls.get_ref().1.alpn_protocol().unwrap_or_default().to_vec();
    tls.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut answer))
        .await
        .map_err(std::io::Error::other)??;
    Ok((alpn, String::from_utf8_lossy(&answer).into_owned()))
}

#[tokio::test]
async fn the_binary_serves_a_file_with_every_kind_of_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let file = dir.path().join("web-config.yml");
    std::fs::write(
        &file,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  min_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\nhttp_server_config:\n  http2: false\n  headers:\n    X-Content-Type-Options: nosniff\nrate_limit:\n  interval: 1s\n  burst: 100\n",
    )
    .expect("write");
    let addr = format!("127.0.0.1:{}", free_port());
    let _binary = ChildGuard::spawn(
        Command::new(BINARY)
            .env_clear()
            .env("METRICS_ADDR", &addr)
            .arg(format!("--web.config.file={}", file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).expect("log file")),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca).expect("CA"))
        .expect("add CA");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let mut with_cert = builder
        .clone()
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_file(&pki.client.0).expect("cert")],
            PrivateKeyDer::from_pem_file(&pki.client.1).expect("key"),
        )
        .expect("client cert");
    with_cert.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let with_cert = Arc::new(with_cert);

    // Bounded wait for the binary to listen.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (alpn, answer) = loop {
        match scrape(&addr, Arc::clone(&with_cert)).await {
            Ok(done) => break done,
            Err(e) => assert!(std::time::Instant::now() < deadline, "never served: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(alpn, b"http/1.1");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{answer}"
    );
    // The start log names what the file turned on.
    let log = std::fs::read_to_string(dir.path().join("log")).expect("the binary's log");
    let protection = log
        .lines()
        .find(|line| line.contains("msg=protection"))
        .unwrap_or_else(|| panic!("no protection line in:\n{log}"));
    for field in [
        "tls=true",
        "http2=false",
        "rate_limit=\"1 per 1s, burst 100\"",
        "response_headers=1",
    ] {
        assert!(protection.contains(field), "{field} not in {protection}");
    }
    // RequireAnyClientCert: no certificate, no answer.
    let without = Arc::new(builder.with_no_client_auth());
    let refused = scrape(&addr, without).await;
    assert!(
        refused
            .as_ref()
            .map_or(true, |(_, a)| !a.starts_with("HTTP/1.1 200")),
        "{refused:?}"
    );
}
