//! The exporter's endpoints on a real TCP server: content negotiation, gzip, health, readiness.

use std::io::Read;

use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use test_support::Scrape;

struct Running {
    base: String,
    lifecycle: Lifecycle,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.lifecycle.begin_shutdown();
    }
}

/// An exporter on 127.0.0.1:0 with a few recorded requests.
async fn start() -> Running {
    let registry = MetricsRegistry::builder()
        .service_name("endpoints")
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    for status in [200, 200, 503] {
        let mut request = http.start_request(&http::Method::GET, Some("/a/{b}"));
        request.set_status(status);
        request.finish(metrics_toolkit::http::Outcome::Completed);
    }
    let lifecycle = Lifecycle::new().drain_delay(std::time::Duration::from_secs(2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    // No `service_name` here: `/health` reports the registry's.
    let exporter = Exporter::new(registry, lifecycle.clone());
    tokio::spawn(exporter.serve(listener));
    Running { base, lifecycle }
}

fn client() -> reqwest::Client {
    // reqwest is built without its gzip feature: bodies arrive exactly as sent.
    reqwest::Client::new()
}

#[tokio::test]
async fn openmetrics_when_asked_with_exact_content_type_and_eof() {
    let exporter = start().await;
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    for accept in ["application/openmetrics-text", prometheus_accept] {
        let response = client()
            .get(format!("{}/metrics", exporter.base))
            .header(ACCEPT, accept)
            .send()
            .await
            .expect("scrape");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
        let body = response.text().await.expect("body");
        assert!(body.ends_with("# EOF\n"), "{body}");
        assert!(body.contains("# TYPE http_server_requests counter\n"));
        assert!(body.contains("# UNIT http_server_request_duration_seconds seconds\n"));
    }
}

#[tokio::test]
async fn prometheus_text_by_default_with_help_and_type_per_sample_family() {
    let exporter = start().await;
    for accept in [
        None,
        Some("text/plain"),
        Some("application/json"),
        Some("*/*"),
    ] {
        let mut request = client().get(format!("{}/metrics", exporter.base));
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        let response = request.send().await.expect("scrape");
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
            "Accept: {accept:?}"
        );
        let body = response.text().await.expect("body");
        assert!(!body.contains("# EOF"));
        assert!(!body.contains("# UNIT"));
        assert!(body.contains("# HELP http_server_requests_total "));
        assert!(body.contains("# TYPE http_server_requests_total counter\n"));
        assert!(body.contains("# TYPE http_server_connections_total counter\n"));
        assert!(body.contains("# TYPE http_server_request_duration_seconds histogram\n"));
        let scrape = Scrape::parse(&body);
        let failed = [
            ("http_request_method", "GET"),
            ("url_scheme", "http"),
            ("http_route", "/a/{b}"),
            ("http_response_status_code", "503"),
            ("error_type", "503"),
        ];
        assert_eq!(scrape.get("http_server_requests_total", &failed), Some(1.0));
        // Every sample belongs to a family declared by a TYPE line.
        for sample in &scrape.samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    sample
                        .name
                        .strip_suffix(suffix)
                        .filter(|base| scrape.types.get(*base).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(&sample.name);
            assert!(
                scrape.types.contains_key(family),
                "no TYPE for {}",
                sample.name
            );
        }
    }
}

#[tokio::test]
async fn gzip_when_accepted() {
    let exporter = start().await;
    let response = client()
        .get(format!("{}/metrics", exporter.base))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
    );
    let compressed = response.bytes().await.expect("body");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .expect("valid gzip");
    assert!(text.contains("# TYPE http_server_requests_total counter"));

    let plain = client()
        .get(format!("{}/metrics", exporter.base))
        .header(ACCEPT_ENCODING, "gzip;q=0, identity")
        .send()
        .await
        .expect("scrape");
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn health_live_ready_and_landing_follow_the_lifecycle() {
    let exporter = start().await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", exporter.base);
        async move { client().get(url).send().await.expect("request") }
    };
    assert_eq!(
        get("/ready").await.status(),
        503,
        "not ready during startup"
    );
    assert_eq!(get("/live").await.status(), 200);

    exporter.lifecycle.mark_ready();
    assert_eq!(get("/ready").await.status(), 200);
    let health = get("/health").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()[CONTENT_TYPE], "application/health+json");
    assert_eq!(health.headers()["cache-control"], "no-store");
    let body = health.text().await.expect("body");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "pass");
    assert_eq!(json["serviceId"], "endpoints");

    let landing = get("/").await.text().await.expect("landing");
    for path in ["/metrics", "/health", "/live", "/ready"] {
        assert!(landing.contains(path), "landing lists {path}");
    }
    assert_eq!(get("/nope").await.status(), 404);

    // The exporter keeps serving through the drain delay, answering 503 to readiness.
    exporter.lifecycle.begin_shutdown();
    assert_eq!(get("/ready").await.status(), 503, "not ready once draining");
    assert_eq!(get("/live").await.status(), 200);
}

#[tokio::test]
async fn consecutive_scrapes_reuse_buffers_without_stale_text() {
    let exporter = start().await;
    let mut bodies = Vec::new();
    // Alternating formats and encodings: every buffer is written over by a different scrape.
    for (accept, gzip) in [
        ("application/openmetrics-text", false),
        ("text/plain", false),
        ("application/openmetrics-text", true),
        ("application/openmetrics-text", false),
        ("text/plain", false),
    ] {
        let mut request = client()
            .get(format!("{}/metrics", exporter.base))
            .header(ACCEPT, accept);
        if gzip {
            request = request.header(ACCEPT_ENCODING, "gzip");
        }
        let body = request
            .send()
            .await
            .expect("scrape")
            .bytes()
            .await
            .expect("body");
        let text = if gzip {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut text)
                .expect("gzip");
            text
        } else {
            String::from_utf8(body.to_vec()).expect("utf-8")
        };
        bodies.push((accept, text));
    }
    for (accept, text) in &bodies {
        let eofs = text.matches("# EOF").count();
        assert_eq!(eofs, usize::from(accept.contains("openmetrics")), "{text}");
        assert_eq!(
            text.matches("# TYPE http_server_active_requests gauge")
                .count(),
            1,
            "{text}"
        );
    }
    // The same format gives the same request samples, scrape after scrape (no request is
    // recorded in between; the exporter's and process counters do move).
    let requests = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.starts_with("http_server_"))
            .map(str::to_owned)
            .collect()
    };
    assert!(requests(&bodies[0].1).len() > 30);
    assert_eq!(requests(&bodies[0].1), requests(&bodies[3].1));
    assert_eq!(requests(&bodies[1].1), requests(&bodies[4].1));
    assert_eq!(requests(&bodies[0].1), requests(&bodies[2].1));
}
