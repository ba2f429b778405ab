//! The fast text encoding of the HTTP server families (see [`EncodeText`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::collector::{
    ACTIVE_CONNECTIONS_HELP, ACTIVE_REQUESTS_HELP, CONNECTIONS_HELP, DURATION_HELP, OVERFLOW_HELP,
    REQUESTS_HELP,
};
use super::series::Series;
use super::{HttpServerMetrics, MethodLabel};
use crate::encoding::{render_labels, EncodeText, Kind, LinePrefix, TextWriter, Value};

const DURATION: &str = "http_server_request_duration_seconds";
const REQUESTS: &str = "http_server_requests";

impl EncodeText for HttpServerMetrics {
    fn encode_text(&self, w: &mut TextWriter<'_>) {
        let shared = &self.shared;
        let counters = &shared.counters;
        let le = counters.buckets.le_labels();

        // Collect the series once: both passes below walk the same list, so each counter equals
        // its histogram's `_count` exactly even while label sets are being added.
        let mut all: Vec<Arc<Series>> = counters.series.values();
        // Visit series in allocation order: neighbours in memory are read one after another,
        // which the prefetcher rewards once there are more series than cache.
        all.sort_unstable_by_key(|series| Arc::as_ptr(series) as usize);
        let overflow = &counters.overflow_series;
        // Size the output once: growing a buffer of many megabytes copies it each time.
        let per_line = DURATION.len() + w.const_labels_len() + 48;
        let bytes: usize = all
            .iter()
            .map(|series| (le.len() + 3) * (per_line + series.labels_text.len()))
            .sum();
        w.reserve(bytes);

        let mut totals: Vec<u64> = Vec::with_capacity(all.len() + 1);
        let mut counts: Vec<u64> = Vec::with_capacity(le.len());
        let (mut bucket, mut sum, mut count) = (
            LinePrefix::default(),
            LinePrefix::default(),
            LinePrefix::default(),
        );
        // Every series has labels (at least method and route, or the overflow label), so the
        // `le` tails rendered for the first one fit them all.
        let mut bucket_tails: Vec<String> = Vec::new();
        w.family(DURATION, Kind::Histogram, DURATION_HELP, Some("seconds"));
        let mut write_histogram = |series: &Series, totals: &mut Vec<u64>| {
            w.line_prefix(&mut bucket, DURATION, "_bucket", &series.labels_text);
            w.line_prefix(&mut sum, DURATION, "_sum", &series.labels_text);
            w.line_prefix(&mut count, DURATION, "_count", &series.labels_text);
            if bucket_tails.is_empty() {
                bucket_tails = le
                    .iter()
                    .map(|le| bucket.extra_label_tail("le", le))
                    .collect();
            }
            let total_sum = series.duration.read_into(&mut counts);
            let mut cumulative = 0;
            for (count, tail) in counts.iter().zip(&bucket_tails) {
                cumulative += count;
                w.line(&bucket, tail, Value::Unsigned(cumulative));
            }
            w.line(&sum, sum.plain_tail(), Value::Float(total_sum));
            w.line(&count, count.plain_tail(), Value::Unsigned(cumulative));
            totals.push(cumulative);
        };
        for series in &all {
            write_histogram(series, &mut totals);
        }
        let overflowed = overflow.duration.snapshot().count();
        if overflowed > 0 {
            write_histogram(overflow, &mut totals);
        }

        w.family(REQUESTS, Kind::Counter, REQUESTS_HELP, None);
        let regular = all.iter().map(|series| &**series);
        let with_overflow = regular.chain((overflowed > 0).then_some(overflow));
        for (series, total) in with_overflow.zip(&totals) {
            w.sample(
                REQUESTS,
                "_total",
                &series.labels_text,
                None,
                Value::Unsigned(*total),
            );
        }

        w.family(
            "http_server_active_requests",
            Kind::Gauge,
            ACTIVE_REQUESTS_HELP,
            None,
        );
        let in_flight = self.shared.in_flight();
        for method in MethodLabel::ALL {
            // Only methods that had a request: an idle method is not exported.
            if let Some(value) = in_flight[method.index()] {
                let labels = render_labels([("http_request_method", method.as_str())]);
                w.sample(
                    "http_server_active_requests",
                    "",
                    &labels,
                    None,
                    Value::Signed(value),
                );
            }
        }

        let unlabelled = [
            (
                "http_server_active_connections",
                Kind::Gauge,
                ACTIVE_CONNECTIONS_HELP,
                Value::Signed(counters.active_connections.load(Ordering::Relaxed)),
            ),
            (
                "http_server_connections",
                Kind::Counter,
                CONNECTIONS_HELP,
                Value::Unsigned(counters.connections_total.load(Ordering::Relaxed)),
            ),
            (
                "http_server_request_overflow",
                Kind::Counter,
                OVERFLOW_HELP,
                Value::Unsigned(overflowed),
            ),
        ];
        for (name, kind, help, value) in unlabelled {
            w.family(name, kind, help, None);
            let suffix = if kind == Kind::Counter { "_total" } else { "" };
            w.sample(name, suffix, "", None, value);
        }
    }
}
