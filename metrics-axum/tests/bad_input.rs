//! Hostile input gets a bounded answer and never a panic.

mod common;

use std::time::Duration;

use common::{TestServer, REQUESTS};
use http::{Extensions, Uri};
use metrics_axum::RouteExtractor;
use metrics_toolkit::HttpServerMetrics;
use test_support::raw_http;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_hostile_paths_stay_unmatched() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let hostile = [
        format!("/{}", "a".repeat(16 * 1024)),
        "/%00%0a%22%5c/..%2f..%2fetc/passwd".to_owned(),
        "/users/%E2%9C%93/%F0%9F%92%A5".to_owned(),
        "/users/1/extra/segments".to_owned(),
        "/api/v1/items/".to_owned(),
    ];
    for path in &hostile {
        let status = client
            .get(server.url(path))
            .send()
            .await
            .expect("request")
            .status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    let scrape = server.scrape().await;
    assert_eq!(
        scrape.sum(REQUESTS, &[("http_route", "")]),
        hostile.len() as f64
    );
    assert_eq!(scrape.count(REQUESTS, &[]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_do_not_break_the_server() {
    let server = TestServer::start().await;
    let addr = server.app.to_string();
    let inputs: [&[u8]; 4] = [
        b"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Bytes: \xff\xfe\x80\r\n\r\n",
        b"GET /users/1 HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n\r\n",
        b"\x00\x01\x02 garbage\r\n\r\n",
        b"GET /users/1 HTTP/9.9\r\n\r\n",
    ];
    for input in inputs {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        stream.write_all(input).await.expect("write");
        let reply = raw_http::read_some(&mut stream, 0, Duration::from_secs(5)).await;
        assert!(
            reply.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&reply)
        );
    }
    // Still serving, and still recording.
    let status = reqwest::get(server.url("/users/2"))
        .await
        .expect("request")
        .status();
    assert_eq!(status, 200);
    let scrape = server.scrape().await;
    assert!(scrape.sum(REQUESTS, &[("http_route", "/users/{id}")]) >= 1.0);
}

/// A careless extractor that uses the raw path: the cardinality cap must contain it.
struct RawPath;

impl RouteExtractor for RawPath {
    fn route<'a>(&'a self, uri: &'a Uri, _: &'a Extensions) -> Option<&'a str> {
        Some(uri.path())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cardinality_cap_folds_new_label_sets_into_one_overflow_series() {
    let cap = 3;
    let server = TestServer::start_with(
        |router, layer| router.layer(layer.route_extractor(RawPath)),
        HttpServerMetrics::builder().max_label_sets(cap),
    )
    .await;
    let client = reqwest::Client::new();
    let distinct = 40;
    for i in 0..distinct {
        client
            .get(server.url(&format!("/users/{i}")))
            .send()
            .await
            .expect("request");
    }
    let scrape = server.scrape().await;
    let overflow = [("otel_metric_overflow", "true")];
    assert_eq!(
        scrape.count(REQUESTS, &[]),
        cap + 1,
        "cap plus the overflow series"
    );
    assert_eq!(
        scrape.get(REQUESTS, &overflow),
        Some((distinct - cap) as f64)
    );
    assert_eq!(
        scrape.get("http_server_request_overflow_total", &[]),
        Some((distinct - cap) as f64)
    );
    assert_eq!(
        scrape.sum(REQUESTS, &[]),
        distinct as f64,
        "nothing is lost"
    );
}
