//! End to end: the quickstart (in-process, loopback), and the deploy/ stack run natively by
//! deploy/run-native.sh: a real Prometheus with the shipped configuration and rule files
//! (scraping and evaluating every second), a real Alertmanager with the shipped routing
//! (webhook URL pointed at this test, group_wait 1 s), and the prober: the workspace's real
//! `metrics-exporter` binary (see `test_support::deploy::prober_binary` for how the test finds
//! it), probing the quickstart's `/` and `/users/1` and a port where nothing listens, every
//! second. Traffic with errors and slow requests flows; then every rule evaluates without
//! error, every dashboard query runs, the service, process and probe panels return data, and
//! alerts driven by the errors and by the failing probe reach the webhook.
//!
//! Which alerts fire, and why a test-only rule file: the shipped alerts wait minutes (`for:`)
//! before firing, longer than a test should run. So besides the shipped rule files (proving they
//! load and their expressions evaluate against real data), Prometheus loads one test-only file:
//! the shipped `http` and `probes` groups with every `for:` set to 0s, generated from alerts.yml
//! at run time, so their expressions, labels and annotations are exactly the shipped ones. The
//! errors make HTTPErrorRatioHigh fire at both severities, and the refused probe ProbeFailing;
//! the test expects each critical one at the webhook through the "critical" receiver, and each
//! warning inhibited by it.

#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter::Lifecycle;
use serde_json::Value;
use test_support::binaries::free_port;
use test_support::deploy::{self, NativeStack, NativeStackConfig, ProberConfig};
use test_support::prometheus::query;
use test_support::stack_checks::{
    assert_dashboard_queries_run, count_rules, generate_traffic, get_json, wait_for,
    write_fast_alerts,
};
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

/// The alert groups that the test-only rule file copies without `for:` (see the module docs).
const FAST_GROUPS: [&str; 2] = ["http", "probes"];

/// The prober's targets: two pages of the quickstart that answer 200, and a loopback port
/// where nothing listens (its probes fail with cause `refused`).
fn probe_targets(app: SocketAddr) -> String {
    format!(
        "quickstart=http://{app}/,users=http://{app}/users/1,down=http://127.0.0.1:{}/",
        free_port()
    )
}

/// An alert the test expects: its name, and the label that says whose it is.
#[derive(Clone, Copy)]
struct Expected {
    alertname: &'static str,
    label: (&'static str, &'static str),
}

const HTTP_ERRORS: Expected = Expected {
    alertname: "HTTPErrorRatioHigh",
    label: ("job", "quickstart"),
};
const PROBE_FAILING: Expected = Expected {
    alertname: "ProbeFailing",
    label: ("target", "down"),
};

impl Expected {
    fn matches(self, alert: &Value, severity: &str) -> bool {
        alert["labels"]["alertname"] == self.alertname
            && alert["labels"]["severity"] == severity
            && alert["labels"][self.label.0] == self.label.1
    }
}

