//! The scale-out path of deploy/ (deploy/scale/, the compose profile `scale`) with real
//! binaries: three quickstart replicas (in-process, loopback), Prometheus 2.42 in agent mode
//! on two shards from the shipped `agent-shard-*.yml` (shard 0 an HA pair: two agents on the
//! same file), remote-writing to a real VictoriaMetrics that deduplicates to one sample per
//! series and scrape interval; vmalert evaluating the shipped rule files against the store and
//! notifying a real Alertmanager with the shipped routing. Everything scrapes and evaluates
//! every second.
//!
//! It checks, in order: each replica is scraped by exactly one shard (and by both agents of the
//! HA pair); every shipped rule loads and evaluates in vmalert without error, and an alert
//! reaches the webhook through Alertmanager; every dashboard query answers from the store, the
//! service panels with data; the store is stopped for 15 s while traffic flows and restarted,
//! and the samples the agents scraped meanwhile arrive from their write-ahead logs (no gap in
//! any series); the HA pair's shard has one sample per scrape interval, as the single agent's shard; and
//! after the traffic stops, `sum(http_server_requests_total)` in the store equals the sum scraped
//! from the replicas. A second test runs the same profile through `deploy/run-native.sh`.

mod common;
#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Served;
use metrics_exporter::Lifecycle;
use serde_json::Value;
use test_support::binaries::{free_port, ProcessGroup};
use test_support::deploy;
use test_support::prometheus::{query, wait_until_ok};
use test_support::scale::{localize, Agent, Alertmanager, VictoriaMetrics, VmAlert};
use test_support::stack_checks::{
    assert_dashboard_queries_run, count_rules, generate_traffic, wait_for, write_fast_alerts,
};
use test_support::webhook::WebhookReceiver;
use test_support::Scrape;

const SCRAPE_INTERVAL: &str = "1s";
const RATE_INTERVAL: &str = "10s";
const OUTAGE: Duration = Duration::from_secs(15);

/// Unix time in seconds, as the query APIs take it.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A shipped agent file with the replicas' and the store's local addresses and the test's
/// scrape interval.
fn agent_config(shard: u8, replicas: &[String], store: &VictoriaMetrics) -> String {
    let write_url = store.write_url();
    let targets: Vec<(String, &str)> = (1..=3)
        .map(|i| (format!("\"quickstart-{i}:9464\""), replicas[i - 1].as_str()))
        .collect();
    let quoted: Vec<String> = targets
        .iter()
        .map(|(_, addr)| format!("\"{addr}\""))
        .collect();
    let mut replacements: Vec<(&str, &str)> = targets
        .iter()
        .zip(&quoted)
        .map(|((from, _), to)| (from.as_str(), to.as_str()))
        .collect();
    let interval = format!("  scrape_interval: {SCRAPE_INTERVAL}\n");
    replacements.push(("http://victoria-metrics:8428/api/v1/write", &write_url));
    replacements.push(("  scrape_interval: 15s\n", &interval));
    localize(
        &deploy::read(&format!("scale/agent-shard-{shard}.yml")),
        &replacements,
        &["quickstart-", "victoria-metrics:"],
    )
}

/// A counter of an agent's own `/metrics`, summed over its series.
async fn agent_counter(agent: &Agent, name: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", agent.url))
        .await
        .expect("the agent's metrics")
        .text()
        .await
        .expect("text");
    Scrape::parse(&text).sum(name, &[])
}

