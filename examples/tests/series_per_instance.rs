//! Series per service instance: the formula of deploy/README.md's "Capacity and cardinality"
//! table, checked against a scrape with known traffic (routes × methods × statuses) and against
//! what real Prometheus servers store from it, with the classic defaults and with native
//! histograms on; and the table's worked example checked against the formula.

use std::time::Duration;

use axum::http::Method;

use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::http::Outcome;
use metrics_toolkit::metric::{NativeBuckets, OTEL_HTTP_DURATION_SECONDS};
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
use test_support::prometheus::Prometheus;
use tokio::net::TcpListener;

/// How the series reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// Text 0.0.4 (or OpenMetrics by a scraper that drops `_created`, as Prometheus 3 with
    /// created-timestamp ingestion).
    Text,
    /// OpenMetrics as Prometheus 2.x stores it: each `_created` line is a series of its own.
    OpenMetrics,
    /// Protobuf to a Prometheus with native histograms on: one series per histogram, its
    /// classic buckets not stored (unless `scrape_classic_histograms`).
    Native,
}

/// The `http_server_*` series of one instance with the default options (duration histogram
/// with the default buckets and the request counter), after traffic on `routes` × `methods` ×
/// `statuses` label sets.
fn series(routes: u64, methods: u64, statuses: u64, stored: Stored) -> u64 {
    let label_sets = routes * methods * statuses;
    // Classic: one series per bucket (the bounds and +Inf), `_sum` and `_count`.
    let buckets = OTEL_HTTP_DURATION_SECONDS.len() as u64 + 1;
    let per_label_set = match stored {
        // Duration histogram, and `http_server_requests_total`.
        Stored::Text => (buckets + 2) + 1,
        // The same and a `_created` for each of the two.
        Stored::OpenMetrics => (buckets + 2) + 1 + 2,
        Stored::Native => 1 + 1,
    };
    // `http_server_active_requests` per method; `_active_connections`, `_connections_total`
    // and `_request_overflow_total` (with their `_created` for the two counters in OpenMetrics).
    let fixed = methods
        + 3
        + match stored {
            Stored::OpenMetrics => 2,
            Stored::Text | Stored::Native => 0,
        };
    label_sets * per_label_set + fixed
}

const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::PUT];
const STATUSES: [u16; 4] = [200, 201, 404, 500];
/// The worked example of the table: 20 routes × 3 methods × 4 statuses.
const ROUTES: u64 = 20;

/// A registry whose HTTP metrics saw one request on each label set of the worked example.
fn instance(native: bool) -> MetricsRegistry {
    let registry = MetricsRegistry::builder()
        .service_name("capacity")
        .process_metrics(false)
        .build()
        .expect("registry");
    let mut builder = HttpServerMetrics::builder();
    if native {
        builder = builder.native_histograms(NativeBuckets::default());
    }
    let http = builder.register(&registry);
    for route in 0..ROUTES {
        let route = http.route(Some(&format!("/r{route}/{{id}}")));
        for method in &METHODS {
            for status in STATUSES {
                let mut request = route.start_request(method);
                request.set_status(status);
                request.finish(Outcome::Completed);
            }
        }
    }
    registry
}

/// The `http_server_*` samples of a text scrape (one line each).
fn count_samples(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("http_server_"))
        .count() as u64
}

#[test]
fn a_scrape_has_the_series_of_the_formula() {
    let (methods, statuses) = (METHODS.len() as u64, STATUSES.len() as u64);
    for native in [false, true] {
        let registry = instance(native);
        let text = registry.encode(Format::PrometheusText).expect("encode");
        assert_eq!(
            count_samples(&text),
            series(ROUTES, methods, statuses, Stored::Text),
            "native {native}"
        );
        let text = registry.encode(Format::OpenMetrics).expect("encode");
        assert_eq!(
            count_samples(&text),
            series(ROUTES, methods, statuses, Stored::OpenMetrics),
            "native {native}"
        );
    }
}

/// Serves `registry` through the exporter on a loopback port until the lifecycle is dropped.
async fn serve(registry: MetricsRegistry) -> (String, ShutdownOnDrop) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let lifecycle = Lifecycle::new();
    tokio::spawn(Exporter::new(registry, lifecycle.clone()).serve(listener));
    (address, ShutdownOnDrop(lifecycle))
}

/// Stops the exporter when the test ends, also when it fails.
struct ShutdownOnDrop(Lifecycle);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.begin_shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_the_series_of_the_formula() {
    let (methods, statuses) = (METHODS.len() as u64, STATUSES.len() as u64);
    let (classic, _classic_guard) = serve(instance(false)).await;
    let (native, _native_guard) = serve(instance(true)).await;
    let config = |target: &str| {
        format!("  - job_name: 'capacity'\n    static_configs:\n      - targets: ['{target}']\n")
    };
    // Prometheus 2.42 scrapes OpenMetrics by default, protobuf with native histograms on.
    let (classic, native) = (config(&classic), config(&native));
    let (default, with_native) = tokio::join!(
        Prometheus::start_with_flags(&classic, &[]),
        Prometheus::start_with_flags(&native, &["--enable-feature=native-histograms"]),
    );
    let count = r#"count({__name__=~"http_server_.+",job="capacity"})"#;
    for (prometheus, stored) in [
        (&default, Stored::OpenMetrics),
        (&with_native, Stored::Native),
    ] {
        let expected = series(ROUTES, methods, statuses, stored) as f64;
        let seen = prometheus
            .wait_for_value(count, expected, Duration::from_secs(30))
            .await;
        assert_eq!(seen, Some(expected), "{stored:?}");
    }
    // The native histogram is stored, and none of its classic series.
    let buckets = r#"count({__name__=~"http_server_request_duration_seconds_.+"})"#;
    assert_eq!(with_native.query(buckets).await, []);
    let histograms = r#"count(http_server_request_duration_seconds)"#;
    let label_sets = (ROUTES * methods * statuses) as f64;
    assert_eq!(with_native.query(histograms).await[0].1, label_sets);
}

/// The rows of the table in deploy/README.md carry the formula's numbers for the worked example.
#[test]
fn the_readme_table_is_the_formula() {
    let readme = include_str!("../../deploy/README.md");
    let (methods, statuses) = (METHODS.len() as u64, STATUSES.len() as u64);
    let rows = [
        ("| text 0.0.4 |", Stored::Text),
        ("| OpenMetrics, Prometheus 2.x |", Stored::OpenMetrics),
        ("| native histograms on |", Stored::Native),
    ];
    for (start, stored) in rows {
        let row = readme
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no row {start}"));
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let number = |cell: &str| -> u64 {
            let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("no number in {cell:?}"))
        };
        let per_label_set = series(1, 1, 1, stored) - series(0, 1, 1, stored);
        let fixed = series(0, methods, statuses, stored);
        assert_eq!(number(cells[1]), per_label_set, "{row}");
        assert_eq!(number(cells[2]), fixed, "{row}");
        assert_eq!(
            number(cells[3]),
            series(ROUTES, methods, statuses, stored),
            "{row}"
        );
    }
}
