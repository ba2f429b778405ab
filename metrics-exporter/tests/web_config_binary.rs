//! The `metrics-exporter` binary with `--web.config.file`: a file using exporter-toolkit keys
//! it used to refuse or ignore (headers, rate_limit, RequireAnyClientCert, curves, suites,
//! http2: false) is served as written; an unknown key stops it at start, named; and, table
//! driven, one small file per key (or group of keys), the binary started on each and one
//! behaviour checked over a real rustls connection (or the exit naming a refused key).

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

#[path = "common/tls_client.rs"]
mod tls_client;

/// What the binary must do with one file, checked over a real rustls connection.
enum Expect {
    /// `GET /metrics` is answered 200 to a client without a certificate.
    Scrapes,
    /// Offered `h2,http/1.1` in ALPN, the server picks this one.
    Alpn(&'static [u8]),
    /// The answer carries this header (lowercase name) with this value.
    Header(&'static str, &'static str),
    /// `burst` scrapes are answered 200, the next one 429.
    RateLimited(usize),
    /// A client without a certificate gets no 200; with the CA-signed one it does.
    NeedsClientCert,
    /// A client with the CA-signed certificate (SAN `prometheus`) is answered 200, or not.
    WithClientCert(bool),
    /// A TLS 1.2-only client gets no answer; a TLS 1.3 one gets 200.
    RefusesTls12,
    /// The version negotiated with a client offering TLS 1.2 and 1.3.
    Version(rustls::ProtocolVersion),
    /// The TLS 1.2 suite chosen when the client offers these, in this order.
    Suite(Vec<rustls::SupportedCipherSuite>, rustls::CipherSuite),
    /// The key exchange group negotiated with a client offering rustls' defaults.
    Group(rustls::NamedGroup),
    /// 401 without credentials, 200 with the configured user's.
    BasicAuth,
    /// The binary exits 2 at start, its error naming this key.
    Exits(&'static str),
}

const PASSWORD: &str = "scrape-password";

/// Exits 2 with an error naming `key`, within 10 s (killed otherwise).
fn assert_exits_naming(command: &mut Command, key: &str) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait().expect("wait") {
            Some(status) => break status,
            None if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("still running 10 s after start, though {key} is refused");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
    }
    assert_eq!(status.code(), Some(2), "{key}: {stderr}");
    assert!(stderr.contains(key), "{key} not named in: {stderr}");
}

/// Waits (at most 10 s) until the binary accepts connections at `addr`.
async fn wait_listening(addr: &str, binary: &mut ChildGuard, log: &std::path::Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_err() {
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        assert!(binary.is_running(), "the binary exited:\n{}", log());
        assert!(
            std::time::Instant::now() < deadline,
            "not listening on {addr} after 10 s:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks `expect` against the binary serving at `addr` with the files of `pki`.
async fn check(addr: &str, pki: &test_support::pki::Pki, expect: &Expect) -> Result<(), String> {
    use tls_client::{client_config, exchange, Client, BOTH, TLS12, TLS13};
    let plain = || client_config(&pki.ca, Client::default());
    let with_cert = || {
        client_config(
            &pki.ca,
            Client {
                cert: Some(&pki.client),
                ..Client::default()
            },
        )
    };
    let status = |result: std::io::Result<tls_client::Exchange>| {
        result
            .ok()
            .and_then(|e| e.status().map(str::to_owned))
            .unwrap_or_else(|| "no answer".into())
    };
    let ok = |what: &str, seen: String, want: &str| {
        if seen == want {
            Ok(())
        } else {
            Err(format!("{what}: {seen}, expected {want}"))
        }
    };
    match expect {
        Expect::Scrapes => ok(
            "scrape",
            status(exchange(addr, plain(), "/metrics", None).await),
            "200",
        ),
        Expect::Alpn(want) => {
            let offer: &[&[u8]] = &[b"h2", b"http/1.1"];
            let config = client_config(
                &pki.ca,
                Client {
                    alpn: offer,
                    ..Client::default()
                },
            );
            // The handshake only: after `h2` an HTTP/1.1 request would be refused.
            let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let name = ServerName::try_from("localhost").expect("name");
            let tls = tokio::time::timeout(
                Duration::from_secs(5),
                tokio_rustls::TlsConnector::from(config).connect(name, tcp),
            )
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let chosen = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            ok(
                "ALPN",
                format!("{chosen:?}"),
                &format!("{:?}", Some(want.to_vec())),
            )
        }
        Expect::Header(name, value) => {
            let e = exchange(addr, plain(), "/metrics", None)
                .await
                .map_err(|e| e.to_string())?;
            let line = format!("\r\n{name}: {value}\r\n");
            if e.answer.to_ascii_lowercase().contains(&line) {
                Ok(())
            } else {
                Err(format!("no {line:?} in {}", e.answer))
            }
        }
        Expect::RateLimited(burst) => {
            let mut seen = Vec::new();
            for _ in 0..=*burst {
                seen.push(status(exchange(addr, plain(), "/metrics", None).await));
            }
            let mut want = vec!["200"; *burst];
            want.push("429");
            ok("statuses", format!("{seen:?}"), &format!("{want:?}"))
        }
        Expect::NeedsClientCert => {
            ok(
                "without a certificate",
                status(exchange(addr, plain(), "/metrics", None).await),
                "no answer",
            )?;
            ok(
                "with the certificate",
                status(exchange(addr, with_cert(), "/metrics", None).await),
                "200",
            )
        }
        Expect::WithClientCert(served) => ok(
            "with the certificate",
            status(exchange(addr, with_cert(), "/metrics", None).await),
            if *served { "200" } else { "no answer" },
        ),
        Expect::RefusesTls12 => {
            let only = |versions| {
                client_config(
                    &pki.ca,
                    Client {
                        versions,
                        ..Client::default()
                    },
                )
            };
            ok(
                "TLS 1.2 only",
                status(exchange(addr, only(TLS12), "/metrics", None).await),
                "no answer",
            )?;
            ok(
                "TLS 1.3",
                status(exchange(addr, only(TLS13), "/metrics", None).await),
                "200",
            )
        }
        Expect::Version(want) => {
            let config = client_config(
                &pki.ca,
                Client {
                    versions: BOTH,
                    ..Client::default()
                },
            );
            let e = exchange(addr, config, "/metrics", None)
                .await
                .map_err(|e| e.to_string())?;
            ok(
                "version",
                format!("{:?}", e.version),
                &format!("{:?}", Some(want)),
            )
        }
        Expect::Suite(offer, want) => {
            let config = client_config(
                &pki.ca,
                Client {
                    versions: TLS12,
                    suites: Some(offer.clone()),
                    ..Client::default()
                },
            );
            let e = exchange(addr, config, "/metrics", None)
                .await
                .map_err(|e| e.to_string())?;
            ok(
                "suite",
                format!("{:?}", e.suite),
                &format!("{:?}", Some(want)),
            )
        }
        Expect::Group(want) => {
            let e = exchange(addr, plain(), "/metrics", None)
                .await
                .map_err(|e| e.to_string())?;
            ok(
                "group",
                format!("{:?}", e.group),
                &format!("{:?}", Some(want)),
            )
        }
        Expect::BasicAuth => {
            use base64::Engine;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("prometheus:{PASSWORD}"));
            ok(
                "without credentials",
                status(exchange(addr, plain(), "/metrics", None).await),
                "401",
            )?;
            ok(
                "with credentials",
                status(exchange(addr, plain(), "/metrics", Some(&basic)).await),
                "200",
            )
        }
        Expect::Exits(_) => Ok(()),
    }
}

/// One small file per web-config key (or group of keys that only make sense together), the
/// binary started on each, and its behaviour checked over a real TLS connection.
#[tokio::test]
async fn each_key_changes_what_the_binary_does() {
    use rustls::crypto::ring::cipher_suite::{
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 as AES128,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 as AES256,
    };
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let indent = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .expect("read PEM")
            .replace('\n', "\n    ")
    };
    let files = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let tls = |extra: &str| format!("{files}{extra}");
    let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
    let cases: Vec<(String, Expect)> = vec![
        (tls(""), Expect::Scrapes),
        (
            format!(
                "tls_server_config:\n  cert: |\n    {}\n  key: |\n    {}\n",
                indent(&pki.server.0),
                indent(&pki.server.1)
            ),
            Expect::Scrapes,
        ),
        (
            tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"),
            Expect::NeedsClientCert,
        ),
        (
            tls("  client_auth_type: RequireAnyClientCert\n"),
            Expect::NeedsClientCert,
        ),
        // Verified when given, but not required.
        (
            tls("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"),
            Expect::Scrapes,
        ),
        (
            tls("  client_auth_type: RequestClientCert\n"),
            Expect::Scrapes,
        ),
        (
            tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca: |\n    {CA}\n")
                .replace("{CA}", &indent(&pki.ca)),
            Expect::NeedsClientCert,
        ),
        (
            tls("  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [nobody]\n"),
            Expect::WithClientCert(false),
        ),
        (
            tls("  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [prometheus]\n"),
            Expect::WithClientCert(true),
        ),
        (tls("  min_version: TLS13\n"), Expect::RefusesTls12),
        (
            tls("  max_version: TLS12\n"),
            Expect::Version(rustls::ProtocolVersion::TLSv1_2),
        ),
        (
            tls("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"),
            Expect::Suite(vec![AES128, AES256], rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        ),
        (
            tls("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  prefer_server_cipher_suites: false\n"),
            Expect::Suite(vec![AES128, AES256], rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ),
        (
            tls("  curve_preferences: [CurveP384]\n"),
            Expect::Group(rustls::NamedGroup::secp384r1),
        ),
        (
            tls("http_server_config:\n  http2: false\n"),
            Expect::Alpn(b"http/1.1"),
        ),
        (tls(""), Expect::Alpn(b"h2")),
        (
            tls("http_server_config:\n  headers:\n    X-Frame-Options: deny\n"),
            Expect::Header("x-frame-options", "deny"),
        ),
        (
            tls(&format!("basic_auth_users:\n  prometheus: {hash}\n")),
            Expect::BasicAuth,
        ),
        (
            // An hour between tokens: nothing refills during the check.
            tls("rate_limit:\n  interval: 1h\n  burst: 2\n"),
            Expect::RateLimited(2),
        ),
        (
            tls("  min_version: TLS10\n"),
            Expect::Exits("tls_server_config.min_version"),
        ),
        (
            tls("  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"),
            Expect::Exits("tls_server_config.cipher_suites"),
        ),
        (
            tls("  curve_preferences: [CurveP521]\n"),
            Expect::Exits("tls_server_config.curve_preferences"),
        ),
        (
            tls("http_server_config:\n  headers:\n    Server: x\n"),
            Expect::Exits("http_server_config.headers"),
        ),
        (
            tls("  cert: inline-too\n"),
            Expect::Exits("tls_server_config.cert"),
        ),
        (
            tls("rate_limit:\n  interval: 1s\n  burst: 0\n"),
            Expect::Exits("rate_limit.burst"),
        ),
    ];
    let mut failures = Vec::new();
    for (i, (yaml, expect)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("web-config-{i}.yml"));
        std::fs::write(&file, yaml).expect("write");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!("--web.config.file={}", file.display()))
            .stdin(Stdio::null());
        if let Expect::Exits(key) = expect {
            assert_exits_naming(&mut command, key);
            continue;
        }
        let log = dir.path().join(format!("log-{i}"));
        let mut binary = ChildGuard::spawn(
            command
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file")),
        );
        wait_listening(&addr, &mut binary, &log).await;
        if let Err(e) = check(&addr, &pki, expect).await {
            failures.push(format!("{yaml}=> {e}"));
        }
    }
    println!(
        "{} files, {} ms",
        cases.len(),
        started.elapsed().as_millis()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