const RUNBOOK: &str = "https://example.invalid/rust-prometheus-toolkit/blob/main/deploy/RUNBOOK.md";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_scrapes_evaluates_shows_and_alerts_on_the_quickstart() {
    let started = Instant::now();
    let webhook = WebhookReceiver::start().await;
    let lifecycle = Lifecycle::new();
    let (app, metrics) = start_quickstart(lifecycle.clone()).await;
    let rules_dir = tempfile::tempdir().expect("temp dir");
    let (fast_alerts, fast_rules) = write_fast_alerts(rules_dir.path(), &FAST_GROUPS);
    let mut stack = NativeStack::start(&NativeStackConfig {
        demo_target: metrics.to_string(),
        webhook_url: webhook.url.clone(),
        scrape_interval: SCRAPE_INTERVAL.to_owned(),
        group_wait: "1s".to_owned(),
        extra_rules: Some(fast_alerts),
        prober: Some(ProberConfig {
            binary: deploy::prober_binary(),
            targets: probe_targets(app),
            interval: "1s".to_owned(),
        }),
    })
    .await;

    // Counters only show a rate once Prometheus has seen them before the traffic: wait for the
    // first scrape (5 to 6 s after start) of the quickstart and of the prober.
    let prometheus = stack.prometheus_url.clone();
    wait_for(
        "first scrape of the quickstart and the prober",
        Duration::from_secs(20),
        async || {
            query(&prometheus, r#"up{job=~"quickstart|prober"} == 1"#)
                .await
                .len()
                == 2
        },
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = generate_traffic(vec![app], stop.clone());

    let alert = assert_critical_delivered(&webhook, &stack, HTTP_ERRORS).await;
    assert!(
        annotation(&alert, "summary").starts_with("quickstart: "),
        "{alert}"
    );
    assert!(
        annotation(&alert, "description").contains("critical threshold is 20 %"),
        "{alert}"
    );
    assert_eq!(
        annotation(&alert, "runbook_url"),
        format!("{RUNBOOK}#httperrorratiohigh")
    );
    assert_warning_inhibited(&webhook, &stack.alertmanager_url, HTTP_ERRORS).await;

    let alert = assert_critical_delivered(&webhook, &stack, PROBE_FAILING).await;
    assert_eq!(annotation(&alert, "summary"), "Probe of down is failing");
    assert_eq!(alert["labels"]["job"], "prober", "{alert}");
    assert_eq!(
        annotation(&alert, "runbook_url"),
        format!("{RUNBOOK}#probefailing")
    );
    assert_warning_inhibited(&webhook, &stack.alertmanager_url, PROBE_FAILING).await;
    assert_probes_of_the_quickstart_succeed(&prometheus).await;
    assert_certificate_alerts_inhibit_down_to_the_tightest(&stack.alertmanager_url).await;

    assert_watchdog_delivered(&webhook).await;
    let rules = count_rules("prometheus/rules/recording.yml")
        + count_rules("prometheus/rules/alerts.yml")
        + fast_rules;
    assert_every_rule_evaluates(&prometheus, rules).await;
    assert_dashboard_queries_run(&prometheus, RATE_INTERVAL, &[]).await;

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

fn annotation<'a>(alert: &'a Value, name: &str) -> &'a str {
    alert["annotations"][name].as_str().unwrap_or_default()
}

/// The critical variant of `expected` reaches the webhook through the critical route; returns
/// the alert as delivered.
async fn assert_critical_delivered(
    webhook: &WebhookReceiver,
    stack: &NativeStack,
    expected: Expected,
) -> Value {
    let critical = |alert: &Value| expected.matches(alert, "critical");
    let name = expected.alertname;
    let notification = webhook
        .wait_for(Duration::from_secs(45), |n| {
            n["status"] == "firing"
                && n["alerts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(critical))
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "{name} (critical) never reached the webhook; got {:?}\n{}",
                webhook.received(),
                stack.logs()
            )
        });
    assert_eq!(notification["receiver"], "critical", "{notification}");
    notification["alerts"]
        .as_array()
        .and_then(|alerts| alerts.iter().find(|a| critical(a)))
        .expect("the alert")
        .clone()
}

/// The warning variant of `expected` is inhibited by the critical one, and not delivered.
async fn assert_warning_inhibited(
    webhook: &WebhookReceiver,
    alertmanager: &str,
    expected: Expected,
) {
    let warning = |alert: &Value| expected.matches(alert, "warning");
    wait_for(
        &format!("{} (warning) inhibited", expected.alertname),
        Duration::from_secs(15),
        async || {
            let alerts = get_json(&format!("{alertmanager}/api/v2/alerts")).await;
            alerts.as_array().into_iter().flatten().any(|a| {
                warning(a)
                    && a["status"]["state"] == "suppressed"
                    && a["status"]["inhibitedBy"]
                        .as_array()
                        .is_some_and(|by| !by.is_empty())
            })
        },
    )
    .await;
    let delivered = webhook
        .received()
        .iter()
        .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
        .any(|a| warning(&a));
    assert!(
        !delivered,
        "the inhibited {} warning was delivered",
        expected.alertname
    );
}

/// The shipped inhibition of the certificate alerts, in the real Alertmanager: alerts posted to
/// its API as Prometheus would send them, for a certificate with 3 days left (all three
/// thresholds crossed) and one with 10 days left (21d and 14d). Only the tightest of each is
/// active; a target's critical does not silence another target's warning.
async fn assert_certificate_alerts_inhibit_down_to_the_tightest(alertmanager: &str) {
    // Target, threshold, severity, and the state Alertmanager should give the alert.
    let expected = [
        ("cert-3-days", "21d", "warning", "suppressed"),
        ("cert-3-days", "14d", "warning", "suppressed"),
        ("cert-3-days", "7d", "critical", "active"),
        ("cert-10-days", "21d", "warning", "suppressed"),
        ("cert-10-days", "14d", "warning", "active"),
    ];
    let posted: Vec<Value> = expected
        .iter()
        .map(|(target, within, severity, _)| {
            serde_json::json!({
                "labels": {
                    "alertname": "ProbeCertificateExpiring",
                    "job": "prober",
                    "instance": "127.0.0.1:1",
                    "target": target,
                    "expires_within": within,
                    "severity": severity,
                },
                "annotations": {"summary": "posted by the test"},
            })
        })
        .collect();
    let response = reqwest::Client::new()
        .post(format!("{alertmanager}/api/v2/alerts"))
        .json(&posted)
        .send()
        .await
        .expect("post alerts to Alertmanager");
    assert!(response.status().is_success(), "{response:?}");
    wait_for(
        "certificate alerts inhibited down to the tightest",
        Duration::from_secs(10),
        async || {
            let alerts = get_json(&format!("{alertmanager}/api/v2/alerts")).await;
            let states: Vec<String> = expected
                .iter()
                .map(|(target, within, _, _)| {
                    alerts
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|a| {
                            a["labels"]["target"] == *target
                                && a["labels"]["expires_within"] == *within
                        })
                        .map(|a| a["status"]["state"].as_str().unwrap_or_default().to_owned())
                        .unwrap_or_default()
                })
                .collect();
            states
                .iter()
                .zip(&expected)
                .all(|(state, (_, _, _, wanted))| state == wanted)
        },
    )
    .await;
}

