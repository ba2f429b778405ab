//! Writing metric families as text in either format, straight into the output buffer.
//!
//! Used by collectors that implement [`EncodeText`]: labels are rendered once when a series is
//! created, numbers are formatted on the stack (itoa, dtoa), and nothing is allocated per line.

use super::Format;

/// A collector that writes itself as text, bypassing prometheus-client's encoder (about an order
/// of magnitude faster for large families): the HTTP server metrics.
pub(crate) trait EncodeText: Send + Sync + 'static {
    /// Appends this collector's families to `out.`
    fn encode_text(&self, out: &mut TextWriter<'_>);

    /// Appends this collector's families as length-delimited protobuf `MetricFamily`
    /// messages to `out`, each series carrying `const_labels` (the registry's constant labels,
    /// name and value) first.
    #[cfg(feature = "protobuf")]
    fn encode_protobuf(&self, out: &mut Vec<u8>, const_labels: &[(String, String)]);
}

/// The metric type written in `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonic counter; samples end in `_total`.
    Counter,
    /// A gauge.
    Gauge,
    /// A classic histogram: `_bucket`, `_sum`, `_count` samples.
    Histogram,
}

/// Writes families in one format, adding the registry's constant labels to every sample.
#[derive(Debug)]
pub(crate) struct TextWriter<'a> {
    out: &'a mut String,
    format: Format,
    /// `name="value",...` of the registry's constant labels, already escaped; may be empty.
    const_labels: &'a str,
}

impl<'a> TextWriter<'a> {
    /// A writer appending to `out`.
    pub(crate) fn new(out: &'a mut String, format: Format, const_labels: &'a str) -> Self {
        // Text 1.0.0 writes our families (whose names never need quoting) as 0.0.4 does.
        let format = match format {
            Format::PrometheusText1 => Format::PrometheusText,
            other => other,
        };
        Self {
            out,
            format,
            const_labels,
        }
    }

    /// The format being written.
    pub(crate) fn format(&self) -> Format {
        self.format
    }

    /// Length of the rendered constant labels, for size estimates.
    pub(crate) fn const_labels_len(&self) -> usize {
        self.const_labels.len()
    }

    /// Reserves room for `additional` more bytes.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    /// Writes `# HELP`, `# TYPE` (and `# UNIT` in OpenMetrics) for a family. `name` is the
    /// family name including its unit suffix but without `_total`; `help` is written escaped
    /// as the format requires (backslash and newline; in OpenMetrics the double quote too).
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str, unit: Option<&str>) {
        let total = kind == Kind::Counter && self.format == Format::PrometheusText;
        let suffix = if total { "_total" } else { "" };
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let out = &mut *self.out;
        out.push_str("# HELP ");
        out.push_str(name);
        out.push_str(suffix);
        out.push(' ');
        super::help::push_help(out, help, self.format);
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push_str(suffix);
        out.push(' ');
        out.push_str(kind);
        out.push('\n');
        if let (Some(unit), Format::OpenMetrics) = (unit, self.format) {
            out.push_str("# UNIT ");
            out.push_str(name);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
    }

    /// Renders into `prefix` the start of lines for `name` + `suffix` with the constant labels
    /// and `labels`; finish each line with [`line`](Self::line).
    pub(crate) fn line_prefix(
        &self,
        prefix: &mut LinePrefix,
        name: &str,
        suffix: &str,
        labels: &str,
    ) {
        prefix.text.clear();
        prefix.text.push_str(name);
        prefix.text.push_str(suffix);
        prefix.open = false;
        for part in [self.const_labels, labels] {
            if !part.is_empty() {
                prefix.text.push(if prefix.open { ',' } else { '{' });
                prefix.text.push_str(part);
                prefix.open = true;
            }
        }
    }

    /// Writes `prefix`, `tail` (from [`LinePrefix::extra_label_tail`] or
    /// [`LinePrefix::plain_tail`]), the value and a newline.
    #[inline]
    pub(crate) fn line(&mut self, prefix: &LinePrefix, tail: &str, value: Value) {
        let out = &mut *self.out;
        out.push_str(&prefix.text);
        out.push_str(tail);
        push_value(out, value);
        out.push('\n');
    }

    /// Like [`line`](Self::line), with ` # ` and `annotation` after the value: an OpenMetrics
    /// exemplar (`{labels} value timestamp`).
    pub(crate) fn line_with(
        &mut self,
        prefix: &LinePrefix,
        tail: &str,
        value: Value,
        annotation: &str,
    ) {
        let out = &mut *self.out;
        out.push_str(&prefix.text);
        out.push_str(tail);
        push_value(out, value);
        out.push_str(" # ");
        out.push_str(annotation);
        out.push('\n');
    }

    /// Writes one sample line: `name` + `suffix`, the constant labels, `labels` (pre-rendered,
    /// may be empty), an optional extra label (e.g. `le`), and the value.
    #[inline]
    pub(crate) fn sample(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &str,
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        let out = &mut *self.out;
        out.push_str(name);
        out.push_str(suffix);
        let mut first = true;
        for part in [self.const_labels, labels] {
            if part.is_empty() {
                continue;
            }
            out.push(if first { '{' } else { ',' });
            out.push_str(part);
            first = false;
        }
        if let Some((key, label_value)) = extra {
            out.push(if first { '{' } else { ',' });
            out.push_str(key);
            out.push_str("=\"");
            out.push_str(label_value);
            out.push('"');
            first = false;
        }
        if !first {
            out.push('}');
        }
        out.push(' ');
        push_value(out, value);
        out.push('\n');
    }
}

