//! The protobuf encoding of the HTTP server families (`io.prometheus.client.MetricFamily`,
//! length-delimited): [`FAMILIES`] written straight into the output, as `text.rs` writes text,
//! with the classic buckets' exemplars, start timestamps and, where they are on, the native
//! buckets.

use super::exemplar::{ExemplarSlot, WallClock, SPAN_ID, TRACE_ID};
use super::families::{Family, Number, Readings, SeriesHistogram, Values, FAMILIES};
use super::labels;
use super::series::Series;
use super::{HttpServerMetrics, MethodLabel};
use crate::encoding::protobuf_wire::{field, MetricType, ProtoWriter};
use crate::encoding::Kind;
use crate::metric::{HistogramCore, NativeSnapshot, NativeSpans};

impl HttpServerMetrics {
    /// Appends the HTTP server families to `out`, each a length-delimited `MetricFamily`, every
    /// metric carrying `const_labels` first.
    pub(crate) fn encode_protobuf_into(
        &self,
        out: &mut Vec<u8>,
        const_labels: &[(String, String)],
    ) {
        let state = &self.state;
        let store = &state.store;
        let bounds = store.buckets.bounds();
        let list = store.scrape_list();
        let all = &list.regular;
        let mut w = ProtoWriter::new(out);
        // About 12 bytes a bucket and 100 for labels and the rest, per histogram.
        w.reserve(all.len() * (bounds.len() * 12 + 160));
        let wall = WallClock::now();
        let mut counts = Vec::new();
        let mut native = NativeSnapshot::default();
        let mut totals: Vec<u64> = Vec::with_capacity(all.len() + 1);
        for family in FAMILIES.iter().filter(|f| f.is_written(store)) {
            let family_message = w.begin(None);
            write_descriptor(&mut w, family);
            match family.values {
                Values::SeriesHistogram(which) => {
                    for series in list.iter() {
                        let Some(histogram) = which.of(series) else {
                            continue;
                        };
                        let exemplars = which.exemplars_of(series);
                        let metric = w.begin(Some(field::FAMILY_METRIC));
                        write_labels(&mut w, const_labels, series);
                        let count = write_histogram(
                            &mut w,
                            bounds,
                            histogram,
                            &mut counts,
                            &mut native,
                            exemplars.map(|slots| (slots, &wall)),
                            series.created,
                        );
                        w.end(metric);
                        if which == SeriesHistogram::Duration {
                            totals.push(count);
                        }
                    }
                }
                Values::SeriesCount => {
                    for (series, total) in list.iter().zip(&totals) {
                        let metric = w.begin(Some(field::FAMILY_METRIC));
                        write_labels(&mut w, const_labels, series);
                        write_counter(&mut w, *total, series.created);
                        w.end(metric);
                    }
                }
                Values::InFlightByMethod => {
                    let in_flight = state.in_flight();
                    for method in MethodLabel::ALL {
                        if let Some(value) = in_flight[method.index()] {
                            let metric = w.begin(Some(field::FAMILY_METRIC));
                            write_const_labels(&mut w, const_labels);
                            w.label(field::METRIC_LABEL, labels::METHOD, method.as_str());
                            write_gauge(&mut w, value as f64);
                            w.end(metric);
                        }
                    }
                }
                Values::Single(read) => {
                    let readings = Readings::read(state, &totals, list.overflow.is_some());
                    let value = match read(&readings) {
                        Number::Unsigned(value) => value as f64,
                        Number::Signed(value) => value as f64,
                    };
                    let metric = w.begin(Some(field::FAMILY_METRIC));
                    write_const_labels(&mut w, const_labels);
                    match family.kind {
                        Kind::Counter => write_counter(&mut w, value as u64, state.created),
                        _ => write_gauge(&mut w, value),
                    }
                    w.end(metric);
                }
            }
            w.end(family_message);
        }
    }
}

