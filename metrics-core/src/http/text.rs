//! The fast text encoding of the HTTP server families: [`FAMILIES`] written straight into the
//! output, with each series' labels rendered once when it was created.

use super::exemplar::{ExemplarSlot, WallClock, SPAN_ID, TRACE_ID};
use super::families::{Family, Number, Readings, SeriesHistogram, Values, FAMILIES};
use super::series::Series;
use super::{labels, HttpServerMetrics, MethodLabel};
use crate::encoding::{
    push_float, render_labels, EncodeText, Format, Kind, LinePrefix, TextWriter, Value,
};
use crate::metric::HistogramCore;

impl EncodeText for HttpServerMetrics {
    #[cfg(feature = "protobuf")]
    fn encode_protobuf(&self, out: &mut Vec<u8>, const_labels: &[(String, String)]) {
        self.encode_protobuf_into(out, const_labels);
    }

    fn encode_text(&self, w: &mut TextWriter<'_>) {
        let state = &self.state;
        let store = &state.store;
        let le = store.buckets.le_labels();

        let list = store.scrape_list();
        let all = &list.regular;
        // Size the output once: growing a buffer of many megabytes copies it each time.
        let per_line = "http_server_request_duration_seconds".len() + w.const_labels_len() + 48;
        let histograms = if store.first_byte { 2 } else { 1 };
        let bytes: usize = all
            .iter()
            .map(|series| histograms * (le.len() + 3) * (per_line + series.labels_text.len()))
            .sum();
        w.reserve(bytes);

        // The duration counts as written, one per series of the list: the request
        // counter and the overflow counter are written from them.
        let mut totals: Vec<u64> = Vec::with_capacity(all.len() + 1);
        // Exemplars and `_created` exist in OpenMetrics only.
        let openmetrics = w.format() == Format::OpenMetrics;
        let wall = WallClock::now();
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
                    let mut lines = HistogramLines::new(&name, openmetrics.then_some(&wall));
                    for series in list.iter() {
                        let Some(histogram) = which.of(series) else {
                            continue;
                        };
                        let exemplars = which.exemplars_of(series);
                        let count = lines.write(w, le, series, histogram, exemplars);
                        if which == SeriesHistogram::Duration {
                            totals.push(count);
                        }
                    }
                }
                Values::SeriesCount => {
                    for (series, total) in list.iter().zip(&totals) {
                        let value = Value::Unsigned(*total);
                        w.sample(&name, "_total", &series.labels_text, None, value);
                        if openmetrics {
                            let created = Value::Float(series.created);
                            w.sample(&name, "_created", &series.labels_text, None, created);
                        }
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
                    let readings = Readings::read(state, &totals, list.overflow.is_some());
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
                    if openmetrics && family.kind == Kind::Counter {
                        w.sample(&name, "_created", "", None, Value::Float(state.created));
                    }
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
    /// In OpenMetrics: exemplars and `_created` are written, exemplar times read from this.
    openmetrics: Option<&'a WallClock>,
    bucket: LinePrefix,
    sum: LinePrefix,
    count: LinePrefix,
    created: LinePrefix,
    /// One exemplar's `{labels} value timestamp`, rendered for the bucket line.
    annotation: String,
    // Every series has labels (at least method and route, or the overflow label), so the
    // `le` tails rendered for the first one fit them all.
    bucket_tails: Vec<String>,
    counts: Vec<u64>,
}

impl<'a> HistogramLines<'a> {
    fn new(name: &'a str, openmetrics: Option<&'a WallClock>) -> Self {
        Self {
            name,
            openmetrics,
            bucket: LinePrefix::default(),
            sum: LinePrefix::default(),
            count: LinePrefix::default(),
            created: LinePrefix::default(),
            annotation: String::new(),
            bucket_tails: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Writes `histogram` of `series` (with the bucket exemplars in OpenMetrics); returns its
    /// count.
    fn write(
        &mut self,
        w: &mut TextWriter<'_>,
        le: &[Box<str>],
        series: &Series,
        histogram: &HistogramCore,
        exemplars: Option<&[ExemplarSlot]>,
    ) -> u64 {
        let labels_text = &*series.labels_text;
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
        let wall = self.openmetrics;
        let exemplars = exemplars.filter(|_| wall.is_some());
        let mut cumulative = 0;
        for (index, (count, tail)) in self.counts.iter().zip(&self.bucket_tails).enumerate() {
            cumulative += count;
            let value = Value::Unsigned(cumulative);
            let exemplar = exemplars
                .and_then(|slots| slots.get(index))
                .zip(wall)
                .and_then(|(slot, wall)| slot.read(wall));
            match exemplar {
                Some(reading) => {
                    self.annotation.clear();
                    let out = &mut self.annotation;
                    out.push('{');
                    out.push_str(TRACE_ID);
                    out.push_str("=\"");
                    out.push_str(reading.trace_id());
                    out.push_str("\",");
                    out.push_str(SPAN_ID);
                    out.push_str("=\"");
                    out.push_str(reading.span_id());
                    out.push('"');
                    out.push_str("} ");
                    push_float(out, reading.value);
                    out.push(' ');
                    push_float(out, reading.timestamp);
                    w.line_with(&self.bucket, tail, value, &self.annotation);
                }
                None => w.line(&self.bucket, tail, value),
            }
        }
        w.line(&self.sum, self.sum.plain_tail(), Value::Float(total_sum));
        w.line(
            &self.count,
            self.count.plain_tail(),
            Value::Unsigned(cumulative),
        );
        if self.openmetrics.is_some() {
            w.line_prefix(&mut self.created, self.name, "_created", labels_text);
            let created = Value::Float(series.created);
            w.line(&self.created, self.created.plain_tail(), created);
        }
        cumulative
    }
}
