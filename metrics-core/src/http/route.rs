//! [`Route`]: a route of one `HttpServerMetrics`: its series and its requests in flight.

use std::sync::Arc;

use super::in_flight::{InFlight, InFlightByMethod};
use super::route_series::RouteSeries;
use super::series_store::SeriesStore;
use super::{ActiveRequest, MethodLabel};
use crate::metric::Stripe;

/// A route (`http_route` value) of one [`HttpServerMetrics`](super::HttpServerMetrics),
/// resolved once: starting a request on it hashes no string.
///
/// Cheap to clone. Integrations that know their route ahead of time (one service per route)
/// keep the `Route` and call [`start_request`](Self::start_request) on it.
///
/// ```
/// use metrics_toolkit::HttpServerMetrics;
///
/// let http = HttpServerMetrics::builder().build();
/// let users = http.route(Some("/users/{id}"));
/// assert_eq!(users.name(), "/users/{id}");
/// let request = users.start_request(&http::Method::GET);
/// # drop(request);
/// ```
#[derive(Clone, Debug)]
pub struct Route(Arc<RouteState>);

#[derive(Debug)]
struct RouteState {
    series: Arc<RouteSeries>,
    in_flight: InFlight,
    /// The time-to-first-byte option, copied here: a request reads it from the route it
    /// starts on, one load away.
    first_byte: bool,
    /// The protocol-version option, copied here for the same reason.
    protocol_version: bool,
}

impl Route {
    pub(super) fn new(id: u32, name: Arc<str>, store: Arc<SeriesStore>, is_overflow: bool) -> Self {
        let first_byte = store.first_byte;
        let protocol_version = store.protocol_version;
        let series = Arc::new(RouteSeries::new(id, name, store, is_overflow));
        Self(Arc::new(RouteState {
            series,
            in_flight: InFlight::default(),
            first_byte,
            protocol_version,
        }))
    }

    /// The route's label value.
    pub fn name(&self) -> &str {
        &self.0.series.name
    }

    /// Starts recording a request on this route; see
    /// [`HttpServerMetrics::start_request`](super::HttpServerMetrics::start_request).
    #[inline]
    pub fn start_request(&self, method: &http::Method) -> ActiveRequest {
        let method = MethodLabel::from_method(method);
        let stripe = Stripe::current();
        let in_flight = self.0.in_flight.enter(method, stripe, &self.0.series);
        let options = (self.0.first_byte, self.0.protocol_version);
        ActiveRequest::start(in_flight, stripe, method, options)
    }

    /// Adds this route's requests in flight, per method, to `totals`.
    pub(super) fn add_in_flight(&self, totals: &mut InFlightByMethod) {
        self.0.in_flight.add_to(totals);
    }
}
