//! Help text reaches the scrape escaped: a user's help with a newline, a backslash or a double
//! quote leaves both formats valid, through prometheus-client's registry and the fast writer.

use metrics_toolkit::encoding::{EncodeText, Kind, TextWriter};
use metrics_toolkit::{Format, MetricsRegistry};
use prometheus_client::metrics::counter::Counter;

const HELP: &str = "Jobs run.\nSecond line, from C:\\jobs \"nightly\"";

struct Written;

impl EncodeText for Written {
    fn encode_text(&self, out: &mut TextWriter<'_>) {
        out.family("queue_depth", Kind::Gauge, HELP, None);
        let mut line = metrics_toolkit::encoding::LinePrefix::default();
        out.line_prefix(&mut line, "queue_depth", "", "");
        let tail = line.plain_tail();
        out.line(&line, tail, metrics_toolkit::encoding::Value::Signed(3));
    }
}

#[test]
fn help_with_newlines_backslashes_and_quotes_is_escaped_in_both_formats() {
    let registry = MetricsRegistry::builder().build().expect("registry");
    let jobs = Counter::<u64>::default();
    registry.register("jobs", HELP, jobs.clone());
    jobs.inc();
    registry.register_text(Written);

    let text = registry.encode(Format::PrometheusText).expect("encode");
    assert!(
        text.contains("# HELP jobs_total Jobs run.\\nSecond line, from C:\\\\jobs \"nightly\".\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP queue_depth Jobs run.\\nSecond line, from C:\\\\jobs \"nightly\"\n"),
        "{text}"
    );
    test_support::promtool::assert_lint_clean(&text);

    let openmetrics = registry.encode(Format::OpenMetrics).expect("encode");
    for expected in [
        "# HELP jobs Jobs run.\\nSecond line, from C:\\\\jobs \\\"nightly\\\".\n",
        "# HELP queue_depth Jobs run.\\nSecond line, from C:\\\\jobs \\\"nightly\\\"\n",
    ] {
        assert!(openmetrics.contains(expected), "{openmetrics}");
    }
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
