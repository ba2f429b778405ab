//! The quickstart's exposition as real Prometheus servers store it: exemplars from sampled
//! `traceparent` headers over OpenMetrics, and native histograms (with their exemplars) over
//! protobuf; and its OpenMetrics output through a strict parser.

#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

mod common;

use std::time::{Duration, Instant};

use common::Served;
use metrics_exporter::Lifecycle;
use test_support::prometheus::Prometheus;

async fn start() -> Served {
    Served::start(quickstart::run, Lifecycle::new()).await
}

fn traceparent(n: u32, sampled: bool) -> (String, String) {
    let trace = format!("{n:032x}");
    let flags = if sampled { "01" } else { "00" };
    (
        trace.clone(),
        format!("00-{trace}-00f067aa0ba902b7-{flags}"),
    )
}

async fn get_traced(quickstart: &Served, path: &str, traceparent: &str) {
    let status = reqwest::Client::new()
        .get(quickstart.url(path))
        .header("traceparent", traceparent)
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 200);
}

fn scrape_config(job: &str, target: &str) -> String {
    format!("  - job_name: '{job}'\n    static_configs:\n      - targets: ['{target}']\n")
}

/// Polls until the exemplars of `selector` include `trace`; returns what was stored then.
async fn wait_for_exemplar(prometheus: &Prometheus, selector: &str, trace: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = prometheus.exemplar_trace_ids(selector).await;
        if ids.iter().any(|id| id == trace) || Instant::now() > deadline {
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_the_sampled_traces_as_exemplars() {
    let quickstart = start().await;
    let prometheus = Prometheus::start_with_flags(
        &scrape_config("quickstart", &quickstart.metrics.to_string()),
        &["--enable-feature=exemplar-storage"],
    )
    .await;
    let selector = r#"http_server_request_duration_seconds_bucket{job="quickstart"}"#;
    // A bucket keeps its latest exemplar: one request per scrape, each waited for.
    let (unsampled, unsampled_header) = traceparent(0xdead, false);
    let mut sampled = Vec::new();
    for n in 1..=3 {
        let (trace, header) = traceparent(n, true);
        get_traced(&quickstart, &format!("/users/{n}"), &header).await;
        if n == 2 {
            get_traced(&quickstart, "/users/9", &unsampled_header).await;
        }
        let stored = wait_for_exemplar(&prometheus, selector, &trace).await;
        assert!(stored.contains(&trace), "{trace} not in {stored:?}");
        sampled.push(trace);
    }
    let stored = prometheus.exemplar_trace_ids(selector).await;
    for trace in &sampled {
        assert!(stored.contains(trace), "{trace} not in {stored:?}");
    }
    assert!(!stored.contains(&unsampled), "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_native_histograms_over_protobuf() {
    let quickstart = start().await;
    let sent = 20;
    let (trace, header) = traceparent(0xbeef, true);
    for id in 0..sent {
        get_traced(&quickstart, &format!("/users/{id}"), &header).await;
    }
    let prometheus = Prometheus::start_with_flags(
        &scrape_config("quickstart", &quickstart.metrics.to_string()),
        &["--enable-feature=native-histograms,exemplar-storage"],
    )
    .await;
    let series =
        r#"http_server_request_duration_seconds{job="quickstart",http_route="/users/{id}"}"#;
    // histogram_count answers only from a native histogram.
    let count = format!("histogram_count(sum({series}))");
    let value = prometheus
        .wait_for_value(&count, f64::from(sent), Duration::from_secs(30))
        .await;
    assert_eq!(value, Some(f64::from(sent)), "{count}");
    let median = prometheus
        .query(&format!("histogram_quantile(0.5, sum({series}))"))
        .await;
    let median = median.first().map(|(_, v)| *v).expect("a quantile");
    assert!(median > 0.0 && median < 1.0, "{median}");
    // The classic buckets are not ingested beside a native histogram unless asked for.
    let classic = prometheus
        .query(r#"http_server_request_duration_seconds_bucket{job="quickstart"}"#)
        .await;
    assert!(classic.is_empty(), "{classic:?}");
    let stored = wait_for_exemplar(
        &prometheus,
        r#"{__name__=~"http_server_request_duration_seconds.*",job="quickstart"}"#,
        &format!("{:032x}", 0xbeef),
    )
    .await;
    assert!(stored.contains(&trace), "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_openmetrics_parser_accepts_exemplars_and_created() {
    let quickstart = start().await;
    let (_, header) = traceparent(7, true);
    get_traced(&quickstart, "/users/7", &header).await;
    let response = reqwest::Client::new()
        .get(format!("http://{}/metrics", quickstart.metrics))
        .header("accept", "application/openmetrics-text;version=1.0.0")
        .send()
        .await
        .expect("scrape");
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
    let text = response.text().await.expect("body");
    assert!(
        text.contains("# {trace_id=\"00000000000000000000000000000007\""),
        "{text}"
    );
    assert!(text.contains("http_server_requests_created{"), "{text}");
    test_support::openmetrics::assert_strict_parse(&text);
}
