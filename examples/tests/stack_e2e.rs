//! End to end: the quickstart (in-process, loopback), and the deploy/ stack run natively by
//! deploy/run-native.sh: a real Prometheus with the shipped configuration and rule files
//! (scraping and evaluating every second) and a real Alertmanager with the shipped routing
//! (webhook URL pointed at this test, group_wait 1 s). Traffic with errors and slow requests
//! flows; then every rule evaluates without error, every dashboard query runs, the service and
//! process panels return data, and an alert driven by the errors reaches the webhook.
//!
//! Which alert fires, and why a test-only rule file: the shipped alerts wait minutes (`for:`)
//! before firing, longer than a test should run. So besides the shipped rule files (proving they
//! load and their expressions evaluate against real data), Prometheus loads one test-only file:
//! the shipped `http` group with every `for:` set to 0s, generated from alerts.yml at run time,
//! so its expressions, labels and annotations are exactly the shipped ones. The errors make
//! HTTPErrorRatioHigh fire at both severities; the test expects the critical one at the webhook
//! through the "critical" receiver, and the warning one inhibited by it.

#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter::Lifecycle;
use serde_json::Value;
use test_support::deploy::{self, NativeStack, NativeStackConfig};
use test_support::prometheus::{query, query_response};
use test_support::webhook::WebhookReceiver;
use tokio::net::TcpListener;

/// Scrape and evaluation interval of the test stack; Grafana's `$__rate_interval` would be at
/// least four of them.
const SCRAPE_INTERVAL: &str = "1s";
const RATE_INTERVAL: &str = "10s";

/// The quickstart on loopback ports; returns its app and metrics addresses.
async fn start_quickstart(lifecycle: Lifecycle) -> (SocketAddr, SocketAddr) {
    let app = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
    let metrics = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind metrics");
    let addresses = (
        app.local_addr().expect("app address"),
        metrics.local_addr().expect("metrics address"),
    );
    tokio::spawn(quickstart::run(app, metrics, lifecycle));
    addresses
}

