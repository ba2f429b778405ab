//! The prober against local servers: fast, slow past the timeout, 500, refusing, an
//! unresolvable `.invalid` name, and https with a self-signed certificate of known expiry
//! trusted through a per-target CA file; probes stay within the concurrency limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter::prober::HttpErrorKind;
use metrics_exporter::prober::{FailureCause, ProbeTarget, Prober, Schedule};
use metrics_toolkit::{Format, MetricsRegistry};
use test_support::Scrape;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
async fn https_server() -> (Server, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                // Read the request head, answer a fixed response.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let server = Server {
        url: format!("https://localhost:{port}/"),
        task,
    };
    (server, cert.pem())
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