/// Name, help, type and unit. Counters are named with `_total`, histograms with their unit:
/// the names the series get, as in the text formats.
fn write_descriptor(w: &mut ProtoWriter<'_>, family: &Family) {
    let unit = family.unit.as_ref().map(|u| u.as_str());
    let mut name = String::with_capacity(family.name.len() + 8);
    name.push_str(family.name);
    if let Some(unit) = unit {
        name.push('_');
        name.push_str(unit);
    }
    let kind = match family.kind {
        Kind::Counter => {
            name.push_str("_total");
            MetricType::Counter
        }
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    };
    w.bytes(field::FAMILY_NAME, name.as_bytes());
    w.bytes(field::FAMILY_HELP, family.help.as_bytes());
    w.uint(field::FAMILY_TYPE, kind as u64);
    w.bytes(field::FAMILY_UNIT, unit.unwrap_or("").as_bytes());
}

fn write_const_labels(w: &mut ProtoWriter<'_>, const_labels: &[(String, String)]) {
    for (name, value) in const_labels {
        w.label(field::METRIC_LABEL, name, value);
    }
}

fn write_labels(w: &mut ProtoWriter<'_>, const_labels: &[(String, String)], series: &Series) {
    write_const_labels(w, const_labels);
    series
        .labels
        .for_each_pair(|name, value| w.label(field::METRIC_LABEL, name, value));
}

fn write_gauge(w: &mut ProtoWriter<'_>, value: f64) {
    let gauge = w.begin(Some(field::METRIC_GAUGE));
    w.double(field::GAUGE_VALUE, value);
    w.end(gauge);
}

fn write_counter(w: &mut ProtoWriter<'_>, value: u64, created: f64) {
    let counter = w.begin(Some(field::METRIC_COUNTER));
    w.double(field::COUNTER_VALUE, value as f64);
    w.timestamp(field::COUNTER_START, created);
    w.end(counter);
}

/// Writes a `Histogram` message: the classic buckets (each with its exemplar), the start
/// timestamp, and the native buckets when the histogram has them. Returns its count.
fn write_histogram(
    w: &mut ProtoWriter<'_>,
    bounds: &[f64],
    histogram: &HistogramCore,
    counts: &mut Vec<u64>,
    native: &mut NativeSnapshot,
    exemplars: Option<(&[ExemplarSlot], &WallClock)>,
    created: f64,
) -> u64 {
    let has_native = histogram.native_buckets().is_some();
    let sum = histogram.read_native_into(counts, native);
    let count: u64 = counts.iter().sum();
    let message = w.begin(Some(field::METRIC_HISTOGRAM));
    w.uint(field::HISTOGRAM_COUNT, count);
    w.double(field::HISTOGRAM_SUM, sum);
    let mut cumulative = 0;
    let upper_bounds = bounds.iter().copied().chain(std::iter::once(f64::INFINITY));
    for (index, (bucket_count, upper)) in counts.iter().zip(upper_bounds).enumerate() {
        cumulative += bucket_count;
        let bucket = w.begin(Some(field::HISTOGRAM_BUCKET));
        w.uint(field::BUCKET_CUMULATIVE_COUNT, cumulative);
        w.double(field::BUCKET_UPPER_BOUND, upper);
        let reading = exemplars.and_then(|(slots, wall)| slots.get(index)?.read(wall));
        if let Some(reading) = reading {
            let exemplar = w.begin(Some(field::BUCKET_EXEMPLAR));
            write_exemplar_fields(w, &reading);
            w.end(exemplar);
        }
        w.end(bucket);
    }
    w.timestamp(field::HISTOGRAM_START, created);
    if has_native {
        w.sint(field::HISTOGRAM_SCHEMA, i64::from(native.schema));
        w.double(field::HISTOGRAM_ZERO_THRESHOLD, native.zero_threshold);
        w.uint(field::HISTOGRAM_ZERO_COUNT, native.zero_count);
        write_spans(
            w,
            field::HISTOGRAM_NEGATIVE_SPAN,
            field::HISTOGRAM_NEGATIVE_DELTA,
            &native.negative,
        );
        if native.positive.spans.is_empty() && native.negative.spans.is_empty() {
            // An empty native histogram still says it is one (Prometheus tells them from
            // classic ones by their spans, zero bucket or schema): one span of no buckets.
            let span = w.begin(Some(field::HISTOGRAM_POSITIVE_SPAN));
            w.end(span);
        } else {
            write_spans(
                w,
                field::HISTOGRAM_POSITIVE_SPAN,
                field::HISTOGRAM_POSITIVE_DELTA,
                &native.positive,
            );
        }
        // Prometheus 3 reads a native histogram's exemplars here (each needs its timestamp).
        if let Some((slots, wall)) = exemplars {
            for slot in slots {
                if let Some(reading) = slot.read(wall) {
                    let exemplar = w.begin(Some(field::HISTOGRAM_EXEMPLARS));
                    write_exemplar_fields(w, &reading);
                    w.end(exemplar);
                }
            }
        }
    }
    w.end(message);
    count
}

