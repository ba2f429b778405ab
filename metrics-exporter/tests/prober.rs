//! The prober against local servers: fast, slow past the timeout, 500, refusing, an
//! unresolvable `.invalid` name, and https with a self-signed certificate of known expiry
//! trusted through a per-target CA file; probes stay within the concurrency limit. Then the
//! blackbox exporter's options and series: a redirect chain, HTTP/2 over TLS, IPv4 and IPv6
//! loopback listeners, body regular expressions and size limit, method, headers and body,
//! valid status codes, TLS conditions, and one log line per change of state.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter::prober::HttpErrorKind;
use metrics_exporter::prober::{Compression, FailureCause, ProbeTarget, Prober, Schedule};
use metrics_toolkit::{Format, MetricsRegistry};
use test_support::tls_server::{self, TlsServer};
use test_support::Scrape;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// 2040-01-01T00:00:00Z, the test certificate's notAfter.
const CERT_EXPIRY: i64 = 2_208_988_800;

/// A server stopped when dropped.
struct Server {
    url: String,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An https server and its base URL.
struct TlsTarget {
    url: String,
    _server: TlsServer,
}

async fn http_server(app: Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { url, task }
}

/// An https server on 127.0.0.1 with a fresh self-signed certificate for `localhost`, valid
/// until [`CERT_EXPIRY`]; returns it and the certificate's PEM.
async fn https_server() -> (TlsTarget, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let (chain, key, pem) = tls_server::self_signed(params);
    let server = tls_server::serve(chain, key, &[], |_| {
        hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
            b"secure",
        )))
    })
    .await;
    let target = TlsTarget {
        url: format!("https://localhost:{}/", server.port),
        _server: server,
    };
    (target, pem)
}

async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/")
}

fn scrape(registry: &MetricsRegistry) -> Scrape {
    Scrape::parse(&registry.encode(Format::PrometheusText).expect("encode"))
}

