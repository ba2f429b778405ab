//! The layer's recording semantics, through the public API on real TCP servers.

mod common;

use std::time::Duration;

use common::{TestServer, ACTIVE, DURATION_BUCKET, DURATION_COUNT, REQUESTS};
use reqwest::{Client, Method};
use test_support::{raw_http, request_labels, unmatched_request_labels};

async fn send(client: &Client, method: Method, url: &str) -> u16 {
    client
        .request(method, url)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_exactly_per_label_set() {
    let server = TestServer::start().await;
    let client = Client::new();
    // (method, path, times, expected route, expected status)
    let plan: [(Method, &str, usize, &str, &str); 7] = [
        (Method::GET, "/users/1", 30, "/users/{id}", "200"),
        (Method::POST, "/users/2", 20, "/users/{id}", "200"),
        (Method::DELETE, "/users/3", 10, "/users/{id}", "200"),
        (Method::GET, "/status/503", 15, "/status/{code}", "503"),
        (Method::GET, "/status/201", 5, "/status/{code}", "201"),
        (
            Method::PUT,
            "/api/v1/items/9",
            7,
            "/api/v1/items/{id}",
            "200",
        ),
        (Method::PATCH, "/users/4", 3, "/users/{id}", "405"),
    ];
    for (method, path, times, _, status) in &plan {
        for _ in 0..*times {
            let got = send(&client, method.clone(), &server.url(path)).await;
            assert_eq!(got.to_string(), *status, "{method} {path}");
        }
    }
    let scrape = server.scrape().await;
    for (method, _, times, route, status) in &plan {
        let mut labels = vec![
            ("http_request_method", method.as_str()),
            ("url_scheme", "http"),
            ("http_route", *route),
            ("http_response_status_code", *status),
        ];
        if status.starts_with('5') {
            labels.push(("error_type", *status));
        }
        assert_eq!(
            scrape.get(REQUESTS, &labels),
            Some(*times as f64),
            "{labels:?}"
        );
        assert_eq!(
            scrape.get(DURATION_COUNT, &labels),
            Some(*times as f64),
            "{labels:?}"
        );
    }
    let total: usize = plan.iter().map(|p| p.2).sum();
    assert_eq!(scrape.sum(REQUESTS, &[]), total as f64);
    assert_eq!(scrape.count(REQUESTS, &[]), plan.len());
    assert_eq!(scrape.sum(ACTIVE, &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_add_one_unmatched_label_set() {
    let server = TestServer::start().await;
    let client = Client::new();
    let total = 10_000usize;
    let workers = 16;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let client = client.clone();
        let base = server.url("");
        tasks.push(tokio::spawn(async move {
            // Deterministic but distinct: no path repeats across the run.
            let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ worker as u64;
            for i in (worker..total).step_by(workers) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let url = format!("{base}/no/such/{i}/{state:x}?q={state}");
                let status = client.get(url).send().await.expect("request").status();
                assert_eq!(status, 404);
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    let scrape = server.scrape().await;
    let unmatched = unmatched_request_labels("GET", "404");
    assert_eq!(scrape.get(REQUESTS, &unmatched), Some(total as f64));
    assert_eq!(scrape.count(REQUESTS, &[]), 1, "exactly one label set");
    assert!(scrape.samples.iter().all(|s| s
        .labels
        .get("http_route")
        .is_none_or(|r| !r.contains("/no/such"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_routes_keep_their_prefix_and_unknown_methods_are_other() {
    let server = TestServer::start().await;
    let client = Client::new();
    let brew = Method::from_bytes(b"BREW").expect("method");
    assert_eq!(
        send(&client, Method::GET, &server.url("/api/v1/items/1")).await,
        200
    );
    assert_eq!(
        send(&client, brew.clone(), &server.url("/users/1")).await,
        405
    );
    assert_eq!(send(&client, brew, &server.url("/nowhere")).await, 404);
    let scrape = server.scrape().await;
    let nested = request_labels("GET", "/api/v1/items/{id}", "200");
    assert_eq!(scrape.get(REQUESTS, &nested), Some(1.0));
    let other = request_labels("_OTHER", "/users/{id}", "405");
    assert_eq!(scrape.get(REQUESTS, &other), Some(1.0));
    assert_eq!(
        scrape.sum(REQUESTS, &[("http_request_method", "_OTHER")]),
        2.0
    );
    assert!(scrape.samples.iter().all(|s| s
        .labels
        .get("http_request_method")
        .is_none_or(|m| m != "BREW")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_covers_the_streamed_body() {
    let server = TestServer::start().await;
    let body = reqwest::get(server.url("/stream/300"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body.lines().count(), 10);
    let scrape = server.scrape().await;
    let labels = request_labels("GET", "/stream/{ms}", "200");
    let bucket = |le: &str| {
        let mut with_le = labels.to_vec();
        with_le.push(("le", le));
        scrape.get(DURATION_BUCKET, &with_le)
    };
    assert_eq!(bucket("0.25"), Some(0.0), "the body took ~300 ms");
    assert_eq!(bucket("+Inf"), Some(1.0));
    let sum = scrape
        .get("http_server_request_duration_seconds_sum", &labels)
        .expect("sum");
    assert!(sum >= 0.27, "sum {sum}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_first_byte_ends_with_the_head_and_duration_with_the_body() {
    let builder = metrics_toolkit::HttpServerMetrics::builder().time_to_first_byte(true);
    let server = TestServer::start_with(|router, layer| router.layer(layer), builder).await;
    // A head at once, then a body over ~300 ms; and a head after ~200 ms, then a short body.
    for path in ["/stream/300", "/sleep/200"] {
        let response = reqwest::get(server.url(path)).await.expect("request");
        response.text().await.expect("body");
    }
    let scrape = server.scrape().await;
    let sums = |route: &str| {
        let labels = request_labels("GET", route, "200");
        let first_byte = "http_server_time_to_first_byte_seconds";
        let count = scrape.get(&format!("{first_byte}_count"), &labels);
        assert_eq!(count, Some(1.0), "{route}");
        let first_byte = scrape.get(&format!("{first_byte}_sum"), &labels);
        let duration = scrape.get("http_server_request_duration_seconds_sum", &labels);
        (first_byte.expect("first byte"), duration.expect("duration"))
    };
    let (first_byte, duration) = sums("/stream/{ms}");
    assert!(
        duration - first_byte >= 0.27,
        "{first_byte} s to the head, {duration} s in all"
    );
    let (first_byte, duration) = sums("/sleep/{ms}");
    assert!(first_byte >= 0.19, "the head took ~200 ms: {first_byte}");
    assert!(
        first_byte <= duration,
        "{first_byte} s to the head, {duration} s in all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnects_are_recorded_as_aborted_and_release_the_gauge() {
    let server = TestServer::start().await;
    let addr = server.app.to_string();
    let rounds = 25;
    let mut tasks = Vec::new();
    for _ in 0..rounds {
        let mid_body_addr = addr.clone();
        // Mid-body: read the head and first chunk of a 2 s stream, then hang up.
        tasks.push(tokio::spawn(async move {
            let mut stream = raw_http::send_get(&mid_body_addr, "/stream/2000").await;
            let got = raw_http::read_some(&mut stream, 1, Duration::from_secs(5)).await;
            assert!(
                got.starts_with(b"HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(&got)
            );
        }));
        let before_head_addr = addr.clone();
        // Before the response: hang up while the handler sleeps.
        tasks.push(tokio::spawn(async move {
            let stream = raw_http::send_get(&before_head_addr, "/sleep/2000").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(stream);
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
    let stream_aborted = [
        ("http_request_method", "GET"),
        ("url_scheme", "http"),
        ("http_route", "/stream/{ms}"),
        ("http_response_status_code", "200"),
        ("error_type", "aborted"),
    ];
    let sleep_aborted = [
        ("http_request_method", "GET"),
        ("url_scheme", "http"),
        ("http_route", "/sleep/{ms}"),
        ("error_type", "aborted"),
    ];
    let scrape = server
        .scrape_until(|s| {
            s.sum(ACTIVE, &[]) == 0.0
                && s.get(REQUESTS, &stream_aborted) == Some(rounds as f64)
                && s.get(REQUESTS, &sleep_aborted) == Some(rounds as f64)
        })
        .await;
    assert_eq!(scrape.sum(ACTIVE, &[]), 0.0, "no in-flight gauge leaks");
    assert_eq!(scrape.get(REQUESTS, &stream_aborted), Some(rounds as f64));
    assert_eq!(
        scrape.get(REQUESTS, &sleep_aborted),
        Some(rounds as f64),
        "no status was sent before the client left"
    );
    assert_eq!(scrape.sum(REQUESTS, &[]), 2.0 * rounds as f64);
    assert_eq!(server.http.active_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_counted_until_closed() {
    let server = TestServer::start().await;
    let k = 7;
    let mut streams = Vec::new();
    for _ in 0..k {
        let mut stream = raw_http::send_get(&server.app.to_string(), "/users/1").await;
        let got = raw_http::read_some(&mut stream, 2, Duration::from_secs(5)).await;
        assert!(got.starts_with(b"HTTP/1.1 200"));
        streams.push(stream);
    }
    let scrape = server
        .scrape_until(|s| s.get("http_server_active_connections", &[]) == Some(k as f64))
        .await;
    assert_eq!(
        scrape.get("http_server_active_connections", &[]),
        Some(k as f64)
    );
    assert_eq!(
        scrape.get("http_server_connections_total", &[]),
        Some(k as f64)
    );
    drop(streams);
    let scrape = server
        .scrape_until(|s| s.get("http_server_active_connections", &[]) == Some(0.0))
        .await;
    assert_eq!(scrape.get("http_server_active_connections", &[]), Some(0.0));
    assert_eq!(
        scrape.get("http_server_connections_total", &[]),
        Some(k as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_in_one_process_do_not_interfere() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let client = Client::new();
    for _ in 0..4 {
        send(&client, Method::GET, &a.url("/users/1")).await;
    }
    send(&client, Method::POST, &b.url("/users/1")).await;
    let (scrape_a, scrape_b) = (a.scrape().await, b.scrape().await);
    assert_eq!(scrape_a.sum(REQUESTS, &[]), 4.0);
    assert_eq!(
        scrape_a.sum(REQUESTS, &[("http_request_method", "POST")]),
        0.0
    );
    assert_eq!(scrape_b.sum(REQUESTS, &[]), 1.0);
    assert_eq!(
        scrape_b.sum(REQUESTS, &[("http_request_method", "POST")]),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_paths_are_not_counted_by_default() {
    // The exporter is merged into the app's router *before* the layer, so the layer wraps it.
    let server = TestServer::start_with(
        |router, layer| {
            let registry = metrics_toolkit::MetricsRegistry::builder()
                .build()
                .expect("registry");
            let exporter =
                metrics_exporter::Exporter::new(registry, metrics_exporter::Lifecycle::new());
            router.merge(exporter.router()).layer(layer)
        },
        metrics_toolkit::HttpServerMetrics::builder(),
    )
    .await;
    let client = Client::new();
    for path in [
        "/metrics", "/health", "/live", "/ready", "/metrics", "/users/1",
    ] {
        send(&client, Method::GET, &server.url(path)).await;
    }
    let scrape = server.scrape().await;
    assert_eq!(scrape.sum(REQUESTS, &[]), 1.0, "only /users/1 counts");
    assert_eq!(scrape.sum(REQUESTS, &[("http_route", "/users/{id}")]), 1.0);
}
