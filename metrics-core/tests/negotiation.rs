//! A user metric whose name is not legacy-valid (`my.requests`), written in each format and
//! escaping a scraper can negotiate; and the protobuf answer decoded.

use metrics_toolkit::encoding::{Escaping, Exposition};
use metrics_toolkit::{Format, MetricsRegistry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

type Labels = Vec<(String, String)>;

/// A registry with `build_info`, a counter `my.requests` with a label `my.key`, and a gauge
/// with legacy names, which is never changed.
fn registry() -> MetricsRegistry {
    let registry = MetricsRegistry::builder()
        .service_name("svc")
        .version("1")
        .revision("r")
        .const_label("env", "prod")
        .process_metrics(false)
        .build()
        .expect("registry");
    let requests = Family::<Labels, Counter>::default();
    requests
        .get_or_create(&vec![("my.key".to_owned(), "a.b".to_owned())])
        .inc_by(3);
    registry.register("my.requests", "Requests", requests);
    let level: Gauge = Gauge::default();
    level.set(7);
    registry.register("queue_level", "Queue level", level);
    registry
}

fn encode(format: Format, escaping: Escaping) -> String {
    registry()
        .encode(Exposition::new(format, escaping))
        .expect("encode")
}

/// Everything after the counter: legacy names, the same in every exposition.
const TAIL: &str = "# HELP queue_level Queue level.\n# TYPE queue_level gauge\nqueue_level{env=\"prod\"} 7\n\
    # HELP build_info A metric with a constant '1' value labelled by version, revision and service name.\n\
    # TYPE build_info gauge\n\
    build_info{env=\"prod\",version=\"1\",revision=\"r\",service_name=\"svc\"} 1\n";

#[test]
fn openmetrics_in_each_escaping() {
    let cases = [
        (
            Escaping::AllowUtf8,
            "# HELP \"my.requests\" Requests.\n# TYPE \"my.requests\" counter\n\
             {\"my.requests_total\",env=\"prod\",\"my.key\"=\"a.b\"} 3\n",
        ),
        (
            Escaping::Underscores,
            "# HELP my_requests Requests.\n# TYPE my_requests counter\n\
             my_requests_total{env=\"prod\",my_key=\"a.b\"} 3\n",
        ),
        (
            Escaping::Dots,
            "# HELP my_dot_requests Requests.\n# TYPE my_dot_requests counter\n\
             my_dot_requests_total{env=\"prod\",my_dot_key=\"a.b\"} 3\n",
        ),
        (
            Escaping::Values,
            "# HELP U__my_2e_requests Requests.\n# TYPE U__my_2e_requests counter\n\
             U__my_2e_requests_total{env=\"prod\",U__my_2e_key=\"a.b\"} 3\n",
        ),
    ];
    for (escaping, counter) in cases {
        assert_eq!(
            encode(Format::OpenMetrics, escaping),
            format!("{counter}{TAIL}# EOF\n"),
            "{escaping}"
        );
    }
}

#[test]
fn text_0_0_4_and_1_0_0_in_each_escaping() {
    let quoted = "# HELP \"my.requests_total\" Requests.\n# TYPE \"my.requests_total\" counter\n\
                  {\"my.requests_total\",env=\"prod\",\"my.key\"=\"a.b\"} 3\n";
    let underscores = "# HELP my_requests_total Requests.\n# TYPE my_requests_total counter\n\
                       my_requests_total{env=\"prod\",my_key=\"a.b\"} 3\n";
    let dots = "# HELP my_dot_requests_total Requests.\n# TYPE my_dot_requests_total counter\n\
                my_dot_requests_total{env=\"prod\",my_dot_key=\"a.b\"} 3\n";
    let values =
        "# HELP U__my_2e_requests_total Requests.\n# TYPE U__my_2e_requests_total counter\n\
                  U__my_2e_requests_total{env=\"prod\",U__my_2e_key=\"a.b\"} 3\n";
    let cases = [
        // 0.0.4 cannot quote: allow-utf-8 is answered with underscores.
        (Format::PrometheusText, Escaping::AllowUtf8, underscores),
        (Format::PrometheusText, Escaping::Underscores, underscores),
        (Format::PrometheusText, Escaping::Dots, dots),
        (Format::PrometheusText, Escaping::Values, values),
        (Format::PrometheusText1, Escaping::AllowUtf8, quoted),
        (Format::PrometheusText1, Escaping::Underscores, underscores),
        (Format::PrometheusText1, Escaping::Dots, dots),
        (Format::PrometheusText1, Escaping::Values, values),
    ];
    for (format, escaping, counter) in cases {
        assert_eq!(
            encode(format, escaping),
            format!("{counter}{TAIL}"),
            "{format:?} {escaping}"
        );
    }
}

#[test]
fn a_format_alone_escapes_with_underscores() {
    let registry = registry();
    assert_eq!(
        registry.encode(Format::PrometheusText).expect("encode"),
        encode(Format::PrometheusText, Escaping::Underscores)
    );
    assert_eq!(
        registry.encode_bytes(Format::OpenMetrics).expect("encode"),
        encode(Format::OpenMetrics, Escaping::Underscores).into_bytes()
    );
}

#[test]
fn negotiated_prometheus_3_scrape_keeps_utf8_names() {
    let accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let exposition = Exposition::negotiate(Some(accept));
    assert_eq!(
        exposition.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    assert_eq!(
        registry().encode(exposition).expect("encode"),
        encode(Format::OpenMetrics, Escaping::AllowUtf8)
    );
}

#[test]
fn bytes_api_appends_and_reuses_buffers() {
    let registry = registry();
    let text = encode(Format::PrometheusText, Escaping::Dots);
    let exposition = Exposition::new(Format::PrometheusText, Escaping::Dots);
    let mut reused = Vec::with_capacity(64 * 1024);
    registry
        .encode_into_bytes(exposition, &mut reused)
        .expect("encode");
    assert_eq!(reused, text.as_bytes());
    assert!(reused.capacity() >= 64 * 1024);
    let mut appended = b"prefix\n".to_vec();
    registry
        .encode_into_bytes(exposition, &mut appended)
        .expect("encode");
    assert_eq!(appended, [b"prefix\n".as_slice(), text.as_bytes()].concat());
}

#[cfg(feature = "protobuf")]
mod protobuf {
    use metrics_toolkit::encoding::{EncodeError, Escaping, Exposition};
    use metrics_toolkit::Format;
    use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
        LabelPair, MetricFamily, MetricType,
    };
    use prost::Message;

    fn decode(mut body: &[u8]) -> Vec<MetricFamily> {
        let mut families = Vec::new();
        while !body.is_empty() {
            families.push(MetricFamily::decode_length_delimited(&mut body).expect("delimited"));
        }
        families
    }

    fn label(name: &str, value: &str) -> LabelPair {
        LabelPair {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn decodes_to_the_registered_families_in_each_escaping() {
        let registry = super::registry();
        for (escaping, name, key) in [
            (Escaping::AllowUtf8, "my.requests_total", "my.key"),
            (Escaping::Underscores, "my_requests_total", "my_key"),
            (Escaping::Dots, "my_dot_requests_total", "my_dot_key"),
            (Escaping::Values, "U__my_2e_requests_total", "U__my_2e_key"),
        ] {
            let body = registry
                .encode_bytes(Exposition::new(Format::Protobuf, escaping))
                .expect("encode");
            let families = decode(&body);
            let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, [name, "queue_level", "build_info"], "{escaping}");
            let requests = &families[0];
            assert_eq!(requests.help, "Requests.");
            assert_eq!(requests.r#type, MetricType::Counter as i32);
            assert_eq!(requests.metric.len(), 1);
            assert_eq!(
                requests.metric[0].label,
                [label("env", "prod"), label(key, "a.b")]
            );
            assert_eq!(
                requests.metric[0].counter.as_ref().map(|c| c.value),
                Some(3.0)
            );
            let queue = &families[1];
            assert_eq!(queue.r#type, MetricType::Gauge as i32);
            assert_eq!(queue.metric[0].label, [label("env", "prod")]);
            assert_eq!(queue.metric[0].gauge.as_ref().map(|g| g.value), Some(7.0));
        }
    }

    #[test]
    fn the_string_api_refuses_protobuf() {
        assert_eq!(
            super::registry().encode(Format::Protobuf),
            Err(EncodeError::NotText(Format::Protobuf))
        );
    }
}
