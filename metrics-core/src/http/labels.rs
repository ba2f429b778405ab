//! The labels of a request series: their names, and their values rendered once per series.

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use super::protocol_version::ProtocolVersionLabel;
use super::series_key::RequestLabels;
use super::{GrpcStatusLabel, MethodLabel, Outcome, UrlScheme};
use crate::encoding::render_labels;

pub(super) const METHOD: &str = "http_request_method";
pub(super) const ROUTE: &str = "http_route";
pub(super) const STATUS: &str = "http_response_status_code";
/// The label of gRPC requests' status (OpenTelemetry's `rpc.grpc.status_code`).
pub(super) const GRPC_STATUS: &str = "rpc_grpc_status_code";
pub(super) const ERROR_TYPE: &str = "error_type";
/// OpenTelemetry's `url.scheme`: required on the request duration.
pub(super) const URL_SCHEME: &str = "url_scheme";
/// OpenTelemetry's `network.protocol.version`: only with the builder's option on.
pub(super) const PROTOCOL_VERSION: &str = "network_protocol_version";
/// The one label of the overflow series (the OpenTelemetry SDK's overflow attribute).
pub(super) const OVERFLOW: &str = "otel_metric_overflow";

/// Every label a request series may carry, in the order they are written.
pub(super) const SERIES: &[&str] = &[
    METHOD,
    ROUTE,
    STATUS,
    URL_SCHEME,
    PROTOCOL_VERSION,
    GRPC_STATUS,
    ERROR_TYPE,
    OVERFLOW,
];

/// The label values of one series, rendered once when the series is created.
#[derive(Debug)]
pub(crate) struct SeriesLabels {
    /// Empty for requests that matched no route: they have no `http_route` label.
    pub(crate) route: Arc<str>,
    pub(crate) method: MethodLabel,
    pub(crate) status: Option<Box<str>>,
    pub(crate) grpc_status: Option<GrpcStatusLabel>,
    pub(crate) error_type: Option<Box<str>>,
    pub(crate) url_scheme: UrlScheme,
    pub(crate) protocol_version: Option<ProtocolVersionLabel>,
}

impl SeriesLabels {
    pub(crate) fn new(route: Arc<str>, request: RequestLabels) -> Self {
        let RequestLabels {
            method,
            status,
            grpc_status,
            outcome,
            url_scheme,
            protocol_version,
        } = request;
        let error_type = match outcome {
            Outcome::Aborted => Some("aborted".into()),
            Outcome::Failed => Some("_OTHER".into()),
            // OpenTelemetry: a 5xx response is an error whose type is the status code, and so
            // is a gRPC status that is the server's failure (the call itself answers 200).
            Outcome::Completed => status
                .filter(|code| *code >= 500)
                .map(|code| code.to_string().into())
                .or_else(|| {
                    grpc_status
                        .filter(|grpc| grpc.is_server_error())
                        .map(|grpc| grpc.as_str().into())
                }),
        };
        Self {
            route,
            method,
            status: status.map(|code| code.to_string().into()),
            grpc_status,
            error_type,
            url_scheme,
            protocol_version,
        }
    }

    /// The `(name, value)` pairs, in the order both encoders write them.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        [
            Some((METHOD, self.method.as_str())),
            // OpenTelemetry's `http.route` is "Conditionally Required: If and only if it's
            // available": a request that matched no route has none.
            (!self.route.is_empty()).then_some((ROUTE, &*self.route)),
            self.status.as_deref().map(|status| (STATUS, status)),
            Some((URL_SCHEME, self.url_scheme.as_str())),
            self.protocol_version
                .map(|version| (PROTOCOL_VERSION, version.as_str())),
            self.grpc_status.map(|grpc| (GRPC_STATUS, grpc.as_str())),
            self.error_type.as_deref().map(|error| (ERROR_TYPE, error)),
        ]
        .into_iter()
        .flatten()
    }
}

impl EncodeLabelSet for SeriesLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        for pair in self.pairs() {
            pair.encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// The labels of a series: its own, or the one set that new series fold into once the
/// cardinality cap is reached (the OpenTelemetry SDK's overflow attribute, rendered the
/// Prometheus way).
#[derive(Debug)]
pub(crate) enum SeriesLabelSet {
    Regular(SeriesLabels),
    Overflow,
}

impl SeriesLabelSet {
    /// Calls `f` with each `(name, value)` pair, in the order the encoders write them.
    #[cfg(feature = "protobuf")]
    pub(super) fn for_each_pair(&self, mut f: impl FnMut(&str, &str)) {
        match self {
            Self::Overflow => f(OVERFLOW, "true"),
            Self::Regular(labels) => labels.pairs().for_each(|(name, value)| f(name, value)),
        }
    }

    /// The labels as the text encoders write them between braces.
    pub(super) fn render(&self) -> String {
        match self {
            Self::Overflow => render_labels([(OVERFLOW, "true")]),
            Self::Regular(labels) => render_labels(labels.pairs()),
        }
    }
}

impl EncodeLabelSet for SeriesLabelSet {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        match self {
            Self::Regular(labels) => labels.encode(encoder),
            Self::Overflow => (OVERFLOW, "true").encode(encoder.encode_label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::http::{HttpServerMetrics, Outcome, UNMATCHED_ROUTE};
    use crate::{Format, MetricsRegistry};

    /// A request that matched no route has no `http_route` label (OpenTelemetry: "If and only
    /// if it's available"), in both encoders; an empty template is the same series.
    #[test]
    fn requests_without_a_route_have_no_route_label() {
        let fast = MetricsRegistry::builder().process_metrics(false).build();
        let fast = fast.expect("registry");
        let collected = MetricsRegistry::builder().process_metrics(false).build();
        let collected = collected.expect("registry");
        let http = [
            HttpServerMetrics::builder().register(&fast),
            HttpServerMetrics::builder().build(),
        ];
        collected.register_collector(http[1].clone());
        for http in &http {
            assert_eq!(http.route(None).name(), UNMATCHED_ROUTE);
            assert_eq!(http.route(Some("")).name(), UNMATCHED_ROUTE);
            for route in [None, Some(""), None] {
                let mut request = http.start_request(&http::Method::GET, route);
                request.set_status(404);
                request.finish(Outcome::Completed);
            }
        }
        for registry in [&fast, &collected] {
            let text = registry.encode(Format::PrometheusText).expect("encode");
            let line = "http_server_requests_total{http_request_method=\"GET\",\
                        http_response_status_code=\"404\",url_scheme=\"http\"} 3";
            assert!(text.contains(line), "{text}");
            assert!(!text.contains("http_route"), "{text}");
        }
    }
}
