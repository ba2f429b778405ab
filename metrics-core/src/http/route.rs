//! Routes and the series under each: found once, then reached without hashing.

use std::sync::{Arc, OnceLock};

use super::counters::Counters;
use super::series::{Series, SeriesKey, SeriesLabelSet, SeriesLabels};
use super::MethodLabel;
use crate::metric::{Shard, MAX_SHARDS};

/// Slots of the per-route cache in front of the series map. Most routes see a handful of
/// method/status pairs, so nearly every request hits here.
const CACHE_SLOTS: usize = 16;

/// A route (`http_route` value) of one [`HttpServerMetrics`](super::HttpServerMetrics),
/// resolved once: starting a request on a handle hashes no string.
///
/// Cheap to clone. Integrations that know their route ahead of time (one service per route)
/// keep a handle and call [`start_request`](Self::start_request) on it.
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
pub struct RouteHandle(Arc<RouteEntry>);

#[derive(Debug)]
struct RouteEntry {
    slot: Arc<RouteSlot>,
    /// Per method, then per shard: owners of the slot that requests hold while in flight,
    /// created on first use. Holding its thread's ticket, a request changes only counts of its
    /// shard (threads do not bounce one shared count between their caches), and those counts
    /// are the in-flight gauge: a ticket's holders beyond the route's own are its requests.
    tickets: [OnceLock<Box<ShardTickets>>; METHODS],
    /// The time-to-first-byte option, copied here: a request reads it from the handle it
    /// starts on, one load away.
    first_byte: bool,
}

type ShardTickets = [OnceLock<Arc<Ticket>>; MAX_SHARDS];

const METHODS: usize = MethodLabel::ALL.len();

/// Keeps a route alive while its requests are in flight; alone on its cache lines.
#[derive(Debug)]
#[repr(align(128))]
pub(super) struct Ticket(pub(super) Arc<RouteSlot>);

#[derive(Debug)]
pub(super) struct RouteSlot {
    pub(super) name: Arc<str>,
    /// Distinguishes this route's series in the shared series map.
    id: u32,
    cache: [OnceLock<Arc<Series>>; CACHE_SLOTS],
    pub(super) counters: Arc<Counters>,
    /// The slot that collects routes beyond the cardinality cap.
    is_overflow: bool,
}

impl RouteHandle {
    pub(super) fn new(id: u32, name: Arc<str>, counters: Arc<Counters>, is_overflow: bool) -> Self {
        let slot = Arc::new(RouteSlot {
            name,
            id,
            cache: Default::default(),
            counters,
            is_overflow,
        });
        Self(Arc::new(RouteEntry {
            first_byte: slot.counters.first_byte,
            slot,
            tickets: Default::default(),
        }))
    }

    /// The route's label value.
    pub fn name(&self) -> &str {
        &self.0.slot.name
    }

    /// Starts recording a request on this route; see
    /// [`HttpServerMetrics::start_request`](super::HttpServerMetrics::start_request).
    #[inline]
    pub fn start_request(&self, method: &http::Method) -> super::ActiveRequest {
        let method = MethodLabel::from_method(method);
        let shard = Shard::current();
        let ticket = self.0.tickets[method.index()].get_or_init(Box::default)[shard.index()]
            .get_or_init(|| Arc::new(Ticket(self.0.slot.clone())))
            .clone();
        super::ActiveRequest::start(ticket, shard, method, self.0.first_byte)
    }

    /// Adds this route's requests in flight, per method (index in [`MethodLabel::ALL`]), to
    /// `in_flight`; a method that never had a request on the route leaves its entry alone, so
    /// `None` after every route means the method was never seen.
    pub(super) fn add_in_flight(&self, in_flight: &mut [Option<i64>; METHODS]) {
        for (method, shards) in self.0.tickets.iter().enumerate() {
            let Some(shards) = shards.get() else {
                continue;
            };
            let held: usize = shards
                .iter()
                .filter_map(OnceLock::get)
                .map(|ticket| Arc::strong_count(ticket) - 1)
                .sum();
            *in_flight[method].get_or_insert(0) += held as i64;
        }
    }
}

impl RouteSlot {
    /// Records one finished request: its duration and, if it sent a response head and the
    /// option is on, its time to first byte.
    #[inline]
    pub(super) fn record(
        &self,
        key: SeriesKey,
        seconds: f64,
        first_byte: Option<f64>,
        shard: Shard,
    ) {
        let slot = &self.cache[key.cache_index(CACHE_SLOTS)];
        if let Some(series) = slot.get().filter(|s| s.key == key) {
            series.observe(shard, seconds, first_byte);
            return;
        }
        match self.series_for(key) {
            Some(series) => {
                series.observe(shard, seconds, first_byte);
                // First come keeps the slot; a colliding key goes through the map.
                let _ = slot.set(series);
            }
            None => self
                .counters
                .overflow_series
                .observe(shard, seconds, first_byte),
        }
    }

    fn series_for(&self, key: SeriesKey) -> Option<Arc<Series>> {
        if self.is_overflow {
            return None;
        }
        self.counters
            .series
            .get_or_try_insert(&(self.id, key), |_| {
                if !self.counters.reserve_label_set() {
                    return None;
                }
                let labels = SeriesLabels::new(self.name.clone(), key.labels());
                let labels = SeriesLabelSet::Regular(labels);
                let buckets = self.counters.buckets.clone();
                // Requests without a status had no response head: no first byte to time.
                let first_byte = self.counters.first_byte && key.has_status();
                let series = Series::new(key, labels, buckets, first_byte);
                Some(((self.id, key), Arc::new(series)))
            })
    }
}