/// The raw sample timestamps (seconds) of `up` for `instance` between `start` and `end`, as the
/// store exports them.
async fn sample_times(store: &str, instance: &str, start: f64, end: f64) -> Vec<f64> {
    let text = reqwest::Client::new()
        .get(format!("{store}/api/v1/export"))
        .query(&[
            (
                "match[]",
                format!(r#"up{{job="quickstart",instance="{instance}"}}"#),
            ),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
        ])
        .send()
        .await
        .expect("export from the store")
        .text()
        .await
        .expect("export text");
    let mut times: Vec<f64> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .flat_map(|series| series["timestamps"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_f64().map(|ms| ms / 1000.0))
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// The longest time between two consecutive samples.
fn longest_gap(times: &[f64]) -> f64 {
    times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_remote_write_to_victoria_metrics_through_an_outage_and_vmalert_alerts() {
    let started = Instant::now();
    let webhook = WebhookReceiver::start().await;
    let alertmanager = Alertmanager::start(&webhook.url, "1s").await;
    let mut store = VictoriaMetrics::start(Some(SCRAPE_INTERVAL)).await;

    let lifecycle = Lifecycle::new();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Served::start(quickstart::run, lifecycle.clone()).await);
    }
    let metrics: Vec<String> = replicas.iter().map(|r| r.metrics.to_string()).collect();

    let agents = [
        Agent::start("agent-0a", &agent_config(0, &metrics, &store)).await,
        Agent::start("agent-0b", &agent_config(0, &metrics, &store)).await,
        Agent::start("agent-1a", &agent_config(1, &metrics, &store)).await,
    ];
    let logs = |store: &VictoriaMetrics| {
        let mut all: Vec<String> = agents.iter().map(Agent::logs).collect();
        all.push(store.logs());
        all.join("\n")
    };

    // Sharding: the HA pair scrapes the same replicas; every replica is in exactly one shard.
    let targets = async |agent: &Agent| -> BTreeSet<String> {
        agent.targets("quickstart").await.into_iter().collect()
    };
    let wanted: BTreeSet<String> = metrics.iter().cloned().collect();
    wait_for(
        "every replica in a shard, the HA pair on the same ones",
        Duration::from_secs(10),
        async || {
            let (a, b, one) = (
                targets(&agents[0]).await,
                targets(&agents[1]).await,
                targets(&agents[2]).await,
            );
            a == b && a.union(&one).cloned().collect::<BTreeSet<_>>() == wanted
        },
    )
    .await;
    let (shard0, shard1) = (targets(&agents[0]).await, targets(&agents[2]).await);
    assert!(
        shard0.is_disjoint(&shard1),
        "{shard0:?} and {shard1:?} overlap"
    );
    println!(
        "shard 0 (HA pair): {} replica(s), shard 1: {}",
        shard0.len(),
        shard1.len()
    );

    // Counters show a rate only once the store has a sample from before the traffic.
    wait_for(
        "every replica's first sample in the store",
        Duration::from_secs(20),
        async || {
            query(&store.url, r#"up{job="quickstart"} == 1"#)
                .await
                .len()
                == 3
        },
    )
    .await;
    // vmalert on the shipped rule files, and the test-only copy of the http alerts.
    let rules_dir = tempfile::tempdir().expect("temp dir");
    let (fast_alerts, fast_rules) = write_fast_alerts(rules_dir.path(), &["http"]);
    let rule_files = [
        deploy::dir().join("prometheus/rules/recording.yml"),
        deploy::dir().join("prometheus/rules/alerts.yml"),
        fast_alerts,
    ];
    let vmalert = VmAlert::start(&rule_files, &store.url, &alertmanager.url, SCRAPE_INTERVAL).await;
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = generate_traffic(replicas.iter().map(|r| r.app).collect(), stop.clone());

    let expected_rules = count_rules("prometheus/rules/recording.yml")
        + count_rules("prometheus/rules/alerts.yml")
        + fast_rules;
    // Every rule's last evaluation ok.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rules = vmalert.rules().await;
        let failing: Vec<String> = rules
            .iter()
            .filter(|rule| rule["health"] != "ok" || rule["lastError"] != "")
            .map(|rule| format!("{}: {}", rule["name"], rule["lastError"]))
            .collect();
        if rules.len() == expected_rules && failing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {expected_rules} rules loaded; failing: {failing:?}\n{}",
            rules.len(),
            vmalert.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "{:?}: vmalert: {expected_rules} rules loaded and evaluated without error",
        started.elapsed()
    );
    let alert = webhook.wait_for(Duration::from_secs(45), |n| {
        n["status"] == "firing"
            && n["alerts"].as_array().is_some_and(|alerts| {
                alerts.iter().any(|a| {
                    a["labels"]["alertname"] == "HTTPErrorRatioHigh"
                        && a["labels"]["severity"] == "critical"
                })
            })
    });
    // The dashboards, unchanged, on the store (no prober and no node-exporter run here),
    // checked while the alert is on its way.
    let dashboards =
        assert_dashboard_queries_run(&store.url, RATE_INTERVAL, &["probe_", "job=\"prober\""]);
    let (delivered, ()) = tokio::join!(alert, dashboards);
    let delivered = delivered.unwrap_or_else(|| {
        panic!(
            "HTTPErrorRatioHigh never reached the webhook; got {:?}\n{}",
            webhook.received(),
            vmalert.logs()
        )
    });
    assert_eq!(delivered["receiver"], "critical", "{delivered}");
    println!(
        "{:?}: HTTPErrorRatioHigh delivered, every dashboard query answered",
        started.elapsed()
    );

    // The outage: the store stops for 15 s while the agents keep scraping, then comes back.
    let outage_start = now();
    store.stop();
    tokio::time::sleep(OUTAGE).await;
    store.restart().await;
    let outage_end = now();
    for instance in &metrics {
        let mut times = Vec::new();
        let mut gap = f64::INFINITY;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            times = sample_times(&store.url, instance, outage_start - 3.0, outage_end + 3.0).await;
            gap = longest_gap(&times);
            let covered = times.first().is_some_and(|t| *t <= outage_start)
                && times.last().is_some_and(|t| *t >= outage_end);
            if covered && gap < 2.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let during = times
            .iter()
            .filter(|t| (outage_start..=outage_end).contains(*t))
            .count();
        println!(
            "{instance}: {during} samples of up scraped during the {:.1} s outage arrived; longest gap {gap:.2} s",
            outage_end - outage_start
        );
        assert!(
            gap < 2.0 && during as f64 >= (outage_end - outage_start) - 2.0,
            "{instance}: samples lost over the outage ({during} samples, longest gap {gap:.2} s)\n{}",
            logs(&store)
        );
    }
    let mut retried = 0.0;
    for agent in &agents {
        retried += agent_counter(agent, "prometheus_remote_storage_samples_retried_total").await;
        assert_eq!(
            agent_counter(agent, "prometheus_remote_storage_samples_failed_total").await,
            0.0,
            "an agent gave samples up\n{}",
            logs(&store)
        );
        assert_eq!(
            agent_counter(agent, "prometheus_remote_storage_samples_dropped_total").await,
            0.0,
            "an agent dropped samples\n{}",
            logs(&store)
        );
    }
    assert!(retried > 0.0, "no agent saw the outage\n{}", logs(&store));
    println!("samples the agents resent after the outage: {retried}");

    // The HA pair's shard has one sample per scrape interval, like the single agent's.
    // A window that ended 5 s ago: what the agents scraped in it has been written.
    let window = 10.0;
    let end = now() - 5.0;
    let per_instance: Vec<(String, usize)> = {
        let mut counts = Vec::new();
        for instance in &metrics {
            let times = sample_times(&store.url, instance, end - window, end).await;
            counts.push((instance.clone(), times.len()));
        }
        counts
    };
    println!("samples of up per replica over {window} s: {per_instance:?}");
    for (instance, count) in &per_instance {
        assert!(
            (*count as f64) <= window + 1.0 && (*count as f64) >= window - 1.0,
            "{instance}: {count} samples in {window} s at one scrape a second (deduplicated: at most one per second)"
        );
    }

    // After the traffic, the store's sum equals what the replicas count.
    stop.store(true, Ordering::Relaxed);
    traffic.await.expect("traffic task");
    let mut scraped = 0.0;
    let mut stored = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        scraped = 0.0;
        for replica in &replicas {
            let text = reqwest::get(format!("http://{}/metrics", replica.metrics))
                .await
                .expect("scrape a replica")
                .text()
                .await
                .expect("text");
            scraped += Scrape::parse(&text).sum("http_server_requests_total", &[]);
        }
        stored = query(
            &store.url,
            r#"sum(http_server_requests_total{job="quickstart"})"#,
        )
        .await
        .first()
        .map(|(_, v)| *v);
        if stored == Some(scraped) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("sum(http_server_requests_total): replicas {scraped}, store {stored:?}");
    assert_eq!(stored, Some(scraped), "{}", logs(&store));
    assert!(scraped > 1000.0, "too little traffic: {scraped}");
    lifecycle.begin_shutdown();
    println!("took {:?}", started.elapsed());
}

/// `deploy/run-native.sh` with `PROFILE=scale`: the same path without Docker. Its agents write
/// every replica's samples to its VictoriaMetrics, and its vmalert loads every shipped rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_native_runs_the_scale_profile() {
    let lifecycle = Lifecycle::new();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Served::start(quickstart::run, lifecycle.clone()).await);
    }
    let targets: Vec<String> = replicas.iter().map(|r| r.metrics.to_string()).collect();
    let state = tempfile::tempdir().expect("temp dir");
    let addr = || format!("127.0.0.1:{}", free_port());
    let (store, vmalert) = (addr(), addr());
    let mut script = ProcessGroup::spawn(
        Command::new("bash")
            .arg(deploy::dir().join("run-native.sh"))
            .env("PROFILE", "scale")
            .env("SCALE_TARGETS", targets.join(","))
            .env("VM_ADDR", &store)
            .env("VMALERT_ADDR", &vmalert)
            .env("AGENT_ADDRS", [addr(), addr(), addr()].join(","))
            .env("ALERTMANAGER_ADDR", addr())
            .env("SCRAPE_INTERVAL", SCRAPE_INTERVAL)
            .env("STATE_DIR", state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let store = format!("http://{store}");
    wait_until_ok(&format!("{store}/health"), Duration::from_secs(30)).await;
    let expected_rules =
        count_rules("prometheus/rules/recording.yml") + count_rules("prometheus/rules/alerts.yml");
    let logs = || {
        ["agent-0a.log", "victoria-metrics.log", "vmalert.log"]
            .iter()
            .map(|name| std::fs::read_to_string(state.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        // The export API: queries at "now" see nothing of the last 30 s, VictoriaMetrics'
        // default -search.latencyOffset, which the script keeps.
        let mut up = 0;
        for target in &targets {
            up += usize::from(
                !sample_times(&store, target, now() - 60.0, now())
                    .await
                    .is_empty(),
            );
        }
        let rules: Value = match reqwest::get(format!("http://{vmalert}/api/v1/rules")).await {
            Ok(answer) => answer.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        };
        let loaded: usize = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|group| group["rules"].as_array().map_or(0, Vec::len))
            .sum();
        if up == targets.len() && loaded == expected_rules {
            break;
        }
        assert!(
            script.is_running() && Instant::now() < deadline,
            "run-native.sh PROFILE=scale: samples of {up} of 3 replicas, {loaded} of {expected_rules} rules\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    lifecycle.begin_shutdown();
}
