//! Escaping the names of prometheus-client's protobuf `MetricFamily` messages, as Prometheus'
//! `EscapeMetricFamily` does: the family name and label names that are not legacy-valid.
//!
//! A counter's family name ends in `_total` in protobuf but not in OpenMetrics; its base name
//! is escaped and `_total` kept, so a series has the same name in every format
//! (`my.requests` with `dots`: `my_dot_requests_total`).

use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
    MetricFamily, MetricType,
};

use super::escaping::{is_legacy_name, push_escaped, Escaping};

/// Escapes the names of `family` that are not legacy-valid with `escaping`; with
/// `allow-utf-8` they stay as they are (protobuf carries any UTF-8 name).
pub(crate) fn escape_protobuf_family(family: &mut MetricFamily, escaping: Escaping) {
    if escaping == Escaping::AllowUtf8 {
        return;
    }
    if !is_legacy_name(&family.name) {
        let counter = family.r#type == MetricType::Counter as i32;
        let (base, suffix) = match family.name.strip_suffix("_total") {
            Some(base) if counter => (base, "_total"),
            _ => (family.name.as_str(), ""),
        };
        let mut escaped = String::with_capacity(family.name.len() + 8);
        push_escaped(&mut escaped, base, escaping);
        escaped.push_str(suffix);
        family.name = escaped;
    }
    for metric in &mut family.metric {
        for label in &mut metric.label {
            escape(&mut label.name, escaping);
        }
    }
}

fn escape(name: &mut String, escaping: Escaping) {
    if !is_legacy_name(name) {
        *name = escaping.escape_name(name).into_owned();
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
        LabelPair, Metric,
    };

    use super::*;

    #[test]
    fn escapes_family_and_label_names_only_when_needed() {
        let label = |name: &str| LabelPair {
            name: name.into(),
            value: "a.b".into(),
        };
        let family = MetricFamily {
            name: "my.requests_total".into(),
            r#type: MetricType::Counter as i32,
            metric: vec![Metric {
                label: vec![label("my.key"), label("ok")],
                ..Metric::default()
            }],
            ..MetricFamily::default()
        };
        let mut dots = family.clone();
        escape_protobuf_family(&mut dots, Escaping::Dots);
        assert_eq!(dots.name, "my_dot_requests_total");
        assert_eq!(dots.metric[0].label[0].name, "my_dot_key");
        assert_eq!(dots.metric[0].label[0].value, "a.b");
        assert_eq!(dots.metric[0].label[1].name, "ok");
        let mut utf8 = family.clone();
        escape_protobuf_family(&mut utf8, Escaping::AllowUtf8);
        assert_eq!(utf8, family);
        let gauge = MetricFamily {
            name: "my.level_total".into(),
            r#type: MetricType::Gauge as i32,
            ..MetricFamily::default()
        };
        let mut values = gauge.clone();
        escape_protobuf_family(&mut values, Escaping::Values);
        assert_eq!(values.name, "U__my_2e_level__total");
    }
}