/// A prober of `targets`, exported in a registry of its own (no process metrics).
fn exported(targets: Vec<ProbeTarget>, concurrency: usize) -> (Prober, MetricsRegistry) {
    let prober = Prober::new(targets, concurrency).expect("valid targets");
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    registry.register_collector(prober.clone());
    (prober, registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_target_lands_in_the_right_result() {
    let fast = http_server(Router::new().route("/", get(|| async { "fast" }))).await;
    let slow = http_server(Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }),
    ))
    .await;
    let failing = http_server(Router::new().route(
        "/",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
    ))
    .await;
    let (https, ca_pem) = https_server().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write CA file");

    let timeout = Duration::from_millis(500);
    let target = |name: &str, url: &str| ProbeTarget::new(name, url).timeout(timeout);
    let targets = vec![
        target("fast", &fast.url),
        target("slow", &slow.url),
        target("failing", &failing.url),
        target("refused", &refused_url().await),
        target("nxdomain", "http://service.invalid/health"),
        target("https", &https.url).ca_file(&ca_file),
        // The same server without its CA: the certificate is not trusted.
        target("untrusted", &https.url),
    ];
    let (prober, registry) = exported(targets, 8);
    prober.probe_all().await;
    let s = scrape(&registry);

    // The cause comes with its label value spelled out here, not derived from the code under test.
    let expect = |name: &str, success: f64, code: f64, cause: Option<(FailureCause, &str)>| {
        let t = [("target", name)];
        assert_eq!(s.get("probe_success", &t), Some(success), "{name} success");
        assert_eq!(
            s.get("probe_http_status_code", &t),
            Some(code),
            "{name} status"
        );
        let outcome = prober.last_outcome(name).expect("probed");
        assert_eq!(outcome.cause, cause.map(|(c, _)| c), "{name}: {outcome:?}");
        match cause {
            None => assert_eq!(
                s.get(
                    "probe_checks_total",
                    &[("target", name), ("result", "success")]
                ),
                Some(1.0)
            ),
            Some((_, label)) => {
                let labels = [("target", name), ("result", "failure"), ("cause", label)];
                assert_eq!(s.get("probe_checks_total", &labels), Some(1.0), "{name}");
                assert_eq!(
                    s.get(
                        "probe_checks_total",
                        &[("target", name), ("result", "success")]
                    ),
                    Some(0.0)
                );
            }
        }
    };
    expect("fast", 1.0, 200.0, None);
    expect(
        "slow",
        0.0,
        0.0,
        Some((FailureCause::Request(HttpErrorKind::Timeout), "timeout")),
    );
    expect(
        "failing",
        0.0,
        500.0,
        Some((FailureCause::Status, "status")),
    );
    expect(
        "refused",
        0.0,
        0.0,
        Some((FailureCause::Request(HttpErrorKind::Refused), "refused")),
    );
    expect(
        "nxdomain",
        0.0,
        0.0,
        Some((FailureCause::Request(HttpErrorKind::Dns), "dns")),
    );
    expect("https", 1.0, 200.0, None);
    expect(
        "untrusted",
        0.0,
        0.0,
        Some((FailureCause::Request(HttpErrorKind::Tls), "tls")),
    );

    // The timeout cut the slow probe: it took about the timeout, not the server's 30 s.
    let slow_took = s
        .get("probe_duration_seconds", &[("target", "slow")])
        .expect("duration");
    assert!(
        slow_took >= timeout.as_secs_f64() && slow_took < 10.0,
        "{slow_took}"
    );

    assert_eq!(
        s.get("probe_ssl_earliest_cert_expiry", &[("target", "https")]),
        Some(CERT_EXPIRY as f64)
    );
    assert_eq!(
        s.count("probe_ssl_earliest_cert_expiry", &[("target", "fast")]),
        0
    );
    let tls_phase = s
        .get(
            "probe_http_duration_seconds",
            &[("target", "https"), ("phase", "tls")],
        )
        .expect("tls phase");
    assert!(tls_phase > 0.0);
    for phase in ["resolve", "connect", "tls", "processing", "transfer"] {
        assert!(
            s.get(
                "probe_http_duration_seconds",
                &[("target", "fast"), ("phase", phase)]
            )
            .is_some(),
            "{phase}"
        );
    }
    assert_eq!(
        s.get(
            "probe_http_duration_seconds",
            &[("target", "fast"), ("phase", "tls")]
        ),
        Some(0.0),
        "no TLS on http"
    );
    assert!(s
        .get(
            "probe_last_success_timestamp_seconds",
            &[("target", "fast")]
        )
        .is_some_and(|t| t > 1.7e9));
    assert_eq!(
        s.count(
            "probe_last_success_timestamp_seconds",
            &[("target", "slow")]
        ),
        0
    );
    assert_eq!(
        s.types.get("probe_checks_total").map(String::as_str),
        Some("counter")
    );
    test_support::promtool::assert_lint_clean(
        &registry.encode(Format::PrometheusText).expect("encode"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_run_concurrently_within_the_limit() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route(
        "/",
        get({
            let (in_flight, most) = (Arc::clone(&in_flight), Arc::clone(&most));
            move || async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Long enough for the second probe to arrive even on a busy machine.
                tokio::time::sleep(Duration::from_secs(1)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let server = http_server(app).await;
    let targets = (0..6)
        .map(|i| ProbeTarget::new(format!("t{i}"), &server.url).timeout(Duration::from_secs(20)))
        .collect();
    let prober = Prober::new(targets, 2).expect("valid");
    prober.probe_all().await;
    for i in 0..6 {
        let outcome = prober.last_outcome(&format!("t{i}")).expect("probed");
        assert!(outcome.success, "{outcome:?}");
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        2,
        "two probes at a time, never more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_are_probed_on_their_schedule() {
    let server = http_server(Router::new().route("/", get(|| async { "ok" }))).await;
    let targets = vec![
        ProbeTarget::new("every", &server.url)
            .schedule(Schedule::Every(Duration::from_millis(200))),
        ProbeTarget::new("cron", &server.url).schedule("* * * * * *".parse().expect("cron")),
    ];
    let (prober, registry) = exported(targets, 4);
    assert!(prober.start());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = scrape(&registry);
        let checks = |name| {
            s.get(
                "probe_checks_total",
                &[("target", name), ("result", "success")],
            )
        };
        if checks("every") >= Some(3.0) && checks("cron") >= Some(2.0) {
            break;
        }
        assert!(Instant::now() < deadline, "too few probes: {:?}", s.samples);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn invalid_targets_are_rejected_with_their_name() {
    let cases = [
        (vec![ProbeTarget::new("a", "ftp://x/")], "\"a\""),
        (
            vec![ProbeTarget::new("b", "https://x/").ca_file("/nonexistent/ca.pem")],
            "CA file",
        ),
        (
            vec![
                ProbeTarget::new("c", "http://x/"),
                ProbeTarget::new("c", "http://y/"),
            ],
            "two targets",
        ),
        (
            vec![ProbeTarget::new("d", "http://x/").timeout(Duration::ZERO)],
            "timeout",
        ),
    ];
    for (targets, expected) in cases {
        let error = Prober::new(targets, 1).expect_err("invalid").to_string();
        assert!(error.contains(expected), "{error}");
    }
    assert!(Prober::new(Vec::new(), 0).is_err(), "zero concurrency");
}

/// Credentials in a target URL go out as Basic auth, never as part of `Host`, and never reach a
/// label, a `Debug` output or an error message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_a_target_url_are_sent_as_basic_auth_and_shown_nowhere() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = {
        let seen = Arc::clone(&seen);
        move |headers: axum::http::HeaderMap| async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            };
            seen.lock()
                .expect("lock")
                .push((header("host"), header("authorization")));
            "ok"
        }
    };
    let app = Router::new()
        .route("/", get(record.clone()))
        .route("/file", get(record));
    let server = http_server(app).await;
    let authority = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    // "us%40r" is "us@r" percent-encoded, as a user name holding '@' must be in a URL.
    let credentials = "us%40r:s3cr%3At";
    let defaults = ProbeTarget::new("", "").timeout(Duration::from_secs(10));
    let mut targets = metrics_exporter::prober::parse_target_list(
        &format!("http://{credentials}@{authority}/"),
        &defaults,
    )
    .expect("list");
    let from_file = metrics_exporter::prober::parse_target_file(
        &format!("[[target]]\nurl = \"http://{credentials}@{authority}/file\"\n"),
        &defaults,
    )
    .expect("file");
    // Unnamed targets are labelled by their URL without the credentials.
    assert_eq!(targets[0].name, format!("http://{authority}/"));
    assert_eq!(from_file[0].name, format!("http://{authority}/file"));
    targets.extend(from_file);

    let (prober, registry) = exported(targets, 2);
    prober.probe_all().await;

    // "us@r:s3cr:t" in base64.
    let basic = "Basic dXNAcjpzM2NyOnQ=";
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for request in seen {
        assert_eq!(
            request,
            (Some(authority.clone()), Some(basic.to_owned())),
            "Host is host:port only, and the credentials go as Basic auth"
        );
    }

    let text = registry.encode(Format::PrometheusText).expect("encode");
    let debug = format!("{prober:?} {:?}", prober.targets().collect::<Vec<_>>());
    for (what, shown) in [("the scrape", &text), ("Debug", &debug)] {
        assert!(
            !shown.contains("s3cr") && !shown.contains("us%40r"),
            "{what} shows the credentials: {shown}"
        );
    }
    let up = format!("probe_success{{target=\"http://{authority}/\"}} 1");
    assert!(text.contains(&up), "{text}");

    // Rejected targets quote their URL without the credentials.
    for bad in [
        "ftp://us%40r:s3cr%3At@host/",
        "http://us%40r:s3cr%3At@host:notaport/",
        "http://us%40r:s3cr%3At@/",
        "http://us%40r:s3cr%zzt@host/",
    ] {
        let error = Prober::new(vec![ProbeTarget::new("bad", bad)], 1)
            .expect_err("invalid")
            .to_string();
        assert!(!error.contains("s3cr"), "{error}");
    }
    let toml_error = metrics_exporter::prober::parse_target_file(
        "[[target]]\nurl = \"http://us%40r:s3cr%3At@host/\" junk\n",
        &defaults,
    )
    .expect_err("not TOML")
    .to_string();
    assert!(!toml_error.contains("s3cr"), "{toml_error}");
    let list_error =
        metrics_exporter::prober::parse_target_list("=http://us%40r:s3cr%3At@host/", &defaults)
            .expect_err("no name")
            .to_string();
    assert!(!list_error.contains("s3cr"), "{list_error}");
}

/// FNV-1a of the 4 bytes of 127.0.0.1 and the 16 of `::1`, as the blackbox exporter hashes them.
const HASH_127_0_0_1: f64 = 3_668_918_509.0;
const HASH_IPV6_LOOPBACK: f64 = 1_751_717_746.0;

/// Bytes of `/big`: more than one HTTP/2 flow-control window (64 KiB) and many frames.
const BIG_BODY: usize = 1 << 20;

/// An https server speaking HTTP/2 only (`h2` in ALPN) with a certificate for `localhost`
/// (`O=Example`, `CN=probe-test`, serial `0a0b0c`, valid until [`CERT_EXPIRY`]); answers
/// `over h2`, on `/authority` the request's `:authority`. Returns it, the certificate's PEM and its DER.
async fn h2_server() -> (TlsTarget, String, Vec<u8>) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0a, 0x0b, 0x0c]));
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::OrganizationName, "Example");
    name.push(rcgen::DnType::CommonName, "probe-test");
    params.distinguished_name = name;
    let (chain, key, pem) = tls_server::self_signed(params);
    let der = chain[0].to_vec();
    let server = tls_server::serve(chain, key, &[b"h2"], |request| {
        let body = if request.uri().path() == "/big" {
            bytes::Bytes::from(vec![b'x'; BIG_BODY])
        } else if request.uri().path() == "/authority" {
            // What the client sent as `:authority`.
            let authority = request.uri().authority().map(|a| a.to_string());
            bytes::Bytes::from(authority.unwrap_or_default())
        } else if request.version() == hyper::Version::HTTP_2 {
            bytes::Bytes::from_static(b"over h2")
        } else {
            bytes::Bytes::from_static(b"not h2!")
        };
        hyper::Response::new(http_body_util::Full::new(body))
    })
    .await;
    let target = TlsTarget {
        url: format!("https://localhost:{}/", server.port),
        _server: server,
    };
    (target, pem, der)
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_over_tls_and_every_tls_series() {
    let (server, pem, der) = h2_server().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, pem).expect("write CA file");
    let targets = vec![
        ProbeTarget::new("h2", &server.url)
            .ca_file(&ca_file)
            .fail_if_body_not_matches_regexp("^over h2$")
            .fail_if_not_ssl(true),
        ProbeTarget::new("no-tls-wanted", &server.url)
            .ca_file(&ca_file)
            .fail_if_ssl(true),
        ProbeTarget::new("big", format!("{}big", server.url))
            .ca_file(&ca_file)
            .body_size_limit(BIG_BODY as u64),
        ProbeTarget::new("too-big", format!("{}big", server.url))
            .ca_file(&ca_file)
            .body_size_limit(BIG_BODY as u64 - 1),
        // A configured Host is the HTTP/2 request's authority.
        ProbeTarget::new("h2-host", format!("{}authority", server.url))
            .ca_file(&ca_file)
            .header(
                axum::http::header::HOST,
                axum::http::HeaderValue::from_static("configured.test:1234"),
            )
            .fail_if_body_not_matches_regexp("^configured.test:1234$"),
    ];
    let (prober, registry) = exported(targets, 4);
    prober.probe_all().await;
    let s = scrape(&registry);
    let t = [("target", "h2")];
    let outcome = prober.last_outcome("h2").expect("probed");
    assert!(outcome.success, "{outcome:?}");
    assert!(outcome.ssl(), "{outcome:?}");
    assert_eq!(outcome.cert_expiry(), Some(CERT_EXPIRY));
    assert!(!outcome.failed_due_to_regex());
    let host = prober.last_outcome("h2-host").expect("probed");
    assert!(host.success, "the authority sent: {host:?}");
    assert_eq!(host.http_version, Some(axum::http::Version::HTTP_2));
    for (name, value) in [
        ("probe_success", 1.0),
        ("probe_http_status_code", 200.0),
        ("probe_http_version", 2.0),
        ("probe_http_ssl", 1.0),
        ("probe_http_redirects", 0.0),
        ("probe_http_uncompressed_body_length", 7.0),
        ("probe_failed_due_to_regex", 0.0),
        ("probe_ip_protocol", 4.0),
        ("probe_ip_addr_hash", HASH_127_0_0_1),
        ("probe_ssl_earliest_cert_expiry", CERT_EXPIRY as f64),
        (
            "probe_ssl_last_chain_expiry_timestamp_seconds",
            CERT_EXPIRY as f64,
        ),
    ] {
        assert_eq!(s.get(name, &t), Some(value), "{name}");
    }
    assert_eq!(
        s.get(
            "probe_tls_version_info",
            &[("target", "h2"), ("version", "TLS 1.3")]
        ),
        Some(1.0)
    );
    // rustls' client offers AES-256-GCM first, and the server takes the client's order.
    assert_eq!(
        s.get(
            "probe_tls_cipher_info",
            &[("target", "h2"), ("cipher", "TLS_AES_256_GCM_SHA384")]
        ),
        Some(1.0)
    );
    let fingerprint = sha256_hex(&der);
    let chain_info = [
        ("target", "h2"),
        ("fingerprint_sha256", fingerprint.as_str()),
        ("subject", "CN=probe-test,O=Example"),
        ("issuer", "CN=probe-test,O=Example"),
        ("subjectalternative", "localhost"),
        ("serialnumber", "a0b0c"),
    ];
    assert_eq!(s.get("probe_ssl_last_chain_info", &chain_info), Some(1.0));
    assert!(s
        .get(
            "probe_http_duration_seconds",
            &[("target", "h2"), ("phase", "tls")]
        )
        .is_some_and(|took| took > 0.0));

    let big = prober.last_outcome("big").expect("probed");
    assert!(big.success, "{big:?}");
    assert_eq!(
        s.get("probe_http_uncompressed_body_length", &[("target", "big")]),
        Some(BIG_BODY as f64)
    );
    let too_big = prober.last_outcome("too-big").expect("probed");
    assert_eq!(
        too_big.cause,
        Some(FailureCause::Request(HttpErrorKind::BodySize)),
        "{too_big:?}"
    );

    let refused = prober.last_outcome("no-tls-wanted").expect("probed");
    assert_eq!(refused.cause, Some(FailureCause::Ssl), "{refused:?}");
    assert_eq!(
        s.get(
            "probe_checks_total",
            &[
                ("target", "no-tls-wanted"),
                ("result", "failure"),
                ("cause", "ssl")
            ]
        ),
        Some(1.0)
    );
    test_support::promtool::assert_lint_clean(
        &registry.encode(Format::PrometheusText).expect("encode"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_counted_limited_or_not_followed() {
    use axum::extract::Path;
    use axum::response::{IntoResponse, Redirect};
    let app = Router::new()
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    "arrived".into_response()
                } else {
                    Redirect::to(&format!("/hop/{}", n - 1)).into_response()
                }
            }),
        )
        // 3xx that Go's client does not follow, even with a Location.
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                let status = StatusCode::from_u16(code).expect("a status");
                (status, [("location", "/hop/0")]).into_response()
            }),
        )
        .route(
            "/long",
            get(|| async { Redirect::to(&format!("/{}", "a".repeat(10_000))).into_response() }),
        );
    let server = http_server(app).await;
    let url = format!("{}hop/3", server.url);
    let mut targets = vec![
        ProbeTarget::new("chain", &url).fail_if_body_not_matches_regexp("arrived"),
        ProbeTarget::new("limited", &url).max_redirects(2),
        ProbeTarget::new("off", &url).follow_redirects(false),
        ProbeTarget::new("off-accepting", &url)
            .follow_redirects(false)
            .valid_status_codes([303]),
        ProbeTarget::new("long", format!("{}long", server.url)).max_redirects(0),
    ];
    for code in [300, 304, 305] {
        targets.push(
            ProbeTarget::new(
                format!("final-{code}"),
                format!("{}status/{code}", server.url),
            )
            .valid_status_codes([code]),
        );
    }
    for code in [301, 302, 307, 308] {
        targets.push(ProbeTarget::new(
            format!("followed-{code}"),
            format!("{}status/{code}", server.url),
        ));
    }
    let (prober, registry) = exported(targets, 4);
    prober.probe_all().await;
    let s = scrape(&registry);
    let get = |name: &str, target: &str| s.get(name, &[("target", target)]);
    let failures = |target: &str, cause: &str| {
        s.get(
            "probe_checks_total",
            &[("target", target), ("result", "failure"), ("cause", cause)],
        )
    };

    assert_eq!(get("probe_success", "chain"), Some(1.0));
    assert_eq!(get("probe_http_redirects", "chain"), Some(3.0));
    assert_eq!(get("probe_http_status_code", "chain"), Some(200.0));
    assert_eq!(
        get("probe_http_uncompressed_body_length", "chain"),
        Some(7.0)
    );

    // Over the limit: the third redirect is refused, as the blackbox exporter counts it, and
    // its status is the one reported.
    assert_eq!(get("probe_success", "limited"), Some(0.0));
    assert_eq!(get("probe_http_redirects", "limited"), Some(3.0));
    assert_eq!(get("probe_http_status_code", "limited"), Some(303.0));
    assert_eq!(failures("limited", "redirects"), Some(1.0));
    let limited = prober.last_outcome("limited").expect("probed");
    assert_eq!(
        limited.cause,
        Some(FailureCause::Request(HttpErrorKind::Redirects))
    );
    assert!(
        limited.message.contains("more than 2 redirects"),
        "{limited:?}"
    );

    // Not followed: the redirect is the answer, counted once as the blackbox exporter does.
    assert_eq!(get("probe_http_status_code", "off"), Some(303.0));
    assert_eq!(get("probe_http_redirects", "off"), Some(1.0));
    assert_eq!(failures("off", "status"), Some(1.0));
    assert_eq!(get("probe_success", "off-accepting"), Some(1.0));

    // 300, 304 and 305 are answers, not redirects; 301, 302, 307 and 308 are followed.
    for code in [300, 304, 305] {
        let name = format!("final-{code}");
        assert_eq!(get("probe_success", &name), Some(1.0), "{name}");
        assert_eq!(get("probe_http_status_code", &name), Some(f64::from(code)));
        assert_eq!(get("probe_http_redirects", &name), Some(0.0), "{name}");
    }
    for code in [301, 302, 307, 308] {
        let name = format!("followed-{code}");
        assert_eq!(get("probe_success", &name), Some(1.0), "{name}");
        assert_eq!(get("probe_http_status_code", &name), Some(200.0), "{name}");
        assert_eq!(get("probe_http_redirects", &name), Some(1.0), "{name}");
    }

    // A 10 000-character Location is not copied whole into the outcome (or a log line).
    let long = prober.last_outcome("long").expect("probed");
    assert_eq!(
        long.cause,
        Some(FailureCause::Request(HttpErrorKind::Redirects))
    );
    assert!(
        long.message
            .starts_with("more than 0 redirects (the last to /aaa"),
        "{long:?}"
    );
    assert_eq!(long.message.chars().count(), 257, "{}", long.message);
    assert!(long.message.ends_with('…'));
}

