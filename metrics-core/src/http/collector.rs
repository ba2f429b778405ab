//! Encoding the HTTP server families through prometheus-client.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::series::Series;
use super::server_metrics::HttpServerMetrics;
use super::MethodLabel;
use crate::metric::{encode_snapshot, HistogramSnapshot};

pub(super) const DURATION_HELP: &str =
    "Duration of HTTP server requests, from request received to end of response body.";
pub(super) const FIRST_BYTE_HELP: &str =
    "Time from request received to response head ready (status and headers, before the body).";
pub(super) const REQUESTS_HELP: &str =
    "Completed HTTP server requests (equals the duration histogram's count).";
pub(super) const ACTIVE_REQUESTS_HELP: &str = "HTTP server requests received and not yet finished.";
pub(super) const ACTIVE_CONNECTIONS_HELP: &str = "Open HTTP server connections.";
pub(super) const CONNECTIONS_HELP: &str = "Accepted HTTP server connections.";
pub(super) const OVERFLOW_HELP: &str =
    "HTTP server requests recorded in the overflow series because the label-set cap was reached.";

impl Collector for HttpServerMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let counters = &self.shared.counters;
        let rows = self.snapshot();
        let overflow = counters.overflow_series.duration.snapshot();
        let overflowed = overflow.count();
        let overflow_row =
            (overflowed > 0).then_some((&counters.overflow_series.labels, &overflow));
        let all_rows = || {
            rows.iter()
                .map(|(series, snapshot)| (&series.labels, snapshot))
                .chain(overflow_row)
        };

        let mut duration = encoder.encode_descriptor(
            "http_server_request_duration",
            DURATION_HELP,
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (labels, snapshot) in all_rows() {
            let mut family = duration.encode_family(labels)?;
            encode_snapshot(&counters.buckets, snapshot, &mut family)?;
        }

        if counters.first_byte {
            let mut first_byte = encoder.encode_descriptor(
                "http_server_time_to_first_byte",
                FIRST_BYTE_HELP,
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            let overflow_row = (overflowed > 0).then_some(&counters.overflow_series);
            for series in rows.iter().map(|(series, _)| &**series).chain(overflow_row) {
                let Some(histogram) = &series.first_byte else {
                    continue;
                };
                let mut family = first_byte.encode_family(&series.labels)?;
                encode_snapshot(&counters.buckets, &histogram.snapshot(), &mut family)?;
            }
        }

        let mut requests = encoder.encode_descriptor(
            "http_server_requests",
            REQUESTS_HELP,
            None,
            MetricType::Counter,
        )?;
        for (labels, snapshot) in all_rows() {
            requests
                .encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(&snapshot.count(), None)?;
        }

        let mut active = encoder.encode_descriptor(
            "http_server_active_requests",
            ACTIVE_REQUESTS_HELP,
            None,
            MetricType::Gauge,
        )?;
        let in_flight = self.shared.in_flight();
        for method in MethodLabel::ALL {
            // Only methods that had a request: an idle method is not exported.
            if let Some(value) = in_flight[method.index()] {
                let labels = [("http_request_method", method.as_str())];
                active.encode_family(&labels)?.encode_gauge(&value)?;
            }
        }

        let connections = counters.active_connections.load(Ordering::Relaxed);
        encoder
            .encode_descriptor(
                "http_server_active_connections",
                ACTIVE_CONNECTIONS_HELP,
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&connections)?;
        let accepted = counters.connections_total.load(Ordering::Relaxed);
        encoder
            .encode_descriptor(
                "http_server_connections",
                CONNECTIONS_HELP,
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&accepted, None)?;
        encoder
            .encode_descriptor(
                "http_server_request_overflow",
                OVERFLOW_HELP,
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&overflowed, None)?;
        Ok(())
    }
}

impl HttpServerMetrics {
    /// Every regular series with a snapshot of its histogram, ordered by route then key, so the
    /// histogram and the counter are encoded from the same numbers.
    pub(super) fn snapshot(&self) -> Vec<(Arc<Series>, HistogramSnapshot)> {
        let mut all = self.shared.counters.series.values();
        all.sort_by(|a, b| a.route_name().cmp(b.route_name()).then(a.key.cmp(&b.key)));
        all.into_iter()
            .map(|series| {
                let snapshot = series.duration.snapshot();
                (series, snapshot)
            })
            .collect()
    }
}
