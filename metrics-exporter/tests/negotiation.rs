//! `/metrics` over real HTTP for the exact `Accept` headers Prometheus 2 and 3 send, and for
//! hostile ones: status, exact `Content-Type`, a body that parses, gzip (protobuf too).

mod common;

use std::io::Read;

use common::Served;
use metrics_toolkit::prometheus_client::metrics::counter::Counter;
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use reqwest::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use test_support::Scrape;

const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
const PROMETHEUS_3_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROMETHEUS_2_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const OPENMETRICS_UTF8: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8";
const OPENMETRICS_UNDERSCORES: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores";
const TEXT_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
#[cfg(feature = "protobuf")]
const PROTOBUF: &str = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores";

/// An exporter on 127.0.0.1:0 with one recorded request and a user counter `my.requests`,
/// whose name is not legacy-valid.
async fn start() -> Served {
    let registry = MetricsRegistry::builder()
        .service_name("negotiation")
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let mut request = http.start_request(&http::Method::GET, Some("/a"));
    request.set_status(200);
    request.finish(metrics_toolkit::http::Outcome::Completed);
    let requests: Counter = Counter::default();
    requests.inc_by(5);
    registry.register("my.requests", "Requests", requests);
    common::serve(Some(registry), |exporter| exporter).await
}

/// Status, `Content-Type`, `Content-Encoding` and the body (decompressed) of one scrape.
async fn scrape(
    exporter: &Served,
    accept: Option<HeaderValue>,
    gzip: bool,
) -> (u16, String, bool, Vec<u8>) {
    // reqwest is built without its gzip feature: bodies arrive exactly as sent.
    let mut request = reqwest::Client::new().get(format!("{}/metrics", exporter.base));
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    if gzip {
        request = request.header(ACCEPT_ENCODING, "gzip");
    }
    let response = request.send().await.expect("scrape");
    let status = response.status().as_u16();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_owned();
    let gzipped = response
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v == "gzip");
    let raw = response.bytes().await.expect("body").to_vec();
    let body = if gzipped {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut plain)
            .expect("valid gzip");
        plain
    } else {
        raw
    };
    (status, content_type, gzipped, body)
}

/// Checks a text answer: the user counter's lines exactly as `counter` says, and every other
/// line parses as text.
fn check_text(body: &[u8], counter: &str, openmetrics: bool) {
    let text = std::str::from_utf8(body).expect("utf-8");
    assert!(text.contains(counter), "{counter}\n{text}");
    assert_eq!(text.ends_with("# EOF\n"), openmetrics, "{text}");
    // Scrape reads legacy names only: leave the quoted lines out.
    let legacy: String = text
        .lines()
        .filter(|line| !line.contains("my.requests"))
        .map(|line| format!("{line}\n"))
        .collect();
    let scrape = Scrape::parse(&legacy);
    assert_eq!(
        scrape.get(
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", "GET"),
                ("http_route", "/a"),
                ("http_response_status_code", "200"),
                ("url_scheme", "http"),
            ]
        ),
        Some(1.0)
    );
}

const UTF8_OPENMETRICS_COUNTER: &str =
    "# HELP \"my.requests\" Requests.\n# TYPE \"my.requests\" counter\n{\"my.requests_total\"} 5\n";
const UNDERSCORES_OPENMETRICS_COUNTER: &str =
    "# HELP my_requests Requests.\n# TYPE my_requests counter\nmy_requests_total 5\n";

#[tokio::test]
async fn prometheus_3_gets_openmetrics_with_utf8_names() {
    let exporter = start().await;
    for gzip in [false, true] {
        let accept = HeaderValue::from_static(PROMETHEUS_3);
        let (status, content_type, gzipped, body) = scrape(&exporter, Some(accept), gzip).await;
        assert_eq!(
            (status, content_type.as_str(), gzipped),
            (200, OPENMETRICS_UTF8, gzip)
        );
        check_text(&body, UTF8_OPENMETRICS_COUNTER, true);
    }
}

#[tokio::test]
async fn prometheus_2_gets_openmetrics_with_underscores() {
    let exporter = start().await;
    let accept = HeaderValue::from_static(PROMETHEUS_2);
    let (status, content_type, _, body) = scrape(&exporter, Some(accept), false).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, OPENMETRICS_UNDERSCORES)
    );
    check_text(&body, UNDERSCORES_OPENMETRICS_COUNTER, true);
}

#[cfg(not(feature = "protobuf"))]
#[tokio::test]
async fn native_histogram_headers_get_openmetrics_without_protobuf() {
    let exporter = start().await;
    for (accept, expected, counter) in [
        (
            PROMETHEUS_3_NATIVE,
            OPENMETRICS_UTF8,
            UTF8_OPENMETRICS_COUNTER,
        ),
        (
            PROMETHEUS_2_NATIVE,
            OPENMETRICS_UNDERSCORES,
            UNDERSCORES_OPENMETRICS_COUNTER,
        ),
    ] {
        let header = HeaderValue::from_static(accept);
        let (status, content_type, _, body) = scrape(&exporter, Some(header), false).await;
        assert_eq!((status, content_type.as_str()), (200, expected), "{accept}");
        check_text(&body, counter, true);
    }
}