/// What a recording route saw: the route, then `Host`, `Authorization`, `Cookie`,
/// `WWW-Authenticate`.
type SeenHeaders = Arc<std::sync::Mutex<Vec<[Option<String>; 5]>>>;

fn recording(seen: &SeenHeaders, route: &'static str) -> axum::routing::MethodRouter {
    let seen = Arc::clone(seen);
    get(move |headers: axum::http::HeaderMap| async move {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        seen.lock().expect("lock").push([
            Some(route.to_owned()),
            header("host"),
            header("authorization"),
            header("cookie"),
            header("www-authenticate"),
        ]);
        "seen"
    })
}

/// As Go's client: `Authorization` (from the URL or configured), `Cookie`, `WWW-Authenticate`
/// and a configured `Host` follow a redirect on the same scheme, host and port only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_headers_stay_with_their_origin_on_redirect() {
    use axum::response::Redirect;
    let seen: SeenHeaders = Arc::default();
    let other = http_server(Router::new().route("/seen", recording(&seen, "other"))).await;
    let other_authority = other
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let away_to = format!("{}seen", other.url);
    let app = Router::new()
        .route("/seen", recording(&seen, "same"))
        .route("/here", get(|| async { Redirect::temporary("/seen") }))
        .route(
            "/away",
            get(move || {
                let to = away_to.clone();
                async move { Redirect::temporary(&to) }
            }),
        );
    let server = http_server(app).await;
    let authority = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let target = |name: &str, path: &str, with_url_credentials: bool| {
        let url = if with_url_credentials {
            format!("http://user:pw@{authority}/{path}")
        } else {
            format!("http://{authority}/{path}")
        };
        let value = axum::http::HeaderValue::from_static;
        let mut target = ProbeTarget::new(name, url)
            .header(axum::http::header::COOKIE, value("session=1"))
            .header(axum::http::header::WWW_AUTHENTICATE, value("Basic"))
            .header(axum::http::header::HOST, value("configured.test"));
        if !with_url_credentials {
            target = target.header(axum::http::header::AUTHORIZATION, value("Bearer t0ken"));
        }
        target
    };
    // One at a time, so the recordings come in order.
    for (name, path, credentials) in [
        ("same", "here", true),
        ("away-url-credentials", "away", true),
        ("away-configured", "away", false),
    ] {
        let prober = Prober::new(vec![target(name, path, credentials)], 1).expect("valid");
        prober.probe_all().await;
        let outcome = prober.last_outcome(name).expect("probed");
        assert!(outcome.success, "{name}: {outcome:?}");
        assert_eq!(outcome.redirects, 1);
    }
    let seen = seen.lock().expect("lock").clone();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        seen,
        [
            [
                some("same"),
                some("configured.test"),
                // "user:pw"
                some("Basic dXNlcjpwdw=="),
                some("session=1"),
                some("Basic"),
            ],
            [
                some("other"),
                Some(other_authority.clone()),
                None,
                None,
                None
            ],
            [some("other"), Some(other_authority), None, None, None],
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preferred_ip_protocol_picks_the_address_and_falls_back() {
    let v4 = http_server(Router::new().route("/", get(|| async { "v4" }))).await;
    let v4_url = v4.url.clone();
    let mut targets = vec![
        // The default prefers IPv6 and falls back to IPv4.
        ProbeTarget::new("v4-fallback", &v4_url),
        ProbeTarget::new("v4-preferred", &v4_url)
            .preferred_ip_protocol(metrics_exporter::prober::IpProtocol::Ip4),
        ProbeTarget::new("v6-only", &v4_url).ip_protocol_fallback(false),
    ];
    let v6 = match TcpListener::bind("[::1]:0").await {
        Ok(listener) => {
            let url = format!("http://{}/", listener.local_addr().expect("addr"));
            let app = Router::new().route("/", get(|| async { "v6" }));
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Some(Server { url, task })
        }
        Err(e) => {
            eprintln!("note: no IPv6 loopback here ({e}); the [::1] part is skipped");
            None
        }
    };
    if let Some(v6) = &v6 {
        targets.push(ProbeTarget::new("v6", &v6.url));
        targets.push(
            ProbeTarget::new("v6-fallback", &v6.url)
                .preferred_ip_protocol(metrics_exporter::prober::IpProtocol::Ip4),
        );
    }
    let (prober, registry) = exported(targets, 4);
    prober.probe_all().await;
    let s = scrape(&registry);
    let get = |name: &str, target: &str| s.get(name, &[("target", target)]);
    for target in ["v4-fallback", "v4-preferred"] {
        assert_eq!(get("probe_success", target), Some(1.0), "{target}");
        assert_eq!(get("probe_ip_protocol", target), Some(4.0), "{target}");
        assert_eq!(
            get("probe_ip_addr_hash", target),
            Some(HASH_127_0_0_1),
            "{target}"
        );
        assert!(get("probe_dns_lookup_time_seconds", target).is_some());
    }
    // IPv6 only, and the name has only an IPv4 address: nothing to connect to.
    assert_eq!(get("probe_success", "v6-only"), Some(0.0));
    assert_eq!(get("probe_ip_protocol", "v6-only"), Some(0.0));
    let v6_only = prober.last_outcome("v6-only").expect("probed");
    assert_eq!(
        v6_only.cause,
        Some(FailureCause::Request(HttpErrorKind::Dns)),
        "{v6_only:?}"
    );
    assert!(v6_only.message.contains("ip6 only"), "{v6_only:?}");
    if v6.is_some() {
        for target in ["v6", "v6-fallback"] {
            assert_eq!(get("probe_success", target), Some(1.0), "{target}");
            assert_eq!(get("probe_ip_protocol", target), Some(6.0), "{target}");
            assert_eq!(
                get("probe_ip_addr_hash", target),
                Some(HASH_IPV6_LOOPBACK),
                "{target}"
            );
        }
    }
}

/// Bytes the `/gz` route's body decodes to.
const GZ_PLAIN: usize = 10_000;

fn gzipped(plain: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(plain).expect("gzip");
    encoder.finish().expect("gzip")
}

/// What the echo route saw: method, `X-Probe` header, body.
type Seen = Arc<std::sync::Mutex<Vec<(String, Option<String>, String)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_conditions_method_headers_and_status_lists() {
    let seen: Seen = Arc::default();
    let app =
        Router::new()
            .route(
                "/",
                get(|| async {
                    (
                        [("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")],
                        "status: ok, build 42",
                    )
                }),
            )
            .route(
                "/echo",
                axum::routing::any({
                    let seen = Arc::clone(&seen);
                    move |method: axum::http::Method,
                          headers: axum::http::HeaderMap,
                          body: String| async move {
                        let probe = headers
                            .get("x-probe")
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                        seen.lock()
                            .expect("lock")
                            .push((method.to_string(), probe, body));
                        (StatusCode::NOT_FOUND, "missing")
                    }
                }),
            );
    let app = app.route(
        "/gz",
        get(|headers: axum::http::HeaderMap| async move {
            if headers.get("accept-encoding").map(|v| v.as_bytes()) != Some(b"gzip") {
                return (StatusCode::NOT_ACCEPTABLE, Vec::new());
            }
            (StatusCode::OK, gzipped(&[b'z'; GZ_PLAIN]))
        }),
    );
    let server = http_server(app).await;
    let root = server.url.clone();
    let echo = format!("{root}echo");
    let gz = format!("{root}gz");
    let defaults = ProbeTarget::new("", "");
    // The echo target comes from a target file, as the binary reads it.
    let file = format!(
        r#"
        [[target]]
        name = "echo"
        url = "{echo}"
        interval = "*/5 * * * *"
        method = "POST"
        headers = {{ "X-Probe" = "yes" }}
        body = "ping"
        valid_status_codes = [200, 404]
        "#
    );
    let mut targets = metrics_exporter::prober::parse_target_file(&file, &defaults).expect("file");
    assert!(matches!(targets[0].schedule, Schedule::Cron(_)));
    targets.extend([
        ProbeTarget::new("plain", &root),
        ProbeTarget::new("regex-match", &root).fail_if_body_matches_regexp(r"build \d+"),
        ProbeTarget::new("regex-missing", &root).fail_if_body_not_matches_regexp("healthy"),
        ProbeTarget::new("regex-ok", &root)
            .fail_if_body_matches_regexp("maintenance")
            .fail_if_body_not_matches_regexp("^status: ok"),
        ProbeTarget::new("limit", &root).body_size_limit(5),
        ProbeTarget::new("limit-ok", &root).body_size_limit(20),
        ProbeTarget::new("echo-2xx", &echo),
        ProbeTarget::new("not-ssl", &root).fail_if_not_ssl(true),
        ProbeTarget::new("gzip", &gz)
            .compression(Compression::Gzip)
            .fail_if_body_not_matches_regexp("^z+$")
            .body_size_limit(GZ_PLAIN as u64),
        ProbeTarget::new("gzip-limit", &gz)
            .compression(Compression::Gzip)
            .body_size_limit(GZ_PLAIN as u64 - 1),
        ProbeTarget::new("not-gzip", &root).compression(Compression::Gzip),
        ProbeTarget::new("token", &root).header(
            axum::http::header::AUTHORIZATION,
            axum::http::HeaderValue::from_static("Bearer s3cret-token"),
        ),
    ]);
    let (prober, registry) = exported(targets, 4);
    prober.probe_all().await;
    let s = scrape(&registry);
    let get = |name: &str, target: &str| s.get(name, &[("target", target)]);
    let cause = |target: &str| {
        prober
            .last_outcome(target)
            .expect("probed")
            .cause
            .map(FailureCause::as_str)
    };

    // Every per-probe series of a plain http target, with its exact value.
    for (name, value) in [
        ("probe_success", 1.0),
        ("probe_http_status_code", 200.0),
        ("probe_http_content_length", 20.0),
        ("probe_http_uncompressed_body_length", 20.0),
        ("probe_http_version", 1.1),
        ("probe_http_ssl", 0.0),
        ("probe_http_redirects", 0.0),
        (
            "probe_http_last_modified_timestamp_seconds",
            1_445_412_480.0,
        ),
        ("probe_failed_due_to_regex", 0.0),
        ("probe_ip_protocol", 4.0),
        ("probe_ip_addr_hash", HASH_127_0_0_1),
    ] {
        assert_eq!(get(name, "plain"), Some(value), "{name}");
    }
    assert!(get("probe_dns_lookup_time_seconds", "plain").is_some());
    assert!(get("probe_duration_seconds", "plain").is_some());
    for absent in [
        "probe_ssl_earliest_cert_expiry",
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        "probe_ssl_last_chain_info",
        "probe_tls_version_info",
        "probe_tls_cipher_info",
    ] {
        assert_eq!(s.count(absent, &[("target", "plain")]), 0, "{absent}");
    }

    assert_eq!(cause("regex-match"), Some("regex"));
    assert_eq!(get("probe_failed_due_to_regex", "regex-match"), Some(1.0));
    assert_eq!(get("probe_http_status_code", "regex-match"), Some(200.0));
    assert_eq!(cause("regex-missing"), Some("regex"));
    assert_eq!(get("probe_failed_due_to_regex", "regex-missing"), Some(1.0));
    assert_eq!(cause("regex-ok"), None);
    assert_eq!(get("probe_failed_due_to_regex", "regex-ok"), Some(0.0));

    assert_eq!(cause("limit"), Some("body_size"));
    assert_eq!(get("probe_success", "limit"), Some(0.0));
    assert_eq!(cause("limit-ok"), None);

    assert_eq!(cause("echo"), None);
    assert_eq!(get("probe_http_status_code", "echo"), Some(404.0));
    assert_eq!(cause("echo-2xx"), Some("status"));
    assert_eq!(cause("not-ssl"), Some("ssl"));

    // gzip: the length, limit and expressions apply to the decoded body.
    assert_eq!(cause("gzip"), None);
    assert_eq!(
        get("probe_http_uncompressed_body_length", "gzip"),
        Some(GZ_PLAIN as f64)
    );
    let gz_length = gzipped(&[b'z'; GZ_PLAIN]).len() as f64;
    assert_eq!(get("probe_http_content_length", "gzip"), Some(gz_length));
    assert_eq!(cause("gzip-limit"), Some("body_size"));
    assert_eq!(cause("not-gzip"), Some("other"));

    // Header values may be tokens: they show in no Debug output.
    assert_eq!(cause("token"), None);
    let debug = format!("{prober:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    let seen = seen.lock().expect("lock").clone();
    assert!(
        seen.contains(&("POST".to_owned(), Some("yes".to_owned()), "ping".to_owned())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("GET".to_owned(), None, String::new())),
        "{seen:?}"
    );
    test_support::promtool::assert_lint_clean(
        &registry.encode(Format::PrometheusText).expect("encode"),
    );
}

#[test]
fn invalid_options_are_refused_naming_the_target_and_key() {
    let error = Prober::new(
        vec![ProbeTarget::new("bad-regex", "http://x/").fail_if_body_not_matches_regexp("(")],
        1,
    )
    .expect_err("invalid")
    .to_string();
    assert!(
        error.starts_with(
            "target \"bad-regex\": fail_if_body_not_matches_regexp: \"(\" is not a valid regular expression"
        ),
        "{error}"
    );
    let error = metrics_exporter::prober::parse_target_file(
        "[[target]]\nname = \"p\"\nurl = \"http://x/\"\npreferred_ip_protocol = \"ip5\"\n",
        &ProbeTarget::new("", ""),
    )
    .expect_err("invalid")
    .to_string();
    assert_eq!(
        error,
        "target \"p\": preferred_ip_protocol: \"ip5\" is not an IP protocol: use ip4 or ip6"
    );
}

/// Counts the prober's log events by level, with their fields.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<(tracing::Level, String)>>>);

impl Logs {
    fn at(&self, level: tracing::Level) -> Vec<String> {
        let events = self.0.lock().expect("lock");
        events
            .iter()
            .filter(|(l, _)| *l == level)
            .map(|(_, fields)| fields.clone())
            .collect()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("metrics_exporter::prober")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .expect("lock")
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// One warn line when a target goes down (not one per failed probe), one info line when it
/// comes back, a debug line for every probe.
#[tokio::test(flavor = "current_thread")]
async fn failures_log_once_per_change_of_state() {
    let logs = Logs::default();
    // The runtime has one thread: the probes' tasks log to this subscriber.
    let _guard = tracing::subscriber::set_default(logs.clone());
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = Router::new().route(
        "/",
        get({
            let healthy = Arc::clone(&healthy);
            move || async move {
                if healthy.load(Ordering::SeqCst) {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "down")
                }
            }
        }),
    );
    let server = http_server(app).await;
    let prober = Prober::new(vec![ProbeTarget::new("flappy", &server.url)], 1).expect("valid");
    for _ in 0..3 {
        prober.probe_all().await;
    }
    let warnings = logs.at(tracing::Level::WARN);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("target=flappy") && warnings[0].contains("cause=status"),
        "{warnings:?}"
    );
    healthy.store(true, Ordering::SeqCst);
    prober.probe_all().await;
    prober.probe_all().await;
    let infos = logs.at(tracing::Level::INFO);
    assert_eq!(infos.len(), 1, "{infos:?}");
    assert!(infos[0].contains("target=flappy"), "{infos:?}");
    healthy.store(false, Ordering::SeqCst);
    prober.probe_all().await;
    assert_eq!(logs.at(tracing::Level::WARN).len(), 2);
    assert_eq!(logs.at(tracing::Level::DEBUG).len(), 6);
}
