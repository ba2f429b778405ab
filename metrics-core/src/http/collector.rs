//! Encoding the HTTP server families through prometheus-client: [`FAMILIES`] as a `Collector`.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::families::{Number, Readings, SeriesHistogram, Values, FAMILIES};
use super::series::Series;
use super::server_metrics::HttpServerMetrics;
use super::{labels, MethodLabel};
use crate::encoding::Kind;
use crate::metric::{encode_snapshot, HistogramSnapshot};

impl Collector for HttpServerMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let state = &self.state;
        let store = &state.store;
        // Every duration read once, first: the request counter and the overflow counter are
        // written from these readings.
        let rows = self.snapshot();
        let overflow = store.overflow.duration.snapshot();
        let overflowed = overflow.count();
        let overflow_row = (overflowed > 0).then_some((&store.overflow, &overflow));
        let all_rows = || {
            rows.iter()
                .map(|(series, snapshot)| (&**series, snapshot))
                .chain(overflow_row)
        };
        let readings = Readings {
            open_connections: state.connections.open.load(Ordering::Relaxed),
            accepted_connections: state.connections.accepted.load(Ordering::Relaxed),
            overflowed,
        };

        for family in FAMILIES.iter().filter(|f| f.is_written(store)) {
            let metric_type = match family.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut descriptor = encoder.encode_descriptor(
                family.name,
                family.help,
                family.unit.as_ref(),
                metric_type,
            )?;
            match family.values {
                Values::SeriesHistogram(SeriesHistogram::Duration) => {
                    for (series, snapshot) in all_rows() {
                        let mut encoder = descriptor.encode_family(&series.labels)?;
                        encode_snapshot(&store.buckets, snapshot, &mut encoder)?;
                    }
                }
                Values::SeriesHistogram(which) => {
                    for (series, _) in all_rows() {
                        let Some(histogram) = which.of(series) else {
                            continue;
                        };
                        let mut encoder = descriptor.encode_family(&series.labels)?;
                        encode_snapshot(&store.buckets, &histogram.snapshot(), &mut encoder)?;
                    }
                }
                Values::SeriesCount => {
                    for (series, snapshot) in all_rows() {
                        descriptor
                            .encode_family(&series.labels)?
                            .encode_counter::<NoLabelSet, _, u64>(&snapshot.count(), None)?;
                    }
                }
                Values::InFlightByMethod => {
                    let in_flight = state.in_flight();
                    for method in MethodLabel::ALL {
                        // Only methods that had a request: an idle method is not exported.
                        if let Some(value) = in_flight[method.index()] {
                            let labels = [(labels::METHOD, method.as_str())];
                            descriptor.encode_family(&labels)?.encode_gauge(&value)?;
                        }
                    }
                }
                Values::Single(read) => {
                    let value = read(&readings);
                    if family.kind == Kind::Counter {
                        let value = match value {
                            Number::Unsigned(value) => value,
                            Number::Signed(value) => u64::try_from(value).unwrap_or(0),
                        };
                        descriptor.encode_counter::<NoLabelSet, _, u64>(&value, None)?;
                    } else {
                        let value = match value {
                            Number::Unsigned(value) => i64::try_from(value).unwrap_or(i64::MAX),
                            Number::Signed(value) => value,
                        };
                        descriptor.encode_gauge(&value)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl HttpServerMetrics {
    /// Every regular series with a snapshot of its duration histogram, ordered by route then
    /// key, so the histogram and the counter are encoded from the same numbers.
    pub(super) fn snapshot(&self) -> Vec<(Arc<Series>, HistogramSnapshot)> {
        let mut all = self.state.store.series.values();
        all.sort_by(|a, b| a.route_name().cmp(b.route_name()).then(a.key.cmp(&b.key)));
        all.into_iter()
            .map(|series| {
                let snapshot = series.duration.snapshot();
                (series, snapshot)
            })
            .collect()
    }
}
