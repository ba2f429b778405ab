//! Every key of exporter-toolkit's web-config.yml against a served exporter, over real
//! connections with rustls clients: ALPN and `http2`, the five `client_auth_type` values with
//! no, an untrusted and a trusted client certificate, `client_allowed_sans`, a client CA
//! reload, `min_version`/`max_version`, `cipher_suites` and `prefer_server_cipher_suites`,
//! `curve_preferences`, `headers` on every answer, `rate_limit`, and refused keys and values
//! named in the error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter::security::WebConfig;
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::ProtocolVersion;
use test_support::pki::Pki;
use tokio::net::TcpStream;

mod common;
use common::Served;
#[path = "common/tls_client.rs"]
mod tls_client;
use tls_client::{client_config, exchange, scrapes, Client, BOTH, TLS12, TLS13};

/// Two independent PKIs: `trusted` is the one the exporter's files come from, `other` signs a
/// client certificate the exporter does not trust.
struct Pkis {
    dir: tempfile::TempDir,
    trusted: Pki,
    other: Pki,
}

fn pkis() -> Pkis {
    let dir = tempfile::tempdir().expect("temp dir");
    let trusted_dir = dir.path().join("trusted");
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&trusted_dir).expect("dir");
    std::fs::create_dir_all(&other_dir).expect("dir");
    Pkis {
        trusted: test_support::pki::write(&trusted_dir),
        other: test_support::pki::write(&other_dir),
        dir,
    }
}

/// Writes `yaml` as `web-config.yml` in `dir`, loads it as the binary does and serves it.
async fn serve_file(dir: &Path, yaml: &str) -> Served {
    let path = dir.join("web-config.yml");
    std::fs::write(&path, yaml).expect("write web-config.yml");
    let web = WebConfig::from_file(&path).expect("web config");
    common::serve(None, |e| e.web_config(&web).expect("apply")).await
}

/// The TLS part of a web-config.yml with the trusted server files, plus `extra` lines.
fn tls_yaml(pki: &Pki, extra: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{extra}",
        pki.server.0.display(),
        pki.server.1.display()
    )
}

#[tokio::test]
async fn alpn_offers_h2_unless_http2_is_false() {
    let p = pkis();
    let offer: &[&[u8]] = &[b"h2", b"http/1.1"];
    let client = || {
        client_config(
            &p.trusted.ca,
            Client {
                alpn: offer,
                ..Client::default()
            },
        )
    };
    let on = serve_file(p.dir.path(), &tls_yaml(&p.trusted, "")).await;
    let tcp = TcpStream::connect(&on.addr).await.expect("connect");
    let tls = tokio_rustls::TlsConnector::from(client())
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let off = serve_file(
        p.dir.path(),
        &tls_yaml(&p.trusted, "http_server_config:\n  http2: false\n"),
    )
    .await;
    let exchange = exchange(&off.addr, client(), "/metrics", None)
        .await
        .expect("HTTP/1.1 over TLS");
    assert_eq!(exchange.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(exchange.status(), Some("200"), "{}", exchange.answer);
}

#[tokio::test]
async fn each_client_auth_type_with_no_untrusted_and_trusted_certificates() {
    let p = pkis();
    // (client_auth_type, served with: no certificate, an untrusted one, a trusted one)
    let cases = [
        ("NoClientCert", [true, true, true]),
        ("RequestClientCert", [true, true, true]),
        ("RequireAnyClientCert", [false, true, true]),
        ("RequireClientCert", [false, true, true]),
        ("VerifyClientCertIfGiven", [true, false, true]),
        ("RequireAndVerifyClientCert", [false, false, true]),
    ];
    for (auth, expected) in cases {
        let ca = if auth == "NoClientCert" {
            String::new()
        } else {
            format!("  client_ca_file: {}\n", p.trusted.ca.display())
        };
        let yaml = tls_yaml(&p.trusted, &format!("  client_auth_type: {auth}\n{ca}"));
        let served = serve_file(p.dir.path(), &yaml).await;
        let mut seen = [false; 3];
        for (i, cert) in [None, Some(&p.other.client), Some(&p.trusted.client)]
            .into_iter()
            .enumerate()
        {
            // Both versions: TLS 1.3 reports a refused certificate after the handshake.
            for versions in [TLS12, TLS13] {
                let config = client_config(
                    &p.trusted.ca,
                    Client {
                        versions,
                        cert,
                        ..Client::default()
                    },
                );
                let ok = scrapes(&served.addr, config).await;
                if versions == TLS12 {
                    seen[i] = ok;
                } else {
                    assert_eq!(ok, seen[i], "{auth}: TLS 1.2 and 1.3 disagree for case {i}");
                }
            }
        }
        assert_eq!(seen, expected, "{auth}: [none, untrusted, trusted]");
    }
}

/// Presents a certificate with a key that is not its own (rustls' own client refuses to).
#[derive(Debug)]
struct Mismatched(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Mismatched {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn an_unverified_certificate_still_proves_its_key() {
    // RequireAnyClientCert verifies no chain, but the client must hold the certificate's key.
    let p = pkis();
    let served = serve_file(
        p.dir.path(),
        &tls_yaml(&p.trusted, "  client_auth_type: RequireAnyClientCert\n"),
    )
    .await;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::from_pem_file(&p.other.client.1).expect("key"))
        .expect("signing key");
    let chain = vec![CertificateDer::from_pem_file(&p.trusted.client.0).expect("cert")];
    let resolver = Arc::new(Mismatched(Arc::new(rustls::sign::CertifiedKey::new(
        chain, key,
    ))));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&p.trusted.ca).expect("CA"))
        .expect("add CA");
    for versions in [TLS12, TLS13] {
        let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots.clone())
            .with_client_cert_resolver(resolver.clone());
        assert!(
            !scrapes(&served.addr, Arc::new(config)).await,
            "a certificate without its key was accepted"
        );
    }
    // The same client with the right key is served: the refusal was the key's.
    let config = client_config(
        &p.trusted.ca,
        Client {
            cert: Some(&p.trusted.client),
            ..Client::default()
        },
    );
    assert!(scrapes(&served.addr, config).await);
}