/// Sends requests until `stop`: per round four that succeed, two that fail (/fail, 500), and
/// every tenth round a slow one (/slow, ~300 ms), so a third of the requests are errors.
fn generate_traffic(app: SocketAddr, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut round = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if round.is_multiple_of(10) {
                let slow = client.get(format!("http://{app}/slow")).send();
                tokio::spawn(async move {
                    if let Ok(response) = slow.await {
                        let _ = response.bytes().await;
                    }
                });
            }
            for path in [
                "/",
                &format!("/users/{round}"),
                &format!("/api/orders/{round}"),
                "/users/1",
                "/fail",
                "/fail",
            ] {
                let _ = client.get(format!("http://{app}{path}")).send().await;
            }
            round += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// The shipped `http` alert group with every `for:` removed (see the module docs).
fn write_fast_http_alerts(dir: &Path) -> std::path::PathBuf {
    let mut rules = deploy::yaml("prometheus/rules/alerts.yml");
    let groups = rules["groups"].as_sequence_mut().expect("groups");
    groups.retain(|group| group["name"].as_str() == Some("http"));
    assert_eq!(groups.len(), 1, "alerts.yml has no group named http");
    let group = &mut groups[0];
    group["name"] = "e2e-http-without-for".into();
    for rule in group["rules"].as_sequence_mut().expect("rules") {
        rule["for"] = "0s".into();
    }
    let path = dir.join("e2e-fast-alerts.yml");
    std::fs::write(&path, serde_yaml::to_string(&rules).expect("YAML")).expect("write rule file");
    path
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn is_alert(alert: &Value, name: &str, severity: &str) -> bool {
    alert["labels"]["alertname"] == name
        && alert["labels"]["severity"] == severity
        && alert["labels"]["job"] == "quickstart"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_scrapes_evaluates_shows_and_alerts_on_the_quickstart() {
    let started = Instant::now();
    let webhook = WebhookReceiver::start().await;
    let lifecycle = Lifecycle::new();
    let (app, metrics) = start_quickstart(lifecycle.clone()).await;
    let rules_dir = tempfile::tempdir().expect("temp dir");
    let mut stack = NativeStack::start(&NativeStackConfig {
        demo_target: metrics.to_string(),
        webhook_url: webhook.url.clone(),
        scrape_interval: SCRAPE_INTERVAL.to_owned(),
        group_wait: "1s".to_owned(),
        extra_rules: Some(write_fast_http_alerts(rules_dir.path())),
    })
    .await;
    let prometheus = stack.prometheus_url.clone();

    // Counters only show a rate once Prometheus has seen them before the traffic: wait for the
    // first scrape (5 to 6 s after start).
    wait_for(
        "first scrape of the quickstart",
        Duration::from_secs(20),
        async || {
            query(&prometheus, r#"up{job="quickstart"} == 1"#)
                .await
                .len()
                == 1
        },
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = generate_traffic(app, stop.clone());

    // The alert the errors drive, delivered through the critical route.
    let notification = webhook
        .wait_for(Duration::from_secs(45), |n| {
            n["status"] == "firing"
                && n["alerts"].as_array().is_some_and(|alerts| {
                    alerts
                        .iter()
                        .any(|a| is_alert(a, "HTTPErrorRatioHigh", "critical"))
                })
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "HTTPErrorRatioHigh (critical) never reached the webhook; got {:?}\n{}",
                webhook.received(),
                stack.logs()
            )
        });
    assert_eq!(notification["receiver"], "critical", "{notification}");
    let alert = notification["alerts"]
        .as_array()
        .and_then(|alerts| {
            alerts
                .iter()
                .find(|a| is_alert(a, "HTTPErrorRatioHigh", "critical"))
        })
        .expect("the alert");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("quickstart: ")),
        "{alert}"
    );
    assert!(
        alert["annotations"]["description"]
            .as_str()
            .is_some_and(|s| s.contains("critical threshold is 20 %")),
        "{alert}"
    );
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "https://example.invalid/rust-prometheus-toolkit/blob/main/deploy/RUNBOOK.md#httperrorratiohigh"
    );

    // The warning of the same alert and job is inhibited by the critical one.
    let alertmanager = stack.alertmanager_url.clone();
    wait_for(
        "HTTPErrorRatioHigh (warning) inhibited",
        Duration::from_secs(15),
        async || {
            let alerts: Value = reqwest::get(format!("{alertmanager}/api/v2/alerts"))
                .await
                .expect("Alertmanager alerts")
                .json()
                .await
                .expect("JSON");
            alerts.as_array().into_iter().flatten().any(|a| {
                is_alert(a, "HTTPErrorRatioHigh", "warning")
                    && a["status"]["state"] == "suppressed"
                    && a["status"]["inhibitedBy"]
                        .as_array()
                        .is_some_and(|by| !by.is_empty())
            })
        },
    )
    .await;
    assert!(
        !webhook
            .received()
            .iter()
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .any(|a| is_alert(&a, "HTTPErrorRatioHigh", "warning")),
        "the inhibited warning was delivered"
    );

    // Every shipped rule (and the test-only copy) has evaluated, none with an error.
    wait_for(
        "every rule evaluated without error",
        Duration::from_secs(15),
        async || {
            let rules: Value = reqwest::get(format!("{prometheus}/api/v1/rules"))
                .await
                .expect("rules")
                .json()
                .await
                .expect("JSON");
            let all: Vec<&Value> = rules["data"]["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["rules"].as_array().into_iter().flatten())
                .collect();
            for rule in &all {
                assert_ne!(
                    rule["health"], "err",
                    "rule {} fails: {}",
                    rule["name"], rule["lastError"]
                );
            }
            all.len() >= 36 + 13 + 3 && all.iter().all(|rule| rule["health"] == "ok")
        },
    )
    .await;

    // Every query of every dashboard panel runs; the service and process panels return data.
    // Host panels (node_*) need node-exporter and probe panels the prober: they only must run.
    for (name, dashboard) in deploy::dashboards() {
        for panel in deploy::panels(&dashboard) {
            let queries: Vec<String> = deploy::queries(panel)
                .into_iter()
                .map(|expr| deploy::substitute_variables(expr, &dashboard, RATE_INTERVAL))
                .collect();
            let needs_data =
                name != "probes-uptime.json" && !queries.iter().any(|q| q.contains("node_"));
            let what = format!("{name}: panel {}", panel["title"]);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let mut with_data = 0;
                for expr in &queries {
                    assert!(
                        !expr.contains('$'),
                        "{what}: unsubstituted variable in {expr}"
                    );
                    let response = query_response(&prometheus, expr).await;
                    assert_eq!(response["status"], "success", "{what}: {expr}: {response}");
                    if response["data"]["result"]
                        .as_array()
                        .is_some_and(|r| !r.is_empty())
                    {
                        with_data += 1;
                    }
                }
                if !needs_data || with_data > 0 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{what}: no data from {queries:?}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    stop.store(true, Ordering::Relaxed);
    traffic.await.expect("traffic task");
    assert!(
        stack.is_running(),
        "the native stack stopped early:\n{}",
        stack.logs()
    );
    lifecycle.begin_shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
}
