//! [`ActiveRequest`]: the guard of one request in flight.

use std::sync::Arc;

use super::clock::Stamp;
use super::exemplar::HexIds;
use super::in_flight::InFlightCell;
use super::protocol_version::ProtocolVersionLabel;
use super::series::FinishedRequest;
use super::series_key::SeriesKey;
use super::{Exemplar, GrpcStatusLabel, MethodLabel, Outcome, UrlScheme};
use crate::metric::Stripe;

/// A request being recorded (RAII): raises `http_server_active_requests` while alive.
///
/// Finish it with [`finish`](Self::finish) when the response body has ended or failed; if it is
/// dropped unfinished (the client went away, a future was cancelled, a handler panicked), the
/// request is recorded with `error_type="aborted"`. Either way the gauge is released exactly once.
#[derive(Debug)]
pub struct ActiveRequest {
    /// Holding it counts the request in flight (see `in_flight.rs`); it leads to the route.
    in_flight: Arc<InFlightCell>,
    start: Stamp,
    /// The labels so far (method, then status and gRPC status), packed as the series key.
    key: SeriesKey,
    /// The clock's reading when the response head was ready (0: none), taken only when time to
    /// first byte is recorded. A raw reading rather than an `Option`: the guard moves with the
    /// response, and every byte of it is copied each time.
    head: u64,
    /// Whether to take `head` (the option, carried here so the check reads no other memory).
    times_first_byte: bool,
    /// Whether `network_protocol_version` is recorded (the builder's option, carried the same way).
    records_protocol_version: bool,
    finished: bool,
    /// The slot of the cell's pending exemplars holding the trace the request belongs to, plus
    /// one (0: none); see `PendingExemplars`.
    exemplar: u8,
    /// This thread's stripe of the striped counters, found once per request. A request that
    /// ends on another thread still updates the stripe it started on: totals are unaffected.
    stripe: Stripe,
}

impl ActiveRequest {
    #[inline]
    pub(super) fn start(
        in_flight: Arc<InFlightCell>,
        stripe: Stripe,
        method: MethodLabel,
        (times_first_byte, records_protocol_version): (bool, bool),
    ) -> Self {
        Self {
            in_flight,
            start: Stamp::now(),
            key: SeriesKey::for_method(method),
            head: 0,
            times_first_byte,
            records_protocol_version,
            finished: false,
            exemplar: 0,
            stripe,
        }
    }

    /// Records the status code sent. Call it when the response head is ready: that moment is
    /// the request's time to first byte, when
    /// [`time_to_first_byte`](super::HttpServerMetricsBuilder::time_to_first_byte) is on.
    #[inline]
    pub fn set_status(&mut self, status: u16) {
        self.key = self.key.with_status(status);
        if self.times_first_byte {
            self.head = Stamp::now().raw().max(1);
        }
    }

    /// Records the gRPC status (`grpc-status`, from the response headers or trailers) as the
    /// `rpc_grpc_status_code` label. Requests that never get one have no such label.
    #[inline]
    pub fn set_grpc_status(&mut self, status: GrpcStatusLabel) {
        self.key = self.key.with_grpc_status(status);
    }

    /// Links the request to a trace: its duration bucket keeps it as its exemplar (the latest
    /// request with one wins). Give only sampled traces; see [`Exemplar`].
    #[inline]
    pub fn set_exemplar(&mut self, exemplar: Exemplar) {
        self.keep_exemplar(&HexIds::of(&exemplar));
    }

    /// Links the request to the trace of its W3C `traceparent` header value, when the value is
    /// well-formed and its sampled flag set (as [`Exemplar::from_traceparent`] reads it);
    /// returns whether it was. The ids are copied as they are and their digits checked when
    /// the exemplar is written: a value with other characters is never written, though it
    /// takes the place of the bucket's previous exemplar.
    #[inline]
    pub fn set_traceparent(&mut self, value: &[u8]) -> bool {
        match HexIds::from_traceparent(value) {
            Some(ids) => {
                self.keep_exemplar(&ids);
                true
            }
            None => false,
        }
    }

    #[inline]
    fn keep_exemplar(&mut self, ids: &HexIds) {
        self.exemplar = self.in_flight.exemplars().put(self.exemplar, ids);
    }

    /// Records the request's scheme as the `url_scheme` label (default `http`).
    /// OpenTelemetry's `url.scheme` is required on the request duration; integrations take it
    /// from the request URI when it has one (HTTP/2's `:scheme`, absolute-form targets) and
    /// otherwise from what the server is configured with.
    #[inline]
    pub fn set_url_scheme(&mut self, scheme: UrlScheme) {
        self.key = self.key.with_url_scheme(scheme);
    }

    /// Records the request's HTTP version as the `network_protocol_version` label, when
    /// [`network_protocol_version`](super::HttpServerMetricsBuilder::network_protocol_version)
    /// is on (otherwise this does nothing). Versions other than 1.0, 1.1, 2 and 3 get no label.
    #[inline]
    pub fn set_network_protocol_version(&mut self, version: http::Version) {
        if self.records_protocol_version {
            let label = ProtocolVersionLabel::from_version(version);
            self.key = self.key.with_protocol_version(label);
        }
    }

    /// Ends the request with the given outcome, recording its duration up to now.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        self.end(outcome);
    }

    #[inline(always)]
    fn end(&mut self, outcome: Outcome) {
        if self.finished {
            return;
        }
        self.finished = true;
        let (end, seconds) = self.start.now_and_seconds_since();
        let request = FinishedRequest {
            seconds,
            first_byte: (self.head != 0)
                .then(|| self.start.seconds_until(Stamp::from_raw(self.head))),
            exemplar: (self.exemplar != 0).then(|| (self.in_flight.exemplars(), self.exemplar)),
            end,
        };
        self.in_flight
            .route()
            .record(self.key.with_outcome(outcome), &request, self.stripe);
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.end(Outcome::Aborted);
    }
}
