//! Rewrites prometheus-client's OpenMetrics text as Prometheus text format 0.0.4.
//!
//! prometheus-client 0.26 has its own 0.0.4 encoder (`encoding::prometheus_text`), but it cannot
//! serve the registry [`MetricsRegistry`](crate::MetricsRegistry) keeps: one help string serves
//! both formats, and the OpenMetrics encoder writes it as given, so the registry holds it escaped
//! for OpenMetrics; the upstream 0.0.4 encoder escapes it a second time (a help line `a\nb` would
//! read as `a\\nb`). Its histogram `le` values are also spelled differently from the OpenMetrics
//! ones (`1` against `1.0`), so a series would change identity with the format.
//!
//! The two formats share the sample syntax; they differ in the metadata: in 0.0.4, `# HELP` and
//! `# TYPE` name the *sample* family (a counter `foo` is `foo_total`, an info `foo` is the gauge
//! `foo_info`), there is no `# UNIT`, no `_created` sample, no exemplar, no `# EOF`, and timestamps are integer milliseconds.

use std::fmt::Write;

/// Appends the 0.0.4 rendering of the OpenMetrics text `openmetrics` to `out`.
pub(crate) fn openmetrics_to_prometheus_text(openmetrics: &str, out: &mut String) {
    out.reserve(openmetrics.len());
    let mut help: Option<(&str, &str)> = None;
    let mut family: Option<Family<'_>> = None;
    for line in openmetrics.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let (keyword, rest) = comment.split_once(' ').unwrap_or((comment, ""));
            match keyword {
                "HELP" => help = Some(rest.split_once(' ').unwrap_or((rest, ""))),
                "TYPE" => {
                    let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
                    let current = Family::new(name, kind);
                    let help_text = help.take().filter(|(n, _)| *n == name).map(|(_, h)| h);
                    current.write_metadata(help_text, out);
                    family = Some(current);
                }
                // UNIT, EOF and anything else have no 0.0.4 equivalent.
                _ => {}
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        write_sample(line, family.as_ref(), out);
    }
}

struct Family<'a> {
    name: &'a str,
    kind: &'a str,
}

impl<'a> Family<'a> {
    fn new(name: &'a str, kind: &'a str) -> Self {
        Self { name, kind }
    }

    fn write_metadata(&self, help: Option<&str>, out: &mut String) {
        let (suffix, kind) = match self.kind {
            "counter" => ("_total", "counter"),
            "info" => ("_info", "gauge"),
            "gauge" => ("", "gauge"),
            "histogram" => ("", "histogram"),
            "summary" => ("", "summary"),
            _ => ("", "untyped"),
        };
        if let Some(help) = help {
            let _ = write!(out, "# HELP {}{suffix} ", self.name);
            super::help::push_openmetrics_help_as_text(out, help);
            out.push('\n');
        }
        let _ = writeln!(out, "# TYPE {}{suffix} {kind}", self.name);
    }

    /// `_created` samples of counters, histograms and summaries do not exist in 0.0.4.
    fn drops(&self, sample_name: &str) -> bool {
        matches!(self.kind, "counter" | "histogram" | "summary")
            && sample_name
                .strip_prefix(self.name)
                .is_some_and(|suffix| suffix == "_created")
    }
}

fn write_sample(line: &str, family: Option<&Family<'_>>, out: &mut String) {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = &line[..name_end];
    if family.is_some_and(|f| f.drops(name)) {
        return;
    }
    let labels_end = if line[name_end..].starts_with('{') {
        name_end + closing_brace(&line[name_end..]).map_or(line.len() - name_end, |i| i + 1)
    } else {
        name_end
    };
    out.push_str(&line[..labels_end]);
    // After the labels: " value [timestamp] [# exemplar]"; values and timestamps hold no '#'.
    let rest = &line[labels_end..];
    let rest = rest
        .split_once(" # ")
        .map_or(rest, |(sample, _exemplar)| sample);
    let mut fields = rest.split_ascii_whitespace();
    if let Some(value) = fields.next() {
        out.push(' ');
        out.push_str(value);
    }
    if let Some(timestamp) = fields.next() {
        if let Ok(seconds) = timestamp.parse::<f64>() {
            let _ = write!(out, " {}", (seconds * 1000.0).round() as i64);
        }
    }
    out.push('\n');
}

/// Index of the `}` closing the label set that `s` is inside of, skipping quoted values.
pub(super) fn closing_brace(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, byte) in s.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'}' if !in_quotes => return Some(index),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(om: &str) -> String {
        let mut out = String::new();
        openmetrics_to_prometheus_text(om, &mut out);
        out
    }

    #[test]
    fn renames_counter_and_info_families_and_drops_unit_created_eof() {
        let om = "# HELP req Requests.\n# TYPE req counter\nreq_total 1\nreq_created 1.7e9\n\
                  # HELP build Build.\n# TYPE build info\nbuild_info{version=\"1\"} 1\n\
                  # HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n\
                  lat_seconds_sum 0.5\nlat_seconds_count 1\nlat_seconds_bucket{le=\"+Inf\"} 1\n# EOF\n";
        assert_eq!(
            convert(om),
            "# HELP req_total Requests.\n# TYPE req_total counter\nreq_total 1\n\
             # HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1\"} 1\n\
             # HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
             lat_seconds_sum 0.5\nlat_seconds_count 1\nlat_seconds_bucket{le=\"+Inf\"} 1\n"
        );
    }

    #[test]
    fn strips_exemplars_but_not_hashes_inside_label_values() {
        let om = "# TYPE a counter\na_total{path=\"x # } y\"} 2 # {trace_id=\"abc\"} 1.0 1.5\n";
        assert_eq!(
            convert(om),
            "# TYPE a_total counter\na_total{path=\"x # } y\"} 2\n"
        );
    }

    #[test]
    fn converts_timestamps_to_milliseconds() {
        let om = "# TYPE g gauge\ng 1 1700000000.123\n";
        assert_eq!(convert(om), "# TYPE g gauge\ng 1 1700000000123\n");
    }

    #[test]
    fn unknown_becomes_untyped_and_escaped_quotes_survive() {
        let om = "# TYPE u unknown\nu{a=\"q\\\"}\"} 1\n";
        assert_eq!(convert(om), "# TYPE u untyped\nu{a=\"q\\\"}\"} 1\n");
    }
}