#[tokio::test]
async fn client_allowed_sans_are_matched() {
    let p = pkis();
    for (sans, expected) in [("[prometheus]", true), ("[other, 10.0.0.1]", false)] {
        let yaml = tls_yaml(
            &p.trusted,
            &format!(
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n  client_allowed_sans: {sans}\n",
                p.trusted.ca.display()
            ),
        );
        let served = serve_file(p.dir.path(), &yaml).await;
        let config = client_config(
            &p.trusted.ca,
            Client {
                cert: Some(&p.trusted.client),
                ..Client::default()
            },
        );
        assert_eq!(scrapes(&served.addr, config).await, expected, "{sans}");
    }
}

#[tokio::test]
async fn a_rewritten_client_ca_is_used_without_a_restart() {
    let p = pkis();
    let ca_file = p.dir.path().join("client-ca.crt");
    std::fs::copy(&p.trusted.ca, &ca_file).expect("copy CA");
    let yaml = tls_yaml(
        &p.trusted,
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n",
    );
    let served = serve_file(p.dir.path(), &yaml).await;
    let with = |cert| {
        client_config(
            &p.trusted.ca,
            Client {
                cert: Some(cert),
                ..Client::default()
            },
        )
    };
    assert!(scrapes(&served.addr, with(&p.trusted.client)).await);
    assert!(!scrapes(&served.addr, with(&p.other.client)).await);

    // A broken rewrite keeps the CA in use.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    let set_mtime = |at| {
        std::fs::File::options()
            .append(true)
            .open(&ca_file)
            .and_then(|f| f.set_modified(at))
            .expect("set mtime");
    };
    std::fs::write(&ca_file, b"not a certificate").expect("write garbage");
    set_mtime(later);
    assert!(scrapes(&served.addr, with(&p.trusted.client)).await);

    // The other PKI's CA: its client is served now, the first one's no longer.
    std::fs::copy(&p.other.ca, &ca_file).expect("rotate CA");
    set_mtime(later + Duration::from_secs(5));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !scrapes(&served.addr, with(&p.other.client)).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated client CA was not used 10 s after it was written"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!scrapes(&served.addr, with(&p.trusted.client)).await);
}

