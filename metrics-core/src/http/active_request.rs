//! RAII guards: one per request in flight, one per open connection.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::clock::Stamp;
use super::counters::Counters;
use super::route::Ticket;
use super::series::SeriesKey;
use super::{GrpcStatusLabel, MethodLabel, Outcome};
use crate::metric::Shard;

/// A request being recorded (RAII): raises `http_server_active_requests` while alive.
///
/// Finish it with [`finish`](Self::finish) when the response body has ended or failed; if it is
/// dropped unfinished (the client went away, a future was cancelled, a handler panicked), the
/// request is recorded with `error_type="aborted"`. Either way the gauge is released exactly once.
#[derive(Debug)]
pub struct ActiveRequest {
    route: Arc<Ticket>,
    start: Stamp,
    /// The labels so far (method, then status and gRPC status), packed as the series key.
    key: SeriesKey,
    /// When the response head was ready; taken only when time to first byte is recorded.
    head: Option<Stamp>,
    /// Whether to take `head` (the option, carried here so the check reads no other memory).
    times_first_byte: bool,
    finished: bool,
    /// This thread's shard of the striped counters, found once per request. A request that
    /// ends on another thread still updates the shard it started on: totals are unaffected.
    shard: Shard,
}

impl ActiveRequest {
    #[inline]
    pub(super) fn start(
        route: Arc<Ticket>,
        shard: Shard,
        method: MethodLabel,
        times_first_byte: bool,
    ) -> Self {
        Self {
            route,
            start: Stamp::now(),
            key: SeriesKey::for_method(method),
            head: None,
            times_first_byte,
            finished: false,
            shard,
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

    /// Ends the request with the given outcome, recording its duration up to now.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        self.end(outcome);
    }

    #[inline]
    fn end(&mut self, outcome: Outcome) {
        if self.finished {
            return;
        }
        self.finished = true;
        let seconds = self.start.seconds_elapsed();
        let first_byte = self.head.map(|head| self.start.seconds_until(head));
        let slot = &self.route.0;
        slot.record(
            self.key.with_outcome(outcome),
            seconds,
            first_byte,
            self.shard,
        );
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.end(Outcome::Aborted);
    }
}

/// An open connection (RAII): `http_server_active_connections` is lowered when it is dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    pub(super) counters: Arc<Counters>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.counters
            .active_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}
