//! Every family of the three crates in one scrape: its help text is written once, with one
//! final period, and each label name it writes is refused as a constant label (which would
//! appear twice in that family's series, and a scraper rejects the whole scrape).

use std::collections::BTreeSet;
use std::time::Duration;

use metrics_exporter::prober::{ProbeTarget, Prober};
use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::collectors::SystemCollector;
use metrics_toolkit::health::{HealthCheck, HealthRegistry};
use metrics_toolkit::http::{GrpcStatusLabel, Outcome};
use metrics_toolkit::{ConfigError, Format, HttpServerMetrics, MetricsRegistry};
use test_support::Scrape;

/// The 0.0.4 text of a registry holding every family, each with series.
async fn scrape_every_family() -> String {
    let registry = MetricsRegistry::builder()
        .service_name("api")
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder()
        .time_to_first_byte(true)
        .network_protocol_version(true)
        .max_label_sets(3)
        .register(&registry);
    for (status, route) in [(200, "/a"), (500, "/b"), (200, "/c"), (200, "/d")] {
        let mut request = http.start_request(&http::Method::POST, Some(route));
        request.set_network_protocol_version(http::Version::HTTP_11);
        request.set_status(status);
        request.set_grpc_status(GrpcStatusLabel::from_header_value(b"14"));
        request.finish(Outcome::Completed);
    }
    let _open = http.open_connection();

    let system = SystemCollector::start(Duration::from_millis(200));
    assert!(system.wait_for_first_reading(Duration::from_secs(10)));
    registry.register_collector(system);

    let health = HealthRegistry::builder()
        .check(HealthCheck::new("db", || async { Err("down".into()) }))
        .build()
        .expect("health");
    let _exporter = Exporter::new(registry.clone(), Lifecycle::new()).health(health.clone());
    health.start().expect("inside a runtime");
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);

    // Port 1 on loopback refuses: the failure series with its cause label.
    let prober =
        Prober::new(vec![ProbeTarget::new("down", "http://127.0.0.1:1/")], 1).expect("prober");
    registry.register_collector(prober.clone());
    prober.probe_all().await;

    registry.encode(Format::PrometheusText).expect("encode")
}

#[tokio::test]
async fn no_help_text_ends_in_two_periods() {
    let text = scrape_every_family().await;
    let helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
    assert!(helps.len() > 20, "{text}");
    for help in helps {
        assert!(!help.ends_with(".."), "{help}");
    }
}

#[tokio::test]
async fn every_built_in_label_name_is_refused_as_a_constant_label() {
    let scrape = Scrape::parse(&scrape_every_family().await);
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
        "url_scheme",
        "network_protocol_version",
        "error_type",
        "check",
        "cause",
        "cpu_logical_number",
        "system_memory_state",
        "system_paging_state",
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
