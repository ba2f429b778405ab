//! [`Route`]: a route of one `HttpServerMetrics`, and the series recorded under it.

use std::sync::{Arc, OnceLock};

use super::in_flight::{InFlight, InFlightByMethod};
use super::labels::{SeriesLabelSet, SeriesLabels};
use super::series::Series;
use super::series_key::SeriesKey;
use super::series_store::SeriesStore;
use super::{ActiveRequest, MethodLabel};
use crate::metric::Stripe;

/// Entries of the per-route cache in front of the series map. Most routes see a handful of
/// method/status pairs, so nearly every request hits here.
const CACHE_ENTRIES: usize = 16;

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
}

/// The series of one route: found in the shared store once, then through a small cache.
#[derive(Debug)]
pub(super) struct RouteSeries {
    pub(super) name: Arc<str>,
    /// Distinguishes this route's series in the shared store.
    id: u32,
    cache: [OnceLock<Arc<Series>>; CACHE_ENTRIES],
    store: Arc<SeriesStore>,
    /// The route that collects routes beyond the cardinality cap.
    is_overflow: bool,
}

impl Route {
    pub(super) fn new(id: u32, name: Arc<str>, store: Arc<SeriesStore>, is_overflow: bool) -> Self {
        let first_byte = store.first_byte;
        let series = Arc::new(RouteSeries {
            name,
            id,
            cache: Default::default(),
            store,
            is_overflow,
        });
        Self(Arc::new(RouteState {
            series,
            in_flight: InFlight::default(),
            first_byte,
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
        ActiveRequest::start(in_flight, stripe, method, self.0.first_byte)
    }

    /// Adds this route's requests in flight, per method, to `totals`.
    pub(super) fn add_in_flight(&self, totals: &mut InFlightByMethod) {
        self.0.in_flight.add_to(totals);
    }
}

impl RouteSeries {
    /// Records one finished request: its duration and, if it sent a response head and the
    /// option is on, its time to first byte.
    #[inline]
    pub(super) fn record(
        &self,
        key: SeriesKey,
        seconds: f64,
        first_byte: Option<f64>,
        stripe: Stripe,
    ) {
        let entry = &self.cache[key.cache_index(CACHE_ENTRIES)];
        if let Some(series) = entry.get().filter(|s| s.key == key) {
            series.observe(stripe, seconds, first_byte);
            return;
        }
        match self.series_for(key) {
            Some(series) => {
                series.observe(stripe, seconds, first_byte);
                // First come keeps the entry; a colliding key goes through the map.
                let _ = entry.set(series);
            }
            None => self.store.overflow.observe(stripe, seconds, first_byte),
        }
    }

    fn series_for(&self, key: SeriesKey) -> Option<Arc<Series>> {
        if self.is_overflow {
            return None;
        }
        let store = &self.store;
        store.series.get_or_try_insert(&(self.id, key), |_| {
            if !store.reserve_label_set() {
                return None;
            }
            let labels = SeriesLabels::new(self.name.clone(), key.labels());
            let labels = SeriesLabelSet::Regular(labels);
            // Requests without a status had no response head: no first byte to time.
            let first_byte = store.first_byte && key.has_status();
            let series = Series::new(key, labels, store.buckets.clone(), first_byte);
            Some(((self.id, key), Arc::new(series)))
        })
    }
}