/// One side's spans and deltas (the deltas packed, as proto3 writes repeated numbers).
fn write_spans(w: &mut ProtoWriter<'_>, span_field: u32, delta_field: u32, side: &NativeSpans) {
    for &(offset, length) in &side.spans {
        let span = w.begin(Some(span_field));
        w.sint(field::SPAN_OFFSET, i64::from(offset));
        w.uint(field::SPAN_LENGTH, u64::from(length));
        w.end(span);
    }
    if !side.deltas.is_empty() {
        let packed = w.begin(Some(delta_field));
        for &delta in &side.deltas {
            w.zigzag(delta);
        }
        w.end(packed);
    }
}

/// The fields of an `Exemplar`: its two labels, value and timestamp.
fn write_exemplar_fields(w: &mut ProtoWriter<'_>, reading: &super::exemplar::ExemplarReading) {
    w.label(field::EXEMPLAR_LABEL, TRACE_ID, reading.trace_id());
    w.label(field::EXEMPLAR_LABEL, SPAN_ID, reading.span_id());
    w.double(field::EXEMPLAR_VALUE, reading.value);
    w.timestamp(field::EXEMPLAR_TIMESTAMP, reading.timestamp);
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
        MetricFamily, MetricType,
    };
    use prost::Message;

    use crate::http::{Exemplar, HttpServerMetrics, Outcome};

    fn decode(mut bytes: &[u8]) -> Vec<MetricFamily> {
        let mut families = Vec::new();
        while !bytes.is_empty() {
            let family = MetricFamily::decode_length_delimited(&mut bytes).expect("a family");
            families.push(family);
        }
        families
    }

    #[test]
    fn the_families_decode_with_their_samples_exemplars_and_start_times() {
        let http = HttpServerMetrics::builder().build();
        for status in [200, 200, 503] {
            let mut request = http.start_request(&http::Method::GET, Some("/users/{id}"));
            request.set_status(status);
            if status == 503 {
                request.set_exemplar(Exemplar::new([0xab; 16], [0xcd; 8]).expect("valid"));
            }
            request.finish(Outcome::Completed);
        }
        let _connection = http.open_connection();
        let mut out = Vec::new();
        let consts = [("env".to_owned(), "test".to_owned())];
        http.encode_protobuf_into(&mut out, &consts);
        let families = decode(&out);
        let names: Vec<_> = families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "http_server_request_duration_seconds",
                "http_server_requests_total",
                "http_server_active_requests",
                "http_server_active_connections",
                "http_server_connections_total",
                "http_server_request_overflow_total",
            ]
        );
        let duration = &families[0];
        assert_eq!(duration.r#type, MetricType::Histogram as i32);
        assert_eq!(duration.unit, "seconds");
        assert_eq!(duration.metric.len(), 2);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        for metric in &duration.metric {
            let labels: Vec<_> = metric
                .label
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect();
            assert_eq!(labels[0], ("env", "test"));
            assert!(
                labels.contains(&("http_route", "/users/{id}")),
                "{labels:?}"
            );
            let histogram = metric.histogram.as_ref().expect("a histogram");
            let status = labels
                .iter()
                .find(|(name, _)| *name == "http_response_status_code")
                .expect("a status")
                .1;
            let expected = if status == "200" { 2 } else { 1 };
            assert_eq!(histogram.sample_count, expected);
            let buckets = &histogram.bucket;
            assert_eq!(buckets.len(), 15);
            assert_eq!(buckets.last().map(|b| b.upper_bound), Some(f64::INFINITY));
            assert_eq!(buckets.last().map(|b| b.cumulative_count), Some(expected));
            let start = histogram.start_timestamp.as_ref().expect("a start").seconds;
            assert!((now - start).abs() < 60, "{start}");
            let exemplars: Vec<_> = buckets.iter().filter_map(|b| b.exemplar.as_ref()).collect();
            if status == "503" {
                assert_eq!(exemplars.len(), 1);
                let pairs: Vec<_> = exemplars[0]
                    .label
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str()))
                    .collect();
                assert_eq!(
                    pairs,
                    [
                        ("trace_id", "ab".repeat(16).as_str()),
                        ("span_id", "cd".repeat(8).as_str())
                    ]
                );
                assert!(exemplars[0].timestamp.is_some());
            } else {
                assert!(exemplars.is_empty());
            }
        }
        let requests = &families[1];
        assert_eq!(requests.r#type, MetricType::Counter as i32);
        let total: f64 = requests
            .metric
            .iter()
            .map(|m| m.counter.as_ref().expect("a counter").value)
            .sum();
        assert_eq!(total, 3.0);
        assert!(requests.metric[0]
            .counter
            .as_ref()
            .and_then(|c| c.start_timestamp.as_ref())
            .is_some());
        let connections = &families[3].metric[0];
        assert_eq!(connections.gauge.as_ref().map(|g| g.value), Some(1.0));
    }

    #[test]
    fn native_buckets_decode_beside_the_classic_ones() {
        use crate::metric::NativeBuckets;

        let http = HttpServerMetrics::builder()
            .native_histograms(NativeBuckets::default())
            .build();
        // An empty series first: it must still read as a native histogram.
        let mut out = Vec::new();
        http.encode_protobuf_into(&mut out, &[]);
        for _ in 0..5 {
            let mut request = http.start_request(&http::Method::GET, Some("/a"));
            request.set_status(200);
            request.set_exemplar(Exemplar::new([1; 16], [2; 8]).expect("valid"));
            request.finish(Outcome::Completed);
        }
        let mut out = Vec::new();
        http.encode_protobuf_into(&mut out, &[]);
        let families = decode(&out);
        let histogram = families[0].metric[0]
            .histogram
            .as_ref()
            .expect("a histogram");
        assert_eq!(histogram.sample_count, 5);
        assert_eq!(histogram.schema, 3);
        assert!(histogram.zero_threshold > 0.0);
        let native: i64 = histogram
            .positive_delta
            .iter()
            .scan(0, |count, delta| {
                *count += delta;
                Some(*count)
            })
            .sum::<i64>()
            + histogram.zero_count as i64;
        assert_eq!(native, 5, "{histogram:?}");
        let spans: u32 = histogram.positive_span.iter().map(|s| s.length).sum();
        assert_eq!(spans as usize, histogram.positive_delta.len());
        assert_eq!(histogram.bucket.len(), 15, "classic buckets kept");
        assert_eq!(histogram.exemplars.len(), 1);
        assert!(histogram.exemplars[0].timestamp.is_some());
    }
}
