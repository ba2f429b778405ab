//! The HTTP check against real servers on loopback: a server that stops answering fails within
//! the check's timeout; unexpected statuses and panicking checks fail and show as metrics; an
//! https server offering only `h2` is checked over HTTP/2; redirects are followed only when
//! asked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter::checks;
use metrics_toolkit::health::{BreakerConfig, HealthCheck, HealthRegistry, Kind, Status};
use metrics_toolkit::{Format, MetricsRegistry};
use test_support::poll_until;
use test_support::tls_server::{self, TlsServer};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_fails_within_the_timeout() {
    let hang = Arc::new(AtomicBool::new(false));
    let app = Router::new().route(
        "/healthz",
        get({
            let hang = Arc::clone(&hang);
            move || async move {
                if hang.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                "ok"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let timeout = Duration::from_millis(300);
    let check = checks::http_get(
        "upstream",
        &format!("http://{addr}/healthz"),
        StatusCode::OK,
    )
    .expect("url")
    .timeout(timeout)
    .interval(Duration::from_millis(100))
    .breaker(BreakerConfig::new(1000, Duration::from_secs(60)));
    let health = HealthRegistry::builder()
        .check(check)
        .build()
        .expect("valid");
    health.start().expect("runtime");
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);
    let passing = health.check("upstream").expect("registered");
    assert_eq!(passing.status, Status::Pass, "{passing:?}");

    hang.store(true, Ordering::SeqCst);
    let failing = poll_until(
        Duration::from_secs(10),
        || health.check("upstream").expect("registered"),
        |r| r.status == Status::Fail,
    )
    .await;
    let output = failing.output.clone().unwrap_or_default();
    assert!(output.contains("timed out"), "{failing:?}");
    // The run was cut at the timeout (give or take a busy scheduler), not left hanging.
    assert!(failing.duration >= timeout, "{failing:?}");
    assert!(
        failing.duration < timeout + Duration::from_secs(3),
        "{failing:?}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_and_unexpected_statuses_fail_and_show_as_metrics() {
    let app = Router::new().route(
        "/",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let health = HealthRegistry::builder()
        .check(HealthCheck::new("panics", || async {
            panic!("a bug in the check")
        }))
        // Panics while building its future, before anything is awaited.
        .check(HealthCheck::new(
            "panics_early",
            || -> std::future::Ready<Result<(), metrics_toolkit::health::BoxError>> {
                panic!("no connection pool")
            },
        ))
        .check(
            checks::http_get("api", &format!("http://{addr}/"), StatusCode::OK)
                .expect("url")
                .kind(Kind::NonCritical),
        )
        .check(HealthCheck::new("fine", || async { Ok(()) }))
        .build()
        .expect("valid");
    let metrics = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    metrics.register_collector(health.clone());
    health.start().expect("runtime");
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);

    let report = health.report(None);
    assert_eq!(report.status, Status::Fail);
    let panics = health.check("panics").expect("registered");
    assert_eq!(
        panics.output.as_deref(),
        Some("the check panicked: a bug in the check")
    );
    let early = health.check("panics_early").expect("registered");
    assert_eq!(early.status, Status::Fail, "{early:?}");
    assert_eq!(
        early.output.as_deref(),
        Some("the check panicked: no connection pool")
    );
    let api = health.check("api").expect("registered");
    assert_eq!(api.status, Status::Warn);
    assert!(
        api.output
            .as_deref()
            .unwrap_or("")
            .contains("answered 500, expected 200"),
        "{api:?}"
    );

    let text = metrics.encode(Format::PrometheusText).expect("encode");
    assert!(
        text.contains("health_check_status{check=\"panics\"} 0.0\n"),
        "{text}"
    );
    assert!(
        text.contains("health_check_status{check=\"api\"} 0.5\n"),
        "{text}"
    );
    assert!(
        text.contains("health_check_status{check=\"fine\"} 1.0\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE health_check_duration_seconds gauge\n"),
        "{text}"
    );
    assert!(
        text.contains("health_check_duration_seconds{check=\"fine\"} "),
        "{text}"
    );
    server.abort();
}

/// A server task stopped when dropped, also when an assertion fails.
/// An https server for `localhost` speaking HTTP/2 only (`h2` in ALPN): `/healthz` answers 200
/// to HTTP/2 requests (505 to any other version), `/moved` redirects there with a 303. Returns
/// its base URL, the certificate's PEM and the server.
async fn h2_server() -> (String, String, TlsServer) {
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let (chain, key, pem) = tls_server::self_signed(params);
    let server = tls_server::serve(chain, key, &[b"h2"], |request| {
        let mut response =
            hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")));
        if request.uri().path() == "/moved" {
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(
                http::header::LOCATION,
                http::HeaderValue::from_static("/healthz"),
            );
        } else if request.version() != hyper::Version::HTTP_2 {
            *response.status_mut() = StatusCode::HTTP_VERSION_NOT_SUPPORTED;
        }
        response
    })
    .await;
    (format!("https://localhost:{}", server.port), pem, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_speak_http2_and_follow_redirects_only_when_asked() {
    let (base, pem, _server) = h2_server().await;
    let check = |path: &str| {
        checks::HttpCheck::new(&format!("{base}{path}"))
            .expect("url")
            .ca_pem(pem.as_bytes())
            .expect("pem")
    };
    let health = HealthRegistry::builder()
        .check(check("/healthz").check("h2"))
        .check(check("/moved").check("moved").kind(Kind::NonCritical))
        .check(check("/moved").follow_redirects(1).check("followed"))
        .build()
        .expect("valid");
    health.start().expect("runtime");
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);

    let h2 = health.check("h2").expect("registered");
    assert_eq!(h2.status, Status::Pass, "{h2:?}");
    let moved = health.check("moved").expect("registered");
    assert_eq!(moved.status, Status::Warn, "{moved:?}");
    assert!(
        moved
            .output
            .as_deref()
            .unwrap_or("")
            .ends_with("/moved answered 303, expected 200"),
        "{moved:?}"
    );
    let followed = health.check("followed").expect("registered");
    assert_eq!(followed.status, Status::Pass, "{followed:?}");
    assert!(checks::HttpCheck::new("ftp://x/").is_err());
    assert!(checks::HttpCheck::new("https://x/")
        .expect("url")
        .ca_pem(b"not pem")
        .is_err());
}

#[test]
fn debug_shows_neither_the_password_nor_the_ca_certificates() {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let pem = cert.pem();
    let check = checks::HttpCheck::new("https://user:hunter2@localhost:8443/healthz")
        .expect("url")
        .ca_pem(pem.as_bytes())
        .expect("pem")
        .follow_redirects(2);
    let debug = format!("{check:?}");
    assert_eq!(
        debug,
        format!(
            "HttpCheck {{ url: \"https://localhost:8443/healthz\", ca_pem_bytes: Some({}), \
             expected: 200, max_redirects: Some(2) }}",
            pem.len()
        )
    );
}
