//! [`ActiveRequest`]: the guard of one request in flight.

use std::sync::Arc;

use super::clock::Stamp;
use super::in_flight::InFlightCell;
use super::series::FinishedRequest;
use super::series_key::SeriesKey;
use super::{Exemplar, GrpcStatusLabel, MethodLabel, Outcome};
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
    /// When the response head was ready; taken only when time to first byte is recorded.
    head: Option<Stamp>,
    /// Whether to take `head` (the option, carried here so the check reads no other memory).
    times_first_byte: bool,
    finished: bool,
    /// The trace the request belongs to, kept as its duration bucket's exemplar.
    exemplar: Option<Exemplar>,
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
        times_first_byte: bool,
    ) -> Self {
        Self {
            in_flight,
            start: Stamp::now(),
            key: SeriesKey::for_method(method),
            head: None,
            times_first_byte,
            finished: false,
            exemplar: None,
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
            self.head = Some(Stamp::now());
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
        self.exemplar = Some(exemplar);
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
        let end = Stamp::now();
        let request = FinishedRequest {
            seconds: self.start.seconds_until(end),
            first_byte: self.head.map(|head| self.start.seconds_until(head)),
            exemplar: self.exemplar.as_ref(),
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