/// The prober's own results, as Prometheus scraped them: the quickstart's pages answer 200,
/// the port where nothing listens is refused, and no probe alert names a healthy target.
async fn assert_probes_of_the_quickstart_succeed(prometheus: &str) {
    for target in ["quickstart", "users"] {
        let ok = format!(
            r#"probe_success{{job="prober", target="{target}"}} == 1 and on (target) probe_http_status_code == 200"#
        );
        assert_eq!(query(prometheus, &ok).await.len(), 1, "{ok}");
    }
    let refused =
        r#"probe_checks_total{job="prober", target="down", result="failure", cause="refused"} > 0"#;
    assert_eq!(query(prometheus, refused).await.len(), 1, "{refused}");
    let wrong = r#"ALERTS{alertname=~"Probe.*", target!="down"}"#;
    let alerts = query(prometheus, wrong).await;
    assert!(alerts.is_empty(), "{wrong}: {alerts:?}");
}

/// The shipped Watchdog (no `for:`, so not from the test-only file) went its own route.
async fn assert_watchdog_delivered(webhook: &WebhookReceiver) {
    let watchdog = webhook
        .wait_for(Duration::from_secs(15), |n| {
            n["alerts"].as_array().is_some_and(|alerts| {
                alerts
                    .iter()
                    .any(|a| a["labels"]["alertname"] == "Watchdog")
            })
        })
        .await
        .expect("the Watchdog reached the webhook");
    assert_eq!(watchdog["receiver"], "watchdog", "{watchdog}");
}

/// Every shipped rule (and the test-only copy), `expected` in all, has evaluated against real
/// data without error.
async fn assert_every_rule_evaluates(prometheus: &str, expected: usize) {
    wait_for(
        "every rule evaluated without error",
        Duration::from_secs(15),
        async || {
            let rules = get_json(&format!("{prometheus}/api/v1/rules")).await;
            let all: Vec<&Value> = rules["data"]["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|group| group["rules"].as_array().into_iter().flatten())
                .collect();
            for rule in &all {
                assert_ne!(
                    rule["health"], "err",
                    "rule {} fails: {}",
                    rule["name"], rule["lastError"]
                );
            }
            all.len() == expected && all.iter().all(|rule| rule["health"] == "ok")
        },
    )
    .await;
}
