//! The around-the-router example on loopback ports: templated and nested routes get their
//! template, unknown paths have no route label, the raw path never becomes a label, and the
//! time-to-first-byte histogram the example turns on passes promtool's lint.

#[allow(dead_code)]
#[path = "../around_router.rs"]
mod around_router;

mod common;

use std::time::Duration;

use common::Served;
use metrics_exporter::Lifecycle;
use test_support::{request_labels, unmatched_request_labels, Scrape};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_templates_from_the_route_table() {
    let mut served = Served::start(around_router::run, Lifecycle::new()).await;
    let client = reqwest::Client::new();
    for (path, times, status) in [
        ("/users/1", 3, 200),
        ("/api/orders/7", 2, 200),
        ("/nope/9", 4, 404),
    ] {
        for _ in 0..times {
            let response = client.get(served.url(path)).send().await.expect("request");
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }
    let text = served
        .scrape_until("http_response_status_code=\"404\"")
        .await;
    let scrape = Scrape::parse(&text);
    for (route, status, count) in [
        ("/users/{id}", "200", 3.0),
        ("/api/orders/{id}", "200", 2.0),
        ("", "404", 4.0),
    ] {
        // A path no template matches has no `http_route` label.
        let labels = if route.is_empty() {
            unmatched_request_labels("GET", status).to_vec()
        } else {
            request_labels("GET", route, status).to_vec()
        };
        assert_eq!(
            scrape.get("http_server_requests_total", &labels),
            Some(count),
            "{route}"
        );
        assert_eq!(
            scrape.get("http_server_time_to_first_byte_seconds_count", &labels),
            Some(count),
            "{route}"
        );
    }
    assert!(!text.contains("/nope"), "{text}");
    test_support::promtool::assert_lint_clean(&text);
    served.lifecycle.begin_shutdown();
    tokio::time::timeout(Duration::from_secs(10), &mut served.task)
        .await
        .expect("stops")
        .expect("task")
        .expect("served");
}
