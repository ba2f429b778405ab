//! Checks shared by the end-to-end tests of the deploy/ stack, whatever answers the queries
//! (Prometheus, or VictoriaMetrics behind the scale-out path): the test-only copy of the alert
//! rules without `for:`, and every dashboard query run with the service panels showing data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::deploy;
use crate::prometheus::query_response;

/// Waits, polling every 250 ms, until `done` holds; panics naming `what` after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Sends requests to each of `apps` (the quickstart's routes) until `stop`: per round and app
/// four that succeed, two that fail (/fail, 500), and every tenth round a slow one (/slow,
/// ~300 ms), so a third of the requests are errors.
pub fn generate_traffic(
    apps: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut round = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for app in &apps {
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
            }
            round += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A GET answered with JSON.
pub async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// The shipped alert `groups` (of `prometheus/rules/alerts.yml`) with every `for:` set to 0s,
/// written to `dir` under new group names: the shipped alerts wait minutes before firing, longer
/// than a test should run, and this copy keeps their expressions, labels and annotations
/// exactly. Returns the file and its rule count.
pub fn write_fast_alerts(dir: &Path, groups: &[&str]) -> (PathBuf, usize) {
    let mut rules = deploy::yaml("prometheus/rules/alerts.yml");
    let kept = rules["groups"].as_sequence_mut().expect("groups");
    kept.retain(|group| groups.contains(&group["name"].as_str().unwrap_or_default()));
    assert_eq!(
        kept.len(),
        groups.len(),
        "alerts.yml lacks a group of {groups:?}"
    );
    let mut count = 0;
    for group in kept {
        group["name"] = format!(
            "e2e-{}-without-for",
            group["name"].as_str().unwrap_or_default()
        )
        .into();
        for rule in group["rules"].as_sequence_mut().expect("rules") {
            rule["for"] = "0s".into();
            count += 1;
        }
    }
    let path = dir.join("e2e-fast-alerts.yml");
    std::fs::write(&path, serde_norway::to_string(&rules).expect("YAML")).expect("write rule file");
    (path, count)
}

/// How many rules a shipped rule file (`deploy/<relative>`) has.
pub fn count_rules(relative: &str) -> usize {
    deploy::yaml(relative)["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|group| group["rules"].as_sequence().map_or(0, Vec::len))
        .sum()
}

/// Every query of every dashboard panel runs against the query API at `url`, with the
/// variables at All and `$__rate_interval` as `rate_interval`; the service, process and probe
/// panels return data. Host panels (node_*) need node-exporter, the TLS expiry panel an https
/// target, and panels that match `optional` (e.g. the prober's, where no prober runs) data the
/// test does not produce: those only must run.
pub async fn assert_dashboard_queries_run(url: &str, rate_interval: &str, optional: &[&str]) {
    for (name, dashboard) in deploy::dashboards() {
        for panel in deploy::panels(&dashboard) {
            let queries: Vec<String> = deploy::queries(panel)
                .into_iter()
                .map(|expr| deploy::substitute_variables(expr, &dashboard, rate_interval))
                .collect();
            let what = format!("{name}: panel {}", panel["title"]);
            let needs_data = !queries.iter().any(|q| {
                q.contains("node_")
                    || q.contains("probe_ssl_earliest_cert_expiry")
                    || optional.iter().any(|o| q.contains(o))
            });
            let deadline = Instant::now() + Duration::from_secs(20);
            while count_queries_with_data(url, &queries, &what).await == 0 && needs_data {
                assert!(
                    Instant::now() < deadline,
                    "{what}: no data from {queries:?}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Runs each query (each must succeed); returns how many returned at least one series.
async fn count_queries_with_data(url: &str, queries: &[String], what: &str) -> usize {
    let mut with_data = 0;
    for expr in queries {
        assert!(
            !expr.contains('$'),
            "{what}: unsubstituted variable in {expr}"
        );
        let response = query_response(url, expr).await;
        assert_eq!(response["status"], "success", "{what}: {expr}: {response}");
        if response["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            with_data += 1;
        }
    }
    with_data
}
