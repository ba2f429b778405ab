//! The fast text encoding of the HTTP server families (see [`EncodeText`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::collector::{
    ACTIVE_CONNECTIONS_HELP, ACTIVE_REQUESTS_HELP, CONNECTIONS_HELP, DURATION_HELP,
    FIRST_BYTE_HELP, OVERFLOW_HELP, REQUESTS_HELP,
};
use super::series::Series;
use super::{HttpServerMetrics, MethodLabel};
use crate::encoding::{render_labels, EncodeText, Kind, LinePrefix, TextWriter, Value};
use crate::metric::HistogramCore;

const DURATION: &str = "http_server_request_duration_seconds";
const REQUESTS: &str = "http_server_requests";
const FIRST_BYTE: &str = "http_server_time_to_first_byte_seconds";

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
        let histograms = if counters.first_byte { 2 } else { 1 };
        let bytes: usize = all
            .iter()
            .map(|series| histograms * (le.len() + 3) * (per_line + series.labels_text.len()))
            .sum();
        w.reserve(bytes);

        // The overflow series is written once it has requests; the overflow counter is then
        // its count as written below, not a reading of its own.
        let has_overflow = overflow.duration.has_observations();
        let with_overflow = || {
            let regular = all.iter().map(|series| &**series);
            regular.chain(has_overflow.then_some(overflow))
        };

        // The counter is written from the histograms' counts, read once.
        let mut totals: Vec<u64> = Vec::with_capacity(all.len() + 1);
        w.family(DURATION, Kind::Histogram, DURATION_HELP, Some("seconds"));
        let mut duration = HistogramLines::new(DURATION);
        for series in with_overflow() {
            totals.push(duration.write(w, le, &series.labels_text, &series.duration));
        }

        if counters.first_byte {
            w.family(
                FIRST_BYTE,
                Kind::Histogram,
                FIRST_BYTE_HELP,
                Some("seconds"),
            );
            let mut first_byte = HistogramLines::new(FIRST_BYTE);
            for series in with_overflow() {
                if let Some(histogram) = &series.first_byte {
                    first_byte.write(w, le, &series.labels_text, histogram);
                }
            }
        }

        w.family(REQUESTS, Kind::Counter, REQUESTS_HELP, None);
        for (series, total) in with_overflow().zip(&totals) {
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

        let overflowed = if has_overflow {
            totals.last().copied().unwrap_or(0)
        } else {
            0
        };
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

/// Writes the lines of one histogram family, series after series: the line prefixes are
/// rendered once per series and the `le` tails once per family.
struct HistogramLines<'a> {
    name: &'a str,
    bucket: LinePrefix,
    sum: LinePrefix,
    count: LinePrefix,
    // Every series has labels (at least method and route, or the overflow label), so the
    // `le` tails rendered for the first one fit them all.
    bucket_tails: Vec<String>,
    counts: Vec<u64>,
}

impl<'a> HistogramLines<'a> {
    fn new(name: &'a str) -> Self {
        Self {
            name,
            bucket: LinePrefix::default(),
            sum: LinePrefix::default(),
            count: LinePrefix::default(),
            bucket_tails: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Writes `histogram` with the labels `labels_text`; returns its count.
    fn write(
        &mut self,
        w: &mut TextWriter<'_>,
        le: &[Box<str>],
        labels_text: &str,
        histogram: &HistogramCore,
    ) -> u64 {
        w.line_prefix(&mut self.bucket, self.name, "_bucket", labels_text);
        w.line_prefix(&mut self.sum, self.name, "_sum", labels_text);
        w.line_prefix(&mut self.count, self.name, "_count", labels_text);
        if self.bucket_tails.is_empty() {
            let bucket = &self.bucket;
            self.bucket_tails = le
                .iter()
                .map(|le| bucket.extra_label_tail("le", le))
                .collect();
        }
        let total_sum = histogram.read_into(&mut self.counts);
        let mut cumulative = 0;
        for (count, tail) in self.counts.iter().zip(&self.bucket_tails) {
            cumulative += count;
            w.line(&self.bucket, tail, Value::Unsigned(cumulative));
        }
        w.line(&self.sum, self.sum.plain_tail(), Value::Float(total_sum));
        w.line(
            &self.count,
            self.count.plain_tail(),
            Value::Unsigned(cumulative),
        );
        cumulative
    }
}
