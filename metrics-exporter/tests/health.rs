//! `/health`, `/health/{check}`, `/live`, `/ready` and `/startup` with real checks on a real
//! server: cached results (a slow check never slows `/health`; concurrent requests do not run
//! checks), 503 on critical failures, details hidden by configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::health::{BoxError, ComponentType, Group, HealthCheck, HealthRegistry};
use metrics_toolkit::MetricsRegistry;
use serde_json::Value;
use test_support::Scrape;

struct Running {
    base: String,
    lifecycle: Lifecycle,
    health: HealthRegistry,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.lifecycle.begin_shutdown();
    }
}

/// A registry without the process metrics, whose values a test cannot predict.
fn quiet_registry() -> MetricsRegistry {
    MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry")
}

/// Health made of one check, `name`, that always passes.
fn one_passing_check(name: &str) -> HealthRegistry {
    HealthRegistry::builder()
        .check(HealthCheck::new(name, || async { Ok(()) }))
        .build()
        .expect("valid")
}

async fn serve(health: HealthRegistry, details: bool) -> Running {
    let registry = quiet_registry();
    // Serving continues through the drain delay, so tests can ask while draining.
    let lifecycle = Lifecycle::new().drain_delay(Duration::from_secs(30));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let exporter = Exporter::new(registry, lifecycle.clone())
        .service_name("health-test")
        .health(health.clone())
        .health_details(details);
    tokio::spawn(exporter.serve(listener));
    Running {
        base,
        lifecycle,
        health,
    }
}

/// Serves one check, marks the service ready and waits for the check's first result.
async fn serve_ready(check: HealthCheck, details: bool) -> Running {
    let health = HealthRegistry::builder()
        .check(check)
        .build()
        .expect("valid");
    let running = serve(health, details).await;
    running.lifecycle.mark_ready();
    assert!(
        running
            .health
            .wait_for_first_round(Duration::from_secs(10))
            .await
    );
    running
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        // Bounds the test if an endpoint ever waited on a check.
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn get(base: &str, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let response = client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.expect("body"), headers)
}

