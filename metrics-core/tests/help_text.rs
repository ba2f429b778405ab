//! Help text reaches the scrape escaped: a user's help with a newline, a backslash or a double
//! quote leaves both formats valid through prometheus-client's registry. (The fast writer's
//! escaping is tested in `encoding/writer.rs`: only the crate's own families go through it.)

use metrics_toolkit::prometheus_client::metrics::family::Family;
use metrics_toolkit::{Format, MetricsRegistry};
use prometheus_client::metrics::counter::Counter;

const HELP: &str = "Jobs run.\nSecond line, from C:\\jobs \"nightly\"";

#[test]
fn help_with_newlines_backslashes_and_quotes_is_escaped_in_both_formats() {
    let registry = MetricsRegistry::builder().build().expect("registry");
    let jobs = Counter::<u64>::default();
    registry.register("jobs", HELP, jobs.clone());
    jobs.inc();

    let text = registry.encode(Format::PrometheusText).expect("encode");
    assert!(
        text.contains("# HELP jobs_total Jobs run.\\nSecond line, from C:\\\\jobs \"nightly\".\n"),
        "{text}"
    );
    test_support::promtool::assert_lint_clean(&text);

    let openmetrics = registry.encode(Format::OpenMetrics).expect("encode");
    let expected = "# HELP jobs Jobs run.\\nSecond line, from C:\\\\jobs \\\"nightly\\\".\n";
    assert!(openmetrics.contains(expected), "{openmetrics}");
    // Every line is a comment or a sample: no help text spilled onto a line of its own.
    for line in openmetrics.lines() {
        assert!(
            line.starts_with("# ") || line.starts_with(|c: char| c.is_ascii_alphabetic()),
            "{line:?} in\n{openmetrics}"
        );
        assert!(!line.starts_with("Second line"), "{openmetrics}");
    }
}

#[test]
fn a_help_string_ending_in_a_period_gets_one() {
    let registry = MetricsRegistry::builder().build().expect("registry");
    registry.register("jobs", "Jobs run.", Counter::<u64>::default());
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    assert!(text.contains("# HELP jobs Jobs run.\n"), "{text}");
}

/// The exporter registers its counters as families, with help ending in a parenthesis or a
/// period: each HELP line ends in exactly one period, in both formats, and so does every HELP
/// line of the built-in families.
#[test]
fn family_help_gets_one_final_period_whatever_it_ends_in() {
    type Labels = Vec<(String, String)>;
    let registry = MetricsRegistry::builder().build().expect("registry");
    metrics_toolkit::HttpServerMetrics::builder().register(&registry);
    for (name, help) in [
        (
            "scrapes",
            "Requests for /metrics by result (success, error)",
        ),
        ("failures", "Requests refused, by reason."),
    ] {
        let family: Family<Labels, Counter> = Family::default();
        family
            .get_or_create(&vec![("result".into(), "success".into())])
            .inc();
        registry.register(name, help, family);
    }
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let text = registry.encode(format).expect("encode");
        assert!(
            text.contains(" Requests for /metrics by result (success, error).\n"),
            "{text}"
        );
        assert!(text.contains(" Requests refused, by reason.\n"), "{text}");
        for help in text.lines().filter(|l| l.starts_with("# HELP ")) {
            assert!(help.ends_with('.') && !help.ends_with(".."), "{help}");
        }
    }
}