#[inline]
fn push_value(out: &mut String, value: Value) {
    match value {
        Value::Unsigned(v) => out.push_str(itoa::Buffer::new().format(v)),
        Value::Signed(v) => out.push_str(itoa::Buffer::new().format(v)),
        Value::Float(v) => push_float(out, v),
    }
}

/// The start of sample lines repeated for one series (`name{labels`), rendered once per scrape
/// so each line costs a few copies instead of one per label. See [`TextWriter::line_prefix`].
#[derive(Debug, Default)]
pub(crate) struct LinePrefix {
    text: String,
    /// Whether `text` opened a `{` that each line must close.
    open: bool,
}

impl LinePrefix {
    /// What follows the prefix for an extra label `key="value"` and the value's separator.
    pub(crate) fn extra_label_tail(&self, key: &str, value: &str) -> String {
        let opening = if self.open { ',' } else { '{' };
        format!("{opening}{key}=\"{value}\"}} ")
    }

    /// What follows the prefix when no label is added.
    pub(crate) fn plain_tail(&self) -> &'static str {
        if self.open {
            "} "
        } else {
            " "
        }
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value {
    /// A count.
    Unsigned(u64),
    /// A gauge that may go negative.
    Signed(i64),
    /// A float (sums, ratios).
    Float(f64),
}

/// Formats a float as both text formats spell it (`+Inf`, `-Inf`, `NaN`, else shortest repr).
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        out.push_str(dtoa::Buffer::new().format_finite(value));
    }
}

/// Renders `name="value"` pairs as they appear between braces, escaping values.
pub(crate) fn render_labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push('=');
        super::escaping::push_quoted(&mut out, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_in_both_formats() {
        let mut out = String::new();
        let mut w = TextWriter::new(&mut out, Format::PrometheusText, "env=\"prod\"");
        w.family("req", Kind::Counter, "Requests.", None);
        w.sample("req", "_total", "a=\"1\"", None, Value::Unsigned(3));
        w.family("lat_seconds", Kind::Histogram, "Latency.", Some("seconds"));
        w.sample(
            "lat_seconds",
            "_bucket",
            "",
            Some(("le", "+Inf")),
            Value::Unsigned(1),
        );
        w.sample("lat_seconds", "_sum", "", None, Value::Float(0.5));
        assert_eq!(
            out,
            "# HELP req_total Requests.\n# TYPE req_total counter\nreq_total{env=\"prod\",a=\"1\"} 3\n\
             # HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
             lat_seconds_bucket{env=\"prod\",le=\"+Inf\"} 1\nlat_seconds_sum{env=\"prod\"} 0.5\n"
        );
        let mut om = String::new();
        let mut w = TextWriter::new(&mut om, Format::OpenMetrics, "");
        w.family("lat_seconds", Kind::Histogram, "Latency.", Some("seconds"));
        w.sample("g", "", "", None, Value::Signed(-2));
        assert!(om.contains("# UNIT lat_seconds seconds\n"));
        assert!(om.ends_with("g -2\n"));
    }

    #[test]
    fn help_is_escaped_as_each_format_requires() {
        let help = "Jobs run.\nSecond line, from C:\\jobs \"nightly\"";
        let mut text = String::new();
        TextWriter::new(&mut text, Format::PrometheusText, "").family("q", Kind::Gauge, help, None);
        assert!(
            text.starts_with("# HELP q Jobs run.\\nSecond line, from C:\\\\jobs \"nightly\"\n"),
            "{text}"
        );
        let mut om = String::new();
        TextWriter::new(&mut om, Format::OpenMetrics, "").family("q", Kind::Gauge, help, None);
        assert!(
            om.starts_with("# HELP q Jobs run.\\nSecond line, from C:\\\\jobs \\\"nightly\\\"\n"),
            "{om}"
        );
        assert_eq!(om.lines().count(), 2, "{om}");
    }

    #[test]
    fn line_prefixes_render_the_same_lines_as_samples() {
        for (consts, labels) in [
            ("", ""),
            ("e=\"1\"", ""),
            ("", "a=\"b\""),
            ("e=\"1\"", "a=\"b\""),
        ] {
            let (mut by_sample, mut by_prefix) = (String::new(), String::new());
            let mut w = TextWriter::new(&mut by_sample, Format::OpenMetrics, consts);
            w.sample(
                "h",
                "_bucket",
                labels,
                Some(("le", "0.5")),
                Value::Unsigned(2),
            );
            w.sample("h", "_sum", labels, None, Value::Float(1.5));
            let mut w = TextWriter::new(&mut by_prefix, Format::OpenMetrics, consts);
            let mut bucket = LinePrefix::default();
            w.line_prefix(&mut bucket, "h", "_bucket", labels);
            let tail = bucket.extra_label_tail("le", "0.5");
            w.line(&bucket, &tail, Value::Unsigned(2));
            let mut sum = LinePrefix::default();
            w.line_prefix(&mut sum, "h", "_sum", labels);
            w.line(&sum, sum.plain_tail(), Value::Float(1.5));
            assert_eq!(by_sample, by_prefix);
        }
    }

    #[test]
    fn escapes_label_values_and_formats_special_floats() {
        assert_eq!(
            render_labels([("a", "x\"y\\z\nw"), ("b", "")]),
            "a=\"x\\\"y\\\\z\\nw\",b=\"\""
        );
        let mut out = String::new();
        for v in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.0, 0.005] {
            push_float(&mut out, v);
            out.push(' ');
        }
        assert_eq!(out, "+Inf -Inf NaN 1.0 0.005 ");
    }
}
