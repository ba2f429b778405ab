//! The `http_server_*` families, described once: both encoders (the fast text writer in
//! `text.rs` and the prometheus-client `Collector` in `collector.rs`) write [`FAMILIES`] in
//! order, taking name, type, unit and help from here. A family added later is a row here and,
//! if its values come from somewhere new, a [`Values`] variant.

use std::sync::atomic::Ordering;

use prometheus_client::registry::Unit;

use super::exemplar::ExemplarSlot;
use super::labels;
use super::series::Series;
use super::series_store::SeriesStore;
use super::server_metrics::ServerState;
use crate::encoding::Kind;
use crate::metric::HistogramCore;

/// One family of the HTTP server metrics.
#[derive(Debug)]
pub(super) struct Family {
    /// The name without the unit or `_total` suffix (the encoders add them).
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    pub(super) unit: Option<Unit>,
    /// With a final period: the encoders write it as given.
    pub(super) help: &'static str,
    /// The labels its series may carry (besides the registry's constant labels): what the
    /// family is, for a reader; the tests check every scrape against it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) labels: &'static [&'static str],
    pub(super) values: Values,
    pub(super) when: When,
}

/// When a family is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    Always,
    /// Only with [`time_to_first_byte`](super::HttpServerMetricsBuilder::time_to_first_byte) on.
    TimeToFirstByte,
    /// Unless [`request_counter`](super::HttpServerMetricsBuilder::request_counter) is off.
    RequestCounter,
}

/// Where a family's samples come from.
#[derive(Debug)]
pub(super) enum Values {
    /// A histogram per request series (a series without one is skipped).
    SeriesHistogram(SeriesHistogram),
    /// A counter per request series: the count of its duration histogram as written in the
    /// same scrape (so it comes after that family), never a reading of its own.
    SeriesCount,
    /// A gauge per method: the requests in flight (a method never seen is not written).
    InFlightByMethod,
    /// One unlabelled number of the whole server.
    Single(fn(&Readings) -> Number),
}

/// Which histogram of a request series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SeriesHistogram {
    /// The request duration, whose count is also the request counter.
    Duration,
    /// The time to first byte, kept by series of requests that sent a status when the option
    /// is on.
    FirstByte,
}

impl SeriesHistogram {
    pub(super) fn of(self, series: &Series) -> Option<&HistogramCore> {
        match self {
            Self::Duration => Some(&series.duration),
            Self::FirstByte => series.first_byte.as_deref(),
        }
    }

    /// The bucket exemplars of this histogram of `series` (only the duration keeps them).
    pub(super) fn exemplars_of(self, series: &Series) -> Option<&[ExemplarSlot]> {
        match self {
            Self::Duration => series.exemplars.get().map(|slots| &slots[..]),
            Self::FirstByte => None,
        }
    }
}

/// The unlabelled numbers of one scrape, read once.
#[derive(Debug)]
pub(super) struct Readings {
    pub(super) open_connections: i64,
    pub(super) accepted_connections: u64,
    /// The overflow series' request count, as written in this scrape (so the overflow
    /// counter comes after the duration family).
    pub(super) overflowed: u64,
}

