//! The layer around a whole `Router` (route labels from a `RouteTable`, axum's body type)
//! records exactly what it records inside the router with `Router::layer`, on real servers.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TestServer, ACTIVE, DURATION_BUCKET, REQUESTS, TEMPLATES};
use metrics_axum::RouteTable;
use metrics_toolkit::HttpServerMetrics;
use reqwest::{Client, Method};
use test_support::{raw_http, request_labels, unmatched_request_labels, Scrape};
use tower::Layer;

async fn around() -> TestServer {
    TestServer::start_with(
        |router, layer| {
            let table = RouteTable::new(TEMPLATES).expect("templates");
            layer.routes(table).axum_body().layer(router)
        },
        HttpServerMetrics::builder(),
    )
    .await
}

/// `http_server_requests_total` and the duration counts, by label set.
fn request_counts(scrape: &Scrape) -> BTreeMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.name == REQUESTS || s.name.ends_with("_duration_seconds_count"))
        .map(|s| (format!("{} {:?}", s.name, s.labels), s.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_what_the_router_layer_records() {
    let inside = TestServer::start().await;
    let outside = around().await;
    let client = Client::new();
    let brew = Method::from_bytes(b"BREW").expect("method");
    // (method, path, times, status)
    let plan: [(Method, &str, usize, u16); 10] = [
        (Method::GET, "/users/1", 12, 200),
        (Method::POST, "/users/2", 5, 200),
        (Method::HEAD, "/users/3", 3, 200),
        (Method::GET, "/status/503", 4, 503),
        (Method::GET, "/status/204", 2, 204),
        (Method::PUT, "/api/v1/items/9", 6, 200),
        (Method::PATCH, "/users/4", 2, 405),
        (brew.clone(), "/users/5", 1, 405),
        (Method::GET, "/no/such/path", 7, 404),
        (Method::GET, "/users/1/extra", 2, 404),
    ];
    for server in [&inside, &outside] {
        for (method, path, times, status) in &plan {
            for _ in 0..*times {
                let response = client
                    .request(method.clone(), server.url(path))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status().as_u16(), *status, "{method} {path}");
                response.bytes().await.expect("body");
            }
        }
    }
    let expected = request_counts(&inside.scrape().await);
    let got = request_counts(&outside.scrape().await);
    assert_eq!(got, expected);
    // The plan's label sets, each counted twice (counter and histogram count).
    assert_eq!(got.len(), 2 * 9, "{got:#?}");
    let scrape = outside.scrape().await;
    let unmatched = unmatched_request_labels("GET", "404");
    assert_eq!(scrape.get(REQUESTS, &unmatched), Some(9.0));
    let nested = request_labels("PUT", "/api/v1/items/{id}", "200");
    assert_eq!(scrape.get(REQUESTS, &nested), Some(6.0));
    assert_eq!(scrape.sum(ACTIVE, &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duration_ends_with_the_body_and_disconnects_are_aborted() {
    let server = around().await;
    let body = reqwest::get(server.url("/stream/300"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body.lines().count(), 10);
    // Hang up after the head and first chunk of a 2 s stream.
    let mut stream = raw_http::send_get(&server.app.to_string(), "/stream/2000").await;
    let got = raw_http::read_some(&mut stream, 1, Duration::from_secs(5)).await;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    drop(stream);

    let completed = request_labels("GET", "/stream/{ms}", "200");
    let mut aborted = completed.to_vec();
    aborted.push(("error_type", "aborted"));
    let scrape = server
        .scrape_until(|s| s.get(REQUESTS, &aborted) == Some(1.0) && s.sum(ACTIVE, &[]) == 0.0)
        .await;
    assert_eq!(scrape.get(REQUESTS, &aborted), Some(1.0));
    assert_eq!(scrape.sum(ACTIVE, &[]), 0.0);
    let mut below_quarter = completed.to_vec();
    below_quarter.push(("le", "0.25"));
    assert_eq!(
        scrape.get(DURATION_BUCKET, &below_quarter),
        Some(0.0),
        "the body took ~300 ms"
    );
    assert_eq!(scrape.get(REQUESTS, &completed), Some(1.0));
}
