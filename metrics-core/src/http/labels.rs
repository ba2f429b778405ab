//! The labels of a request series: their names, and their values rendered once per series.

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use super::series_key::RequestLabels;
use super::{GrpcStatusLabel, MethodLabel, Outcome};
use crate::encoding::render_labels;

pub(super) const METHOD: &str = "http_request_method";
pub(super) const ROUTE: &str = "http_route";
pub(super) const STATUS: &str = "http_response_status_code";
/// The label of gRPC requests' status (OpenTelemetry's `rpc.grpc.status_code`).
pub(super) const GRPC_STATUS: &str = "rpc_grpc_status_code";
pub(super) const ERROR_TYPE: &str = "error_type";
/// The one label of the overflow series (the OpenTelemetry SDK's overflow attribute).
pub(super) const OVERFLOW: &str = "otel_metric_overflow";

/// Every label a request series may carry, in the order they are written.
pub(super) const SERIES: &[&str] = &[METHOD, ROUTE, STATUS, GRPC_STATUS, ERROR_TYPE, OVERFLOW];

/// The label values of one series, rendered once when the series is created.
#[derive(Debug)]
pub(crate) struct SeriesLabels {
    pub(crate) route: Arc<str>,
    pub(crate) method: MethodLabel,
    pub(crate) status: Option<Box<str>>,
    pub(crate) grpc_status: Option<GrpcStatusLabel>,
    pub(crate) error_type: Option<Box<str>>,
}

impl SeriesLabels {
    pub(crate) fn new(route: Arc<str>, request: RequestLabels) -> Self {
        let RequestLabels {
            method,
            status,
            grpc_status,
            outcome,
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
        }
    }

    /// The `(name, value)` pairs, in the order both encoders write them.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        [
            Some((METHOD, self.method.as_str())),
            Some((ROUTE, &*self.route)),
            self.status.as_deref().map(|status| (STATUS, status)),
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