#[tokio::test]
async fn min_and_max_version_are_honoured() {
    let p = pkis();
    let only = |versions| {
        client_config(
            &p.trusted.ca,
            Client {
                versions,
                ..Client::default()
            },
        )
    };
    let min13 = serve_file(
        p.dir.path(),
        &tls_yaml(&p.trusted, "  min_version: TLS13\n"),
    )
    .await;
    assert!(
        !scrapes(&min13.addr, only(TLS12)).await,
        "TLS 1.2 served below min_version"
    );
    let e = exchange(&min13.addr, only(BOTH), "/metrics", None)
        .await
        .expect("TLS 1.3");
    assert_eq!(e.version, Some(ProtocolVersion::TLSv1_3));

    let max12 = serve_file(
        p.dir.path(),
        &tls_yaml(&p.trusted, "  max_version: TLS12\n"),
    )
    .await;
    assert!(
        !scrapes(&max12.addr, only(TLS13)).await,
        "TLS 1.3 served above max_version"
    );
    let e = exchange(&max12.addr, only(BOTH), "/metrics", None)
        .await
        .expect("TLS 1.2");
    assert_eq!(e.version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(e.status(), Some("200"));
}

#[tokio::test]
async fn cipher_suites_and_their_order_are_honoured() {
    let p = pkis();
    // The test certificates have ECDSA keys.
    let yaml = |prefer: bool| {
        tls_yaml(
            &p.trusted,
            &format!(
                "  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n    - TLS_AES_128_GCM_SHA256\n  prefer_server_cipher_suites: {prefer}\n"
            ),
        )
    };
    let offering = |suites: Vec<rustls::SupportedCipherSuite>| {
        client_config(
            &p.trusted.ca,
            Client {
                versions: TLS12,
                suites: Some(suites),
                ..Client::default()
            },
        )
    };
    let served = serve_file(p.dir.path(), &yaml(true)).await;
    // A suite left out of the list is refused.
    let refused = offering(vec![cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]);
    assert!(!scrapes(&served.addr, refused).await);
    let client_order = || {
        offering(vec![
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ])
    };
    // The server's order wins...
    let e = exchange(&served.addr, client_order(), "/metrics", None)
        .await
        .expect("TLS 1.2");
    assert_eq!(
        e.suite,
        Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    );
    // ...unless prefer_server_cipher_suites is false.
    let served = serve_file(p.dir.path(), &yaml(false)).await;
    let e = exchange(&served.addr, client_order(), "/metrics", None)
        .await
        .expect("TLS 1.2");
    assert_eq!(
        e.suite,
        Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
    );
    // TLS 1.3 suites are not configurable (as in Go): any of them is served.
    let tls13 = client_config(
        &p.trusted.ca,
        Client {
            versions: TLS13,
            suites: Some(vec![cipher_suite::TLS13_CHACHA20_POLY1305_SHA256]),
            ..Client::default()
        },
    );
    assert!(scrapes(&served.addr, tls13).await);
}

#[tokio::test]
async fn curve_preferences_are_honoured() {
    let p = pkis();
    let served = serve_file(
        p.dir.path(),
        &tls_yaml(&p.trusted, "  curve_preferences: [CurveP384, X25519]\n"),
    )
    .await;
    let offering = |versions, group: &'static dyn rustls::crypto::SupportedKxGroup| {
        client_config(
            &p.trusted.ca,
            Client {
                versions,
                groups: Some(vec![group]),
                ..Client::default()
            },
        )
    };
    for versions in [TLS12, TLS13] {
        assert!(
            !scrapes(&served.addr, offering(versions, kx_group::SECP256R1)).await,
            "a group left out of curve_preferences was used"
        );
        let e = exchange(
            &served.addr,
            offering(versions, kx_group::SECP384R1),
            "/metrics",
            None,
        )
        .await
        .expect("P-384");
        assert_eq!(e.group, Some(rustls::NamedGroup::secp384r1));
    }
}

const PASSWORD: &str = "scrape-password";

fn basic() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("prometheus:{PASSWORD}"))
}

fn users_yaml() -> String {
    let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
    format!("basic_auth_users:\n  prometheus: {hash}\n")
}

const HEADERS: &str = "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: \"default-src 'none'\"\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: \"1; mode=block\"\n";

fn assert_headers(response: &reqwest::Response) {
    let headers = response.headers();
    for (name, value) in [
        ("x-frame-options", "deny"),
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", "default-src 'none'"),
        ("strict-transport-security", "max-age=31536000"),
        ("x-xss-protection", "1; mode=block"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} on a {} answer",
            response.status()
        );
    }
}

#[tokio::test]
async fn headers_are_on_every_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_file(dir.path(), &format!("{HEADERS}{}", users_yaml())).await;
    let client = reqwest::Client::new();
    let get = |path: &str, auth: bool| {
        let request = client.get(format!("{}{path}", served.base));
        let request = if auth {
            request.header("Authorization", format!("Basic {}", basic()))
        } else {
            request
        };
        request.send()
    };
    for (path, auth, status) in [
        ("/metrics", true, 200),
        ("/live", false, 200),
        ("/metrics", false, 401),
        ("/no-such-route", true, 404),
    ] {
        let response = get(path, auth).await.expect("request");
        assert_eq!(response.status(), status, "{path}");
        assert_headers(&response);
    }
}