impl Readings {
    /// The numbers of `state` now; `totals` are the duration counts the scrape wrote, one per
    /// series of its list, the overflow series (when `has_overflow`) last.
    pub(super) fn read(state: &ServerState, totals: &[u64], has_overflow: bool) -> Self {
        Self {
            open_connections: state.connections.open.load(Ordering::Relaxed),
            accepted_connections: state.connections.accepted.load(Ordering::Relaxed),
            overflowed: if has_overflow {
                totals.last().copied().unwrap_or(0)
            } else {
                0
            },
        }
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Number {
    Unsigned(u64),
    Signed(i64),
}

impl Family {
    /// Whether the family is written, given the options of `store`.
    pub(super) fn is_written(&self, store: &SeriesStore) -> bool {
        match self.when {
            When::Always => true,
            When::TimeToFirstByte => store.first_byte,
            When::RequestCounter => store.request_counter,
        }
    }
}

/// The labels of a request series.
const SERIES: &[&str] = labels::SERIES;

/// Every HTTP server family, in the order both encoders write them.
pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "http_server_request_duration",
        kind: Kind::Histogram,
        unit: Some(Unit::Seconds),
        help: "Duration of HTTP server requests, from request received to end of response body.",
        labels: SERIES,
        values: Values::SeriesHistogram(SeriesHistogram::Duration),
        when: When::Always,
    },
    Family {
        name: "http_server_time_to_first_byte",
        kind: Kind::Histogram,
        unit: Some(Unit::Seconds),
        help: "Time from request received to response head ready (status and headers, before the body).",
        labels: SERIES,
        values: Values::SeriesHistogram(SeriesHistogram::FirstByte),
        when: When::TimeToFirstByte,
    },
    Family {
        name: "http_server_requests",
        kind: Kind::Counter,
        unit: None,
        help: "Completed HTTP server requests (equals the duration histogram's count).",
        labels: SERIES,
        values: Values::SeriesCount,
        when: When::RequestCounter,
    },
    Family {
        name: "http_server_active_requests",
        kind: Kind::Gauge,
        unit: None,
        help: "HTTP server requests received and not yet finished.",
        labels: &[labels::METHOD],
        values: Values::InFlightByMethod,
        when: When::Always,
    },
    Family {
        name: "http_server_active_connections",
        kind: Kind::Gauge,
        unit: None,
        help: "Open HTTP server connections.",
        labels: &[],
        values: Values::Single(|r| Number::Signed(r.open_connections)),
        when: When::Always,
    },
    Family {
        name: "http_server_connections",
        kind: Kind::Counter,
        unit: None,
        help: "Accepted HTTP server connections.",
        labels: &[],
        values: Values::Single(|r| Number::Unsigned(r.accepted_connections)),
        when: When::Always,
    },
    Family {
        name: "http_server_request_overflow",
        kind: Kind::Counter,
        unit: None,
        help: "HTTP server requests recorded in the overflow series because the label-set cap was reached.",
        labels: &[],
        values: Values::Single(|r| Number::Unsigned(r.overflowed)),
        when: When::Always,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_carry_no_suffix_the_encoders_add() {
        for (index, family) in FAMILIES.iter().enumerate() {
            assert!(family.name.starts_with("http_server_"), "{}", family.name);
            assert!(!family.name.ends_with("_total"), "{}", family.name);
            assert!(!family.name.ends_with("_seconds"), "{}", family.name);
            assert!(family.help.ends_with('.'), "{}", family.name);
            assert!(!family.help.ends_with(".."), "{}", family.name);
            let later = &FAMILIES[index + 1..];
            assert!(later.iter().all(|f| f.name != family.name));
        }
    }

    /// Every sample of an `http_server_*` family carries only the labels its row names (and
    /// `le` for buckets), in both encoders and formats.
    #[test]
    fn scrapes_carry_the_labels_the_table_names() {
        use crate::http::{GrpcStatusLabel, HttpServerMetrics, Outcome};
        use crate::{Format, MetricsRegistry};

        let fast = MetricsRegistry::builder().process_metrics(false).build();
        let fast = fast.expect("registry");
        let collected = MetricsRegistry::builder().process_metrics(false).build();
        let collected = collected.expect("registry");
        let builder = || {
            HttpServerMetrics::builder()
                .time_to_first_byte(true)
                .network_protocol_version(true)
                .max_label_sets(3)
        };
        let http = [builder().register(&fast), builder().build()];
        collected.register_collector(http[1].clone());
        for http in &http {
            for route in ["/a", "/b", "/c", "/d"] {
                let mut request = http.start_request(&http::Method::POST, Some(route));
                request.set_url_scheme(crate::http::UrlScheme::Https);
                request.set_network_protocol_version(http::Version::HTTP_2);
                request.set_status(500);
                request.set_grpc_status(GrpcStatusLabel::from_code(14));
                request.finish(Outcome::Completed);
            }
            drop(http.open_connection());
        }
        let mut seen = std::collections::HashSet::new();
        for registry in [&fast, &collected] {
            for format in [Format::PrometheusText, Format::OpenMetrics] {
                let text = registry.encode(format).expect("encode");
                for line in text.lines().filter(|l| l.starts_with("http_server_")) {
                    let name_end = line.find(['{', ' ']).expect("a sample");
                    let name = &line[..name_end];
                    let family = FAMILIES
                        .iter()
                        .filter(|f| name.starts_with(f.name))
                        .max_by_key(|f| f.name.len())
                        .expect("a family of the table");
                    seen.insert(family.name);
                    let labels = line[name_end..].split_once('}').map_or("", |(l, _)| l);
                    for pair in labels.trim_start_matches('{').split(',') {
                        let Some((label, _)) = pair.split_once('=') else {
                            continue;
                        };
                        let bucket = name.ends_with("_bucket") && label == "le";
                        assert!(bucket || family.labels.contains(&label), "{line}");
                    }
                }
            }
        }
        assert_eq!(seen.len(), FAMILIES.len(), "{seen:?}");
    }

    /// Without the request counter, every other family is still written, and the duration
    /// histogram's `_count` carries the same numbers the counter would.
    #[test]
    fn the_request_counter_can_be_left_out() {
        use crate::http::{HttpServerMetrics, Outcome};
        use crate::{Format, MetricsRegistry};

        let registry = MetricsRegistry::builder().process_metrics(false).build();
        let registry = registry.expect("registry");
        let http = HttpServerMetrics::builder()
            .request_counter(false)
            .register(&registry);
        let mut request = http.start_request(&http::Method::GET, Some("/a"));
        request.set_status(200);
        request.finish(Outcome::Completed);
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let text = registry.encode(format).expect("encode");
            assert!(!text.contains("http_server_requests"), "{text}");
            let count = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                         http_route=\"/a\",http_response_status_code=\"200\",url_scheme=\"http\"} 1";
            assert!(text.contains(count), "{text}");
            assert!(text.contains("http_server_active_requests"), "{text}");
        }
        let collected = MetricsRegistry::builder().process_metrics(false).build();
        let collected = collected.expect("registry");
        collected.register_collector(HttpServerMetrics::builder().request_counter(false).build());
        let text = collected.encode(Format::PrometheusText).expect("encode");
        assert!(!text.contains("http_server_requests"), "{text}");
        assert!(
            text.contains("http_server_request_duration_seconds"),
            "{text}"
        );
    }

    #[test]
    fn the_counts_are_written_before_the_counters_made_of_them() {
        let duration = FAMILIES
            .iter()
            .position(|f| matches!(f.values, Values::SeriesHistogram(SeriesHistogram::Duration)));
        let duration = duration.expect("a duration family");
        for (index, family) in FAMILIES.iter().enumerate() {
            if matches!(family.values, Values::SeriesCount | Values::Single(_)) {
                assert!(index > duration, "{}", family.name);
            }
        }
    }
}
