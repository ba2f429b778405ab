//! One label set of the request families and how it is keyed and labelled.

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

use super::{GrpcStatusLabel, MethodLabel};
use crate::encoding::render_labels;
use crate::metric::{Buckets, HistogramCore, Shard};

/// How a request ended, as far as the `error_type` label is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The response was sent completely. A 5xx status still gets `error_type="<status>"`.
    Completed,
    /// The client went away, or the request's future or body was dropped before the end.
    Aborted,
    /// The service or the response body returned an error.
    Failed,
}

impl Outcome {
    fn index(self) -> u32 {
        match self {
            Self::Completed => 0,
            Self::Aborted => 1,
            Self::Failed => 2,
        }
    }
}

/// A series within a route: method, status, gRPC status and outcome packed into one integer,
/// so finding it hashes a `u32`, never a string. A request carries its key and fills it in as it
/// goes (method at the start, status with the response head, gRPC status, outcome at the end).
///
/// Bits: 4 of method, 2 of outcome, 17 for the status plus one (0 is "no status", so any
/// `u16` fits), then 5 for the gRPC status label plus one (0 is "not gRPC").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SeriesKey(u32);

const OUTCOME_SHIFT: u32 = 4;
const STATUS_SHIFT: u32 = 6;
const STATUS_MASK: u32 = 0x1_ffff << STATUS_SHIFT;
const GRPC_SHIFT: u32 = 23;
const GRPC_MASK: u32 = 0x1f << GRPC_SHIFT;

impl SeriesKey {
    /// The key of the overflow series; no regular key has these bits.
    pub(crate) const OVERFLOW: SeriesKey = SeriesKey(u32::MAX);

    /// Where this key lives in a direct-mapped cache of `slots` entries (a power of two).
    #[inline]
    pub(crate) fn cache_index(self, slots: usize) -> usize {
        // Fibonacci hashing spreads the packed fields over the high bits.
        (self.0.wrapping_mul(0x9e37_79b9) >> 16) as usize & (slots - 1)
    }

    /// Whether the request sent a status (and so had a response head).
    #[inline]
    pub(crate) fn has_status(self) -> bool {
        self.0 & STATUS_MASK != 0
    }

    /// A request of `method` with no status yet, completed.
    #[inline]
    pub(crate) fn for_method(method: MethodLabel) -> Self {
        Self(method.index() as u32)
    }

    #[inline]
    pub(crate) fn with_status(self, status: u16) -> Self {
        Self(self.0 & !STATUS_MASK | (u32::from(status) + 1) << STATUS_SHIFT)
    }

    #[inline]
    pub(crate) fn with_grpc_status(self, status: GrpcStatusLabel) -> Self {
        Self(self.0 & !GRPC_MASK | (status.index() + 1) << GRPC_SHIFT)
    }

    /// The outcome is set once, when the request ends.
    #[inline]
    pub(crate) fn with_outcome(self, outcome: Outcome) -> Self {
        Self(self.0 | outcome.index() << OUTCOME_SHIFT)
    }

    /// The label values packed in this key (a regular key).
    pub(crate) fn labels(self) -> RequestLabels {
        let field = |mask: u32, shift: u32| (self.0 & mask) >> shift;
        let method = MethodLabel::ALL[(self.0 & 0xf) as usize % MethodLabel::ALL.len()];
        let outcome = match field(0b11 << OUTCOME_SHIFT, OUTCOME_SHIFT) {
            0 => Outcome::Completed,
            1 => Outcome::Aborted,
            _ => Outcome::Failed,
        };
        let status = field(STATUS_MASK, STATUS_SHIFT).checked_sub(1);
        let grpc = field(GRPC_MASK, GRPC_SHIFT).checked_sub(1);
        RequestLabels {
            method,
            status: status.map(|code| code as u16),
            grpc_status: grpc.map(GrpcStatusLabel::from_code),
            outcome,
        }
    }
}

