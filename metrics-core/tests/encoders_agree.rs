//! The fast text encoder and the prometheus-client `Collector` path write the same samples, in
//! both formats, so a user's choice of registry never changes the data.

use metrics_toolkit::http::{GrpcStatusLabel, HttpServerMetricsBuilder, Outcome};
use metrics_toolkit::prometheus_client::registry::Registry;
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
use test_support::Scrape;

/// Method, route, status, outcome, times.
type Step = (
    &'static str,
    Option<&'static str>,
    Option<u16>,
    Outcome,
    usize,
);

fn record(http: &HttpServerMetrics) {
    let plan: [Step; 6] = [
        ("GET", Some("/users/{id}"), Some(200), Outcome::Completed, 5),
        (
            "POST",
            Some("/users/{id}"),
            Some(201),
            Outcome::Completed,
            2,
        ),
        ("GET", Some("/q\"uote\\d"), Some(500), Outcome::Completed, 1),
        ("GET", None, Some(404), Outcome::Completed, 3),
        ("DELETE", Some("/x"), None, Outcome::Aborted, 1),
        ("BREW", Some("/x"), Some(200), Outcome::Failed, 1),
    ];
    for (method, route, status, outcome, times) in plan {
        let method = http::Method::from_bytes(method.as_bytes()).expect("method");
        for _ in 0..times {
            let mut request = http.start_request(&method, route);
            if let Some(status) = status {
                request.set_status(status);
            }
            request.finish(outcome);
        }
    }
    // gRPC calls: OK twice, UNAVAILABLE (a server failure), and a status outside the
    // specification.
    for code in [0, 0, 14, 99] {
        let mut call = http.start_request(&http::Method::POST, Some("/pkg.Users/Get"));
        call.set_status(200);
        call.set_grpc_status(GrpcStatusLabel::from_code(code));
        call.finish(Outcome::Completed);
    }
    let _open = http.open_connection();
    std::mem::forget(http.open_connection());
}

fn sorted_samples(text: &str) -> Vec<String> {
    let mut samples: Vec<String> = Scrape::parse(text)
        .samples
        .into_iter()
        // Only the fast path writes `_created` (prometheus-client's encoders take no start
        // time): checked on its own below.
        .filter(|s| !s.name.ends_with("_created"))
        // Sums are measured durations, different in each registry; everything else is exact.
        .map(|s| {
            let value = if s.name.ends_with("_sum") {
                -1.0
            } else {
                s.value
            };
            format!("{} {:?} {}", s.name, s.labels, value)
        })
        .collect();
    samples.sort();
    samples
}

