//! The quickstart, run in-process on loopback ports: promtool lints its live scrape, a real
//! Prometheus scrapes it, and shutdown drains in-flight requests after readiness turns 503.

#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

mod common;

use std::time::Duration;

use common::Served;
use metrics_exporter::Lifecycle;
use test_support::prometheus::Prometheus;

/// The quickstart on loopback ports, draining for `drain_delay` on shutdown.
async fn start(drain_delay: Duration) -> Served {
    Served::start(quickstart::run, Lifecycle::new().drain_delay(drain_delay)).await
}

/// Some of everything: templated, nested, slow, failing, unknown path, unknown method.
async fn traffic(quickstart: &Served) {
    let client = reqwest::Client::new();
    for path in [
        "/",
        "/users/1",
        "/users/2",
        "/api/orders/3",
        "/slow",
        "/fail",
        "/nope",
    ] {
        client
            .get(quickstart.url(path))
            .send()
            .await
            .expect("request");
    }
    let brew = reqwest::Method::from_bytes(b"BREW").expect("method");
    client
        .request(brew, quickstart.url("/users/1"))
        .send()
        .await
        .expect("request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_no_problem_in_a_live_scrape() {
    let quickstart = start(Duration::ZERO).await;
    traffic(&quickstart).await;
    // A plain client (no Accept header) gets text 0.0.4, the format promtool reads.
    let response = reqwest::get(format!("http://{}/metrics", quickstart.metrics))
        .await
        .expect("scrape");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
    );
    // Wait for the first host reading so the system_* names are linted too.
    let text = quickstart
        .scrape_until("system_cpu_utilization_ratio")
        .await;
    assert!(text.contains("http_route=\"/api/orders/{id}\""));
    assert!(text.contains("process_cpu_seconds_total"));
    assert!(text.contains("health_check_status{check=\"database\"}"));

    test_support::promtool::assert_lint_clean(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_scrapes_the_request_count() {
    let quickstart = start(Duration::ZERO).await;
    let client = reqwest::Client::new();
    let sent = 37;
    for id in 0..sent {
        let status = client
            .get(quickstart.url(&format!("/users/{id}")))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status, 200);
    }
    let prometheus = Prometheus::start("quickstart", &[quickstart.metrics.to_string()]).await;
    let query = r#"sum(http_server_requests_total{job="quickstart",http_route="/users/{id}",http_request_method="GET",http_response_status_code="200",url_scheme="http"})"#;
    let value = prometheus
        .wait_for_value(query, f64::from(sent), Duration::from_secs(30))
        .await;
    assert_eq!(value, Some(f64::from(sent)), "query: {query}");
    let up = prometheus.query(r#"up{job="quickstart"}"#).await;
    assert_eq!(up.first().map(|(_, v)| *v), Some(1.0));
    let info = prometheus
        .query(r#"build_info{job="quickstart",service_name="quickstart"}"#)
        .await;
    assert_eq!(info.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_turns_readiness_off_first_then_drains_in_flight_requests() {
    let mut quickstart = start(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let ready = format!("http://{}/ready", quickstart.metrics);
    assert_eq!(
        client.get(&ready).send().await.expect("ready").status(),
        200
    );

    // A request in flight when the signal comes; its body (~300 ms) outlasts the drain delay, so
    // it is still streaming when the listener closes.
    let in_flight = {
        let client = client.clone();
        let url = quickstart.url("/slow");
        tokio::spawn(async move {
            let response = client.get(url).send().await.expect("slow request");
            (response.status(), response.text().await.expect("slow body"))
        })
    };
    let metrics = format!("http://{}/metrics", quickstart.metrics);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !client
        .get(&metrics)
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("scrape body")
        .contains("http_server_active_requests{http_request_method=\"GET\"} 1")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/slow never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    quickstart.lifecycle.begin_shutdown();
    assert_eq!(
        client.get(&ready).send().await.expect("ready").status(),
        503,
        "readiness fails as soon as shutdown begins, while the listener is still open"
    );
    let (status, body) = in_flight.await.expect("in-flight task");
    assert_eq!(status, 200);
    assert_eq!(
        body, "part 0\npart 1\npart 2\n",
        "the in-flight body completed"
    );

    let result = tokio::time::timeout(Duration::from_secs(10), &mut quickstart.task)
        .await
        .expect("servers stop after draining")
        .expect("join");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        tokio::net::TcpStream::connect(quickstart.app)
            .await
            .is_err(),
        "listener closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_database_check_and_system_metrics_appear() {
    let quickstart = start(Duration::ZERO).await;
    let client = reqwest::Client::new();
    let health = format!("http://{}/health", quickstart.metrics);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let response = client.get(&health).send().await.expect("health");
        let status = response.status();
        let json: serde_json::Value = response.json().await.expect("health json");
        if json["checks"]["database"][0]["status"] == "pass" {
            assert_eq!(status, 200);
            assert_eq!(json["checks"]["database"][0]["componentType"], "datastore");
            assert_eq!(json["checks"]["database"][0]["criticality"], "critical");
            assert_eq!(json["status"], "pass");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{json}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = quickstart
        .scrape_until("system_cpu_utilization_ratio{cpu_logical_number=\"0\"")
        .await;
    // The all-CPU series has no logical number (OpenTelemetry leaves out what does not apply).
    let total = text.lines().find(|line| {
        line.starts_with("system_cpu_utilization_ratio") && !line.contains("cpu_logical_number")
    });
    assert!(total.is_some(), "{text}");
    assert!(text.contains("health_check_status{check=\"database\"} 1"));
}