fn failing(message: &'static str) -> impl Fn() -> std::future::Ready<Result<(), BoxError>> {
    move || std::future::ready(Err(message.into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_codes_and_groups() {
    let health = HealthRegistry::builder()
        .check(HealthCheck::new("db", || async { Ok(()) }).groups([Group::Ready, Group::Startup]))
        .check(
            HealthCheck::new("mail", failing("smtp refused"))
                .non_critical()
                .component_type(ComponentType::System),
        )
        .build()
        .expect("valid");
    let running = serve(health, true).await;
    assert!(
        running
            .health
            .wait_for_first_round(Duration::from_secs(10))
            .await
    );

    let (code, body, _) = get(&running.base, "/ready").await;
    assert_eq!(
        (code, body.as_str()),
        (503, "starting\n"),
        "not ready during startup"
    );
    assert_eq!(get(&running.base, "/startup").await.0, 503);
    running.lifecycle.mark_ready();
    assert_eq!(get(&running.base, "/startup").await.0, 200);

    let (code, body, headers) = get(&running.base, "/health").await;
    assert_eq!(code, 200, "warn answers 200: {body}");
    assert_eq!(headers["content-type"], "application/health+json");
    assert_eq!(headers["cache-control"], "no-store");
    let json: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "warn");
    assert_eq!(json["serviceId"], "health-test");
    assert_eq!(json["checks"]["db"][0]["status"], "pass");
    assert_eq!(json["checks"]["db"][0]["observedUnit"], "ms");
    assert!(json["checks"]["db"][0]["observedValue"].is_number());
    assert!(json["checks"]["db"][0]["time"]
        .as_str()
        .unwrap_or("")
        .ends_with('Z'));
    assert_eq!(json["checks"]["mail"][0]["status"], "warn");
    assert_eq!(json["checks"]["mail"][0]["output"], "smtp refused");
    // The draft's component types, and whether a failure fails the service beside them.
    assert_eq!(json["checks"]["db"][0]["componentType"], "component");
    assert_eq!(json["checks"]["db"][0]["criticality"], "critical");
    assert_eq!(json["checks"]["mail"][0]["componentType"], "system");
    assert_eq!(json["checks"]["mail"][0]["criticality"], "non-critical");
    assert_eq!(json["checks"]["lifecycle"][0]["status"], "pass");

    // A non-critical failure leaves the service ready.
    assert_eq!(get(&running.base, "/ready").await.0, 200);
    assert_eq!(get(&running.base, "/live").await.0, 200);

    let (code, body, _) = get(&running.base, "/health/mail").await;
    assert_eq!(code, 200);
    let json: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "warn");
    assert_eq!(json["componentId"], "mail");
    assert_eq!(json["componentType"], "system");
    assert_eq!(json["criticality"], "non-critical");
    assert_eq!(get(&running.base, "/health/nope").await.0, 404);

    let (code, body, headers) = get(&running.base, "/health?verbose").await;
    assert_eq!(code, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    let lines: Vec<&str> = body.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("[+]db pass (")),
        "{body}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[!]mail warn (") && l.ends_with(": smtp refused")),
        "{body}"
    );
    assert_eq!(lines.last(), Some(&"health: warn"));

    // Health as metrics, on the exporter's own /metrics.
    let (_, text, _) = get(&running.base, "/metrics").await;
    let scrape = Scrape::parse(&text);
    assert_eq!(
        scrape.get("health_check_status", &[("check", "db")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.get("health_check_status", &[("check", "mail")]),
        Some(0.5)
    );
    assert!(scrape
        .get("health_check_duration_seconds", &[("check", "db")])
        .is_some());

    running.lifecycle.begin_shutdown();
    assert_eq!(
        get(&running.base, "/ready").await.0,
        503,
        "not ready once draining"
    );
    assert_eq!(
        get(&running.base, "/startup").await.0,
        200,
        "startup stays done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_failure_fails_health_and_readiness_but_not_liveness() {
    let running = serve_ready(HealthCheck::new("db", failing("connection reset")), true).await;

    let (code, body, _) = get(&running.base, "/health").await;
    assert_eq!(code, 503, "{body}");
    let json: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "fail");
    let (code, body, _) = get(&running.base, "/ready").await;
    assert_eq!((code, body.as_str()), (503, "failing: db\n"));
    assert_eq!(get(&running.base, "/health/db").await.0, 503);
    assert_eq!(get(&running.base, "/health?verbose").await.0, 503);
    // A dependency down never restarts the service.
    assert_eq!(get(&running.base, "/live").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_can_be_hidden() {
    let running = serve_ready(
        HealthCheck::new("db", failing("password authentication failed for user app")),
        false,
    )
    .await;
    for path in ["/health", "/health?verbose", "/health/db"] {
        let (code, body, _) = get(&running.base, path).await;
        assert_eq!(code, 503, "{path}");
        assert!(!body.contains("password"), "{path} leaks details: {body}");
        assert!(!body.contains("db\""), "{path} names checks: {body}");
    }
    let (_, body, _) = get(&running.base, "/health").await;
    let json: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "fail");
    assert!(json.get("checks").is_none());
}

/// A check closure that counts its runs in `runs`, then runs `check`.
fn counted<F, Fut>(runs: &Arc<AtomicU64>, check: F) -> impl Fn() -> Fut + Send + Sync + 'static
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    let runs = Arc::clone(runs);
    move || {
        runs.fetch_add(1, Ordering::SeqCst);
        check()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_check_never_makes_health_wait() {
    // A check that never finishes within the test: if any endpoint ran it, the request would
    // hang until the client's timeout and fail the test.
    let started = Arc::new(AtomicU64::new(0));
    let health = HealthRegistry::builder()
        .check(
            HealthCheck::new(
                "slow",
                counted(&started, std::future::pending::<Result<(), BoxError>>),
            )
            .timeout(Duration::from_secs(3600)),
        )
        .build()
        .expect("valid");
    let running = serve(health, true).await;
    running.lifecycle.mark_ready();
    // A critical check with no result yet fails health and readiness; liveness, startup (no
    // startup checks) and metrics do not depend on it.
    for (path, expected) in [
        ("/health", 503),
        ("/health/slow", 503),
        ("/health?verbose", 503),
        ("/ready", 503),
        ("/live", 200),
        ("/startup", 200),
        ("/metrics", 200),
    ] {
        let (code, body, _) = get(&running.base, path).await;
        assert_eq!(code, expected, "{path}");
        if path == "/health" {
            let json: Value = serde_json::from_str(&body).expect("json");
            assert_eq!(json["checks"]["slow"][0]["output"], "not run yet");
            assert_eq!(
                json["status"], "fail",
                "a critical check with no result yet fails"
            );
        }
    }
    // The background task starts it once (it may not have been scheduled before the requests).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while started.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "started once, in the background"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_run_each_check_at_most_once_per_interval() {
    let runs = Arc::new(AtomicU64::new(0));
    let running = serve_ready(
        HealthCheck::new("counted", counted(&runs, || async { Ok(()) }))
            // One interval spans the whole test.
            .interval(Duration::from_secs(3600)),
        true,
    )
    .await;

    let client = client();
    let requests = (0..200).map(|i| {
        let client = client.clone();
        let path = ["/health", "/ready", "/health/counted", "/health?verbose"][i % 4];
        let url = format!("{}{path}", running.base);
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
    });
    let mut answered = 0;
    for request in requests.collect::<Vec<_>>() {
        let status = request.await.expect("task").expect("request");
        assert_eq!(status, 200);
        answered += 1;
    }
    assert_eq!(answered, 200);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "200 requests, one run");
    assert_eq!(running.health.check("counted").map(|c| c.runs), Some(1));
}

/// `Exporter::health` called again replaces the checks: one scrape writes each health family
/// once, with the series of the last checks given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_given_twice_writes_each_family_once() {
    let first = one_passing_check("old");
    let second = one_passing_check("db");
    let registry = quiet_registry();
    let _exporter = Exporter::new(registry.clone(), Lifecycle::new())
        .health(first)
        .health(second.clone())
        .health(second.clone());
    second.start().expect("inside a runtime");
    assert!(second.wait_for_first_round(Duration::from_secs(10)).await);

    let text = registry
        .encode(metrics_toolkit::Format::PrometheusText)
        .expect("encode");
    for family in ["health_check_status", "health_check_duration_seconds"] {
        let types = text
            .lines()
            .filter(|line| line.starts_with(&format!("# TYPE {family} ")))
            .count();
        assert_eq!(types, 1, "{family} written {types} times:\n{text}");
    }
    let scrape = Scrape::parse(&text);
    assert_eq!(
        scrape.get("health_check_status", &[("check", "db")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.get("health_check_status", &[("check", "old")]),
        None,
        "{text}"
    );
}

/// The router merged into an app's own server: building it starts no check, and
/// `HealthRegistry::start`, as `Exporter::router` documents, makes `/health` and `/ready`
/// follow the checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_router_serves_checks_once_they_are_started() {
    let health = one_passing_check("db");
    let registry = quiet_registry();
    let lifecycle = Lifecycle::new();
    let exporter = Exporter::new(registry, lifecycle.clone())
        .service_name("merged")
        .health(health.clone());
    let app: axum::Router = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .merge(exporter.router());
    // Nothing started: the check has no result, and a zero wait cannot see one.
    assert!(!health.wait_for_first_round(Duration::ZERO).await);
    assert!(health.report(None).checks[0].time.is_none());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let shutdown = lifecycle.drained();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    });
    lifecycle.mark_ready();
    // A critical check without a result fails readiness.
    assert_eq!(get(&base, "/ready").await.0, 503);

    health.start().expect("inside a runtime");
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);
    let (code, body, _) = get(&base, "/health").await;
    assert_eq!(code, 200, "{body}");
    let json: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["serviceId"], "merged");
    assert_eq!(json["checks"]["db"][0]["status"], "pass");
    assert_eq!(get(&base, "/ready").await.0, 200);
    assert_eq!(get(&base, "/hello").await.1, "hello");

    lifecycle.begin_shutdown();
    server.await.expect("server task").expect("served");
}