#[test]
fn fast_and_collector_encoders_write_the_same_samples() {
    let text = check_encoders_agree(HttpServerMetrics::builder);
    let unavailable = r#"rpc_grpc_status_code="14",error_type="14""#;
    assert!(text.contains(unavailable), "{text}");
    assert!(text.contains(r#"rpc_grpc_status_code="_OTHER",error_type="_OTHER""#));
    assert!(!text.contains("time_to_first_byte"), "the option is off");
}

#[test]
fn they_agree_with_time_to_first_byte_and_an_overflow_series() {
    let text = check_encoders_agree(|| {
        HttpServerMetrics::builder()
            .time_to_first_byte(true)
            .max_label_sets(4)
    });
    let scrape = Scrape::parse(&text);
    let first_byte = "http_server_time_to_first_byte_seconds_count";
    // Every request with a status has its first byte timed, in the overflow series too; the
    // aborted DELETE, which sent no status, has none. The gRPC calls all land in the overflow.
    assert_eq!(scrape.sum(first_byte, &[]), 16.0, "{text}");
    assert_eq!(
        scrape.sum(first_byte, &[("otel_metric_overflow", "true")]),
        5.0
    );
    assert_eq!(
        scrape.count(first_byte, &[("http_request_method", "DELETE")]),
        0
    );
    assert_eq!(scrape.sum("http_server_requests_total", &[]), 17.0);
}

/// Records the same plan through both paths and compares them in both formats; returns the
/// fast path's Prometheus text.
fn check_encoders_agree(builder: impl Fn() -> HttpServerMetricsBuilder) -> String {
    let fast_registry = MetricsRegistry::builder()
        .process_metrics(false)
        .const_label("env", "test")
        .build()
        .expect("registry");
    let fast = builder().register(&fast_registry);
    record(&fast);

    let collector_registry = MetricsRegistry::builder()
        .process_metrics(false)
        .const_label("env", "test")
        .build()
        .expect("registry");
    let collected = builder().build();
    collector_registry.register_collector(collected.clone());
    record(&collected);

    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let a = fast_registry.encode(format).expect("fast");
        let b = collector_registry.encode(format).expect("collector");
        let (a_samples, b_samples) = (sorted_samples(&a), sorted_samples(&b));
        assert!(a_samples.len() > 50, "{a}");
        assert_eq!(
            a_samples, b_samples,
            "{format:?}\n--- fast\n{a}\n--- collector\n{b}"
        );
        assert!(a.contains("env=\"test\""));
    }
    let om = fast_registry.encode(Format::OpenMetrics).expect("fast");
    assert!(om.ends_with("# EOF\n"));
    // `_created` for every counter and histogram series, and only in OpenMetrics.
    let scrape = Scrape::parse(&om);
    for (total, created) in [
        ("http_server_requests_total", "http_server_requests_created"),
        (
            "http_server_request_duration_seconds_count",
            "http_server_request_duration_seconds_created",
        ),
        (
            "http_server_connections_total",
            "http_server_connections_created",
        ),
    ] {
        let totals: Vec<_> = scrape.samples.iter().filter(|s| s.name == total).collect();
        assert!(!totals.is_empty(), "{om}");
        for sample in totals {
            let start = scrape
                .samples
                .iter()
                .find(|s| s.name == created && s.labels == sample.labels);
            let start =
                start.unwrap_or_else(|| panic!("no {created} for {:?}\n{om}", sample.labels));
            assert!(
                start.value > 1.7e9 && start.value < 4.2e9,
                "{}",
                start.value
            );
        }
    }
    let text = fast_registry.encode(Format::PrometheusText).expect("fast");
    assert!(!text.contains("_created"), "{text}");
    assert_eq!(om.matches("# EOF").count(), 1);
    fast_registry.encode(Format::PrometheusText).expect("fast")
}

#[test]
fn a_plain_prometheus_client_registry_can_hold_the_metrics() {
    let http = HttpServerMetrics::builder().build();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(http.clone()));
    drop(http.start_request(&http::Method::GET, Some("/a")));
    let mut text = String::new();
    metrics_toolkit::prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("encode");
    assert!(text.contains("error_type=\"aborted\""));
}

/// Requests land in the overflow series while scrapes run: in every scrape, in either encoder
/// and format, the overflow counter equals the count of the series it describes.
#[test]
fn the_overflow_counter_matches_its_series_in_every_scrape_under_load() {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder()
        .max_label_sets(1)
        .register(&registry);
    let mut plain = Registry::default();
    plain.register_collector(Box::new(http.clone()));
    let done = std::sync::atomic::AtomicBool::new(false);
    let overflow = [("otel_metric_overflow", "true")];
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..2_000_000u32 {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                // Routes past the first take the overflow series.
                let route = if i % 2 == 0 { "/a" } else { "/b" };
                let mut request = http.start_request(&http::Method::GET, Some(route));
                request.set_status(200);
                request.finish(Outcome::Completed);
            }
        });
        let mut disagreed = Vec::new();
        for round in 0..300 {
            let (text, source) = match round % 3 {
                0 => (
                    registry.encode(Format::PrometheusText).expect("encode"),
                    "fast text",
                ),
                1 => (
                    registry.encode(Format::OpenMetrics).expect("encode"),
                    "fast OpenMetrics",
                ),
                _ => {
                    let mut om = String::new();
                    metrics_toolkit::prometheus_client::encoding::text::encode(&mut om, &plain)
                        .expect("encode");
                    (om, "prometheus-client")
                }
            };
            let scrape = Scrape::parse(&text);
            let counter = scrape
                .get("http_server_request_overflow_total", &[])
                .expect("overflow counter");
            let series = scrape
                .get("http_server_request_duration_seconds_count", &overflow)
                .unwrap_or(0.0);
            let requests = scrape
                .get("http_server_requests_total", &overflow)
                .unwrap_or(0.0);
            if counter != series || counter != requests {
                disagreed.push(format!(
                    "{source}: counter {counter}, series {series}, requests {requests}"
                ));
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(
            disagreed.is_empty(),
            "{} of 300 scrapes disagreed, e.g. {:?}",
            disagreed.len(),
            &disagreed[..disagreed.len().min(3)]
        );
    });
}
