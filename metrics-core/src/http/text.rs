//! The fast text encoding of the HTTP server families: [`FAMILIES`] written straight into the
//! output, with each series' labels rendered once when it was created.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::families::{Family, Number, Readings, SeriesHistogram, Values, FAMILIES};
use super::series::Series;
use super::{labels, HttpServerMetrics, MethodLabel};
use crate::encoding::{render_labels, EncodeText, Kind, LinePrefix, TextWriter, Value};
use crate::metric::HistogramCore;

impl EncodeText for HttpServerMetrics {
    fn encode_text(&self, w: &mut TextWriter<'_>) {
        let state = &self.state;
        let store = &state.store;
        let le = store.buckets.le_labels();

        // Collect the series once: every family walks the same list, so each counter equals
        // its histogram's `_count` exactly even while label sets are being added.
        let mut all: Vec<Arc<Series>> = store.series.values();
        // Visit series in allocation order: neighbours in memory are read one after another,
        // which the prefetcher rewards once there are more series than cache.
        all.sort_unstable_by_key(|series| Arc::as_ptr(series) as usize);
        let overflow = &store.overflow;
        // Size the output once: growing a buffer of many megabytes copies it each time.
        let per_line = "http_server_request_duration_seconds".len() + w.const_labels_len() + 48;
        let histograms = if store.first_byte { 2 } else { 1 };
        let bytes: usize = all
            .iter()
            .map(|series| histograms * (le.len() + 3) * (per_line + series.labels_text.len()))
            .sum();
        w.reserve(bytes);

        // The overflow series is written once it has requests.
        let has_overflow = overflow.duration.has_observations();
        let with_overflow = || {
            let regular = all.iter().map(|series| &**series);
            regular.chain(has_overflow.then_some(overflow))
        };

        // The duration counts as written, one per series of `with_overflow`: the request
        // counter and the overflow counter are written from them.
        let mut totals: Vec<u64> = Vec::with_capacity(all.len() + 1);
        for family in FAMILIES.iter().filter(|f| f.is_written(store)) {
            let name = full_name(family);
            w.family(
                &name,
                family.kind,
                family.help,
                family.unit.as_ref().map(|u| u.as_str()),
            );
            match family.values {
                Values::SeriesHistogram(which) => {
                    let mut lines = HistogramLines::new(&name);
                    for series in with_overflow() {
                        let Some(histogram) = which.of(series) else {
                            continue;
                        };
                        let count = lines.write(w, le, &series.labels_text, histogram);
                        if which == SeriesHistogram::Duration {
                            totals.push(count);
                        }
                    }
                }
                Values::SeriesCount => {
                    for (series, total) in with_overflow().zip(&totals) {
                        let value = Value::Unsigned(*total);
                        w.sample(&name, "_total", &series.labels_text, None, value);
                    }
                }
                Values::InFlightByMethod => {
                    let in_flight = state.in_flight();
                    for method in MethodLabel::ALL {
                        if let Some(value) = in_flight[method.index()] {
                            let labels = render_labels([(labels::METHOD, method.as_str())]);
                            w.sample(&name, "", &labels, None, Value::Signed(value));
                        }
                    }
                }
                Values::Single(read) => {
                    let readings = Readings {
                        open_connections: state.connections.open.load(Ordering::Relaxed),
                        accepted_connections: state.connections.accepted.load(Ordering::Relaxed),
                        overflowed: if has_overflow {
                            totals.last().copied().unwrap_or(0)
                        } else {
                            0
                        },
                    };
                    let suffix = if family.kind == Kind::Counter {
                        "_total"
                    } else {
                        ""
                    };
                    let value = match read(&readings) {
                        Number::Unsigned(value) => Value::Unsigned(value),
                        Number::Signed(value) => Value::Signed(value),
                    };
                    w.sample(&name, suffix, "", None, value);
                }
            }
        }
    }
}

/// The family name as the text formats spell it: with its unit, without `_total`.
fn full_name(family: &Family) -> String {
    match &family.unit {
        Some(unit) => format!("{}_{}", family.name, unit.as_str()),
        None => family.name.to_owned(),
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