#[cfg(feature = "protobuf")]
#[tokio::test]
async fn native_histogram_headers_get_protobuf_gzipped_or_not() {
    use metrics_toolkit::prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::MetricFamily;
    use prost::Message;

    let exporter = start().await;
    for accept in [PROMETHEUS_3_NATIVE, PROMETHEUS_2_NATIVE] {
        for gzip in [false, true] {
            let header = HeaderValue::from_static(accept);
            let (status, content_type, gzipped, body) = scrape(&exporter, Some(header), gzip).await;
            assert_eq!(
                (status, content_type.as_str(), gzipped),
                (200, PROTOBUF, gzip),
                "{accept}"
            );
            let mut rest = body.as_slice();
            let mut families = Vec::new();
            while !rest.is_empty() {
                families.push(MetricFamily::decode_length_delimited(&mut rest).expect("delimited"));
            }
            let requests = families
                .iter()
                .find(|f| f.name == "my_requests_total")
                .expect("the user counter, escaped");
            assert_eq!(
                requests.metric[0].counter.as_ref().map(|c| c.value),
                Some(5.0)
            );
            // The prometheus-client part is all there.
            let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
            assert!(names.contains(&"build_info"), "{names:?}");
        }
    }
}

#[tokio::test]
async fn text_versions_and_escapings_are_answered_as_asked() {
    let exporter = start().await;
    let cases = [
        (
            "text/plain;version=1.0.0;escaping=allow-utf-8",
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            "# HELP \"my.requests_total\" Requests.\n# TYPE \"my.requests_total\" counter\n{\"my.requests_total\"} 5\n",
        ),
        (
            "text/plain;version=0.0.4;escaping=dots",
            "text/plain; version=0.0.4; charset=utf-8; escaping=dots",
            "# HELP my_dot_requests_total Requests.\n# TYPE my_dot_requests_total counter\nmy_dot_requests_total 5\n",
        ),
        (
            "text/plain;version=0.0.4;escaping=allow-utf-8",
            TEXT_0_0_4,
            "# HELP my_requests_total Requests.\n# TYPE my_requests_total counter\nmy_requests_total 5\n",
        ),
        (
            "application/openmetrics-text;version=0.0.1;escaping=values",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values",
            "# HELP U__my_2e_requests Requests.\n# TYPE U__my_2e_requests counter\nU__my_2e_requests_total 5\n",
        ),
    ];
    for (accept, expected, counter) in cases {
        let header = HeaderValue::from_static(accept);
        let (status, content_type, _, body) = scrape(&exporter, Some(header), false).await;
        assert_eq!((status, content_type.as_str()), (200, expected), "{accept}");
        check_text(
            &body,
            counter,
            expected.starts_with("application/openmetrics-text"),
        );
    }
}

#[tokio::test]
async fn hostile_or_malformed_headers_get_0_0_4_text() {
    let exporter = start().await;
    let many_ranges = "application/json;q=0.9,".repeat(200) + "application/openmetrics-text";
    let cases: Vec<Option<HeaderValue>> = vec![
        None,
        Some(HeaderValue::from_static("")),
        Some(HeaderValue::from_static("*/*")),
        Some(HeaderValue::from_static(";;;,,=q=")),
        Some(HeaderValue::from_static("application/openmetrics-text;q=2")),
        Some(HeaderValue::from_static(
            "application/openmetrics-text;q=abc",
        )),
        Some(HeaderValue::from_static(
            "application/openmetrics-text;version=3.0.0",
        )),
        Some(HeaderValue::from_static("application/openmetrics-text;q=0")),
        // Not ASCII: the header is not read at all.
        Some(HeaderValue::from_bytes(b"application/openmetrics-text;x=\xe9").expect("obs-text")),
        Some(HeaderValue::from_str(&many_ranges).expect("header")),
    ];
    for accept in cases {
        let shown = format!("{accept:.80?}");
        let (status, content_type, _, body) = scrape(&exporter, accept, false).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, TEXT_0_0_4),
            "{shown}"
        );
        check_text(
            &body,
            "# HELP my_requests_total Requests.\n# TYPE my_requests_total counter\nmy_requests_total 5\n",
            false,
        );
    }
}

#[tokio::test]
async fn the_0_0_4_answer_with_an_escaped_user_name_is_promtool_clean() {
    let exporter = start().await;
    let accept = HeaderValue::from_static("text/plain;version=0.0.4;escaping=underscores");
    let (_, content_type, _, body) = scrape(&exporter, Some(accept), false).await;
    assert_eq!(content_type, TEXT_0_0_4);
    test_support::promtool::assert_lint_clean(std::str::from_utf8(&body).expect("utf-8"));
}