#[tokio::test]
async fn the_rate_limit_answers_429_after_the_burst() {
    let dir = tempfile::tempdir().expect("temp dir");
    // An hour between tokens: nothing refills during the test.
    let yaml = format!("{HEADERS}rate_limit:\n  interval: 1h\n  burst: 3\n");
    let served = serve_file(dir.path(), &yaml).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = client
            .get(format!("{}/metrics", served.base))
            .send()
            .await
            .expect("request");
        statuses.push(response.status().as_u16());
        assert_headers(&response);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // The refused scrapes are counted as rejected.
    let text = served
        .registry
        .encode(metrics_toolkit::Format::PrometheusText)
        .expect("encode");
    assert!(
        text.contains("exporter_scrapes_total{result=\"rejected\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limited_scrapes_are_counted_at_a_custom_telemetry_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("web-config.yml");
    std::fs::write(&path, "rate_limit:\n  interval: 1h\n  burst: 2\n").expect("write");
    let web = WebConfig::from_file(&path).expect("web config");
    let served = common::serve(None, |e| {
        e.web_config(&web)
            .expect("apply")
            .telemetry_path("/internal/metrics")
            .expect("path")
    })
    .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for path in [
        "/internal/metrics",
        "/internal/metrics",
        "/internal/metrics",
        "/internal/metrics",
        "/metrics",
        "/live",
    ] {
        let response = client
            .get(format!("{}{path}", served.base))
            .send()
            .await
            .expect("request");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429]);
    // Only the two refused at the telemetry path are scrapes.
    let text = served
        .registry
        .encode(metrics_toolkit::Format::PrometheusText)
        .expect("encode");
    assert!(
        text.contains("exporter_scrapes_total{result=\"rejected\"} 2\n"),
        "{text}"
    );
}

#[tokio::test]
async fn one_file_with_every_key_is_honoured() {
    let p = pkis();
    let inline = |path: &Path| {
        let pem = std::fs::read_to_string(path).expect("read PEM");
        format!(
            "|\n{}",
            pem.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        )
    };
    let yaml = format!(
        "tls_server_config:\n  cert: {}  key: {}  client_ca: {}  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [prometheus]\n  min_version: TLS12\n  max_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  prefer_server_cipher_suites: true\n  curve_preferences: [X25519]\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: sameorigin\n{}rate_limit:\n  interval: 1m\n  burst: 100\n",
        inline(&p.trusted.server.0),
        inline(&p.trusted.server.1),
        inline(&p.trusted.ca),
        users_yaml()
    );
    let served = serve_file(p.dir.path(), &yaml).await;
    let config = client_config(
        &p.trusted.ca,
        Client {
            versions: TLS12,
            cert: Some(&p.trusted.client),
            alpn: &[b"h2", b"http/1.1"],
            ..Client::default()
        },
    );
    let e = exchange(&served.addr, config.clone(), "/metrics", Some(&basic()))
        .await
        .expect("scrape");
    assert_eq!(e.status(), Some("200"), "{}", e.answer);
    assert_eq!(e.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(
        e.suite,
        Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
    );
    assert_eq!(e.group, Some(rustls::NamedGroup::X25519));
    assert!(
        e.answer
            .to_ascii_lowercase()
            .contains("x-frame-options: sameorigin"),
        "{}",
        e.answer
    );
    let e = exchange(&served.addr, config, "/metrics", None)
        .await
        .expect("unauthenticated");
    assert_eq!(e.status(), Some("401"));
}

#[test]
fn refused_keys_and_values_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let cases = [
        ("bogus_key: 1\n".to_owned(), "bogus_key"),
        ("tls_server_config:\n  cert_fil: x\n".to_owned(), "cert_fil"),
        ("http_server_config:\n  http3: true\n".to_owned(), "http3"),
        ("rate_limit:\n  period: 1s\n".to_owned(), "period"),
        (
            "http_server_config:\n  headers:\n    Server: nginx\n".to_owned(),
            "\"Server\"",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n".to_owned(),
            "X-Frame-Options",
        ),
        (tls_yaml(&pki, "  min_version: TLS10\n"), "TLS10"),
        (tls_yaml(&pki, "  max_version: TLS11\n"), "TLS11"),
        (
            tls_yaml(
                &pki,
                "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n",
            ),
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        ),
        (
            tls_yaml(&pki, "  curve_preferences: [CurveP521]\n"),
            "CurveP521",
        ),
        (
            tls_yaml(&pki, "  client_auth_type: Sometimes\n"),
            "Sometimes",
        ),
        (
            tls_yaml(&pki, "  client_auth_type: VerifyClientCertIfGiven\n"),
            "client_ca_file",
        ),
        (
            "rate_limit:\n  interval: 1s\n  burst: 0\n".to_owned(),
            "rate_limit.burst",
        ),
    ];
    for (yaml, named) in cases {
        let error = WebConfig::from_yaml(&yaml, dir.path()).expect_err(&yaml);
        assert!(error.to_string().contains(named), "{yaml}: {error}");
    }
}
