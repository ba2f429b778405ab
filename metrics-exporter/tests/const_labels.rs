//! A constant label is added to every series: one named like a label a built-in family writes
//! would appear twice in that family's series, and a scraper rejects the whole scrape. Every
//! family of the three crates is scraped here, and each label name it writes must be refused
//! as a constant label when the registry is built.

use std::collections::BTreeSet;
use std::time::Duration;

use metrics_core::collectors::SystemCollector;
use metrics_core::health::{HealthCheck, HealthRegistry};
use metrics_core::http::{GrpcStatusLabel, Outcome};
use metrics_core::{ConfigError, Format, HttpServerMetrics, MetricsRegistry};
use metrics_exporter::prober::{ProbeTarget, Prober};
use metrics_exporter::{Exporter, Lifecycle};
use test_support::Scrape;

#[tokio::test]
async fn every_built_in_label_name_is_refused_as_a_constant_label() {
    let registry = MetricsRegistry::builder()
        .service_name("api")
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder()
        .time_to_first_byte(true)
        .max_label_sets(3)
        .register(&registry);
    for (status, route) in [(200, "/a"), (500, "/b"), (200, "/c"), (200, "/d")] {
        let mut request = http.start_request(&http::Method::POST, Some(route));
        request.set_status(status);
        request.set_grpc_status(GrpcStatusLabel::from_header_value(b"14"));
        request.finish(Outcome::Completed);
    }
    let _open = http.open_connection();

    let system = SystemCollector::start(Duration::from_millis(200));
    assert!(system.wait_for_first_reading(Duration::from_secs(10)));
    registry.register_collector(system);

    let health = HealthRegistry::builder()
        .check(HealthCheck::new("db", || async { Err("down".to_owned()) }))
        .build()
        .expect("health");
    let exporter = Exporter::new(registry.clone(), Lifecycle::new()).health(health.clone());
    let _router: axum::Router = exporter.router();
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);

    // Port 1 on loopback refuses: the failure series with its cause label.
    let prober =
        Prober::new(vec![ProbeTarget::new("down", "http://127.0.0.1:1/")], 1).expect("prober");
    registry.register_collector(prober.clone());
    prober.probe_all().await;

    let scrape = Scrape::parse(&registry.encode(Format::PrometheusText).expect("encode"));
    let names: BTreeSet<&str> = scrape
        .samples
        .iter()
        .flat_map(|sample| sample.labels.keys().map(String::as_str))
        .collect();
    // The scrape holds every kind of series this test means to cover.
    for expected in [
        "le",
        "service_name",
        "http_route",
        "error_type",
        "check",
        "cause",
        "cpu",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    for name in names {
        let built = MetricsRegistry::builder()
            .const_label(name, "x")
            .build()
            .map(|_| ());
        assert_eq!(
            built,
            Err(ConfigError::BuiltInLabel(name.to_owned())),
            "const label {name:?}"
        );
    }

    let error = MetricsRegistry::builder()
        .const_label("le", "1")
        .build()
        .expect_err("le is a bucket label");
    assert!(error.to_string().contains("\"le\""), "{error}");
    assert!(MetricsRegistry::builder()
        .const_label("region", "eu")
        .build()
        .is_ok());
}
