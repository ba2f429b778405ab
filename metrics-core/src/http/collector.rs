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

const DURATION_HELP: &str =
    "Duration of HTTP server requests, from request received to end of response body.";
const REQUESTS_HELP: &str =
    "Completed HTTP server requests (equals the duration histogram's count).";
const ACTIVE_REQUESTS_HELP: &str = "HTTP server requests received and not yet finished.";
const ACTIVE_CONNECTIONS_HELP: &str = "Open HTTP server connections.";
const CONNECTIONS_HELP: &str = "Accepted HTTP server connections.";
const OVERFLOW_HELP: &str =
    "HTTP server requests recorded in the overflow series because the label-set cap was reached.";

impl Collector for HttpServerMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let shared = &self.shared;
        // One snapshot serves both the histogram and the counter, so they agree exactly.
        let mut series: Vec<(Arc<Series>, HistogramSnapshot)> = Vec::new();
        let routes = shared.routes.load();
        let mut slots: Vec<_> = routes.values().cloned().collect();
        slots.push(shared.unmatched.clone());
        slots.sort_by(|a, b| a.name.cmp(&b.name));
        for slot in &slots {
            let map = slot.series.load();
            let mut keyed: Vec<_> = map.iter().collect();
            keyed.sort_by_key(|(key, _)| **key);
            for (_, s) in keyed {
                series.push((s.clone(), s.duration.snapshot()));
            }
        }
        let overflow = shared.overflow_series.duration.snapshot();
        let overflowed = overflow.count();
        if overflowed > 0 {
            series.push((shared.overflow_series.clone(), overflow));
        }

        let mut duration = encoder.encode_descriptor(
            "http_server_request_duration",
            DURATION_HELP,
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (s, snapshot) in &series {
            let mut family = duration.encode_family(&s.labels)?;
            encode_snapshot(&shared.buckets, snapshot, &mut family)?;
        }

        let mut requests = encoder.encode_descriptor(
            "http_server_requests",
            REQUESTS_HELP,
            None,
            MetricType::Counter,
        )?;
        for (s, snapshot) in &series {
            requests
                .encode_family(&s.labels)?
                .encode_counter::<NoLabelSet, _, u64>(&snapshot.count(), None)?;
        }

        let mut active = encoder.encode_descriptor(
            "http_server_active_requests",
            ACTIVE_REQUESTS_HELP,
            None,
            MetricType::Gauge,
        )?;
        for method in MethodLabel::ALL {
            let index = method.index();
            if shared.methods_seen[index].load(Ordering::Relaxed) {
                let value = shared.active_requests[index].load(Ordering::Relaxed);
                let labels = [("http_request_method", method.as_str())];
                active.encode_family(&labels)?.encode_gauge(&value)?;
            }
        }

        let connections = shared.active_connections.load(Ordering::Relaxed);
        encoder
            .encode_descriptor(
                "http_server_active_connections",
                ACTIVE_CONNECTIONS_HELP,
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&connections)?;
        let accepted = shared.connections_total.load(Ordering::Relaxed);
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