/// The label values of one request's series, unpacked from its [`SeriesKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestLabels {
    pub(crate) method: MethodLabel,
    pub(crate) status: Option<u16>,
    pub(crate) grpc_status: Option<GrpcStatusLabel>,
    pub(crate) outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::{GrpcStatusLabel, MethodLabel, Outcome, RequestLabels, SeriesKey};

    #[test]
    fn every_label_combination_has_its_own_key_which_unpacks_to_it() {
        let statuses = [
            None,
            Some(0),
            Some(200),
            Some(999),
            Some(1023),
            Some(1024),
            Some(u16::MAX),
        ];
        let grpc_statuses = (0..=17)
            .map(|code| Some(GrpcStatusLabel::from_code(code)))
            .chain([None]);
        let mut keys = Vec::new();
        for method in MethodLabel::ALL {
            for outcome in [Outcome::Completed, Outcome::Aborted, Outcome::Failed] {
                for status in statuses {
                    for grpc_status in grpc_statuses.clone() {
                        // Set twice, as a request may: the last value counts.
                        let mut key = SeriesKey::for_method(method);
                        if let Some(status) = status {
                            key = key.with_status(u16::MAX).with_status(status);
                        }
                        if let Some(grpc_status) = grpc_status {
                            key = key.with_grpc_status(GrpcStatusLabel::from_code(0));
                            key = key.with_grpc_status(grpc_status);
                        }
                        let key = key.with_outcome(outcome);
                        let expected = RequestLabels {
                            method,
                            status,
                            grpc_status,
                            outcome,
                        };
                        assert_eq!(key.labels(), expected);
                        keys.push(key);
                    }
                }
            }
        }
        let count = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), count);
        assert!(!keys.contains(&SeriesKey::OVERFLOW));
    }
}

/// The label of gRPC requests' status (OpenTelemetry's `rpc.grpc.status_code`).
const GRPC_STATUS_LABEL: &str = "rpc_grpc_status_code";

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
}

impl EncodeLabelSet for SeriesLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        ("http_request_method", self.method.as_str()).encode(encoder.encode_label())?;
        ("http_route", &*self.route).encode(encoder.encode_label())?;
        if let Some(status) = &self.status {
            ("http_response_status_code", &**status).encode(encoder.encode_label())?;
        }
        if let Some(grpc_status) = self.grpc_status {
            (GRPC_STATUS_LABEL, grpc_status.as_str()).encode(encoder.encode_label())?;
        }
        if let Some(error_type) = &self.error_type {
            ("error_type", &**error_type).encode(encoder.encode_label())?;
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
    fn render(&self) -> String {
        match self {
            Self::Overflow => render_labels([("otel_metric_overflow", "true")]),
            Self::Regular(labels) => {
                let status = labels
                    .status
                    .as_deref()
                    .map(|s| ("http_response_status_code", s));
                let grpc = labels.grpc_status.map(|g| (GRPC_STATUS_LABEL, g.as_str()));
                let error = labels.error_type.as_deref().map(|e| ("error_type", e));
                let pairs = [
                    Some(("http_request_method", labels.method.as_str())),
                    Some(("http_route", &*labels.route)),
                    status,
                    grpc,
                    error,
                ];
                render_labels(pairs.into_iter().flatten())
            }
        }
    }
}

impl EncodeLabelSet for SeriesLabelSet {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        match self {
            Self::Regular(labels) => labels.encode(encoder),
            Self::Overflow => ("otel_metric_overflow", "true").encode(encoder.encode_label()),
        }
    }
}

/// A request series: one histogram whose count is also the request counter, and, when the
/// option is on and the requests sent a status, their time to first byte.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) key: SeriesKey,
    pub(crate) labels: SeriesLabelSet,
    /// The labels as the text encoders write them, rendered once.
    pub(crate) labels_text: Box<str>,
    pub(crate) duration: HistogramCore,
    /// Boxed: a series without it (the option off) stays as small as before.
    pub(crate) first_byte: Option<Box<HistogramCore>>,
}

impl Series {
    /// The route label, for ordering (empty for the overflow series).
    pub(crate) fn route_name(&self) -> &str {
        match &self.labels {
            SeriesLabelSet::Regular(labels) => &labels.route,
            SeriesLabelSet::Overflow => "",
        }
    }

    pub(crate) fn new(
        key: SeriesKey,
        labels: SeriesLabelSet,
        buckets: Buckets,
        first_byte: bool,
    ) -> Self {
        Self {
            key,
            labels_text: labels.render().into_boxed_str(),
            labels,
            first_byte: first_byte.then(|| Box::new(HistogramCore::new(buckets.clone()))),
            duration: HistogramCore::new(buckets),
        }
    }

    /// Records one finished request: its duration, and its time to first byte if it had one
    /// and this series keeps them.
    #[inline]
    pub(crate) fn observe(&self, shard: Shard, seconds: f64, first_byte: Option<f64>) {
        self.duration.observe_on(shard, seconds);
        if let (Some(histogram), Some(first_byte)) = (&self.first_byte, first_byte) {
            histogram.observe_on(shard, first_byte);
        }
    }
}
