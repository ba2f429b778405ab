//! A strict-enough parser of Prometheus text 0.0.4 for asserting on exact values.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name of the sample, e.g. `http_server_requests_total`.
    pub name: String,
    /// Label pairs.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// The labels of a request series that completed: method, route, status and `url_scheme`
/// (`http`, the layer's default), as the layer writes them.
pub fn request_labels<'a>(
    method: &'a str,
    route: &'a str,
    status: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("http_request_method", method),
        ("http_route", route),
        ("http_response_status_code", status),
        ("url_scheme", "http"),
    ]
}

/// The labels of a completed request that matched no route: as [`request_labels`] without
/// `http_route` (the layer omits it, as OpenTelemetry's conventions do).
pub fn unmatched_request_labels<'a>(method: &'a str, status: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("http_request_method", method),
        ("http_response_status_code", status),
        ("url_scheme", "http"),
    ]
}

/// A parsed scrape.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// `# TYPE` lines: name to type.
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses 0.0.4 text; panics with the offending line on a syntax error (tests only).
    pub fn parse(text: &str) -> Self {
        let mut scrape = Scrape::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE line");
                scrape.types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            scrape.samples.push(parse_sample(line));
        }
        scrape
    }

    /// Samples named `name` whose labels include every pair of `filter`; as in PromQL, a pair
    /// with an empty value matches samples without that label.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        filter: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && filter
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map_or("", String::as_str) == *v)
        })
    }

    /// The value of the one sample named `name` whose labels are exactly `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Sum of the samples named `name` whose labels include `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.matching(name, filter).map(|s| s.value).sum()
    }

    /// Number of samples named `name` whose labels include `filter`.
    pub fn count(&self, name: &str, filter: &[(&str, &str)]) -> usize {
        self.matching(name, filter).count()
    }
}

fn parse_sample(line: &str) -> Sample {
    let bytes = line.as_bytes();
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("bad sample: {line}"));
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut i = name_end;
    if bytes[i] == b'{' {
        i += 1;
        while bytes[i] != b'}' {
            let eq = i + line[i..]
                .find('=')
                .unwrap_or_else(|| panic!("bad label: {line}"));
            let key = line[i..eq].to_owned();
            assert_eq!(bytes[eq + 1], b'"', "quote expected: {line}");
            i = eq + 2;
            let mut value = String::new();
            let mut chars = line[i..].char_indices();
            loop {
                let (offset, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("unterminated: {line}"));
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, other)) => value.push(other),
                        None => panic!("bad escape: {line}"),
                    },
                    '"' => {
                        i += offset + 1;
                        break;
                    }
                    other => value.push(other),
                }
            }
            labels.insert(key, value);
            if bytes[i] == b',' {
                i += 1;
            }
        }
        i += 1;
    }
    let value_text = line[i..]
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no value: {line}"));
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("bad value in: {line}")),
    };
    Sample {
        name,
        labels,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_with_escapes() {
        let s = Scrape::parse(
            "# TYPE a counter\na_total{x=\"1\",y=\"q\\\"}\"} 3\nb 1.5\nc_bucket{le=\"+Inf\"} 2\n",
        );
        assert_eq!(s.get("a_total", &[("x", "1"), ("y", "q\"}")]), Some(3.0));
        assert_eq!(s.get("b", &[]), Some(1.5));
        assert_eq!(s.sum("c_bucket", &[("le", "+Inf")]), 2.0);
        assert_eq!(s.count("a_total", &[("z", "")]), 1);
        assert_eq!(s.count("a_total", &[("x", "")]), 0);
        assert_eq!(s.types["a"], "counter");
    }
}
